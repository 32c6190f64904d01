/**
 * `tailcall-poke --level byte`: the tailcall-poke model with real bytes in
 * flight (docs/reference-verdicts.md sections 1 and 3; docs/kernel-facts.md 1.8, 4).
 *
 * Same caller image, programs, updater script and protocol step lists as the
 * instruction level (models/tailcall-poke.ts), with two refinements:
 *
 * - A poke is no longer one atomic step. `__bpf_arch_text_poke` checks the
 *   5 bytes against the old instruction in one step (it holds text_mutex and
 *   only pokes write text), then, if it has to write, the bytes change by
 *   the steps of `--poke text_poke_bp` (src/poke/text_poke_bp.ts: int3,
 *   sync, bytes 1..4, sync, byte 0, sync, refs drop) or `--poke memcpy`
 *   (byte 0..4 one by one over live text); the poke's return value reaches
 *   the updater machine after the last step.
 * - A CPU reaching a poke site fetches the instruction byte by byte
 *   (src/concurrency/cpu-byte.ts): each byte read is one step, reads past
 *   the site come from the rest of the image (or the other site), and what
 *   the bytes decode to (`decodeInsn`) decides what the CPU does. A CPU that
 *   fetches int3 traps; `smp_text_poke_int3_handler` emulates the new
 *   instruction of the entry in flight. A sync IPI is taken by a CPU only at
 *   an instruction boundary (not mid-instruction, not in the int3 handler).
 *
 * Property P5: every instruction a CPU executes at a poke site is exactly one
 * of that site's instructions: the initial bytes, or the old or new
 * instruction of one of the updater's pokes there (statically: the
 * encodings the protocol's steps expect or write). A torn mix, bytes that do
 * not decode, an instruction longer than 15 bytes, or an int3 no entry
 * claims violate it; that CPU stops there. P1-P4 keep their meaning; P3 is
 * checked on the bytes (both sites hold exactly nop5).
 *
 * Packed state (Int32 words):
 *   w0: updater state (12 bits) | text_poke_bp step (5) | ptrs[0] (4)
 *   w1: bypass content id (8) | target content id (8) | life of f1..f3 (2 bits each)
 *   w2..: one 32-bit field per CPU: executor state (4) | fetch state (2) | IPI
 *         pending (1) | in sync_rcu's grace period (1) | holds up f_k's free
 *         (3) | bytes fetched so far (16, interned)
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { byteFetchMachine, FETCH_EVENTS } from '../src/concurrency/cpu-byte.js';
import { cpuEvents, tailCallCpuMachine } from '../src/concurrency/cpu.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { resolveAddr } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { POKE_RETURNS, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { decodeInsn, DecodeError, type Insn } from '../src/jit/x86/decode.js';
import { NOP5, X86_PATCH_SIZE, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { BpfKallsyms } from '../src/poke/text.js';
import { poke_insn } from '../src/poke/text_poke.js';
import { POKE_METHODS, pokeMethodSteps, text_poke_entry, writeByte, type PokeMethod } from '../src/poke/text_poke_bp.js';
import { executorTables, scratchPoke, SITES, TAILCALL_POKE_PROTOCOLS, tailcallConfig, updaterTables } from './tailcall-common.js';
import { PROPERTIES as INSN_PROPERTIES, tailcallPokeWorld } from './tailcall-common.js';

export const P5 = { id: 'P5', description: 'every instruction a CPU executes at a poke site is exactly an old or a new instruction (never torn bytes)' };
/** P1-P4 of the instruction level, then P5 (a function: tailcall-poke.ts imports this module). */
export const byteProperties = (): readonly Omit<PropertySpec, 'checked'>[] => [...INSN_PROPERTIES, P5];

/** The longest x86 instruction; a fetch that is still incomplete after it faults. */
const MAX_INSN_LEN = 15;
const DYING = 1;
const FREED = 2;

/** What a fetched byte string is at a site. */
interface Fetched {
  kind: 'more' | 'exec' | 'torn' | 'int3';
  /** for exec: the executor's event */
  cpuEvent: number;
  /** what the bytes decode to, or why they do not */
  text: string;
}

