import type { Output } from './output.js';
import { formatRate } from './progress.js';

export interface WriteSummary {
  what: string;
  via: 'db' | 'kafka';
  target: string;
  count: number;
  elapsedMs: number;
  duplicates: number;
  rejected: Array<{ id: string; reason: string; message: string }>;
}

export function printWriteSummary(output: Output, summary: WriteSummary, json: boolean): void {
  if (json) {
    output.json(summary);
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
  if (summary.via === 'kafka') output.data('  run `shopctl consume` to project them into MongoDB');
}
