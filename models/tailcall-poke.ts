/**
 * Model `tailcall-poke`: one direct tail-call site, N CPUs, one updater
 * (reference-models.md section 1; kernel-poke-facts.md 1.4, 1.8, 1.9, 2, 3b).
 *
 * The caller is JIT-compiled by src/jit (stack depth 0, no callee-saved
 * registers: the oracle's `caller_d0`) at the address the real kernel gave
 * caller_d0; f1, f2, f3 are the oracle's target1..3. The two poke sites hold
 * real bytes; every poke goes through `__bpf_arch_text_poke` /
 * `bpf_arch_text_poke` on a TextMemory, and a CPU's move at a site comes from
 * decoding the bytes there. Both are memoised per (site content, step), so the
 * product is explored over packed integers.
 *
 * Packed state (Int32 words):
 *   w0: updater state (12 bits) | poke-site machine state (8) | ptrs[0] (4)
 *   w1: bypass content id (8) | target content id (8) | life of f1..fK (2 bits each: live, dying, freed)
 *   w2..: one field per CPU: executor state (4 bits) | in sync_rcu's grace period (1) | holds up f_k's free (1 each)
 *
 * Choices where the reference is silent: a program's user reference (its
 * fd) is held until its last use in the script, so `bpf_prog_put(old)` frees
 * it only if the script never installs it again; the free is a separate
 * step of the `rcu` actor once every CPU that was a reader at the put has
 * left; a CPU stuck in `fell_through` stays a reader.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { cpuEvents, tailCallCpuMachine } from '../src/concurrency/cpu.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StateGroup, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { DEFAULT_SCRIPT, POKE_RETURNS, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { jit_tail_caller, type JitImage } from '../src/jit/caller.js';
import { decodeInsn, DecodeError } from '../src/jit/decode.js';
import { X86_PATCH_SIZE, hexAddr, hexBytes } from '../src/jit/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { siteEvents, pokeSiteMachine } from '../src/poke/site-machine.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { POKE_METHODS } from '../src/poke/text_poke_bp.js';
import { buildTailcallPokeByte } from './tailcall-poke-byte.js';
import { SITES, TAILCALL_POKE_PROTOCOLS, executorTables, protocolFileOption, scratchPoke, shippedEntry, stepSource, tailcallConfig, updaterTables } from './tailcall-common.js';
import { BytesInterner } from '../src/concurrency/interner.js';

/** caller_d0's image address and target1..3's bpf_func in the oracle (linux 6.1.0-56-amd64). */
export const CALLER_ADDRESS = 0xffffffffc000075cn;
export const TARGET_ADDRESSES = [0xffffffffc0000654n, 0xffffffffc000069cn, 0xffffffffc00006e0n];

export const PROPERTIES: readonly Omit<PropertySpec, 'checked'>[] = [
  { id: 'P1', description: 'no CPU executes the target nop with an unwound frame (state A as seen by a running CPU)' },
  { id: 'P2', description: 'no CPU jumps into, or runs inside, a freed program' },
  { id: 'P3', description: 'the text is never in state A (bypass nop and target nop at once)' },
  { id: 'P4', description: 'every poke finds the bytes it expects (no -EBUSY, which is BUG_ON)' },
];

const LIVE = 0;
const DYING = 1;
const FREED = 2;

export interface TailcallPokeWorld {
  caller: JitImage;
  progs: BpfProg[];
  kallsyms: BpfKallsyms;
  text: TextMemory;
}

/** The JIT image and programs the model runs over (also used by the sequential tests). */
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

