/**
 * The explorer's visited set with its hot loop in WebAssembly: the same
 * algorithm, layout and results as StateStore (../state-store.ts), which
 * stays the reference and the fallback. state-store.wat does the lookups and
 * inserts of a batch; this class owns the memory: where each array lives in
 * it, growing it, and doubling the hash table.
 *
 * Results are identical to StateStore's (same indices, parents and actions for
 * the same sequence of inserts): test/explorer-store.test.ts runs both against
 * a Map. The gain is speed: on the bench machine a replay of the 40 M
 * successors of v5.10 N=6 takes 3.3-3.9 s against 5.7-6.3 s for StateStore
 * (docs/performance.md), presumably because V8's code for WebAssembly has
 * no typed-array bounds checks or tagged integers to deal with.
 *
 * A WebAssembly memory holds at most 4 GiB: `capacityBytes`. The explorer
 * treats it as a memory limit (the search stops, incomplete, before a growth
 * would pass it), so a search this store cannot hold is never reported as
 * complete.
 */
import type { VisitedSet } from '../visited-set.js';
import { wasmModule } from './module.js';

/** Largest batch handed to the WebAssembly side at once (longer ones are split, in order). */
export const CHUNK = 4096;
/** Entries of the recent-lookups cache (fixed in state-store.wat). */
const RECENT = 4096;
const MAX_LOAD = 0.8;
const SPARE = 1024;
const PAGE = 65536;
/** 4 GiB: the most a 32-bit WebAssembly memory can hold. */
const MAX_MEMORY = 65536 * PAGE;

/**
 * Byte offsets of the fixed part of memory (see state-store.wat): the batch
 * arrays, `CHUNK` long, then the recent-lookups cache; the stored states
 * start at `end`.
 */
export function fixedLayout(width: number) {
  let at = 0;
  const take = (bytes: number): number => {
    const here = at;
    at += bytes;
    return here;
  };
  const src = take(CHUNK * width * 4);
  const hashes = take(CHUNK * 4);
  const parents = take(CHUNK * 4);
  const actions = take(CHUNK * 4);
  const out = take(CHUNK * 4);
  const miss = take(CHUNK * 4);
  const recent = take(RECENT * (width + 1) * 4);
  return { src, hashes, parents, actions, out, miss, recent, end: at };
}

export interface Exports {
  memory: WebAssembly.Memory;
  configure(...args: number[]): void;
  setCount(c: number): void;
  getCount(): number;
  batch(n: number, hashed: number, recent: number): number;
  lookup(p: number): number;
  sieve(n: number): number;
  hash(at: number): number;
}

/** Byte offsets of the arrays in memory (see state-store.wat). */
interface Layout {
  words: number;
  parentOf: number;
  actionOf: number;
  table: number;
  end: number;
}

export class WasmStateStore implements VisitedSet {
  readonly width: number;
  /** The most this store may ever hold, in bytes: at most 4 GiB. */
  readonly capacityBytes: number;
  private readonly x: Exports;
  private mem: Int32Array;
  /** Byte offsets of the batch arrays (fixed). */
  private readonly src: number;
  private readonly hashes: number;
  private readonly parents: number;
  private readonly actions: number;
  private readonly out: number;
  private readonly miss: number;
  private readonly recent: number;
  /** Where the stored arrays start: after the fixed part (batch arrays and recent-lookups cache). */
  private readonly fixedEnd: number;
  private layout: Layout;
  /** States the store arrays have room for. */
  private cap: number;
  /** Home slots (a power of two); the table has SPARE more. */
  private slots: number;
  private shift: number;
  private maxCount: number;

