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
 * Written on the typed model layer (src/model/): the state is the layout
 * below, the actors are three steps (CPUs, updaters A and B, RCU frees),
 * the properties are predicates; synchronize_rcu and the delayed frees are
 * src/model/rcu.ts's GracePeriod and DelayedFrees.
 */
import type { BpfProg } from '../src/arraymap/prog.js';
import { protocolFileOption, readProtocolFile, shippedEntry, stepSource } from './tailcall-common.js';
import { shippedProtocol } from '../src/protocol/index.js';
import { CACHED_TARGET_PROTOCOLS, CACHE_POKE_RETURNS, cachedAnyOpsEvents, cachedAnyOpsUpdaterMachine, cachedTargetUpdaterMachine, cachedUpdaterEvents, type CachedStepMeta, type CachedTargetProtocol } from '../src/arraymap/cached_target.js';
import { userOpEvent, userOpText, userOps } from '../src/arraymap/user-space.js';
import { cachedCpuEvents, cachedTargetCpuMachine } from '../src/arraymap/cached_target_cpu.js';
import { ScriptError, parseScript, scriptText, type ScriptOp } from '../src/arraymap/updater.js';
import { compileMachine, eventName } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import type { PropertySpec } from '../src/concurrency/system.js';
import { layoutOf } from '../src/jit/x86/env.js';
import { emit_bpf_tail_call_indirect_rfc2026, rfc2026Env, tail_call_path, type TailCallStep } from '../src/jit/x86/tailcall_cached.js';
import { emit_bpf_tail_call_direct, new_poke_descriptor } from '../src/jit/x86/tailcall.js';
import { NOP5, X86_PATCH_SIZE, emit_jump, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { checkableModel, defineLayout, DecodedSites, DelayedFrees, DYING, FREED, GracePeriod, LIVE, type Property, type TypedModel } from '../src/model/index.js';
import { actorPart, GP_WAITS, nextStepText, progLifeText, stateLine, tailcallCpuText } from '../src/model/state-text.js';
import { TARGET_ADDRESSES, scratchPoke } from './tailcall-common.js';

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

const SITES = ['tailcall_bypass', 'tailcall_target'] as const;
const pname = (k: number): string => (k ? `f${k}` : 'NULL');

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

/**
 * The programs of the pool when user space may do anything (`--progs`, default 2: enough for ABA,
 * a program freed and loaded again at its address while the other is installed; with 3 the search
 * at 2 CPUs has 1.8 million states and the every-N check's embedding search outgrows its bound).
 */
function poolSize(cfg: ModelConfig): number {
  const v = cfg.options.progs ?? '2';
  if (!/^[1-3]$/.test(v)) throw new ModelConfigError(`tailcall-cached-target: --progs must be 1..3, got '${v}'`);
  return Number(v);
}

/**
 * The JIT side, for programs f1..fK: the static caller's tail call read
 * back from its bytes (which slot it loads; where it jumps for each value
 * loaded), the programs, and the other program's direct tail-call site
 * with the contents that encode each value of ptrs[key].
 */
function cachedTargetWorld(pathName: 'static' | 'dynamic', K: number) {
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

  /** The rest of the path after the load, per value loaded: 0 (out), or the program whose tail-call entry rcx holds at `jmp *%rcx`. */
  const landsIn = Array.from({ length: K + 1 }, (_, v) => {
    let rcx: { prog: number } | { addr: bigint } = readsCache ? { addr: v ? entryOf(v) : 0n } : { prog: v };
    for (const s of path.slice(loadAt + 1)) {
      const isZero = 'prog' in rcx ? rcx.prog === 0 : rcx.addr === 0n;
      if (s.op.op === 'je_out' && isZero) return 0;
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
        return k;
      }
    }
    throw new Error('tailcall-cached-target: the path ends without a jump');
  });

  // The direct site is in another program: no CPU of this model executes it, so it has no CPU events.
  const poke = new_poke_descriptor('jmp_table', 0, 0);
  const directBytes = emit_bpf_tail_call_direct(poke, DIRECT_CALLER_IP, [], 0, env);
  const baseText = new TextMemory();
  baseText.map('direct_caller', DIRECT_CALLER_IP, directBytes);
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('direct_caller', DIRECT_CALLER_IP, directBytes.length);
  const siteAddr = [poke.tailcall_bypass, poke.tailcall_target];
  const sites = new DecodedSites(
    'tailcall-cached-target',
    SITES.map((name, s) => ({ name, address: siteAddr[s], initial: baseText.read(siteAddr[s], X86_PATCH_SIZE) })),
    () => -1,
    16,
  );
  /** enc(ptrs[key]) of the direct site: (jmp out, nop5) when empty, (nop5, jmp fk+off) for fk. */
  const encBypass = Array.from({ length: K + 1 }, (_, k) => sites.intern(0, k ? NOP5 : emit_jump(poke.tailcall_bypass, poke.bypass_addr)));
  const encTarget = Array.from({ length: K + 1 }, (_, k) => sites.intern(1, k ? emit_jump(poke.tailcall_target, entryOf(k)) : NOP5));

  return { off, path, loadAt, readsCache, progs, entryOf, landsIn, poke, kallsyms, sites, encBypass, encTarget };
}

