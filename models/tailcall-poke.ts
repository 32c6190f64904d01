/**
 * Model `tailcall-poke`: one direct tail-call site, N CPUs, one updater
 * (docs/reference-verdicts.md section 1; docs/kernel-facts.md 1.4, 1.8, 1.9, 2, 3b).
 *
 * The caller is JIT-compiled by src/jit (stack depth 0, no callee-saved
 * registers: the oracle's `caller_d0`) at the address the real kernel gave
 * caller_d0; f1, f2, f3 are the oracle's target1..3. The two poke sites hold
 * real bytes; every poke goes through `__bpf_arch_text_poke` /
 * `bpf_arch_text_poke` on a TextMemory, and a CPU's move at a site comes from
 * decoding the bytes there. Both are memoised per (site content, step), so the
 * product is explored over packed integers.
 *
 * Written on the typed model layer (src/model/): the state is the layout
 * below, the actors are the three steps (CPUs, the updater, RCU frees), the
 * properties P1-P4 are predicates.
 *
 * Choices where the reference is silent: a program's user reference (its
 * fd) is held until its last use in the script, so `bpf_prog_put(old)` frees
 * it only if the script never installs it again; the free is a separate
 * step of the `rcu` actor once every CPU that was a reader at the put has
 * left; a CPU stuck in `fell_through` stays a reader.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { anyOpsEvents, anyOpsUpdaterMachine, userOpKey, userOpText } from '../src/arraymap/user-space.js';
import { cpuEvents, tailCallCpuMachineFor } from '../src/concurrency/cpu.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import { DEFAULT_SCRIPT, POKE_RETURNS, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { X86_PATCH_SIZE, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { siteEvents, pokeSiteMachine } from '../src/poke/site-machine.js';
import { POKE_METHODS } from '../src/poke/text_poke_bp.js';
import { checkableModel, defineLayout, DecodedSites, DelayedFrees, DYING, FREED, LIVE, GracePeriod, type Property } from '../src/model/index.js';
import { actorPart, GP_WAITS, progLifeText, stateLine, tailcallCpuText, updaterStateText } from '../src/model/state-text.js';
import { buildTailcallPokeByte } from './tailcall-poke-byte.js';
import { PROPERTIES, TAILCALL_POKE_PROTOCOLS, executorStep, anyOpsCovers, anyOpsUserSpace, callerProfile, poolSize, executorEventOf, sitesFor, executorTables, progName, scratchPoke, siteDecls, tailcallConfig, tailcallPokeWorld, updaterActor, updaterTables, protocolFileOption, shippedEntry, stepSource } from './tailcall-common.js';

export { CALLER_ADDRESS, TARGET_ADDRESSES, PROPERTIES, tailcallPokeWorld, type TailcallPokeWorld } from './tailcall-common.js';

/**
 * The state: the updater's and key 0's A-D site machine's states, ptrs[0], key 0's two sites'
 * contents, f_k's life; with two keys the same for key 1 after them (so that one key's layout is
 * unchanged); per CPU its executor state and grace-period marks.
 */
function tailcallPokeLayout(N: number, K: number, anyOps: boolean, keys: number) {
  const more = keys - 1;
  return defineLayout({
    // with every sequence of operations, user space's fds too (one bit per program: the fd is open)
    shared: { updater: 12, site: 8, slot: 4, bypass: 8, target: 8, life: [2, K], fd: [1, anyOps ? K : 0], siteMore: [8, more], slotMore: [4, more], bypassMore: [8, more], targetMore: [8, more] },
    cpus: { count: N, bits: 8, fields: { q: 4, sync: 1, holds: [1, K] } },
  });
}


/**
 * The keys of the prog array the caller has a direct tail call on (`--keys`). The default is one key
 * (the oracle's caller_d0): it keeps `check tailcall-poke` interactive at every N a user types (two
 * keys multiply the states by ~10-15: 369 K instead of 35 K at N = 2, 1.6 M at N = 3), and every
 * protocol's verdict rests on one descriptor's pokes. Two keys (caller_two) is the stronger claim
 * and one flag away; `check --all` proves v5.10 over two keys for every N (docs/proofs.md). A script
 * names key 0's operations, on caller_d0.
 */
