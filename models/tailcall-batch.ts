/**
 * Model `tailcall-batch`: a loop that changes every entry of a prog array
 * one element at a time (a BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH, or
 * the clear that runs when the map's last user reference goes), concurrent
 * with a second user thread updating key 0 and with N CPUs executing the
 * caller's direct tail call through key 0 (issue 19, part 2).
 *
 * The world is tailcall-poke's (models/tailcall-common.ts): the oracle's
 * caller_d0 JIT image with its two patch sites for key 0, real bytes, every
 * poke through `__bpf_arch_text_poke` / `bpf_arch_text_poke`, a CPU's move
 * decoded from the bytes it fetches, the update protocol of protocols/*.c
 * (`--desc-update`). The map has `--entries` M keys; only key 0 has a tracked
 * descriptor, so an element on key k >= 1 is poke_mutex, xchg, a poke_run
 * that finds nothing, unlock and put, in one step.
 *
 * The loops (`--protocol`, src/arraymap/batch.ts has the versions and their
 * commits) take poke_mutex per element, as the single-element path does,
 * never for the whole loop: the second thread's operations interleave
 * between elements, and its pokes and the loop's are ordered by the mutex.
 *
 * Properties: tailcall-poke's P1-P4, and
 *   P6  a batch that returns reports in batch.count exactly the number of
 *       elements it applied, and those are its first ones (0..count-1);
 *   P7  no element is half-applied: whenever poke_mutex is free, the bytes
 *       at the site send a CPU where ptrs[0] says (the program in it, or
 *       out when it is empty);
 *   P8  the loop applies no more than K (`--resched-bound`) elements between
 *       two points where its task may reschedule (cond_resched(), or the
 *       sleep in a synchronize_rcu() of the update protocol).
 * K is chosen as the granularity of the fixed kernels, which reschedule after
 * every element (K = 1). What an RCU stall needs is a run between two
 * rescheduling points that grows with the map (max_entries x the cost of one
 * poke_run past rcu_cpu_stall_timeout); a loop with no point inside it runs
 * M elements, so it violates the bound at every M > K, and the check at one
 * (M, K) with M > K is the finite instance of "bounded independently of M".
 *
 * Choices where the kernel leaves it open: a failure of copy_from_user (at
 * any element) and of the allocations before the loop are nondeterministic
 * choices of the batch thread; a contended mutex_lock also sleeps, but the
 * bound is on the uncontended run, so P8 does not count it; user space holds
 * the fds of the programs it passes (f1 for an update batch, the second
 * thread's), while in a delete or a clear only the map holds f1, which is
 * freed after a grace period when it leaves key 0.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { cpuEvents, tailCallCpuMachine } from '../src/concurrency/cpu.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import { BATCH_LOOPS, batchEvents, batchMachine, keyUpdaterMachine, type BatchOp, type BatchStepMeta } from '../src/arraymap/batch.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import { POKE_RETURNS, ScriptError, parseScript, scriptPrograms, scriptText, updaterEvents, type ScriptOp, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { X86_PATCH_SIZE, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { __bpf_arch_text_poke } from '../src/poke/text_poke.js';
import { siteEvents, pokeSiteMachine } from '../src/poke/site-machine.js';
import { checkableModel, defineLayout, DecodedSites, DelayedFrees, DYING, FREED, GracePeriod, type Property } from '../src/model/index.js';
import { actorPart, nextStepText, progLifeText, stateLine, tailcallCpuText, updaterStateText } from '../src/model/state-text.js';
import { PROPERTIES, SITES, TAILCALL_POKE_PROTOCOLS, callerProfile, executorEventOf, executorTables, executorStep, progName, scratchPoke, siteDecls, stepSource, tailcallPokeWorld } from './tailcall-common.js';
import type { CompiledMachine } from '../src/concurrency/compile.js';

const M_NAME = 'tailcall-batch';
/** The second thread's default operations on key 0: an update, then a delete (which can empty the key under a delete batch). */
const DEFAULT_SECOND = 'update f2; remove';
/** tailcall-poke's protocols, and v6.7 (v5.10's order through __bpf_arch_text_poke, the protocol of the kernels 4406942e65ca patches). */
const DESC_UPDATES: readonly string[] = [...TAILCALL_POKE_PROTOCOLS, 'v6.7'];

