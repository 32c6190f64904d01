/**
 * Model `dispatcher`: the XDP BPF dispatcher's double-buffered image, N CPUs
 * running XDP through it, one updater attaching and replacing the device's
 * program (docs/kernel-facts.md section 6; docs/reference-verdicts.md section 4).
 *
 * The image is one page used as two halves of PAGE_SIZE / 2. An update
 * (`bpf_dispatcher_change_prog`, src/dispatcher/bpf_dispatcher.ts) writes
 * the inactive half (`bpf_arch_text_copy`: two steps, during which the half
 * holds neither image), switches the static call trampoline to it (one
 * atomic text poke, R1-R3 of the facts doc) and, since v6.2 (4121d4481b72),
 * waits for a grace period. A CPU (src/dispatcher/cpu.ts) enters through the
 * trampoline inside its read-side section, executes the binary search that
 * `arch_prepare_bpf_dispatcher` emitted (src/jit/x86/dispatcher.ts) one compare
 * and branch at a time, decoded from the half's current bytes, and leaves
 * by `je` to the program or the indirect jump through rdx.
 *
 * Properties:
 * - D1: no CPU executes bytes of a half while that half is being written
 *   (a CPU is "in" a half from the trampoline's jump until its jump out).
 * - D2: every CPU that goes through the dispatcher ends in the program
 *   whose bpf_func it passed in rdx (the emitted search and its fallback).
 *
 * Choices where the kernel text is silent: each program runs on its own
 * device and an idle CPU may receive a packet on any device that has one; `mutex_lock(&d->mutex)` and the bookkeeping of
 * `bpf_dispatcher_change_prog` are folded into the step that starts the
 * copy (nothing else takes d->mutex); programs are never freed (the
 * dispatcher and the device hold references; their lifetime is the
 * tailcall models' business); the trampoline is the only call site (with
 * HAVE_STATIC_CALL_INLINE the inline call site in bpf_dispatcher_xdp_func is
 * poked right after it, in the same update, before it returns). Addresses:
 * the programs are the 6.1 oracle's target1..3; the image page, the
 * trampoline and bpf_dispatcher_nop_func are illustrative kernel addresses.
 *
 * Written on the typed model layer (src/model/): the state is the layout
 * below, the actors are two steps (CPUs, the updater), D1 and D2 are
 * predicates; v6.2's synchronize_rcu is src/model/rcu.ts's GracePeriod.
 */
