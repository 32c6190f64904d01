/**
 * The world the tail-call models share (the caller's JIT image at the
 * oracle's address, its programs, kallsyms) and the pieces they share: reading a model's configuration, the
 * per-state facts of the compiled executor and updater machines, and one
 * poke of the updater run through the real `__bpf_arch_text_poke` /
 * `bpf_arch_text_poke` on a scratch copy of a site's bytes (so that models
 * can memoise it per (step, content)).
 */
import { eventName, type CompiledMachine } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { userOpEvent, userOpKey, userOps, type UserOp } from '../src/arraymap/user-space.js';
import { FREED, LIVE, type CpuField, type DecodedSites, type DelayedFrees, type Field, type FieldArray, type GracePeriod, type Layout } from '../src/model/index.js';
import { ModelConfigError, type ActorMachine, type ModelConfig, type ModelOption } from '../src/concurrency/model.js';
import type { EventObject } from 'xstate';
import { PROTOCOLS, doPokeStep, type PokeProtocol, type StepSource } from '../src/arraymap/poke_desc_update.js';
import { loadProtocol, ProtocolError, shippedProtocolPath, type ProtocolFile } from '../src/protocol/index.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { DEFAULT_SCRIPT, POKE_RETURNS, ScriptError, parseScript, scriptPrograms, updaterEvents, updaterMachine, type ScriptOp, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import type { BpfJitPokeDescriptor } from '../src/jit/x86/tailcall.js';
import type { Insn as DecodedInsn } from '../src/jit/x86/decode.js';
import { X86_PATCH_SIZE, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import type { SiteDecl } from '../src/model/index.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { jit_tail_caller, type JitImage } from '../src/jit/x86/caller.js';
import { DEFAULT_PROFILE } from '../src/jit/x86/profile.js';
import type { PropertySpec } from '../src/concurrency/system.js';

/** caller_d0's image address and target1..3's bpf_func in the oracle (linux 6.1.0-56-amd64). */
export const CALLER_ADDRESS = 0xffffffffc000075cn;
export const TARGET_ADDRESSES = [0xffffffffc0000654n, 0xffffffffc000069cn, 0xffffffffc00006e0n];
/** caller_two's image address in the oracle: a caller with a direct tail call on key 0 and one on key 1 (stack 0, rbx saved, returns 101). */
export const CALLER_TWO_ADDRESS = 0xffffffffc00009d0n;

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

/**
* The kernel profile (src/jit) the caller is emitted with, for the kernel a protocol comes from:
 * `v5.5` (v5.5 to v5.9: one site) on v5.5's bytes; v5.10 to v6.6 (`v5.10` and its broken variants `no-sync`, `bypass-first`) and the 2020 RFC
 * (posted against the same two-site layout) run on v5.10's bytes; `v6.7` on 6.1's (the same
 * v5.10-6.11 layout as v5.17 to v6.11 emit it: MAX_TAIL_CALL_CNT 33, SLS); a protocol file on
 * 6.1's. The two poke sites of 5.10 and 6.1, their addresses and contents, are the same in both
 * (test/jit-v5.10.test.ts): only the counter check and `ret` differ, which no CPU here executes.
 */
export const CALLER_PROFILES: Readonly<Record<string, string>> = { 'v5.5': '5.5', rfc: '5.10', 'v5.10': '5.10', 'no-sync': '5.10', 'bypass-first': '5.10', 'v6.7': '6.1' };

/** The profile of `protocol` (CALLER_PROFILES), or 6.1 for a protocol file. */
export function callerProfile(protocol: string, protocolFile?: string): string {
  if (protocolFile !== undefined && protocolFile !== 'none') return DEFAULT_PROFILE;
  return CALLER_PROFILES[protocol] ?? DEFAULT_PROFILE;
}

/**
 * The JIT image and programs the tail-call models run over (also used by the sequential tests).
 * One key: the oracle's caller_d0; two keys: its caller_two (a direct tail call on key 0, then one
 * on key 1), both JIT-compiled by src/jit at the kernel's address (test/jit-tailcall.test.ts checks
 * them byte for byte against the oracle for the 6.1 profile).
 */
export function tailcallPokeWorld(progCount: number, profile: string = DEFAULT_PROFILE, keys = 1): TailcallPokeWorld {
  if (keys !== 1 && keys !== 2) throw new RangeError(`tailcallPokeWorld: keys must be 1 or 2, got ${keys}`);
  const caller = keys === 1 ? jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 1 }, CALLER_ADDRESS, profile) : jit_tail_caller({ stack_depth: 0, callee_regs: ['rbx'], sites: 2, retval: 101 }, CALLER_TWO_ADDRESS, profile);
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

