/**
 * What the two threads of a pipelined search share (explore-pipeline.ts):
 * a ring of batches of successors, written by the expanding thread and read
 * by the storing one, and a few control words. All in SharedArrayBuffers.
 *
 * A batch holds the successors of consecutive states i0..i1-1, in the order
 * they were generated, with their parents and actions (and hashes, if
 * sifted): what the one-thread explorer inserts, less any recent repeats the
 * expanding thread sifted out (wasm/sieve.ts), which the store would have
 * found anyway; so the numbering of states is the same.
 */
import { FANOUT_MAX } from '../parallel/shared.js';

/** Batches in flight at most. */
export const SLOTS = 8;
/** The expanding thread closes a batch once it holds this many successors (at the end of a state). */
export const BATCH = 1024;
/** Successors a batch can hold: a full batch, and one more state's. */
export const SLOT_CAP = BATCH + FANOUT_MAX;

/** Control words. */
export const C_PRODUCED = 0; // batches published
export const C_CONSUMED = 1; // batches stored and released
export const C_SIZE = 2; // states stored: the expanding thread may expand those below
export const C_STOP = 3; // 1: the storing thread needs no more batches
export const C_ABORT = 4; // 1: the expanding thread failed (it posted why)
const C_WORDS = 8;

/** Header of a slot: successors kept, first and end state expanded, successors generated, sifted (1) or not. */
const H_N = 0;
const H_I0 = 1;
const H_I1 = 2;
const H_GEN = 3;
const H_SIFTED = 4;
const HEADER = 8;

export interface Ring {
  readonly width: number;
  readonly ctl: Int32Array;
  readonly slots: readonly Int32Array[];
}

export function createRing(width: number): Ring {
  const ctl = new Int32Array(new SharedArrayBuffer(4 * C_WORDS));
  const slots = Array.from({ length: SLOTS }, () => new Int32Array(new SharedArrayBuffer(4 * (HEADER + SLOT_CAP * (width + 3)))));
  return { width, ctl, slots };
}

/** A slot's regions, as views. */
export function slotViews(ring: Ring, s: number): { head: Int32Array; words: Int32Array; hashes: Int32Array; parents: Int32Array; actions: Int32Array } {
  const a = ring.slots[s];
  const w = ring.width;
  const region = (from: number, words: number): Int32Array => a.subarray(HEADER + SLOT_CAP * from, HEADER + SLOT_CAP * (from + words));
  return { head: a.subarray(0, HEADER), words: region(0, w), hashes: region(w, 1), parents: region(w + 1, 1), actions: region(w + 2, 1) };
}

export function readHead(head: Int32Array): { n: number; i0: number; i1: number; generated: number; sifted: boolean } {
  return { n: head[H_N], i0: head[H_I0], i1: head[H_I1], generated: head[H_GEN], sifted: head[H_SIFTED] === 1 };
}

export function writeHead(head: Int32Array, n: number, i0: number, i1: number, generated: number, sifted: boolean): void {
  head[H_N] = n;
  head[H_I0] = i0;
  head[H_I1] = i1;
  head[H_GEN] = generated;
  head[H_SIFTED] = sifted ? 1 : 0;
}

/** Sets a control word and wakes whoever waits on it. */
export function post(ring: Ring, c: number, v: number): void {
  Atomics.store(ring.ctl, c, v);
  Atomics.notify(ring.ctl, c);
}

/** Tells the storing thread that the expanding one failed (wakes it wherever it waits). */
export function abortRing(ring: Ring): void {
  post(ring, C_ABORT, 1);
  Atomics.add(ring.ctl, C_PRODUCED, 0);
  Atomics.notify(ring.ctl, C_PRODUCED);
}