import type { AnyStateMachine, EventObject } from 'xstate';
import { compileMachine, eventName } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type ModelConfig, type ModelDefinition, type SiteView } from '../src/concurrency/model.js';
import type { PropertySpec } from '../src/concurrency/system.js';
import {
  DISPATCHER_PROTOCOLS,
  DispatcherScriptError,
  UPDATER_EVENTS,
  dispatcherUpdaterMachine,
  parseDispatcherScript,
  planDispatcherUpdates,
  type CallTarget,
  type DispatcherImage,
  type DispatcherProtocol,
  type DispatcherStepMeta,
} from '../src/dispatcher/bpf_dispatcher.js';
import { dispatcherAnyOps, dispatcherAnyOpsEvents, dispatcherUserEvent, dispatcherUserOpText, type DispatcherAnyOps } from '../src/dispatcher/user-space.js';
import { dispatcherCpuEvents, dispatcherCpuMachine } from '../src/dispatcher/cpu.js';
import { disasm } from '../src/jit/x86/decode.js';
import { BPF_DISPATCHER_HALF, dispatcher_exec, type DispatchStep } from '../src/jit/x86/dispatcher.js';
import { emit_jump, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { checkableModel, defineLayout, DecodedSites, GracePeriod, type Property, type TypedModel } from '../src/model/index.js';
import { actorPart, GP_WAITS, nextStepText, stateLine } from '../src/model/state-text.js';
import { TARGET_ADDRESSES } from './tailcall-common.js';

/** d->image: one page from bpf_prog_pack_alloc (illustrative address near the oracle's programs). */
export const DISPATCHER_IMAGE = 0xffffffffc0001000n;
/** `__SCT__bpf_dispatcher_xdp_call` and `bpf_dispatcher_nop_func` (illustrative kernel text addresses). */
export const SC_TRAMP = 0xffffffff8203a1c0n;
export const NOP_FUNC = 0xffffffff81261d50n;
export const DISPATCHER_DEFAULT_SCRIPT = 'attach f1; attach f2; replace f1 f3';

export const DISPATCHER_PROPERTIES: readonly PropertySpec[] = [
  { id: 'D1', description: 'no CPU executes bytes of a half of the image while that half is being written', checked: true },
  { id: 'D2', description: 'every CPU that goes through the dispatcher ends in the program whose bpf_func it passed in rdx', checked: true },
];

/** A half's content: as bpf_prog_pack_alloc left it (zero-filled, never executed), being written by bpf_arch_text_copy, or 2 + i for images[i]. */
const ZERO = 0;
const WRITING = 1;
const IMAGE0 = 2;
/** Where a CPU state fetches its next instruction (the state machine's meta `fetch`). */
const FETCH_NONE = 0;
const FETCH_TRAMP = 1;
const FETCH_IMAGE = 2;

const halfAddr = (h: number): bigint => DISPATCHER_IMAGE + BigInt(h * BPF_DISPATCHER_HALF);
const pname = (k: number): string => (k ? `f${k}` : 'NULL');

/**
 * What the user space makes of the dispatcher, before any CPU runs: its
 * programs, the updater's machine with every image it writes, and the CPU
 * machine's alphabet (every offset a CPU can reach in those images). A
 * script is one scenario (its plan, run on a sequential dispatcher); without
 * one, user space makes any sequence of calls over the pool f1..f`progs`.
 */
function dispatcherWorld(protocol: DispatcherProtocol, script: string | undefined, progs: number) {
  let K = progs;
  let images: readonly DispatcherImage[];
  let machine;
  let events: readonly EventObject[];
  let anyOps: DispatcherAnyOps | undefined;
  if (script !== undefined) {
    let ops;
    try {
      ops = parseDispatcherScript(script);
    } catch (e) {
      if (e instanceof DispatcherScriptError) throw new ModelConfigError(`dispatcher: ${e.message}`);
      throw e;
    }
    K = Math.max(...ops.map((o) => Math.max(o.from, o.to)));
    if (K > 3) throw new ModelConfigError('dispatcher: at most 3 programs (f1..f3)');
    const plan = planDispatcherUpdates(ops, protocol, DISPATCHER_IMAGE, TARGET_ADDRESSES.slice(0, K));
    images = plan.images;
    machine = dispatcherUpdaterMachine(plan);
    events = UPDATER_EVENTS;
  } else {
    anyOps = dispatcherAnyOps(K, protocol, DISPATCHER_IMAGE, TARGET_ADDRESSES.slice(0, K));
    images = anyOps.images;
    machine = anyOps.machine;
    events = dispatcherAnyOpsEvents(K);
  }
  const bpf_func = TARGET_ADDRESSES.slice(0, K);
  const offsets = new Set<number>();
  for (const img of images) {
    for (let k = 1; k <= K; k++) {
      let off = 0;
      for (let n = 0; n < 64; n++) {
        const st = dispatcher_exec(img.bytes, halfAddr(img.half), off, bpf_func[k - 1]);
        if (st.kind !== 'next') break;
        offsets.add(st.off);
        off = st.off;
      }
    }
  }
  return { K, bpf_func, images, machine, events, anyOps, cpuEvents: dispatcherCpuEvents(K, [...offsets].sort((a, b) => a - b)) };
}

/** The programs of the pool when user space may do anything (`--progs`, default 3). */
function poolSize(cfg: ModelConfig): number {
  const v = cfg.options.progs ?? '3';
  if (!/^[1-3]$/.test(v)) throw new ModelConfigError(`dispatcher: --progs must be 1..3, got '${v}'`);
  return Number(v);
}

/**
 * The state: the updater's machine state, the attached programs (bit k-1: fk
 * runs on its device), the trampoline's content, each half's content; per
 * CPU its executor state, its mark in the pending grace period, and whether
 * its half was rewritten under it (it stops there).
 */
function dispatcherLayout(N: number, anyOps: boolean) {
  return defineLayout({
    // every sequence of calls: one updater state per step of each call from each dispatcher state (about 450)
    shared: { updater: anyOps ? 10 : 8, attached: 3, tramp: 3, half: [4, 2] },
    cpus: { count: N, bits: 16, fields: { q: 12, sync: 1, clobbered: 1 } },
  });
}

export function buildDispatcher(cfg: ModelConfig): TypedModel<'cpu' | 'updater', ReturnType<typeof dispatcherLayout>> {
  const protocol = cfg.protocol as DispatcherProtocol;
  if (!(protocol in DISPATCHER_PROTOCOLS)) throw new ModelConfigError(`dispatcher: unknown protocol '${cfg.protocol}'`);
  const N = cfg.cpus;
  if (!Number.isInteger(N) || N < 1 || N > 8) throw new ModelConfigError(`dispatcher: --cpus must be 1..8, got ${cfg.cpus}`);
  // A --script is one scenario; without one, user space may make any sequence of calls.
  const script = cfg.options.script;
  if (script !== undefined && cfg.options.progs !== undefined) throw new ModelConfigError('dispatcher: --progs goes with every sequence of calls (no --script); a script names its programs');
  const progs = script === undefined ? poolSize(cfg) : 0;

  // ---- the world: the images, the trampoline, the actors' machines ---------------------------
  const world = dispatcherWorld(protocol, script, progs);
  const { K, bpf_func, images, cpuEvents, anyOps } = world;
  const L = dispatcherLayout(N, anyOps !== undefined);
  const cpu = compileMachine(dispatcherCpuMachine, cpuEvents);
  const up = compileMachine(world.machine as AnyStateMachine, world.events);
  if (cpu.names.length > L.cpu.q.mask || up.names.length > L.shared.updater.max) throw new Error('dispatcher: machine too large to pack');
  if (IMAGE0 + images.length > L.shared.half.fields[0].max + 1) throw new Error('dispatcher: too many images to pack');
  const fetchOf = cpu.meta.map((m) => (m.fetch === 'tramp' ? FETCH_TRAMP : m.fetch === 'image' ? FETCH_IMAGE : FETCH_NONE));
  const ctx = cpu.contexts.map((c) => ({ prog: Number(c.prog), half: Number(c.half), off: Number(c.off), target: Number(c.target) }));
  const isIdle = cpu.values.map((v) => v === 'idle');
  const inNopFunc = cpu.values.map((v) => v === 'nop_func');
  const inImage = cpu.tags.map((t) => t.has('in_image'));
  const inProg = cpu.tags.map((t) => t.has('in_prog'));
  const upMeta = up.meta.map((m) => m.step as DispatcherStepMeta);
  const evSTEP = up.eventIndex('STEP');
  const evGP = up.eventIndex('GP_DONE');
  /** ENTER events per set of attached programs (bit k-1 = fk is on its device). */
  const enterEvents = Array.from({ length: 8 }, (_, mask) => Array.from({ length: K }, (_, k) => k + 1).filter((k) => mask & (1 << (k - 1))).map((k) => cpu.eventIndex(`ENTER(prog=${k})`)));

  /** The trampoline `__SCT__bpf_dispatcher_xdp_call`: a jmp to bpf_dispatcher_nop_func or to a half; what a CPU does on it. */
  const callAddr = (t: CallTarget): bigint => (t === 'nop_func' ? NOP_FUNC : halfAddr(t));
  const trampEvent: [bigint, string][] = [
    [NOP_FUNC, 'EXEC_JMP_NOP_FUNC'],
    [halfAddr(0), 'EXEC_JMP_HALF(half=0)'],
    [halfAddr(1), 'EXEC_JMP_HALF(half=1)'],
  ];
  const trampSite = new DecodedSites(
    'dispatcher',
    [{ name: '__SCT__bpf_dispatcher_xdp_call', address: SC_TRAMP, initial: Uint8Array.from(emit_jump(SC_TRAMP, NOP_FUNC)) }],
    (_s, insn) => {
      const t = insn?.kind === 'jmp' ? trampEvent.find(([a]) => a === insn.target) : undefined;
      return t ? cpu.eventIndex(t[1]) : -1;
    },
    8,
  );
  const trampIds: Record<string, number> = {};
  for (const t of ['nop_func', 0, 1] as CallTarget[]) trampIds[String(t)] = trampSite.intern(0, emit_jump(SC_TRAMP, callAddr(t)));

  /** A half's image bytes for content c (null: zero-filled or being written). */
  const halfBytes = (c: number): readonly number[] | null => (c >= IMAGE0 ? images[c - IMAGE0].bytes : null);
  /** One compare-and-branch of the image's search by a CPU in state q over content c (memoised per (q, c)). */
  const stepCache = new Map<number, DispatchStep>();
  const execAt = (qq: number, c: number): DispatchStep => {
    const key = qq * 16 + c;
    let st = stepCache.get(key);
    if (st === undefined) {
      const bytes = halfBytes(c);
      if (!bytes) throw new Error(`dispatcher: a CPU executes a half that holds no image`);
      st = dispatcher_exec(bytes, halfAddr(ctx[qq].half), ctx[qq].off, bpf_func[ctx[qq].prog - 1]);
      stepCache.set(key, st);
    }
    return st;
  };
  const progAt = (addr: bigint): number => {
    const k = bpf_func.indexOf(addr);
    if (k < 0) throw new Error(`dispatcher: a CPU jumps to ${hexAddr(addr)}, which is no program`);
    return k + 1;
  };

  // ---- the state -----------------------------------------------------------------------------
  const { updater, attached, tramp, half } = L.shared;
  const { q, sync, clobbered } = L.cpu;
  const records = L.cpus!;
  const rcu = new GracePeriod(L, q, cpu.tags.map((t) => t.has('reader')));
  /** The content a CPU in state q fetches from in `s` (0 when it fetches nothing). */
  const fetched = (s: Int32Array, qq: number): number => (fetchOf[qq] === FETCH_TRAMP ? tramp.get(s) : fetchOf[qq] === FETCH_IMAGE ? half.get(s, ctx[qq].half) : 0);

  // ---- the actors ----------------------------------------------------------------------------
  /** The CPU machine's event for state q on content c, or -1 when it has no step (it would execute a half being written: D1). */
  const cpuEvent = (qq: number, c: number): number => {
    const f = fetchOf[qq];
    if (f === FETCH_TRAMP) {
      const e = trampSite.event(0, c);
      if (e < 0) throw new Error(`dispatcher: the trampoline holds ${trampSite.insnText(0, c)}`);
      return e;
    }
    if (f === FETCH_IMAGE) {
      if (c === WRITING) return -1; // D1 is violated; what it would execute is undefined
      const st = execAt(qq, c);
      return cpu.eventIndex(st.kind === 'next' ? `EXEC_NEXT(off=${st.off})` : `EXEC_JMP_PROG(prog=${progAt(st.target)})`);
    }
    return cpu.eventIndex(inNopFunc[qq] ? `EXEC_JMP_PROG(prog=${ctx[qq].prog})` : 'RETURN');
  };
  /** A CPU's next state from q on content c: -1 no step, -2 not yet known. Memoised by (q << 4 | c). */
  const cpuNextQ = new Int16Array(cpu.names.length * 16).fill(-2);
  const cpuNext = (i: number, qq: number, c: number): number => {
    let nq = cpuNextQ[(qq << 4) | c];
    if (nq === -2) {
      const e = cpuEvent(qq, c);
      nq = cpuNextQ[(qq << 4) | c] = e < 0 ? -1 : moveOrThrow(cpu, qq, e, `dispatcher: cpu${i}`);
    }
    return nq;
  };

  /**
   * CPU i takes its next step: an idle CPU receives a packet on any device that has a program
   * (one successor per program); in a half it executes the next compare and branch; a CPU whose
   * half was rewritten under it stops.
   */
  const cpuStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => {
    const f = records.get(s, i);
    if (clobbered.of(f)) return false;
    const qq = q.of(f);
    if (isIdle[qq]) {
      for (const e of enterEvents[attached.get(s)]) {
        records.set(next, i, rcu.moved(f, qq, moveOrThrow(cpu, qq, e, `dispatcher: cpu${i}`)));
        emit();
      }
      return false;
    }
    const nq = cpuNext(i, qq, fetched(s, qq));
    if (nq < 0) return false;
    records.set(next, i, rcu.moved(f, qq, nq));
    return true;
  };

  /** The updater takes the next step of bpf_dispatcher_change_prog (src/dispatcher/bpf_dispatcher.ts). */
  const progBit = (k: number): number => (k ? 1 << (k - 1) : 0);
  /** user space's calls (every sequence): each USER event, and the install it begins with */
  const userEvents = anyOps ? anyOps.ops.map((o) => up.eventIndex(eventName(dispatcherUserEvent(o)))) : [];
  const UE = up.events.length;
  /**
   * User space, between two calls, makes each call it can (one successor each). The call's first
   * step, the driver's install, is taken with the choice: choosing is local to the thread, so this
   * hides no interleaving and keeps counterexamples as short as a script's.
   */
  const userSpace = (s: Int32Array, next: Int32Array, u: number, emit: () => void): void => {
    for (const e of userEvents) {
      const nu = up.next[u * UE + e];
      if (nu < 0) continue;
      const m = upMeta[nu];
      if (m.op !== 'install') throw new Error('dispatcher: a call does not start with the driver\'s install');
      attached.set(next, (attached.get(s) & ~progBit(m.from)) | progBit(m.to));
      updater.set(next, moveOrThrow(up, nu, evSTEP, 'dispatcher: user space'));
      emit(); // restores next to s
    }
  };
  const updaterStep = (s: Int32Array, next: Int32Array, _i: number, emit: () => void): boolean => {
    const u = updater.get(s);
    const m = upMeta[u];
    let ev = evSTEP;
    switch (m.op) {
      case 'done':
        return false;
      case 'choose':
        userSpace(s, next, u, emit);
        return false;
      case 'install':
        attached.set(next, (attached.get(s) & ~progBit(m.from)) | progBit(m.to));
        break;
      case 'copy_begin':
        half.set(next, m.half, WRITING);
        for (let i = 0; i < N; i++) {
          const qq = q.get(s, i);
          if (!inImage[qq] || ctx[qq].half !== m.half) continue;
          // With every sequence, the CPU's record becomes one 'stopped' record (idle, marked): it
          // never moves again and where it stopped matters to no property, so forgetting it keeps the
          // search after D1's violation small (the script's records keep the position for its pinned counts).
          if (anyOps) records.set(next, i, clobbered.with(q.with(0, cpu.initial), 1));
          else clobbered.set(next, i, 1);
        }
        break;
      case 'copy_end':
        half.set(next, m.half, IMAGE0 + m.image);
        break;
      case 'static_call':
        tramp.set(next, trampIds[String(m.target)]);
        break;
      case 'sync_start':
        rcu.start(next, sync);
        break;
      case 'sync_wait':
        if (rcu.pending(s, sync)) return false;
        ev = evGP;
        break;
    }
    updater.set(next, moveOrThrow(up, u, ev, 'dispatcher: updater'));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someCpu = (pred: (f: number, s: Int32Array) => boolean) => (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (pred(records.get(s, i), s)) return true;
    return false;
  };
  const properties: Property[] = [
    { ...DISPATCHER_PROPERTIES[0], cpus: 1, violated: someCpu((f, s) => clobbered.of(f) === 1 || (inImage[q.of(f)] && half.get(s, ctx[q.of(f)].half) === WRITING)) },
    { ...DISPATCHER_PROPERTIES[1], cpus: 1, violated: someCpu((f) => inProg[q.of(f)] && ctx[q.of(f)].target !== ctx[q.of(f)].prog) },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const halfView = (s: Int32Array, hh: number): SiteView => {
    const c = half.get(s, hh);
    const name = `image+0x${(hh * BPF_DISPATCHER_HALF).toString(16)}`;
    const bytes = halfBytes(c);
    if (!bytes) return { name, address: hexAddr(halfAddr(hh)), bytes: c === WRITING ? '(being written)' : '(zero-filled)', disasm: c === WRITING ? 'bpf_arch_text_copy in progress' : '-' };
    const progs = images[c - IMAGE0].progs.map(pname).join(', ');
    return { name, address: hexAddr(halfAddr(hh)), bytes: hexBytes(bytes), disasm: `search over {${progs}}: ${disasm(bytes, halfAddr(hh)).map((x) => x.text.replace(/\s+/g, ' ')).join('; ')}` };
  };
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    const to = `-> ${cpu.names[nq]}`;
    if (isIdle[qq]) {
      const k = ctx[nq].prog;
      return `${String(cpu.meta[qq].doc).replace('prog = dev->xdp_prog', `a packet on dev${k}: prog = dev${k}->xdp_prog = ${pname(k)}`)}: rdx = ${hexAddr(bpf_func[k - 1])} ${to}`;
    }
    if (fetchOf[qq] === FETCH_TRAMP) {
      const v = trampSite.view(0, tramp.get(before));
      return `executes ${v.disasm} [${v.bytes}] at ${v.name} ${v.address} ${to}`;
    }
    if (fetchOf[qq] === FETCH_IMAGE) {
      const st = execAt(qq, half.get(before, ctx[qq].half));
      const where = hexAddr(halfAddr(ctx[qq].half) + BigInt(ctx[qq].off));
      const how = st.kind === 'next' ? '' : st.kind === 'direct' ? ` (je hit: ${pname(progAt(st.target))})` : ' (no match: the indirect jump through rdx)';
      return `executes ${st.insns.map((x) => `${x.text.replace(/\s+/g, ' ')}`).join('; ')} at ${where}${how} ${to}`;
    }
    return `${String(cpu.meta[qq].doc)} ${to}`;
  };
  const describeUpdater = (before: Int32Array, after: Int32Array): string => {
    const u = updater.get(before);
    const m = upMeta[u];
    let text = m.doc;
    if (m.op === 'choose' && anyOps) {
      // the call whose install leads to the state after
      const o = anyOps.ops.findIndex((_, o) => {
        const nu = up.next[u * UE + userEvents[o]];
        return nu >= 0 && up.next[nu * UE + evSTEP] === updater.get(after);
      });
      const install = o >= 0 ? upMeta[up.next[u * UE + userEvents[o]]].doc : '?';
      text = `user space: ${o >= 0 ? dispatcherUserOpText(anyOps.ops[o]) : '?'}; ${install}`;
    }
    if (m.op === 'sync_start') text += rcu.waitsText(before);
    if (m.op === 'copy_begin') {
      const inside = Array.from({ length: N }, (_, i) => i).filter((i) => inImage[q.get(before, i)] && ctx[q.get(before, i)].half === m.half);
      if (inside.length) text += ` while ${inside.map((i) => `cpu${i}`).join(', ')} ${inside.length > 1 ? 'are' : 'is'} executing it`;
    }
    return text;
  };

  const covers = `every sequence of XDP attach / detach / replace over programs {${Array.from({ length: K }, (_, k) => `f${k + 1}`).join(', ')}} (one device each, addresses reused)`;

  return checkableModel({
    model: 'dispatcher',
    protocol,
    cpus: N,
    config: anyOps ? { 'user-space': covers } : { script: script! },
    layout: L,
    initial(s) {
      updater.set(s, up.initial);
      tramp.set(s, trampIds.nop_func);
      half.set(s, 0, ZERO);
      half.set(s, 1, ZERO);
      for (let i = 0; i < N; i++) q.set(s, i, cpu.initial);
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'updater', next: updaterStep },
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      return describeUpdater(before, after);
    },
    sites: (s) => [trampSite.view(0, tramp.get(s)), halfView(s, 0), halfView(s, 1)],
    summary(s) {
      const cpus = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const c = ctx[qq];
        if (anyOps && clobbered.get(s, i)) return actorPart(`cpu${i}`, 'stopped: its image half was rewritten under it');
        const v = cpu.values[qq];
        const rdx = c.prog ? ` (rdx = ${pname(c.prog)}->bpf_func)` : '';
        const text =
          v === 'idle' ? 'outside bpf_prog_run_xdp'
          : v === 'tramp' ? `at the static call's trampoline${rdx}`
          : v === 'image' ? `in the dispatcher image at image+0x${(c.half * BPF_DISPATCHER_HALF + c.off).toString(16)}${rdx}`
          : v === 'nop_func' ? `in bpf_dispatcher_nop_func${rdx}`
          : v === 'in_prog' ? `in ${pname(c.target)}${rdx}`
          : v;
        return actorPart(`cpu${i}`, text, [sync.get(s, i) ? GP_WAITS : '', clobbered.get(s, i) ? 'its image half was rewritten under it' : '']);
      });
      const progs = Array.from({ length: K }, (_, k) => k + 1).filter((k) => attached.get(s) & progBit(k));
      return stateLine([`attached: ${progs.length ? progs.map(pname).join(', ') : 'none'}`, ...cpus, actorPart('updater', nextStepText(up, updater.get(s)))]);
    },
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      return [
        { name: 'cpu', title: 'CPU running XDP through the dispatcher (src/dispatcher/cpu.ts)', machine: dispatcherCpuMachine, events: cpuEvents, violationTags: bad },
        anyOps
          ? { name: 'updater', title: `User space making any XDP attach / detach / replace, ${protocol} (src/dispatcher/user-space.ts)`, machine: world.machine as AnyStateMachine, events: world.events, violationTags: bad }
          : { name: 'updater', title: `bpf_dispatcher_change_prog steps, ${protocol} (src/dispatcher/bpf_dispatcher.ts)`, machine: world.machine as AnyStateMachine, events: world.events, violationTags: bad },
      ];
    },
  });
}

