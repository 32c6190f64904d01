/**
 * The memory the partitions of a parallel search share, and the barrier they
 * meet at. Everything is in SharedArrayBuffers, so the same object can be
 * handed to worker threads (as workerData) and used from every thread.
 *
 * - `ctl` (Int32): the barrier, the abort flag, and per partition the figures
 *   it publishes each round (see the F_* offsets).
 * - `big` (Float64): per partition, figures that may pass 2^31.
 * - `outbox[from * P + to]` (Int32): the successors partition `from` found in
 *   this round for partition `to` (the owner of their hash): `cap` states'
 *   words, then their hashes, parents (global indices) and actions.
 */

/** Successors a partition generates per round (then the partitions exchange them). */
export const ROUND = 1 << 15;
/** More successors than this from one state is an error (it bounds the outboxes). */
export const FANOUT_MAX = 1 << 12;
/** Properties a model may have (the violation masks are 32-bit). */
export const MAX_PROPS = 32;

const C_COUNT = 0;
const C_GEN = 1;
const C_ABORT = 2;
/** How many workers have posted their arrays back. */
const C_POSTED = 3;
/** Partition 0's reading of the stop cell / deadline (a stop code of search-stop.ts), for all to decide alike. */
const C_STOP = 4;
const HEADER = 8;

/** Per-partition fields of `ctl`, after the outbox counts (P of them). */
export const F_SIZE = 0;
export const F_NEXT = 1;
export const F_LEVEL_END = 2;
export const F_FOUND = 3;
/** Then, per property: the round and the global index of the partition's first violation. */
export const F_VIOLATION = 4;

/** Per-partition fields of `big`. */
export const B_TRANSITIONS = 0;
export const B_BYTES = 1;
/** Bytes once the store has grown to take the next round's states. */
export const B_PROJECTED = 2;
/** 1 if that growth would pass the store's own capacity (VisitedSet.capacityBytes). */
export const B_FULL = 3;
const B_FIELDS = 4;

export interface SharedSearch {
  readonly partitions: number;
  readonly width: number;
  readonly cap: number;
  readonly ctl: Int32Array;
  readonly big: Float64Array;
  readonly outbox: readonly Int32Array[];
}

export class SearchAborted extends Error {}

function perPartition(P: number): number {
  return P + F_VIOLATION + 2 * MAX_PROPS;
}

export function createShared(partitions: number, width: number): SharedSearch {
  const P = partitions;
  const cap = ROUND + FANOUT_MAX;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (HEADER + P * perPartition(P))));
  const big = new Float64Array(new SharedArrayBuffer(8 * P * B_FIELDS));
  const outbox: Int32Array[] = [];
  for (let i = 0; i < P * P; i++) outbox.push(new Int32Array(new SharedArrayBuffer(4 * cap * (width + 3))));
  return { partitions: P, width, cap, ctl, big, outbox };
}

/** Index in `ctl` of partition `k`'s field `f` (F_*). */
export function field(sh: SharedSearch, k: number, f: number): number {
  return HEADER + k * perPartition(sh.partitions) + sh.partitions + f;
}

/** Index in `ctl` of how many successors partition `from` left in its outbox for `to`. */
export function outCount(sh: SharedSearch, from: number, to: number): number {
  return HEADER + from * perPartition(sh.partitions) + to;
}

export function bigField(k: number, f: number): number {
  return k * B_FIELDS + f;
}

/** An outbox's four regions, as views. */
export function outboxViews(sh: SharedSearch, from: number, to: number): { words: Int32Array; hashes: Int32Array; parents: Int32Array; actions: Int32Array } {
  const a = sh.outbox[from * sh.partitions + to];
  const c = sh.cap;
  const w = sh.width;
  return {
    words: a.subarray(0, c * w),
    hashes: a.subarray(c * w, c * (w + 1)),
    parents: a.subarray(c * (w + 1), c * (w + 2)),
    actions: a.subarray(c * (w + 2), c * (w + 3)),
  };
}

/**
 * Waits until every partition has arrived. Throws SearchAborted if some
 * partition gave up (its error is reported by whoever started the search).
 */
export function barrier(sh: SharedSearch): void {
  const ctl = sh.ctl;
  const gen = Atomics.load(ctl, C_GEN);
  if (Atomics.load(ctl, C_ABORT)) throw new SearchAborted('search aborted');
  if (Atomics.add(ctl, C_COUNT, 1) === sh.partitions - 1) {
    Atomics.store(ctl, C_COUNT, 0);
    Atomics.add(ctl, C_GEN, 1);
    Atomics.notify(ctl, C_GEN);
    return;
  }
  // A short spin first: the other side is usually a moment away.
  let spin = 0;
  while (Atomics.load(ctl, C_GEN) === gen && spin < 2000) spin++;
  while (Atomics.load(ctl, C_GEN) === gen) Atomics.wait(ctl, C_GEN, gen);
  if (Atomics.load(ctl, C_ABORT)) throw new SearchAborted('search aborted');
}

/** Tells every partition to give up (wakes any that wait at the barrier). */
export function abort(sh: SharedSearch): void {
  Atomics.store(sh.ctl, C_ABORT, 1);
  Atomics.add(sh.ctl, C_GEN, 1);
  Atomics.notify(sh.ctl, C_GEN);
}

/** Partition 0 publishes a stop request before the round's last barrier (once set, it stays). */
export function publishStop(sh: SharedSearch, code: number): void {
  if (code !== 0 && sh.ctl[C_STOP] === 0) sh.ctl[C_STOP] = code;
}

/** The stop request as of the last barrier: every partition reads the same. */
export function stopPublished(sh: SharedSearch): number {
  return sh.ctl[C_STOP];
}

export function aborted(sh: SharedSearch): boolean {
  return Atomics.load(sh.ctl, C_ABORT) !== 0;
}

/** A worker says its arrays are posted; the starter waits until all are. */
export function notePosted(sh: SharedSearch): void {
  Atomics.add(sh.ctl, C_POSTED, 1);
  Atomics.notify(sh.ctl, C_POSTED);
}

export function waitPosted(sh: SharedSearch, count: number): void {
  for (;;) {
    const v = Atomics.load(sh.ctl, C_POSTED);
    if (v >= count || aborted(sh)) return;
    Atomics.wait(sh.ctl, C_POSTED, v, 1000);
  }
}