/** The batch-specific properties (P5 is tailcall-poke's byte level). */
export const BATCH_PROPERTIES = {
  P6: 'a batch that returns reports in batch.count exactly the elements it applied, and they are its first ones (0..count-1)',
  P7: 'no element is half-applied: whenever poke_mutex is free, the site sends a CPU where ptrs[0] says',
  P8: 'the loop applies at most K element(s) between two points where its task may reschedule',
} as const;

function intOption(cfg: ModelConfig, name: string, def: number, lo: number, hi: number): number {
  const v = cfg.options[name] ?? String(def);
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new ModelConfigError(`${M_NAME}: --${name} must be ${lo}..${hi}, got '${v}'`);
  return Number(v);
}

/**
 * The state: the two threads' machine states, the A-D site machine, ptrs[0] and the other keys'
 * occupancy, both sites' contents, f_k's life, batch.count, which elements the batch applied, its
 * work since the last rescheduling point; per CPU its executor state and grace-period marks (one
 * per thread, whose synchronize_rcu() calls may overlap).
 */
export function tailcallBatchLayout(N: number, M: number, P: number) {
  return defineLayout({
    shared: { batch: 8, second: 8, site: 8, slot: 2, occ: [1, M - 1], bypass: 8, target: 8, life: [2, P], count: 3, applied: [1, M], work: 3 },
    cpus: { count: N, bits: 16, fields: { q: 4, sync: 1, sync2: 1, holds: [1, P] } },
  });
}