/**
 * The state: both updaters' machine states, poke_mutex's owner (0 free, 1 A,
 * 2 B), ptrs[0] and ptrs[max_entries + 0] as program numbers, the direct
 * site's contents, per program fk its references and its life; per CPU its
 * executor state and its marks in pending grace periods (synchronize_rcu,
 * fk's free).
 */
function cachedTargetLayout(N: number, K: number, anyOps: boolean) {
  return defineLayout({
    // with every sequence: user space's fds (one bit per program: the fd is open), and up to 4
    // references per program (its fd, the map's, an update's in flight from each updater)
    shared: { updater: [8, 2], poke_mutex: 2, slot: 3, cache: 3, bypass: 4, target: 4, refs: [anyOps ? 3 : 2, K], life: [2, K], fd: [1, anyOps ? K : 0] },
    cpus: { count: N, bits: 16, fields: { q: 4, sync: 1, holds: [1, K] } },
  });
}

export function buildTailcallCachedTarget(cfg: ModelConfig): TypedModel<'cpu' | 'updater' | 'rcu', ReturnType<typeof cachedTargetLayout>> {
  // --protocol-file: a file holding the whole map update, or only the functions it changes on top of protocols/rfc-2026.c.
  const fileProtocol = readProtocolFile(cfg, (f) => f.cachedProtocol(shippedProtocol('rfc-2026')));
  const protocol = cfg.protocol as CachedTargetProtocol;
  if (!fileProtocol && !(protocol in CACHED_TARGET_PROTOCOLS)) throw new ModelConfigError(`tailcall-cached-target: unknown protocol '${cfg.protocol}'`);
  const N = cfg.cpus;
  if (!Number.isInteger(N) || N < 1 || N > 8) throw new ModelConfigError(`tailcall-cached-target: --cpus must be 1..8, got ${cfg.cpus}`);
  const pathName = cfg.options.path ?? 'static';
  if (pathName !== 'static' && pathName !== 'dynamic') throw new ModelConfigError(`tailcall-cached-target: --path must be static or dynamic, got '${pathName}'`);
  // --updaters is one scenario; without it, each updater may do any sequence of operations.
  const anyOps = cfg.options.updaters === undefined;
  if (!anyOps && cfg.options.progs !== undefined) throw new ModelConfigError('tailcall-cached-target: --progs goes with every sequence of operations (no --updaters); the scripts name their programs');
  const scripts = anyOps ? [] : parseUpdaters(cfg.options.updaters!);
  const K = anyOps ? poolSize(cfg) : Math.max(0, ...scripts.flat().map((o) => o.prog));
  if (K > 3) throw new ModelConfigError('tailcall-cached-target: at most 3 programs (f1..f3)');

  // ---- the world: the JIT's bytes, the programs, the actors' machines ------------------------
  const { off, path, loadAt, readsCache, progs, entryOf, landsIn, poke, kallsyms, sites, encBypass, encTarget } = cachedTargetWorld(pathName, K);
  const L = cachedTargetLayout(N, K, anyOps);
  const cpu = compileMachine(cachedTargetCpuMachine, cachedCpuEvents(K));
  const updaterEvents = anyOps ? cachedAnyOpsEvents(K) : cachedUpdaterEvents(K);
  const updaterMachines = anyOps
    ? [0, 1].map((u) => cachedAnyOpsUpdaterMachine(K, fileProtocol ?? protocol, `updater${'AB'[u]}`))
    : scripts.map((sc, u) => cachedTargetUpdaterMachine(sc, fileProtocol ?? protocol, K, `updater${'AB'[u]}`));
  const ups = updaterMachines.map((m) => compileMachine(m, updaterEvents));
  if (cpu.names.length > L.cpu.q.mask + 1 || ups.some((m) => m.names.length > L.shared.updater.fields[0].max)) throw new Error('tailcall-cached-target: machine too large to pack');
  const EXEC_LOAD = 1;
  const EXEC_JUMP = 2;
  const cpuExec = cpu.meta.map((m) => (m.exec === 'load' ? EXEC_LOAD : m.exec === 'jump' ? EXEC_JUMP : 0));
  const cpuOwnStep = cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1));
  const cpuVal = cpu.contexts.map((c) => Number(c.val));
  const cpuProg = cpu.tags.map((t, i) => (t.has('in_prog') ? Number(cpu.contexts[i].prog) : 0));
  /** The CPU's events, looked up once: what its load returns (a program number), where its jump lands for each value loaded. */
  const evLoaded = Array.from({ length: K + 1 }, (_, v) => cpu.eventIndex(`LOADED(val=${v})`));
  const evJump = landsIn.map((k) => cpu.eventIndex(k ? `EXEC_JMP_PROG(prog=${k})` : 'EXEC_OUT'));
  const upMeta = ups.map((m) => m.meta.map((x) => x.step as CachedStepMeta));
  const upSite = upMeta.map((ms) => ms.map((m) => (m.op === 'poke' ? SITES.indexOf(m.step.site as (typeof SITES)[number]) : -1)));
  const upBug = ups.map((m) => m.tags.map((t) => t.has('P4')));
  /** The updaters' events, looked up once. */
  const upEv = ups.map((M) => ({
    STEP: M.eventIndex('STEP'),
    LOCK: M.eventIndex('LOCK'),
    GP_DONE: M.eventIndex('GP_DONE'),
    xchgOld: Array.from({ length: K + 1 }, (_, old) => M.eventIndex(`XCHG_OLD(old=${old})`)),
    ret: CACHE_POKE_RETURNS.map((r) => M.eventIndex(`RET(ret=${r})`)),
  }));

  /** A poke of updater u in state q on content c, through the real __bpf_arch_text_poke: its return and the content it leaves. Memoised. */
  const pokeCache: ({ ret: number; content: number; ev: number } | undefined)[] = [];
  const pokeResult = (u: number, qu: number, st: number, c: number): { ret: number; content: number; ev: number } => {
    const key = (u * 256 + qu) * 16 + c;
    let r = pokeCache[key];
    if (r === undefined) {
      const m = upMeta[u][qu] as Extract<CachedStepMeta, { op: 'poke' }>;
      const { ret, after } = scratchPoke(m, poke, sites.sites[st].address, sites.bytes(st, c), progs, kallsyms);
      r = pokeCache[key] = { ret, content: sites.intern(st, after), ev: upEv[u].ret[CACHE_POKE_RETURNS.indexOf(ret)] ?? -1 };
    }
    return r;
  };

  // ---- the state -----------------------------------------------------------------------------
  const { updater, poke_mutex, slot, cache, refs, life, fd } = L.shared;
  const content = [L.shared.bypass, L.shared.target];
  const { q, sync, holds } = L.cpu;
  const records = L.cpus!;
  const rcu = new GracePeriod(L, q, cpu.tags.map((t) => t.has('reader')));
  const frees = new DelayedFrees(rcu, life, holds);

  // ---- the actors ----------------------------------------------------------------------------
  /** CPU i takes its next step: enter, the load of the slot its bytes name, the rest of the path to its jump, return. */
  const cpuStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const f = records.get(s, i);
    const qq = q.of(f);
    const x = cpuExec[qq];
    const e = x === EXEC_LOAD ? evLoaded[readsCache ? cache.get(s) : slot.get(s)] : x === EXEC_JUMP ? evJump[cpuVal[qq]] : cpuOwnStep[qq];
    records.set(next, i, rcu.moved(f, qq, moveOrThrow(cpu, qq, e, `tailcall-cached-target: cpu${i}`)));
    return true;
  };

  /** Drops a reference to fk in `next`; the last one starts fk's grace period. */
  const put = (next: Int32Array, k: number): void => {
    const r = refs.get(next, k - 1) - 1;
    if (r < 0) throw new Error(`tailcall-cached-target: f${k} put with no reference`);
    refs.set(next, k - 1, r);
    if (r === 0) frees.put(next, k);
  };

  /** A new reference to fk in `next`. */
  const get = (next: Int32Array, k: number): void => {
    const r = refs.get(next, k - 1) + 1;
    if (r > refs.fields[k - 1].max) throw new Error(`tailcall-cached-target: f${k} has too many references to pack`);
    refs.set(next, k - 1, r);
  };
  const ops = userOps(K);
  const evUser = anyOps ? ups.map((M) => ops.map((o) => M.eventIndex(eventName(userOpEvent(o))))) : [];
  /**
   * User space's thread u, between two system calls, makes each call it can (one successor each).
   * An update looks its program's fd up first (`map_fd_get_ptr`: a reference the map then keeps),
   * taken with the choice (choosing is local to the thread: this hides no interleaving). A map
   * operation then waits for poke_mutex; when the mutex is free, one more successor takes it in the
   * same step too. That successor is two real steps in a row, and the one that stops before the
   * lock is kept, so no state or run is lost, and counterexamples stay as short as a script's.
   */
  const userSpace = (s: Int32Array, next: Int32Array, u: number, qu: number, emit: () => void): void => {
    const M = ups[u];
    for (let o = 0; o < ops.length; o++) {
      const op = ops[o];
      if ((op.op === 'update' || op.op === 'close') && !fd.get(s, op.prog - 1)) continue; // -EBADF: nothing happens
      if (op.op === 'load' && life.get(s, op.prog - 1) !== FREED) continue; // the pool's image is in use
      const nq = moveOrThrow(M, qu, evUser[u][o], `tailcall-cached-target: updater${'AB'[u]}`);
      const effects = (): void => {
        if (op.op === 'update') get(next, op.prog);
        if (op.op === 'close') {
          fd.set(next, op.prog - 1, 0);
          put(next, op.prog);
        }
        if (op.op === 'load') {
          life.set(next, op.prog - 1, LIVE);
          fd.set(next, op.prog - 1, 1);
          refs.set(next, op.prog - 1, 1);
        }
      };
      effects();
      updater.set(next, u, nq);
      emit(); // restores next to s
      if ((op.op === 'update' || op.op === 'delete') && poke_mutex.get(s) === 0) {
        effects();
        poke_mutex.set(next, u + 1);
        updater.set(next, u, moveOrThrow(M, nq, upEv[u].LOCK, `tailcall-cached-target: updater${'AB'[u]}`));
        emit();
      }
    }
  };

  /** Updater u (A, B) takes the next step of its script (src/arraymap/cached_target.ts). */
  const updaterStep = (s: Int32Array, next: Int32Array, u: number, emit: () => void): boolean => {
    const qu = updater.get(s, u);
    const m = upMeta[u][qu];
    const ev = upEv[u];
    let e = ev.STEP;
    switch (m.op) {
      case 'choose':
        userSpace(s, next, u, qu, emit);
        return false;
      case 'lock':
        if (poke_mutex.get(s) !== 0) return false;
        poke_mutex.set(next, u + 1);
        e = ev.LOCK;
        break;
      case 'xchg':
        e = ev.xchgOld[slot.get(s)];
        slot.set(next, m.new_prog);
        // a script's update takes the map's reference here; user space's took it at the fd lookup
        if (m.new_prog && !anyOps) refs.set(next, m.new_prog - 1, refs.get(s, m.new_prog - 1) + 1);
        break;
      case 'cache_xchg':
        cache.set(next, m.new_prog);
        break;
      case 'poke': {
        const st = upSite[u][qu];
        const r = pokeResult(u, qu, st, content[st].get(s));
        content[st].set(next, r.content);
        e = r.ev;
        break;
      }
      case 'sync_start':
        rcu.start(next, sync);
        break;
      case 'sync_wait':
        if (rcu.pending(s, sync)) return false;
        e = ev.GP_DONE;
        break;
      case 'unlock':
        poke_mutex.set(next, 0);
        break;
      case 'put':
      case 'close':
        put(next, m.prog);
        break;
      default:
        return false; // done, bug
    }
    updater.set(next, u, moveOrThrow(ups[u], qu, e, `tailcall-cached-target: updater${'AB'[u]}`));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const properties: Property[] = [
    {
      ...CACHED_PROPERTIES[0],
      cpus: 1,
      violated: (s) => {
        for (let i = 0; i < N; i++) {
          const k = cpuProg[q.get(s, i)];
          if (k && frees.lifeOf(s, k) === FREED) return true;
        }
        return false;
      },
    },
    { ...CACHED_PROPERTIES[1], cpus: 0, violated: (s) => poke_mutex.get(s) === 0 && cache.get(s) !== slot.get(s) },
    { ...CACHED_PROPERTIES[2], cpus: 0, violated: (s) => poke_mutex.get(s) === 0 && (content[0].get(s) !== encBypass[slot.get(s)] || content[1].get(s) !== encTarget[slot.get(s)]) },
    { ...CACHED_PROPERTIES[3], cpus: 0, violated: (s) => upBug[0][updater.get(s, 0)] || upBug[1][updater.get(s, 1)] },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const cacheText = (k: number): string => (k ? `${hexAddr(entryOf(k))} (${pname(k)}->bpf_func + ${off})` : '0');
  const stepsText = (steps: TailCallStep[]): string => steps.map((x) => `${x.insn.text.replace(/\s+/g, ' ')} [${hexBytes(x.bytes)}]`).join('; ');
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    const to = `-> ${cpu.names[nq]}`;
    if (cpuExec[qq] === EXEC_LOAD) {
      const loads = readsCache ? `ptrs[max_entries + 0] = ${cacheText(cache.get(before))}` : `ptrs[0] = ${pname(slot.get(before))}`;
      return `executes ${stepsText(path.slice(0, loadAt + 1))}: loads ${loads} ${to}`;
    }
    if (cpuExec[qq] === EXEC_JUMP) {
      const k = cpuProg[nq];
      const freed = k && frees.lifeOf(before, k) === FREED ? ` (${pname(k)} IS FREED)` : '';
      return `executes ${stepsText(path.slice(loadAt + 1))}${k ? `: jumps to ${hexAddr(entryOf(k))}, ${pname(k)}${freed}` : ': rcx == 0, out'} ${to}`;
    }
    return `${String(cpu.meta[qq].doc)} ${to}`;
  };
  const describeUpdater = (before: Int32Array, after: Int32Array, u: number): string => {
    const qu = updater.get(before, u);
    const m = upMeta[u][qu];
    let text = m.doc;
    if (m.op === 'xchg') text += ` -> old = ${pname(slot.get(before))}`;
    if (m.op === 'cache_xchg') text += ` -> ${cacheText(cache.get(after))}`;
    if (m.op === 'poke') text += ` = ${errnoName(pokeResult(u, qu, upSite[u][qu], content[upSite[u][qu]].get(before)).ret)}`;
    if (m.op === 'lock') text += ' (acquired)';
    if (m.op === 'sync_start') text += rcu.waitsText(before);
    if ((m.op === 'put' || m.op === 'close') && frees.lifeOf(after, m.prog) === DYING) text += `: last reference; ${pname(m.prog)} is freed after a grace period${rcu.waitsText(before)}`;
    if (m.op === 'choose') {
      // the call whose effects lead to the state after
      const value = ups[u].values[updater.get(after, u)];
      const o = ops.find((op) =>
        op.op === 'update' ? value.startsWith(`update_f${op.prog}/`) : op.op === 'delete' ? value.startsWith('delete/') : op.op === 'close' ? fd.get(before, op.prog - 1) && !fd.get(after, op.prog - 1) : life.get(before, op.prog - 1) === FREED && life.get(after, op.prog - 1) === LIVE,
      );
      text = `user space: ${o ? userOpText(o) : '?'}`;
      if (o?.op === 'update') text += `; map_fd_get_ptr: bpf_prog_get(f${o.prog})`;
      if ((o?.op === 'update' || o?.op === 'delete') && poke_mutex.get(after) === u + 1) text += '; mutex_lock(&poke_mutex) (acquired)';
      if (o?.op === 'close' && frees.lifeOf(after, o.prog) === DYING) text += `; the last reference: f${o.prog} is freed after a grace period${rcu.waitsText(before)}`;
    }
    return text;
  };
  const covers = `every sequence of map operations by each of 2 updaters over keys {0} and programs {${Array.from({ length: K }, (_, k) => `f${k + 1}`).join(', ')}} (addresses reused)`;

  return checkableModel({
    model: 'tailcall-cached-target',
    protocol: fileProtocol?.name ?? protocol,
    cpus: N,
    config: anyOps ? { 'user-space': covers, path: pathName } : { updaters: scripts.map(scriptText).join(' | '), path: pathName },
    layout: L,
    initial(s) {
      updater.set(s, 0, ups[0].initial);
      updater.set(s, 1, ups[1].initial);
      content[0].set(s, sites.initial[0]);
      content[1].set(s, sites.initial[1]);
      for (let k = 0; k < K; k++) refs.set(s, k, 1); // the loader's fd
      for (let k = 0; k < fd.length; k++) fd.set(s, k, 1); // user space starts holding every program's fd
      for (let i = 0; i < N; i++) q.set(s, i, cpu.initial);
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'updater', count: 2, next: updaterStep },
      frees.step(),
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      if (a.actor === 'updater') {
        const m = upMeta[a.i][updater.get(before, a.i)];
        return { actor: `updater${'AB'[a.i]}`, action: describeUpdater(before, after, a.i), source: 'source' in m ? stepSource(m.source) : undefined };
      }
      return { actor: 'rcu', action: `grace period over: frees ${pname(a.i + 1)}` };
    },
    sites: (s) => [0, 1].map((st) => sites.view(st, content[st].get(s))),
    summary(s) {
      const lives = Array.from({ length: K }, (_, k) => `${progLifeText(k + 1, life.get(s, k), anyOps ? fd.get(s, k) === 1 : undefined)}, ${refs.get(s, k)} reference${refs.get(s, k) === 1 ? '' : 's'}`);
      const cpus = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const v = cpu.values[qq];
        const val = Number(cpu.contexts[qq].val ?? 0);
        const text = v === 'caller' ? 'in the caller, at the tail call: next loads its target' : v === 'loaded' ? `loaded ${val ? `f${val}` : 'NULL'}: next jmp *%rcx` : tailcallCpuText(v, cpu.contexts[qq]);
        return actorPart(`cpu${i}`, text, [sync.get(s, i) ? GP_WAITS : '', ...Array.from({ length: K }, (_, k) => (holds.get(s, i, k) ? `f${k + 1}'s free waits for it` : ''))]);
      });
      const mutex = ['free', 'held by updaterA', 'held by updaterB'][poke_mutex.get(s)];
      const c = cache.get(s);
      return stateLine([
        `ptrs[0]=${pname(slot.get(s))}`,
        `ptrs[max_entries+0]=${c ? `${pname(c)}+off` : 0}`,
        `poke_mutex ${mutex}`,
        ...lives,
        ...cpus,
        ...[0, 1].map((a) => actorPart(`updater${'AB'[a]}`, nextStepText(ups[a], updater.get(s, a)))),
      ]);
    },
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      return [
        { name: 'cpu', title: "CPU taking the RFC's tail call (src/arraymap/cached_target_cpu.ts)", machine: cachedTargetCpuMachine, events: cachedCpuEvents(K), violationTags: bad },
        ...updaterMachines.map((machine, u) => ({
          name: `updater${'AB'[u]}`,
          title: anyOps ? `updater ${'AB'[u]}: user space doing any operation, ${fileProtocol?.name ?? protocol} (src/arraymap/cached_target.ts)` : `updater ${'AB'[u]}, ${fileProtocol?.name ?? protocol} (src/arraymap/cached_target.ts)`,
          machine,
          events: updaterEvents,
          violationTags: new Set(['P4']),
        })),
      ];
    },
  });
}