export function buildTailcallPoke(cfg: ModelConfig): CheckableModel {
  const { protocol, script, progs: K } = tailcallConfig('tailcall-poke', cfg, TAILCALL_POKE_PROTOCOLS, 16, 3);
  const N = cfg.cpus;

  const world = tailcallPokeWorld(K);
  const poke = world.caller.pokes[0];
  const siteAddr = [poke.tailcall_bypass, poke.tailcall_target];

  const cpu = compileMachine(tailCallCpuMachine, cpuEvents(K));
  const up = compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  const site = compileMachine(pokeSiteMachine, siteEvents(K));
  if (up.names.length >= 1 << 12 || site.names.length >= 1 << 8 || cpu.names.length > 16) throw new Error('tailcall-poke: machine too large to pack');

  // ---- per-state facts of the compiled machines --------------------------------------------
  const CE = cpu.events.length;
  const { fetchSite: cpuFetch, internal: cpuInternal, reader: cpuReader, p1: cpuP1, inProg: cpuProg } = executorTables(cpu);
  const { meta: upMeta, bug: upBug, evSTEP, evGP, evXchg: evXchgName, evRet } = updaterTables(up);
  const UE = up.events.length;
  const evXchgOf: number[] = [];
  const evXchg = (old: number): number => (evXchgOf[old] ??= evXchgName(old));
  /** The updater's event for a poke's return, by its index in POKE_RETURNS. */
  const evRetAt = POKE_RETURNS.map(evRet);
  const SE = site.events.length;
  const siteForbidden = site.tags.map((t) => t.has('forbidden'));

  // ---- interned site contents, decoded once ------------------------------------------------
  const interned = [0, 1].map((st) => new BytesInterner(256, `tailcall-poke ${SITES[st]}`));
  const intern = (st: number, b: Uint8Array): number => interned[st].intern(b);
  const initialContent = [0, 1].map((s) => intern(s, world.text.read(siteAddr[s], X86_PATCH_SIZE)));
  const tailEntry = world.progs.map((p) => p.bpf_func + BigInt(poke.adj_off));
  /** What a CPU at site s does with content c: a CPU event index (or -1 if it does not decode). */
  const cpuEventCache: number[][] = [[], []];
  /** The site machine's event for content c at site s. */
  const siteEventCache: number[][] = [[], []];
  const classify = (s: number, c: number): void => {
    const bytes = interned[s].bytes(c);
    let cpuEv = -1;
    let siteEv = -1;
    try {
      const insn = decodeInsn(bytes, siteAddr[s]);
      if (insn.kind === 'nop' && insn.len === X86_PATCH_SIZE) {
        cpuEv = cpu.eventIndex('EXEC_NOP');
        siteEv = site.eventIndex(s === 0 ? 'BYPASS_NOP' : 'TARGET_NOP');
      } else if (insn.kind === 'jmp' && insn.target === poke.bypass_addr) {
        cpuEv = cpu.eventIndex('EXEC_JMP_OUT');
        if (s === 0) siteEv = site.eventIndex('BYPASS_JMP_OUT');
      } else if (insn.kind === 'jmp') {
        const k = tailEntry.indexOf(insn.target!);
        if (k >= 0) {
          cpuEv = cpu.eventIndex(`EXEC_JMP_PROG(prog=${k + 1})`);
          if (s === 1) siteEv = site.eventIndex(`TARGET_JMP(prog=${k + 1})`);
        }
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    cpuEventCache[s][c] = cpuEv;
    siteEventCache[s][c] = siteEv;
  };
  const cpuEventAt = (s: number, c: number): number => {
    if (cpuEventCache[s][c] === undefined) classify(s, c);
    return cpuEventCache[s][c];
  };
  const siteEventAt = (s: number, c: number): number => {
    if (siteEventCache[s][c] === undefined) classify(s, c);
    return siteEventCache[s][c];
  };

  /** Poke results, memoised by (updater state, current content): (ret index << 8) | new content; -1 = not yet. */
  const pokeCache = new Int32Array(up.names.length * 256).fill(-1);
  const pokeResult = (u: number, c: number): number => {
    const key = u * 256 + c;
    let r = pokeCache[key];
    if (r < 0) {
      const m = upMeta[u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const s = m.step.site === 'tailcall_bypass' ? 0 : 1;
      const { ret, after } = scratchPoke(m, poke, siteAddr[s], interned[s].bytes(c), world.progs, world.kallsyms);
      const nc = intern(s, after);
      r = (POKE_RETURNS.indexOf(ret) << 8) | nc;
      if (r < 0) throw new Error(`tailcall-poke: unexpected poke return ${ret}`);
      pokeCache[key] = r;
    }
    return r;
  };

  // Number every content the updater's pokes can write, before the search and in a fixed order,
  // so that a content's id does not depend on the order states are discovered: a parallel search's
  // workers build their own copies of this model and must agree on every state's words.
  for (let grew = true; grew; ) {
    grew = false;
    for (let u = 0; u < upMeta.length; u++) {
      const mu = upMeta[u];
      if (mu.op !== 'poke') continue;
      const st = mu.step.site === 'tailcall_bypass' ? 0 : 1;
      for (let c = 0; c < interned[st].size; c++) {
        const before = interned[st].size;
        try {
          pokeResult(u, c);
        } catch {
          continue; // a content this step never meets; were it met, the search would say so
        }
        if (interned[st].size > before) grew = true;
      }
    }
  }

  // ---- packing ------------------------------------------------------------------------------
  const fields = new CpuFields(N, 2, 8);
  const Q_MASK = 0xf;
  const SYNC_BIT = 1 << 4;
  const dyingBit = (k: number): number => 1 << (4 + k); // k = 1..3
  const upOf = (s: Int32Array): number => s[0] & 0xfff;
  const siteOf = (s: Int32Array): number => (s[0] >>> 12) & 0xff;
  const slotOf = (s: Int32Array): number => (s[0] >>> 20) & 0xf;
  const contentOf = (s: Int32Array, site: number): number => (s[1] >>> (site * 8)) & 0xff;
  const lifeOf = (s: Int32Array, k: number): number => (s[1] >>> (16 + 2 * (k - 1))) & 3;
  const setW0 = (s: Int32Array, u: number, ss: number, slot: number): void => {
    s[0] = u | (ss << 12) | (slot << 20);
  };
  const setContent = (s: Int32Array, site: number, c: number): void => {
    s[1] = (s[1] & ~(0xff << (site * 8))) | (c << (site * 8));
  };
  const setLife = (s: Int32Array, k: number, l: number): void => {
    const sh = 16 + 2 * (k - 1);
    s[1] = (s[1] & ~(3 << sh)) | (l << sh);
  };
  const width = 2 + fields.words;

  const properties: PropertySpec[] = PROPERTIES.map((p) => ({ ...p, checked: p.id !== 'P4' || protocol.checks_old_bytes }));
  const scratch: number[] = new Array(N).fill(0);

  // ---- hot path: flat tables and whole-word operations on the CPU bytes ----------------------
  // (fields.bits is 8: CPU i is byte i % 4 of word 2 + i / 4; bytes past N are 0.)
  const readerQ = Uint8Array.from(cpuReader, (r) => (r ? 1 : 0));
  const p1Q = Uint8Array.from(cpuP1, (r) => (r ? 1 : 0));
  const progQ = Uint8Array.from(cpuProg);
  const fetchQ = Int8Array.from(cpuFetch);
  /** A CPU's next executor state by (q << 8 | content of the site q fetches, 0 if none): -1 no step, -2 not yet known. */
  const cpuNextQ = new Int16Array(16 * 256).fill(-2);
  const cpuNext = (i: number, q: number, c: number): number => {
    const fetch = cpuFetch[q];
    const ev = fetch < 0 ? cpuInternal[q] : cpuEventAt(fetch, c);
    if (ev < 0) {
      if (fetch < 0) return -1; // no step (e.g. stuck after a violation)
      throw new Error(`tailcall-poke: cpu${i} cannot execute ${hexBytes(interned[fetch].bytes(c))} at ${SITES[fetch]}`);
    }
    const nq = cpu.next[q * CE + ev];
    if (nq < 0) throw new Error(`tailcall-poke: cpu${i} in ${cpu.names[q]} has no move for ${cpu.eventNames[ev]}`);
    return nq;
  };
  const cpuWords = fields.words;
  const markReaders = (s: Int32Array, bit: number): void => {
    for (let i = 0; i < N; i++) {
      const wi = 2 + (i >> 2);
      const sh = (i & 3) << 3;
      if (readerQ[(s[wi] >>> sh) & Q_MASK]) s[wi] |= bit << sh;
    }
  };
  const anyHas = (s: Int32Array, bit: number): boolean => {
    const every = bit * 0x01010101;
    for (let k = 0; k < cpuWords; k++) if (s[2 + k] & every) return true;
    return false;
  };
  const copyState = (from: Int32Array, to: Int32Array): void => {
    for (let k = 0; k < width; k++) to[k] = from[k];
  };

  const system: TransitionSystem = {
    width,
    parallel: true,
    properties,
    initial(out) {
      out.fill(0);
      setW0(out, up.initial, site.initial, 0);
      setContent(out, 0, initialContent[0]);
      setContent(out, 1, initialContent[1]);
      for (let i = 0; i < N; i++) fields.set(out, i, cpu.initial);
    },
    expand(s, next, sink) {
      // CPUs
      const c0 = s[1] & 0xff;
      const c1 = (s[1] >>> 8) & 0xff;
      for (let i = 0; i < N; i++) {
        const wi = 2 + (i >> 2);
        const sh = (i & 3) << 3;
        const word = s[wi];
        const f = (word >>> sh) & 0xff;
        const q = f & Q_MASK;
        const fetch = fetchQ[q];
        const c = fetch === 0 ? c0 : fetch === 1 ? c1 : 0;
        let nq = cpuNextQ[(q << 8) | c];
        if (nq === -2) nq = cpuNextQ[(q << 8) | c] = cpuNext(i, q, c);
        if (nq < 0) continue;
        copyState(s, next);
        // Leaving the read-side section ends this CPU's part in every pending grace period.
        const nf = readerQ[q] && !readerQ[nq] ? nq : (f & ~Q_MASK) | nq;
        next[wi] = (word & ~(0xff << sh)) | (nf << sh);
        sink(i);
      }
      // The updater
      const u = upOf(s);
      const m = upMeta[u];
      const ss = siteOf(s);
      const slot = slotOf(s);
      let ev = -1;
      copyState(s, next);
      switch (m.op) {
        case 'xchg':
          ev = evXchg(slot);
          setW0(next, 0, ss, m.new_prog);
          break;
        case 'poke': {
          const st = m.step.site === 'tailcall_bypass' ? 0 : 1;
          const c = contentOf(s, st);
          const r = pokeResult(u, c);
          const nc = r & 0xff;
          ev = evRetAt[r >> 8];
          let nss = ss;
          if (nc !== c) {
            setContent(next, st, nc);
            const sev = siteEventAt(st, nc);
            nss = sev < 0 ? -1 : site.next[ss * SE + sev];
            if (nss < 0) throw new Error(`tailcall-poke: the poke site machine cannot follow ${hexBytes(interned[st].bytes(nc))} at ${SITES[st]}`);
          }
          setW0(next, 0, nss, slot);
          break;
        }
        case 'sync_start':
          ev = evSTEP;
          markReaders(next, SYNC_BIT);
          break;
        case 'sync_wait':
          if (!anyHas(s, SYNC_BIT)) ev = evGP;
          break;
        case 'put':
          ev = evSTEP;
          if (m.last_ref) {
            setLife(next, m.prog, DYING);
            markReaders(next, dyingBit(m.prog));
          }
          break;
        default:
          break;
      }
      if (ev >= 0) {
        const nu = up.next[u * UE + ev];
        if (nu < 0) throw new Error(`tailcall-poke: updater in ${up.names[u]} has no move for ${up.eventNames[ev]}`);
        next[0] = (next[0] & ~0xfff) | nu;
        sink(N);
      }
      // RCU: a dying program is freed once its grace period is over.
      for (let k = 1; k <= K; k++) {
        if (lifeOf(s, k) === DYING && !anyHas(s, dyingBit(k))) {
          copyState(s, next);
          setLife(next, k, FREED);
          sink(N + k);
        }
      }
    },
    violations(s) {
      let v = 0;
      for (let i = 0; i < N; i++) {
        const q = (s[2 + (i >> 2)] >>> ((i & 3) << 3)) & Q_MASK;
        if (p1Q[q]) v |= 1;
        const k = progQ[q];
        if (k && lifeOf(s, k) === FREED) v |= 2;
      }
      if (siteForbidden[siteOf(s)]) v |= 4;
      if (upBug[upOf(s)]) v |= 8;
      return v;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  const insnText = (s: number, c: number): string => {
    try {
      return decodeInsn(interned[s].bytes(c), siteAddr[s]).text;
    } catch (e) {
      if (e instanceof DecodeError) return `(bad) ${e.message}`;
      throw e;
    }
  };
  const progName = (k: number): string => (k ? `f${k}` : 'NULL');

  return {
    model: 'tailcall-poke',
    protocol: protocol.name,
    cpus: N,
    config: { script: script.map((o) => (o.op === 'update' ? `update f${o.prog}` : 'remove')).join('; ') },
    system,
    describe(before, after, action): StepView {
      if (action < N) {
        const q = fields.get(before, action) & Q_MASK;
        const nq = fields.get(after, action) & Q_MASK;
        const fetch = cpuFetch[q];
        const to = cpu.names[nq];
        if (fetch >= 0) {
          const c = contentOf(before, fetch);
          return {
            actor: `cpu${action}`,
            action: `executes ${insnText(fetch, c)} [${hexBytes(interned[fetch].bytes(c))}] at ${SITES[fetch]} ${hexAddr(siteAddr[fetch])} -> ${to}`,
          };
        }
        return { actor: `cpu${action}`, action: `${String(cpu.meta[q].doc)} -> ${to}` };
      }
      if (action === N) {
        const m = upMeta[upOf(before)];
        let text = m.doc;
        if (m.op === 'xchg') text += ` -> old = ${progName(slotOf(before))}`;
        if (m.op === 'poke') {
          const st = m.step.site === 'tailcall_bypass' ? 0 : 1;
          const ret = POKE_RETURNS[pokeResult(upOf(before), contentOf(before, st)) >> 8];
          text += ` = ${errnoName(ret)}`;
          if (upBug[upOf(after)]) text += ' -> BUG_ON';
        }
        if (m.op === 'sync_start' || (m.op === 'put' && m.last_ref)) {
          const readers = Array.from({ length: N }, (_, i) => i).filter((i) => cpuReader[fields.get(before, i) & Q_MASK]);
          text += readers.length ? ` (waits for ${readers.map((i) => `cpu${i}`).join(', ')})` : ' (no CPU is a reader)';
        }
        return { actor: 'updater', action: text, source: m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? stepSource(m.source) : undefined };
      }
      return { actor: 'rcu', action: `grace period over: frees f${action - N}` };
    },
    sites(s): SiteView[] {
      return [0, 1].map((st) => {
        const c = contentOf(s, st);
        return { name: SITES[st], address: hexAddr(siteAddr[st]), bytes: hexBytes(interned[st].bytes(c)), disasm: insnText(st, c) };
      });
    },
    summary(s): string {
      const cpus = Array.from({ length: N }, (_, i) => {
        const f = fields.get(s, i);
        const marks = [f & SYNC_BIT ? 'gp' : '', ...[1, 2, 3].map((k) => (f & dyingBit(k) ? `holds f${k}` : ''))].filter(Boolean);
        return `cpu${i}=${cpu.names[f & Q_MASK]}${marks.length ? `[${marks.join(',')}]` : ''}`;
      });
      const life = Array.from({ length: K }, (_, k) => `f${k + 1}:${['live', 'dying', 'freed'][lifeOf(s, k + 1)]}`);
      return `site=${site.values[siteOf(s)]} ptrs[0]=${progName(slotOf(s))} ${life.join(' ')} ${cpus.join(' ')} updater=${up.names[upOf(s)]}`;
    },
    group(s): StateGroup {
      const q = siteOf(s);
      const meta = site.meta[q];
      return { name: site.values[q], doc: `bypass ${String(meta.bypass)}, target ${String(meta.target)}: ${String(meta.doc)}`, forbidden: siteForbidden[q] };
    },
  };
}

export const tailcallPoke: ModelDefinition = {
  name: 'tailcall-poke',
  summary: 'one direct tail-call site (bypass + target), N CPUs executing it, one updater running map operations',
  protocols: TAILCALL_POKE_PROTOCOLS.map((p) => shippedEntry(p, PROTOCOLS[p].summary)),
  defaultProtocol: 'v5.10',
  defaultCpus: 2,
  options: [
    { name: 'script', default: DEFAULT_SCRIPT, description: 'the updater\'s map operations, e.g. "install f1; update f2; remove; install f3"' },
    { name: 'level', values: ['instruction', 'byte'], default: 'instruction', description: 'instruction: a poke is one atomic step; byte: CPUs fetch byte by byte while pokes write byte by byte (models/tailcall-poke-byte.ts)' },
    { name: 'poke', values: POKE_METHODS, default: 'text_poke_bp', description: 'with --level byte: how the 5 bytes are written: text_poke_bp (int3, sync, bytes 1..4, sync, byte 0, sync) or memcpy (byte by byte, no protocol)' },
    protocolFileOption(TAILCALL_POKE_PROTOCOLS),
  ],
  reference: [
    { protocol: 'rfc', cpus: 3, expected: 'holds' },
    { protocol: 'v5.10', cpus: 3, expected: 'holds' },
    { protocol: 'no-sync', cpus: 3, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: 'bypass-first', cpus: 3, expected: 'violated', expectedViolated: ['P1', 'P3'] },
    { protocol: 'v5.10', cpus: 2, options: { level: 'byte', poke: 'text_poke_bp' }, expected: 'holds' },
    { protocol: 'v5.10', cpus: 2, options: { level: 'byte', poke: 'memcpy' }, expected: 'violated', expectedViolated: ['P5'] },
  ],
  build(cfg) {
    const level = cfg.options.level ?? 'instruction';
    if (level === 'byte') return buildTailcallPokeByte(cfg);
    if (level !== 'instruction') throw new ModelConfigError(`tailcall-poke: --level must be instruction or byte, got '${level}'`);
    if (cfg.options.poke !== undefined) throw new ModelConfigError('tailcall-poke: --poke goes with --level byte (at the instruction level a poke is one atomic step)');
    return buildTailcallPoke(cfg);
  },
};