export function buildTailcallBatch(cfg: ModelConfig): CheckableModel {
  const version = BATCH_LOOPS[cfg.protocol];
  if (!version) throw new ModelConfigError(`${M_NAME}: unknown protocol '${cfg.protocol}' (protocols: ${Object.keys(BATCH_LOOPS).join(', ')})`);
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 64) throw new ModelConfigError(`${M_NAME}: --cpus must be 1..64, got ${cfg.cpus}`);
  const batch = version.kind === 'batch';
  if (!batch && cfg.options.op !== undefined) throw new ModelConfigError(`${M_NAME}: --op goes with a batch protocol; ${cfg.protocol} is the clear, which deletes every entry`);
  const opText = cfg.options.op ?? 'update';
  if (opText !== 'update' && opText !== 'delete') throw new ModelConfigError(`${M_NAME}: --op must be update or delete, got '${opText}'`);
  const op: BatchOp = batch ? opText : 'delete';
  const update = op === 'update';
  const M = intOption(cfg, 'entries', 3, 1, 4);
  const K = intOption(cfg, 'resched-bound', 1, 1, 5);
  const descName = cfg.options['desc-update'] ?? 'v5.10';
  if (!DESC_UPDATES.includes(descName)) throw new ModelConfigError(`${M_NAME}: --desc-update must be one of ${DESC_UPDATES.join(', ')}, got '${descName}'`);
  const protocol = PROTOCOLS[descName];
  const scriptOpt = cfg.options.script ?? DEFAULT_SECOND;
  let script: ScriptOp[] = [];
  if (scriptOpt !== 'none') {
    try {
      script = parseScript(scriptOpt);
    } catch (e) {
      throw new ModelConfigError(`${M_NAME}: --script: ${(e as ScriptError).message}`);
    }
    if (script.length > 4) throw new ModelConfigError(`${M_NAME}: --script: at most 4 operations`);
    if (script.some((o) => o.key !== 0)) throw new ModelConfigError(`${M_NAME}: --script: the second thread works on key 0 (the caller's site)`);
    if (script.some((o) => o.op === 'update' && (o.prog < 2 || o.prog > 3))) throw new ModelConfigError(`${M_NAME}: --script: the second thread installs f2 or f3 (f1 is the batch's)`);
  }
  const P = Math.max(1, scriptPrograms(script));
  const N = cfg.cpus;

  // ---- the world: the caller's bytes, the programs, the actors' machines ---------------------
  const world = tailcallPokeWorld(P, callerProfile(descName)); // the caller as the descriptor update's kernel emits it
  const poke = world.caller.pokes[0];
  const tailEntry = world.progs.map((p) => p.bpf_func + BigInt(poke.adj_off));
  // A delete or a clear starts from a full map: f1 in key 0, installed at load by
  // bpf_tail_call_direct_fixup (target jump written, then the bypass opened).
  const populated = !update;
  if (populated) {
    const r1 = __bpf_arch_text_poke(world.text, poke.tailcall_target, 'BPF_MOD_JUMP', null, tailEntry[0]);
    const r2 = __bpf_arch_text_poke(world.text, poke.tailcall_bypass, 'BPF_MOD_JUMP', poke.bypass_addr, null);
    if (r1 !== 0 || r2 !== 0) throw new Error(`${M_NAME}: installing f1 at load returned ${r1}, ${r2}`);
  }
  /** user space holds the fd of f_k (the program is never freed while it does) */
  const fdHeld = world.progs.map((_, k) => k > 0 || update);

  const cpu = compileMachine(tailCallCpuMachine, cpuEvents(P));
  const bm = compileMachine(batchMachine(version, op, M, P, 1, protocol), batchEvents(P));
  const um = compileMachine(keyUpdaterMachine(script.length ? script : [{ op: 'delete', key: 0, prog: 0 }], P, protocol), updaterEvents(P));
  const siteM = compileMachine(pokeSiteMachine, siteEvents(P));
  if (bm.names.length >= 1 << 8 || um.names.length >= 1 << 8 || siteM.names.length >= 1 << 8 || cpu.names.length > 16) throw new ModelConfigError(`${M_NAME}: machine too large to pack`);
  const exec = executorTables(cpu);
  const siteForbidden = siteM.tags.map((t) => t.has('forbidden'));
  const machines = [bm, um];
  const metas = machines.map((m) => m.meta.map((x) => x.step as BatchStepMeta));
  const bug = machines.map((m) => m.tags.map((t) => t.has('P4')));
  const ev = (m: CompiledMachine, name: string): number => m.eventIndex(name);
  const evs = machines.map((m) => ({
    step: ev(m, 'STEP'),
    gp: ev(m, 'GP_DONE'),
    xchg: Array.from({ length: P + 1 }, (_, old) => ev(m, `XCHG_OLD(old=${old})`)),
    ret: POKE_RETURNS.map((r) => ev(m, `RET(ret=${r})`)),
  }));
  const evAlloc = [ev(bm, 'ALLOC(ok=0)'), ev(bm, 'ALLOC(ok=1)')];
  const evCopy = [ev(bm, 'COPY(ok=0)'), ev(bm, 'COPY(ok=1)')];

  // ---- the sites: bytes decoded for the CPUs and for the A-D site machine ---------------------
  const executorEvent = executorEventOf(cpu, world);
  const sites = new DecodedSites(M_NAME, siteDecls(world), (_s, insn) => executorEvent(insn));
  const siteEventOf: number[][] = [[], []];
  const siteEvent = (s: number, c: number): number => {
    let e = siteEventOf[s][c];
    if (e === undefined) {
      const insn = sites.decode(s, c);
      const k = insn?.kind === 'jmp' && insn.target !== undefined ? tailEntry.indexOf(insn.target) : -1;
      if (insn?.kind === 'nop' && insn.len === X86_PATCH_SIZE) e = siteM.eventIndex(s === 0 ? 'BYPASS_NOP' : 'TARGET_NOP');
      else if (insn?.kind === 'jmp' && insn.target === poke.bypass_addr) e = s === 0 ? siteM.eventIndex('BYPASS_JMP_OUT') : -1;
      else e = k >= 0 && s === 1 ? siteM.eventIndex(`TARGET_JMP(prog=${k + 1})`) : -1;
      siteEventOf[s][c] = e;
    }
    return e;
  };
  const SE = siteM.events.length;
  const siteAfter = (ss: number, st: number, c: number): number => {
    const sev = siteEvent(st, c);
    const nss = sev < 0 ? -1 : siteM.next[ss * SE + sev];
    if (nss < 0) throw new Error(`${M_NAME}: the poke site machine cannot follow ${hexBytes(sites.bytes(st, c))} at ${SITES[st]}`);
    return nss;
  };
  const siteInitial = populated ? siteAfter(siteAfter(siteM.initial, 1, sites.initial[1]), 0, sites.initial[0]) : siteM.initial;
  /** where the site sends a CPU, by A-D state: f_k for B (bypass nop, target jmp f_k), out (0) otherwise */
  const dispatch = siteM.values.map((v, i) => (v === 'B' ? Number(siteM.contexts[i].target) : 0));

  /** A poke of machine a's state u on content c, through the real __bpf_arch_text_poke: (index of its return << 8) | new content. Memoised. */
  const pokeCache = machines.map((m) => new Int32Array(m.names.length * 256).fill(-1));
  const pokeSite = (a: number, u: number): number => {
    const m = metas[a][u];
    return m.op === 'poke' ? SITES.indexOf(m.step.site) : -1;
  };
  const pokeResult = (a: number, u: number, c: number): number => {
    const key = u * 256 + c;
    let r = pokeCache[a][key];
    if (r < 0) {
      const m = metas[a][u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const st = pokeSite(a, u);
      const { ret, after } = scratchPoke(m, poke, sites.sites[st].address, sites.bytes(st, c), world.progs, world.kallsyms);
      if (POKE_RETURNS.indexOf(ret) < 0) throw new Error(`${M_NAME}: unexpected poke return ${ret}`);
      r = (POKE_RETURNS.indexOf(ret) << 8) | sites.intern(st, after);
      pokeCache[a][key] = r;
    }
    return r;
  };

  // ---- the state -----------------------------------------------------------------------------
  const L = tailcallBatchLayout(N, M, P);
  const { slot, occ, life, count, applied, work, site } = L.shared;
  const thread = [L.shared.batch, L.shared.second];
  const content = [L.shared.bypass, L.shared.target];
  const { q, holds } = L.cpu;
  const marks = [L.cpu.sync, L.cpu.sync2];
  const rcu = new GracePeriod(L, q, exec.reader);
  const frees = new DelayedFrees(rcu, life, holds);

  /** Thread a is inside poke_mutex: between its xchg on key 0 and the end of that element's poke_run. */
  const inMutex = (a: number, s: Int32Array): boolean => {
    const op = metas[a][thread[a].get(s)].op;
    return op === 'poke' || op === 'sync_start' || op === 'sync_wait';
  };
  /** The program thread a took out of ptrs[0] and has not put yet (0: none). */
  const inFlightOld = (a: number, s: Int32Array): number => {
    const m = metas[a][thread[a].get(s)];
    return m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? (m.old_prog ?? 0) : m.op === 'put' ? m.prog : 0;
  };
  const unreferenced = (s: Int32Array, k: number, other: number): boolean => !fdHeld[k - 1] && slot.get(s) !== k && inFlightOld(other, s) !== k;
  /** One more element applied without a rescheduling point; saturates at K + 1 (the violation). */
  const bumpWork = (s: Int32Array, next: Int32Array): void => work.set(next, Math.min(K + 1, work.get(s) + 1));

  // ---- the actors ----------------------------------------------------------------------------
  /** CPU i executes its next instruction (tailcall-common.ts, as in tailcall-poke). */
  const { cpuStep } = executorStep(M_NAME, cpu, exec, sites, content, L, q, rcu);

  /** Thread a (0: the batch, 1: the second updater) takes its next step. */
  const threadStep = (a: number) => (s: Int32Array, next: Int32Array, _i: number, emit: () => void): boolean => {
    const m = machines[a];
    const u = thread[a].get(s);
    const meta = metas[a][u];
    const E = evs[a];
    const other = 1 - a;
    let e = -1;
    switch (meta.op) {
      case 'alloc':
      case 'copy': {
        // a choice of the thread: the allocation or the copy from user memory fails or succeeds
        const choice = meta.op === 'alloc' ? evAlloc : evCopy;
        thread[a].set(next, moveOrThrow(m, u, choice[0], `${M_NAME}: batch`));
        emit();
        e = choice[1];
        break;
      }
      case 'zero_count':
        count.set(next, 0);
        e = E.step;
        break;
      case 'xchg': {
        if (inMutex(other, s)) return false; // mutex_lock(&poke_mutex) waits
        const old = slot.get(s);
        e = E.xchg[old];
        slot.set(next, meta.new_prog);
        if (a === 0) {
          if (update || old !== 0) applied.set(next, 0, 1);
          bumpWork(s, next);
        }
        break;
      }
      case 'elem': {
        if (inMutex(other, s)) return false;
        const old = occ.get(s, meta.k - 1);
        e = E.xchg[old];
        occ.set(next, meta.k - 1, meta.new_prog);
        if (update || old !== 0) applied.set(next, meta.k, 1);
        bumpWork(s, next);
        break;
      }
      case 'poke': {
        const st = pokeSite(a, u);
        const c = content[st].get(s);
        const r = pokeResult(a, u, c);
        const nc = r & 0xff;
        e = E.ret[r >> 8];
        if (nc !== c) {
          content[st].set(next, nc);
          site.set(next, siteAfter(site.get(s), st, nc));
        }
        break;
      }
      case 'sync_start':
        e = E.step;
        rcu.start(next, marks[a]);
        break;
      case 'sync_wait':
        if (rcu.pending(s, marks[a])) return false;
        e = E.gp;
        if (a === 0) work.set(next, 0); // synchronize_rcu() slept: a rescheduling point
        break;
      case 'put':
        e = E.step;
        if (meta.last_ref === 'if-unreferenced' && unreferenced(s, meta.prog, other)) frees.put(next, meta.prog);
        break;
      case 'resched':
        e = E.step;
        work.set(next, 0);
        break;
      case 'copy_count':
        e = E.step;
        count.set(next, meta.cp);
        break;
      default:
        return false; // returned, done, bug
    }
    thread[a].set(next, moveOrThrow(m, u, e, `${M_NAME}: ${a === 0 ? 'batch' : 'updater'}`));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someCpu = (pred: (qq: number, s: Int32Array) => boolean) => (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (pred(q.get(s, i), s)) return true;
    return false;
  };
  const returned = metas[0].map((x) => x.op === 'returned');
  const appliedCount = (s: Int32Array): number => {
    let n = 0;
    for (let k = 0; k < M; k++) n += applied.get(s, k);
    return n;
  };
  const properties: Property[] = [
    { ...PROPERTIES[0], cpus: 1, violated: someCpu((qq) => exec.p1[qq]) },
    { ...PROPERTIES[1], cpus: 1, violated: someCpu((qq, s) => exec.inProg[qq] > 0 && frees.lifeOf(s, exec.inProg[qq]) === FREED) },
    { ...PROPERTIES[2], cpus: 0, violated: (s) => siteForbidden[site.get(s)] },
    { ...PROPERTIES[3], cpus: 0, checked: protocol.checks_old_bytes, violated: (s) => bug[0][thread[0].get(s)] || bug[1][thread[1].get(s)] },
    {
      id: 'P6',
      description: BATCH_PROPERTIES.P6,
      cpus: 0,
      checked: batch, // the clear reports nothing
      violated: (s) => {
        if (!returned[thread[0].get(s)]) return false;
        const c = count.get(s);
        if (c !== appliedCount(s)) return true;
        for (let k = 0; k < M; k++) if (applied.get(s, k) !== (k < c ? 1 : 0)) return true;
        return false;
      },
    },
    { id: 'P7', description: BATCH_PROPERTIES.P7, cpus: 0, violated: (s) => !inMutex(0, s) && !inMutex(1, s) && dispatch[site.get(s)] !== slot.get(s) },
    { id: 'P8', description: BATCH_PROPERTIES.P8.replace('K', `K = ${K}`), cpus: 0, violated: (s) => work.get(s) > K },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const keysText = (s: Int32Array): string => [progName(slot.get(s)), ...Array.from({ length: M - 1 }, (_, k) => (occ.get(s, k) ? `g${k + 1}` : 'NULL'))].join(', ');
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const to = cpu.names[q.get(after, i)];
    const fetch = exec.fetchSite[qq];
    if (fetch < 0) return `${String(cpu.meta[qq].doc)} -> ${to}`;
    const v = sites.view(fetch, content[fetch].get(before));
    return `executes ${v.disasm} [${v.bytes}] at ${v.name} ${v.address} -> ${to}`;
  };
  const describeThread = (a: number, before: Int32Array, after: Int32Array): string => {
    const u = thread[a].get(before);
    const meta = metas[a][u];
    const nu = thread[a].get(after);
    let text = meta.doc;
    switch (meta.op) {
      case 'alloc':
        text += metas[0][nu].op === 'returned' ? ' fails: return -ENOMEM' : ' succeeds';
        break;
      case 'copy':
        text += metas[0][nu].op === 'copy_count' ? ' faults: -EFAULT, the loop breaks' : ' succeeds';
        break;
      case 'xchg':
        text += ` -> old = ${progName(slot.get(before))}`;
        break;
      case 'elem':
        text += `: old = ${occ.get(before, meta.k - 1) ? `g${meta.k}` : 'NULL'}${!update && !occ.get(before, meta.k - 1) ? ' -> -ENOENT' : ''}`;
        break;
      case 'poke':
        text += ` = ${errnoName(POKE_RETURNS[pokeResult(a, u, content[pokeSite(a, u)].get(before)) >> 8])}`;
        if (bug[a][nu]) text += ' -> BUG_ON';
        break;
      case 'sync_start':
        text += rcu.waitsText(before);
        break;
      case 'put':
        if (frees.lifeOf(after, meta.prog) === DYING && frees.lifeOf(before, meta.prog) !== DYING) text += `: the last reference; f${meta.prog} is freed after a grace period${rcu.waitsText(before)}`;
        break;
      default:
        break;
    }
    if (a === 0 && work.get(after) > K && work.get(before) <= K) text += ` [element ${K + 1} in a row without a rescheduling point: more than K = ${K}]`;
    return text;
  };
  const threadSource = (a: number, s: Int32Array) => {
    const m = metas[a][thread[a].get(s)];
    return m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? stepSource(m.source) : undefined;
  };
  const opName = batch ? (update ? 'BPF_MAP_UPDATE_BATCH' : 'BPF_MAP_DELETE_BATCH') : 'bpf_fd_array_map_clear';

  return checkableModel({
    model: M_NAME,
    protocol: cfg.protocol,
    cpus: N,
    config: { loop: `${opName} over keys 0..${M - 1}${update ? ' (f1 into key 0)' : ''}`, 'desc-update': descName, second: script.length ? scriptText(script) : 'none', 'resched-bound': String(K) },
    layout: L,
    initial(s) {
      thread[0].set(s, bm.initial);
      thread[1].set(s, script.length ? um.initial : um.stateIndex('done'));
      site.set(s, siteInitial);
      content[0].set(s, sites.initial[0]);
      content[1].set(s, sites.initial[1]);
      if (populated) {
        slot.set(s, 1);
        for (let k = 0; k < M - 1; k++) occ.set(s, k, 1);
      }
      count.set(s, M); // batch.count: what user space asks for
      for (let i = 0; i < N; i++) q.set(s, i, cpu.initial);
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'batch', next: threadStep(0) },
      { actor: 'updater', next: threadStep(1) },
      frees.step(),
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      if (a.actor === 'batch') return { actor: batch ? 'batch' : 'clear', action: describeThread(0, before, after), source: threadSource(0, before) };
      if (a.actor === 'updater') return { actor: 'updater', action: describeThread(1, before, after), source: threadSource(1, before) };
      return { actor: 'rcu', action: `grace period over: frees f${a.i + 1}` };
    },
    sites: (s) => [0, 1].map((st) => sites.view(st, content[st].get(s))),
    summary(s) {
      const cpus = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const mk = [
          marks[0].get(s, i) ? `the ${batch ? 'batch' : 'clear'}'s synchronize_rcu() waits for it` : '',
          marks[1].get(s, i) ? "the updater's synchronize_rcu() waits for it" : '',
          ...Array.from({ length: P }, (_, k) => (holds.get(s, i, k) ? `f${k + 1}'s free waits for it` : '')),
        ];
        return actorPart(`cpu${i}`, tailcallCpuText(cpu.values[qq], cpu.contexts[qq]), mk);
      });
      const lives = Array.from({ length: P }, (_, k) => progLifeText(k + 1, life.get(s, k)));
      const counts = batch ? `batch.count=${count.get(s)} applied=${Array.from({ length: M }, (_, k) => applied.get(s, k)).join('')}` : '';
      const b = thread[0].get(s);
      const bMeta = bm.meta[b].step as { op: string; err?: string };
      const bText = bMeta.op === 'returned' ? `the system call returned${bMeta.err === '-ENOMEM' ? ' -ENOMEM' : ''}` : bMeta.op === 'done' ? 'done' : nextStepText(bm, b);
      const u = thread[1].get(s);
      return stateLine([
        `site ${siteM.values[site.get(s)]}`,
        `ptrs=[${keysText(s)}]`,
        ...lives,
        counts,
        `work=${work.get(s)}`,
        ...cpus,
        actorPart(batch ? 'batch' : 'clear', bText),
        actorPart('updater', updaterStateText(um.names[u], um.meta[u].step as UpdaterStepMeta, script)),
      ]);
    },
    actorMachines() {
      const bad = new Set(['forbidden', ...properties.map((p) => p.id)]);
      const actors = [
        { name: 'cpu', title: 'CPU executor of the direct tail call (src/concurrency/cpu.ts)', machine: tailCallCpuMachine, events: cpuEvents(P), violationTags: bad },
        { name: 'site', title: 'Poke site states A-D (src/poke/site-machine.ts)', machine: pokeSiteMachine, events: siteEvents(P), targets: ['A', 'B', 'C', 'D'], violationTags: bad },
        { name: 'batch', title: `${opName} under ${cfg.protocol}, ${M} entries, pokes by ${descName} (src/arraymap/batch.ts)`, machine: batchMachine(version, op, M, P, 1, protocol), events: batchEvents(P), violationTags: bad },
      ];
      if (script.length) actors.push({ name: 'updater', title: `Second thread on key 0: "${scriptText(script)}" under ${descName} (src/arraymap/batch.ts)`, machine: keyUpdaterMachine(script, P, protocol), events: updaterEvents(P), violationTags: bad });
      return actors;
    },
    group(s) {
      const ss = site.get(s);
      const meta = siteM.meta[ss];
      return { name: siteM.values[ss], doc: `bypass ${String(meta.bypass)}, target ${String(meta.target)}: ${String(meta.doc)}`, forbidden: siteForbidden[ss] };
    },
  });
}

