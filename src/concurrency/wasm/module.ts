/** The compiled WebAssembly module of state-store.wat: compiled once per thread, on first use. */
import { STATE_STORE_WASM_BASE64 } from './state-store-bytes.js';

let compiled: WebAssembly.Module | null = null;

export function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(STATE_STORE_WASM_BASE64, 'base64'));
  return compiled;
}
