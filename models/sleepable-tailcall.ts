/**
 * Model `sleepable-tailcall`: does 0f0c332992b8 "bpf: Allow sleepable
 * programs to use tail calls" (Jiri Olsa, merge b18a761ca0f6, 2026-01-30)
 * keep tail calls safe when the caller is a sleepable program? (issue 15;
 * sources in docs/sleepable-tailcall-sources.md; docs/models.md has the
 * verdicts and the counterexample.)
 *
 * The commit lets sleepable programs use BPF_MAP_TYPE_PROG_ARRAY and makes
 * the map's owner refuse to mix sleepable and non-sleepable programs
 * (src/arraymap/map_owner.ts). Its argument: a direct tail call is safe
 * because "we atomically switch from nop to jump instruction"; an indirect
 * one because the caller runs under rcu_read_lock_trace().
 *
 * Actors (src/model/ typed layer):
 * - `loader`: loads the caller and f1..fK, each sleepable or not (every
 *   combination `--sleepable` allows, one successor each), attaches the
 *   caller; the caller's load (`bpf_check_tail_call`) creates the map's owner.
 * - `task` x N (`--cpus`): src/concurrency/task.ts. Enters the caller with
 *   rcu_read_lock() or, for a sleepable caller, rcu_read_lock_trace() +
 *   migrate_disable(); takes the tail call (`--tailcall direct`: executes
 *   the two patch sites' current bytes; `indirect`: loads ptrs[0], then
 *   reads prog->bpf_func and jumps, as tail_call_path reads the emitted
 *   bytes); runs the program, which may sleep if it is sleepable and was
 *   entered sleepably; returns. Tasks loop forever.
 * - `updater`: the script (default `install f1; update f2; remove`) as
 *   src/arraymap/updater.ts generates it: per update prog_fd_array_get_ptr
 *   (the owner check, -EINVAL skips the update), the xchg of ptrs[0], the
 *   pokes of bpf_arch_poke_desc_update (v6.7+ order; none for an indirect
 *   caller: no descriptor is tracked), the removal's synchronize_rcu() when
 *   the bypass poke wrote, bpf_prog_put(old).
 * - `rcu` x K: frees f_k once the grace period of its flavour is over:
 *   `__bpf_prog_put_noref` uses call_rcu_tasks_trace for a sleepable
 *   program, call_rcu otherwise (src/concurrency/rcu-flavours.ts).
 *
 * Preemption (`--preempt`): with `full` a task in a sleepable program never
 * holds up synchronize_rcu() (tick quiescent states, preemption anywhere);
 * with `none` it holds it up while it runs and stops at its first sleep.
 * Interleaving already lets a task stop between any two of its steps; the
 * preemption model decides only what the grace periods wait for.
 *
 * Protocols:
 * - `allowlist-only`: the verifier half of 0f0c332992b8 alone (Jiri Olsa's
 *   first test patch): sleepable and non-sleepable programs share one map.
 * - `0f0c332992b8`: the merged commit (owner check with `sleepable`).
 * - `tasks-trace-sync`: candidate fix: the removal in
 *   bpf_arch_poke_desc_update waits with synchronize_rcu_tasks_trace()
 *   instead of synchronize_rcu() when the descriptor's program
 *   (poke->aux->prog) is sleepable.
 *
 * Properties: P1 no task executes the target's nop5 on an unwound frame;
 * P2 no task jumps into, or runs inside, a freed program; S1 no sleepable
 * program is entered inside a classic RCU read-side section; P4 no poke
 * hits BUG_ON.
 *
 * Choices where the kernel is silent or the model abstracts: the caller is
 * loaded first (so it creates the owner); a program's fd is held until its
 * last use in the script (used or refused), so bpf_prog_put(old) drops the
 * last reference iff the script never names it again; images are the 6.12
 * JIT's (E3, IBT, as in Debian's 6.12 captures) at the 6.1 oracle's
 * addresses (caller_d0, target1..3), the indirect caller at an illustrative
 * address with the 6.1 oracle's struct offsets; a task stuck in
 * `fell_through` stays in its section.
 */
