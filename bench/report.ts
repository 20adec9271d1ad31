import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Table from 'cli-table3';

const exec = promisify(execFile);

export type Unit = 'events/s' | 'events' | 'ms' | 'MB';

/** One line of the table: shopctl's figure, the stack's ceiling for it and the naive way's. */
export interface Row {
  figure: string;
  unit: Unit;
  shopctl: number | null;
  ceiling: number | null;
  naive: number | null;
  /** shopctl / ceiling (throughput rows only). */
  ofCeiling: number | null;
  /** shopctl / naive (throughput rows only). */
  timesNaive: number | null;
  note?: string;
}

export function row(figure: string, unit: Unit, values: { shopctl: number | null; ceiling?: number | null; naive?: number | null; note?: string }): Row {
  const ceiling = values.ceiling ?? null;
  const naive = values.naive ?? null;
  const ratio = (base: number | null) => (unit === 'events/s' && values.shopctl !== null && base ? round(values.shopctl / base, 3) : null);
  return {
    figure,
    unit,
    shopctl: values.shopctl,
    ceiling,
    naive,
    ofCeiling: ratio(ceiling),
    timesNaive: ratio(naive),
    ...(values.note ? { note: values.note } : {}),
  };
}

export const megabytes = (bytes: number | null): number | null => (bytes === null ? null : round(bytes / 1024 / 1024, 1));

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function formatValue(value: number | null, unit: Unit): string {
  if (value === null) return '-';
  if (unit === 'events/s') return `${Math.round(value).toLocaleString('en-US')}/s`;
  if (unit === 'events') return Math.round(value).toLocaleString('en-US');
  if (unit === 'MB') return `${value.toFixed(1)} MB`;
  return `${Math.round(value).toLocaleString('en-US')} ms`;
}

