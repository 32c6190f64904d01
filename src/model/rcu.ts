/**
 * RCU for models on the typed layer: grace periods over the CPU records,
 * and programs freed by `bpf_prog_put` after one (the `rcu` actor's step).
 *
 * A pending grace period is a 1-bit CPU field (`sync`, `holds[k]`): set on
 * every CPU that is a reader when the grace period starts, cleared when that
 * CPU leaves its read-side section (`left`), over when no CPU has it. So a
 * writer waits on CPUs only through "every CPU that was a reader has left",
 * the universal wait that the every-N cutoff relies on (docs/proofs.md).
 */
import type { CpuField, CpuFieldArray, FieldArray, Layout } from './layout.js';

export class GracePeriod {
  private readonly readerQ: Uint8Array;
  /** The bits of a record that survive leaving the read side (all but the state and the marks). */
  private readonly keepOnLeave: number;
  constructor(
    private readonly layout: Layout,
    /** The executor state field of a CPU record. */
    private readonly state: CpuField,
    /** Per executor state: inside a read-side critical section. */
    isReader: readonly boolean[],
    /**
     * The grace-period marks of a record, cleared when its CPU leaves the read side. By default
     * every field but the state (a record that holds only the state and marks); give them when
     * the record holds more (a byte-level CPU's fetch state and pending IPI).
     */
    marks?: readonly (CpuField | CpuFieldArray)[],
  ) {
    this.readerQ = Uint8Array.from(isReader, (r) => (r ? 1 : 0));
    let markBits = ~state.inRecord;
    if (marks) {
      markBits = 0;
      for (const m of marks) for (const f of 'fields' in m ? m.fields : [m]) markBits |= f.inRecord;
    }
    this.keepOnLeave = ~(markBits | state.inRecord);
  }

  isReader(q: number): boolean {
    return this.readerQ[q] === 1;
  }

  /** The grace period `mark` starts in `next`: every CPU that is a reader now gets the mark. */
  start(next: Int32Array, mark: CpuField): void {
    const n = this.layout.cpuCount;
    for (let i = 0; i < n; i++) if (this.readerQ[this.state.get(next, i)]) mark.set(next, i, 1);
  }

  /** Whether some CPU still holds up the grace period `mark`. */
  pending(s: Int32Array, mark: CpuField): boolean {
    return mark.any(s);
  }

  /**
   * CPU i's record after it moves from executor state q to nq: leaving the
   * read side ends its part in every pending grace period (its marks are
   * cleared; see the constructor).
   */
  moved(record: number, q: number, nq: number): number {
    return this.readerQ[q] && !this.readerQ[nq] ? (record & this.keepOnLeave) | (nq << this.state.shift) : (record & ~this.state.inRecord) | (nq << this.state.shift);
  }

  /** Moves CPU i of `next` to executor state nq (see moved). */
  move(next: Int32Array, i: number, nq: number): void {
    const cpus = this.layout.cpus!;
    const f = cpus.get(next, i);
    cpus.set(next, i, this.moved(f, this.state.of(f), nq));
  }

  /** The CPUs that are readers in `s`. */
  readers(s: Int32Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.layout.cpuCount; i++) if (this.readerQ[this.state.get(s, i)]) out.push(i);
    return out;
  }

  /** ` (waits for cpu0, cpu2)` or ` (no CPU is a reader)`. */
  waitsText(s: Int32Array): string {
    const r = this.readers(s);
    return r.length ? ` (waits for ${r.map((i) => `cpu${i}`).join(', ')})` : ' (no CPU is a reader)';
  }
}

export const LIVE = 0;
export const DYING = 1;
export const FREED = 2;
export const LIFE_NAMES = ['live', 'dying', 'freed'] as const;

/**
 * Programs f1..fK freed after a grace period: `put` (the last reference
 * dropped: the program is dying and its grace period starts), then the
 * `rcu` actor's step `free` once no CPU that was a reader at the put is left.
 * `life` holds live/dying/freed per program (2 bits), `holds[k-1]` the CPUs'
 * marks.
 */
export class DelayedFrees {
  constructor(
    private readonly gp: GracePeriod,
    private readonly life: FieldArray,
    private readonly holds: CpuFieldArray,
  ) {}

  lifeOf(s: Int32Array, k: number): number {
    return this.life.get(s, k - 1);
  }

  /** `bpf_prog_put(f_k)` drops the last reference: f_k is dying until every reader now has left. */
  put(next: Int32Array, k: number): void {
    this.life.set(next, k - 1, DYING);
    this.gp.start(next, this.holds.fields[k - 1]);
  }

  /** The rcu actor's step for f_k: enabled when f_k is dying and its grace period is over. */
  free(s: Int32Array, next: Int32Array, k: number): boolean {
    if (this.life.get(s, k - 1) !== DYING || this.gp.pending(s, this.holds.fields[k - 1])) return false;
    this.life.set(next, k - 1, FREED);
    return true;
  }

  /** The rcu step over programs f1..fK (`i` = k - 1), for ModelParts.steps. */
  step(): { actor: 'rcu'; count: number; when(s: Int32Array, i: number): boolean; next(s: Int32Array, next: Int32Array, i: number): boolean } {
    return { actor: 'rcu', count: this.life.length, when: (s, i) => this.life.get(s, i) === DYING, next: (s, next, i) => this.free(s, next, i + 1) };
  }
}

