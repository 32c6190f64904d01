/**
 * Symmetry over interchangeable actors whose state takes more than one
 * packed field: `n` records of `k` consecutive Int32 words from `base`,
 * sorted lexicographically in place (the orbit's representative under
 * permutation of those actors). CpuFields.canonicalize does the same for
 * one field per CPU.
 */
export function sortRecords(s: Int32Array, base: number, n: number, k: number): void {
  const cmp = (i: number, j: number): number => {
    for (let w = 0; w < k; w++) {
      const d = s[base + i * k + w] - s[base + j * k + w];
      if (d !== 0) return d;
    }
    return 0;
  };
  // insertion sort: n is small
  const tmp = new Int32Array(k);
  for (let i = 1; i < n; i++) {
    let j = i;
    while (j > 0 && cmp(j - 1, j) > 0) {
      const a = base + (j - 1) * k;
      const b = base + j * k;
      tmp.set(s.subarray(a, a + k));
      s.copyWithin(a, b, b + k);
      s.set(tmp, b);
      j--;
    }
  }
}