export function buildTailcallPokeByte(cfg: ModelConfig): CheckableModel {
  const { protocol, script, progs: K } = tailcallConfig('tailcall-poke --level byte', cfg, TAILCALL_POKE_PROTOCOLS, 8, 3);
  const method = (cfg.options.poke ?? 'text_poke_bp') as PokeMethod;
  if (!POKE_METHODS.includes(method)) throw new ModelConfigError(`tailcall-poke: --poke must be one of ${POKE_METHODS.join(', ')}, got '${method}'`);
  const N = cfg.cpus;

  const world = tailcallPokeWorld(K);
  const poke = world.caller.pokes[0];
  const siteAddr = [poke.tailcall_bypass, poke.tailcall_target];
  const prog = (k: number): BpfProg | null => (k ? world.progs[k - 1] : null);
  const steps = pokeMethodSteps(method);

  const cpu = compileMachine(tailCallCpuMachine, cpuEvents(K));
  const fetch = compileMachine(byteFetchMachine, FETCH_EVENTS);
  const up = compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  if (up.names.length >= 1 << 12 || cpu.names.length > 16 || fetch.names.length > 4 || steps.length >= 31) throw new Error('tailcall-poke-byte: machine too large to pack');

  // ---- compiled machines ---------------------------------------------------------------------
  const CE = cpu.events.length;
  const { fetchSite: cpuFetch, internal: cpuInternal, reader: cpuReader, p1: cpuP1, inProg: cpuProg } = executorTables(cpu);
  const FE = fetch.events.length;
  const fev = Object.fromEntries(fetch.eventNames.map((n, i) => [n, i])) as Record<string, number>;
  const fBoundary = fetch.stateIndex('boundary');
  const fHandler = fetch.stateIndex('int3_handler');
  const fTorn = fetch.tags.map((t) => t.has('P5'));
  const { meta: upMeta, bug: upBug, evSTEP, evGP, evXchg, evRet, site: upSite } = updaterTables(up);
  const UE = up.events.length;
  const siteOfPoke = (u: number): number => upSite[u];

  // ---- site contents, the instructions each site may hold, fetched bytes ---------------------
  const contents = [0, 1].map((s) => new BytesInterner(256, `tailcall-poke-byte: ${SITES[s]} contents`));
  const initialContent = [0, 1].map((s) => contents[s].intern(world.text.read(siteAddr[s], X86_PATCH_SIZE)));
  const nop5Content = [0, 1].map((s) => contents[s].intern(NOP5));
  /** The instructions a site may legitimately hold: its initial bytes, and every poke's old and new there. */
  const legit = [0, 1].map((s) => new Set([contents[s].hex(initialContent[s])]));
  /** For each poke state of the updater: the 5 bytes it writes (its new instruction). */
  const newInsn: (number[] | undefined)[] = upMeta.map((m) => {
    if (m.op !== 'poke') return undefined;
    const s = SITES.indexOf(m.step.site);
    const enc = (a: typeof m.step.new_addr) => poke_insn(siteAddr[s], 'BPF_MOD_JUMP', resolveAddr(a, poke, prog(m.old_prog), prog(m.new_prog)));
    const nw = enc(m.step.new_addr);
    if (!nw) throw new Error(`tailcall-poke-byte: ${m.doc}: new address out of rel32 range`);
    legit[s].add(hexBytes(nw));
    if (m.step.old_addr !== 'current') {
      const old = enc(m.step.old_addr);
      if (old) legit[s].add(hexBytes(old));
    }
    if (method === 'text_poke_bp') text_poke_entry(siteAddr[s], nw); // what __smp_text_poke_batch_add would BUG on
    return nw;
  });
  const tailEntry = world.progs.map((p) => p.bpf_func + BigInt(poke.adj_off));
  /** The executor's event for a whole, legitimate instruction at a site. */
  const executorEvent = (insn: Insn): number => {
    if (insn.kind === 'nop' && insn.len === X86_PATCH_SIZE) return cpu.eventIndex('EXEC_NOP');
    if (insn.kind === 'jmp' && insn.target === poke.bypass_addr) return cpu.eventIndex('EXEC_JMP_OUT');
    const k = insn.kind === 'jmp' ? tailEntry.indexOf(insn.target!) : -1;
    if (k < 0) throw new Error(`tailcall-poke-byte: no executor move for ${insn.text}`);
    return cpu.eventIndex(`EXEC_JMP_PROG(prog=${k + 1})`);
  };
  /** Fetched byte strings, keyed by site (the address they decode at). */
  const buffers = new BytesInterner(1 << 16, 'tailcall-poke-byte: fetched bytes');
  const bufSite: number[] = [];
  const bufFetched: Fetched[] = [];
  const EMPTY = buffers.intern([]);
  bufSite[EMPTY] = -1;
  const internBuffer = (s: number, bytes: Uint8Array): number => {
    const id = buffers.intern([s, ...bytes]);
    if (bufFetched[id] === undefined) {
      bufSite[id] = s;
      bufFetched[id] = classifyFetched(s, bytes);
    }
    return id;
  };
  const bufBytes = (id: number): Uint8Array => (id === EMPTY ? new Uint8Array(0) : buffers.bytes(id).subarray(1));
  const classifyFetched = (s: number, bytes: Uint8Array): Fetched => {
    let insn: Insn;
    try {
      insn = decodeInsn(bytes, siteAddr[s]);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (e.why === 'truncated' && bytes.length < MAX_INSN_LEN) return { kind: 'more', cpuEvent: -1, text: '' };
      return { kind: 'torn', cpuEvent: -1, text: `not an instruction the JIT emits (${e.message})` };
    }
    if (insn.kind === 'int3' && bytes.length === 1) return { kind: 'int3', cpuEvent: -1, text: insn.text };
    if (insn.len === X86_PATCH_SIZE && legit[s].has(hexBytes(bytes))) return { kind: 'exec', cpuEvent: executorEvent(insn), text: insn.text };
    return { kind: 'torn', cpuEvent: -1, text: insn.text };
  };

  // ---- packing ----------------------------------------------------------------------------------
  const fields = new CpuFields(N, 2, 32);
  const Q_MASK = 0xf;
  const FU_SHIFT = 4;
  const IPI_BIT = 1 << 6;
  const GP_BIT = 1 << 7;
  const dyingBit = (k: number): number => 1 << (7 + k); // k = 1..3
  const RCU_BITS = GP_BIT | dyingBit(1) | dyingBit(2) | dyingBit(3);
  const BUF_SHIFT = 11;
  const qOf = (f: number): number => f & Q_MASK;
  const fuOf = (f: number): number => (f >>> FU_SHIFT) & 3;
  const bufOf = (f: number): number => (f >>> BUF_SHIFT) & 0xffff;
  const withFetch = (f: number, fu: number, buf: number): number => (f & ~((3 << FU_SHIFT) | (0xffff << BUF_SHIFT))) | (fu << FU_SHIFT) | (buf << BUF_SHIFT);
  const upOf = (s: Int32Array): number => s[0] & 0xfff;
  const stepOf = (s: Int32Array): number => (s[0] >>> 12) & 0x1f;
  const slotOf = (s: Int32Array): number => (s[0] >>> 17) & 0xf;
  const setW0 = (s: Int32Array, u: number, k: number, slot: number): void => {
    s[0] = u | (k << 12) | (slot << 17);
  };
  const contentOf = (s: Int32Array, site: number): number => (s[1] >>> (site * 8)) & 0xff;
  const setContent = (s: Int32Array, site: number, c: number): void => {
    s[1] = (s[1] & ~(0xff << (site * 8))) | (c << (site * 8));
  };
  const lifeOf = (s: Int32Array, k: number): number => (s[1] >>> (16 + 2 * (k - 1))) & 3;
  const setLife = (s: Int32Array, k: number, l: number): void => {
    const sh = 16 + 2 * (k - 1);
    s[1] = (s[1] & ~(3 << sh)) | (l << sh);
  };
  const anyHas = (s: Int32Array, bit: number): boolean => {
    for (let i = 0; i < N; i++) if (fields.get(s, i) & bit) return true;
    return false;
  };
  const markReaders = (s: Int32Array, bit: number): void => {
    for (let i = 0; i < N; i++) {
      const f = fields.get(s, i);
      if (cpuReader[qOf(f)]) fields.set(s, i, f | bit);
    }
  };
  /** The byte at `addr` as the text stands in state `s` (poke sites from the state, the rest from the image). */
  const byteAt = (s: Int32Array, addr: bigint): number => {
    for (let t = 0; t < 2; t++) {
      const off = Number(addr - siteAddr[t]);
      if (off >= 0 && off < X86_PATCH_SIZE) return contents[t].bytes(contentOf(s, t))[off];
    }
    return world.text.read(addr, 1)[0];
  };
  /** The text_poke_bp entry live for site `st` in state `s` (refs set, not yet dropped): its poke's updater state, or -1. */
  const liveEntry = (s: Int32Array, st: number): number => {
    const u = upOf(s);
    return method === 'text_poke_bp' && siteOfPoke(u) === st && stepOf(s) >= 2 ? u : -1;
  };

  /** `__bpf_arch_text_poke`'s check, memoised by (updater state, content): the return value, and whether it goes on to write. */
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('caller', world.caller.address, world.caller.bytes.length);
  const checkCache = new Map<number, { ret: number; writes: boolean }>();
  const pokeCheck = (u: number, c: number): { ret: number; writes: boolean } => {
    const key = u * 256 + c;
    let r = checkCache.get(key);
    if (r === undefined) {
      const m = upMeta[u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const { ret, after } = scratchPoke(m, poke, siteAddr[upSite[u]], contents[upSite[u]].bytes(c), world.progs, kallsyms);
      if (!POKE_RETURNS.includes(ret)) throw new Error(`tailcall-poke-byte: unexpected poke return ${ret}`);
      if (ret === 0 && hexBytes(after) !== hexBytes(newInsn[u]!)) throw new Error(`tailcall-poke-byte: ${m.doc} wrote unexpected bytes`);
      r = { ret, writes: ret === 0 };
      checkCache.set(key, r);
    }
    return r;
  };

  const properties: PropertySpec[] = byteProperties().map((p) => ({ ...p, checked: p.id !== 'P4' || protocol.checks_old_bytes }));
  const scratch: number[] = new Array(N).fill(0);
  const UPDATER = 2 * N;

  /** One CPU's step that is not an IPI: a byte fetch, an int3 handler step, or an internal step. */
  const cpuStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const f = fields.get(s, i);
    const q = qOf(f);
    const fu = fuOf(f);
    if (fTorn[fu]) return false;
    const st = cpuFetch[q];
    let fe: number;
    let ev = -1;
    let nbuf = EMPTY;
    if (fu === fHandler) {
      const u = liveEntry(s, st);
      if (u >= 0) {
        fe = fev.EMULATE;
        ev = bufFetched[internBuffer(st, Uint8Array.from(newInsn[u]!))].cpuEvent;
      } else {
        fe = fev.NOT_OURS;
        nbuf = bufOf(f);
      }
    } else if (st >= 0) {
      const buf = bufOf(f);
      const have = bufBytes(buf);
      const bytes = Uint8Array.from([...have, byteAt(s, siteAddr[st] + BigInt(have.length))]);
      nbuf = internBuffer(st, bytes);
      const got = bufFetched[nbuf];
      if (got.kind === 'more') fe = fev.FETCH_MORE;
      else if (got.kind === 'int3') fe = fev.INT3;
      else if (got.kind === 'torn') fe = fev.TORN;
      else {
        fe = fev.EXEC;
        ev = got.cpuEvent;
        nbuf = EMPTY;
      }
    } else {
      ev = cpuInternal[q];
      if (ev < 0) return false;
      fe = -1;
    }
    const nfu = fe < 0 ? fu : fetch.next[fu * FE + fe];
    if (nfu < 0) throw new Error(`tailcall-poke-byte: cpu${i} fetch in ${fetch.names[fu]} has no move for ${fetch.eventNames[fe]}`);
    let nq = q;
    if (ev >= 0) {
      nq = cpu.next[q * CE + ev];
      if (nq < 0) throw new Error(`tailcall-poke-byte: cpu${i} in ${cpu.names[q]} has no move for ${cpu.eventNames[ev]}`);
    }
    next.set(s);
    let nf = withFetch((f & ~Q_MASK) | nq, nfu, nbuf);
    // Leaving the read-side section ends this CPU's part in every pending grace period.
    if (cpuReader[q] && !cpuReader[nq]) nf &= ~RCU_BITS;
    fields.set(next, i, nf);
    return true;
  };

  /** The updater's step, if enabled. */
  const updaterStep = (s: Int32Array, next: Int32Array): boolean => {
    const u = upOf(s);
    const m = upMeta[u];
    const k = stepOf(s);
    const slot = slotOf(s);
    let ev = -1;
    let nk = 0;
    next.set(s);
    switch (m.op) {
      case 'xchg':
        ev = evXchg(slot);
        setW0(next, u, 0, m.new_prog);
        break;
      case 'poke': {
        const st = siteOfPoke(u);
        if (k === 0) {
          const { ret, writes } = pokeCheck(u, contentOf(s, st));
          if (writes) nk = 1;
          else ev = evRet(ret);
          break;
        }
        const step = steps[k - 1];
        if (step.op === 'write') {
          const b = Uint8Array.from(contents[st].bytes(contentOf(s, st)));
          b[step.offset] = writeByte(step, newInsn[u]!);
          setContent(next, st, contents[st].intern(b));
        } else if (step.op === 'sync') {
          for (let i = 0; i < N; i++) fields.set(next, i, fields.get(next, i) | IPI_BIT);
        } else if (step.op === 'sync_wait') {
          if (anyHas(s, IPI_BIT)) return false;
        } else if (step.op === 'refs_drop') {
          for (let i = 0; i < N; i++) {
            const f = fields.get(s, i);
            if (fuOf(f) === fHandler && cpuFetch[qOf(f)] === st) return false;
          }
        }
        if (k < steps.length) nk = k + 1;
        else ev = evRet(0);
        break;
      }
      case 'sync_start':
        ev = evSTEP;
        markReaders(next, GP_BIT);
        break;
      case 'sync_wait':
        if (anyHas(s, GP_BIT)) return false;
        ev = evGP;
        break;
      case 'put':
        ev = evSTEP;
        if (m.last_ref) {
          setLife(next, m.prog, DYING);
          markReaders(next, dyingBit(m.prog));
        }
        break;
      default:
        return false;
    }
    let nu = u;
    if (ev >= 0) {
      nu = up.next[u * UE + ev];
      if (nu < 0) throw new Error(`tailcall-poke-byte: updater in ${up.names[u]} has no move for ${up.eventNames[ev]}`);
    }
    setW0(next, nu, nk, slotOf(next));
    return true;
  };

  const system: TransitionSystem = {
    width: 2 + fields.words,
    properties,
    initial(out) {
      out.fill(0);
      setW0(out, up.initial, 0, 0);
      setContent(out, 0, initialContent[0]);
      setContent(out, 1, initialContent[1]);
      for (let i = 0; i < N; i++) fields.set(out, i, withFetch(cpu.initial, fBoundary, EMPTY));
    },
    expand(s, next, sink) {
      for (let i = 0; i < N; i++) {
        if (cpuStep(s, next, i)) sink(2 * i);
        const f = fields.get(s, i);
        if (f & IPI_BIT && fuOf(f) === fBoundary) {
          next.set(s);
          fields.set(next, i, f & ~IPI_BIT);
          sink(2 * i + 1);
        }
      }
      if (updaterStep(s, next)) sink(UPDATER);
      for (let k = 1; k <= K; k++) {
        if (lifeOf(s, k) === DYING && !anyHas(s, dyingBit(k))) {
          next.set(s);
          setLife(next, k, FREED);
          sink(UPDATER + k);
        }
      }
    },
    violations(s) {
      let v = 0;
      for (let i = 0; i < N; i++) {
        const f = fields.get(s, i);
        const q = qOf(f);
        if (cpuP1[q]) v |= 1;
        const k = cpuProg[q];
        if (k && lifeOf(s, k) === FREED) v |= 2;
        if (fTorn[fuOf(f)]) v |= 16;
      }
      if (contentOf(s, 0) === nop5Content[0] && contentOf(s, 1) === nop5Content[1]) v |= 4;
      if (upBug[upOf(s)]) v |= 8;
      return v;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  // ---- printing ---------------------------------------------------------------------------------
  const contentText = (st: number, c: number): string => {
    const bytes = contents[st].bytes(c);
    try {
      const insn = decodeInsn(bytes, siteAddr[st]);
      if (insn.len === X86_PATCH_SIZE) return insn.text;
      const guard = insn.kind === 'int3' ? ' (text_poke_bp guard)' : '';
      return `${insn.text}${guard}; then ${hexBytes(bytes.subarray(insn.len))}`;
    } catch (e) {
      if (e instanceof DecodeError) return `not an instruction the JIT emits (${e.message})`;
      throw e;
    }
  };
  const progName = (k: number): string => (k ? `f${k}` : 'NULL');
  const describeCpu = (before: Int32Array, after: Int32Array, i: number, ipi: boolean): string => {
    const f = fields.get(before, i);
    const nf = fields.get(after, i);
    const q = qOf(f);
    const to = cpu.names[qOf(nf)];
    if (ipi) return 'takes the text_poke_bp sync IPI at an instruction boundary: do_sync_core() serializes';
    const st = cpuFetch[q];
    if (fuOf(f) === fHandler) {
      const u = liveEntry(before, st);
      if (u < 0) return `smp_text_poke_int3_handler: no text_poke_bp entry for ${hexAddr(siteAddr[st])}: a stray int3 (do_int3 dies) -> P5`;
      const emu = bufFetched[internBuffer(st, Uint8Array.from(newInsn[u]!))];
      return `smp_text_poke_int3_handler emulates the new instruction ${emu.text} [${hexBytes(newInsn[u]!)}] -> ${to}`;
    }
    if (st < 0) return `${String(cpu.meta[q].doc)} -> ${to}`;
    const have = bufBytes(bufOf(f));
    const byte = byteAt(before, siteAddr[st] + BigInt(have.length));
    const bytes = Uint8Array.from([...have, byte]);
    const got = bufFetched[internBuffer(st, bytes)];
    const head = `fetches byte ${have.length} of ${SITES[st]} (${hexAddr(siteAddr[st] + BigInt(have.length))}): ${hexBytes([byte])}`;
    switch (got.kind) {
      case 'more':
        return `${head} (so far ${hexBytes(bytes)})`;
      case 'int3':
        return `${head}: int3, traps into smp_text_poke_int3_handler`;
      case 'exec':
        return `${head} -> executes ${got.text} [${hexBytes(bytes)}] -> ${to}`;
      case 'torn':
        return `${head} -> executes TORN bytes [${hexBytes(bytes)}] = ${got.text}: neither the old nor the new instruction -> P5`;
    }
  };
  const describeUpdater = (before: Int32Array, after: Int32Array): string => {
    const u = upOf(before);
    const m = upMeta[u];
    let text = m.doc;
    if (m.op === 'xchg') text += ` -> old = ${progName(slotOf(before))}`;
    if (m.op === 'poke') {
      const st = siteOfPoke(u);
      const k = stepOf(before);
      if (k === 0) {
        const { ret, writes } = pokeCheck(u, contentOf(before, st));
        text += writes ? `: the bytes are the old instruction; ${method === 'memcpy' ? 'memcpy' : 'text_poke_bp'}(${SITES[st]}, ${hexBytes(newInsn[u]!)}) begins` : ` = ${errnoName(ret)}`;
      } else {
        text = `${method === 'memcpy' ? 'memcpy' : 'text_poke_bp'}(${SITES[st]}): ${steps[k - 1].doc}`;
        if (stepOf(after) === 0) text += ` -> the poke returns 0`;
      }
      if (upBug[upOf(after)]) text += ' -> BUG_ON';
    }
    if (m.op === 'sync_start' || (m.op === 'put' && m.last_ref)) {
      const readers = Array.from({ length: N }, (_, i) => i).filter((i) => cpuReader[qOf(fields.get(before, i))]);
      text += readers.length ? ` (waits for ${readers.map((i) => `cpu${i}`).join(', ')})` : ' (no CPU is a reader)';
    }
    return text;
  };

  return {
    model: 'tailcall-poke',
    protocol: cfg.protocol,
    cpus: N,
    config: { level: 'byte', poke: method, script: script.map((o) => (o.op === 'update' ? `update f${o.prog}` : 'remove')).join('; ') },
    system,
    describe(before, after, action): StepView {
      if (action < UPDATER) return { actor: `cpu${action >> 1}`, action: describeCpu(before, after, action >> 1, (action & 1) === 1) };
      if (action === UPDATER) return { actor: 'updater', action: describeUpdater(before, after) };
      return { actor: 'rcu', action: `grace period over: frees f${action - UPDATER}` };
    },
    sites(s): SiteView[] {
      return [0, 1].map((st) => {
        const c = contentOf(s, st);
        return { name: SITES[st], address: hexAddr(siteAddr[st]), bytes: contents[st].hex(c), disasm: contentText(st, c) };
      });
    },
    summary(s): string {
      const cpus = Array.from({ length: N }, (_, i) => {
        const f = fields.get(s, i);
        const buf = bufOf(f);
        const marks = [
          fetch.values[fuOf(f)] === 'boundary' ? '' : fetch.values[fuOf(f)],
          buf !== EMPTY ? `fetched ${hexBytes(bufBytes(buf))}` : '',
          f & IPI_BIT ? 'ipi' : '',
          f & GP_BIT ? 'gp' : '',
          ...[1, 2, 3].map((k) => (f & dyingBit(k) ? `holds f${k}` : '')),
        ].filter(Boolean);
        return `cpu${i}=${cpu.names[qOf(f)]}${marks.length ? `[${marks.join(',')}]` : ''}`;
      });
      const life = Array.from({ length: K }, (_, k) => `f${k + 1}:${['live', 'dying', 'freed'][lifeOf(s, k + 1)]}`);
      const k = stepOf(s);
      return `ptrs[0]=${progName(slotOf(s))} ${life.join(' ')} ${cpus.join(' ')} updater=${up.names[upOf(s)]}${k ? ` step ${k}/${steps.length}` : ''}`;
    },
  };
}
