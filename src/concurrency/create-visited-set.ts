/** Picks the visited set a search uses (see visited-set.ts for the interface both implement). */
import { StateStore } from './state-store.js';
import type { StoreKind, VisitedSet } from './visited-set.js';
import { WasmStateStore } from './wasm/wasm-state-store.js';

/** `capacityBytes` caps the WebAssembly store below its 4 GiB (the TypeScript one has no cap). */
export function createVisitedSet(width: number, kind: StoreKind = 'wasm', capacityBytes?: number): VisitedSet {
  return kind === 'js' ? new StateStore(width) : new WasmStateStore(width, undefined, capacityBytes);
}