import { PROTOCOLS, type PokeProtocol } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { __bpf_prog_map_compatible, type OwnerCheck } from '../src/arraymap/map_owner.js';
import { POKE_RETURNS, ScriptError, parseScript, scriptPrograms, scriptText, updaterEvents, updaterMachine, type ScriptOp, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import { PREEMPT_MODELS, flavourCall, flavourSync, freeFlavour, holdsUp, type PreemptModel, type RcuFlavour } from '../src/concurrency/rcu-flavours.js';
import { TAIL_CALL_KINDS, taskEvents, taskMachine, type TailCallKind } from '../src/concurrency/task.js';
import { jit_tail_caller } from '../src/jit/x86/caller.js';
import { defaultJitConfig } from '../src/jit/x86/config.js';
import { layoutOf, makeEnv } from '../src/jit/x86/env.js';
import { emit_bpf_tail_call_indirect } from '../src/jit/x86/tailcall.js';
import { tail_call_path, type TailCallStep } from '../src/jit/x86/tailcall_cached.js';
import { decodeInsn } from '../src/jit/x86/decode.js';
import { NOP5, X86_PATCH_SIZE, emit_jump, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import type { EventObject } from 'xstate';
import { BpfKallsyms } from '../src/poke/text.js';
import { checkableModel, defineLayout, DecodedSites, DYING, FREED, type Property } from '../src/model/index.js';
import { actorPart, GP_WAITS, progLifeText, stateLine, tailcallCpuText, updaterStateText } from '../src/model/state-text.js';
import { scratchPoke, updaterTables } from './tailcall-common.js';
import { CALLER_ADDRESS, TARGET_ADDRESSES } from './tailcall-poke.js';

export type SleepableProtocol = 'allowlist-only' | '0f0c332992b8' | 'tasks-trace-sync';

interface ProtocolSpec {
  ownerCheck: OwnerCheck;
  /** The removal's wait between the bypass and the target poke. */
  removalSync: 'synchronize_rcu' | 'by-caller';
  summary: string;
}

export const SLEEPABLE_PROTOCOLS: Record<SleepableProtocol, ProtocolSpec> = {
  'allowlist-only': {
    ownerCheck: 'allowlist-only',
    removalSync: 'synchronize_rcu',
    summary: 'PROG_ARRAY on the sleepable allowlist without the owner\'s sleepable flag (Jiri Olsa\'s first test patch): sleepable and non-sleepable programs share one prog array',
  },
  '0f0c332992b8': {
    ownerCheck: '0f0c332992b8',
    removalSync: 'synchronize_rcu',
    summary: '"bpf: Allow sleepable programs to use tail calls" (merge b18a761ca0f6, Jan 2026): the owner\'s sleepable flag refuses mixing; the v6.7+ removal still waits with synchronize_rcu()',
  },
  'tasks-trace-sync': {
    ownerCheck: '0f0c332992b8',
    removalSync: 'by-caller',
    summary: 'candidate fix: 0f0c332992b8, and the removal waits with synchronize_rcu_tasks_trace() when poke->aux->prog is sleepable',
  },
};

export const SLEEPABLE_DEFAULT_SCRIPT = 'install f1; update f2; remove';

/** The indirect caller's image address (illustrative; no oracle image has a sleepable caller). */
export const INDIRECT_CALLER_IP = 0xffffffffc0000800n;
/** The 6.12 JIT as in Debian's 6.12 captures (E3 with IBT). */
export const SLEEPABLE_PROFILE = '6.12-ibt';

/** An updater protocol for a caller with no direct descriptor: prog_array_map_poke_run finds nothing to poke. */
const NO_DESCRIPTOR: PokeProtocol = {
  name: 'no-descriptor',
  summary: 'no direct tail-call descriptor is tracked on the map: a map update pokes nothing',
  checks_old_bytes: true,
  steps: () => [],
};

export const SLEEPABLE_PROPERTIES = [
  { id: 'P1', description: 'no task executes the target nop5 with an unwound frame' },
  { id: 'P2', description: 'no task jumps into, or runs inside, a freed program' },
  { id: 'S1', description: 'no sleepable program is entered inside a classic RCU read-side section (rcu_read_lock)' },
  { id: 'P4', description: 'every poke finds the bytes it expects (no BUG_ON)' },
] as const;

interface SleepableConfig {
  protocol: SleepableProtocol;
  spec: ProtocolSpec;
  preempt: PreemptModel;
  kind: TailCallKind;
  script: ScriptOp[];
  K: number;
  /** The flag combinations the loader may choose: bit 0 the caller, bit k program f_k. */
  combos: number[];
  sleepableText: string;
  callerShape: CallerShapeName;
}

/** The direct caller's shape: the 6.1 oracle's caller_d0 (no stack, no callee-saved register) or one that keeps ctx in r6 (rbx) and has 8 bytes of stack. */
export type CallerShapeName = 'd0' | 'rbx';
export const CALLER_SHAPES: Record<CallerShapeName, { stack_depth: number; callee_regs: ('rbx')[] }> = {
  d0: { stack_depth: 0, callee_regs: [] },
  rbx: { stack_depth: 8, callee_regs: ['rbx'] },
};

function parseConfig(cfg: ModelConfig): SleepableConfig {
  const M = 'sleepable-tailcall';
  if (!(cfg.protocol in SLEEPABLE_PROTOCOLS)) throw new ModelConfigError(`${M}: unknown protocol '${cfg.protocol}' (protocols: ${Object.keys(SLEEPABLE_PROTOCOLS).join(', ')})`);
  const protocol = cfg.protocol as SleepableProtocol;
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 4) throw new ModelConfigError(`${M}: --cpus (the tasks) must be 1..4, got ${cfg.cpus}`);
  const preempt = (cfg.options.preempt ?? 'full') as PreemptModel;
  if (!PREEMPT_MODELS.includes(preempt)) throw new ModelConfigError(`${M}: --preempt must be none or full, got '${cfg.options.preempt}'`);
  const kind = (cfg.options.tailcall ?? 'direct') as TailCallKind;
  if (!TAIL_CALL_KINDS.includes(kind)) throw new ModelConfigError(`${M}: --tailcall must be direct or indirect, got '${cfg.options.tailcall}'`);
  let script: ScriptOp[];
  try {
    script = parseScript(cfg.options.script ?? SLEEPABLE_DEFAULT_SCRIPT);
  } catch (e) {
    throw new ModelConfigError(`${M}: ${(e as ScriptError).message}`);
  }
  if (script.some((o) => o.key !== 0)) throw new ModelConfigError(`${M}: the caller tail-calls key 0 only`);
  const K = scriptPrograms(script);
  if (K < 1 || K > 3) throw new ModelConfigError(`${M}: the script must use 1..3 programs (f1..f3)`);
  const sleepableText = cfg.options.sleepable ?? 'any';
  let combos: number[];
  if (sleepableText === 'any') {
    combos = Array.from({ length: 1 << (K + 1) }, (_, c) => c);
  } else {
    let bits = 0;
    const names = sleepableText === 'none' ? [] : sleepableText.split(',').map((x) => x.trim());
    for (const n of names) {
      const k = n === 'caller' ? 0 : /^f[1-9]$/.test(n) ? Number(n.slice(1)) : -1;
      if (k < 0 || k > K) throw new ModelConfigError(`${M}: --sleepable takes 'any', 'none' or a list of caller,f1..f${K}; got '${n}'`);
      bits |= 1 << k;
    }
    combos = [bits];
  }
  const callerShape = (cfg.options.caller ?? 'd0') as CallerShapeName;
  if (!(callerShape in CALLER_SHAPES)) throw new ModelConfigError(`${M}: --caller must be d0 or rbx, got '${cfg.options.caller}'`);
  if (kind === 'indirect' && cfg.options.caller !== undefined) throw new ModelConfigError(`${M}: --caller shapes the direct caller (the indirect caller has no stack and no callee-saved register)`);
  return { protocol, spec: SLEEPABLE_PROTOCOLS[protocol], preempt, kind, script, K, combos, sleepableText, callerShape };
}

/** `insn [bytes]; insn [bytes]` for a run of instructions at `ip`. */
function insnsText(bytes: Uint8Array, ip: bigint): string {
  const out: string[] = [];
  for (let off = 0; off < bytes.length; ) {
    const insn = decodeInsn(bytes.subarray(off), ip + BigInt(off));
    out.push(`${insn.text.replace(/\s+/g, ' ')} [${hexBytes(bytes.subarray(off, off + insn.len))}]`);
    off += insn.len;
  }
  return out.join('; ');
}

const bitsFor = (n: number): number => Math.max(1, Math.ceil(Math.log2(Math.max(2, n))));

export function buildSleepableTailcall(cfg: ModelConfig): CheckableModel {
  const C = parseConfig(cfg);
  const { K, kind, preempt, spec } = C;
  const N = cfg.cpus;
  const M = 'sleepable-tailcall';

  // ---- the world: programs, the caller's bytes ---------------------------------------------------
  const progs: BpfProg[] = Array.from({ length: K }, (_, k) => ({ name: `f${k + 1}`, bpf_func: TARGET_ADDRESSES[k], len: 0x40 }));
  const caller = jit_tail_caller({ ...CALLER_SHAPES[C.callerShape], sites: 1 }, CALLER_ADDRESS, SLEEPABLE_PROFILE);
  const poke = caller.pokes[0];
  const entryOf = (k: number): bigint => progs[k - 1].bpf_func + BigInt(poke.adj_off);
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('caller', caller.address, caller.bytes.length);
  const callerText = (addr: bigint, len = X86_PATCH_SIZE): Uint8Array => caller.bytes.subarray(Number(addr - caller.address), Number(addr - caller.address) + len);
  /** The instructions between the bypass and the target site: what the task's `unwind` step executes. */
  const unwindAt = poke.tailcall_bypass + BigInt(X86_PATCH_SIZE);
  const unwindText = insnsText(callerText(unwindAt, Number(poke.tailcall_target - unwindAt)), unwindAt);

  // ---- machines -------------------------------------------------------------------------------
  const task = compileMachine(taskMachine(kind), taskEvents(K));
  const upProtocol = kind === 'direct' ? PROTOCOLS['v6.7'] : NO_DESCRIPTOR;
  const up = compileMachine(updaterMachine(C.script, upProtocol, { ownerCheck: true }), updaterEvents(K, { ownerCheck: true }));
  const upT = updaterTables(up);
  const TQ = task.names.length;
  const evOf = (name: string): number => task.eventIndex(name);
  const tFetch = task.meta.map((m) => (m.fetch === 'tailcall_bypass' ? 0 : m.fetch === 'tailcall_target' ? 1 : -1));
  const tExec = task.meta.map((m) => (m.exec === 'load' || m.exec === 'jump' ? (m.exec as string) : ''));
  const tEnter = task.meta.map((m) => m.enter === true);
  const tSteps = task.meta.map((m) => ((m.steps as string[] | undefined) ?? []).map(evOf));
  const tTrace = task.contexts.map((c) => c.trace === 1);
  const tVal = task.contexts.map((c) => Number(c.val));
  const tProg = task.tags.map((t, i) => (t.has('in_prog') ? Number(task.contexts[i].prog) : 0));
  const tAsleep = task.tags.map((t) => t.has('asleep'));
  const tP1 = task.tags.map((t) => t.has('P1'));
  const rcuState = task.tags.map((t, i) => ({ inSection: t.has('reader'), trace: tTrace[i], asleep: tAsleep[i] }));
  const holdsR = rcuState.map((r) => holdsUp(r, 'rcu', preempt));
  const holdsT = rcuState.map((r) => holdsUp(r, 'rcu_tasks_trace', preempt));
  const evSleep = evOf('SLEEP');
  const evEnter = [evOf('ENTER(trace=0)'), evOf('ENTER(trace=1)')];
  const evLoaded = Array.from({ length: K + 1 }, (_, v) => evOf(`LOADED(val=${v})`));
  const evCompat = [up.eventIndex('COMPAT(ok=0)'), up.eventIndex('COMPAT(ok=1)')];
  const evRetAt = POKE_RETURNS.map(upT.evRet);

  // ---- direct: the two patch sites, decoded; every content the pokes can write numbered up front --
  const sites = new DecodedSites(
    M,
    [
      { name: 'tailcall_bypass', address: poke.tailcall_bypass, initial: callerText(poke.tailcall_bypass) },
      { name: 'tailcall_target', address: poke.tailcall_target, initial: callerText(poke.tailcall_target) },
    ],
    (_s, insn) => {
      if (insn?.kind === 'nop' && insn.len === X86_PATCH_SIZE) return evOf('EXEC_NOP');
      if (insn?.kind === 'jmp' && insn.target === poke.bypass_addr) return evOf('EXEC_JMP_OUT');
      const k = insn?.kind === 'jmp' ? progs.findIndex((_, j) => entryOf(j + 1) === insn.target) + 1 : 0;
      return k > 0 ? evOf(`EXEC_JMP_PROG(prog=${k})`) : -1;
    },
    16,
  );
  sites.intern(0, NOP5);
  sites.intern(1, NOP5);
  for (let k = 1; k <= K; k++) sites.intern(1, emit_jump(poke.tailcall_target, entryOf(k)));
  const numbered = [sites.size(0), sites.size(1)];
  const pokeCache = new Map<number, number>();
  const pokeResult = (u: number, c: number): number => {
    const key = u * 16 + c;
    let r = pokeCache.get(key);
    if (r === undefined) {
      const m = upT.meta[u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const st = upT.site[u];
      const { ret, after } = scratchPoke(m, poke, sites.sites[st].address, sites.bytes(st, c), progs, kallsyms);
      const nc = sites.intern(st, after);
      if (sites.size(st) !== numbered[st]) throw new Error(`${M}: a poke wrote ${hexBytes(after)} at ${sites.sites[st].name}, not one of the contents numbered up front`);
      r = (POKE_RETURNS.indexOf(ret) << 8) | nc;
      pokeCache.set(key, r);
    }
    return r;
  };

  // ---- indirect: what the emitted sequence does after its load -----------------------------------
  const env = makeEnv({ cfg: defaultJitConfig(SLEEPABLE_PROFILE, { indirect_jump: 'plain' }), layout: { bpf_array_max_entries: 36, bpf_array_ptrs: 272, bpf_prog_bpf_func: 48 } });
  const indirectBytes = emit_bpf_tail_call_indirect(INDIRECT_CALLER_IP, [], 0, env);
  const path = tail_call_path(indirectBytes, INDIRECT_CALLER_IP);
  const loadAt = path.findIndex((st) => st.op.op === 'load_slot');
  const loadOp = path[loadAt]?.op;
  if (!loadOp || loadOp.op !== 'load_slot' || loadOp.disp !== layoutOf(env).bpf_array_ptrs) throw new Error(`${M}: the indirect tail call does not load ptrs[key]`);
  const indirectOffset = env.cfg.profile.tail_call_offset;
  /** The task's event for the rest of the sequence after loading value v (0 or program v): out, or the program whose entry rcx holds at the jump. */
  const jumpEvent = Array.from({ length: K + 1 }, (_, v) => {
    let rcx: { prog: number } | { addr: bigint } = { prog: v };
    for (const st of path.slice(loadAt + 1)) {
      if (st.op.op === 'je_out' && 'prog' in rcx && rcx.prog === 0) return evOf('EXEC_OUT');
      if (st.op.op === 'load_bpf_func') {
        if (!('prog' in rcx) || st.op.off !== layoutOf(env).bpf_prog_bpf_func) throw new Error(`${M}: ${st.insn.text} does not load prog->bpf_func`);
        rcx = { addr: progs[rcx.prog - 1].bpf_func };
      }
      if (st.op.op === 'add_rcx' && 'addr' in rcx) rcx = { addr: rcx.addr + BigInt(st.op.imm) };
      if (st.op.op === 'jmp_rcx') {
        const target = 'addr' in rcx ? rcx.addr : -1n;
        const k = progs.findIndex((p) => p.bpf_func + BigInt(indirectOffset) === target) + 1;
        if (k === 0) throw new Error(`${M}: jmp *%rcx to ${hexAddr(target)}, no program's tail-call entry`);
        return evOf(`EXEC_JMP_PROG(prog=${k})`);
      }
    }
    throw new Error(`${M}: the indirect sequence ends without a jump`);
  });

  // ---- the state ---------------------------------------------------------------------------
  const L = defineLayout({
    shared: { loaded: 1, flags: K + 1, updater: bitsFor(up.names.length), slot: 2, bypass: 4, target: 4, life: [2, K] },
    cpus: { count: N, bits: 16, fields: { q: bitsFor(TQ), syncR: 1, syncT: 1, holdsR: [1, K], holdsT: [1, K] } },
  });
  const { loaded, flags, updater, slot, life } = L.shared;
  const content = [L.shared.bypass, L.shared.target];
  const { q, syncR, syncT, holdsR: hR, holdsT: hT } = L.cpu;
  const recs = L.cpus!;
  const rMask = hR.fields.reduce((m, f) => m | f.inRecord, syncR.inRecord);
  const tMask = hT.fields.reduce((m, f) => m | f.inRecord, syncT.inRecord);
  /** Per task state: the record bits a task in that state keeps (marks of grace periods it still holds up). */
  const keep = Array.from({ length: TQ }, (_, nq) => ~q.inRecord & ~(holdsR[nq] ? 0 : rMask) & ~(holdsT[nq] ? 0 : tMask));
  const moveTask = (next: Int32Array, i: number, nq: number): void => {
    recs.set(next, i, (recs.get(next, i) & keep[nq]) | (nq << q.shift));
  };
  const sleepable = (s: Int32Array, k: number): boolean => ((flags.get(s) >>> k) & 1) === 1;
  /** A grace period of `flavour` starts: every task that holds it up now gets the mark. */
  const startGp = (next: Int32Array, flavour: RcuFlavour, markR: (i: number) => void, markT: (i: number) => void): void => {
    const holds = flavour === 'rcu' ? holdsR : holdsT;
    for (let i = 0; i < N; i++) if (holds[q.get(next, i)]) (flavour === 'rcu' ? markR : markT)(i);
  };
  const removalFlavour = (s: Int32Array): RcuFlavour => (spec.removalSync === 'by-caller' && sleepable(s, 0) ? 'rcu_tasks_trace' : 'rcu');
  const waiters = (s: Int32Array, flavour: RcuFlavour): string => {
    const holds = flavour === 'rcu' ? holdsR : holdsT;
    const w = Array.from({ length: N }, (_, i) => i).filter((i) => holds[q.get(s, i)]);
    return w.length ? ` (waits for ${w.map((i) => `task${i}`).join(', ')})` : ' (no task holds it up)';
  };

  // ---- the actors --------------------------------------------------------------------------
  const loaderStep = (s: Int32Array, next: Int32Array, _i: number, emit: () => void): boolean => {
    if (loaded.get(s)) return false;
    for (const c of C.combos) {
      loaded.set(next, 1);
      flags.set(next, c);
      emit();
    }
    return false;
  };

  /** The events task i may take from state qq (several only for a program's RETURN / SLEEP). */
  const taskEventsAt = (s: Int32Array, qq: number): number[] => {
    if (tEnter[qq]) return [evEnter[sleepable(s, 0) ? 1 : 0]];
    const fetch = tFetch[qq];
    if (fetch >= 0) {
      const c = content[fetch].get(s);
      const e = sites.event(fetch, c);
      if (e < 0) throw new Error(`${M}: a task cannot execute ${hexBytes(sites.bytes(fetch, c))} at ${sites.sites[fetch].name}`);
      return [e];
    }
    if (tExec[qq] === 'load') return [evLoaded[slot.get(s)]];
    if (tExec[qq] === 'jump') return [jumpEvent[tVal[qq]]];
    const k = tProg[qq];
    // A helper may sleep only in a sleepable program entered sleepably (else the verifier refuses the helper, or it is S1).
    return tSteps[qq].filter((e) => e !== evSleep || (k > 0 && tTrace[qq] && sleepable(s, k)));
  };
  const taskStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => {
    if (!loaded.get(s)) return false;
    const qq = q.get(s, i);
    const evs = taskEventsAt(s, qq);
    for (let j = 0; j < evs.length; j++) {
      moveTask(next, i, moveOrThrow(task, qq, evs[j], `${M}: task${i}`));
      if (j === evs.length - 1) return true;
      emit();
    }
    return false;
  };

  const updaterStep = (s: Int32Array, next: Int32Array): boolean => {
    if (!loaded.get(s)) return false;
    const u = updater.get(s);
    const m = upT.meta[u];
    let ev = -1;
    switch (m.op) {
      case 'get_ptr': {
        const owner = { owner: { sleepable: sleepable(s, 0) } }; // created by the caller's load
        ev = evCompat[__bpf_prog_map_compatible(owner, { sleepable: sleepable(s, m.new_prog) }, spec.ownerCheck) ? 1 : 0];
        break;
      }
      case 'xchg':
        ev = upT.evXchg(slot.get(s));
        slot.set(next, m.new_prog);
        break;
      case 'poke': {
        const st = upT.site[u];
        const r = pokeResult(u, content[st].get(s));
        ev = evRetAt[r >> 8];
        content[st].set(next, r & 0xff);
        break;
      }
      case 'sync_start':
        ev = upT.evSTEP;
        startGp(next, removalFlavour(s), (i) => syncR.set(next, i, 1), (i) => syncT.set(next, i, 1));
        break;
      case 'sync_wait': {
        let pending = false;
        for (let i = 0; i < N; i++) if (syncR.get(s, i) || syncT.get(s, i)) pending = true;
        if (!pending) ev = upT.evGP;
        break;
      }
      case 'put':
        ev = upT.evSTEP;
        if (m.last_ref) {
          life.set(next, m.prog - 1, DYING);
          startGp(next, freeFlavour(sleepable(s, m.prog)), (i) => hR.set(next, i, m.prog - 1, 1), (i) => hT.set(next, i, m.prog - 1, 1));
        }
        break;
      default:
        break;
    }
    if (ev < 0) return false;
    updater.set(next, moveOrThrow(up, u, ev, `${M}: updater`));
    return true;
  };

  const rcuStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    if (life.get(s, i) !== DYING) return false;
    for (let t = 0; t < N; t++) if (hR.get(s, t, i) || hT.get(s, t, i)) return false;
    life.set(next, i, FREED);
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someTask = (pred: (qq: number, s: Int32Array) => boolean) => (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (pred(q.get(s, i), s)) return true;
    return false;
  };
  const properties: Property[] = [
    { ...SLEEPABLE_PROPERTIES[0], cpus: 1, violated: someTask((qq) => tP1[qq]) },
    { ...SLEEPABLE_PROPERTIES[1], cpus: 1, violated: someTask((qq, s) => tProg[qq] > 0 && life.get(s, tProg[qq] - 1) === FREED) },
    { ...SLEEPABLE_PROPERTIES[2], cpus: 1, violated: someTask((qq, s) => tProg[qq] > 0 && !tTrace[qq] && sleepable(s, tProg[qq])) },
    { ...SLEEPABLE_PROPERTIES[3], cpus: 0, violated: (s) => upT.bug[updater.get(s)] },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const pname = (k: number): string => (k ? `f${k}` : 'NULL');
  const flagText = (s: Int32Array, k: number): string => (sleepable(s, k) ? 'sleepable' : 'non-sleepable');
  const stepsText = (steps: TailCallStep[]): string => steps.map((x) => `${x.insn.text.replace(/\s+/g, ' ')} [${hexBytes(x.bytes)}]`).join('; ');
  const describeTask = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    const to = `-> ${task.names[nq]}`;
    if (tEnter[qq]) {
      return sleepable(before, 0)
        ? `enters the sleepable caller: rcu_read_lock_trace(); migrate_disable() ${to}`
        : `enters the caller: rcu_read_lock() ${to}`;
    }
    const fetch = tFetch[qq];
    if (fetch >= 0) {
      const v = sites.view(fetch, content[fetch].get(before));
      return `executes ${v.disasm} [${v.bytes}] at ${v.name} ${v.address} ${to}`;
    }
    if (tExec[qq] === 'load') return `executes ${stepsText(path.slice(0, loadAt + 1))}: loads ptrs[0] = ${pname(slot.get(before))} ${to}`;
    if (tExec[qq] === 'jump') {
      const k = tProg[nq];
      const freed = k && life.get(before, k - 1) === FREED ? ` (${pname(k)} IS FREED)` : '';
      return `executes ${stepsText(path.slice(loadAt + 1))}${k ? `: jumps to ${hexAddr(progs[k - 1].bpf_func + BigInt(indirectOffset))}, ${pname(k)}${freed}` : ': rcx == 0, out'} ${to}`;
    }
    if (tAsleep[nq] && !tAsleep[qq]) return `${pname(tProg[qq])} calls a helper that sleeps ${to}`;
    if (tAsleep[qq]) return `wakes up in ${pname(tProg[qq])} ${to}`;
    if (task.values[qq] === 'unwind') return `executes ${unwindText} ${to}`;
    if (task.values[nq] === 'idle') return `${pname(tProg[qq])} returns; leaves the caller (${tTrace[qq] ? 'migrate_enable(); rcu_read_unlock_trace()' : 'rcu_read_unlock()'}) ${to}`;
    return `${String(task.meta[qq].doc)} ${to}`;
  };
  const describeUpdater = (before: Int32Array, after: Int32Array): string => {
    const u = updater.get(before);
    const m = upT.meta[u];
    switch (m.op) {
      case 'get_ptr': {
        const ok = __bpf_prog_map_compatible({ owner: { sleepable: sleepable(before, 0) } }, { sleepable: sleepable(before, m.new_prog) }, spec.ownerCheck);
        const owner = spec.ownerCheck === '0f0c332992b8' ? `owner ${flagText(before, 0)}` : 'the owner has no sleepable flag';
        return `${m.doc} = ${ok ? 'true' : 'false'} (${owner}, f${m.new_prog} ${flagText(before, m.new_prog)})${ok ? '' : ': -EINVAL, the update fails'}`;
      }
      case 'xchg':
        return `${m.doc} -> old = ${pname(slot.get(before))}`;
      case 'poke': {
        const r = pokeResult(u, content[upT.site[u]].get(before));
        return `${m.doc} = ${errnoName(POKE_RETURNS[r >> 8])}${upT.bug[updater.get(after)] ? ' -> BUG_ON' : ''}`;
      }
      case 'sync_start': {
        const f = removalFlavour(before);
        return `bpf_arch_poke_desc_update: ${flavourSync(f)}(): a grace period starts${waiters(before, f)}`;
      }
      case 'sync_wait':
        return `${flavourSync(removalFlavour(before))}() returns`;
      case 'put': {
        if (!m.last_ref) return m.doc;
        const f = freeFlavour(sleepable(before, m.prog));
        return `bpf_prog_put(f${m.prog}): last reference; __bpf_prog_put_noref: ${flavourCall(f)} (f${m.prog} is ${flagText(before, m.prog)})${waiters(before, f)}`;
      }
      default:
        return m.doc;
    }
  };

  return checkableModel({
    model: M,
    protocol: C.protocol,
    cpus: N,
    config: { preempt, tailcall: kind, script: scriptText(C.script), sleepable: C.sleepableText, ...(kind === 'direct' ? { caller: C.callerShape } : {}) },
    layout: L,
    initial(s) {
      updater.set(s, up.initial);
      content[0].set(s, sites.initial[0]);
      content[1].set(s, sites.initial[1]);
      for (let i = 0; i < N; i++) q.set(s, i, task.initial);
    },
    steps: [
      { actor: 'loader', next: loaderStep },
      // The tasks are the model's readers: kind 'cpu' for the layer and the every-N cutoff (one task per CPU).
      { actor: 'cpu', count: N, next: taskStep },
      { actor: 'updater', next: updaterStep },
      { actor: 'rcu', count: K, next: rcuStep },
    ],
    properties,
    symmetry: 'cpus',
    parallel: true,
    describe(before, after, a) {
      if (a.actor === 'loader') {
        const progsText = Array.from({ length: K + 1 }, (_, k) => `${k ? `f${k}` : 'caller'} (${flagText(after, k)})`).join(', ');
        return `loads ${progsText}; attaches the caller; bpf_check_tail_call: the caller creates jmp_table's owner`;
      }
      if (a.actor === 'cpu') return { actor: `task${a.i}`, action: describeTask(before, after, a.i) };
      if (a.actor === 'updater') return describeUpdater(before, after);
      const k = a.i + 1;
      return `grace period over (${flavourCall(freeFlavour(sleepable(before, k)))}): frees f${k}`;
    },
    sites: (s) => (kind === 'direct' ? [0, 1].map((st) => sites.view(st, content[st].get(s))) : []),
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      const formatEvent = (e: EventObject): string => {
        const p = e as EventObject & { old?: number; ret?: number; ok?: number };
        if (p.type === 'XCHG_OLD') return `old=${pname(p.old ?? 0)}`;
        if (p.type === 'RET') return errnoName(p.ret ?? 0);
        if (p.type === 'COMPAT') return p.ok ? 'compatible' : '-EINVAL';
        return '';
      };
      return [
        { name: 'task', title: `Task taking a ${kind} tail call (src/concurrency/task.ts)`, machine: taskMachine(kind), events: taskEvents(K), violationTags: bad },
        {
          name: 'updater',
          title: `Updater for "${scriptText(C.script)}" with the owner check (src/arraymap/updater.ts)`,
          machine: updaterMachine(C.script, upProtocol, { ownerCheck: true }),
          events: updaterEvents(K, { ownerCheck: true }),
          violationTags: bad,
          formatEvent,
        },
      ];
    },
    summary(s) {
      const u = updater.get(s);
      const upd = actorPart('updater', updaterStateText(up.names[u], upT.meta[u], C.script));
      if (!loaded.get(s)) return stateLine(['programs not loaded yet', upd]);
      const fl = Array.from({ length: K + 1 }, (_, k) => `${k ? `f${k}` : 'caller'} ${sleepable(s, k) ? 'sleepable' : 'non-sleepable'}`);
      const lives = Array.from({ length: K }, (_, k) => progLifeText(k + 1, life.get(s, k)));
      const tasks = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const marks = [
          task.contexts[qq].trace ? 'under rcu_read_lock_trace' : '',
          syncR.get(s, i) ? GP_WAITS : '',
          syncT.get(s, i) ? 'synchronize_rcu_tasks_trace() waits for it' : '',
          ...Array.from({ length: K }, (_, k) => (hR.get(s, i, k) ? `f${k + 1}'s RCU free waits for it` : hT.get(s, i, k) ? `f${k + 1}'s tasks-trace free waits for it` : '')),
        ];
        return actorPart(`task${i}`, tailcallCpuText(task.values[qq], task.contexts[qq]), marks);
      });
      return stateLine([...fl, `ptrs[0]=${pname(slot.get(s))}`, ...lives, ...tasks, upd]);
    },
  });
}