export const tailcallCachedTarget: ModelDefinition = {
  name: 'tailcall-cached-target',
  summary: "Leon Hwang's 2026 RFC: the prog array caches each slot's tail-call target; two concurrent updaters, N CPUs jumping to the cached address",
  protocols: (Object.keys(CACHED_TARGET_PROTOCOLS) as CachedTargetProtocol[]).map((p) => shippedEntry(p, CACHED_TARGET_PROTOCOLS[p])),
  defaultProtocol: 'rfc-2026',
  defaultCpus: 1,
  options: [
    { name: 'updaters', default: '(none: every sequence)', description: `one scenario: the two updaters' scripts, separated by |, e.g. "${CACHED_DEFAULT_UPDATERS}" or "update f1; remove | update f2". Without it, each updater may do any sequence of updates, deletes, closes and loads (addresses reused)` },
    { name: 'progs', default: '2', description: 'without --updaters: the pool of programs f1..fN user space loads, installs and closes (1..3)' },
    protocolFileOption(Object.keys(CACHED_TARGET_PROTOCOLS)),
    { name: 'path', values: ['static', 'dynamic'], default: 'static', description: "the CPUs' tail call: static (map known: jumps to the cached target) or dynamic (loads ptrs[key] and its bpf_func)" },
  ],
  reference: [
    { protocol: 'rfc-2026', cpus: 1, expected: 'holds' },
    { protocol: 'rfc-2026', cpus: 2, expected: 'holds' },
    { protocol: 'unlocked', cpus: 1, expected: 'violated', expectedViolated: ['P2', 'C1'] },
    // every number of CPUs and every sequence of operations by each updater (the default user space),
    // by the checked cutoff (docs/proofs.md). unlocked over the pool {f1}: a violation there is one over
    // any larger pool, and with {f1, f2} the embedding search outgrows its bound (docs/performance.md).
    { protocol: 'rfc-2026', cpus: 2, every: true, expected: 'holds' },
    { protocol: 'unlocked', cpus: 2, every: true, options: { progs: '1' }, expected: 'violated', expectedViolated: ['P2', 'C1'] },
  ],
  build: buildTailcallCachedTarget,
};