export const DEFAULT_KEYS = 1;
export function keysOf(cfg: ModelConfig, anyOps: boolean): number {
  const v = cfg.options.keys;
  if (v === undefined) return DEFAULT_KEYS;
  if (!/^[12]$/.test(v)) throw new ModelConfigError(`tailcall-poke: --keys must be 1..2, got '${v}'`);
  if (!anyOps && v !== '1') throw new ModelConfigError('tailcall-poke: --keys goes with every sequence of operations (no --script); a script runs on key 0 of a caller with one tail call');
  return Number(v);
}

export function buildTailcallPoke(cfg: ModelConfig): CheckableModel {
  // A --script is one scenario; without one, user space may do any sequence of operations.
  const anyOps = cfg.options.script === undefined;
  if (!anyOps && cfg.options.progs !== undefined) throw new ModelConfigError('tailcall-poke: --progs goes with every sequence of operations (no --script); a script names its programs');
  const tc = tailcallConfig('tailcall-poke', cfg, TAILCALL_POKE_PROTOCOLS, 256, 3) // 256 CPUs: for sampling (pokecheck sample); a complete search stops far earlier;
  const { protocol, script } = tc;
  const K = anyOps ? poolSize(cfg) : tc.progs;
  const keys = keysOf(cfg, anyOps);
  const N = cfg.cpus;

  // ---- the world: the caller's bytes, the programs, the actors' machines ---------------------
  const world = tailcallPokeWorld(K, callerProfile(cfg.protocol, cfg.options['protocol-file']), keys);
  const SITES = sitesFor(keys);
  const pokes = world.caller.pokes;
  const poke = pokes[0];
  const cpuMachine = tailCallCpuMachineFor(keys);
  const cpu = compileMachine(cpuMachine, cpuEvents(K));
  const up = anyOps ? compileMachine(anyOpsUpdaterMachine(K, protocol, keys), anyOpsEvents(K, keys)) : compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  const siteM = compileMachine(pokeSiteMachine, siteEvents(K));
  if (up.names.length >= 1 << 12 || siteM.names.length >= 1 << 8 || cpu.names.length > 16) throw new Error('tailcall-poke: machine too large to pack');
  const exec = executorTables(cpu, SITES);
  const upT = updaterTables(up);
  const siteForbidden = siteM.tags.map((t) => t.has('forbidden'));
  const tailEntry = world.progs.map((p) => p.bpf_func + BigInt(poke.adj_off));

  /** What a CPU does on the bytes at a site (an event of its machine), and what the A-D site machine sees there. */
  const progOfJmp = (target: bigint | undefined): number => (target === undefined ? -1 : tailEntry.indexOf(target));
  const executorEvent = pokes.map((_, key) => executorEventOf(cpu, world, key));
  const sites = new DecodedSites('tailcall-poke', siteDecls(world), (s, insn) => executorEvent[s >> 1](insn));
  const siteEventOf: number[][] = SITES.map(() => []);
  /** The A-D site machine's event for content c at site s (key s >> 1's bypass when s is even, its target when odd). */
  const siteEvent = (s: number, c: number): number => {
    let e = siteEventOf[s][c];
    if (e === undefined) {
      const insn = sites.decode(s, c);
      const k = insn?.kind === 'jmp' ? progOfJmp(insn.target) : -1;
      const isBypass = (s & 1) === 0;
      if (insn?.kind === 'nop' && insn.len === X86_PATCH_SIZE) e = siteM.eventIndex(isBypass ? 'BYPASS_NOP' : 'TARGET_NOP');
      else if (insn?.kind === 'jmp' && insn.target === pokes[s >> 1].bypass_addr) e = isBypass ? siteM.eventIndex('BYPASS_JMP_OUT') : -1;
      else e = k >= 0 && !isBypass ? siteM.eventIndex(`TARGET_JMP(prog=${k + 1})`) : -1;
      siteEventOf[s][c] = e;
    }
    return e;
  };
  /** The updater's events, looked up once: a poke's return (by its index in POKE_RETURNS), xchg's old value. */
  const evRetAt = POKE_RETURNS.map(upT.evRet);
  const evXchgOf = Array.from({ length: K + 1 }, (_, old) => upT.evXchg(old));

  /** A poke of updater state u on content c, through the real __bpf_arch_text_poke: (index of its return in POKE_RETURNS << 8) | new content. Memoised. */
  const pokeCache = new Int32Array(up.names.length * 256).fill(-1);
  const pokeResult = (u: number, c: number): number => {
    const key = u * 256 + c;
    let r = pokeCache[key];
    if (r < 0) {
      const m = upT.meta[u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const s = upT.site[u];
      const { ret, after } = scratchPoke(m, pokes[m.key], sites.sites[s].address, sites.bytes(s, c), world.progs, world.kallsyms);
      r = (POKE_RETURNS.indexOf(ret) << 8) | sites.intern(s, after);
      if (r < 0) throw new Error(`tailcall-poke: unexpected poke return ${ret}`);
      pokeCache[key] = r;
    }
    return r;
  };
  // Number every content the pokes can write, before the search and in a fixed order, so that a
  // content's id does not depend on discovery order (a parallel search's workers must agree).
  for (let grew = true; grew; ) {
    grew = false;
    for (let u = 0; u < upT.meta.length; u++) {
      const st = upT.site[u];
      if (st < 0) continue;
      for (let c = 0; c < sites.size(st); c++) {
        const before = sites.size(st);
        try {
          pokeResult(u, c);
        } catch {
          continue; // a content this step never meets; were it met, the search would say so
        }
        if (sites.size(st) > before) grew = true;
      }
    }
  }

  // ---- the state ---------------------------------------------------------------------------
  const L = tailcallPokeLayout(N, K, anyOps, keys);
  const { updater, site, slot, life, fd } = L.shared;
  /** per key: its A-D site machine, ptrs[key]; per site (key k's bypass 2k, target 2k + 1): its content */
  const siteOf = [site, ...L.shared.siteMore.fields];
  const slotOf = [slot, ...L.shared.slotMore.fields];
  const content = [L.shared.bypass, L.shared.target, ...L.shared.bypassMore.fields.flatMap((b, k) => [b, L.shared.targetMore.fields[k]])];
  const { q, sync, holds } = L.cpu;
  const rcu = new GracePeriod(L, q, exec.reader);
  const frees = new DelayedFrees(rcu, life, holds);

  // ---- the actors --------------------------------------------------------------------------
  /** CPU i executes its next instruction (tailcall-common.ts); the fast path below reads its memo. */
  const { cpuNextQ, cpuNext, cpuStep, fetchQ, records } = executorStep('tailcall-poke', cpu, exec, sites, content, L, q, rcu);

  /** User space (without a script): every system call it can make, and whether a put drops the last reference (tailcall-common.ts). */
  const us = anyOpsUserSpace({ model: 'tailcall-poke', up, upT, progs: K, keys, fd, life, slots: slotOf, updater, frees });
  const userSpace = us.choose;
  const UE = up.events.length;
  const updaterStep = (s: Int32Array, next: Int32Array, _i: number, emit: () => void): boolean => {
    const u = updater.get(s);
    const m = upT.meta[u];
    let ev = -1;
    switch (m.op) {
      case 'choose':
        userSpace(s, next, u, emit);
        return false;
      case 'xchg':
        ev = evXchgOf[slotOf[m.key].get(s)];
        slotOf[m.key].set(next, m.new_prog);
        break;
      case 'poke': {
        const st = upT.site[u];
        const site = siteOf[st >> 1];
        const c = content[st].get(s);
        const r = pokeResult(u, c);
        const nc = r & 0xff;
        ev = evRetAt[r >> 8];
        if (nc !== c) {
          content[st].set(next, nc);
          const sev = siteEvent(st, nc);
          const nss = sev < 0 ? -1 : siteM.next[site.get(s) * siteM.events.length + sev];
          if (nss < 0) throw new Error(`tailcall-poke: the poke site machine cannot follow ${hexBytes(sites.bytes(st, nc))} at ${SITES[st]}`);
          site.set(next, nss);
        }
        break;
      }
      case 'sync_start':
        ev = upT.evSTEP;
        rcu.start(next, sync);
        break;
      case 'sync_wait':
        if (!rcu.pending(s, sync)) ev = upT.evGP;
        break;
      case 'put':
        ev = upT.evSTEP;
        if (us.putDropsLast(s, m)) frees.put(next, m.prog);
        break;
      default:
        break;
    }
    if (ev < 0) return false;
    const nu = up.next[u * UE + ev];
    updater.set(next, nu >= 0 ? nu : moveOrThrow(up, u, ev, 'tailcall-poke: updater'));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someCpu = (pred: (qq: number, s: Int32Array) => boolean) => (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (pred(q.get(s, i), s)) return true;
    return false;
  };
  const properties: Property[] = [
    { ...PROPERTIES[0], cpus: 1, violated: someCpu((qq) => exec.p1[qq]) },
    { ...PROPERTIES[1], cpus: 1, violated: someCpu((qq, s) => exec.inProg[qq] > 0 && frees.lifeOf(s, exec.inProg[qq]) === FREED) },
    { ...PROPERTIES[2], cpus: 0, violated: (s) => siteOf.some((f) => siteForbidden[f.get(s)]) },
    { ...PROPERTIES[3], cpus: 0, checked: protocol.checks_old_bytes, violated: (s) => upT.bug[updater.get(s)] },
  ];

  // Fast path for the properties (the predicates above stay the definition; a test checks that
  // the two agree): a profile of v5.10 N=6 spent a third of the model's time in the predicates'
  // separate passes over the CPUs, so P1 and P2 share one pass here.
  const p1Q = Uint8Array.from(exec.p1, (b) => (b ? 1 : 0));
  const progQ = Uint8Array.from(exec.inProg);
  // Hand-tuned, after a profile of the benchmark (v5.10, N=6, no symmetry): the model's part of the
  // search took 1.25x the CPU time of the hand-packed model it replaced, in the CPU records' accessors
  // and the copy of the state before each step. The CPU records are 8 bits, 4 to a word from word
  // `cpuBase` (the layout's, checked here); these two functions read them a byte at a time. The steps
  // and property predicates above stay the definition: test/model-layer.test.ts checks on every
  // reachable state of small configurations that these give the same successors, actions and bits.
  const cpuBase = records.base;
  if (records.bits !== 8 || q.shift !== 0) throw new Error('tailcall-poke: the fast path expects 8-bit CPU records with q first');
  const qMask = q.mask;
  const lifeWord = life.fields.map((f) => f.word);
  const lifeShift = life.fields.map((f) => f.shift);
  const [upWord, upShift, upMask] = [updater.word, updater.shift, updater.mask];
  const [siteWord, siteShift, siteMask] = [site.word, site.shift, site.mask];
  const upBug = Uint8Array.from(upT.bug, (b) => (b ? 1 : 0));
  const violations = (s: Int32Array): number => {
    let v = 0;
    for (let i = 0; i < N; i++) {
      const qq = (s[cpuBase + (i >> 2)] >>> ((i & 3) << 3)) & qMask;
      if (p1Q[qq]) v |= 1;
      const k = progQ[qq];
      if (k && ((s[lifeWord[k - 1]] >>> lifeShift[k - 1]) & 3) === FREED) v |= 2;
    }
    if (siteForbidden[(s[siteWord] >>> siteShift) & siteMask]) v |= 4;
    for (let k = 1; k < keys; k++) if (siteForbidden[siteOf[k].get(s)]) v |= 4; // key 1's A-D site machine
    if (upBug[(s[upWord] >>> upShift) & upMask]) v |= 8;
    return v;
  };
  const width = L.width;
  const [c0Word, c1Word] = [content[0].word, content[1].word];
  const [c0Shift, c1Shift] = [content[0].shift, content[1].shift];
  if (content[0].bits !== 8 || content[1].bits !== 8) throw new Error('tailcall-poke: the fast path expects 8-bit site contents');
  const readerQ = Uint8Array.from(exec.reader, (r) => (r ? 1 : 0));
  const expandFast = (s: Int32Array, next: Int32Array, sink: (a: number) => void): void => {
    fastS = s;
    fastNext = next;
    const c0 = (s[c0Word] >>> c0Shift) & 0xff;
    const c1 = (s[c1Word] >>> c1Shift) & 0xff;
    for (let i = 0; i < N; i++) {
      const wi = cpuBase + (i >> 2);
      const sh = (i & 3) << 3;
      const word = s[wi];
      const f = (word >>> sh) & 0xff;
      const qq = f & qMask;
      const fetch = fetchQ[qq];
      const c = fetch === 0 ? c0 : fetch === 1 ? c1 : 0;
      let nq = cpuNextQ[(qq << 8) | c];
      if (nq === -2) nq = cpuNextQ[(qq << 8) | c] = cpuNext(i, qq, c);
      if (nq < 0) continue;
      for (let k = 0; k < width; k++) next[k] = s[k];
      // GracePeriod.moved, inline: leaving the read side clears every mark of the record
      next[wi] = (word & ~(0xff << sh)) | ((readerQ[qq] && !readerQ[nq] ? nq : (f & ~qMask) | nq) << sh);
      sink(i);
    }
    for (let k = 0; k < width; k++) next[k] = s[k];
    const u = (s[upWord] >>> upShift) & upMask;
    if (u === chooseState) {
      fastEmitSink = sink;
      fastBase = N;
      userSpace(s, next, chooseState, fastEmit);
    } else if (updaterFast(s, next, u)) sink(N);
    for (let k = 1; k <= K; k++) {
      if (((s[lifeWord[k - 1]] >>> lifeShift[k - 1]) & 3) !== DYING || anyMarked(s, holdsEvery[k - 1])) continue;
      for (let j = 0; j < width; j++) next[j] = s[j];
      next[lifeWord[k - 1]] = (s[lifeWord[k - 1]] & ~(3 << lifeShift[k - 1])) | (FREED << lifeShift[k - 1]);
      sink(N + k);
    }
  };
  // The updater's step in the fast path (updaterStep above is the definition): the same cases over
  // per-state tables and whole words, as the hand-packed model had them. Profiled (v5.10, N=6, no
  // symmetry): the step through the layer's accessors was ~16% of the model's time.
  const [slotWord, slotShift, slotMask] = [slot.word, slot.shift, slot.mask];
  const OP_XCHG = 1, OP_POKE = 2, OP_SYNC_START = 3, OP_SYNC_WAIT = 4, OP_PUT = 5; // prettier-ignore
  const opCode: Record<string, number> = { xchg: OP_XCHG, poke: OP_POKE, sync_start: OP_SYNC_START, sync_wait: OP_SYNC_WAIT, put: OP_PUT };
  const upOp = Uint8Array.from(upT.meta, (m) => opCode[m.op] ?? 0);
  const upArg = Int32Array.from(upT.meta, (m) => (m.op === 'xchg' ? m.new_prog : m.op === 'put' ? m.prog : 0));
  /** put: 0 not the last reference, 1 the last, 2 the last if no fd and no slot holds it. */
  const upLastRef = Uint8Array.from(upT.meta, (m) => (m.op !== 'put' ? 0 : m.last_ref === true ? 1 : m.last_ref === 'if-unreferenced' ? 2 : 0));
  const upSite = Int8Array.from(upT.site);
  const contentWord = [c0Word, c1Word];
  const contentShift = [c0Shift, c1Shift];
  const syncEvery = sync.inEveryRecord;
  const holdsEvery = holds.fields.map((f) => f.inEveryRecord);
  const syncBit = sync.inRecord;
  const holdsBit = holds.fields.map((f) => f.inRecord);
  const cpuWords = records.words;
  const anyMarked = (s: Int32Array, every: number): boolean => {
    for (let w = cpuBase; w < cpuBase + cpuWords; w++) if (s[w] & every) return true;
    return false;
  };
  /** GracePeriod.start, inline: every CPU that is a reader gets the mark `bit`. */
  const markReaders = (next: Int32Array, bit: number): void => {
    for (let i = 0; i < N; i++) {
      const wi = cpuBase + (i >> 2);
      const sh = (i & 3) << 3;
      if (readerQ[(next[wi] >>> sh) & qMask]) next[wi] |= bit << sh;
    }
  };
  const updaterFast = (s: Int32Array, next: Int32Array, u: number): boolean => {
    let ev = -1;
    switch (upOp[u]) {
      case OP_XCHG: {
        ev = evXchgOf[(s[slotWord] >>> slotShift) & slotMask];
        next[slotWord] = (next[slotWord] & ~(slotMask << slotShift)) | (upArg[u] << slotShift);
        break;
      }
      case OP_POKE: {
        const st = upSite[u];
        const cw = contentWord[st];
        const csh = contentShift[st];
        const c = (s[cw] >>> csh) & 0xff;
        const r = pokeResult(u, c);
        const nc = r & 0xff;
        ev = evRetAt[r >> 8];
        if (nc !== c) {
          next[cw] = (next[cw] & ~(0xff << csh)) | (nc << csh);
          const sev = siteEvent(st, nc);
          const nss = sev < 0 ? -1 : siteM.next[((s[siteWord] >>> siteShift) & siteMask) * siteM.events.length + sev];
          if (nss < 0) throw new Error(`tailcall-poke: the poke site machine cannot follow ${hexBytes(sites.bytes(st, nc))} at ${SITES[st]}`);
          next[siteWord] = (next[siteWord] & ~(siteMask << siteShift)) | (nss << siteShift);
        }
        break;
      }
      case OP_SYNC_START:
        ev = upT.evSTEP;
        markReaders(next, syncBit);
        break;
      case OP_SYNC_WAIT:
        if (!anyMarked(s, syncEvery)) ev = upT.evGP;
        break;
      case OP_PUT: {
        ev = upT.evSTEP;
        const k = upArg[u];
        const last = upLastRef[u];
        if (last === 1 || (last === 2 && !fd.get(s, k - 1) && ((s[slotWord] >>> slotShift) & slotMask) !== k)) {
          next[lifeWord[k - 1]] = (next[lifeWord[k - 1]] & ~(3 << lifeShift[k - 1])) | (DYING << lifeShift[k - 1]);
          markReaders(next, holdsBit[k - 1]);
        }
        break;
      }
      default:
        break;
    }
    if (ev < 0) return false;
    const nu = up.next[u * UE + ev];
    next[upWord] = (next[upWord] & ~(upMask << upShift)) | ((nu >= 0 ? nu : moveOrThrow(up, u, ev, 'tailcall-poke: updater')) << upShift);
    return true;
  };
  // user space's choices in the fast path: each successor goes to the sink, then next is the state again
  let fastEmitSink: (a: number) => void = () => {};
  let fastBase = 0;
  let fastS: Int32Array = new Int32Array(width);
  let fastNext: Int32Array = new Int32Array(width);
  const fastEmit = (): void => {
    fastEmitSink(fastBase);
    for (let k = 0; k < width; k++) fastNext[k] = fastS[k];
  };
  const chooseState = anyOps ? up.stateIndex('user_space') : -1;

  const scriptText = script.map((o) => (o.op === 'update' ? `update f${o.prog}` : 'remove')).join('; ');
  const covers = anyOpsCovers(keys, K);

  // ---- printing ------------------------------------------------------------------------------
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const to = cpu.names[q.get(after, i)];
    const fetch = exec.fetchSite[qq];
    if (fetch < 0) return `${String(cpu.meta[qq].doc)} -> ${to}`;
    const c = content[fetch].get(before);
    const v = sites.view(fetch, c);
    return `executes ${v.disasm} [${v.bytes}] at ${v.name} ${v.address} -> ${to}`;
  };
  const describeUpdater = (before: Int32Array, after: Int32Array): string => {
    const u = updater.get(before);
    const m = upT.meta[u];
    let text = m.doc;
    if (m.op === 'xchg') text += ` -> old = ${progName(slotOf[m.key].get(before))}`;
    if (m.op === 'poke') {
      text += ` = ${errnoName(POKE_RETURNS[pokeResult(u, content[upT.site[u]].get(before)) >> 8])}`;
      if (upT.bug[updater.get(after)]) text += ' -> BUG_ON';
    }
    if (m.op === 'sync_start' || (m.op === 'put' && frees.lifeOf(after, m.prog) === DYING && frees.lifeOf(before, m.prog) !== DYING)) text += rcu.waitsText(before);
    if (m.op === 'put' && m.last_ref === 'if-unreferenced' && frees.lifeOf(after, m.prog) === DYING) text += ': last reference; freed after a grace period';
    if (m.op === 'choose') {
      const o = us.chosen(before, after);
      text = `user space: ${o ? userOpText(o) : '?'}`;
      if (o && (o.op === 'update' || o.op === 'delete')) text += `; ${us.xchgDoc(u, o)} -> old = ${progName(slotOf[userOpKey(o)].get(before))}`;
      if (o?.op === 'close' && frees.lifeOf(after, o.prog) === DYING) text += `; the last reference: f${o.prog} is freed after a grace period${rcu.waitsText(before)}`;
    }
    return text;
  };

  return checkableModel({
    model: 'tailcall-poke',
    protocol: protocol.name,
    cpus: N,
    config: anyOps ? { 'user-space': covers } : { script: scriptText },
    layout: L,
    initial(s) {
      for (let k = 0; k < fd.length; k++) fd.set(s, k, 1); // user space starts holding every program's fd
      updater.set(s, up.initial);
      for (const f of siteOf) f.set(s, siteM.initial);
      content.forEach((f, st) => f.set(s, sites.initial[st]));
      for (let i = 0; i < N; i++) q.set(s, i, cpu.initial);
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'updater', next: updaterStep },
      frees.step(),
    ],
    properties,
    violations,
    // the hand-tuned path is written for one key's two sites; two keys run the steps
    expandFast: keys === 1 ? expandFast : undefined,
    symmetry: 'cpus',
    parallel: true,
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      if (a.actor === 'updater') {
        const m = upT.meta[updater.get(before)];
        const source = m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? stepSource(m.source) : undefined;
        return { actor: 'updater', action: describeUpdater(before, after), source };
      }
      return { actor: 'rcu', action: `grace period over: frees f${a.i + 1}` };
    },
    sites: (s) => content.map((f, st) => sites.view(st, f.get(s))),
    summary(s) {
      const cpus = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const marks = [sync.get(s, i) ? GP_WAITS : '', ...Array.from({ length: K }, (_, k) => (holds.get(s, i, k) ? `f${k + 1}'s free waits for it` : ''))];
        return actorPart(`cpu${i}`, tailcallCpuText(cpu.values[qq], cpu.contexts[qq]), marks);
      });
      const lives = Array.from({ length: K }, (_, k) => progLifeText(k + 1, life.get(s, k), anyOps ? fd.get(s, k) === 1 : undefined));
      const more = siteOf.slice(1).flatMap((f, k) => [`site@${k + 1} ${siteM.values[f.get(s)]}`, `ptrs[${k + 1}]=${progName(slotOf[k + 1].get(s))}`]);
      const u = updater.get(s);
      return stateLine([`site ${siteM.values[site.get(s)]}`, `ptrs[0]=${progName(slot.get(s))}`, ...more, ...lives, ...cpus, actorPart('updater', updaterStateText(up.names[u], upT.meta[u], anyOps ? undefined : script))]);
    },
    actorMachines() {
      const bad = new Set(['forbidden', ...properties.map((p) => p.id)]);
      return [
        { name: 'cpu', title: `CPU executor of the direct tail call${keys > 1 ? `s on keys 0..${keys - 1}` : ''} (src/concurrency/cpu.ts)`, machine: cpuMachine, events: cpuEvents(K), violationTags: bad },
        { name: 'site', title: 'Poke site states A-D (src/poke/site-machine.ts)', machine: pokeSiteMachine, events: siteEvents(K), targets: ['A', 'B', 'C', 'D'], violationTags: bad },
        anyOps
          ? { ...updaterActor('updater', `User space doing any operation, under ${cfg.protocol} (src/arraymap/user-space.ts)`, script, protocol, K, bad), machine: anyOpsUpdaterMachine(K, protocol, keys), events: anyOpsEvents(K, keys) }
          : updaterActor('updater', `Updater for "${scriptText}" under ${cfg.protocol} (src/arraymap/updater.ts)`, script, protocol, K, bad),
      ];
    },
    group(s) {
      const ss = site.get(s);
      const meta = siteM.meta[ss];
      if (keys === 1) return { name: siteM.values[ss], doc: `bypass ${String(meta.bypass)}, target ${String(meta.target)}: ${String(meta.doc)}`, forbidden: siteForbidden[ss] };
      const per = siteOf.map((f) => f.get(s));
      return {
        name: per.map((x, k) => `key ${k}: ${siteM.values[x]}`).join(', '),
        doc: per.map((x, k) => `key ${k}: bypass ${String(siteM.meta[x].bypass)}, target ${String(siteM.meta[x].target)}`).join('; '),
        forbidden: per.some((x) => siteForbidden[x]),
      };
    },
  });
}