export const dispatcher: ModelDefinition = {
  name: 'dispatcher',
  summary: "the XDP BPF dispatcher's double-buffered image: N CPUs running its binary search, one updater rewriting the inactive half and switching the static call",
  protocols: (Object.keys(DISPATCHER_PROTOCOLS) as DispatcherProtocol[]).map((p) => ({ name: p, summary: DISPATCHER_PROTOCOLS[p] })),
  defaultProtocol: 'v6.2',
  defaultCpus: 2,
  options: [
    { name: 'script', default: '(none: every sequence)', description: `one scenario: XDP attach/replace/detach, one device per program, e.g. "${DISPATCHER_DEFAULT_SCRIPT}". Without it, user space may make any sequence of attaches, detaches and replaces (addresses reused)` },
    { name: 'progs', default: '3', description: 'without --script: the pool of programs f1..fN user space attaches, detaches and replaces (1..3)' },
  ],
  reference: [
    { protocol: 'v6.1', cpus: 1, expected: 'violated', expectedViolated: ['D1'] },
    { protocol: 'v6.1', cpus: 2, expected: 'violated', expectedViolated: ['D1'] },
    { protocol: 'v6.2', cpus: 2, expected: 'holds' },
    { protocol: 'v6.2', cpus: 3, expected: 'holds' },
    // every number of CPUs and every sequence of calls (the default user space), by the checked cutoff
    // (docs/proofs.md). v6.1 over the pool {f1, f2}: a violation there is one over any larger pool
    // (whose user space makes every call of the smaller one), and the search costs 5 s instead of 36 s.
    { protocol: 'v6.1', cpus: 2, every: true, options: { progs: '2' }, expected: 'violated', expectedViolated: ['D1'] },
    { protocol: 'v6.2', cpus: 2, every: true, expected: 'holds' },
  ],
  build: buildDispatcher,
};
