/**
 * The protocols pokecheck ships, as C files in the package's `protocols/`
 * folder: the one source of the step lists in src/arraymap/poke_desc_update.ts
 * and src/arraymap/cached_target.ts. The folder is found relative to this
 * module, so it works from the TypeScript sources (src/protocol/), from the
 * build (dist/src/protocol/) and from an installed package.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProtocol, type ProtocolFile } from './protocol-file.js';

export const SHIPPED_PROTOCOLS: readonly string[] = ['v5.5', 'v5.10', 'v6.7', 'rfc', 'no-sync', 'bypass-first', 'rfc-2026', 'unlocked'];

function findDir(): string {
  for (const rel of ['../../protocols/', '../../../protocols/']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(new URL('v6.7.c', url))) return fileURLToPath(url);
  }
  throw new Error(`pokecheck's protocols/ folder is missing next to ${fileURLToPath(import.meta.url)}`);
}

let dir: string | undefined;
/** Absolute path of the shipped `protocols/` folder. */
export function protocolsDir(): string {
  return (dir ??= findDir());
}

/** Absolute path of shipped protocol `name` (e.g. `v6.7` -> .../protocols/v6.7.c). */
export function shippedProtocolPath(name: string): string {
  return `${protocolsDir()}${name}.c`;
}

const cache = new Map<string, ProtocolFile>();
/** The parsed shipped file `name`; its steps name it `protocols/NAME.c`. */
export function shippedProtocol(name: string): ProtocolFile {
  let p = cache.get(name);
  if (!p) {
    p = loadProtocol(shippedProtocolPath(name), `protocols/${name}.c`);
    cache.set(name, p);
  }
  return p;
}
