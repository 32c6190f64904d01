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
 * Written on the typed model layer (src/model/), like the instruction level:
 * the state is the layout below; a CPU's moves (its next fetch or internal
 * step, or taking a pending sync IPI) are one step with a choice; then the
 * updater and the RCU frees.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { byteFetchMachine, FETCH_EVENTS } from '../src/concurrency/cpu-byte.js';
import { cpuEvents, tailCallCpuMachine } from '../src/concurrency/cpu.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type ModelConfig, type StateGroup } from '../src/concurrency/model.js';
import { siteStateOf } from '../src/poke/site-states.js';
import { actorPart, GP_WAITS, progLifeText, stateLine, tailcallCpuText, updaterStateText } from '../src/model/state-text.js';
import { resolveAddr } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { POKE_RETURNS, scriptText, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { decodeInsn, DecodeError, type Insn } from '../src/jit/x86/decode.js';
import { NOP5, X86_PATCH_SIZE, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { errnoName } from '../src/poke/errno.js';
import { poke_insn } from '../src/poke/text_poke.js';
import { POKE_METHODS, pokeMethodSteps, text_poke_entry, writeByte, type PokeMethod, type TextPokeBpStep } from '../src/poke/text_poke_bp.js';
import { checkableModel, defineLayout, DecodedSites, DelayedFrees, FREED, GracePeriod, type Property, type TypedModel } from '../src/model/index.js';
import { callerProfile, executorEventOf, executorTables, PROPERTIES, progName, scratchPoke, siteDecls, SITES, TAILCALL_POKE_PROTOCOLS, tailcallConfig, tailcallPokeWorld, updaterActor, updaterTables, stepSource } from './tailcall-common.js';

export const P5 = { id: 'P5', description: 'every instruction a CPU executes at a poke site is exactly an old or a new instruction (never torn bytes)' };

/** The longest x86 instruction; a fetch that is still incomplete after it faults. */
const MAX_INSN_LEN = 15;

/** What a fetched byte string is at a site. */
interface Fetched {
  kind: 'more' | 'exec' | 'torn' | 'int3';
  /** the fetch machine's event for it */
  fetchEvent: number;
  /** for exec: the executor's event */
  cpuEvent: number;
  /** what the bytes decode to, or why they do not */
  text: string;
}

/**
 * The bytes a CPU has fetched so far at a poke site, numbered for its record
 * (`empty`: none) in order of first sight, and classified once.
 */
class FetchedBytes {
  private readonly interned = new BytesInterner(1 << 16, 'tailcall-poke-byte: fetched bytes');
  private readonly kinds: Fetched[] = [];
  private readonly appended = new Map<number, number>();
  readonly empty: number;
  constructor(private readonly classify: (site: number, bytes: Uint8Array) => Fetched) {
    this.empty = this.interned.intern([]);
  }
  /** The number of `bytes` fetched at `site`. */
  of(site: number, bytes: Uint8Array): number {
    const id = this.interned.intern([site, ...bytes]);
    if (this.kinds[id] === undefined) this.kinds[id] = this.classify(site, bytes);
    return id;
  }
  /** The number of fetch `id`'s bytes and then `byte` at `site` (memoised: the search's hot path). */
  append(site: number, id: number, byte: number): number {
    const key = (id * 2 + site) * 256 + byte;
    let r = this.appended.get(key);
    if (r === undefined) this.appended.set(key, (r = this.of(site, Uint8Array.from([...this.bytes(id), byte]))));
    return r;
  }
  bytes(id: number): Uint8Array {
    return id === this.empty ? new Uint8Array(0) : this.interned.bytes(id).subarray(1);
  }
  what(id: number): Fetched {
    return this.kinds[id];
  }
}

/**
 * The state: the updater's state, the step of its write method in flight (0: none), ptrs[0],
 * both sites' contents, f_k's life; per CPU its executor state, its fetch machine's state, a
 * pending sync IPI, its grace-period marks and the bytes it fetched so far. The record's fields
 * are in the order of the hand-packed model this replaced, so that CPUs sort the same under
 * symmetry (and counterexamples stay the same).
 */
function byteLayout(N: number, K: number) {
  return defineLayout({
    shared: { updater: 12, step: 5, slot: 4, bypass: 8, target: 8, life: [2, K] },
    cpus: { count: N, bits: 32, fields: { q: 4, fetch: 2, ipi: 1, sync: 1, holds: [1, K], fetched: 16 } },
  });
}

export function buildTailcallPokeByte(cfg: ModelConfig): TypedModel {
  const { protocol, script, progs: K } = tailcallConfig('tailcall-poke --level byte', cfg, TAILCALL_POKE_PROTOCOLS, 8, 3);
  const method = (cfg.options.poke ?? 'text_poke_bp') as PokeMethod;
  if (!POKE_METHODS.includes(method)) throw new ModelConfigError(`tailcall-poke: --poke must be one of ${POKE_METHODS.join(', ')}, got '${method}'`);
  const N = cfg.cpus;

  // ---- the world: the caller's bytes, the programs, the actors' machines ---------------------
  const world = tailcallPokeWorld(K, callerProfile(cfg.protocol, cfg.options['protocol-file']));
  const poke = world.caller.pokes[0];
  const prog = (k: number): BpfProg | null => (k ? world.progs[k - 1] : null);
  const writeSteps = pokeMethodSteps(method);
  const methodName = method === 'memcpy' ? 'memcpy' : 'text_poke_bp';
  const cpu = compileMachine(tailCallCpuMachine, cpuEvents(K));
  const fetch = compileMachine(byteFetchMachine, FETCH_EVENTS);
  const up = compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  if (up.names.length >= 1 << 12 || cpu.names.length > 16 || fetch.names.length > 4 || writeSteps.length >= 31) throw new Error('tailcall-poke-byte: machine too large to pack');
  const exec = executorTables(cpu);
  const upT = updaterTables(up);
  const fBoundary = fetch.stateIndex('boundary');
  const fHandler = fetch.stateIndex('int3_handler');
  const fTorn = fetch.tags.map((t) => t.has('P5'));
  const fe = Object.fromEntries(FETCH_EVENTS.map((e) => [e.type, fetch.eventIndex(e.type)])) as Record<string, number>;

  // ---- the sites, the instructions each may hold, and what fetched bytes are -----------------
  const sites = new DecodedSites('tailcall-poke-byte', siteDecls(world));
  const siteAddr = sites.sites.map((d) => d.address);
  const nop5Content = [0, 1].map((st) => sites.intern(st, NOP5));
  /** The instructions a site may legitimately hold: its initial bytes, and every poke's old and new there. */
  const legit = [0, 1].map((st) => new Set([hexBytes(sites.sites[st].initial)]));
  /** For each poke state of the updater: the 5 bytes it writes (its new instruction). */
  const newInsn: (Uint8Array | undefined)[] = upT.meta.map((m) => {
    if (m.op !== 'poke') return undefined;
    const st = SITES.indexOf(m.step.site);
    const enc = (a: typeof m.step.new_addr) => poke_insn(siteAddr[st], 'BPF_MOD_JUMP', resolveAddr(a, poke, prog(m.old_prog), prog(m.new_prog)));
    const nw = enc(m.step.new_addr);
    if (!nw) throw new Error(`tailcall-poke-byte: ${m.doc}: new address out of rel32 range`);
    legit[st].add(hexBytes(nw));
    if (m.step.old_addr !== 'current') {
      const old = enc(m.step.old_addr);
      if (old) legit[st].add(hexBytes(old));
    }
    if (method === 'text_poke_bp') text_poke_entry(siteAddr[st], nw); // what __smp_text_poke_batch_add would BUG on
    return Uint8Array.from(nw);
  });
  const executorEvent = executorEventOf(cpu, world);
  const fetched = new FetchedBytes((st, bytes) => {
    let insn: Insn;
    try {
      insn = decodeInsn(bytes, siteAddr[st]);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      if (e.why === 'truncated' && bytes.length < MAX_INSN_LEN) return { kind: 'more', fetchEvent: fe.FETCH_MORE, cpuEvent: -1, text: '' };
      return { kind: 'torn', fetchEvent: fe.TORN, cpuEvent: -1, text: `not an instruction the JIT emits (${e.message})` };
    }
    if (insn.kind === 'int3' && bytes.length === 1) return { kind: 'int3', fetchEvent: fe.INT3, cpuEvent: -1, text: insn.text };
    if (insn.len === X86_PATCH_SIZE && legit[st].has(hexBytes(bytes))) {
      const ev = executorEvent(insn);
      if (ev < 0) throw new Error(`tailcall-poke-byte: no executor move for ${insn.text}`);
      return { kind: 'exec', fetchEvent: fe.EXEC, cpuEvent: ev, text: insn.text };
    }
    return { kind: 'torn', fetchEvent: fe.TORN, cpuEvent: -1, text: insn.text };
  });
  /** What smp_text_poke_int3_handler emulates for the poke of updater state u: its new instruction, as fetched bytes. */
  const emulatedOf: number[] = [];
  const emulated = (u: number): number => (emulatedOf[u] ??= fetched.of(upT.site[u], newInsn[u]!));

  // ---- the state -----------------------------------------------------------------------------
  const L = byteLayout(N, K);
  const { updater, step, slot, life } = L.shared;
  const content = [L.shared.bypass, L.shared.target];
  const { q, ipi, sync, holds } = L.cpu;
  const fetchState = L.cpu.fetch;
  const fetchedF = L.cpu.fetched;
  const records = L.cpus!;
  const rcu = new GracePeriod(L, q, exec.reader, [sync, holds]);
  const frees = new DelayedFrees(rcu, life, holds);

  /** Where the byte at offset `off` from site st's address comes from: a poke site's byte, or the rest of the image. Memoised. */
  const sourceOf: { site: number; off: number; byte: number }[][] = [[], []];
  const byteSource = (addr: bigint): { site: number; off: number; byte: number } => {
    for (let t = 0; t < 2; t++) {
      const off = Number(addr - siteAddr[t]);
      if (off >= 0 && off < X86_PATCH_SIZE) return { site: t, off, byte: -1 };
    }
    return { site: -1, off: 0, byte: world.text.read(addr, 1)[0] };
  };
  /** The byte at offset `off` from site st's address as the text stands in state `s`. */
  const byteAt = (s: Int32Array, st: number, off: number): number => {
    const src = (sourceOf[st][off] ??= byteSource(siteAddr[st] + BigInt(off)));
    return src.site < 0 ? src.byte : sites.bytes(src.site, content[src.site].get(s))[src.off];
  };
  /** The text_poke_bp entry live for site `st` in state `s` (refs set, not yet dropped): its poke's updater state, or -1. */
  const liveEntry = (s: Int32Array, st: number): number => {
    const u = updater.get(s);
    return method === 'text_poke_bp' && upT.site[u] === st && step.get(s) >= 2 ? u : -1;
  };

  // ---- the CPUs ------------------------------------------------------------------------------
  /** CPU i's next fetch, int3-handler or internal step from its record f; false if it has none. */
  const fetchStep = (s: Int32Array, next: Int32Array, i: number, f: number): boolean => {
    const qq = q.of(f);
    const fu = fetchState.of(f);
    if (fTorn[fu]) return false;
    const st = exec.fetchSite[qq];
    let fev = -1;
    let ev = -1;
    let nbuf = fetched.empty;
    if (fu === fHandler) {
      const u = liveEntry(s, st);
      if (u >= 0) {
        fev = fe.EMULATE;
        ev = fetched.what(emulated(u)).cpuEvent;
      } else {
        fev = fe.NOT_OURS;
        nbuf = fetchedF.of(f);
      }
    } else if (st >= 0) {
      const buf = fetchedF.of(f);
      nbuf = fetched.append(st, buf, byteAt(s, st, fetched.bytes(buf).length));
      const got = fetched.what(nbuf);
      fev = got.fetchEvent;
      if (got.kind === 'exec') {
        ev = got.cpuEvent;
        nbuf = fetched.empty;
      }
    } else {
      ev = exec.internal[qq];
      if (ev < 0) return false;
    }
    const nfu = fev < 0 ? fu : moveOrThrow(fetch, fu, fev, `tailcall-poke-byte: cpu${i} fetch`);
    const nq = ev < 0 ? qq : moveOrThrow(cpu, qq, ev, `tailcall-poke-byte: cpu${i}`);
    records.set(next, i, fetchedF.with(fetchState.with(rcu.moved(f, qq, nq), nfu), nbuf));
    return true;
  };

  /** CPU i's moves: its next step (fetchStep), and, at an instruction boundary with text_poke_bp's sync IPI pending, taking it. */
  const cpuStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => {
    const f = records.get(s, i);
    const takesIpi = ipi.of(f) === 1 && fetchState.of(f) === fBoundary;
    if (fetchStep(s, next, i, f)) {
      if (!takesIpi) return true;
      emit();
    }
    if (!takesIpi) return false;
    records.set(next, i, ipi.with(f, 0));
    return true;
  };

  // ---- the updater ---------------------------------------------------------------------------
  /** `__bpf_arch_text_poke`'s check, memoised by (updater state, content): the return value, and whether it goes on to write. */
  const checkCache = new Map<number, { ret: number; writes: boolean }>();
  const pokeCheck = (u: number, c: number): { ret: number; writes: boolean } => {
    const key = u * 256 + c;
    let r = checkCache.get(key);
    if (r === undefined) {
      const m = upT.meta[u] as Extract<UpdaterStepMeta, { op: 'poke' }>;
      const st = upT.site[u];
      const { ret, after } = scratchPoke(m, poke, siteAddr[st], sites.bytes(st, c), world.progs, world.kallsyms);
      if (!POKE_RETURNS.includes(ret)) throw new Error(`tailcall-poke-byte: unexpected poke return ${ret}`);
      if (ret === 0 && hexBytes(after) !== hexBytes(newInsn[u]!)) throw new Error(`tailcall-poke-byte: ${m.doc} wrote unexpected bytes`);
      r = { ret, writes: ret === 0 };
      checkCache.set(key, r);
    }
    return r;
  };
  /** Site st's content after write step `ws` of the poke of updater state u on content c (memoised). */
  const writeCache = new Map<number, number>();
  const written = (u: number, st: number, c: number, k: number, ws: Extract<TextPokeBpStep, { op: 'write' }>): number => {
    const key = (u * 256 + c) * 32 + k;
    let r = writeCache.get(key);
    if (r === undefined) {
      const b = Uint8Array.from(sites.bytes(st, c));
      b[ws.offset] = writeByte(ws, newInsn[u]!);
      writeCache.set(key, (r = sites.intern(st, b)));
    }
    return r;
  };
  /** The updater leaves poke state u by event ev (the write method, if any, is over). */
  const finish = (next: Int32Array, u: number, ev: number): boolean => {
    updater.set(next, moveOrThrow(up, u, ev, 'tailcall-poke-byte: updater'));
    step.set(next, 0);
    return true;
  };
  /** The poke in flight at updater state u, step k: its check (k = 0), then the write method's step k; false while it waits. */
  const pokeStep = (s: Int32Array, next: Int32Array, u: number, k: number): boolean => {
    const st = upT.site[u];
    if (k === 0) {
      const { ret, writes } = pokeCheck(u, content[st].get(s));
      if (!writes) return finish(next, u, upT.retEvent(ret));
      step.set(next, 1);
      return true;
    }
    const ws = writeSteps[k - 1];
    if (ws.op === 'write') content[st].set(next, written(u, st, content[st].get(s), k, ws));
    else if (ws.op === 'sync') for (let i = 0; i < N; i++) ipi.set(next, i, 1);
    else if (ws.op === 'sync_wait' && ipi.any(s)) return false;
    else if (ws.op === 'refs_drop') for (let i = 0; i < N; i++) if (fetchState.get(s, i) === fHandler && exec.fetchSite[q.get(s, i)] === st) return false;
    if (k === writeSteps.length) return finish(next, u, upT.retEvent(0));
    step.set(next, k + 1);
    return true;
  };
  /** The updater runs the next step of its script under the protocol. */
  const updaterStep = (s: Int32Array, next: Int32Array): boolean => {
    const u = updater.get(s);
    const m = upT.meta[u];
    let ev = -1;
    switch (m.op) {
      case 'xchg':
        ev = upT.xchgEvent(slot.get(s));
        slot.set(next, m.new_prog);
        break;
      case 'poke':
        return pokeStep(s, next, u, step.get(s));
      case 'sync_start':
        ev = upT.evSTEP;
        rcu.start(next, sync);
        break;
      case 'sync_wait':
        if (rcu.pending(s, sync)) return false;
        ev = upT.evGP;
        break;
      case 'put':
        ev = upT.evSTEP;
        if (m.last_ref) frees.put(next, m.prog);
        break;
      default:
        return false;
    }
    updater.set(next, moveOrThrow(up, u, ev, 'tailcall-poke-byte: updater'));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someCpu = (pred: (f: number, s: Int32Array) => boolean) => (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (pred(records.get(s, i), s)) return true;
    return false;
  };
  const properties: Property[] = [
    { ...PROPERTIES[0], cpus: 1, violated: someCpu((f) => exec.p1[q.of(f)]) },
    { ...PROPERTIES[1], cpus: 1, violated: someCpu((f, s) => exec.inProg[q.of(f)] > 0 && frees.lifeOf(s, exec.inProg[q.of(f)]) === FREED) },
    { ...PROPERTIES[2], cpus: 0, violated: (s) => content[0].get(s) === nop5Content[0] && content[1].get(s) === nop5Content[1] },
    { ...PROPERTIES[3], cpus: 0, checked: protocol.checks_old_bytes, violated: (s) => upT.bug[updater.get(s)] },
    { ...P5, cpus: 1, violated: someCpu((f) => fTorn[fetchState.of(f)]) },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const contentText = (st: number, c: number): string => {
    const bytes = sites.bytes(st, c);
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
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const f = records.get(before, i);
    const qq = q.of(f);
    const to = cpu.names[q.get(after, i)];
    if (ipi.of(f) && !ipi.get(after, i)) return 'takes the text_poke_bp sync IPI at an instruction boundary: do_sync_core() serializes';
    const st = exec.fetchSite[qq];
    if (fetchState.of(f) === fHandler) {
      const u = liveEntry(before, st);
      if (u < 0) return `smp_text_poke_int3_handler: no text_poke_bp entry for ${hexAddr(siteAddr[st])}: a stray int3 (do_int3 dies) -> P5`;
      return `smp_text_poke_int3_handler emulates the new instruction ${fetched.what(emulated(u)).text} [${hexBytes(newInsn[u]!)}] -> ${to}`;
    }
    if (st < 0) return `${String(cpu.meta[qq].doc)} -> ${to}`;
    const have = fetched.bytes(fetchedF.of(f));
    const byte = byteAt(before, st, have.length);
    const bytes = Uint8Array.from([...have, byte]);
    const got = fetched.what(fetched.of(st, bytes));
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
    const u = updater.get(before);
    const m = upT.meta[u];
    let text = m.doc;
    if (m.op === 'xchg') text += ` -> old = ${progName(slot.get(before))}`;
    if (m.op === 'poke') {
      const st = upT.site[u];
      const k = step.get(before);
      if (k === 0) {
        const { ret, writes } = pokeCheck(u, content[st].get(before));
        text += writes ? `: the bytes are the old instruction; ${methodName}(${SITES[st]}, ${hexBytes(newInsn[u]!)}) begins` : ` = ${errnoName(ret)}`;
      } else {
        text = `${methodName}(${SITES[st]}): ${writeSteps[k - 1].doc}`;
        if (step.get(after) === 0) text += ` -> the poke returns 0`;
      }
      if (upT.bug[updater.get(after)]) text += ' -> BUG_ON';
    }
    if (m.op === 'sync_start' || (m.op === 'put' && m.last_ref)) text += rcu.waitsText(before);
    return text;
  };
  const cpuSummary = (s: Int32Array, i: number): string => {
    const f = records.get(s, i);
    const qq = q.of(f);
    const fu = fetchState.of(f);
    const got = hexBytes(fetched.bytes(fetchedF.of(f)));
    const marks = [
      fu === fBoundary ? '' : fu === fHandler ? 'in smp_text_poke_int3_handler' : fTorn[fu] ? `executed torn bytes ${got}` : `fetched ${got} so far`,
      ipi.of(f) ? 'a text_poke_bp sync IPI pending' : '',
      sync.of(f) ? GP_WAITS : '',
      ...holds.fields.map((h, k) => (h.of(f) ? `f${k + 1}'s free waits for it` : '')),
    ];
    return actorPart(`cpu${i}`, tailcallCpuText(cpu.values[qq], cpu.contexts[qq]), marks);
  };

  // ---- the A-D picture: the sites' decoded bytes grouped as the instruction level groups them ---
  /** What site st's content c holds: one of its instructions (nop or a jmp), or bytes in the middle of a poke. */
  const classOf: ('nop' | 'jmp' | 'int3' | 'torn')[][] = [[], []];
  const siteClass = (st: number, c: number): 'nop' | 'jmp' | 'int3' | 'torn' => {
    let k = classOf[st][c];
    if (k === undefined) {
      const b = sites.bytes(st, c);
      k = c === nop5Content[st] ? 'nop' : legit[st].has(hexBytes(b)) ? 'jmp' : b[0] === 0xcc ? 'int3' : 'torn';
      classOf[st][c] = k;
    }
    return k;
  };
  const insnOf = (st: number, cls: 'nop' | 'jmp') => (st === 0 ? (cls === 'nop' ? 'nop' : 'jmp out') : cls) as never;
  /** Per updater poke state: whether its old and its new instruction are the nop (null: the old one is read from the site). */
  const pokeEnds = upT.meta.map((m) => (m.op === 'poke' ? { oldNop: m.old_addr === 'current' ? null : m.old_addr === 'NULL', newNop: m.new_addr === 'NULL' } : null));
  const group = (s: Int32Array): StateGroup => {
    const cls = [0, 1].map((st) => siteClass(st, content[st].get(s)));
    if (cls[0] !== 'int3' && cls[0] !== 'torn' && cls[1] !== 'int3' && cls[1] !== 'torn') return siteStateOf(insnOf(0, cls[0]), insnOf(1, cls[1]));
    // one site is mid-poke (the updater writes one site at a time): name the states before and after the poke in flight
    const st = cls[0] === 'int3' || cls[0] === 'torn' ? 0 : 1;
    const other = cls[1 - st] as 'nop' | 'jmp';
    const u = updater.get(s);
    const ends = upT.site[u] === st ? pokeEnds[u] : null;
    const stateWith = (nop: boolean) => (st === 0 ? siteStateOf(nop ? 'nop' : 'jmp out', insnOf(1, other)) : siteStateOf(insnOf(0, other), nop ? 'nop' : 'jmp'));
    // an old instruction read from the site ('current', rfc) differs from the new one, or nothing would be written:
    // it is known unless the new one is a jmp into a program at the target (the old one: the nop or another jmp)
    const oldNop = !ends ? null : ends.oldNop ?? (ends.newNop ? false : st === 0 ? true : null);
    const from = ends && oldNop !== null ? stateWith(oldNop).name : ''; // unknown: the group is named by where the poke goes
    const to = ends ? stateWith(ends.newNop).name : '?';
    const old = from || !ends ? '' : ' (its old instruction read from the site: the nop or another jmp)';
    const how = cls[st] === 'int3' ? 'int3 over its first byte' : 'torn bytes, neither its old nor its new instruction';
    return { name: `${from}→${to}`, doc: `${SITES[st]} mid-${methodName}: ${how}${old}`, forbidden: false };
  };

  const scriptLine = scriptText(script);
  return checkableModel({
    model: 'tailcall-poke',
    protocol: protocol.name,
    cpus: N,
    config: { level: 'byte', poke: method, script: scriptLine },
    layout: L,
    initial(s) {
      updater.set(s, up.initial);
      content[0].set(s, sites.initial[0]);
      content[1].set(s, sites.initial[1]);
      for (let i = 0; i < N; i++) records.set(s, i, fetchedF.with(fetchState.with(q.with(0, cpu.initial), fBoundary), fetched.empty));
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'updater', next: updaterStep },
      frees.step(),
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      if (a.actor === 'updater') {
        const m = upT.meta[updater.get(before)];
        return { actor: 'updater', action: describeUpdater(before, after), source: m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait' ? stepSource(m.source) : undefined };
      }
      return { actor: 'rcu', action: `grace period over: frees f${a.i + 1}` };
    },
    sites: (s) => [0, 1].map((st) => ({ ...sites.view(st, content[st].get(s)), disasm: contentText(st, content[st].get(s)) })),
    group,
    summary(s) {
      const lives = Array.from({ length: K }, (_, k) => progLifeText(k + 1, life.get(s, k)));
      const k = step.get(s);
      const u = updater.get(s);
      const inPoke = k ? `next write ${k} of ${writeSteps.length}: ${writeSteps[k - 1].doc}` : undefined;
      return stateLine([`ptrs[0]=${progName(slot.get(s))}`, ...lives, ...Array.from({ length: N }, (_, i) => cpuSummary(s, i)), actorPart('updater', updaterStateText(up.names[u], upT.meta[u], script, { inPoke }))]);
    },
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      return [
        { name: 'cpu', title: 'CPU executor of the direct tail call (src/concurrency/cpu.ts)', machine: tailCallCpuMachine, events: cpuEvents(K), violationTags: bad },
        { name: 'fetch', title: 'A CPU fetching an instruction byte by byte (src/concurrency/cpu-byte.ts)', machine: byteFetchMachine, events: FETCH_EVENTS, violationTags: bad },
        updaterActor('updater', `Updater for "${scriptLine}" under ${cfg.protocol} (src/arraymap/updater.ts)`, script, protocol, K, bad),
      ];
    },
  });
}
