/**
 * The visited set of the explorer: every distinct packed state, stored once,
 * in insertion order, with a parent link and the action that reached it.
 *
 * - `words` holds the states back to back (`width` Int32 words each). A state's
 *   index is its insertion order, so a breadth-first queue is simply the range
 *   of indices not yet expanded: no separate queue is needed.
 * - `table` is an open-addressing hash table whose slots hold the state's
 *   index + 1 (0 = empty), its 32-bit hash, and a copy of the state, so a
 *   lookup touches one place in memory: most lookups are of states already
 *   seen, and comparing against the inline copy costs no second cache miss.
 *   Full states are compared, so there are no fingerprint collisions and no
 *   probability to report.
 * - The table is an *ordered* linear-probing table (Amble and Knuth, 1974): a
 *   state's home slot is the top bits of its hash, and every run of occupied
 *   slots is kept sorted by hash (an insert shifts the larger ones up a slot).
 *   A lookup for an absent state stops at the first larger hash instead of at
 *   the next empty slot, and doubling the table is one front-to-back pass
 *   (home p becomes 2p or 2p + 1). There is no wrap-around: spare slots past
 *   the end take the overflow, and running out of them doubles the table.
 * - `parent` and `action` let a trace be rebuilt by walking back to the root
 *   and replaying (see trace.ts); states are never copied into objects.
 *
 * The table is kept at most 80% full; each array doubles when full.
 * `bytesAfterGrowth` lets a caller stop before an allocation would pass a
 * memory budget instead of after.
 */
const MAX_LOAD = 0.8;
/** Slots past the last home slot, for runs that would otherwise wrap around. */
const SPARE = 1024;
/** Entries - 1 of the recent-lookups cache (4096 entries: it stays in the processor's L2 cache). */
const RECENT_MASK = (1 << 12) - 1;

export class StateStore {
  readonly width: number;
  /** Words per table slot: the index + 1, the hash, then the state. */
  private readonly stride: number;
  private words: Int32Array;
  private parentOf: Int32Array;
  private actionOf: Int32Array;
  private table: Int32Array;
  /** Home slots (a power of two); the table has SPARE more. */
  private slots: number;
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
    this.stride = width + 2;
    this.recent = new Int32Array((RECENT_MASK + 1) * (width + 1));
    let cap = 1024;
    while (cap < initialCapacity) cap <<= 1;
    this.words = new Int32Array(cap * width);
    this.parentOf = new Int32Array(cap);
    this.actionOf = new Int32Array(cap);
    const slots = cap * 2;
    this.table = new Int32Array((slots + SPARE) * this.stride);
    this.slots = slots;
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
    const rs = w + 1;
    const recent = this.recent;
    // 1. Hash; answer from the cache of recent lookups where it can.
    for (let j = 0; j < n; j++) {
      const at = j * w;
      const hash = hashWords(src, at, w);
      hashes[j] = hash;
      const base = (hash & RECENT_MASK) * rs;
      let k = 0;
      while (k < w && recent[base + 1 + k] === src[at + k]) k++;
      out[j] = k === w && recent[base] !== 0 ? -recent[base] : 0;
    }
    // 2. Touch the home slots of the rest: independent loads, overlapped.
    const table = this.table;
    const shift = this.shift;
    const stride = this.stride;
    let acc = 0;
    for (let j = 0; j < n; j++) if (out[j] === 0) acc ^= table[(hashes[j] >>> shift) * stride];
    this.touched = acc;
    // 3. Look up or insert, in order, and remember each in the cache.
    for (let j = 0; j < n; j++) {
      if (out[j] !== 0) continue;
      const at = j * w;
      const r = this.insertHashed(src, at, hashes[j], parents[j], actions[j]);
      out[j] = r;
      const base = (hashes[j] & RECENT_MASK) * rs;
      recent[base] = r < 0 ? -r : r + 1;
      for (let k = 0; k < w; k++) recent[base + 1 + k] = src[at + k];
    }
  }

  /**
   * The slot of `state` (hash `hash`) if present, else -1 - (the slot where it
   * belongs: the first empty slot or the first with a larger hash).
   */
  private locate(src: Int32Array, offset: number, hash: number): number {
    const w = this.width;
    const stride = this.stride;
    const table = this.table;
    const u = hash >>> 0;
    let h = u >>> this.shift;
    for (;;) {
      const base = h * stride;
      if (table[base] === 0) return -1 - h;
      const other = table[base + 1] >>> 0;
      if (other > u) return -1 - h;
      if (other === u) {
        let k = 0;
        while (k < w && table[base + 2 + k] === src[offset + k]) k++;
        if (k === w) return h;
      }
      h++;
    }
  }

  private insertHashed(src: Int32Array, offset: number, hash: number, parent: number, action: number): number {
    const table = this.table;
    const stride = this.stride;
    const found = this.locate(src, offset, hash);
    if (found >= 0) return -table[found * stride];
    const at = -1 - found;
    // The end of this run: the first empty slot at or after `at`.
    let end = at;
    while (table[end * stride] !== 0) end++;
    if (end >= this.slots + SPARE - 1) {
      // The run reached the last spare slot: double the table and look again.
      this.rehash();
      return this.insertHashed(src, offset, hash, parent, action);
    }
    if (end > at) table.copyWithin((at + 1) * stride, at * stride, end * stride);
    const idx = this.count;
    if (idx === this.parentOf.length) this.growStore();
    const w = this.width;
    const words = this.words;
    const base = at * stride;
    const wat = idx * w;
    table[base] = idx + 1;
    table[base + 1] = hash;
    for (let k = 0; k < w; k++) {
      const x = src[offset + k];
      table[base + 2 + k] = x;
      words[wat + k] = x;
    }
    this.parentOf[idx] = parent;
    this.actionOf[idx] = action;
    this.count = idx + 1;
    if (this.count > this.maxCount) this.rehash();
    return idx;
  }

  /** The index of `state` (first `width` words of `src` from `offset`), or -1 if absent. */
  find(src: Int32Array, offset = 0): number {
    const slot = this.locate(src, offset, hashWords(src, offset, this.width));
    return slot < 0 ? -1 : this.table[slot * this.stride] - 1;
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
   * Doubles the table. The old table is in order of hash, and a home p becomes
   * 2p or 2p + 1, so walking it front to back places every state at
   * max(its new home, the slot after the last one placed): one streaming pass.
   */
  private rehash(): void {
    const stride = this.stride;
    const old = this.table;
    const oldEnd = this.slots + SPARE;
    for (let grow = 1; ; grow++) {
      const slots = this.slots << grow;
      const last = slots + SPARE - 1; // always left empty: it ends every scan
      const table = new Int32Array((slots + SPARE) * stride);
      const shift = this.shift - grow;
      let next = 0;
      for (let p = 0; p < oldEnd && next < last; p++) {
        const from = p * stride;
        if (old[from] === 0) continue;
        const home = old[from + 1] >>> shift;
        const h = home > next ? home : next;
        if (h >= last) {
          next = last;
          break;
        }
        const to = h * stride;
        for (let k = 0; k < stride; k++) table[to + k] = old[from + k];
        next = h + 1;
      }
      if (next >= last) continue; // the spare slots ran out (never seen in practice): grow more
      this.table = table;
      this.slots = slots;
      this.shift = shift;
      this.maxCount = Math.floor(slots * MAX_LOAD);
      return;
    }
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