export const tailcallPoke: ModelDefinition = {
  name: 'tailcall-poke',
  summary: 'one direct tail-call site (bypass + target), N CPUs executing it, one updater running map operations',
  protocols: TAILCALL_POKE_PROTOCOLS.map((p) => shippedEntry(p, PROTOCOLS[p].summary)),
  defaultProtocol: 'v5.10',
  defaultCpus: 2,
  options: [
    { name: 'script', default: '(none: every sequence)', description: 'one scenario: the updater\'s map operations, e.g. "install f1; update f2; remove; install f3". Without it, user space may do any sequence of updates, deletes, closes and loads (addresses reused)' },
    { name: 'progs', default: '3', description: 'without --script: the pool of programs f1..fN user space loads, installs and closes (1..3)' },
    { name: 'keys', values: ['1', '2'], default: '1', description: 'without --script: the prog array keys the caller has a direct tail call on: 1 (the oracle\'s caller_d0) or 2 (its caller_two, a tail call on key 0 then one on key 1); user space updates and deletes any of them' },
    protocolFileOption(TAILCALL_POKE_PROTOCOLS),
    { name: 'level', values: ['instruction', 'byte'], default: 'instruction', description: 'instruction: a poke is one atomic step; byte: CPUs fetch byte by byte while pokes write byte by byte (models/tailcall-poke-byte.ts)' },
    { name: 'poke', values: POKE_METHODS, default: 'text_poke_bp', description: 'with --level byte: how the 5 bytes are written: text_poke_bp (int3, sync, bytes 1..4, sync, byte 0, sync) or memcpy (byte by byte, no protocol)' },
  ],
  reference: [
    // every sequence of map operations over one key (the default) at N = 3 (two keys: the every-N entry below)
    { protocol: 'rfc', cpus: 3, expected: 'holds' },
    { protocol: 'v5.10', cpus: 3, expected: 'holds' },
    { protocol: 'no-sync', cpus: 3, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: 'bypass-first', cpus: 3, expected: 'violated', expectedViolated: ['P1', 'P3'] },
    // every number of CPUs and every sequence of map operations, by the checked cutoff (docs/proofs.md):
    // v5.10 over both keys of caller_two (1.9 M states); the others over one key (two keys: rfc 4.2 M
    // states, too slow for every `check --all`; docs/models.md has their figures)
    { protocol: 'v5.10', cpus: 2, every: true, options: { keys: '2' }, expected: 'holds' },
    { protocol: 'rfc', cpus: 2, every: true, expected: 'holds' },
    { protocol: 'no-sync', cpus: 2, every: true, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: 'bypass-first', cpus: 2, every: true, expected: 'violated', expectedViolated: ['P1', 'P3'] },
    // the byte level runs the scenario: every sequence there is 12 M states (docs/models.md)
    { protocol: 'v5.10', cpus: 2, options: { level: 'byte', poke: 'text_poke_bp', script: DEFAULT_SCRIPT }, expected: 'holds' },
    { protocol: 'v5.10', cpus: 2, options: { level: 'byte', poke: 'memcpy', script: DEFAULT_SCRIPT }, expected: 'violated', expectedViolated: ['P5'] },
    { protocol: 'v5.10', cpus: 2, every: true, options: { level: 'byte', poke: 'text_poke_bp', script: DEFAULT_SCRIPT }, expected: 'holds' },
  ],
  build(cfg) {
    const level = cfg.options.level ?? 'instruction';
    if (level === 'byte') return buildTailcallPokeByte(cfg);
    if (level !== 'instruction') throw new ModelConfigError(`tailcall-poke: --level must be instruction or byte, got '${level}'`);
    if (cfg.options.poke !== undefined) throw new ModelConfigError('tailcall-poke: --poke goes with --level byte (at the instruction level a poke is one atomic step)');
    return buildTailcallPoke(cfg);
  },
};
