/**
 * The visited set of the explorer: every distinct packed state, stored once,
 * in insertion order, with a parent link and the action that reached it.
 *
 * - `words` holds the states back to back (`width` Int32 words each). A state's
 *   index is its insertion order, so a breadth-first queue is simply the range
 *   of indices not yet expanded: no separate queue is needed.
 * - `table` is an open-addressing hash table of 8-byte slots: the state's
 *   index + 1 (0 = empty) and its 32-bit hash. A state is compared in full
 *   (in `words`) only when its hash matches, so there are no fingerprint
 *   collisions and no probability to report. Eight slots share a cache line,
 *   so a probe's whole run is usually one line.
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
 * `bytesFor` lets a caller stop before an allocation would pass a memory
 * budget instead of after.
 *
 * Speed: a probe of a table of hundreds of megabytes is a cache miss and a
 * TLB miss. insertBatch therefore issues a batch's loads first, in tight
 * loops with no branch that could throw the loads in flight away, so that the
 * processor waits for many misses at once. What then remains is mostly V8's
 * own cost for this code, which is why the default visited set runs the same
 * algorithm in WebAssembly (wasm/, 0.6x the time); this class is the
 * reference it is tested against and `--store js`. See docs/performance.md.
 */
import type { VisitedSet } from './visited-set.js';

const MAX_LOAD = 0.8;
/** Slots past the last home slot, for runs that would otherwise wrap around. */
const SPARE = 1024;
/** Entries - 1 of the recent-lookups cache (4096 entries: it stays in the processor's L2 cache). */
const RECENT_MASK = (1 << 12) - 1;

export class StateStore implements VisitedSet {
  readonly width: number;
  /** Typed arrays grow as long as the machine has memory. */
  readonly capacityBytes = Infinity;
  private words: Int32Array;
  private parentOf: Int32Array;
  private actionOf: Int32Array;
  /** Slot s is table[2s] (index + 1, 0 = empty) and table[2s + 1] (hash). */
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
  /** insertBatch's list of the states the recent-lookups cache did not answer. */
  private miss = new Int32Array(1024);
  /** Sink of the touching loads. */
  private touched = 0;

