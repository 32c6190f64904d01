/**
 * The visited set of the explorer: every distinct packed state, stored once,
 * in insertion order, with a parent link and the action that reached it.
 *
 * - `words` holds the states back to back (`width` Int32 words each). A state's
 *   index is its insertion order, so a breadth-first queue is simply the range
 *   of indices not yet expanded: no separate queue is needed.
 * - `slots` is an open-addressing hash table (linear probing) of state
 *   indices + 1 (0 = empty). Full states are compared, so there are no
 *   fingerprint collisions and no probability to report.
 * - `parent` and `action` let a trace be rebuilt by walking back to the root
 *   and replaying (see trace.ts); states are never copied into objects.
 */
export class StateStore {
  readonly width: number;
  private words: Int32Array;
  private parentOf: Int32Array;
  private actionOf: Int32Array;
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  constructor(width: number, initialCapacity = 1 << 16) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`state width must be a positive integer, got ${width}`);
    this.width = width;
    let cap = 1024;
    while (cap < initialCapacity) cap <<= 1;
    this.words = new Int32Array(cap * width);
    this.parentOf = new Int32Array(cap);
    this.actionOf = new Int32Array(cap);
    this.slots = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the store's typed arrays (what --max-memory limits). */
  get bytes(): number {
    return this.words.byteLength + this.parentOf.byteLength + this.actionOf.byteLength + this.slots.byteLength;
  }

  /**
   * Inserts `state` (the first `width` words of `src` from `offset`) unless
   * already present. Returns the new index, or -1 - (existing index).
   */
  insert(src: Int32Array, offset: number, parent: number, action: number): number {
    const w = this.width;
    let h = hashWords(src, offset, w) & this.mask;
    const slots = this.slots;
    const words = this.words;
    for (;;) {
      const s = slots[h];
      if (s === 0) break;
      const base = (s - 1) * w;
      let eq = true;
      for (let k = 0; k < w; k++) {
        if (words[base + k] !== src[offset + k]) {
          eq = false;
          break;
        }
      }
      if (eq) return -s;
      h = (h + 1) & this.mask;
    }
    const idx = this.count;
    if ((idx + 1) * w > this.words.length) {
      this.growStore();
    }
    this.words.set(src.subarray(offset, offset + w), idx * w);
    this.parentOf[idx] = parent;
    this.actionOf[idx] = action;
    this.slots[h] = idx + 1;
    this.count = idx + 1;
    if (this.count > this.slots.length >>> 1) this.rehash(); // load factor <= 1/2
    return idx;
  }

  /** Copies state `idx` into `out` (from `offset`). */
  read(idx: number, out: Int32Array, offset = 0): void {
    const w = this.width;
    out.set(this.words.subarray(idx * w, idx * w + w), offset);
  }

  parent(idx: number): number {
    return this.parentOf[idx];
  }

  action(idx: number): number {
    return this.actionOf[idx];
  }

  /** Direct view of the stored words (read-only use). */
  view(): Int32Array {
    return this.words;
  }

  private growStore(): void {
    const cap = this.parentOf.length * 2;
    const words = new Int32Array(cap * this.width);
    words.set(this.words);
    this.words = words;
    const parent = new Int32Array(cap);
    parent.set(this.parentOf);
    this.parentOf = parent;
    const action = new Int32Array(cap);
    action.set(this.actionOf);
    this.actionOf = action;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    const w = this.width;
    for (let i = 0; i < this.count; i++) {
      let h = hashWords(this.words, i * w, w) & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = i + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** A 32-bit mix of `w` words (murmur3-style finalised). */
export function hashWords(a: Int32Array, off: number, w: number): number {
  let h = 0x9e3779b9 ^ w;
  for (let k = 0; k < w; k++) {
    let x = a[off + k];
    x = Math.imul(x, 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, 0x1b873593);
    h ^= x;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
