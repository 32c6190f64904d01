/**
 * Exhaustive breadth-first exploration of a TransitionSystem.
 *
 * Breadth-first order makes the first state found that violates a property
 * one at the smallest depth, so the counterexample rebuilt from it is a
 * shortest schedule. The search records, for every property, the first state
 * that violates it, and goes on until every checked property has a
 * counterexample or no state is left (a complete search), or a limit stops it
 * (then the result says so and nothing is reported as holding).
 */
import { StateStore } from './state-store.js';
import type { TransitionSystem } from './system.js';

export interface ExploreOptions {
  /** Store one representative per symmetry orbit (needs `canonicalize`). */
  symmetry?: boolean;
  /** Stop with `limit: 'max-states'` once this many distinct states are stored. */
  maxStates?: number;
  /** Stop with `limit: 'max-memory'` once the store's arrays exceed this many MiB. */
  maxMemoryMB?: number;
  /** Stop at the first violation of any property instead of looking for every one. */
  stopAtFirstViolation?: boolean;
  /** Called about every `progressEveryMs` with the search's figures. */
  onProgress?: (p: ExploreProgress) => void;
  progressEveryMs?: number;
}

export interface ExploreProgress {
  states: number;
  transitions: number;
  queue: number;
  depth: number;
  seconds: number;
  memoryMB: number;
}

export interface ExploreResult {
  /** True iff every reachable state was expanded: only then may an unviolated property be said to hold. */
  complete: boolean;
  /** True iff the search stopped because the violations it was asked to find were found. */
  stoppedOnViolation: boolean;
  /** Which limit cut the search short, if any. */
  limit: 'max-states' | 'max-memory' | null;
  states: number;
  transitions: number;
  /** Largest breadth-first depth reached. */
  depth: number;
  seconds: number;
  /** Peak bytes held by the visited set. */
  storeBytes: number;
  /** Per property (same order as system.properties): index of the first violating state, or -1. */
  firstViolation: number[];
  symmetry: boolean;
  store: StateStore;
}

export function explore(sys: TransitionSystem, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  const w = sys.width;
  const symmetry = !!opts.symmetry;
  if (symmetry && !sys.canonicalize) throw new Error('this model has no symmetry reduction');
  const canon = symmetry ? sys.canonicalize!.bind(sys) : null;
  const store = new StateStore(w);
  const nprops = sys.properties.length;
  const firstViolation = new Array<number>(nprops).fill(-1);
  let checkedMask = 0;
  sys.properties.forEach((p, i) => {
    if (p.checked) checkedMask |= 1 << i;
  });
  let foundMask = 0;

  const cur = new Int32Array(w);
  const next = new Int32Array(w);
  sys.initial(cur);
  if (canon) canon(cur);
  store.insert(cur, 0, -1, -1);
  const noteViolations = (idx: number, st: Int32Array): void => {
    const v = sys.violations(st) & ~foundMask;
    if (v === 0) return;
    for (let i = 0; i < nprops; i++) {
      if (v & (1 << i)) firstViolation[i] = idx;
    }
    foundMask |= v;
  };
  noteViolations(0, cur);

  const maxStates = opts.maxStates ?? Infinity;
  const maxBytes = opts.maxMemoryMB !== undefined ? opts.maxMemoryMB * 1024 * 1024 : Infinity;
  const progressEvery = opts.progressEveryMs ?? 500;
  let lastProgress = t0;
  let transitions = 0;
  let depth = 0;
  let levelEnd = 1;
  let limit: ExploreResult['limit'] = null;
  let peakBytes = store.bytes;
  let current = 0;
  let done = (foundMask & checkedMask) === checkedMask && checkedMask !== 0;
  if (opts.stopAtFirstViolation && (foundMask & checkedMask) !== 0) done = true;

  const sink = (action: number): void => {
    transitions++;
    if (canon) canon(next);
    const idx = store.insert(next, 0, current, action);
    if (idx >= 0) noteViolations(idx, next);
  };

  let i = 0;
  for (; !done && i < store.size; i++) {
    if (i === levelEnd) {
      depth++;
      levelEnd = store.size;
    }
    current = i;
    store.read(i, cur);
    sys.expand(cur, next, sink);
    if (foundMask & checkedMask) {
      if (opts.stopAtFirstViolation || (foundMask & checkedMask) === checkedMask) {
        done = true;
        break;
      }
    }
    if ((i & 1023) === 0) {
      const bytes = store.bytes;
      if (bytes > peakBytes) peakBytes = bytes;
      if (store.size >= maxStates) {
        limit = 'max-states';
        break;
      }
      if (bytes > maxBytes) {
        limit = 'max-memory';
        break;
      }
      if (opts.onProgress) {
        const now = performance.now();
        if (now - lastProgress >= progressEvery) {
          lastProgress = now;
          opts.onProgress({
            states: store.size,
            transitions,
            queue: store.size - i - 1,
            depth,
            seconds: (now - t0) / 1000,
            memoryMB: bytes / (1024 * 1024),
          });
        }
      }
    }
  }
  if (store.bytes > peakBytes) peakBytes = store.bytes;
  return {
    complete: limit === null && !done && i >= store.size,
    stoppedOnViolation: done,
    limit,
    states: store.size,
    transitions,
    depth,
    seconds: (performance.now() - t0) / 1000,
    storeBytes: peakBytes,
    firstViolation,
    symmetry,
    store,
  };
}
