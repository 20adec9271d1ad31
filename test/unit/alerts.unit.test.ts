import { describe, expect, it } from 'vitest';
import { activeAfter, diffAlerts, type Alert } from '../../src/domain/alerts.js';
import { parseSince } from '../../src/domain/since.js';

const row = (sku: string, level: number, threshold = 5) => ({ store: 'online', sku, level, threshold });

describe('alerts', () => {
  it('raises each alert once, again when it gets worse, and clears it when restocked', () => {
    let active = new Map<string, Alert>();
    const step = (rows: ReturnType<typeof row>[]) => {
      const diff = diffAlerts(active, rows);
      active = diff.active;
      return { raised: diff.raised.map((a) => `${a.sku}:${a.kind}`), cleared: diff.cleared.map((c) => c.sku) };
    };
    expect(step([row('A', 10), row('B', 3)])).toEqual({ raised: ['B:low_stock'], cleared: [] });
    expect(step([row('A', 10), row('B', 2)])).toEqual({ raised: [], cleared: [] }); // still low: not again
    expect(step([row('A', 10), row('B', 0)])).toEqual({ raised: ['B:out_of_stock'], cleared: [] });
    expect(step([row('A', 5), row('B', 40)])).toEqual({ raised: ['A:low_stock'], cleared: ['B'] }); // at threshold is low
    expect(step([row('A', 6), row('B', 40)])).toEqual({ raised: [], cleared: ['A'] });
  });

  it('knows from the alerts topic what an earlier watcher raised and did not clear', () => {
    const raised = (sku: string, kind: string, level: number) => ({ event: 'raised', at: 't', key: `online:${sku}`, store: 'online', sku, kind, level, threshold: 5 });
    const cleared = (sku: string) => ({ event: 'cleared', at: 't', key: `online:${sku}`, store: 'online', sku, level: 40 });
    const active = activeAfter([raised('A', 'low_stock', 3), raised('B', 'low_stock', 2), 'garbage', null, { event: 'raised' }, raised('A', 'out_of_stock', 0), cleared('B')]);
    expect([...active.values()].map((a) => `${a.sku}:${a.kind}`)).toEqual(['A:out_of_stock']);
    // A restarted watcher raises nothing that is unchanged, and clears what recovered meanwhile.
    const diff = diffAlerts(active, [row('A', 0), row('C', 1)]);
    expect(diff.raised.map((a) => a.sku)).toEqual(['C']);
    expect(diffAlerts(active, [row('A', 30)]).cleared.map((c) => c.sku)).toEqual(['A']);
  });

  it('parses --since as a date, a date-time or a duration back from now', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    expect(parseSince('2h', now)).toEqual(new Date('2026-03-01T10:00:00Z'));
    expect(parseSince('2026-02-01', now)).toEqual(new Date('2026-02-01T00:00:00Z'));
    expect(parseSince('yesterday', now)).toBeNull();
  });
});