/** The poke sites of a caller with `keys` direct tail calls: key k's bypass at 2k, its target at 2k + 1 (key 0's keep SITES' names; key k > 0's end in `@k`). */
export function sitesFor(keys: number): string[] {
  return Array.from({ length: 2 * keys }, (_, i) => `${SITES[i & 1]}${i >> 1 ? `@${i >> 1}` : ''}`);
}

/** The protocols tailcall-poke checks, at either level (v6.7 has v5.10's order; tailcall-load-race checks it). */
export const TAILCALL_POKE_PROTOCOLS: readonly string[] = ['rfc', 'v5.10', 'no-sync', 'bypass-first'];

export interface TailcallConfig {
  protocol: PokeProtocol;
  script: ScriptOp[];
  /** programs f1..fK the script uses */
  progs: number;
}

/** The `--protocol-file FILE.c` option of the models whose updater runs a protocol (docs/protocol-files.md). */
export function protocolFileOption(shipped: readonly string[]): ModelOption {
  return {
    name: 'protocol-file',
    default: 'none',
    description: `check the protocol in this C file instead of --protocol (docs/protocol-files.md); to start, copy a shipped one: ${shipped.join(', ')} (file: above)`,
  };
}

/** A shipped protocol's entry in a model's list, with the path of its C file. */
export function shippedEntry(name: string, summary: string): { name: string; summary: string; file: string } {
  return { name, summary, file: shippedProtocolPath(name) };
}

/** Reads `--protocol-file`, turning a ProtocolError into the model's one-line configuration error (FILE:LINE:COL: ...). */
export function readProtocolFile<T>(cfg: ModelConfig, compile: (f: ProtocolFile) => T): T | undefined {
  const path = cfg.options['protocol-file'];
  if (path === undefined) return undefined;
  try {
    return compile(loadProtocol(path));
  } catch (e) {
    if (e instanceof ProtocolError) throw new ModelConfigError(e.message);
    throw e;
  }
}

/** The file position of an updater step that came from a protocol file, for StepView.source. */
export function stepSource(s: StepSource | undefined): { file: string; line: number; column: number } | undefined {
  return s ? { file: s.file, line: s.line, column: s.column } : undefined;
}

/** Checks `--protocol` (one of `protocols`) or `--protocol-file`, `--cpus` (1..maxCpus) and `--script` (key 0, at most maxProgs programs). */
export function tailcallConfig(model: string, cfg: ModelConfig, protocols: readonly string[], maxCpus: number, maxProgs: number): TailcallConfig {
  const protocol = readProtocolFile(cfg, (f) => f.pokeProtocol()) ?? PROTOCOLS[cfg.protocol];
  if (!cfg.options['protocol-file'] && (!protocol || !protocols.includes(cfg.protocol))) throw new ModelConfigError(`${model}: unknown protocol '${cfg.protocol}' (protocols: ${protocols.join(', ')})`);
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
export function executorTables(cpu: CompiledMachine, sites: readonly string[] = SITES) {
  return {
    /** index into `sites` of the site a state fetches, or -1 */
    fetchSite: cpu.meta.map((m) => sites.indexOf(String(m.fetch))),
    /** the event of a state's own step (enter, unwind, return), or -1 */
    internal: cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1)),
    reader: cpu.tags.map((t) => t.has('reader')),
    p1: cpu.tags.map((t) => t.has('P1')),
    /** the program a state runs inside (1..K), or 0 */
    inProg: cpu.tags.map((t, i) => (t.has('in_prog') ? Number(cpu.contexts[i].prog) : 0)),
  };
}

