import { createHash, hash, randomInt, randomUUID } from 'node:crypto';
import { MAX_SEED } from '../domain/generators.js';

/** What, besides the seed, makes one command's data what it is (locale, currency, store, …). */
export type IdOptions = Readonly<Record<string, string | number | boolean | null | undefined>>;

// Where time, ids and randomness come from. Commands build one; tests pass their own so that
// two runs of one scenario produce identical events.
export interface Runtime {
  now(): Date;
  /**
   * The ids of one stream of events (one kind of event of one command), in order. Seeded: a
   * name-based UUID of (kind, seed, options, position), so a re-run with the same seed and options
   * reproduces its ids (and the projection applies each event once) while another kind, seed or
   * option never meets them. Unseeded: random UUIDs.
   */
  ids(kind: string, options?: IdOptions): () => string;
  /** The seed generated data is drawn from (given, or drawn once here). */
  seed: number;
  /** Whether the seed was given: ids are then reproducible. */
  seeded: boolean;
  source: string;
}

export function createRuntime(seed: number | null | undefined, now: () => Date = () => new Date()): Runtime {
  if (seed === null || seed === undefined) {
    return { now, ids: () => randomUUID, seed: randomInt(0, 2 ** 31), seeded: false, source: 'shopctl' };
  }
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  }
  return { now, ids: (kind, options = {}) => nameBasedIds(idScope(kind, seed, options)), seed, seeded: true, source: 'shopctl' };
}

/** The canonical name of a stream: kind, seed and the options (sorted, undefined left out). */
export function idScope(kind: string, seed: number, options: IdOptions = {}): string {
  const entries = Object.entries(options)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(['shopctl.event', kind, seed, entries]);
}

// shopctl's namespace for name-based ids: an id is the RFC 9562 UUIDv5 of its name in it
// (SHA-1 of the namespace's 16 bytes and the name, version and variant bits set).
export const ID_NAMESPACE = '6f1c2a9e-4b7d-4e0f-9a3c-5d8e2b1f7a60';
const namespaceBytes = Buffer.from(ID_NAMESPACE.replaceAll('-', ''), 'hex');

/** The UUIDv5 of `name` in a namespace (shopctl's unless given). */
export function nameBasedId(name: string, namespace = ID_NAMESPACE): string {
  const bytes = namespace === ID_NAMESPACE ? namespaceBytes : Buffer.from(namespace.replaceAll('-', ''), 'hex');
  return formatV5(hash('sha1', Buffer.concat([bytes, Buffer.from(name)]), 'hex'));
}

/** Ids at positions 0, 1, 2, … of a scope: `nameBasedId(`${scope}#${position}`)`, made fast. */
export function nameBasedIds(scope: string): () => string {
  // One buffer holds namespace and scope; each id writes only its position after them
  // (a million ids in well under a second: buy makes one per purchase).
  const head = Buffer.concat([namespaceBytes, Buffer.from(`${scope}#`)]);
  const buffer = Buffer.alloc(head.length + 20);
  head.copy(buffer);
  let position = 0;
  return () => {
    const end = head.length + buffer.write(String(position++), head.length, 'latin1');
    return formatV5(hash('sha1', buffer.subarray(0, end), 'hex'));
  };
}

// The first 128 bits of a SHA-1 (hex) as a UUID, with version 5 and the RFC variant.
function formatV5(hex: string): string {
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A short digest of many values (e.g. the catalogue purchases pick from), for an id's options. */
export function digestOf(values: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const value of values) hash.update(value).update('\n');
  return hash.digest('hex').slice(0, 32);
}
