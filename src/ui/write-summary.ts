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
  /** Set only when Ctrl-C or SIGTERM stopped the run before all `total` events were made. */
  interrupted?: true;
  /** The events the command meant to write (set with `interrupted`). */
  total?: number;
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

/** Refusals by reason: events the store refused, and those that reused an id (id_conflict). */
export interface RefusalTally {
  total: number;
  byReason: Record<string, number>;
}

/** Counts refusals by reason, the most frequent first (then by name). */
export function tallyRefusals(reasons: Iterable<string>): RefusalTally {
  const counts = new Map<string, number>();
  let total = 0;
  for (const reason of reasons) {
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
    total += 1;
  }
  const sorted = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  return { total, byReason: Object.fromEntries(sorted) };
}

/** "refused 120: insufficient_stock 118, unknown_reference 2" (null when nothing was refused). */
export function describeRefusals(tally: RefusalTally): string | null {
  if (tally.total === 0) return null;
  const reasons = Object.entries(tally.byReason).map(([reason, count]) => `${reason} ${count.toLocaleString('en-US')}`);
  return `refused ${tally.total.toLocaleString('en-US')}: ${reasons.join(', ')}`;
}

/** The refusals of a write summary: rejected events by their reason, id conflicts as id_conflict. */
export function refusalsOf(summary: Pick<WriteSummary, 'rejected' | 'conflicts'>): RefusalTally {
  return tallyRefusals([...summary.rejected.map((rejection) => rejection.reason), ...summary.conflicts.map(() => 'id_conflict')]);
}

/** The --json form of a write summary: the summary and its refusals by reason. */
export function writeSummaryJson(summary: WriteSummary): WriteSummary & { refused: RefusalTally } {
  return { ...summary, refused: refusalsOf(summary) };
}

export function printWriteSummary(output: Output, summary: WriteSummary, json: boolean): void {
  if (json) {
    // The warning goes to stderr, so the JSON on stdout stays clean; `conflicts` holds the events.
    output.json(writeSummaryJson(summary));
    printConflictWarning(output, summary.conflicts.length);
    return;
  }
  const seconds = (summary.elapsedMs / 1000).toFixed(2);
  const where = summary.via === 'db' ? `into MongoDB database '${summary.target}'` : `to Kafka (${summary.target})`;
  const verb = summary.via === 'db' ? 'wrote' : 'published';
  const rate = formatRate(summary.count, summary.elapsedMs);
  if (summary.interrupted) {
    const of = summary.total === undefined ? '' : ` of ${summary.total.toLocaleString('en-US')}`;
    const done = summary.via === 'db' ? 'written' : 'published';
    output.data(`interrupted: ${summary.count.toLocaleString('en-US')}${of} ${summary.what} ${done} ${where} in ${seconds}s (${rate})`);
  } else {
    output.data(`${verb} ${summary.count} ${summary.what} ${where} in ${seconds}s (${rate})`);
  }
  if (summary.duplicates > 0) output.data(`  ${summary.duplicates} already applied earlier (same event ids): no second effect`);
  const refused = describeRefusals(refusalsOf(summary));
  if (refused) output.data(`  ${refused}`);
  for (const rejection of summary.rejected.slice(0, 20)) {
    output.data(`  rejected ${rejection.id}: ${rejection.reason}: ${rejection.message}`);
  }
  if (summary.rejected.length > 20) output.data(`  … and ${summary.rejected.length - 20} more rejected`);
  for (const conflict of summary.conflicts.slice(0, 20)) output.data(`  not applied ${conflict.id}: ${conflict.message}`);
  if (summary.conflicts.length > 20) output.data(`  … and ${summary.conflicts.length - 20} more not applied`);
  if (summary.via === 'kafka') output.data('  run `shopctl consume` to project them into MongoDB');
  printConflictWarning(output, summary.conflicts.length);
}