export const sleepableTailcall: ModelDefinition = {
  name: 'sleepable-tailcall',
  summary: 'sleepable programs and tail calls (0f0c332992b8, 2026): tasks in classic or tasks-trace RCU sections, direct or indirect tail calls, one updater, two RCU flavours',
  protocols: (Object.keys(SLEEPABLE_PROTOCOLS) as SleepableProtocol[]).map((p) => ({ name: p, summary: SLEEPABLE_PROTOCOLS[p].summary })),
  defaultProtocol: '0f0c332992b8',
  defaultCpus: 2,
  options: [
    { name: 'preempt', values: PREEMPT_MODELS, default: 'full', description: 'full: a task in a sleepable program never holds up synchronize_rcu() (PREEMPT_RCU or PREEMPT_COUNT); none: it does until it sleeps' },
    { name: 'tailcall', values: TAIL_CALL_KINDS, default: 'direct', description: 'direct: the two patch sites over the 6.12 JIT\'s bytes; indirect: ptrs[key] read, then prog->bpf_func and the jump' },
    { name: 'script', default: SLEEPABLE_DEFAULT_SCRIPT, description: 'the updater\'s map operations on key 0, e.g. "install f1; update f2; remove"' },
    { name: 'caller', values: ['d0', 'rbx'], default: 'd0', description: 'the direct caller: d0 (the oracle\'s caller_d0: no stack, no callee-saved register) or rbx (ctx kept in r6 = rbx, 8 bytes of stack)' },
    { name: 'sleepable', default: 'any', description: 'which programs are sleepable: any (every combination, chosen by the loader), none, or a list such as caller,f1' },
  ],
  // Expected verdicts, from the kernel (docs/models.md, sleepable-tailcall, says why each one):
  // - allowlist-only: a non-sleepable caller can tail-call a sleepable program inside rcu_read_lock()
  //   (S1) in every configuration; with preemption a non-sleepable callee of a sleepable caller is
  //   freed by call_rcu while the task runs it (P2), and the removal's synchronize_rcu() does not wait
  //   for a sleepable caller in the unwind window (P1, direct only).
  // - 0f0c332992b8: the owner check removes S1 and P2; P1 stays under full preemption (direct only),
  //   because bpf_arch_poke_desc_update still waits with synchronize_rcu(), which a task holding only
  //   rcu_read_lock_trace() does not hold up. Without PREEMPT_COUNT the running task holds its CPU.
  // - tasks-trace-sync: the removal waits for the trace readers: holds.
  reference: [
    { protocol: 'allowlist-only', cpus: 2, options: { tailcall: 'direct', preempt: 'none' }, expected: 'violated', expectedViolated: ['S1'] },
    { protocol: 'allowlist-only', cpus: 2, options: { tailcall: 'direct', preempt: 'full' }, expected: 'violated', expectedViolated: ['P1', 'P2', 'S1'] },
    { protocol: 'allowlist-only', cpus: 2, options: { tailcall: 'indirect', preempt: 'none' }, expected: 'violated', expectedViolated: ['S1'] },
    { protocol: 'allowlist-only', cpus: 2, options: { tailcall: 'indirect', preempt: 'full' }, expected: 'violated', expectedViolated: ['P2', 'S1'] },
    { protocol: '0f0c332992b8', cpus: 2, options: { tailcall: 'direct', preempt: 'none' }, expected: 'holds' },
    { protocol: '0f0c332992b8', cpus: 2, options: { tailcall: 'direct', preempt: 'full' }, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: '0f0c332992b8', cpus: 2, options: { tailcall: 'direct', preempt: 'full', sleepable: 'caller,f1,f2' }, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: '0f0c332992b8', cpus: 2, options: { tailcall: 'indirect', preempt: 'none' }, expected: 'holds' },
    { protocol: '0f0c332992b8', cpus: 2, options: { tailcall: 'indirect', preempt: 'full' }, expected: 'holds' },
    { protocol: 'tasks-trace-sync', cpus: 2, options: { tailcall: 'direct', preempt: 'none' }, expected: 'holds' },
    { protocol: 'tasks-trace-sync', cpus: 3, options: { tailcall: 'direct', preempt: 'full' }, expected: 'holds' },
    // every number of tasks, by the checked cutoff (docs/proofs.md)
    { protocol: '0f0c332992b8', cpus: 2, every: true, options: { tailcall: 'direct', preempt: 'full' }, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: '0f0c332992b8', cpus: 2, every: true, options: { tailcall: 'indirect', preempt: 'full' }, expected: 'holds' },
    { protocol: 'tasks-trace-sync', cpus: 2, every: true, options: { tailcall: 'direct', preempt: 'full' }, expected: 'holds' },
  ],
  build: buildSleepableTailcall,
};
