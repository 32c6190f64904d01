/**
 * Schedules for sampling: a schedule is a list of choices, one per step, each
 * read against the moves the model has *enabled* at that point (its `expand`),
 * so that every choice is a step the model really allows and a shorter or
 * smaller list is still a schedule. This is what fast-check draws and shrinks
 * (src/check/sample.ts); this module only plays them.
 *
 * Two ways to read a choice `c` when `n` moves are enabled:
 *  - uniform: move `c mod n`, in the model's own order;
 *  - biased (sticky): the low bit says whether to stay with the actor that
 *    made the previous step. Odd `c` with that actor still enabled: its move
 *    `(c >> 1) mod m` of its `m` moves; otherwise move `(c >> 1) mod n` of all.
 *    Drawn odd most of the time, a schedule keeps one actor running for a
 *    while: the updater runs on while a CPU stays inside its read section, a
 *    CPU runs through a window while the text is half written. Races that
 *    need few switches of actor at the right points (the usual case) are
 *    found sooner than by switching at every step.
 *
 * Only the model contract is used (TransitionSystem, CheckableModel): the
 * actor of an action number is asked of `describe` the first time that action
 * is taken and remembered (it steers the bias only; what is printed is always
 * replayed and described afresh).
 */
import type { CheckableModel } from '../concurrency/model.js';
import type { ReplayedStep, ReplayedTrace } from '../concurrency/trace.js';

export type SchedulerKind = 'uniform' | 'biased';
export const SCHEDULERS: readonly SchedulerKind[] = ['uniform', 'biased'];
/** Measured better than uniform on the violated reference configurations (docs/performance.md, "Sampling"). */
export const DEFAULT_SCHEDULER: SchedulerKind = 'biased';

/** One choice per step (non-negative integers below 2^31). */
export type Schedule = readonly number[];

/** What playing a schedule came to. */
export interface Played {
  /** Steps taken (fewer than the schedule's length when a violation or a state with no move came first). */
  steps: number;
  /** Violation bits of the last state reached (0: none). */
  violations: number;
  /** True when the run stopped because no move was enabled. */
  stuck: boolean;
}

export class SchedulePlayer {
  private readonly w: number;
  private cur: Int32Array;
  private prev: Int32Array;
  private readonly next: Int32Array;
  /** Successors of the current state, back to back, and their actions. */
  private succ: Int32Array;
  private acts: Int32Array;
  private count = 0;
  private readonly sink: (action: number) => void;
  /** Actor number per action number (-1: not yet known). */
  private readonly actorOfAction: number[] = [];
  private readonly actorIds = new Map<string, number>();
  /** Called with every state reached (including the initial one), e.g. to count distinct states. */
  observe: ((state: Int32Array) => void) | null = null;

  constructor(
    readonly model: CheckableModel,
    readonly scheduler: SchedulerKind,
  ) {
    const w = (this.w = model.system.width);
    this.cur = new Int32Array(w);
    this.prev = new Int32Array(w);
    this.next = new Int32Array(w);
    this.succ = new Int32Array(w * 16);
    this.acts = new Int32Array(16);
    this.sink = (action) => {
      if (this.count === this.acts.length) {
        const s = new Int32Array(this.succ.length * 2);
        s.set(this.succ);
        this.succ = s;
        const a = new Int32Array(this.acts.length * 2);
        a.set(this.acts);
        this.acts = a;
      }
      this.succ.set(this.next, this.count * this.w);
      this.acts[this.count++] = action;
    };
  }

  private actorOf(action: number, before: Int32Array, after: Int32Array): number {
    let a = this.actorOfAction[action];
    if (a === undefined) {
      const name = this.model.describe(before, after, action).actor;
      a = this.actorIds.get(name) ?? this.actorIds.size;
      this.actorIds.set(name, a);
      this.actorOfAction[action] = a;
    }
    return a;
  }