  constructor(width: number, initialCapacity = 1 << 12) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`state width must be a positive integer, got ${width}`);
    this.width = width;
    this.recent = new Int32Array((RECENT_MASK + 1) * (width + 1));
    let cap = 1024;
    while (cap < initialCapacity) cap <<= 1;
    this.words = new Int32Array(cap * width);
    this.parentOf = new Int32Array(cap);
    this.actionOf = new Int32Array(cap);
    const slots = cap * 2;
    this.table = new Int32Array((slots + SPARE) * 2);
    this.slots = slots;
    this.shift = 32 - Math.log2(slots);
    this.maxCount = Math.floor(slots * MAX_LOAD);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the store's typed arrays (what --max-memory limits). */
  get bytes(): number {
    return this.words.byteLength + this.parentOf.byteLength + this.actionOf.byteLength + this.table.byteLength + this.recent.byteLength + this.miss.byteLength;
  }

  /** What `bytes` will be once the arrays have grown (if they must) to take `extra` more states. */
  bytesFor(extra: number): number {
    const need = this.count + extra;
    let cap = this.parentOf.length;
    let slots = this.slots;
    while (cap < need) cap *= 2;
    while (Math.floor(slots * MAX_LOAD) < need) slots *= 2;
    if (cap === this.parentOf.length && slots === this.slots) return this.bytes;
    return cap * (this.width + 2) * 4 + (slots + SPARE) * 8 + this.recent.byteLength + this.miss.byteLength;
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
   * into `out`: the same as `n` calls of `insert`, only faster. `hashed`:
   * `hashes` already holds each state's hashWords. `recent`: consult the
   * cache of recent lookups (a caller whose batches were already rid of
   * near-duplicates saves the time).
   */
  insertBatch(src: Int32Array, n: number, parents: Int32Array, actions: Int32Array, hashes: Int32Array, out: Int32Array, hashed = false, recentCache = true): void {
    const w = this.width;
    const rs = w + 1;
    const recent = this.recent;
    if (this.miss.length < n) this.miss = new Int32Array(Math.max(n, 2 * this.miss.length));
    const miss = this.miss;
    // 1. Hash; answer from the cache of recent lookups where it can, and list
    //    the rest in `miss` (appended without a branch).
    let m = 0;
    for (let j = 0; j < n; j++) {
      const at = j * w;
      let hash = hashes[j];
      if (!hashed) hashes[j] = hash = hashWords(src, at, w);
      let hit = false;
      if (recentCache) {
        const base = (hash & RECENT_MASK) * rs;
        let k = 0;
        while (k < w && recent[base + 1 + k] === src[at + k]) k++;
        hit = k === w && recent[base] !== 0;
        out[j] = hit ? -recent[base] : 0;
      }
      miss[m] = j;
      m += hit ? 0 : 1;
    }
    // 2. Touch the home slots of the rest: independent loads, overlapped. The
    //    loop is unrolled and branch-free so that many misses are in flight at
    //    once (a plain loop's bookkeeping fills the processor's window first).
    const table = this.table;
    const shift = this.shift;
    let acc = 0;
    let p = 0;
    for (; p + 4 <= m; p += 4) {
      acc ^=
        table[(hashes[miss[p]] >>> shift) << 1] ^
        table[(hashes[miss[p + 1]] >>> shift) << 1] ^
        table[(hashes[miss[p + 2]] >>> shift) << 1] ^
        table[(hashes[miss[p + 3]] >>> shift) << 1];
    }
    for (; p < m; p++) acc ^= table[(hashes[miss[p]] >>> shift) << 1];
    this.touched = acc;
    // 3. Look up or insert, in order, and remember each in the cache.
    for (p = 0; p < m; p++) {
      const j = miss[p];
      const at = j * w;
      const r = this.insertHashed(src, at, hashes[j], parents[j], actions[j]);
      out[j] = r;
      if (!recentCache) continue;
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
    const table = this.table;
    const words = this.words;
    const u = hash >>> 0;
    let h = u >>> this.shift;
    for (;;) {
      const id = table[h << 1];
      if (id === 0) return -1 - h;
      const other = table[(h << 1) + 1] >>> 0;
      if (other > u) return -1 - h;
      if (other === u) {
        const at = (id - 1) * w;
        let k = 0;
        while (k < w && words[at + k] === src[offset + k]) k++;
        if (k === w) return h;
      }
      h++;
    }
  }

  private insertHashed(src: Int32Array, offset: number, hash: number, parent: number, action: number): number {
    const table = this.table;
    const found = this.locate(src, offset, hash);
    if (found >= 0) return -table[found << 1];
    const at = -1 - found;
    // The end of this run: the first empty slot at or after `at`.
    let end = at;
    while (table[end << 1] !== 0) end++;
    if (end >= this.slots + SPARE - 1) {
      // The run reached the last spare slot: double the table and look again.
      this.rehash();
      return this.insertHashed(src, offset, hash, parent, action);
    }
    if (end > at) table.copyWithin((at + 1) << 1, at << 1, end << 1);
    const idx = this.count;
    if (idx === this.parentOf.length) this.growStore();
    const w = this.width;
    const words = this.words;
    const wat = idx * w;
    table[at << 1] = idx + 1;
    table[(at << 1) + 1] = hash;
    for (let k = 0; k < w; k++) words[wat + k] = src[offset + k];
    this.parentOf[idx] = parent;
    this.actionOf[idx] = action;
    this.count = idx + 1;
    if (this.count > this.maxCount) this.rehash();
    return idx;
  }

  /** The index of `state` (first `width` words of `src` from `offset`), or -1 if absent. */
  find(src: Int32Array, offset = 0): number {
    const slot = this.locate(src, offset, hashWords(src, offset, this.width));
    return slot < 0 ? -1 : this.table[slot << 1] - 1;
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

  /**
   * The stored states, parents and actions (views of the live arrays, `size`
   * long): what a parallel search's worker hands back for counterexamples.
   */
  paths(): { words: Int32Array; parents: Int32Array; actions: Int32Array } {
    return {
      words: this.words.subarray(0, this.count * this.width),
      parents: this.parentOf.subarray(0, this.count),
      actions: this.actionOf.subarray(0, this.count),
    };
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
    const old = this.table;
    const oldEnd = this.slots + SPARE;
    for (let grow = 1; ; grow++) {
      const slots = this.slots << grow;
      const last = slots + SPARE - 1; // always left empty: it ends every scan
      const table = new Int32Array((slots + SPARE) * 2);
      const shift = this.shift - grow;
      let next = 0;
      for (let p = 0; p < oldEnd && next < last; p++) {
        const id = old[p << 1];
        if (id === 0) continue;
        const hash = old[(p << 1) + 1];
        const home = hash >>> shift;
        const h = home > next ? home : next;
        if (h >= last) {
          next = last;
          break;
        }
        table[h << 1] = id;
        table[(h << 1) + 1] = hash;
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
