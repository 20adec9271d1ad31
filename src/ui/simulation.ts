import type { SimulationResult, SimulationStart, SimulationTotals } from '../services/simulate.js';
import type { Output } from './output.js';
import { formatRate } from './progress.js';

// What `shopctl simulate` prints: where it runs, a progress line, and the totals by kind.

const n = (value: number): string => value.toLocaleString('en-US');

/** The starting lines: what it runs against, and what it wrote first (a starting catalogue, opening stock). */
export function printSimulationStart(output: Output, start: SimulationStart, run: { via: 'db' | 'kafka'; rate: number; until: string }): void {
  const { setup } = start;
  if (setup.customers > 0 || setup.products > 0) {
    const what = [setup.customers > 0 ? `${n(setup.customers)} customers` : null, setup.products > 0 ? `${n(setup.products)} products` : null].filter(Boolean).join(' and ');
    output.info(`the shop has no ${setup.customers > 0 && setup.products > 0 ? 'customers or products' : setup.customers > 0 ? 'customers' : 'products'} yet: starting it with ${what}`);
  }
  if (setup.restocks > 0) output.info(`opening stock for stores without any: ${n(setup.restocks)} deliveries`);
  const where = run.via === 'db' ? `into MongoDB database '${start.target}'` : `through Kafka (${start.target})`;
  output.info(
    `simulating a shop of ${n(start.customers)} customers and ${n(start.products)} products at stores ${start.stores.join(', ')}: ` +
      `${n(run.rate)} events/s ${where}, seed ${start.seed}${start.seeded ? '' : ' (drawn)'}, ${run.until}`,
  );
}

/** "1,234 events (50/s): purchases 700, sales 120, …" */
export function simulationLine(totals: SimulationTotals, elapsedMs: number): string {
  const k = totals.byKind;
  const parts = [
    `purchases ${n(k.purchases)}`,
    `sales ${n(k.sales)}`,
    `restocks ${n(k.restocks)}`,
    `counts ${n(k.counts)}`,
    `reservations ${n(k.reservations)}`,
    `registrations ${n(k.customers + k.products)}`,
  ];
  return `${n(totals.events)} events (${formatRate(totals.events, elapsedMs)}): ${parts.join(', ')}`;
}

export function printSimulationSummary(output: Output, result: SimulationResult, json: boolean): void {
  if (json) {
    output.json(result);
    return;
  }
  const k = result.byKind;
  const where = result.via === 'db' ? `into MongoDB database '${result.target}'` : `to Kafka (${result.target})`;
  output.data(`stopped: ${n(result.events)} events ${result.via === 'db' ? 'written' : 'published'} ${where} in ${(result.elapsedMs / 1000).toFixed(1)}s (${formatRate(result.events, result.elapsedMs)})`);
  const refusal = result.meantToBeRefused > 0 ? ` (${n(result.meantToBeRefused)} of them meant to be refused: more than a shelf holds)` : '';
  const rows: Array<[string, string]> = [
    ['purchases and sales', `${n(k.purchases)} purchases, ${n(k.sales)} sales${refusal}`],
    ['restocks', `${n(k.restocks)} deliveries received`],
    ['counts', `${n(k.counts)} stock counts`],
    ['reservations', `${n(k.reservations)} requested; ${n(k.fulfilled)} fulfilled, ${n(k.cancelled)} cancelled, ${n(result.leftToExpire)} left to expire`],
    ['registrations', `${n(k.customers)} ${k.customers === 1 ? 'customer' : 'customers'}, ${n(k.products)} ${k.products === 1 ? 'product' : 'products'}`],
    ['heartbeats', `${n(k.heartbeats)} from ${result.stores.length} stores`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, text] of rows) output.data(`  ${label.padEnd(width)}  ${text}`);
  if (result.via === 'db') {
    const reasons = Object.entries(result.refused).sort(([, a], [, b]) => b - a);
    const total = reasons.reduce((sum, [, count]) => sum + count, 0);
    const said = total === 0 ? 'refused 0' : `refused ${n(total)}: ${reasons.map(([reason, count]) => `${reason} ${n(count)}`).join(', ')}`;
    output.data(`  ${said}${result.duplicates > 0 ? `; ${n(result.duplicates)} applied before (same ids)` : ''}`);
  } else {
    output.data('  `shopctl consume` applies them: it retries what is refused, then dead-letters it (`shopctl errors list`)');
  }
}
