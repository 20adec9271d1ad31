import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { CsvReader, headerProblems, IMPORT_HEADER, RowValidator, rowEvent, type CsvRecord } from '../domain/csv.js';
import type { ShopEvent } from '../domain/events.js';
import { ExitCode, ShopctlError } from '../errors.js';
import { connectOrExplain } from '../kafka/client.js';
import { DLQ_HEADERS } from '../kafka/dead-letter.js';
import { createProducer } from '../kafka/publisher.js';
import { ensureTopics, withAdmin } from '../kafka/topics.js';
import type { EventSink } from './sinks.js';

// `shopctl import`: a CSV file streamed through the row rules a chunk at a time. Valid rows go
// to the sink (db or kafka) as stock events whose id is the transaction id, so a second import
// of the same rows has no second effect; every invalid row goes to the import-errors topic with
// its file, line, raw text and reasons. Each chunk is written before the next is read, so memory
// stays flat whatever the file size.

export const IMPORT_SOURCE = 'shopctl/import';
/** Rows per write: large enough to amortise a round-trip, small enough to keep memory flat. */
export const IMPORT_CHUNK_ROWS = 2000;
const READ_CHUNK_BYTES = 128 * 1024;
const SAMPLE_LIMIT = 10;
export const IMPORT_HEADERS = { file: 'x-import-file', line: 'x-import-line' } as const;

export class UnusableFileError extends ShopctlError {
  constructor(message: string, suggestion?: string, cause?: unknown) {
    super(message, { code: 'IMPORT_FILE_UNUSABLE', exitCode: ExitCode.usage, suggestion, cause });
    this.name = 'UnusableFileError';
  }
}

const headerHint = `The first line must be exactly: ${IMPORT_HEADER.join(',')}`;

/** A row that did not take effect: invalid (`invalid_row`), or refused by the projection. */
export interface ImportProblem {
  file: string;
  line: number;
  raw: string;
  reasons: Array<{ code: string; message: string }>;
  /** The x-dlq-reason header: `invalid_row`, or the projection's reason (`insufficient_stock`). */
  reason: string;
}

export interface ImportSummary {
  /** The file's name (as recorded in the errors topic) and the path it was read from. */
  file: string;
  path: string;
  via: 'db' | 'kafka';
  dryRun: boolean;
  /** Data rows (header and blank lines not counted): accepted + rejected = read. */
  rows: { read: number; accepted: number; rejected: number };
  /** Rejected rows per reason code; a row with several reasons counts under each. */
  rejectedByReason: Record<string, number>;
  /** db: accepted rows that changed stock now. kafka: events published. dry run: 0. */
  written: number;
  /** db: accepted rows applied before (same transaction id): no second effect. */
  duplicates: number;
  /** db: accepted rows the projection refused (e.g. insufficient_stock), per reason. */
  refused: number;
  refusedByReason: Record<string, number>;
  /** db: accepted rows whose transaction id was applied before with other content: not applied. */
  conflicts: number;
  errorsTopic: string | null;
  /** Rejected and refused rows sent to the errors topic. */
  errorsSent: number;
  /** The first rejected or refused rows, for the summary. */
  samples: Array<{ line: number; reasons: string[] }>;
  elapsedMs: number;
  /** Stopped by a signal before the end of the file. */
  interrupted: boolean;
}

