import { describe, expect, it } from 'vitest';
import { createLogger, levelFrom } from '../../src/log.js';

describe('logger', () => {
  it('is silent unless SHOPCTL_LOG names a level, and keeps to that level and above', () => {
    expect(levelFrom(undefined)).toBeNull();
    expect(levelFrom('verbose')).toBeNull();
    expect(levelFrom(' DEBUG ')).toBe('debug');
    const lines: string[] = [];
    const log = createLogger('shopctl', 'info', (line) => lines.push(line)).namespace('leases');
    log.debug('hidden');
    log.info('waiting for leases', { keys: 2 });
    log.warn('taken over');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ info \[shopctl:leases\] waiting for leases \{"keys":2\}$/);
    expect(lines[1]).toMatch(/ warn \[shopctl:leases\] taken over$/);
    const silent: string[] = [];
    createLogger('x', null, (line) => silent.push(line)).warn('nothing');
    expect(silent).toEqual([]);
  });
});
