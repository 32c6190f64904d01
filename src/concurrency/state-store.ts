/**
 * The visited set of the explorer: every distinct packed state, stored once,
 * in insertion order, with a parent link and the action that reached it.
 *
 * - `words` holds the states back to back (`width` Int32 words each). A state's
 *   index is its insertion order, so a breadth-first queue is simply the range
 *   of indices not yet expanded: no separate queue is needed.
 * - `table` is an open-addressing hash table (linear probing) whose slots hold
 *   the state's index + 1 (0 = empty) followed by a copy of the state itself,
 *   so a lookup touches one place in memory: most lookups are of states already
 *   seen, and comparing against the inline copy costs no second cache miss.
 *   Full states are compared, so there are no fingerprint collisions and no
 *   probability to report.
 * - `parent` and `action` let a trace be rebuilt by walking back to the root
 *   and replaying (see trace.ts); states are never copied into objects.
 *
 * The table is kept at most 70% full; each array doubles when full.
 * `bytesAfterGrowth` lets a caller stop before an allocation would pass a
 * memory budget instead of after.
 */
const MAX_LOAD = 0.7;
/** Entries - 1 of the recent-lookups cache (4096 entries: it stays in the processor's L2 cache). */
const RECENT_MASK = (1 << 12) - 1;

export class StateStore {
  readonly width: number;
  /** Words per table slot: the index + 1, then the state. */
  private readonly stride: number;
  private words: Int32Array;
  private parentOf: Int32Array;
  private actionOf: Int32Array;
  private table: Int32Array;
  /** Slots - 1. */
  private mask: number;
  /** A state's home slot is the top bits of its hash: hash >>> shift. */
  private shift: number;
  /** Rehash when `count` passes this. */
  private maxCount: number;
  private count = 0;
  /**
   * A small direct-mapped cache of recently looked-up states (index + 1, then
   * the state), indexed by the low bits of the hash. Two interleavings of the
   * same moves reach the same state from siblings, which sit close together in
   * the queue, so about half of all successors are found here without a trip
   * to the big table. Entries are only ever states in the store.
   */
  private readonly recent: Int32Array;
  /** Sink of `touch`'s loads. */
  private touched = 0;