export const tailcallBatch: ModelDefinition = {
  name: M_NAME,
  summary: 'a loop over every entry of a prog array (BPF_MAP_{UPDATE,DELETE}_BATCH\'s generic loop, or the clear), one poke_run per element, with a second updater and N CPUs on key 0\'s tail call',
  protocols: Object.entries(BATCH_LOOPS).map(([name, v]) => ({ name, summary: v.summary })),
  defaultProtocol: '06e5c999f102',
  defaultCpus: 2,
  options: [
    { name: 'op', values: ['update', 'delete'], default: 'update', protocols: Object.keys(BATCH_LOOPS).filter((n) => BATCH_LOOPS[n].kind === 'batch'), description: 'only with a batch protocol (the clear deletes): BPF_MAP_UPDATE_BATCH (f1 into key 0, g_k into the others) or BPF_MAP_DELETE_BATCH (every key) of a full map' },
    { name: 'entries', default: '3', description: 'the map\'s max_entries M, the keys the loop goes over (1..4); key 0 is the caller\'s' },
    { name: 'resched-bound', default: '1', description: 'K of P8: at most K elements between two rescheduling points (1..5)' },
    { name: 'desc-update', values: DESC_UPDATES, default: 'v5.10', description: 'the update protocol of each element\'s poke_run (protocols/*.c, as tailcall-poke --protocol)' },
    { name: 'script', default: DEFAULT_SECOND, description: 'the second thread\'s operations on key 0 (at most 4; programs f2, f3), or none' },
  ],
  reference: [
    { protocol: 'v5.6', cpus: 3, expected: 'violated', expectedViolated: ['P6', 'P8'] },
    { protocol: 'v5.6', cpus: 3, options: { op: 'delete' }, expected: 'violated', expectedViolated: ['P6', 'P8'] },
    { protocol: '75134f16e7dd', cpus: 3, expected: 'violated', expectedViolated: ['P6'] },
    { protocol: '06e5c999f102', cpus: 3, expected: 'holds' },
    { protocol: '06e5c999f102', cpus: 3, options: { op: 'delete' }, expected: 'holds' },
    { protocol: 'da765a2f5993', cpus: 3, expected: 'violated', expectedViolated: ['P8'] },
    { protocol: '4406942e65ca', cpus: 3, expected: 'holds' },
    { protocol: '06e5c999f102', cpus: 3, options: { op: 'delete', 'desc-update': 'no-sync' }, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: '06e5c999f102', cpus: 3, options: { 'desc-update': 'bypass-first' }, expected: 'violated', expectedViolated: ['P1', 'P3'] },
  ],
  build: buildTailcallBatch,
};
