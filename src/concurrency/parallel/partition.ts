/**
 * One partition of a parallel breadth-first search: the loop every thread
 * runs (the main thread as partition 0, each worker as one more).
 *
 * A state belongs to the partition `hash % P` and is stored only there, in
 * that partition's own StateStore; a partition expands only its own states.
 * The search goes level by level, and each level in rounds:
 *
 *   expand: each partition expands its next states of the level (until it has
 *           generated ROUND successors), routing each successor to its
 *           owner's outbox, then inserts those it owns itself;  -- barrier --
 *   insert: each partition inserts what the others found for it, from
 *           partition 0's outbox, then 1's, ... (its own skipped); new states
 *           join the next level; it publishes its figures;      -- barrier --
 *   decide: every partition reads the same figures and takes the same
 *           decision: go on, start the next level, or stop.
 *
 * Nothing depends on thread timing: the order of insertion is fixed, so state
 * numbering, parents and counterexamples are the same on every run with the
 * same number of partitions. Levels are kept, so the first violation found
 * is at the smallest depth (a shortest counterexample). State, transition and
 * depth counts equal those of the one-thread search.
 */
import { hashWords } from '../state-store.js';
import type { TransitionSystem } from '../system.js';
import { createVisitedSet } from '../create-visited-set.js';
import { STOP_TIME_LIMIT, stopCode, stopRequested, type SearchLimit } from '../search-stop.js';
import type { StoreKind, VisitedSet } from '../visited-set.js';
import {
  barrier,
  bigField,
  B_BYTES,
  B_FULL,
  B_PROJECTED,
  B_TRANSITIONS,
  field,
  F_FOUND,
  F_LEVEL_END,
  F_NEXT,
  F_SIZE,
  F_VIOLATION,
  FANOUT_MAX,
  outboxViews,
  outCount,
  publishStop,
  stopPublished,
  ROUND,
  type SharedSearch,
} from './shared.js';

export interface PartitionOptions {
  symmetry: boolean;
  maxStates: number;
  maxBytes: number;
  stopAtFirstViolation: boolean;
  store: StoreKind;
  storeCapacityBytes?: number;
  /** The stop cell and deadline of ExploreOptions: read by partition 0 only, which publishes what it saw. */
  stop?: Int32Array;
  deadline?: number;
}

/** How the search ended; every partition reaches the same one. */
export interface PartitionOutcome {
  complete: boolean;
  stoppedOnViolation: boolean;
  limit: SearchLimit | null;
  depth: number;
  store: VisitedSet;
}

/** Figures of the whole search after a round, as every partition sees them. */
export interface RoundFigures {
  states: number;
  transitions: number;
  queue: number;
  depth: number;
  bytes: number;
}

/** Successors inserted per VisitedSet.insertBatch call. */
const INSERT_PIECE = 1024;
/** Entries - 1 of the cache of recently sent successors (see `sink`). */
const SENT_MASK = (1 << 12) - 1;

