import { paint, type Output } from './output.js';
import { formatRate } from './progress.js';

export interface WriteSummary {
  what: string;
  via: 'db' | 'kafka';
  target: string;
  count: number;
  elapsedMs: number;
  duplicates: number;
  rejected: Array<{ id: string; reason: string; message: string }>;
  /** Events whose id was applied before with other content: not applied. */
  conflicts: Array<{ id: string; message: string }>;
}

/** The warning for events that reuse an id applied before with other content (table and import). */
export function conflictWarning(count: number): { message: string; hint: string } {
  return {
    message: `${count} ${count === 1 ? 'event reuses an id' : 'events reuse an id'} already applied with different content; ${count === 1 ? 'it was' : 'they were'} not applied`,
    hint:
      'An event id stands for one event, so the applied content stays. A seeded command repeats its ids for the same --seed and options: ' +
      'to make new data, use another --seed. In a CSV, give each new movement a new transaction_id.',
  };
}

export function printConflictWarning(output: Output, count: number): void {
  if (count === 0) return;
  const { message, hint } = conflictWarning(count);
  output.warn(message);
  output.info(`  ${paint('dim', 'hint:', output.color)} ${hint}`);
}

export function printWriteSummary(output: Output, summary: WriteSummary, json: boolean): void {
  if (json) {
    // The warning goes to stderr, so the JSON on stdout stays clean; `conflicts` holds the events.
    output.json(summary);
    printConflictWarning(output, summary.conflicts.length);
    return;
  }
  const seconds = (summary.elapsedMs / 1000).toFixed(2);
  const where = summary.via === 'db' ? `into MongoDB database '${summary.target}'` : `to Kafka (${summary.target})`;
  const verb = summary.via === 'db' ? 'wrote' : 'published';
  output.data(`${verb} ${summary.count} ${summary.what} ${where} in ${seconds}s (${formatRate(summary.count, summary.elapsedMs)})`);
  if (summary.duplicates > 0) output.data(`  ${summary.duplicates} already applied earlier (same event ids): no second effect`);
  for (const rejection of summary.rejected.slice(0, 20)) {
    output.data(`  rejected ${rejection.id}: ${rejection.reason}: ${rejection.message}`);
  }
  if (summary.rejected.length > 20) output.data(`  … and ${summary.rejected.length - 20} more rejected`);
  for (const conflict of summary.conflicts.slice(0, 20)) output.data(`  not applied ${conflict.id}: ${conflict.message}`);
  if (summary.conflicts.length > 20) output.data(`  … and ${summary.conflicts.length - 20} more not applied`);
  if (summary.via === 'kafka') output.data('  run `shopctl consume` to project them into MongoDB');
  printConflictWarning(output, summary.conflicts.length);
}
