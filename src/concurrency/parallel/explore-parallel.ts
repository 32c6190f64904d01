/**
 * A breadth-first search on several threads: this thread runs partition 0,
 * one worker thread runs each of the others (see partition.ts for the
 * protocol). The workers build their own copy of the transition system from
 * `source` (a model cannot be sent to a thread; its name and configuration
 * can), and hand their stored states back at the end for counterexamples.
 *
 * The result has the same states, transitions, depth and verdicts as the
 * one-thread search; counterexamples are as short, though with several
 * shortest ones the one printed may differ.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ExploreOptions, ExploreResult } from '../explorer.js';
import { PartitionedPaths, type PartitionArrays } from '../paths.js';
import type { TransitionSystem } from '../system.js';
import { runPartition, type PartitionOptions } from './partition.js';
import { abort, bigField, B_BYTES, createShared, field, F_FOUND, F_VIOLATION, MAX_PROPS, SearchAborted, waitPosted } from './shared.js';

/** Where a worker finds the system: its entry module, and what that module needs to build it. */
export interface SystemSource {
  worker: URL;
  data: unknown;
}

/** What a worker entry receives as workerData. */
export interface WorkerJob {
  source: unknown;
  shared: ReturnType<typeof createShared>;
  partition: number;
  options: PartitionOptions;
  port: MessagePort;
}

export function exploreParallel(sys: TransitionSystem, workers: number, source: SystemSource, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  if (opts.symmetry === true && !sys.canonicalize) throw new Error('this model has no symmetry reduction');
  if (sys.properties.length > MAX_PROPS) throw new Error(`a parallel search takes at most ${MAX_PROPS} properties`);
  const symmetry = opts.symmetry === 'auto' ? !!sys.canonicalize : !!opts.symmetry;
  const P = workers;
  const sh = createShared(P, sys.width);
  const options: PartitionOptions = {
    symmetry,
    maxStates: opts.maxStates ?? Infinity,
    maxBytes: opts.maxMemoryMB !== undefined ? opts.maxMemoryMB * 1024 * 1024 : Infinity,
    stopAtFirstViolation: !!opts.stopAtFirstViolation,
    store: opts.store ?? 'wasm',
    storeCapacityBytes: opts.storeCapacityBytes,
    stop: opts.stop,
    deadline: opts.deadline,
  };
  const ports: MessagePort[] = [];
  for (let k = 1; k < P; k++) {
    const { port1, port2 } = new MessageChannel();
    const job: WorkerJob = { source: source.data, shared: sh, partition: k, options, port: port2 };
    const w = new Worker(source.worker, { workerData: job, transferList: [port2] });
    w.unref();
    port1.unref();
    ports.push(port1);
  }
  const progressEvery = opts.progressEveryMs ?? 500;
  let lastProgress = t0;
  let peakBytes = 0;
  let transitions = 0;
  let outcome;
  try {
    outcome = runPartition(sys, sh, 0, options, (f) => {
      transitions = f.transitions;
      if (f.bytes > peakBytes) peakBytes = f.bytes;
      if (!opts.onProgress) return;
      const now = performance.now();
      if (now - lastProgress < progressEvery) return;
      lastProgress = now;
      opts.onProgress({ states: f.states, transitions: f.transitions, queue: f.queue, depth: f.depth, seconds: (now - t0) / 1000, memoryMB: f.bytes / (1024 * 1024) });
    });
  } catch (e) {
    abort(sh);
    if (!(e instanceof SearchAborted)) throw e;
    // A worker gave up first: it posted why before it raised the flag.
    for (const port of ports) {
      const m = receiveMessageOnPort(port)?.message as { error?: string } | undefined;
      if (m?.error) throw new Error(m.error);
    }
    throw new Error('a worker of the parallel search stopped without saying why');
  }
  waitPosted(sh, P - 1);
  const parts: PartitionArrays[] = [outcome.store.paths()];
  for (const port of ports) {
    const m = receiveMessageOnPort(port)?.message as PartitionArrays | { error: string } | undefined;
    if (!m || 'error' in m) throw new Error(m?.error ?? 'a worker of the parallel search did not hand back its states');
    parts.push(m);
  }
  // Each property's first violation: the earliest round, then the lowest partition.
  const firstViolation = sys.properties.map((_, i) => {
    let best = -1;
    let bestRound = Infinity;
    for (let k = 0; k < P; k++) {
      if (!(sh.ctl[field(sh, k, F_FOUND)] & (1 << i))) continue;
      const r = sh.ctl[field(sh, k, F_VIOLATION + 2 * i)];
      if (r < bestRound) {
        bestRound = r;
        best = sh.ctl[field(sh, k, F_VIOLATION + 2 * i + 1)];
      }
    }
    return best;
  });
  let bytes = 0;
  for (let k = 0; k < P; k++) bytes += sh.big[bigField(k, B_BYTES)];
  if (bytes > peakBytes) peakBytes = bytes;
  const states = parts.reduce((a, p) => a + p.parents.length, 0);
  return {
    complete: outcome.complete,
    stoppedOnViolation: outcome.stoppedOnViolation,
    limit: outcome.limit,
    states,
    transitions,
    depth: outcome.depth,
    seconds: (performance.now() - t0) / 1000,
    storeBytes: peakBytes,
    firstViolation,
    symmetry,
    workers: P,
    store: new PartitionedPaths(sys.width, parts),
  };
}
