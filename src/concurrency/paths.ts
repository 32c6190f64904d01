/**
 * What a counterexample is rebuilt from: for each stored state, its words,
 * the state it was first reached from, and the action that reached it.
 * StateStore is one; a parallel search's partitions together are another.
 */
export interface StoredPaths {
  /** Copies state `idx` into `out` (from `offset`). */
  read(idx: number, out: Int32Array, offset?: number): void;
  /** The state `idx` was first reached from, or -1 for the root. */
  parent(idx: number): number;
  /** The model's action number of that step (-1 for the root). */
  action(idx: number): number;
}

/** One partition's arrays, as a worker hands them back (see StateStore.paths). */
export interface PartitionArrays {
  words: Int32Array;
  parents: Int32Array;
  actions: Int32Array;
}

/**
 * The states of a search split over `P` partitions. State `l` of partition `k`
 * has the global index l * P + k; parents are global indices too.
 */
export class PartitionedPaths implements StoredPaths {
  constructor(
    readonly width: number,
    private readonly parts: readonly PartitionArrays[],
  ) {}

  read(idx: number, out: Int32Array, offset = 0): void {
    const P = this.parts.length;
    const part = this.parts[idx % P];
    const at = Math.floor(idx / P) * this.width;
    for (let k = 0; k < this.width; k++) out[offset + k] = part.words[at + k];
  }

  parent(idx: number): number {
    const P = this.parts.length;
    return this.parts[idx % P].parents[Math.floor(idx / P)];
  }

  action(idx: number): number {
    const P = this.parts.length;
    return this.parts[idx % P].actions[Math.floor(idx / P)];
  }
}
