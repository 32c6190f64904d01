/**
 * What the explorer needs of its visited set. Two implementations give the
 * same results: StateStore (state-store.ts, plain TypeScript, the reference)
 * and WasmStateStore (wasm/, the same algorithm with its hot loop in
 * WebAssembly, the default because it is faster). `createVisitedSet`
 * (create-visited-set.ts) picks; this module only declares the interface, so
 * the stores can implement it without importing their own factory.
 */
import type { StoredPaths } from './paths.js';

export interface VisitedSet extends StoredPaths {
  readonly width: number;
  /** Distinct states stored. */
  readonly size: number;
  /** Bytes held (what --max-memory limits). */
  readonly bytes: number;
  /** The most bytes this visited set can ever hold (Infinity if only the machine limits it). */
  readonly capacityBytes: number;
  /** What `bytes` will be once the arrays have grown (if they must) to take `extra` more states. */
  bytesFor(extra: number): number;
  /** Inserts a state unless present: its new index, or -1 - (existing index). */
  insert(src: Int32Array, offset: number, parent: number, action: number): number;
  /** `n` inserts in order, results into `out` (see StateStore.insertBatch). */
  insertBatch(src: Int32Array, n: number, parents: Int32Array, actions: Int32Array, hashes: Int32Array, out: Int32Array, hashed?: boolean, recentCache?: boolean): void;
  /** Index of a state, or -1. */
  find(src: Int32Array, offset?: number): number;
  /** The stored states, parents and actions, `size` long (views or copies). */
  paths(): { words: Int32Array; parents: Int32Array; actions: Int32Array };
}

/** Which implementation of the visited set a search uses. */
export type StoreKind = 'wasm' | 'js';