  /**
   * `capacityBytes` caps the memory below 4 GiB. `storedFrom` (for tests)
   * places the stored arrays at least this high in memory, so that offsets
   * past 2 GiB can be exercised without filling 2 GiB (untouched pages of a
   * WebAssembly memory cost no RAM).
   */
  constructor(width: number, initialCapacity = 1 << 12, capacityBytes = MAX_MEMORY, storedFrom = 0) {
    if (!Number.isInteger(width) || width < 1) throw new Error(`state width must be a positive integer, got ${width}`);
    this.width = width;
    this.capacityBytes = Math.min(capacityBytes, MAX_MEMORY);
    this.x = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as Exports;
    let cap = 1024;
    while (cap < initialCapacity) cap <<= 1;
    this.cap = cap;
    this.slots = cap * 2;
    this.shift = 32 - Math.log2(this.slots);
    this.maxCount = Math.floor(this.slots * MAX_LOAD);
    const f = fixedLayout(width);
    this.src = f.src;
    this.hashes = f.hashes;
    this.parents = f.parents;
    this.actions = f.actions;
    this.out = f.out;
    this.miss = f.miss;
    this.recent = f.recent;
    this.fixedEnd = Math.max(f.end, Math.ceil(storedFrom / 8) * 8);
    this.layout = this.place(cap, this.slots);
    this.growMemory(this.layout.end);
    this.mem = new Int32Array(this.x.memory.buffer);
    this.configure();
  }

  /** Where the arrays go for `cap` states and a table of `slots` home slots. */
  private place(cap: number, slots: number): Layout {
    const words = this.fixedEnd;
    const parentOf = words + cap * this.width * 4;
    const actionOf = parentOf + cap * 4;
    const table = actionOf + cap * 4;
    const end = table + (slots + SPARE) * 8;
    return { words, parentOf, actionOf, table, end };
  }

  private growMemory(bytes: number): void {
    if (bytes > this.capacityBytes) {
      throw new Error(`the state store would need ${Math.ceil(bytes / 2 ** 20)} MiB, more than its WebAssembly memory may hold (${Math.floor(this.capacityBytes / 2 ** 20)} MiB)`);
    }
    const have = this.x.memory.buffer.byteLength;
    if (bytes > have) this.x.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.mem = new Int32Array(this.x.memory.buffer);
  }

  private configure(): void {
    const L = this.layout;
    this.x.configure(this.width, this.src, this.hashes, this.parents, this.actions, this.out, this.miss, this.recent, L.words, L.parentOf, L.actionOf, L.table, this.shift, this.slots + SPARE - 1);
  }

  get size(): number {
    return this.x.getCount();
  }

  /**
   * Where another thread can read the stored states: the memory (shared) and
   * the byte offset of state 0; state i is `width` Int32 words at offset +
   * 4 * i * width. That region only ever grows (growth moves the arrays above
   * it), so a state once stored stays where it is.
   */
  get sharedWords(): { memory: WebAssembly.Memory; offset: number } {
    return { memory: this.x.memory, offset: this.fixedEnd };
  }

  /** Bytes of WebAssembly memory this store holds. */
  get bytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  bytesFor(extra: number): number {
    const need = this.size + extra;
    let cap = this.cap;
    let slots = this.slots;
    while (cap < need) cap *= 2;
    while (Math.floor(slots * MAX_LOAD) < need) slots *= 2;
    return Math.max(this.bytes, Math.ceil(this.place(cap, slots).end / PAGE) * PAGE);
  }

  insert(src: Int32Array, offset: number, parent: number, action: number): number {
    const one = new Int32Array(1);
    this.insertBatch(src.subarray(offset, offset + this.width), 1, Int32Array.of(parent), Int32Array.of(action), new Int32Array(1), one, false, false);
    return one[0];
  }

  insertBatch(src: Int32Array, n: number, parents: Int32Array, actions: Int32Array, hashes: Int32Array, out: Int32Array, hashed = false, recentCache = true): void {
    const w = this.width;
    for (let c = 0; c < n; c += CHUNK) {
      const e = Math.min(n, c + CHUNK);
      const len = e - c;
      while (this.size + len > this.cap) this.growStore();
      while (this.size + len > this.maxCount) this.rehash();
      let mem = this.mem;
      mem.set(src.subarray(c * w, e * w), this.src / 4);
      mem.set(parents.subarray(c, e), this.parents / 4);
      mem.set(actions.subarray(c, e), this.actions / 4);
      if (hashed) mem.set(hashes.subarray(c, e), this.hashes / 4);
      let r = this.x.batch(len, hashed ? 1 : 0, recentCache ? 1 : 0);
      while (r >= 0) {
        // A run reached the table's last slot: double the table, go on from there.
        this.rehash();
        r = this.x.lookup(r);
      }
      mem = this.mem;
      out.set(mem.subarray(this.out / 4, this.out / 4 + len), c);
      if (!hashed) hashes.set(mem.subarray(this.hashes / 4, this.hashes / 4 + len), c);
    }
  }