  /** The index among the enabled successors that choice `c` picks, given the previous step's actor. */
  private pick(c: number, prevActor: number): number {
    const n = this.count;
    if (this.scheduler === 'uniform' || !(c & 1) || prevActor < 0) return (c >>> (this.scheduler === 'uniform' ? 0 : 1)) % n;
    let m = 0;
    for (let j = 0; j < n; j++) if (this.actorOfAction[this.acts[j]] === prevActor) m++;
    if (m === 0) return (c >>> 1) % n;
    let k = (c >>> 1) % m;
    for (let j = 0; j < n; j++) {
      if (this.actorOfAction[this.acts[j]] === prevActor && k-- === 0) return j;
    }
    throw new Error('unreachable');
  }

  /**
   * Plays `schedule` from the initial state, checking every property in
   * every state, and stops at the first violating state. With `trace`, the
   * steps taken are recorded (states copied) for printing.
   */
  play(schedule: Schedule, trace?: ReplayedStep[]): Played {
    const sys = this.model.system;
    const w = this.w;
    sys.initial(this.cur);
    this.observe?.(this.cur);
    let v = sys.violations(this.cur);
    if (v) return { steps: 0, violations: v, stuck: false };
    let prevActor = -1;
    for (let k = 0; k < schedule.length; k++) {
      this.count = 0;
      sys.expand(this.cur, this.next, this.sink);
      if (this.count === 0) return { steps: k, violations: 0, stuck: true };
      const j = this.pick(schedule[k], prevActor);
      const t = this.prev;
      this.prev = this.cur;
      this.cur = t;
      this.cur.set(this.succ.subarray(j * w, (j + 1) * w));
      const action = this.acts[j];
      prevActor = this.actorOf(action, this.prev, this.cur);
      trace?.push({ action, before: this.prev.slice(), after: this.cur.slice() });
      this.observe?.(this.cur);
      v = sys.violations(this.cur);
      if (v) return { steps: k + 1, violations: v, stuck: false };
    }
    return { steps: schedule.length, violations: 0, stuck: false };
  }

  /** The actions `schedule` takes, up to its first violating state. */
  actions(schedule: Schedule): number[] {
    const steps: ReplayedStep[] = [];
    const observe = this.observe;
    this.observe = null;
    this.play(schedule, steps);
    this.observe = observe;
    return steps.map((s) => s.action);
  }

  /**
   * The schedule that takes exactly `actions` (each the first enabled move
   * with that action number), or null if one of them is not enabled when its
   * turn comes. The choices it gives are read the same way by either scheduler.
   */
  scheduleOf(actions: readonly number[]): number[] | null {
    const sys = this.model.system;
    const w = this.w;
    const out: number[] = [];
    sys.initial(this.cur);
    for (const a of actions) {
      this.count = 0;
      sys.expand(this.cur, this.next, this.sink);
      let j = 0;
      while (j < this.count && this.acts[j] !== a) j++;
      if (j === this.count) return null;
      this.cur.set(this.succ.subarray(j * w, (j + 1) * w));
      out.push(this.scheduler === 'uniform' ? j : 2 * j);
    }
    return out;
  }

  /** The concrete trace of `schedule`, up to its first violating state. */
  trace(schedule: Schedule): ReplayedTrace & { violations: number } {
    const steps: ReplayedStep[] = [];
    const observe = this.observe;
    this.observe = null;
    const p = this.play(schedule, steps);
    this.observe = observe;
    const initial = new Int32Array(this.w);
    this.model.system.initial(initial);
    return { initial, steps, violations: p.violations };
  }
}

function key(s: Int32Array): string {
  return s.join(',');
}

/**
 * Cuts the cycles out of a trace: where a state comes back, the steps between
 * its two visits are dropped (the rest is still a path of the model, step by
 * step, since a state's successors do not depend on how it was reached).
 * Deterministic, so a replayed schedule prints the same counterexample.
 */
export function withoutCycles(t: ReplayedTrace): ReplayedTrace {
  const seen = new Map<string, number>([[key(t.initial), 0]]);
  const out: ReplayedStep[] = [];
  for (const s of t.steps) {
    const k = key(s.after);
    const at = seen.get(k);
    if (at !== undefined) {
      for (const dropped of out.splice(at)) seen.delete(key(dropped.after));
      seen.set(k, at);
      continue;
    }
    out.push(s);
    seen.set(k, out.length);
  }
  return { initial: t.initial, steps: out };
}