/**
 * The CPUs' step of a tail-call model: CPU i executes its next instruction; at a poke site, what the
 * bytes there decode to (`content[site]`, interned by `sites`). `cpuNextQ` memoises the executor's
 * next state by (q << 8 | content): -1 no step, -2 not yet known (a model's hand-tuned fast path
 * reads it too).
 */
export function executorStep(name: string, cpu: CompiledMachine, exec: ReturnType<typeof executorTables>, sites: DecodedSites, content: readonly Field[], layout: Layout, q: CpuField, rcu: GracePeriod) {
  const cpuNextQ = new Int16Array(16 * 256).fill(-2);
  const cpuNext = (i: number, qq: number, c: number): number => {
    const fetch = exec.fetchSite[qq];
    const ev = fetch < 0 ? exec.internal[qq] : sites.event(fetch, c);
    if (ev < 0) {
      if (fetch < 0) return -1; // no step (e.g. stuck after a violation)
      throw new Error(`${name}: cpu${i} cannot execute ${hexBytes(sites.bytes(fetch, c))} at ${SITES[fetch]}`);
    }
    return moveOrThrow(cpu, qq, ev, `${name}: cpu${i}`);
  };
  const records = layout.cpus!;
  const fetchQ = Int8Array.from(exec.fetchSite);
  const cpuStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const f = records.get(s, i);
    const qq = q.of(f);
    const fetch = fetchQ[qq];
    const c = fetch < 0 ? 0 : content[fetch].get(s);
    let nq = cpuNextQ[(qq << 8) | c];
    if (nq === -2) nq = cpuNextQ[(qq << 8) | c] = cpuNext(i, qq, c);
    if (nq < 0) return false;
    records.set(next, i, rcu.moved(f, qq, nq));
    return true;
  };
  return { cpuNextQ, cpuNext, cpuStep, fetchQ, records };
}

/** What each state of a compiled updater machine (src/arraymap/updater.ts) is, and its events. */
export function updaterTables(up: CompiledMachine) {
  const meta = up.meta.map((m) => m.step as UpdaterStepMeta);
  const evXchg = (old: number): number => up.eventIndex(`XCHG_OLD(old=${old})`);
  const evRet = (ret: number): number => up.eventIndex(`RET(ret=${ret})`);
  /** the events by parameter, looked up once (for the search's hot path) */
  const xchgOld: number[] = [];
  up.events.forEach((e, i) => {
    if (e.type === 'XCHG_OLD') xchgOld[(e as { old?: number }).old ?? 0] = i;
  });
  const retAt = POKE_RETURNS.map(evRet);
  return {
    meta,
    bug: up.tags.map((t) => t.has('P4')),
    evSTEP: up.eventIndex('STEP'),
    evGP: up.eventIndex('GP_DONE'),
    evXchg,
    evRet,
    /** xchg's event for the old value `old` of ptrs[0] (0: NULL), from a table */
    xchgEvent: (old: number): number => xchgOld[old] ?? -1,
    /** a poke's event for its return value, from a table */
    retEvent: (ret: number): number => retAt[POKE_RETURNS.indexOf(ret)] ?? -1,
    /** index of the site a poke state pokes (key k's bypass 2k, target 2k + 1: sitesFor), or -1 */
    site: meta.map((m) => (m.op === 'poke' ? 2 * m.key + SITES.indexOf(m.step.site) : -1)),
  };
}

/**
 * The poke of updater step `m` run on a scratch copy of the 5 bytes at
 * `site`: the kernel's return value and the bytes it leaves.
 */
