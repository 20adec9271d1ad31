import { describe, expect, it } from 'vitest';
import { refusalSuggestion } from '../../src/domain/refusals.js';

describe('refusal suggestions', () => {
  it('points at receiving goods for a lack of stock, at the listings otherwise', () => {
    expect(refusalSuggestion('insufficient_stock')).toMatch(/shopctl stock receive/);
    expect(refusalSuggestion('unknown_reference')).toMatch(/shopctl list customers/);
  });
});
