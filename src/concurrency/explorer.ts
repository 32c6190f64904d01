/**
 * Exhaustive breadth-first exploration of a TransitionSystem.
 *
 * Breadth-first order makes the first state found that violates a property
 * one at the smallest depth, so the counterexample rebuilt from it is a
 * shortest schedule. The search records, for every property, the first state
 * that violates it, and goes on until every checked property has a
 * counterexample or no state is left (a complete search), or a limit stops it
 * (then the result says so and nothing is reported as holding).
 *
 * Successors are inserted in batches (StateStore.insertBatch) in the order
 * they are generated, so state indices, parents and counterexamples are those
 * of a one-at-a-time search. Performance notes: docs/performance.md.
 */
import type { StoredPaths } from './paths.js';
import { createVisitedSet } from './create-visited-set.js';
import { FirstViolations, limitReached, stopRequested, type SearchLimit } from './search-stop.js';
import type { StoreKind, VisitedSet } from './visited-set.js';
import type { TransitionSystem } from './system.js';

export type { SearchLimit } from './search-stop.js';

export interface ExploreOptions {
  /**
   * Store one representative per symmetry orbit: true needs the model's
   * `canonicalize`; 'auto' uses it when the model has one. Default false.
   */
  symmetry?: boolean | 'auto';
  /** Stop with `limit: 'max-states'` once more than this many distinct states are found. */
  maxStates?: number;
  /** Stop with `limit: 'max-memory'` before the store's arrays would grow past this many MiB. */
  maxMemoryMB?: number;
  /** The visited set: 'wasm' (default, faster, at most 4 GiB) or 'js' (see visited-set.ts). */
  store?: StoreKind;
  /** Caps the 'wasm' visited set below 4 GiB (then the search stops with limit 'store-full'). */
  storeCapacityBytes?: number;
  /** Stop at the first violation of any property instead of looking for every one. */
  stopAtFirstViolation?: boolean;
  /**
   * A cell (an Int32Array, usually over a SharedArrayBuffer) that another
   * thread or a signal handler sets to end the search as a limit does:
   * STOP_INTERRUPTED or STOP_TIME_LIMIT (search-stop.ts). Read once a batch.
   */
  stop?: Int32Array;
  /** Wall-clock deadline (Date.now() milliseconds): past it the search stops with limit 'time-limit'. */
  deadline?: number;
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

export interface ExploreResult<S extends StoredPaths = StoredPaths> {
  /** True iff every reachable state was expanded: only then may an unviolated property be said to hold. */
  complete: boolean;
  /** True iff the search stopped because the violations it was asked to find were found. */
  stoppedOnViolation: boolean;
  /**
   * Which limit cut the search short, if any: --max-states, --max-memory,
   * 'store-full' (the visited set's own capacity, 4 GiB for the WebAssembly
   * one), 'time-limit' (the deadline) or 'interrupted' (the stop cell).
   */
  limit: SearchLimit | null;
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
  /** Threads that searched (1 here; see parallel/explore-parallel.ts, pipeline/explore-pipeline.ts). */
  workers: number;
  /** True for a pipelined search (one thread expands, the other stores; pipeline/). */
  pipelined?: boolean;
  /** The stored states with their parents: what counterexamples are rebuilt from. */
  store: S;
}

/** Successors gathered before they are inserted together (see the batch loop in `explore`). */
const BATCH = 1024;

export function explore(sys: TransitionSystem, opts: ExploreOptions = {}): ExploreResult<VisitedSet> {
  const t0 = performance.now();
  const w = sys.width;
  if (opts.symmetry === true && !sys.canonicalize) throw new Error('this model has no symmetry reduction');
  const symmetry = opts.symmetry === 'auto' ? !!sys.canonicalize : !!opts.symmetry;
  const canon = symmetry ? (st: Int32Array): void => sys.canonicalize!(st) : null;
  const store = createVisitedSet(w, opts.store, opts.storeCapacityBytes);
  const violations = new FirstViolations(sys, !!opts.stopAtFirstViolation);

  const cur = new Int32Array(w);
  const next = new Int32Array(w);
  sys.initial(cur);
  if (canon) canon(cur);
  store.insert(cur, 0, -1, -1);
  violations.note(0, cur);

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
  let done = violations.enough;

  // Successors are gathered in batches (of the successors of consecutive
  // states of one breadth-first level), then inserted in the order they were
  // generated: the same indices, parents and counterexamples as inserting each
  // at once, but the store can overlap the batch's memory accesses.
  let cap = BATCH * 2;
  let succ = new Int32Array(cap * w);
  let succParent = new Int32Array(cap);
  let succAction = new Int32Array(cap);
  let succHash = new Int32Array(cap);
  let succIndex = new Int32Array(cap);
  let n = 0;
  const grow = (): void => {
    cap *= 2;
    const copy = (a: Int32Array, len: number): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(len);
      b.set(a);
      return b;
    };
    succ = copy(succ, cap * w);
    succParent = copy(succParent, cap);
    succAction = copy(succAction, cap);
    succHash = new Int32Array(cap);
    succIndex = new Int32Array(cap);
  };
  const sink = (action: number): void => {
    if (n === cap) grow();
    if (canon) canon(next);
    const at = n * w;
    for (let k = 0; k < w; k++) succ[at + k] = next[k];
    succParent[n] = current;
    succAction[n] = action;
    n++;
  };
  const view = new Int32Array(w);

  let i = 0;
  while (!done && i < store.size) {
    if (i === levelEnd) {
      depth++;
      levelEnd = store.size;
    }
    n = 0;
    do {
      current = i;
      store.read(i, cur);
      sys.expand(cur, next, sink);
      i++;
    } while (i < levelEnd && n < BATCH);
    transitions += n;
    store.insertBatch(succ, n, succParent, succAction, succHash, succIndex);
    for (let j = 0; j < n; j++) {
      const idx = succIndex[j];
      if (idx < 0) continue;
      const at = j * w;
      for (let k = 0; k < w; k++) view[k] = succ[at + k];
      violations.note(idx, view);
    }
    if (violations.enough) {
      done = true;
      break;
    }
    const bytes = store.bytes;
    if (bytes > peakBytes) peakBytes = bytes;
    // The next batch adds at most `cap` states.
    limit = limitReached(store, cap, maxStates, maxBytes) ?? stopRequested(opts);
    if (limit) break;
    if (opts.onProgress) {
      const now = performance.now();
      if (now - lastProgress >= progressEvery) {
        lastProgress = now;
        opts.onProgress({
          states: store.size,
          transitions,
          queue: store.size - i,
          depth,
          seconds: (now - t0) / 1000,
          memoryMB: bytes / (1024 * 1024),
        });
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
    firstViolation: violations.first,
    symmetry,
    workers: 1,
    store,
  };
}
