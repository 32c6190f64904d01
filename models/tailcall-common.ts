/**
 * The world the tail-call models share (the caller's JIT image at the
 * oracle's address, its programs, kallsyms) and the pieces they share: reading a model's configuration, the
 * per-state facts of the compiled executor and updater machines, and one
 * poke of the updater run through the real `__bpf_arch_text_poke` /
 * `bpf_arch_text_poke` on a scratch copy of a site's bytes (so that models
 * can memoise it per (step, content)).
 */
import type { CompiledMachine } from '../src/concurrency/compile.js';
import { ModelConfigError, type ModelConfig } from '../src/concurrency/model.js';
import { PROTOCOLS, doPokeStep, type PokeProtocol } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { DEFAULT_SCRIPT, ScriptError, parseScript, scriptPrograms, type ScriptOp, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import type { BpfJitPokeDescriptor } from '../src/jit/x86/tailcall.js';
import { X86_PATCH_SIZE } from '../src/jit/x86/x86.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { jit_tail_caller, type JitImage } from '../src/jit/x86/caller.js';
import type { PropertySpec } from '../src/concurrency/system.js';

/** caller_d0's image address and target1..3's bpf_func in the oracle (linux 6.1.0-56-amd64). */
export const CALLER_ADDRESS = 0xffffffffc000075cn;
export const TARGET_ADDRESSES = [0xffffffffc0000654n, 0xffffffffc000069cn, 0xffffffffc00006e0n];

/** The properties of both levels of tailcall-poke (the byte level adds P5). */
export const PROPERTIES: readonly Omit<PropertySpec, 'checked'>[] = [
  { id: 'P1', description: 'no CPU executes the target nop with an unwound frame (state A as seen by a running CPU)' },
  { id: 'P2', description: 'no CPU jumps into, or runs inside, a freed program' },
  { id: 'P3', description: 'the text is never in state A (bypass nop and target nop at once)' },
  { id: 'P4', description: 'every poke finds the bytes it expects (no -EBUSY, which is BUG_ON)' },
];

export interface TailcallPokeWorld {
  caller: JitImage;
  progs: BpfProg[];
  kallsyms: BpfKallsyms;
  text: TextMemory;
}

/** The JIT image and programs the tail-call models run over (also used by the sequential tests). */
export function tailcallPokeWorld(progCount: number): TailcallPokeWorld {
  const caller = jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 1 }, CALLER_ADDRESS);
  const progs: BpfProg[] = [];
  for (let k = 0; k < progCount; k++) {
    const bpf_func = k < TARGET_ADDRESSES.length ? TARGET_ADDRESSES[k] : TARGET_ADDRESSES[2] + BigInt(0x48 * (k - 2));
    progs.push({ name: `f${k + 1}`, bpf_func, len: 0x40 });
  }
  const text = new TextMemory();
  text.map('caller', caller.address, caller.bytes);
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('caller', caller.address, caller.bytes.length);
  return { caller, progs, kallsyms, text };
}

export const SITES: readonly string[] = ['tailcall_bypass', 'tailcall_target'];

/** The protocols tailcall-poke checks, at either level (v6.7 has v5.10's order; tailcall-load-race checks it). */
export const TAILCALL_POKE_PROTOCOLS: readonly string[] = ['rfc', 'v5.10', 'no-sync', 'bypass-first'];

export interface TailcallConfig {
  protocol: PokeProtocol;
  script: ScriptOp[];
  /** programs f1..fK the script uses */
  progs: number;
}

/** Checks `--protocol` (one of `protocols`), `--cpus` (1..maxCpus) and `--script` (key 0, at most maxProgs programs). */
export function tailcallConfig(model: string, cfg: ModelConfig, protocols: readonly string[], maxCpus: number, maxProgs: number): TailcallConfig {
  const protocol = PROTOCOLS[cfg.protocol];
  if (!protocol || !protocols.includes(cfg.protocol)) throw new ModelConfigError(`${model}: unknown protocol '${cfg.protocol}' (protocols: ${protocols.join(', ')})`);
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > maxCpus) throw new ModelConfigError(`${model}: --cpus must be 1..${maxCpus}, got ${cfg.cpus}`);
  let script: ScriptOp[];
  try {
    script = parseScript(cfg.options.script ?? DEFAULT_SCRIPT);
  } catch (e) {
    throw new ModelConfigError(`${model}: ${(e as ScriptError).message}`);
  }
  if (script.some((o) => o.key !== 0)) throw new ModelConfigError(`${model}: the caller has one site, on key 0`);
  const progs = scriptPrograms(script);
  if (progs > maxProgs) throw new ModelConfigError(`${model}: at most ${maxProgs} programs (f1..f${maxProgs})`);
  return { protocol, script, progs };
}

/** What each state of the compiled tail-call executor (src/concurrency/cpu.ts) does. */
export function executorTables(cpu: CompiledMachine) {
  return {
    /** index into SITES of the site a state fetches, or -1 */
    fetchSite: cpu.meta.map((m) => SITES.indexOf(String(m.fetch))),
    /** the event of a state's own step (enter, unwind, return), or -1 */
    internal: cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1)),
    reader: cpu.tags.map((t) => t.has('reader')),
    p1: cpu.tags.map((t) => t.has('P1')),
    /** the program a state runs inside (1..K), or 0 */
    inProg: cpu.tags.map((t, i) => (t.has('in_prog') ? Number(cpu.contexts[i].prog) : 0)),
  };
}

/** What each state of a compiled updater machine (src/arraymap/updater.ts) is, and its events. */
export function updaterTables(up: CompiledMachine) {
  const meta = up.meta.map((m) => m.step as UpdaterStepMeta);
  return {
    meta,
    bug: up.tags.map((t) => t.has('P4')),
    evSTEP: up.eventIndex('STEP'),
    evGP: up.eventIndex('GP_DONE'),
    evXchg: (old: number): number => up.eventIndex(`XCHG_OLD(old=${old})`),
    evRet: (ret: number): number => up.eventIndex(`RET(ret=${ret})`),
    /** index into SITES of the site a poke state pokes, or -1 */
    site: meta.map((m) => (m.op === 'poke' ? SITES.indexOf(m.step.site) : -1)),
  };
}

/**
 * The poke of updater step `m` run on a scratch copy of the 5 bytes at
 * `site`: the kernel's return value and the bytes it leaves.
 */
export function scratchPoke(
  m: Extract<UpdaterStepMeta, { op: 'poke' }>,
  poke: BpfJitPokeDescriptor,
  site: bigint,
  bytes: Uint8Array,
  progs: readonly BpfProg[],
  kallsyms: BpfKallsyms,
): { ret: number; after: Uint8Array } {
  const text = new TextMemory();
  text.map('site', site, bytes);
  const prog = (k: number): BpfProg | null => (k ? progs[k - 1] : null);
  const ret = doPokeStep({ text, kallsyms }, m.step, poke, prog(m.old_prog), prog(m.new_prog));
  return { ret, after: text.read(site, X86_PATCH_SIZE) };
}
