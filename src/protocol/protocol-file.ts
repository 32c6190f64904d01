/**
 * A protocol file (docs/protocol-files.md): kernel C read by c-parser.ts and
 * compiled by compile.ts into the step lists the updater machines run:
 *
 * - `bpf_arch_poke_desc_update(poke, new, old)` -> a PokeProtocol
 *   (src/arraymap/poke_desc_update.ts), for tailcall-poke (both levels) and
 *   tailcall-load-race;
 * - `bpf_fd_array_map_update_elem(map, key, new)` (with the
 *   `prog_array_map_poke_run` and `bpf_arch_poke_desc_update` it calls) ->
 *   a CachedProtocol (src/arraymap/cached_target.ts), for
 *   tailcall-cached-target.
 */
import { readFileSync } from 'node:fs';
import type { CachedChainStep, CachedProtocol } from '../arraymap/cached_target.js';
import type { DescUpdateStep, PokeProtocol, StepSource } from '../arraymap/poke_desc_update.js';
import { parseC, type CFile, type CFunction } from './c-parser.js';
import { finish, PATHS, pathKey, PathRunner, type ProtocolEvent, type Steps } from './compile.js';
import { ProtocolError } from './error.js';

export { ProtocolError };

const DESC = 'bpf_arch_poke_desc_update';
const DESC_SHAPE = 'void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke, struct bpf_prog *new, struct bpf_prog *old)';
const UPDATE = 'bpf_fd_array_map_update_elem';
const UPDATE_SHAPE = 'long bpf_fd_array_map_update_elem(struct bpf_map *map, u32 key, struct bpf_prog *new)';

function checkParams(c: CFile, fn: CFunction, shape: string, types: readonly string[]): void {
  const ok = fn.params.length === types.length && fn.params.every((p, i) => p.type === types[i]);
  if (!ok) throw ProtocolError.at(c.file, fn.pos, `${fn.name} must have the parameters of ${shape}`);
}

export class ProtocolFile {
  private readonly byName: Map<string, { fn: CFunction; file: CFile }>;

  constructor(readonly parsed: CFile) {
    this.byName = new Map(parsed.functions.map((fn) => [fn.name, { fn, file: parsed }]));
  }

