/**
 * A breadth-first search on two threads, pipelined (`--pipeline`): a worker
 * thread expands states (the model's code) while this thread stores their
 * successors (the visited set, in WebAssembly). On a 2-core machine this
 * splits the work of the one-thread search in two without changing it:
 *
 *   expanding thread (expander.ts)          storing thread (here)
 *   reads state i from the shared store  -> takes batches in order, inserts
 *   expands states i.., batches their        them (WasmStateStore.insertBatch),
 *   successors into a ring of slots          checks new states against the
 *   (ring.ts), sifting half the batches      properties, publishes the new
 *   (wasm/sieve.ts); waits when it reaches   size, decides when to stop
 *   the states stored so far
 *
 * The successors reach the store in exactly the order the one-thread search
 * inserts them, so state numbering, parents, first violations and
 * counterexamples are identical to explore()'s (tested). The queue is the
 * index range, as there; the depth is that of the last state stored.
 *
 * Needs a model whose state words do not depend on discovery order
 * (TransitionSystem.parallel): the worker builds its own copy of the model,
 * and this thread's copy must read the worker's words alike (violations,
 * counterexample replay).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ExploreOptions, ExploreResult } from '../explorer.js';
import type { SystemSource } from '../parallel/explore-parallel.js';
import type { TransitionSystem } from '../system.js';
import { FirstViolations, limitReached, stopRequested, type SearchLimit } from '../search-stop.js';
import type { VisitedSet } from '../visited-set.js';
import { WasmStateStore } from '../wasm/wasm-state-store.js';
import type { ExpanderJob } from './expander.js';
import { C_ABORT, C_CONSUMED, C_PRODUCED, C_SIZE, C_STOP, createRing, post, readHead, SLOT_CAP, SLOTS, slotViews } from './ring.js';

/** What the expanding thread's entry receives as workerData. */
export interface ExpanderWorkerData {
  source: unknown;
  job: ExpanderJob;
  port: MessagePort;
}

export function explorePipeline(sys: TransitionSystem, source: SystemSource, opts: ExploreOptions = {}): ExploreResult<VisitedSet> {
  const t0 = performance.now();
  if (opts.symmetry === true && !sys.canonicalize) throw new Error('this model has no symmetry reduction');
  if (opts.store === 'js') throw new Error('a pipelined search keeps its states in WebAssembly memory (not with --store js)');
  const symmetry = opts.symmetry === 'auto' ? !!sys.canonicalize : !!opts.symmetry;
  const w = sys.width;
  const store = new WasmStateStore(w, undefined, opts.storeCapacityBytes);
  const violations = new FirstViolations(sys, !!opts.stopAtFirstViolation);

  const cur = new Int32Array(w);
  sys.initial(cur);
  if (symmetry) sys.canonicalize!(cur);
  store.insert(cur, 0, -1, -1);
  violations.note(0, cur);

  const ring = createRing(w);
  const maxStates = opts.maxStates ?? Infinity;
  const maxBytes = opts.maxMemoryMB !== undefined ? opts.maxMemoryMB * 1024 * 1024 : Infinity;
  let transitions = 0;
  let limit: SearchLimit | null = null;
  let done = violations.enough;
  let complete = false;
  let peakBytes = store.bytes;
  let expanded = 0; // states expanded, as of the last batch stored

  const { port1, port2 } = new MessageChannel();
  let worker: Worker | null = null;
  const depthOf = (idx: number): number => {
    let d = 0;
    for (let j = idx; j > 0; j = store.parent(j)) d++;
    return d;
  };
  try {
    if (!done) {
      post(ring, C_SIZE, store.size);
      const data: ExpanderWorkerData = { source: source.data, job: { ring, memory: store.sharedWords.memory, offset: store.sharedWords.offset, symmetry }, port: port2 };
      worker = new Worker(source.worker, { workerData: data, transferList: [port2] });
      worker.unref();
      port1.unref();
    }
    const views = Array.from({ length: SLOTS }, (_, s) => slotViews(ring, s));
    const out = new Int32Array(SLOT_CAP);
    const hashes = new Int32Array(SLOT_CAP);
    const view = new Int32Array(w);
    let consumed = 0;
    let lastProgress = t0;
    while (!done) {
      // The next batch, in order.
      while (Atomics.load(ring.ctl, C_PRODUCED) === consumed) {
        if (Atomics.load(ring.ctl, C_ABORT)) {
          const m = receiveMessageOnPort(port1)?.message as { error?: string } | undefined;
          throw new Error(m?.error ?? 'the expanding thread of the search stopped without saying why');
        }
        Atomics.wait(ring.ctl, C_PRODUCED, consumed, 200);
      }
      const slot = views[consumed % SLOTS];
      const { n, i1, generated, sifted } = readHead(slot.head);
      expanded = i1;
      // A sifted batch comes hashed and rid of recent repeats; the others go
      // through the store's own recent-lookups cache.
      store.insertBatch(slot.words, n, slot.parents, slot.actions, sifted ? slot.hashes : hashes, out, sifted, !sifted);
      consumed++;
      post(ring, C_CONSUMED, consumed);
      transitions += generated;
      for (let j = 0; j < n; j++) {
        const idx = out[j];
        if (idx < 0) continue;
        store.read(idx, view);
        violations.note(idx, view);
      }
      const size = store.size;
      post(ring, C_SIZE, size);
      if (violations.enough) {
        done = true;
        break;
      }
      if (expanded === size) {
        complete = true; // every stored state is expanded, and nothing is in flight
        break;
      }
      const bytes = store.bytes;
      if (bytes > peakBytes) peakBytes = bytes;
      // Only the next batch is inserted before this check comes again: at most SLOT_CAP states.
      limit = limitReached(store, SLOT_CAP, maxStates, maxBytes) ?? stopRequested(opts);
      if (limit) break;
      if (opts.onProgress) {
        const now = performance.now();
        if (now - lastProgress >= (opts.progressEveryMs ?? 500)) {
          lastProgress = now;
          opts.onProgress({ states: size, transitions, queue: size - expanded, depth: depthOf(expanded - 1), seconds: (now - t0) / 1000, memoryMB: bytes / (1024 * 1024) });
        }
      }
    }
  } finally {
    post(ring, C_STOP, 1);
    Atomics.notify(ring.ctl, C_CONSUMED);
    Atomics.notify(ring.ctl, C_SIZE);
  }
  if (store.bytes > peakBytes) peakBytes = store.bytes;
  return {
    complete,
    stoppedOnViolation: done,
    limit,
    states: store.size,
    transitions,
    // As the one-thread search counts it: the level of the last state expanded.
    depth: depthOf(Math.max(expanded - 1, 0)),
    seconds: (performance.now() - t0) / 1000,
    storeBytes: peakBytes,
    firstViolation: violations.first,
    symmetry,
    workers: 2,
    pipelined: true,
    store,
  };
}
