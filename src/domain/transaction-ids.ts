/**
 * The transaction ids of a file, with the line each was first accepted on: an open-addressing
 * table of 128-bit ids in one typed array (5 words a slot, about 40 bytes an id at 1M ids)
 * instead of a Set of strings (well over 100 bytes an id).
 */
export class TransactionIds {
  private static readonly WORDS = 5;
  private table: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialSlots = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, initialSlots)));
    this.table = new Uint32Array(slots * TransactionIds.WORDS);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Records a UUID first seen on `line` (>= 1); returns the earlier line when it was seen before. */
  remember(uuid: string, line: number): number | null {
    const words = uuidWords(uuid);
    const found = this.find(this.table, this.mask, words);
    const at = found * TransactionIds.WORDS;
    const earlier = this.table[at + 4] ?? 0;
    if (earlier !== 0) return earlier;
    this.table.set([...words, line], at);
    this.count += 1;
    if (this.count * 4 > (this.mask + 1) * 3) this.grow();
    return null;
  }

  // The slot holding `words`, or the empty slot where they belong (line 0 marks empty).
  private find(table: Uint32Array, mask: number, words: readonly number[]): number {
    const [a = 0, b = 0, c = 0, d = 0] = words;
    let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35), 0x27d4eb2d);
    h ^= h >>> 15;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = slot * TransactionIds.WORDS;
      if (table[at + 4] === 0) return slot;
      if (table[at] === a && table[at + 1] === b && table[at + 2] === c && table[at + 3] === d) return slot;
    }
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    const table = new Uint32Array(slots * TransactionIds.WORDS);
    for (let at = 0; at < old.length; at += TransactionIds.WORDS) {
      if (old[at + 4] === 0) continue;
      const entry = old.subarray(at, at + TransactionIds.WORDS);
      table.set(entry, this.find(table, slots - 1, [...entry.subarray(0, 4)]) * TransactionIds.WORDS);
    }
    this.table = table;
    this.mask = slots - 1;
  }
}

function uuidWords(uuid: string): [number, number, number, number] {
  const hex = uuid.replaceAll('-', '');
  return [0, 8, 16, 24].map((start) => Number.parseInt(hex.slice(start, start + 8), 16) >>> 0) as [number, number, number, number];
}