export function renderTable(rows: readonly Row[], title: string): string {
  const table = new Table({
    head: ['figure', 'shopctl', 'ceiling', 'naive', 'shopctl/ceiling', 'shopctl/naive'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    table.push([
      r.note ? `${r.figure}\n  ${r.note}` : r.figure,
      formatValue(r.shopctl, r.unit),
      formatValue(r.ceiling, r.unit),
      formatValue(r.naive, r.unit),
      r.ofCeiling === null ? '-' : `${Math.round(r.ofCeiling * 100)}%`,
      r.timesNaive === null ? '-' : `${r.timesNaive.toFixed(1)}x`,
    ]);
  }
  return `${title}\n${table.toString()}`;
}

export interface ScaleLine {
  figure: string;
  unit: Unit;
  values: Array<number | null>;
}

/**
 * One line per figure, one column per case. `compare` says what the last column holds: how the
 * last case compares to the one before (sizes), or how many times the fastest beats the slowest
 * (catalogs: the bound is 2x).
 */
export function renderScaleTable(title: string, columns: readonly string[], lines: readonly ScaleLine[], compare: 'last/previous' | 'max/min'): string {
  const table = new Table({
    head: ['figure', ...columns, columns.length > 1 ? (compare === 'max/min' ? 'fastest / slowest' : 'last / previous') : ''],
    colAligns: ['left', ...columns.map(() => 'right' as const), 'right'],
    style: { head: [], border: [] },
  });
  for (const line of lines) {
    table.push([line.figure, ...line.values.map((value) => formatValue(value, line.unit)), compareValues(line, compare)]);
  }
  return `${title}\n${table.toString()}`;
}

function compareValues(line: ScaleLine, compare: 'last/previous' | 'max/min'): string {
  if (compare === 'max/min') {
    const known = line.values.filter((value): value is number => value !== null && value > 0);
    if (line.unit !== 'events/s' || known.length < 2) return '-';
    return `${(Math.max(...known) / Math.min(...known)).toFixed(2)}x`;
  }
  const last = line.values.at(-1) ?? null;
  const previous = line.values.at(-2) ?? null;
  return last !== null && previous ? `${(last / previous).toFixed(2)}x` : '-';
}

/** shopctl `consume` next to a peer projecting the same topic into the same server. */
export interface PeerLine {
  figure: string;
  consume: number | null;
  peer: number | null;
  /** The target for consume / peer. */
  target: number;
}

export function renderPeerTable(title: string, lines: readonly PeerLine[]): string {
  const table = new Table({
    head: ['same topic, same server', 'shopctl consume', 'peer', 'consume / peer', 'target'],
    colAligns: ['left', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  for (const line of lines) {
    const ratio = line.consume !== null && line.peer ? line.consume / line.peer : null;
    table.push([
      line.figure,
      formatValue(line.consume, 'events/s'),
      formatValue(line.peer, 'events/s'),
      ratio === null ? '-' : `${ratio.toFixed(2)}x`,
      `>= ${line.target}x`,
    ]);
  }
  return `${title}\n${table.toString()}`;
}

/** A line of the HTTP table: an endpoint under load, or the same operation through the CLI. */
export interface HttpRow {
  figure: string;
  /** Concurrent connections; null: processes one after another, or one process. */
  connections: number | null;
  perSecond: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  non2xx: number | null;
  errors: number | null;
  /** ops/s against the same endpoint at one connection. */
  vsOne: number | null;
  /** ops/s against the same operation through the CLI, a process each. */
  vsCli: number | null;
  note?: string;
}

const rate = (value: number | null): string =>
  value === null ? '-' : `${value < 100 ? value.toLocaleString('en-US', { maximumFractionDigits: 1 }) : Math.round(value).toLocaleString('en-US')}/s`;
const times = (value: number | null): string => (value === null ? '-' : `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')}x`);

export function renderHttpTable(title: string, rows: readonly HttpRow[]): string {
  const table = new Table({
    head: ['operation', 'connections', 'ops/s', 'p50', 'p99', 'non-2xx', 'errors', 'vs 1 conn', 'vs CLI'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    style: { head: [], border: [] },
  });
  const count = (value: number | null) => (value === null ? '-' : value.toLocaleString('en-US'));
  for (const r of rows) {
    table.push([
      r.note ? `${r.figure}\n  ${r.note}` : r.figure,
      r.connections === null ? '-' : String(r.connections),
      rate(r.perSecond),
      formatValue(r.p50Ms, 'ms'),
      formatValue(r.p99Ms, 'ms'),
      count(r.non2xx),
      count(r.errors),
      times(r.vsOne),
      times(r.vsCli),
    ]);
  }
  return `${title}\n${table.toString()}`;
}

export interface Machine {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryMb: number;
  /** 1-minute load average when the run started: a busy machine reads slower. */
  loadAverage: number;
}

export function machineFacts(): Machine {
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryMb: Math.round(os.totalmem() / 1024 / 1024),
    loadAverage: round(os.loadavg()[0] ?? 0, 2),
  };
}

export interface Revision {
  commit: string;
  /** Uncommitted changes outside bench/results when the run started. */
  dirty: boolean;
}

/** The short commit a ref names; fails clearly when it names none. */
export async function resolveCommit(repoRoot: string, ref: string): Promise<string> {
  try {
    const { stdout } = await exec('git', ['rev-parse', '--short', '--verify', `${ref}^{commit}`], { cwd: repoRoot });
    return stdout.trim();
  } catch {
    throw new Error(`--baseline: '${ref}' is not a commit of this repository`);
  }
}

export async function revision(repoRoot: string): Promise<Revision> {
  try {
    const { stdout: commit } = await exec('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot });
    const { stdout: status } = await exec('git', ['status', '--porcelain', '--', '.', ':(exclude)bench/results'], { cwd: repoRoot });
    return { commit: commit.trim(), dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

export async function saveResult(repoRoot: string, date: Date, commit: string, result: unknown): Promise<string> {
  const dir = path.join(repoRoot, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const file = path.join(dir, `${stamp}-${commit}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