export function runPartition(sys: TransitionSystem, sh: SharedSearch, k: number, opts: PartitionOptions, onRound?: (f: RoundFigures) => void): PartitionOutcome {
  const P = sh.partitions;
  const w = sys.width;
  const ctl = sh.ctl;
  const big = sh.big;
  const store = createVisitedSet(w, opts.store, opts.storeCapacityBytes);
  const canon = opts.symmetry ? (s: Int32Array): void => sys.canonicalize!(s) : null;
  let checkedMask = 0;
  sys.properties.forEach((p, i) => {
    if (p.checked) checkedMask |= 1 << i;
  });
  const nprops = sys.properties.length;
  let foundMask = 0; // this partition's
  let round = 0;
  const noteViolations = (idx: number, st: Int32Array): void => {
    const v = sys.violations(st) & ~foundMask;
    if (v === 0) return;
    for (let i = 0; i < nprops; i++) {
      if (!(v & (1 << i))) continue;
      ctl[field(sh, k, F_VIOLATION + 2 * i)] = round;
      ctl[field(sh, k, F_VIOLATION + 2 * i + 1)] = idx * P + k;
    }
    foundMask |= v;
  };

  const cur = new Int32Array(w);
  const next = new Int32Array(w);
  sys.initial(cur);
  if (canon) canon(cur);
  if ((hashWords(cur, 0, w) >>> 0) % P === k) {
    store.insert(cur, 0, -1, -1);
    noteViolations(0, cur);
  }

  // Outboxes of this partition, by owner.
  const boxes = Array.from({ length: P }, (_, to) => outboxViews(sh, k, to));
  const inboxes = Array.from({ length: P }, (_, from) => outboxViews(sh, from, k));
  const boxN = new Int32Array(P);
  let generated = 0;
  let current = 0;
  let fromState = 0; // successors of the current state so far
  // A direct-mapped cache of successors recently sent (valid flag, then the
  // state): a successor found here went to its owner earlier in this round or
  // an earlier one, so its owner has it (or will, before this copy) and this
  // copy is dropped. Two interleavings of the same moves are siblings in the
  // queue, so about half of all successors end here.
  const sent = new Int32Array((SENT_MASK + 1) * (w + 1));
  const sink = (action: number): void => {
    generated++;
    if (++fromState > FANOUT_MAX) throw new Error(`a state has more than ${FANOUT_MAX} successors: too many for a parallel search`);
    if (canon) canon(next);
    const h = hashWords(next, 0, w);
    const base = (h & SENT_MASK) * (w + 1);
    let q = 0;
    while (q < w && sent[base + 1 + q] === next[q]) q++;
    if (q === w && sent[base] !== 0) return;
    sent[base] = 1;
    for (q = 0; q < w; q++) sent[base + 1 + q] = next[q];
    const to = (h >>> 0) % P;
    const box = boxes[to];
    const n = boxN[to]++;
    const at = n * w;
    for (q = 0; q < w; q++) box.words[at + q] = next[q];
    box.hashes[n] = h;
    box.parents[n] = current * P + k;
    box.actions[n] = action;
  };

  const out = new Int32Array(sh.cap);
  const view = new Int32Array(w);
  /** Inserts the `n` successors partition `from` found for this one. */
  const insertFrom = (from: number, n: number): void => {
    const box = inboxes[from];
    // In pieces: a piece's touched slots must still be in cache when it is
    // looked up. The recent-lookups cache is skipped: `sink` did its work.
    for (let c = 0; c < n; c += INSERT_PIECE) {
      const e = Math.min(n, c + INSERT_PIECE);
      store.insertBatch(box.words.subarray(c * w, e * w), e - c, box.parents.subarray(c, e), box.actions.subarray(c, e), box.hashes.subarray(c, e), out.subarray(c, e), true, false);
    }
    for (let j = 0; j < n; j++) {
      const idx = out[j];
      if (idx < 0) continue;
      store.read(idx, view);
      noteViolations(idx, view);
    }
  };
  let i = 0;
  let levelEnd = store.size;
  let depth = 0;
  let transitions = 0;
  let outcome: Omit<PartitionOutcome, 'store' | 'depth'> | null = null;
  ctl[field(sh, k, F_FOUND)] = foundMask;
  barrier(sh); // every partition is ready
  let initialFound = 0;
  for (let p = 0; p < P; p++) initialFound |= ctl[field(sh, p, F_FOUND)];
  if (initialFound & checkedMask && (opts.stopAtFirstViolation || (initialFound & checkedMask) === checkedMask)) {
    outcome = { complete: false, stoppedOnViolation: true, limit: null };
  }
  barrier(sh); // F_FOUND is rewritten below only after everyone has read it
  while (!outcome) {
    round++;
    // Expand.
    boxN.fill(0);
    generated = 0;
    while (i < levelEnd && generated < ROUND) {
      current = i;
      fromState = 0;
      store.read(i, cur);
      sys.expand(cur, next, sink);
      i++;
    }
    transitions += generated;
    for (let to = 0; to < P; to++) ctl[outCount(sh, k, to)] = boxN[to];
    // Its own successors first, before the barrier: the others are still busy.
    insertFrom(k, boxN[k]);
    barrier(sh);
    // Insert what the others found for this partition, in order of partition.
    for (let from = 0; from < P; from++) if (from !== k) insertFrom(from, ctl[outCount(sh, from, k)]);
    ctl[field(sh, k, F_SIZE)] = store.size;
    ctl[field(sh, k, F_NEXT)] = i;
    ctl[field(sh, k, F_LEVEL_END)] = levelEnd;
    ctl[field(sh, k, F_FOUND)] = foundMask;
    big[bigField(k, B_TRANSITIONS)] = transitions;
    big[bigField(k, B_BYTES)] = store.bytes;
    const mine = store.bytesFor(sh.cap * P);
    big[bigField(k, B_PROJECTED)] = mine;
    big[bigField(k, B_FULL)] = mine > store.capacityBytes ? 1 : 0;
    if (k === 0) publishStop(sh, stopCode(stopRequested(opts)));
    barrier(sh);
    // Decide, from figures every partition reads alike.
    let states = 0;
    let found = 0;
    let levelDone = true;
    let grew = false;
    let projected = 0;
    let full = false;
    let bytes = 0;
    let allTransitions = 0;
    let queue = 0;
    for (let p = 0; p < P; p++) {
      const size = ctl[field(sh, p, F_SIZE)];
      const nx = ctl[field(sh, p, F_NEXT)];
      states += size;
      queue += size - nx;
      found |= ctl[field(sh, p, F_FOUND)];
      if (nx < ctl[field(sh, p, F_LEVEL_END)]) levelDone = false;
      if (size > nx) grew = true;
      projected += big[bigField(p, B_PROJECTED)];
      if (big[bigField(p, B_FULL)]) full = true;
      bytes += big[bigField(p, B_BYTES)];
      allTransitions += big[bigField(p, B_TRANSITIONS)];
    }
    if (found & checkedMask && (opts.stopAtFirstViolation || (found & checkedMask) === checkedMask)) {
      outcome = { complete: false, stoppedOnViolation: true, limit: null };
    } else if (states > opts.maxStates) {
      outcome = { complete: false, stoppedOnViolation: false, limit: 'max-states' };
    } else if (projected > opts.maxBytes) {
      outcome = { complete: false, stoppedOnViolation: false, limit: 'max-memory' };
    } else if (full) {
      outcome = { complete: false, stoppedOnViolation: false, limit: 'store-full' };
    } else if (stopPublished(sh) !== 0) {
      outcome = { complete: false, stoppedOnViolation: false, limit: stopPublished(sh) === STOP_TIME_LIMIT ? 'time-limit' : 'interrupted' };
    } else if (levelDone) {
      if (!grew) outcome = { complete: true, stoppedOnViolation: false, limit: null };
      else {
        levelEnd = store.size;
        depth++;
      }
    }
    onRound?.({ states, transitions: allTransitions, queue, depth, bytes });
  }
  return { ...outcome, depth, store };
}