  find(src: Int32Array, offset = 0): number {
    // A lookup that must not insert: done here, on the table.
    this.mem.set(src.subarray(offset, offset + this.width), this.src / 4);
    const u = this.x.hash(this.src) >>> 0;
    const mem = this.mem;
    const w = this.width;
    const T = this.layout.table / 4;
    const W = this.layout.words / 4;
    for (let h = u >>> this.shift; ; h++) {
      const id = mem[T + 2 * h];
      if (id === 0) return -1;
      const other = mem[T + 2 * h + 1] >>> 0;
      if (other > u) return -1;
      if (other !== u) continue;
      let k = 0;
      while (k < w && mem[W + (id - 1) * w + k] === src[offset + k]) k++;
      if (k === w) return id - 1;
    }
  }

  read(idx: number, out: Int32Array, offset = 0): void {
    const w = this.width;
    const mem = this.mem;
    const at = this.layout.words / 4 + idx * w;
    for (let k = 0; k < w; k++) out[offset + k] = mem[at + k];
  }

  parent(idx: number): number {
    return this.mem[this.layout.parentOf / 4 + idx];
  }

  action(idx: number): number {
    return this.mem[this.layout.actionOf / 4 + idx];
  }

  /** Copies of the stored states, parents and actions (`size` long). */
  paths(): { words: Int32Array; parents: Int32Array; actions: Int32Array } {
    const n = this.size;
    const L = this.layout;
    const mem = this.mem;
    return {
      words: mem.slice(L.words / 4, L.words / 4 + n * this.width),
      parents: mem.slice(L.parentOf / 4, L.parentOf / 4 + n),
      actions: mem.slice(L.actionOf / 4, L.actionOf / 4 + n),
    };
  }

  /** Doubles the room for states: the arrays above the words move up. */
  private growStore(): void {
    const old = this.layout;
    const next = this.place(this.cap * 2, this.slots);
    this.growMemory(next.end);
    const mem = this.mem;
    const q = (b: number): number => b / 4;
    // Highest first, so that nothing is overwritten before it has moved.
    mem.copyWithin(q(next.table), q(old.table), q(old.end));
    mem.copyWithin(q(next.actionOf), q(old.actionOf), q(old.actionOf) + this.cap);
    mem.copyWithin(q(next.parentOf), q(old.parentOf), q(old.parentOf) + this.cap);
    this.layout = next;
    this.cap *= 2;
    this.configure();
  }

  /**
   * Doubles the table (it is last in memory, so it grows in place). The old
   * table is in order of hash and a home p becomes 2p or 2p + 1, so one pass
   * front to back over a copy of it places every state: see StateStore.rehash.
   */
  private rehash(): void {
    const oldTable = this.mem.slice(this.layout.table / 4, this.layout.end / 4);
    const oldEnd = this.slots + SPARE;
    for (let grow = 1; ; grow++) {
      const slots = this.slots << grow;
      const shift = this.shift - grow;
      const layout = this.place(this.cap, slots);
      this.growMemory(layout.end);
      const mem = this.mem;
      const T = layout.table / 4;
      mem.fill(0, T, layout.end / 4);
      const last = slots + SPARE - 1;
      let next = 0;
      for (let p = 0; p < oldEnd && next < last; p++) {
        const id = oldTable[2 * p];
        if (id === 0) continue;
        const hash = oldTable[2 * p + 1];
        const home = hash >>> shift;
        const h = home > next ? home : next;
        if (h >= last) {
          next = last;
          break;
        }
        mem[T + 2 * h] = id;
        mem[T + 2 * h + 1] = hash;
        next = h + 1;
      }
      if (next >= last) continue;
      this.layout = layout;
      this.slots = slots;
      this.shift = shift;
      this.maxCount = Math.floor(slots * MAX_LOAD);
      this.configure();
      return;
    }
  }
}
