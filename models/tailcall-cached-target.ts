/**
 * Model `tailcall-cached-target`: Leon Hwang's 2026 RFC "bpf: tailcall:
 * Eliminate max_entries and bpf_func access at runtime" (rejected;
 * docs/kernel-facts.md 3e; docs/reference-verdicts.md section 4): a prog array that
 * caches `ptrs[max_entries + key]` = `bpf_func + X86_TAIL_CALL_OFFSET` next
 * to `ptrs[key]`, two concurrent updaters, N CPUs taking the tail call.
 *
 * The CPUs run the RFC's static path (map known at verification time, key
 * in rdx = 0) as src/jit/x86/tailcall_cached.ts emits it for the v6.12+ layout
 * (v6.12+): which slot a CPU loads, and whether it then dereferences
 * bpf_func, is read back from those bytes (`tail_call_path`), so `--path
 * dynamic` (the map not known: it loads ptrs[key] and computes the target)
 * is the same CPU over other bytes. The load is one step, the rest up to
 * `jmp *%rcx` another; the CPU is an RCU reader from entering the caller to
 * the program's return.
 *
 * The updaters (src/arraymap/cached_target.ts) run their scripts
 * (`--updaters "update f1 | update f2"`): mutex_lock(&poke_mutex), the xchg
 * of ptrs[key], the cache xchg (inside the mutex for rfc-2026, after
 * mutex_unlock for `unlocked`), the pokes of a direct tail-call site in
 * another program (a real v6.12+ JIT section, through __bpf_arch_text_poke in
 * the v6.7 order), bpf_prog_put(old), and close(fd) of their own programs
 * after the last use. A program is freed one grace period after its last
 * reference goes (the `rcu` actor frees it once every CPU that was a reader
 * then has left).
 *
 * Properties: P2 no CPU jumps into, or runs inside, a freed program; C1
 * whenever poke_mutex is free, the cache encodes ptrs[key]; S2 whenever
 * poke_mutex is free, the direct site's text encodes ptrs[key]; P4 no poke
 * hits BUG_ON.
 *
 * Choices: max_entries = 4 and key 0; program addresses are the 6.1
 * oracle's target1..3 and the struct offsets its `caller_ind` fixture's
 * (ptrs at 272); the callers' addresses are illustrative.
 *
 * Packed state: w0 = updater A (8 bits) | updater B (8) | poke_mutex owner
 * (2: 0 free, 1 A, 2 B) | ptrs[0] (3) | ptrs[max_entries] as a program
 * number (3); w1 = bypass content id (4) | target content id (4) | per
 * program fk: references (2) | life (2: live, dying, freed); one 16-bit field
 * per CPU: executor state (4) | in a synchronize_rcu grace period (bit 4) |
 * holds up fk's free (bit 4 + k).
 */