  constructor(width: number, initialCapacity = 1 << 12) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`state width must be a positive integer, got ${width}`);
    this.width = width;
    this.stride = width + 1;
    this.recent = new Int32Array((RECENT_MASK + 1) * this.stride);
    let cap = 1024;
    while (cap < initialCapacity) cap <<= 1;
    this.words = new Int32Array(cap * width);
    this.parentOf = new Int32Array(cap);
    this.actionOf = new Int32Array(cap);
    const slots = cap * 2;
    this.table = new Int32Array(slots * this.stride);
    this.mask = slots - 1;
    this.shift = 32 - Math.log2(slots);
    this.maxCount = Math.floor(slots * MAX_LOAD);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the store's typed arrays (what --max-memory limits). */
  get bytes(): number {
    return this.words.byteLength + this.parentOf.byteLength + this.actionOf.byteLength + this.table.byteLength + this.recent.byteLength;
  }

  /** How many more states fit before some array must grow. */
  get headroom(): number {
    return Math.min(this.parentOf.length, this.maxCount) - this.count;
  }

  /** What `bytes` will be once the next growth (of whichever array fills first) has happened. */
  get bytesAfterGrowth(): number {
    const storeFull = this.parentOf.length - this.count;
    const tableFull = this.maxCount - this.count;
    if (storeFull <= tableFull) return this.bytes + this.words.byteLength + this.parentOf.byteLength + this.actionOf.byteLength;
    return this.bytes + this.table.byteLength;
  }

  /**
   * Inserts `state` (the first `width` words of `src` from `offset`) unless
   * already present. Returns the new index, or -1 - (existing index).
   */
  insert(src: Int32Array, offset: number, parent: number, action: number): number {
    return this.insertHashed(src, offset, hashWords(src, offset, this.width), parent, action);
  }

  /**
   * Inserts `n` states held back to back in `src` (with their parents and
   * actions), in order, and writes each one's result (as `insert` returns it)
   * into `out`. The same as `n` calls of `insert`, only faster: every state's
   * slot is first touched in one pass of independent loads, so the processor
   * waits for many cache (and TLB) misses at once instead of one at a time.
   */
  insertBatch(src: Int32Array, n: number, parents: Int32Array, actions: Int32Array, hashes: Int32Array, out: Int32Array): void {
    const w = this.width;
    const stride = this.stride;
    const recent = this.recent;
    // 1. Hash; answer from the cache of recent lookups where it can.
    for (let j = 0; j < n; j++) {
      const at = j * w;
      const hash = hashWords(src, at, w);
      hashes[j] = hash;
      const base = (hash & RECENT_MASK) * stride;
      let k = 0;
      while (k < w && recent[base + 1 + k] === src[at + k]) k++;
      out[j] = k === w && recent[base] !== 0 ? -recent[base] : 0;
    }
    // 2. Touch the home slots of the rest: independent loads, overlapped.
    const table = this.table;
    const shift = this.shift;
    let acc = 0;
    for (let j = 0; j < n; j++) if (out[j] === 0) acc ^= table[(hashes[j] >>> shift) * stride];
    this.touched = acc;
    // 3. Look up or insert, in order, and remember each in the cache.
    for (let j = 0; j < n; j++) {
      if (out[j] !== 0) continue;
      const at = j * w;
      const r = this.insertHashed(src, at, hashes[j], parents[j], actions[j]);
      out[j] = r;
      const base = (hashes[j] & RECENT_MASK) * stride;
      recent[base] = r < 0 ? -r : r + 1;
      for (let k = 0; k < w; k++) recent[base + 1 + k] = src[at + k];
    }
  }

  private insertHashed(src: Int32Array, offset: number, hash: number, parent: number, action: number): number {
    const w = this.width;
    const stride = this.stride;
    const table = this.table;
    const mask = this.mask;
    let h = hash >>> this.shift;
    for (;;) {
      const base = h * stride;
      const s = table[base];
      if (s === 0) break;
      let k = 0;
      while (k < w && table[base + 1 + k] === src[offset + k]) k++;
      if (k === w) return -s;
      h = (h + 1) & mask;
    }
    const idx = this.count;
    if (idx === this.parentOf.length) this.growStore();
    const words = this.words;
    const base = h * stride;
    const at = idx * w;
    table[base] = idx + 1;
    for (let k = 0; k < w; k++) {
      const x = src[offset + k];
      table[base + 1 + k] = x;
      words[at + k] = x;
    }
    this.parentOf[idx] = parent;
    this.actionOf[idx] = action;
    this.count = idx + 1;
    if (this.count > this.maxCount) this.rehash();
    return idx;
  }

  /** The index of `state` (first `width` words of `src` from `offset`), or -1 if absent. */
  find(src: Int32Array, offset = 0): number {
    const w = this.width;
    const stride = this.stride;
    const table = this.table;
    let h = hashWords(src, offset, w) >>> this.shift;
    for (;;) {
      const base = h * stride;
      const s = table[base];
      if (s === 0) return -1;
      let k = 0;
      while (k < w && table[base + 1 + k] === src[offset + k]) k++;
      if (k === w) return s - 1;
      h = (h + 1) & this.mask;
    }
  }

  /** Copies state `idx` into `out` (from `offset`). */
  read(idx: number, out: Int32Array, offset = 0): void {
    const w = this.width;
    const words = this.words;
    const at = idx * w;
    for (let k = 0; k < w; k++) out[offset + k] = words[at + k];
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

  /**
   * Doubles the table. Homes are the top bits of the hash, so linear probing
   * keeps the old table (nearly) in order of home slot, and a home p becomes
   * 2p or 2p + 1: walking the old table in order writes the new one front to
   * back, a stream rather than one cache miss per state.
   */
  private rehash(): void {
    const w = this.width;
    const stride = this.stride;
    const old = this.table;
    const oldSlots = this.mask + 1;
    const nslots = oldSlots * 2;
    const table = new Int32Array(nslots * stride);
    const mask = nslots - 1;
    const shift = this.shift - 1;
    for (let p = 0; p < oldSlots; p++) {
      const from = p * stride;
      const s = old[from];
      if (s === 0) continue;
      let h = hashWords(old, from + 1, w) >>> shift;
      while (table[h * stride] !== 0) h = (h + 1) & mask;
      const base = h * stride;
      for (let k = 0; k < stride; k++) table[base + k] = old[from + k];
    }
    this.table = table;
    this.mask = mask;
    this.shift = shift;
    this.maxCount = Math.floor(nslots * MAX_LOAD);
  }
}

/** A 32-bit mix of `w` words (murmur3-style finalised); as an int32 (callers take its top bits with >>>). */
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
  return h;
}
