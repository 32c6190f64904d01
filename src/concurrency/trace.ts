/**
 * Counterexamples: rebuilt from parent links, then replayed from the initial
 * state through the model's own `expand`, so that what is printed is a
 * concrete schedule the model really allows, not what the store remembers.
 *
 * Under symmetry reduction the store holds orbit representatives, so the
 * replay looks, at each step, for a successor of the concrete state whose
 * representative is the stored one: the schedule printed is concrete (CPU
 * numbers as they really are), though it may permute CPUs relative to the
 * stored path.
 */
import type { StoredPaths } from './paths.js';
import type { TransitionSystem } from './system.js';

export interface ReplayedStep {
  action: number;
  before: Int32Array;
  after: Int32Array;
}

export interface ReplayedTrace {
  initial: Int32Array;
  steps: ReplayedStep[];
}

/** Indices from the root to `idx`, inclusive. */
export function pathTo(store: StoredPaths, idx: number): number[] {
  const path: number[] = [];
  for (let i = idx; i >= 0; i = store.parent(i)) path.push(i);
  return path.reverse();
}

export class ReplayError extends Error {}

function equal(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Replays the stored path to `idx` from the model's initial state. Throws
 * ReplayError if some step cannot be reproduced (a bug in the model: its
 * `expand` is not deterministic, or canonicalize is not a symmetry).
 */
export function replay(sys: TransitionSystem, store: StoredPaths, idx: number, symmetry: boolean): ReplayedTrace {
  const w = sys.width;
  const path = pathTo(store, idx);
  const initial = new Int32Array(w);
  sys.initial(initial);
  const canon = (s: Int32Array): Int32Array => {
    const c = s.slice();
    if (symmetry) sys.canonicalize!(c);
    return c;
  };
  const want = new Int32Array(w);
  store.read(path[0], want);
  if (!equal(canon(initial), want)) throw new ReplayError('replay: the initial state differs from the stored root');
  let cur: Int32Array = initial;
  const steps: ReplayedStep[] = [];
  const next = new Int32Array(w);
  for (let k = 1; k < path.length; k++) {
    store.read(path[k], want);
    const recorded = store.action(path[k]);
    let exact: ReplayedStep | null = null;
    let other: ReplayedStep | null = null;
    sys.expand(cur, next, (action) => {
      if (exact) return;
      if (!equal(canon(next), want)) return;
      const step = { action, before: cur, after: next.slice() };
      if (action === recorded) exact = step;
      else if (!other) other = step;
    });
    const step = (exact as ReplayedStep | null) ?? (other as ReplayedStep | null);
    if (!step) throw new ReplayError(`replay: step ${k} of the stored path cannot be reproduced`);
    steps.push(step);
    cur = step.after;
  }
  return { initial, steps };
}
