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

  constructor(
    readonly cpus: number,
    /** First word of the CPU area. */
    readonly base: number,
    readonly bits: 8 | 16 | 32,
  ) {
    this.perWord = 32 / bits;
    this.mask = bits === 8 ? 0xff : bits === 16 ? 0xffff : 0xffffffff;
    this.words = Math.ceil(cpus / this.perWord);
  }

  get(s: Int32Array, cpu: number): number {
    const w = this.base + ((cpu / this.perWord) | 0);
    const sh = (cpu % this.perWord) * this.bits;
    return (s[w] >>> sh) & this.mask;
  }

  set(s: Int32Array, cpu: number, v: number): void {
    const w = this.base + ((cpu / this.perWord) | 0);
    const sh = (cpu % this.perWord) * this.bits;
    s[w] = (s[w] & ~(this.mask << sh)) | ((v & this.mask) << sh);
  }

  /** Sorts the CPU fields ascending: the representative of the state's orbit under CPU permutation. */
  canonicalize(s: Int32Array, scratch: number[]): void {
    const n = this.cpus;
    for (let i = 0; i < n; i++) scratch[i] = this.get(s, i);
    // insertion sort: n is small
    for (let i = 1; i < n; i++) {
      const v = scratch[i];
      let j = i - 1;
      while (j >= 0 && scratch[j] > v) {
        scratch[j + 1] = scratch[j];
        j--;
      }
      scratch[j + 1] = v;
    }
    for (let i = 0; i < n; i++) this.set(s, i, scratch[i]);
  }
}