export interface ImportProgress {
  rows: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface ErrorSink {
  readonly topic: string;
  send(problems: readonly ImportProblem[]): Promise<void>;
  close(): Promise<void>;
}

export interface ImportOptions {
  via: 'db' | 'kafka';
  /** Null for a dry run: validate only. */
  sink: EventSink | null;
  errors: ErrorSink | null;
  chunkRows?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

// ---------------------------------------------------------------------------------------------
// One file

/** Fails with a clear, file-naming error unless `file` is a readable CSV with the right header. */
export async function checkImportFile(file: string): Promise<void> {
  await statFile(file);
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  const reader = new CsvReader();
  try {
    for await (const chunk of stream) {
      const [first] = reader.push(chunk as string);
      if (first) return checkHeader(file, first);
    }
    const [first] = reader.end();
    checkHeader(file, first);
  } catch (error) {
    throw asUnusable(file, error);
  } finally {
    stream.destroy();
  }
}

export async function importFile(file: string, options: ImportOptions): Promise<ImportSummary> {
  const { size } = await statFile(file);
  const started = Date.now();
  const name = path.basename(file);
  const chunkRows = options.chunkRows ?? IMPORT_CHUNK_ROWS;
  const { sink, errors } = options;
  // A sink's totals are cumulative: this file's share is the difference.
  const before = sink ? { written: sink.totals().written, duplicates: sink.totals().duplicates } : null;
  const summary: ImportSummary = {
    file: name,
    path: file,
    via: options.via,
    dryRun: sink === null,
    rows: { read: 0, accepted: 0, rejected: 0 },
    rejectedByReason: {},
    written: 0,
    duplicates: 0,
    refused: 0,
    refusedByReason: {},
    conflicts: 0,
    errorsTopic: errors?.topic ?? null,
    errorsSent: 0,
    samples: [],
    elapsedMs: 0,
    interrupted: false,
  };
  const reader = new CsvReader();
  const validator = new RowValidator();
  let headerSeen = false;
  let events: ShopEvent[] = [];
  // Line and raw text of the chunk's accepted rows, to report the ones the projection refuses.
  let origins = new Map<string, { line: number; raw: string }>();
  let problems: ImportProblem[] = [];

  const problem = (found: ImportProblem, counts: Record<string, number>): void => {
    for (const reason of found.reasons) counts[reason.code] = (counts[reason.code] ?? 0) + 1;
    if (summary.samples.length < SAMPLE_LIMIT) {
      const refused = found.reason !== 'invalid_row';
      summary.samples.push({ line: found.line, reasons: found.reasons.map((r) => (refused ? `refused (${r.code}): ${r.message}` : r.message)) });
    }
    problems.push(found);
  };

  const handle = (record: CsvRecord): void => {
    if (!headerSeen) {
      checkHeader(file, record);
      headerSeen = true;
      return;
    }
    summary.rows.read += 1;
    const result = validator.validate(record);
    if (result.ok) {
      summary.rows.accepted += 1;
      const event = rowEvent(result.row, IMPORT_SOURCE);
      events.push(event);
      if (sink?.via === 'db') origins.set(event.id, { line: record.line, raw: record.raw });
      return;
    }
    summary.rows.rejected += 1;
    problem({ file: name, line: record.line, raw: record.raw, reasons: result.reasons, reason: 'invalid_row' }, summary.rejectedByReason);
  };

  const flush = async (): Promise<void> => {
    if (events.length > 0 && sink) {
      const seen = sink.totals().rejected.length;
      const seenConflicts = sink.totals().conflicts.length;
      await sink.write(events);
      // A transaction id imported before with other content: reported (with its line), not applied.
      for (const conflict of sink.totals().conflicts.slice(seenConflicts)) {
        summary.conflicts += 1;
        const origin = origins.get(conflict.event.id);
        if (summary.samples.length < SAMPLE_LIMIT) {
          summary.samples.push({ line: origin?.line ?? 0, reasons: [`not applied: ${conflict.message}`] });
        }
      }
      for (const refusal of sink.totals().rejected.slice(seen)) {
        const origin = origins.get(refusal.event.id);
        summary.refused += 1;
        problem(
          {
            file: name,
            line: origin?.line ?? 0,
            raw: origin?.raw ?? '',
            reasons: [{ code: refusal.reason, message: refusal.message }],
            reason: refusal.reason,
          },
          summary.refusedByReason,
        );
      }
    }
    events = [];
    origins = new Map();
    if (problems.length > 0 && errors) {
      await errors.send(problems);
      summary.errorsSent += problems.length;
    }
    problems = [];
  };

  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  try {
    // The loop body is awaited before the next chunk is read: that is the backpressure.
    for await (const chunk of stream) {
      for (const record of reader.push(chunk as string)) {
        handle(record);
        if (events.length + problems.length >= chunkRows) {
          await flush();
          options.onProgress?.({ rows: summary.rows.read, bytes: stream.bytesRead, totalBytes: size, elapsedMs: Date.now() - started });
        }
      }
      if (options.signal?.aborted && stream.bytesRead < size) {
        summary.interrupted = true;
        break;
      }
    }
    if (!summary.interrupted) {
      for (const record of reader.end()) handle(record);
      if (!headerSeen) checkHeader(file, undefined);
    }
    await flush();
  } catch (error) {
    throw asUnusable(file, error);
  } finally {
    stream.destroy();
  }
  if (sink && before) {
    const after = sink.totals();
    summary.written = after.written - before.written;
    summary.duplicates = after.duplicates - before.duplicates;
  }
  summary.elapsedMs = Date.now() - started;
  return summary;
}

function checkHeader(file: string, record: CsvRecord | undefined): void {
  if (!record) throw new UnusableFileError(`${file} is empty: no header line`, headerHint);
  if (record.problem?.code === 'bad_encoding') {
    throw new UnusableFileError(`${file} is ${record.problem.message}; save it as UTF-8`, 'In Excel: Save As > "CSV UTF-8 (Comma delimited)"; or: iconv -f UTF-16 -t UTF-8 FILE > FILE-utf8.csv');
  }
  const problems = record.problem ? [record.problem.message] : headerProblems(record.fields);
  if (problems.length > 0) {
    throw new UnusableFileError(`${file}: the header is not ${IMPORT_HEADER.join(',')} (${problems.join('; ')})`, headerHint);
  }
}

async function statFile(file: string): Promise<{ size: number }> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UnusableFileError(`${file} is not a file`, 'Give the path of a CSV file (or --watch DIR for a directory).');
    return { size: info.size };
  } catch (error) {
    throw asUnusable(file, error);
  }
}