import { doPokeStep } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { CACHED_TARGET_PROTOCOLS, cachedTargetUpdaterMachine, cachedUpdaterEvents, type CachedStepMeta, type CachedTargetProtocol } from '../src/arraymap/cached_target.js';
import { cachedCpuEvents, cachedTargetCpuMachine } from '../src/arraymap/cached_target_cpu.js';
import { ScriptError, parseScript, scriptText, type ScriptOp } from '../src/arraymap/updater.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { GracePeriods } from '../src/concurrency/grace-period.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { decodeInsn } from '../src/jit/x86/decode.js';
import { layoutOf } from '../src/jit/x86/env.js';
import { emit_bpf_tail_call_indirect_rfc2026, rfc2026Env, tail_call_path, type TailCallStep } from '../src/jit/x86/tailcall_cached.js';
import { emit_bpf_tail_call_direct, new_poke_descriptor } from '../src/jit/x86/tailcall.js';
import { NOP5, X86_PATCH_SIZE, emit_jump, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { TARGET_ADDRESSES } from './tailcall-common.js';

/** The caller with the RFC's static tail call, and a program with a direct tail call on the same key (illustrative addresses). */
export const STATIC_CALLER_IP = 0xffffffffc0000b40n;
export const DIRECT_CALLER_IP = 0xffffffffc0000c00n;
export const CACHED_MAX_ENTRIES = 4;
export const CACHED_DEFAULT_UPDATERS = 'update f1 | update f2';

export const CACHED_PROPERTIES: readonly PropertySpec[] = [
  { id: 'P2', description: 'no CPU jumps into, or runs inside, a freed program', checked: true },
  { id: 'C1', description: 'whenever poke_mutex is free, ptrs[max_entries + key] is ptrs[key]->bpf_func + X86_TAIL_CALL_OFFSET (0 when empty)', checked: true },
  { id: 'S2', description: "whenever poke_mutex is free, the direct site's text encodes ptrs[key]", checked: true },
  { id: 'P4', description: 'every poke finds the bytes it expects (no -EBUSY, which is BUG_ON)', checked: true },
];

const DYING = 1;
const FREED = 2;
const Q = 0xf;
const SYNC_BIT = 1 << 4;
const dyingBit = (k: number): number => 1 << (4 + k);

function parseUpdaters(text: string): ScriptOp[][] {
  const parts = text.split('|').map((p) => p.trim());
  if (parts.length !== 2) throw new ModelConfigError(`tailcall-cached-target: --updaters takes two scripts separated by '|', got ${parts.length}`);
  const scripts = parts.map((p) => {
    try {
      return parseScript(p);
    } catch (e) {
      throw new ModelConfigError(`tailcall-cached-target: ${(e as ScriptError).message}`);
    }
  });
  if (scripts.flat().some((o) => o.key !== 0)) throw new ModelConfigError('tailcall-cached-target: the callers use key 0');
  const owners = new Map<number, number>();
  scripts.forEach((sc, u) => {
    for (const o of sc) {
      if (!o.prog) continue;
      if (owners.has(o.prog) && owners.get(o.prog) !== u) throw new ModelConfigError(`tailcall-cached-target: f${o.prog} is loaded by one updater only`);
      owners.set(o.prog, u);
    }
  });
  return scripts;
}

export function buildTailcallCachedTarget(cfg: ModelConfig): CheckableModel {
  const protocol = cfg.protocol as CachedTargetProtocol;
  if (!(protocol in CACHED_TARGET_PROTOCOLS)) throw new ModelConfigError(`tailcall-cached-target: unknown protocol '${cfg.protocol}'`);
  const N = cfg.cpus;
  if (!Number.isInteger(N) || N < 1 || N > 8) throw new ModelConfigError(`tailcall-cached-target: --cpus must be 1..8, got ${cfg.cpus}`);
  const pathName = cfg.options.path ?? 'static';
  if (pathName !== 'static' && pathName !== 'dynamic') throw new ModelConfigError(`tailcall-cached-target: --path must be static or dynamic, got '${pathName}'`);
  const updatersText = cfg.options.updaters ?? CACHED_DEFAULT_UPDATERS;
  const scripts = parseUpdaters(updatersText);
  const K = Math.max(0, ...scripts.flat().map((o) => o.prog));
  if (K > 3) throw new ModelConfigError('tailcall-cached-target: at most 3 programs (f1..f3)');

  // ---- the JIT: the static caller's tail call, a direct site, the programs ------------------
  const env = rfc2026Env();
  const off = env.cfg.profile.tail_call_offset; // X86_TAIL_CALL_OFFSET = bpf_arch_tail_call_prologue_offset()
  const lay = layoutOf(env);
  const callerBytes = emit_bpf_tail_call_indirect_rfc2026(STATIC_CALLER_IP, [], 0, { max_entries: CACHED_MAX_ENTRIES, dyn_array: pathName === 'dynamic' }, env);
  const path = tail_call_path(callerBytes, STATIC_CALLER_IP);
  const loadAt = path.findIndex((s) => s.op.op === 'load_slot');
  const load = path[loadAt].op;
  if (load.op !== 'load_slot') throw new Error('tailcall-cached-target: the tail call loads no slot');
  const slotIndex = (load.disp - lay.bpf_array_ptrs) / 8; // + rdx (the key, 0)
  const readsCache = slotIndex === CACHED_MAX_ENTRIES;
  if (!readsCache && slotIndex !== 0) throw new Error(`tailcall-cached-target: the load reads ptrs[${slotIndex}]`);
  const progs: BpfProg[] = TARGET_ADDRESSES.slice(0, K).map((bpf_func, k) => ({ name: `f${k + 1}`, bpf_func, len: 0x40 }));
  const entryOf = (k: number): bigint => progs[k - 1].bpf_func + BigInt(off);

  const poke = new_poke_descriptor('jmp_table', 0, 0);
  const directBytes = emit_bpf_tail_call_direct(poke, DIRECT_CALLER_IP, [], 0, env);
  const siteAddr = [poke.tailcall_bypass, poke.tailcall_target];
  const baseText = new TextMemory();
  baseText.map('direct_caller', DIRECT_CALLER_IP, directBytes);
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('direct_caller', DIRECT_CALLER_IP, directBytes.length);
  const sites = [0, 1].map(() => new BytesInterner(16, 'tailcall-cached-target: site contents'));
  const initialSite = [0, 1].map((s) => sites[s].intern(baseText.read(siteAddr[s], X86_PATCH_SIZE)));
  /** enc(ptrs[key]) of the direct site: (jmp out, nop5) when empty, (nop5, jmp fk+off) for fk. */
  const encBypass = Array.from({ length: K + 1 }, (_, k) => sites[0].intern(k ? NOP5 : emit_jump(poke.tailcall_bypass, poke.bypass_addr)));
  const encTarget = Array.from({ length: K + 1 }, (_, k) => sites[1].intern(k ? emit_jump(poke.tailcall_target, entryOf(k)) : NOP5));

  // ---- machines -------------------------------------------------------------------------------
  const cpu = compileMachine(cachedTargetCpuMachine, cachedCpuEvents(K));
  const ups = scripts.map((sc, u) => compileMachine(cachedTargetUpdaterMachine(sc, protocol, K, `updater${'AB'[u]}`), cachedUpdaterEvents(K)));
  if (cpu.names.length > 16 || ups.some((m) => m.names.length > 255)) throw new Error('tailcall-cached-target: machine too large to pack');
  const cpuStep = cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1));
  const cpuExec = cpu.meta.map((m) => m.exec as string | undefined);
  const cpuVal = cpu.contexts.map((c) => Number(c.val));
  const cpuProg = cpu.tags.map((t, i) => (t.has('in_prog') ? Number(cpu.contexts[i].prog) : 0));
  const upMeta = ups.map((m) => m.meta.map((x) => x.step as CachedStepMeta));
  const upBug = ups.map((m) => m.tags.map((t) => t.has('P4')));

  /** What the CPU's load step returns, given ptrs[0] and the cache (program numbers). */
  const loaded = (ptrs0: number, cache: number): number => cpu.eventIndex(`LOADED(val=${readsCache ? cache : ptrs0})`);
  /** The rest of the path after the load, for a loaded value: out, or the program whose tail-call entry rcx holds at the jump. */
  const jumpEvent = Array.from({ length: K + 1 }, (_, v) => {
    let rcx: { prog: number } | { addr: bigint } = readsCache ? { addr: v ? entryOf(v) : 0n } : { prog: v };
    for (const s of path.slice(loadAt + 1)) {
      const isZero = 'prog' in rcx ? rcx.prog === 0 : rcx.addr === 0n;
      if (s.op.op === 'je_out' && isZero) return cpu.eventIndex('EXEC_OUT');
      if (s.op.op === 'load_bpf_func') {
        if (!('prog' in rcx) || s.op.off !== lay.bpf_prog_bpf_func) throw new Error(`tailcall-cached-target: ${s.insn.text} does not load a program's bpf_func`);
        rcx = { addr: progs[rcx.prog - 1].bpf_func };
      }
      if (s.op.op === 'add_rcx') {
        if (!('addr' in rcx)) throw new Error(`tailcall-cached-target: ${s.insn.text} on a program pointer`);
        rcx = { addr: rcx.addr + BigInt(s.op.imm) };
      }
      if (s.op.op === 'jmp_rcx') {
        const target = 'addr' in rcx ? rcx.addr : -1n;
        const k = progs.findIndex((_, i) => entryOf(i + 1) === target) + 1;
        if (k === 0) throw new Error(`tailcall-cached-target: jmp *%rcx to ${hexAddr(target)}, no program's tail-call entry`);
        return cpu.eventIndex(`EXEC_JMP_PROG(prog=${k})`);
      }
    }
    throw new Error('tailcall-cached-target: the path ends without a jump');
  });

  // ---- pokes, memoised per (updater, state, content) ------------------------------------------
  const pokeCache = new Map<number, { ret: number; content: number }>();
  const pokeResult = (u: number, q: number, site: number, c: number): { ret: number; content: number } => {
    const key = (u * 256 + q) * 16 + c;
    let r = pokeCache.get(key);
    if (r === undefined) {
      const m = upMeta[u][q] as Extract<CachedStepMeta, { op: 'poke' }>;
      const text = new TextMemory();
      text.map('site', siteAddr[site], sites[site].bytes(c));
      const prog = (k: number): BpfProg | null => (k ? progs[k - 1] : null);
      const ret = doPokeStep({ text, kallsyms }, m.step, poke, prog(m.old_prog), prog(m.new_prog));
      r = { ret, content: sites[site].intern(text.read(siteAddr[site], X86_PATCH_SIZE)) };
      pokeCache.set(key, r);
    }
    return r;
  };

  // ---- packing ------------------------------------------------------------------------------
  const fields = new CpuFields(N, 2, 16);
  const gp = new GracePeriods(fields, Q, cpu.tags.map((t) => t.has('reader')));
  const upOf = (s: Int32Array, u: number): number => (s[0] >>> (8 * u)) & 0xff;
  const mutexOf = (s: Int32Array): number => (s[0] >>> 16) & 3;
  const ptrsOf = (s: Int32Array): number => (s[0] >>> 18) & 7;
  const cacheOf = (s: Int32Array): number => (s[0] >>> 21) & 7;
  const siteOf = (s: Int32Array, site: number): number => (s[1] >>> (4 * site)) & 0xf;
  const refsOf = (s: Int32Array, k: number): number => (s[1] >>> (8 + 4 * (k - 1))) & 3;
  const lifeOf = (s: Int32Array, k: number): number => (s[1] >>> (10 + 4 * (k - 1))) & 3;
  const setBits = (s: Int32Array, w: number, sh: number, mask: number, v: number): void => {
    s[w] = (s[w] & ~(mask << sh)) | ((v & mask) << sh);
  };
  const scratch: number[] = new Array(N).fill(0);

  /** Drops a reference to fk in `next`; the last one starts fk's grace period. */
  const put = (next: Int32Array, k: number): void => {
    const r = refsOf(next, k) - 1;
    if (r < 0) throw new Error(`tailcall-cached-target: f${k} put with no reference`);
    setBits(next, 1, 8 + 4 * (k - 1), 3, r);
    if (r === 0) {
      setBits(next, 1, 10 + 4 * (k - 1), 3, DYING);
      gp.start(next, dyingBit(k));
    }
  };

  const system: TransitionSystem = {
    width: 2 + fields.words,
    properties: CACHED_PROPERTIES,
    initial(out) {
      out.fill(0);
      out[0] = ups[0].initial | (ups[1].initial << 8);
      out[1] = initialSite[0] | (initialSite[1] << 4);
      for (let k = 1; k <= K; k++) setBits(out, 1, 8 + 4 * (k - 1), 3, 1); // the loader's fd
      for (let i = 0; i < N; i++) fields.set(out, i, cpu.initial);
    },
    expand(s, next, sink) {
      for (let i = 0; i < N; i++) {
        const f = fields.get(s, i);
        const q = f & Q;
        const e = cpuExec[q] === 'load' ? loaded(ptrsOf(s), cacheOf(s)) : cpuExec[q] === 'jump' ? jumpEvent[cpuVal[q]] : cpuStep[q];
        const nq = moveOrThrow(cpu, q, e, `tailcall-cached-target: cpu${i}`);
        next.set(s);
        fields.set(next, i, gp.moved(f, q, nq));
        sink(i);
      }
      for (let u = 0; u < 2; u++) {
        const q = upOf(s, u);
        const m = upMeta[u][q];
        const M = ups[u];
        let ev = M.eventIndex('STEP');
        next.set(s);
        switch (m.op) {
          case 'lock':
            if (mutexOf(s) !== 0) continue;
            setBits(next, 0, 16, 3, u + 1);
            ev = M.eventIndex('LOCK');
            break;
          case 'xchg':
            ev = M.eventIndex(`XCHG_OLD(old=${ptrsOf(s)})`);
            setBits(next, 0, 18, 7, m.new_prog);
            if (m.new_prog) setBits(next, 1, 8 + 4 * (m.new_prog - 1), 3, refsOf(s, m.new_prog) + 1);
            break;
          case 'cache_xchg':
            setBits(next, 0, 21, 7, m.new_prog);
            break;
          case 'poke': {
            const site = m.step.site === 'tailcall_bypass' ? 0 : 1;
            const r = pokeResult(u, q, site, siteOf(s, site));
            setBits(next, 1, 4 * site, 0xf, r.content);
            ev = M.eventIndex(`RET(ret=${r.ret})`);
            break;
          }
          case 'sync_start':
          case 'sync_wait': {
            const name = gp.synchronizeRcu(m.op, s, next, SYNC_BIT);
            if (!name) continue;
            ev = M.eventIndex(name);
            break;
          }
          case 'unlock':
            setBits(next, 0, 16, 3, 0);
            break;
          case 'put':
          case 'close':
            put(next, m.prog);
            break;
          default:
            continue; // done, bug
        }
        setBits(next, 0, 8 * u, 0xff, moveOrThrow(M, q, ev, `tailcall-cached-target: updater${'AB'[u]}`));
        sink(N + u);
      }
      for (let k = 1; k <= K; k++) {
        if (lifeOf(s, k) === DYING && !gp.pending(s, dyingBit(k))) {
          next.set(s);
          setBits(next, 1, 10 + 4 * (k - 1), 3, FREED);
          sink(N + 1 + k);
        }
      }
    },
    violations(s) {
      let v = 0;
      for (let i = 0; i < N; i++) {
        const k = cpuProg[fields.get(s, i) & Q];
        if (k && lifeOf(s, k) === FREED) v |= 1;
      }
      if (mutexOf(s) === 0) {
        if (cacheOf(s) !== ptrsOf(s)) v |= 2;
        if (siteOf(s, 0) !== encBypass[ptrsOf(s)] || siteOf(s, 1) !== encTarget[ptrsOf(s)]) v |= 4;
      }
      if (upBug[0][upOf(s, 0)] || upBug[1][upOf(s, 1)]) v |= 8;
      return v;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  const pname = (k: number): string => (k ? `f${k}` : 'NULL');
  const cacheText = (k: number): string => (k ? `${hexAddr(entryOf(k))} (${pname(k)}->bpf_func + ${off})` : '0');
  const stepsText = (steps: TailCallStep[]): string => steps.map((x) => `${x.insn.text.replace(/\s+/g, ' ')} [${hexBytes(x.bytes)}]`).join('; ');
  return {
    model: 'tailcall-cached-target',
    protocol,
    cpus: N,
    config: { updaters: scripts.map(scriptText).join(' | '), path: pathName },
    system,
    describe(before, after, action): StepView {
      if (action < N) {
        const q = fields.get(before, action) & Q;
        const nq = fields.get(after, action) & Q;
        const to = `-> ${cpu.names[nq]}`;
        if (cpuExec[q] === 'load') {
          const slot = readsCache ? `ptrs[max_entries + 0] = ${cacheText(cacheOf(before))}` : `ptrs[0] = ${pname(ptrsOf(before))}`;
          return { actor: `cpu${action}`, action: `executes ${stepsText(path.slice(0, loadAt + 1))}: loads ${slot} ${to}` };
        }
        if (cpuExec[q] === 'jump') {
          const k = cpuProg[nq];
          const freed = k && lifeOf(before, k) === FREED ? ` (${pname(k)} IS FREED)` : '';
          return { actor: `cpu${action}`, action: `executes ${stepsText(path.slice(loadAt + 1))}${k ? `: jumps to ${hexAddr(entryOf(k))}, ${pname(k)}${freed}` : ': rcx == 0, out'} ${to}` };
        }
        return { actor: `cpu${action}`, action: `${String(cpu.meta[q].doc)} ${to}` };
      }
      if (action < N + 2) {
        const u = action - N;
        const m = upMeta[u][upOf(before, u)];
        let text = m.doc;
        if (m.op === 'xchg') text += ` -> old = ${pname(ptrsOf(before))}`;
        if (m.op === 'cache_xchg') text += ` -> ${cacheText(cacheOf(after))}`;
        if (m.op === 'poke') {
          const site = m.step.site === 'tailcall_bypass' ? 0 : 1;
          text += ` = ${errnoName(pokeResult(u, upOf(before, u), site, siteOf(before, site)).ret)}`;
        }
        if (m.op === 'lock') text += ' (acquired)';
        if (m.op === 'sync_start') text += gp.waitsText(before);
        if ((m.op === 'put' || m.op === 'close') && lifeOf(after, m.prog) === DYING) text += `: last reference; ${pname(m.prog)} is freed after a grace period${gp.waitsText(before)}`;
        return { actor: `updater${'AB'[u]}`, action: text };
      }
      return { actor: 'rcu', action: `grace period over: frees ${pname(action - N - 1)}` };
    },
    sites(s): SiteView[] {
      return [0, 1].map((site) => {
        const b = sites[site].bytes(siteOf(s, site));
        return { name: site ? 'tailcall_target' : 'tailcall_bypass', address: hexAddr(siteAddr[site]), bytes: hexBytes(b), disasm: decodeInsn(b, siteAddr[site]).text };
      });
    },
    summary(s): string {
      const life = Array.from({ length: K }, (_, k) => `f${k + 1}:${['live', 'dying', 'freed'][lifeOf(s, k + 1)]}/${refsOf(s, k + 1)}ref`);
      const cpus = Array.from({ length: N }, (_, i) => {
        const f = fields.get(s, i);
        const marks = [f & SYNC_BIT ? 'gp' : '', ...progs.map((_, k) => (f & dyingBit(k + 1) ? `holds f${k + 1}` : ''))].filter(Boolean);
        return `cpu${i}=${cpu.names[f & Q]}${marks.length ? `[${marks.join(',')}]` : ''}`;
      });
      const mutex = ['free', 'A', 'B'][mutexOf(s)];
      return `ptrs[0]=${pname(ptrsOf(s))} ptrs[max_entries+0]=${cacheOf(s) ? `${pname(cacheOf(s))}+off` : 0} poke_mutex=${mutex} ${life.join(' ')} ${cpus.join(' ')} A=${ups[0].names[upOf(s, 0)]} B=${ups[1].names[upOf(s, 1)]}`;
    },
  };
}

export const tailcallCachedTarget: ModelDefinition = {
  name: 'tailcall-cached-target',
  summary: "Leon Hwang's 2026 RFC: the prog array caches each slot's tail-call target; two concurrent updaters, N CPUs jumping to the cached address",
  protocols: (Object.keys(CACHED_TARGET_PROTOCOLS) as CachedTargetProtocol[]).map((p) => ({ name: p, summary: CACHED_TARGET_PROTOCOLS[p] })),
  defaultProtocol: 'rfc-2026',
  defaultCpus: 1,
  options: [
    { name: 'updaters', default: CACHED_DEFAULT_UPDATERS, description: 'the two updaters\' scripts, separated by |, e.g. "update f1; remove | update f2"' },
    { name: 'path', values: ['static', 'dynamic'], default: 'static', description: "the CPUs' tail call: static (map known: jumps to the cached target) or dynamic (loads ptrs[key] and its bpf_func)" },
  ],
  reference: [
    { protocol: 'rfc-2026', cpus: 1, expected: 'holds' },
    { protocol: 'rfc-2026', cpus: 2, expected: 'holds' },
    { protocol: 'unlocked', cpus: 1, expected: 'violated', expectedViolated: ['P2', 'C1'] },
  ],
  build: buildTailcallCachedTarget,
};
