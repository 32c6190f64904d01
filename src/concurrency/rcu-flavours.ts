/**
 * Two RCU flavours over tasks, and what each waits for under a preemption
 * model (docs/sleepable-tailcall-sources.md has the sources).
 *
 * - Classic RCU (`synchronize_rcu`, `call_rcu`) waits for every task that is
 *   inside `rcu_read_lock()` when the grace period starts (with PREEMPT_RCU
 *   also when preempted there), and for every CPU to pass a quiescent state.
 *   A task running a **sleepable** program holds `rcu_read_lock_trace()`,
 *   not `rcu_read_lock()`; whether its CPU still holds up a classic grace
 *   period depends on the preemption model:
 *   - `full` (PREEMPT_RCU, which PREEMPTION and so every PREEMPT_DYNAMIC
 *     kernel selects; or PREEMPT_RCU=n with PREEMPT_COUNT): the scheduler
 *     tick reports a quiescent state wherever `rcu_preempt_depth()` is 0 and
 *     preemption is enabled, and the task may be preempted at any
 *     instruction: it never holds up `synchronize_rcu()`;
 *   - `none` (PREEMPT_NONE/VOLUNTARY without PREEMPT_COUNT): its CPU passes
 *     no quiescent state until the task sleeps (or returns to user space or
 *     idles), so while it runs it holds up `synchronize_rcu()` and stops
 *     holding it up at its first sleep.
 * - RCU Tasks Trace (`synchronize_rcu_tasks_trace`, `call_rcu_tasks_trace`;
 *   SRCU-fast since c27cea4416a3) waits for every task inside
 *   `rcu_read_lock_trace()` at its start, asleep or not, until it leaves.
 *   Since it is built on SRCU-fast, each of its grace periods contains a
 *   full `synchronize_rcu()` (`rcu_trace_implies_rcu_gp()` is true; the March
 *   2026 documentation patch), so it waits for the classic readers too.
 *
 * A pending grace period is one mark per task, set at its start on the tasks
 * it waits for and cleared once the task no longer holds it up; it is over
 * when no task has the mark. A mark, once cleared, is never set again by the
 * same grace period: a task that passed a quiescent state has done its part.
 */

export type PreemptModel = 'none' | 'full';
export const PREEMPT_MODELS: readonly PreemptModel[] = ['none', 'full'];

export type RcuFlavour = 'rcu' | 'rcu_tasks_trace';

/** What a task in some state is, for RCU: in a read-side section entered by which lock, asleep or running. */
export interface TaskRcuState {
  /** Between entering the BPF program and leaving it. */
  inSection: boolean;
  /** The section was entered with rcu_read_lock_trace() (a sleepable caller). */
  trace: boolean;
  /** Sleeping in a helper: off its CPU. */
  asleep: boolean;
}

/** Whether a task in state `t` holds up a classic grace period (synchronize_rcu, call_rcu). */
export function holdsClassic(t: TaskRcuState, preempt: PreemptModel): boolean {
  if (!t.inSection) return false;
  if (!t.trace) return true; // rcu_read_lock(): waited for even when preempted (PREEMPT_RCU) or simply running (!PREEMPT_RCU)
  return preempt === 'none' && !t.asleep;
}

/** Whether a task in state `t` holds up a grace period of `flavour` (tasks trace implies classic). */
export function holdsUp(t: TaskRcuState, flavour: RcuFlavour, preempt: PreemptModel): boolean {
  if (flavour === 'rcu') return holdsClassic(t, preempt);
  return (t.inSection && t.trace) || holdsClassic(t, preempt);
}

/** The grace-period flavour `__bpf_prog_put_noref` uses to free a program (by the freed program's flag). */
export function freeFlavour(sleepable: boolean): RcuFlavour {
  return sleepable ? 'rcu_tasks_trace' : 'rcu';
}

export function flavourCall(f: RcuFlavour): string {
  return f === 'rcu' ? 'call_rcu' : 'call_rcu_tasks_trace';
}

export function flavourSync(f: RcuFlavour): string {
  return f === 'rcu' ? 'synchronize_rcu' : 'synchronize_rcu_tasks_trace';
}