// File-system failures name the file and end with exit code 2; anything else passes through.
function asUnusable(file: string, error: unknown): unknown {
  if (error instanceof ShopctlError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new UnusableFileError(`File not found: ${file}`, 'Check the path (it is relative to the working directory).', error);
  if (code === 'EACCES' || code === 'EPERM') return new UnusableFileError(`Cannot read ${file}: permission denied`, undefined, error);
  if (code === 'EISDIR') return new UnusableFileError(`${file} is a directory`, 'Give the path of a CSV file, or use --watch DIR.', error);
  return error;
}

// ---------------------------------------------------------------------------------------------
// The errors topic

/** Up to this many bytes of values per produce request (brokers refuse batches over 1 MB). */
const ERROR_BATCH_BYTES = 512 * 1024;

// The record the `errors` tool lists: the value is {file, line, raw, reasons}; the headers say
// why (x-dlq-reason), when, and where from. Keyed by file, so one file's errors stay in order.
export function importErrorMessage(problem: ImportProblem, now: Date): Message {
  const { file, line, raw, reasons } = problem;
  return {
    key: file,
    value: JSON.stringify({ file, line, raw, reasons }),
    headers: {
      [DLQ_HEADERS.reason]: problem.reason,
      [DLQ_HEADERS.time]: now.toISOString(),
      [IMPORT_HEADERS.file]: file,
      [IMPORT_HEADERS.line]: String(line),
    },
  };
}

export async function openErrorSink(kafka: Kafka, config: Config): Promise<ErrorSink> {
  const topic = config.kafka.topics.importErrors;
  await withAdmin(kafka, config, (admin) => ensureTopics(admin, config, [topic]));
  const producer = createProducer(kafka);
  await connectOrExplain(config, () => producer.connect());
  return {
    topic,
    async send(problems) {
      const now = new Date();
      let batch: Message[] = [];
      let bytes = 0;
      for (const found of problems) {
        const message = importErrorMessage(found, now);
        const length = String(message.value).length;
        if (batch.length > 0 && bytes + length > ERROR_BATCH_BYTES) {
          await producer.send({ topic, acks: -1, messages: batch });
          batch = [];
          bytes = 0;
        }
        batch.push(message);
        bytes += length;
      }
      if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
    },
    close: () => producer.disconnect(),
  };
}