  get file(): string {
    return this.parsed.file;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private need(name: string, shape: string, model: string): CFunction {
    const f = this.byName.get(name)?.fn;
    if (!f) throw new ProtocolError(this.file, 1, 1, `no function ${name}: ${model} needs ${shape}`);
    return f;
  }

  /**
   * The per-descriptor update as today's step lists (PokeProtocol). `name`
   * and `summary` default to the file's path.
   */
  pokeProtocol(name = this.file, summary = `protocol file ${this.file}`): PokeProtocol {
    const fn = this.need(DESC, DESC_SHAPE, 'tailcall-poke and tailcall-load-race');
    checkParams(this.parsed, fn, DESC_SHAPE, ['struct bpf_jit_poke_descriptor *', 'struct bpf_prog *', 'struct bpf_prog *']);
    const steps = {} as Steps;
    for (const facts of PATHS) {
      const r = new PathRunner(this.byName, facts, this.parsed, true);
      r.run(DESC, [{ t: 'poke' }, facts.has_new ? { t: 'prog', which: 'new' } : { t: 'null' }, facts.has_old ? { t: 'prog', which: 'old' } : { t: 'null' }] as never);
      steps[pathKey(facts.has_old, facts.has_new)] = r.events.map((ev) => descStep(this.file, ev, DESC));
    }
    const checks_old_bytes = !Object.values(steps).some((l) => l.some((s) => s.kind === 'poke' && s.old_addr === 'current'));
    return { name, summary, checks_old_bytes, steps: (has_old, has_new) => steps[pathKey(has_old, has_new)] };
  }

  /**
   * The whole map update of tailcall-cached-target. Functions this file does
   * not define are taken from `base` (a shipped file), so a file may hold
   * only the function it changes.
   */
  cachedProtocol(base: ProtocolFile | undefined, name = this.file, summary = `protocol file ${this.file}`): CachedProtocol {
    const changes = [UPDATE, 'prog_array_map_poke_run', 'bpf_tail_call_target_update', DESC];
    if (base && !changes.some((n) => this.byName.has(n)))
      throw new ProtocolError(this.file, 1, 1, `no function ${UPDATE} or ${DESC}: tailcall-cached-target needs ${UPDATE_SHAPE}, or one of ${changes.join(', ')} to replace in protocols/rfc-2026.c`);
    const fns = new Map(base ? base.byName : []);
    for (const [k, v] of this.byName) fns.set(k, v);
    const entry = fns.get(UPDATE);
    if (!entry) throw new ProtocolError(this.file, 1, 1, `no function ${UPDATE}: tailcall-cached-target needs ${UPDATE_SHAPE} (or ${DESC_SHAPE} on top of a shipped file)`);
    checkParams(entry.file, entry.fn, UPDATE_SHAPE, ['struct bpf_map *', 'u32', 'struct bpf_prog *']);
    const chains = {} as Record<keyof Steps, ReturnType<typeof cachedChain>>;
    for (const facts of PATHS) {
      const r = new PathRunner(fns, facts, entry.file);
      r.run(UPDATE, [{ t: 'map' }, { t: 'index', key: 1, max: 0 }, facts.has_new ? { t: 'prog', which: 'new' } : { t: 'null' }] as never);
      chains[pathKey(facts.has_old, facts.has_new)] = cachedChain(entry.file.file, r.events, facts.has_old, r.holdsMutex);
    }
    return {
      name,
      summary,
      lockSource: (has_new) => chains[pathKey(false, has_new)].lock,
      xchgSource: (has_new) => chains[pathKey(false, has_new)].xchg,
      chain: (has_old, has_new) => chains[pathKey(has_old, has_new)].after,
    };
  }
}

function descStep(file: string, ev: ProtocolEvent, where: string): DescUpdateStep {
  if (ev.kind === 'poke' || ev.kind === 'sync') return finish(ev.step);
  throw new ProtocolError(ev.source.file || file, ev.source.line, ev.source.column, `${ev.source.text} inside ${where}: the model's updater does the map's xchg, lock and put itself; ${where} holds pokes and synchronize_rcu() only`);
}

/** Checks the events of one path of the map update against the cached-target updater's shape. */
function cachedChain(file: string, events: ProtocolEvent[], has_old: boolean, stillLocked: boolean): { lock: StepSource; xchg: StepSource; after: CachedChainStep[] } {
  const at = (ev: ProtocolEvent | undefined, msg: string): never => {
    const pos = ev ? ev.pos : { line: 1, column: 1 };
    const f = ev && 'source' in ev ? ev.source.file : ev ? ev.step.source?.file ?? file : file;
    throw new ProtocolError(f, pos.line, pos.column, msg);
  };
  const [lock, xchg, ...rest] = events;
  if (lock?.kind !== 'lock') at(lock, 'the map update starts with mutex_lock(&array->aux->poke_mutex) in pokecheck\'s cached-target updater');
  if (xchg?.kind !== 'xchg') at(xchg, 'the map update does old = xchg(&array->ptrs[key], new) right after taking poke_mutex');
  if (stillLocked) at(lock, 'poke_mutex is still held when the map update returns');
  const after: CachedChainStep[] = [];
  let unlocked = false;
  let cached = false;
  let put = false;
  let pokes = 0;
  for (const ev of rest) {
    switch (ev.kind) {
      case 'cache':
        if (cached) at(ev, 'a second write of the cached target in one update');
        if (!unlocked && (pokes > 0 || after.length > 0)) at(ev, "pokecheck's cached-target updater writes the cache either first in prog_array_map_poke_run (before the pokes) or right after mutex_unlock");
        if (unlocked && after[after.length - 1]?.op !== 'unlock') at(ev, "pokecheck's cached-target updater writes the cache either first in prog_array_map_poke_run (before the pokes) or right after mutex_unlock");
        cached = true;
        after.push({ op: 'cache', source: ev.source, outside_mutex: unlocked });
        break;
      case 'poke':
      case 'sync':
        if (unlocked) at(ev, 'a poke or synchronize_rcu() after mutex_unlock: the pokes run under poke_mutex');
        pokes++;
        after.push({ op: 'desc', step: finish(ev.step) });
        break;
      case 'unlock':
        unlocked = true;
        after.push({ op: 'unlock', source: ev.source });
        break;
      case 'put':
        if (!unlocked) at(ev, "pokecheck's cached-target updater puts the old program after mutex_unlock");
        put = true;
        after.push({ op: 'put', source: ev.source });
        break;
      default:
        at(ev, `a second ${ev.kind} in one map update`);
    }
  }
  if (!cached) at(events[events.length - 1], 'the map update never writes the cached target (xchg(&array->ptrs[array->map.max_entries + key], ...))');
  if (has_old && !put) at(events[events.length - 1], 'the old program is never put (bpf_prog_put(old)) on this path: a leak pokecheck does not model');
  if (put && after[after.length - 1].op !== 'put') at(events[events.length - 1], "pokecheck's cached-target updater puts the old program last");
  const src = (ev: unknown): StepSource => (ev as { source: StepSource }).source;
  return { lock: src(lock), xchg: src(xchg), after };
}

/** Refuses binary data: NUL bytes or bytes that are not UTF-8. */
function decode(bytes: Uint8Array, file: string): string {
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(nul >= 0 ? bytes.subarray(0, nul) : bytes);
  } catch {
    throw new ProtocolError(file, 1, 1, 'not a text file: the bytes are not UTF-8');
  }
  if (nul >= 0) {
    const lines = text.split('\n');
    throw new ProtocolError(file, lines.length, lines[lines.length - 1].length + 1, `not a text file: a NUL byte at offset ${nul}`);
  }
  return text;
}

/** Parses protocol file text; `file` names it in errors and in counterexample steps. */
export function parseProtocol(text: string, file: string): ProtocolFile {
  if (text.includes('\0')) return parseProtocolBytes(new TextEncoder().encode(text), file);
  return new ProtocolFile(parseC(text, file));
}

function parseProtocolBytes(bytes: Uint8Array, file: string): ProtocolFile {
  return new ProtocolFile(parseC(decode(bytes, file), file));
}

/** Reads and parses a protocol file. A file that cannot be read is a ProtocolError too. */
export function loadProtocol(path: string, shownAs = path): ProtocolFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProtocolError(shownAs, 1, 1, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : `cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseProtocolBytes(bytes, shownAs);
}
