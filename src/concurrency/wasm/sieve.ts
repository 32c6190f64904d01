/**
 * A sieve of successors, for the expanding thread of a pipelined search: of
 * a batch of successors it keeps those not among the (about 4096) kept
 * recently, and hashes them all, in WebAssembly (the `sieve` export of
 * state-store.wat, on an instance of its own that holds no table). Two
 * interleavings of the same moves reach the same state from sibling states,
 * which are expanded close together, so about half of all successors end
 * here instead of in the store's lookups. What it drops was kept earlier,
 * and so reaches the store earlier: the search is unchanged.
 */
import { wasmModule } from './module.js';
import { CHUNK, fixedLayout, type Exports } from './wasm-state-store.js';

export class SuccessorSieve {
  private readonly x: Exports;
  private readonly mem: Int32Array;
  private readonly at: ReturnType<typeof fixedLayout>;

  constructor(readonly width: number) {
    this.x = new WebAssembly.Instance(wasmModule(), {}).exports as unknown as Exports;
    this.at = fixedLayout(width);
    const need = this.at.end - this.x.memory.buffer.byteLength;
    if (need > 0) this.x.memory.grow(Math.ceil(need / 65536));
    this.mem = new Int32Array(this.x.memory.buffer);
    const a = this.at;
    // No table: the regions of stored states are empty and never touched.
    this.x.configure(width, a.src, a.hashes, a.parents, a.actions, a.out, a.miss, a.recent, a.end, a.end, a.end, a.end, 0, 0);
  }

  /**
   * Sifts the `n` states held back to back in `src`: writes every one's hash
   * (hashWords) into `hashes` and the indices of those kept, in order, into
   * `kept`; returns how many are kept.
   */
  sift(src: Int32Array, n: number, hashes: Int32Array, kept: Int32Array): number {
    const w = this.width;
    const mem = this.mem;
    const a = this.at;
    let m = 0;
    for (let c = 0; c < n; c += CHUNK) {
      const e = Math.min(n, c + CHUNK);
      mem.set(src.subarray(c * w, e * w), a.src / 4);
      const k = this.x.sieve(e - c);
      hashes.set(mem.subarray(a.hashes / 4, a.hashes / 4 + (e - c)), c);
      const list = mem.subarray(a.miss / 4, a.miss / 4 + k);
      for (let q = 0; q < k; q++) kept[m + q] = list[q] + c;
      m += k;
    }
    return m;
  }
}
