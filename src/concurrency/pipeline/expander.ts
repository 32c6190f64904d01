/**
 * The expanding thread of a pipelined search: it reads stored states where
 * the storing thread keeps them (its shared WebAssembly memory), expands
 * them in index order, and hands their successors over in batches through
 * the ring. Half of the batches it sifts first (wasm/sieve.ts: it drops the
 * successors it generated recently, which the store would find anyway, and
 * hashes the rest); the others go as generated, and the store's own
 * recent-lookups cache does that work. It never decides anything: it stops
 * when told to.
 */
import { FANOUT_MAX } from '../parallel/shared.js';
import type { TransitionSystem } from '../system.js';
import { SuccessorSieve } from '../wasm/sieve.js';
import { BATCH, C_CONSUMED, C_PRODUCED, C_SIZE, C_STOP, post, type Ring, SLOT_CAP, SLOTS, slotViews, writeHead } from './ring.js';

export interface ExpanderJob {
  ring: Ring;
  memory: WebAssembly.Memory;
  /** Byte offset of state 0 in `memory`. */
  offset: number;
  symmetry: boolean;
}

/**
 * Of every 4 batches, this thread sifts this many; the storing thread's
 * recent-lookups cache takes the others. Sifting all here made this thread
 * the bottleneck (it waited for nothing while the storing thread waited for
 * it); at v5.10 N=6, 1 or 2 of 4 was best, 5.1-5.4 s against 5.1-5.8 s.
 */
const SIFTED_HERE = 2;

export function runExpander(sys: TransitionSystem, job: ExpanderJob): void {
  const { ring, memory, offset } = job;
  const ctl = ring.ctl;
  const w = sys.width;
  const canon = job.symmetry ? (s: Int32Array): void => sys.canonicalize!(s) : null;
  const base = offset / 4;
  let mem = new Int32Array(memory.buffer);
  const cur = new Int32Array(w);
  const next = new Int32Array(w);
  const views = Array.from({ length: SLOTS }, (_, s) => slotViews(ring, s));

  let seq = 0; // batches published
  let i = 0; // next state to expand
  let n = 0; // successors in the open batch
  let i0 = 0; // its first state
  let slot = views[0];
  let current = 0;
  let fromState = 0;
  // The open batch, before sifting.
  const sieve = new SuccessorSieve(w);
  const pend = new Int32Array(SLOT_CAP * w);
  const pendParent = new Int32Array(SLOT_CAP);
  const pendAction = new Int32Array(SLOT_CAP);
  const pendHash = new Int32Array(SLOT_CAP);
  const kept = new Int32Array(SLOT_CAP);
  // Where the sink writes: `pend` when this batch is sifted here, else the slot itself.
  let dstWords: Int32Array = pend;
  let dstParents: Int32Array = pendParent;
  let dstActions: Int32Array = pendAction;
  let sifting = true;
  const sink = (action: number): void => {
    if (++fromState > FANOUT_MAX) throw new Error(`a state has more than ${FANOUT_MAX} successors: too many for a pipelined search`);
    if (canon) canon(next);
    const at = n * w;
    for (let k = 0; k < w; k++) dstWords[at + k] = next[k];
    dstParents[n] = current;
    dstActions[n] = action;
    n++;
  };
  const publish = (): void => {
    let m = n;
    if (sifting) {
      m = sieve.sift(pend, n, pendHash, kept);
      const { words, hashes, parents, actions } = slot;
      for (let q = 0; q < m; q++) {
        const j = kept[q];
        const at = q * w;
        const from = j * w;
        for (let k = 0; k < w; k++) words[at + k] = pend[from + k];
        hashes[q] = pendHash[j];
        parents[q] = pendParent[j];
        actions[q] = pendAction[j];
      }
    }
    writeHead(slot.head, m, i0, i, n, sifting);
    seq++;
    post(ring, C_PRODUCED, seq);
    n = 0;
  };
  /** Waits until a slot is free for batch `seq`; false if told to stop. */
  const acquire = (): boolean => {
    for (;;) {
      if (Atomics.load(ctl, C_STOP)) return false;
      const consumed = Atomics.load(ctl, C_CONSUMED);
      if (seq - consumed < SLOTS) break;
      Atomics.wait(ctl, C_CONSUMED, consumed, 100);
    }
    slot = views[seq % SLOTS];
    i0 = i;
    // This thread sifts SIFTED_HERE of every 4 batches; the storing thread's
    // recent-lookups cache takes the others (it has time to spare).
    sifting = seq % 4 < SIFTED_HERE;
    dstWords = sifting ? pend : slot.words;
    dstParents = sifting ? pendParent : slot.parents;
    dstActions = sifting ? pendAction : slot.actions;
    return true;
  };

  if (!acquire()) return;
  for (;;) {
    const size = Atomics.load(ctl, C_SIZE);
    if (Atomics.load(ctl, C_STOP)) return;
    if (i >= size) {
      // Nothing to expand until the storing thread has stored this batch.
      if (n > 0 || i > i0) {
        publish();
        if (!acquire()) return;
      }
      Atomics.wait(ctl, C_SIZE, size, 100);
      continue;
    }
    if ((base + (i + 1) * w) > mem.length) mem = new Int32Array(memory.buffer); // the memory grew
    const at = base + i * w;
    for (let k = 0; k < w; k++) cur[k] = mem[at + k];
    current = i;
    fromState = 0;
    sys.expand(cur, next, sink);
    i++;
    if (n >= BATCH) {
      publish();
      if (!acquire()) return;
    }
  }
}
