import { describe, expect, it } from 'vitest';
import { isLowStock, stockStatus } from '../../src/domain/stock-level.js';

describe('stock level rule', () => {
  it('is ok above the threshold, low at or under it, out at zero', () => {
    expect(stockStatus(6, 5)).toBe('ok');
    expect(stockStatus(5, 5)).toBe('low'); // at the threshold is low
    expect(stockStatus(1, 5)).toBe('low');
    expect(stockStatus(0, 5)).toBe('out');
    expect(stockStatus(0, 0)).toBe('out');
    expect(stockStatus(1, 0)).toBe('ok');
  });

  it('counts out of stock as low', () => {
    expect(isLowStock(0, 5)).toBe(true);
    expect(isLowStock(5, 5)).toBe(true);
    expect(isLowStock(6, 5)).toBe(false);
  });
});
