/**
 * Per-CPU fields packed into the tail of a state vector, `perWord` CPUs to a
 * 32-bit word, `bits` bits each. Keeping every CPU-local bit (its executor
 * state and its membership in pending grace periods) in one field makes
 * symmetry reduction a sort of the fields.
 */
export class CpuFields {
  readonly perWord: number;
  readonly mask: number;
  readonly words: number;
  /** log2(perWord). */
  private readonly perShift: number;
  private readonly scratch: Int32Array;
  /** Per CPU: its word and the shift of its field in it (looked up, not computed, in the hot loop). */
  private readonly wordOf: Int32Array;
  private readonly shiftOf: Int32Array;

  constructor(
    readonly cpus: number,
    /** First word of the CPU area. */
    readonly base: number,
    readonly bits: 8 | 16 | 32,
  ) {
    this.perWord = 32 / bits;
    this.mask = bits === 8 ? 0xff : bits === 16 ? 0xffff : 0xffffffff;
    this.words = Math.ceil(cpus / this.perWord);
    this.perShift = Math.log2(this.perWord);
    this.scratch = new Int32Array(cpus);
    this.wordOf = Int32Array.from({ length: cpus }, (_, i) => base + (i >> this.perShift));
    this.shiftOf = Int32Array.from({ length: cpus }, (_, i) => (i & (this.perWord - 1)) * bits);
  }

  get(s: Int32Array, cpu: number): number {
    return (s[this.wordOf[cpu]] >>> this.shiftOf[cpu]) & this.mask;
  }

  set(s: Int32Array, cpu: number, v: number): void {
    const w = this.wordOf[cpu];
    const sh = this.shiftOf[cpu];
    s[w] = (s[w] & ~(this.mask << sh)) | ((v & this.mask) << sh);
  }

  /**
   * Sorts the CPU fields ascending: the representative of the state's orbit
   * under CPU permutation. (`_scratch` is no longer used: the fields keep their own.)
   */
  canonicalize(s: Int32Array, _scratch?: number[]): void {
    const n = this.cpus;
    const v = this.scratch;
    const base = this.base;
    const perShift = this.perShift;
    const sub = this.perWord - 1;
    const bits = this.bits;
    const mask = this.mask;
    for (let i = 0; i < n; i++) v[i] = (s[base + (i >> perShift)] >>> ((i & sub) * bits)) & mask;
    // Insertion sort: n is small, and a successor differs from its (sorted) parent in a field or two.
    let moved = false;
    for (let i = 1; i < n; i++) {
      const x = v[i];
      let j = i - 1;
      if (v[j] <= x) continue;
      moved = true;
      while (j >= 0 && v[j] > x) {
        v[j + 1] = v[j];
        j--;
      }
      v[j + 1] = x;
    }
    if (!moved) return;
    for (let i = 0; i < n; i++) {
      const w = base + (i >> perShift);
      const sh = (i & sub) * bits;
      s[w] = (s[w] & ~(mask << sh)) | ((v[i] & mask) << sh);
    }
  }
}
