import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, ShopctlError } from '../errors.js';
import { checkImportFile, importFile, UnusableFileError, type ErrorSink, type ImportProgress, type ImportSummary } from './import.js';
import type { EventSink } from './sinks.js';

// `shopctl import --watch DIR`: files dropped into a directory, each imported once (see import.ts
// for one file).
export const PROCESSED_DIR = 'processed';
export const FAILED_DIR = 'failed';

export type WatchEvent =
  | { kind: 'imported'; file: string; summary: ImportSummary; movedTo: string }
  | { kind: 'failed'; file: string; error: ShopctlError; movedTo: string }
  | { kind: 'retrying'; file: string; error: unknown; inMs: number }
  | { kind: 'interrupted'; file: string; summary: ImportSummary };

export interface WatchOptions {
  via: 'db' | 'kafka';
  /** Opens a sink for each file (a db sink keeps the refusals of its life in memory). */
  openSink: () => Promise<EventSink>;
  errors: ErrorSink;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  onProgress?: (file: string, progress: ImportProgress) => void;
  intervalMs?: number;
  retryMs?: number;
}

export interface WatchTotals {
  imported: number;
  failed: number;
}

/**
 * Imports every *.csv dropped into `dir`, oldest name first, each once: a file is taken when
 * its size and modification time did not change between two polls (so a file still being
 * written waits; writing elsewhere and renaming into `dir` is safest), then moved into
 * `dir/processed/`, or into `dir/failed/` (with a NAME.error.txt) when it is unusable. A
 * restart sees only files not yet moved. A file whose import is cut short (signal, a service
 * down) stays and is imported again later: its rows then have no second effect. A lock file in
 * `dir` keeps a second watcher away.
 */
export async function watchDirectory(dir: string, options: WatchOptions): Promise<WatchTotals> {
  await checkDirectory(dir);
  await mkdir(path.join(dir, PROCESSED_DIR), { recursive: true });
  await mkdir(path.join(dir, FAILED_DIR), { recursive: true });
  const unlock = await lockDirectory(dir);
  try {
    return await pollDirectory(dir, options);
  } finally {
    await unlock();
  }
}

export const LOCK_FILE = '.shopctl-import.lock';

/**
 * One watcher per directory: two would race for the same files (no double effect, but every
 * invalid row reported twice). The lock holds the owner's pid; a lock whose process is gone
 * (a crash, SIGKILL) is taken over. Pids are per host: on a directory shared between hosts,
 * run the watcher on one of them.
 */
async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  const lock = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new ShopctlError(`${dir} is already watched by process ${owner}`, {
        code: 'IMPORT_DIR_LOCKED',
        exitCode: ExitCode.usage,
        suggestion: `Stop that watcher first; if no watcher runs, remove ${lock}.`,
      });
    }
    await rm(lock, { force: true }); // stale: its process is gone
  }
  throw new ShopctlError(`Could not lock ${dir} for watching`, { code: 'IMPORT_DIR_LOCKED', exitCode: ExitCode.usage });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function pollDirectory(dir: string, options: WatchOptions): Promise<WatchTotals> {
  const intervalMs = options.intervalMs ?? 1000;
  const retryMs = options.retryMs ?? 5000;
  const totals: WatchTotals = { imported: 0, failed: 0 };
  let previous = new Map<string, string>();
  const notBefore = new Map<string, number>();
  const { signal } = options;

  while (!signal.aborted) {
    const current = await candidates(dir);
    const ready = [...current].filter(([name, stamp]) => previous.get(name) === stamp).map(([name]) => name);
    previous = current;
    for (const name of ready) {
      if (signal.aborted) break;
      if ((notBefore.get(name) ?? 0) > Date.now()) continue;
      const file = path.join(dir, name);
      const outcome = await importOne(file, options);
      if (outcome.kind === 'imported') totals.imported += 1;
      if (outcome.kind === 'failed') totals.failed += 1;
      if (outcome.kind === 'retrying') notBefore.set(name, Date.now() + outcome.inMs);
      else notBefore.delete(name);
      if (outcome.kind !== 'gone') options.onEvent(outcome);
      // Moved files are gone from the next listing; anything left must look stable again.
      previous.delete(name);
    }
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      break; // aborted
    }
  }
  return totals;

  async function importOne(file: string, watch: WatchOptions): Promise<WatchEvent | { kind: 'gone' }> {
    const retry = (error: unknown): WatchEvent => ({ kind: 'retrying', file, error, inMs: retryMs });
    let sink: EventSink;
    try {
      sink = await watch.openSink();
    } catch (error) {
      return retry(error);
    }
    try {
      await checkImportFile(file);
      const summary = await importFile(file, {
        via: watch.via,
        sink,
        errors: watch.errors,
        signal: watch.signal,
        onProgress: (progress) => watch.onProgress?.(file, progress),
      });
      if (summary.interrupted) return { kind: 'interrupted', file, summary };
      const movedTo = await moveInto(file, PROCESSED_DIR);
      return movedTo === null ? { kind: 'gone' } : { kind: 'imported', file, summary, movedTo };
    } catch (error) {
      if (!(error instanceof UnusableFileError)) return retry(error);
      const movedTo = await moveInto(file, FAILED_DIR);
      if (movedTo === null) return { kind: 'gone' };
      await writeFile(`${movedTo}.error.txt`, `${error.message}\n${error.suggestion ?? ''}\n`);
      return { kind: 'failed', file, error, movedTo };
    } finally {
      await sink.close().catch(() => undefined);
    }
  }
}

async function checkDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new UnusableFileError(`Directory not found: ${dir}`, 'Create it first, or check the path.');
  }
  throw new UnusableFileError(`${dir} is not a directory`, 'Give --watch a directory; import a single file with `shopctl import FILE`.');
}

// *.csv files directly in `dir` (hidden ones skipped), each with a stamp of its size and mtime.
async function candidates(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isFile() || entry.name.startsWith('.') || !/\.csv$/i.test(entry.name)) continue;
    try {
      const info = await stat(path.join(dir, entry.name));
      found.set(entry.name, `${info.size}:${info.mtimeMs}`);
    } catch {
      // Removed between the listing and the stat.
    }
  }
  return found;
}

// Moves a file into a sibling directory, never over an earlier file of the same name.
// Returns the new path, or null when the file is no longer there.
async function moveInto(file: string, subdir: string): Promise<string | null> {
  const { dir, name, ext } = path.parse(file);
  let target = path.join(dir, subdir, `${name}${ext}`);
  for (let n = 1; await exists(target); n += 1) target = path.join(dir, subdir, `${name}.${n}${ext}`);
  try {
    await rename(file, target);
    return target;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