export function scratchPoke(
  m: Pick<Extract<UpdaterStepMeta, { op: 'poke' }>, 'step' | 'old_prog' | 'new_prog'>,
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

/** `f2`, or `NULL` for no program (ptrs[0], xchg's old value). */
export const progName = (k: number): string => (k ? `f${k}` : 'NULL');

/**
 * The poke sites of the caller's tail call, with the bytes the JIT left there (for DecodedSites):
 * bypass and target, or the target alone in the v5.5 layout (no bypass: tailcall_bypass is 0).
 */
export function siteDecls(world: TailcallPokeWorld): SiteDecl[] {
  const names = sitesFor(world.caller.pokes.length);
  return names.flatMap((name, i) => {
    const poke = world.caller.pokes[i >> 1];
    const address = (i & 1) === 0 ? poke.tailcall_bypass : poke.tailcall_target;
    return address === 0n ? [] : [{ name, address, initial: world.text.read(address, X86_PATCH_SIZE) }];
  });
}

/**
 * What the tail-call executor (src/concurrency/cpu.ts) does on a whole instruction at a poke
 * site: nop5 falls through, `jmp out` skips the tail call, `jmp f_k+off` enters f_k; -1 for
 * anything else (or bytes that do not decode).
 */
export function executorEventOf(cpu: CompiledMachine, world: TailcallPokeWorld, key = 0): (insn: DecodedInsn | undefined) => number {
  const poke = world.caller.pokes[key];
  const tailEntry = world.progs.map((p) => p.bpf_func + BigInt(poke.adj_off));
  const evNop = cpu.eventIndex('EXEC_NOP');
  const evOut = cpu.eventIndex('EXEC_JMP_OUT');
  const evProg = world.progs.map((_, k) => cpu.eventIndex(`EXEC_JMP_PROG(prog=${k + 1})`));
  return (insn) => {
    if (insn?.kind === 'nop' && insn.len === X86_PATCH_SIZE) return evNop;
    if (insn?.kind !== 'jmp' || insn.target === undefined) return -1;
    if (insn.target === poke.bypass_addr) return evOut;
    const k = tailEntry.indexOf(insn.target);
    return k >= 0 ? evProg[k] : -1;
  };
}

/** The updater's machine as an actor to draw (`pokecheck graph --kind updater`), its events printed in kernel terms. */
export function updaterActor(name: string, title: string, script: ScriptOp[], protocol: PokeProtocol, progs: number, violationTags: ReadonlySet<string>): ActorMachine {
  const formatEvent = (e: EventObject): string => {
    const p = e as EventObject & { old?: number; ret?: number };
    if (p.type === 'XCHG_OLD') return `old=${progName(p.old ?? 0)}`;
    if (p.type === 'RET') return errnoName(p.ret ?? 0);
    return '';
  };
  return { name, title, machine: updaterMachine(script, protocol), events: updaterEvents(progs), violationTags, formatEvent };
}

/**
 * User space that may do anything (src/arraymap/user-space.ts), over the shared fields of a
 * tail-call model: `choose` makes each system call user space can make from updater state `u`
 * (one successor each, through `emit`); `putDropsLast` decides at a put whether it drops the
 * last reference. Shared by both levels of tailcall-poke.
 */
export function anyOpsUserSpace(o: {
  model: string;
  up: CompiledMachine;
  upT: ReturnType<typeof updaterTables>;
  progs: number;
  keys: number;
  /** user space holds f_k's fd (bit k - 1) */
  fd: FieldArray;
  life: FieldArray;
  /** ptrs[key] per key */
  slots: readonly Field[];
  updater: Field;
  frees: DelayedFrees;
}) {
  const { up, upT, fd, life, slots, updater, frees } = o;
  // an updater running a script has no USER events: then user space makes no choices
  const ops = up.events.some((e) => e.type === 'USER') ? userOps(o.progs, o.keys) : [];
  const evUser = ops.map((op) => up.eventIndex(eventName(userOpEvent(op))));
  const evXchgOf = Array.from({ length: o.progs + 1 }, (_, old) => upT.evXchg(old));
  /** The program some map step between the xchg and the put holds the map's reference to (its `old`), per updater state. */
  const inFlightOld = upT.meta.map((m) => (m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? (m.old_prog ?? 0) : m.op === 'put' ? m.prog : 0));
  const inSlot = (s: Int32Array, k: number): boolean => {
    for (let j = 0; j < slots.length; j++) if (slots[j].get(s) === k) return true;
    return false;
  };
  /** No fd, no map slot, no map step in flight holds f_k. */
  const unreferenced = (s: Int32Array, k: number, u: number): boolean => !fd.get(s, k - 1) && !inSlot(s, k) && inFlightOld[u] !== k;
  const base = (op: UserOp): string => `${op.op === 'update' ? `update_f${op.prog}` : 'delete'}${userOpKey(op) ? `@${userOpKey(op)}` : ''}/`;
  return {
    ops,
    evUser,
    /** User space, between two system calls, makes each call it can (one successor each). */
    choose(s: Int32Array, next: Int32Array, u: number, emit: () => void): void {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        const key = userOpKey(op);
        if (op.op === 'update' && !fd.get(s, op.prog - 1)) continue; // needs the program's fd
        if (op.op === 'delete' && slots[key].get(s) === 0) continue; // -ENOENT, nothing happens
        if (op.op === 'close') {
          if (!fd.get(s, op.prog - 1)) continue;
          fd.set(next, op.prog - 1, 0);
          if (unreferenced(next, op.prog, u)) frees.put(next, op.prog);
        }
        if (op.op === 'load') {
          if (life.get(s, op.prog - 1) !== FREED) continue; // the pool's image is in use
          life.set(next, op.prog - 1, LIVE);
          fd.set(next, op.prog - 1, 1);
        }
        let nu = moveOrThrow(up, u, evUser[i], `${o.model}: user space`);
        if (op.op === 'update' || op.op === 'delete') {
          // The system call's first atomic step, the xchg under poke_mutex, is taken with the choice:
          // choosing is local to the thread, so this hides no interleaving.
          const xm = upT.meta[nu];
          if (xm.op !== 'xchg') throw new Error(`${o.model}: a map operation does not start with its xchg`);
          nu = moveOrThrow(up, nu, evXchgOf[slots[key].get(s)], `${o.model}: user space`);
          slots[key].set(next, xm.new_prog);
        }
        updater.set(next, nu);
        emit();
      }
    },
    /** Whether the put of updater state meta `m` drops the last reference (decided at run time for 'if-unreferenced'). */
    putDropsLast(s: Int32Array, m: Extract<UpdaterStepMeta, { op: 'put' }>): boolean {
      return m.last_ref === true || (m.last_ref === 'if-unreferenced' && !fd.get(s, m.prog - 1) && !inSlot(s, m.prog));
    },
    /** The operation user space chose on the move `before` -> `after` from state u, or undefined. */
    chosen(before: Int32Array, after: Int32Array): UserOp | undefined {
      const name = up.values[updater.get(after)];
      return ops.find((op) =>
        op.op === 'update' || op.op === 'delete' ? name.startsWith(base(op)) : op.op === 'close' ? fd.get(before, op.prog - 1) && !fd.get(after, op.prog - 1) : life.get(before, op.prog - 1) === FREED && life.get(after, op.prog - 1) === LIVE,
      );
    },
    /** The xchg's doc of a map operation chosen from u. */
    xchgDoc(u: number, op: UserOp): string {
      return upT.meta[up.next[u * up.events.length + evUser[ops.indexOf(op)]]].doc;
    },
  };
}

/** The programs of the pool when user space may do anything (`--progs`, default 3). */
export function poolSize(cfg: ModelConfig): number {
  const v = cfg.options.progs ?? '3';
  const k = Number(v);
  if (!/^[1-3]$/.test(v)) throw new ModelConfigError(`tailcall-poke: --progs must be 1..3, got '${v}'`);
  return k;
}

/** `every sequence of map operations over keys {0} and programs {f1, f2, f3} (addresses reused)`: what a user space without a script covers. */
export function anyOpsCovers(keys: number, progs: number): string {
  return `every sequence of map operations over keys {${Array.from({ length: keys }, (_, k) => k).join(', ')}} and programs {${Array.from({ length: progs }, (_, k) => `f${k + 1}`).join(', ')}} (addresses reused)`;
}
