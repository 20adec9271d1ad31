import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_HEADER } from '../../src/domain/csv.js';
import { repoRoot } from '../helpers/cli.js';

// The importer streams: its live heap does not grow with the file. Measured, not assumed: a child
// process (node --expose-gc) imports a generated file, collecting garbage and sampling
// heapUsed after every chunk (test/helpers/import-heap.ts). The 1M-row figure, peak RSS of the
// real CLI, is scripts/import-memory.ts; this is the size CI affords.

const ROWS = 200_000;
// What the importer may hold beyond its start: a chunk of events, the read buffer, and the
// transaction ids it has seen (a typed array outside the JS heap: heapUsed does not count it).
// Measured: about 2 MiB; keeping the events takes about 85 MiB at this size (the control run below).
const BOUND = 24 * 2 ** 20;

interface HeapReport {
  baseline: number;
  peak: number;
  samples: number;
  rows: { read: number; accepted: number; rejected: number };
  written: number;
  kept: number;
}

const run = promisify(execFile);

async function measure(file: string, keep: boolean): Promise<HeapReport> {
  const args = ['--expose-gc', '--import', 'tsx', path.join('test', 'helpers', 'import-heap.ts'), file, ...(keep ? ['--keep'] : [])];
  const { stdout } = await run(process.execPath, args, { cwd: repoRoot, maxBuffer: 1 << 20, timeout: 60_000 });
  return JSON.parse(stdout) as HeapReport;
}

async function writeRows(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve())));
  await write(`${IMPORT_HEADER.join(',')}\n`);
  let batch = '';
  for (let i = 0; i < rows; i += 1) {
    batch += `${randomUUID()},${i % 10 === 0 ? 'sale' : 'incoming'},2026-01-${String((i % 28) + 1).padStart(2, '0')},store-${i % 20},SKU-${i % 500},${(i % 7) + 1}\n`;
    if (batch.length > 1 << 16) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

describe('import memory', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shopctl-import-heap-'));
    file = path.join(dir, 'big.csv');
    await writeRows(file, ROWS);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`keeps the live heap bounded while importing ${ROWS.toLocaleString('en-US')} rows`, { timeout: 60_000 }, async () => {
    const report = await measure(file, false);
    expect(report.rows).toEqual({ read: ROWS, accepted: ROWS, rejected: 0 });
    expect(report.written).toBe(ROWS);
    expect(report.samples).toBeGreaterThanOrEqual(ROWS / 2000 - 1); // sampled all along, not once
    const growth = report.peak - report.baseline;
    expect(growth, `live heap grew ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(BOUND);
  });

  it('would see rows kept: the same import into a sink that keeps its events exceeds the bound', { timeout: 60_000 }, async () => {
    const report = await measure(file, true);
    expect(report.kept).toBe(ROWS);
    expect(report.peak - report.baseline).toBeGreaterThan(BOUND);
  });
});
