/**
 * RCU grace periods over per-CPU fields (kernel-poke-facts.md section 4, R5):
 * `synchronize_rcu()` (or a `call_rcu` free) started at some moment waits
 * for every CPU that was inside a read-side critical section at that
 * moment. Each pending grace period is one bit in the field of every CPU
 * that it waits for: set on the CPUs that are readers when it starts,
 * cleared when that CPU leaves its read-side section. The grace period is
 * over when no CPU has the bit. Keeping the bit in the CPU's own field keeps
 * symmetry reduction a sort of the fields.
 */
import type { CpuFields } from './cpu-fields.js';

export class GracePeriods {
  constructor(
    private readonly fields: CpuFields,
    /** Bits of a field that hold the executor's state. */
    private readonly stateMask: number,
    /** Per executor state: inside a read-side critical section. */
    private readonly isReader: readonly boolean[],
  ) {}

  /** A grace period starts: every CPU that is a reader now gets `bit`. */
  start(s: Int32Array, bit: number): void {
    for (let i = 0; i < this.fields.cpus; i++) {
      const f = this.fields.get(s, i);
      if (this.isReader[f & this.stateMask]) this.fields.set(s, i, f | bit);
    }
  }

  /** Whether some CPU still holds up the grace period `bit`. */
  pending(s: Int32Array, bit: number): boolean {
    for (let i = 0; i < this.fields.cpus; i++) if (this.fields.get(s, i) & bit) return true;
    return false;
  }

  /** The CPUs that are readers now (for printing whom a grace period waits for). */
  readers(s: Int32Array): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.fields.cpus; i++) if (this.isReader[this.fields.get(s, i) & this.stateMask]) out.push(i);
    return out;
  }

  /** The field of a CPU that moves from executor state q to nq: leaving the read side ends its part in every grace period. */
  moved(f: number, q: number, nq: number): number {
    return this.isReader[q] && !this.isReader[nq] ? nq : (f & ~this.stateMask) | nq;
  }

  /**
   * An updater's `synchronize_rcu()` as two steps: `sync_start` marks the
   * readers in `next` and is followed by STEP; `sync_wait` is enabled (event
   * GP_DONE) once no CPU holds `bit` in `s`, else it returns null.
   */
  synchronizeRcu(op: 'sync_start' | 'sync_wait', s: Int32Array, next: Int32Array, bit: number): 'STEP' | 'GP_DONE' | null {
    if (op === 'sync_start') {
      this.start(next, bit);
      return 'STEP';
    }
    return this.pending(s, bit) ? null : 'GP_DONE';
  }

  /** ` (waits for cpu0, cpu2)` or ` (no CPU is a reader)`. */
  waitsText(s: Int32Array): string {
    const r = this.readers(s);
    return r.length ? ` (waits for ${r.map((i) => `cpu${i}`).join(', ')})` : ' (no CPU is a reader)';
  }
}
