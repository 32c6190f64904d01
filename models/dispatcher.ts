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
 * Packed state: w0 = updater state (8 bits) | attached programs (3, one bit each) | trampoline
 * content id (3) | half 0 content id (4) | half 1 content id (4); one 16-bit
 * field per CPU: executor state (12) | in the pending grace period (bit 12)
 * | its half was rewritten under it (bit 13: it stops there).
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { GracePeriods } from '../src/concurrency/grace-period.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import {
  DISPATCHER_PROTOCOLS,
  DispatcherScriptError,
  UPDATER_EVENTS,
  dispatcherUpdaterMachine,
  parseDispatcherScript,
  planDispatcherUpdates,
  type CallTarget,
  type DispatcherProtocol,
  type DispatcherStepMeta,
} from '../src/dispatcher/bpf_dispatcher.js';
import { dispatcherCpuEvents, dispatcherCpuMachine } from '../src/dispatcher/cpu.js';
import { decodeInsn, disasm } from '../src/jit/x86/decode.js';
import { BPF_DISPATCHER_HALF, dispatcher_exec, type DispatchStep } from '../src/jit/x86/dispatcher.js';
import { emit_jump, hexAddr, hexBytes } from '../src/jit/x86/x86.js';
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

const ZERO = 0; // the half as bpf_prog_pack_alloc left it (zero-filled, never executed)
const WRITING = 1; // bpf_arch_text_copy is writing the half
const SYNC_BIT = 1 << 12;
/** The CPU was executing a half when bpf_arch_text_copy started on it: what it runs next is undefined, so it stops. */
const CLOBBERED = 1 << 13;
const Q = 0xfff;

const halfAddr = (h: number): bigint => DISPATCHER_IMAGE + BigInt(h * BPF_DISPATCHER_HALF);

/**
 * What a script makes of the dispatcher, before any CPU runs: its programs,
 * the updater's plan with every image it writes, and the CPU machine's
 * alphabet (every offset a CPU can reach in those images).
 */
export function dispatcherWorld(protocol: DispatcherProtocol, script: string) {
  let ops;
  try {
    ops = parseDispatcherScript(script);
  } catch (e) {
    if (e instanceof DispatcherScriptError) throw new ModelConfigError(`dispatcher: ${e.message}`);
    throw e;
  }
  const K = Math.max(...ops.map((o) => Math.max(o.from, o.to)));
  if (K > 3) throw new ModelConfigError('dispatcher: at most 3 programs (f1..f3)');
  const bpf_func = TARGET_ADDRESSES.slice(0, K);
  const plan = planDispatcherUpdates(ops, protocol, DISPATCHER_IMAGE, bpf_func);
  const offsets = new Set<number>();
  for (const img of plan.images) {
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
  return { K, bpf_func, plan, cpuEvents: dispatcherCpuEvents(K, [...offsets].sort((a, b) => a - b)) };
}

export function buildDispatcher(cfg: ModelConfig): CheckableModel {
  const protocol = cfg.protocol as DispatcherProtocol;
  if (!(protocol in DISPATCHER_PROTOCOLS)) throw new ModelConfigError(`dispatcher: unknown protocol '${cfg.protocol}'`);
  const N = cfg.cpus;
  if (!Number.isInteger(N) || N < 1 || N > 8) throw new ModelConfigError(`dispatcher: --cpus must be 1..8, got ${cfg.cpus}`);
  const script = cfg.options.script ?? DISPATCHER_DEFAULT_SCRIPT;
  const { K, bpf_func, plan, cpuEvents } = dispatcherWorld(protocol, script);
  const cpu = compileMachine(dispatcherCpuMachine, cpuEvents);
  const up = compileMachine(dispatcherUpdaterMachine(plan), UPDATER_EVENTS);
  if (cpu.names.length > Q || up.names.length > 255) throw new Error('dispatcher: machine too large to pack');
  const cpuFetch = cpu.meta.map((m) => m.fetch as string | undefined);
  const cpuVal = cpu.values;
  const ctx = cpu.contexts.map((c) => ({ prog: Number(c.prog), half: Number(c.half), off: Number(c.off), target: Number(c.target) }));
  const inImage = cpu.tags.map((t) => t.has('in_image'));
  const inProg = cpu.tags.map((t) => t.has('in_prog'));
  const upMeta = up.meta.map((m) => m.step as DispatcherStepMeta);

  // ---- text: the trampoline's 5 bytes and each half's image, interned ----------------------
  const tramp = new BytesInterner(8, 'dispatcher: trampoline contents');
  const callAddr = (t: CallTarget): bigint => (t === 'nop_func' ? NOP_FUNC : halfAddr(t));
  const trampIds: Record<string, number> = {};
  for (const t of ['nop_func', 0, 1] as CallTarget[]) trampIds[String(t)] = tramp.intern(emit_jump(SC_TRAMP, callAddr(t)));
  /** Half contents: 0 zero-filled, 1 being written, 2 + i = plan.images[i]. */
  const halfBytes = (c: number): readonly number[] | null => (c >= 2 ? plan.images[c - 2].bytes : null);
  if (plan.images.length + 2 > 16) throw new Error('dispatcher: too many images to pack');

  /** The CPU machine's event for a CPU in state q, given the bytes it executes. Memoised per (q, content). */
  const evCache = new Map<number, number>();
  const stepCache = new Map<number, DispatchStep>();
  const execAt = (q: number, c: number): DispatchStep => {
    const key = q * 16 + c;
    let st = stepCache.get(key);
    if (st === undefined) {
      const bytes = halfBytes(c);
      if (!bytes) throw new Error(`dispatcher: a CPU executes a half that holds no image`);
      st = dispatcher_exec(bytes, halfAddr(ctx[q].half), ctx[q].off, bpf_func[ctx[q].prog - 1]);
      stepCache.set(key, st);
    }
    return st;
  };
  const progAt = (addr: bigint): number => {
    const k = bpf_func.indexOf(addr);
    if (k < 0) throw new Error(`dispatcher: a CPU jumps to ${hexAddr(addr)}, which is no program`);
    return k + 1;
  };
  const cpuEvent = (q: number, s: Int32Array): number => {
    const f = cpuFetch[q];
    const c = f === 'tramp' ? trampOf(s) : f === 'image' ? halfOf(s, ctx[q].half) : 0;
    if (f === 'image' && c === WRITING) return -1; // D1 is violated; what it would execute is undefined
    const key = q * 16 + c;
    let e = evCache.get(key);
    if (e === undefined) {
      if (f === 'tramp') {
        const insn = decodeInsn(tramp.bytes(c), SC_TRAMP);
        const t = insn.target === NOP_FUNC ? 'EXEC_JMP_NOP_FUNC' : insn.target === halfAddr(0) ? 'EXEC_JMP_HALF(half=0)' : insn.target === halfAddr(1) ? 'EXEC_JMP_HALF(half=1)' : '';
        if (!t) throw new Error(`dispatcher: the trampoline holds ${insn.text}`);
        e = cpu.eventIndex(t);
      } else if (f === 'image') {
        const st = execAt(q, c);
        e = cpu.eventIndex(st.kind === 'next' ? `EXEC_NEXT(off=${st.off})` : `EXEC_JMP_PROG(prog=${progAt(st.target)})`);
      } else if (cpuVal[q] === 'nop_func') {
        e = cpu.eventIndex(`EXEC_JMP_PROG(prog=${ctx[q].prog})`);
      } else {
        e = cpu.eventIndex('RETURN');
      }
      evCache.set(key, e);
    }
    return e;
  };

  // ---- packing ------------------------------------------------------------------------------
  const fields = new CpuFields(N, 1, 16);
  const gp = new GracePeriods(fields, Q, cpu.tags.map((t) => t.has('reader')));
  const upOf = (s: Int32Array): number => s[0] & 0xff;
  /** The attached programs, one bit each (bit k-1: fk runs on its device). */
  const devOf = (s: Int32Array): number => (s[0] >>> 8) & 0x7;
  const trampOf = (s: Int32Array): number => (s[0] >>> 11) & 0x7;
  const halfOf = (s: Int32Array, h: number): number => (s[0] >>> (14 + 4 * h)) & 0xf;
  const pack = (u: number, dev: number, t: number, h0: number, h1: number): number => u | (dev << 8) | (t << 11) | (h0 << 14) | (h1 << 18);
  const scratch: number[] = new Array(N).fill(0);
  /** ENTER events per set of attached programs (bit k-1 = fk is on its device). */
  const enterEvents = Array.from({ length: 8 }, (_, mask) => Array.from({ length: K }, (_, k) => k + 1).filter((k) => mask & (1 << (k - 1))).map((k) => cpu.eventIndex(`ENTER(prog=${k})`)));

  const system: TransitionSystem = {
    width: 1 + fields.words,
    properties: DISPATCHER_PROPERTIES,
    initial(out) {
      out.fill(0);
      out[0] = pack(up.initial, 0, trampIds.nop_func, ZERO, ZERO);
      for (let i = 0; i < N; i++) fields.set(out, i, cpu.initial);
    },
    expand(s, next, sink) {
      for (let i = 0; i < N; i++) {
        const f = fields.get(s, i);
        if (f & CLOBBERED) continue;
        const q = f & Q;
        // an idle CPU receives a packet on any device that has a program; the others have one move
        const evs = cpuVal[q] === 'idle' ? enterEvents[devOf(s)] : [cpuEvent(q, s)];
        for (const e of evs) {
          if (e < 0) continue;
          const nq = moveOrThrow(cpu, q, e, `dispatcher: cpu${i}`);
          next.set(s);
          fields.set(next, i, gp.moved(f, q, nq));
          sink(i);
        }
      }
      const u = upOf(s);
      const m = upMeta[u];
      if (m.op === 'done') return;
      let dev = devOf(s);
      let t = trampOf(s);
      const h = [halfOf(s, 0), halfOf(s, 1)];
      let e = up.eventIndex('STEP');
      next.set(s);
      switch (m.op) {
        case 'install':
          dev = (dev & ~(m.from ? 1 << (m.from - 1) : 0)) | (m.to ? 1 << (m.to - 1) : 0);
          break;
        case 'copy_begin':
          h[m.half] = WRITING;
          for (let i = 0; i < N; i++) {
            const f = fields.get(next, i);
            if (inImage[f & Q] && ctx[f & Q].half === m.half) fields.set(next, i, f | CLOBBERED);
          }
          break;
        case 'copy_end':
          h[m.half] = 2 + m.image;
          break;
        case 'static_call':
          t = trampIds[String(m.target)];
          break;
        case 'sync_start':
        case 'sync_wait': {
          const ev = gp.synchronizeRcu(m.op, s, next, SYNC_BIT);
          if (!ev) return;
          e = up.eventIndex(ev);
          break;
        }
      }
      next[0] = pack(moveOrThrow(up, u, e, 'dispatcher: updater'), dev, t, h[0], h[1]);
      sink(N);
    },
    violations(s) {
      let v = 0;
      for (let i = 0; i < N; i++) {
        const f = fields.get(s, i);
        const q = f & Q;
        if (f & CLOBBERED || (inImage[q] && halfOf(s, ctx[q].half) === WRITING)) v |= 1;
        if (inProg[q] && ctx[q].target !== ctx[q].prog) v |= 2;
      }
      return v;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  const pname = (k: number): string => (k ? `f${k}` : 'NULL');
  const halfView = (s: Int32Array, hh: number): SiteView => {
    const c = halfOf(s, hh);
    const name = `image+0x${(hh * BPF_DISPATCHER_HALF).toString(16)}`;
    const bytes = halfBytes(c);
    if (!bytes) return { name, address: hexAddr(halfAddr(hh)), bytes: c === WRITING ? '(being written)' : '(zero-filled)', disasm: c === WRITING ? 'bpf_arch_text_copy in progress' : '-' };
    const progs = plan.images[c - 2].progs.map(pname).join(', ');
    return { name, address: hexAddr(halfAddr(hh)), bytes: hexBytes(bytes), disasm: `search over {${progs}}: ${disasm(bytes, halfAddr(hh)).map((x) => x.text.replace(/\s+/g, ' ')).join('; ')}` };
  };
  return {
    model: 'dispatcher',
    protocol,
    cpus: N,
    config: { script },
    system,
    describe(before, after, action): StepView {
      if (action < N) {
        const q = fields.get(before, action) & Q;
        const nq = fields.get(after, action) & Q;
        const who = `cpu${action}`;
        const to = `-> ${cpu.names[nq]}`;
        const f = cpuFetch[q];
        if (cpuVal[q] === 'idle') {
          const k = ctx[nq].prog;
          return { actor: who, action: `${String(cpu.meta[q].doc).replace('prog = dev->xdp_prog', `a packet on dev${k}: prog = dev${k}->xdp_prog = ${pname(k)}`)}: rdx = ${hexAddr(bpf_func[k - 1])} ${to}` };
        }
        if (f === 'tramp') {
          const insn = decodeInsn(tramp.bytes(trampOf(before)), SC_TRAMP);
          return { actor: who, action: `executes ${insn.text} [${tramp.hex(trampOf(before))}] at __SCT__bpf_dispatcher_xdp_call ${hexAddr(SC_TRAMP)} ${to}` };
        }
        if (f === 'image') {
          const st = execAt(q, halfOf(before, ctx[q].half));
          const where = hexAddr(halfAddr(ctx[q].half) + BigInt(ctx[q].off));
          const how = st.kind === 'next' ? '' : st.kind === 'direct' ? ` (je hit: ${pname(progAt(st.target))})` : ' (no match: the indirect jump through rdx)';
          return { actor: who, action: `executes ${st.insns.map((x) => `${x.text.replace(/\s+/g, ' ')}`).join('; ')} at ${where}${how} ${to}` };
        }
        return { actor: who, action: `${String(cpu.meta[q].doc)} ${to}` };
      }
      const m = upMeta[upOf(before)];
      let text = m.doc;
      if (m.op === 'sync_start') text += gp.waitsText(before);
      if (m.op === 'copy_begin') {
        const inside = Array.from({ length: N }, (_, i) => i).filter((i) => {
          const q = fields.get(before, i) & Q;
          return inImage[q] && ctx[q].half === m.half;
        });
        if (inside.length) text += ` while ${inside.map((i) => `cpu${i}`).join(', ')} ${inside.length > 1 ? 'are' : 'is'} executing it`;
      }
      return { actor: 'updater', action: text };
    },
    sites(s): SiteView[] {
      const insn = decodeInsn(tramp.bytes(trampOf(s)), SC_TRAMP);
      return [{ name: '__SCT__bpf_dispatcher_xdp_call', address: hexAddr(SC_TRAMP), bytes: tramp.hex(trampOf(s)), disasm: insn.text }, halfView(s, 0), halfView(s, 1)];
    },
    summary(s): string {
      const cpus = Array.from({ length: N }, (_, i) => {
        const f = fields.get(s, i);
        const q = f & Q;
        const c = ctx[q];
        const where = inImage[q] ? `@image+0x${(c.half * BPF_DISPATCHER_HALF + c.off).toString(16)}` : '';
        const marks = [f & SYNC_BIT ? 'gp' : '', f & CLOBBERED ? 'half rewritten under it' : ''].filter(Boolean).join(',');
        return `cpu${i}=${cpuVal[q]}${c.prog ? `(rdx=${pname(c.prog)}${c.target ? `, in ${pname(c.target)}` : ''})` : ''}${where}${marks ? `[${marks}]` : ''}`;
      });
      const attached = Array.from({ length: K }, (_, k) => k + 1).filter((k) => devOf(s) & (1 << (k - 1)));
      return `attached={${attached.map(pname).join(',')}} ${cpus.join(' ')} updater=${up.names[upOf(s)]}`;
    },
  };
}

export const dispatcher: ModelDefinition = {
  name: 'dispatcher',
  summary: "the XDP BPF dispatcher's double-buffered image: N CPUs running its binary search, one updater rewriting the inactive half and switching the static call",
  protocols: (Object.keys(DISPATCHER_PROTOCOLS) as DispatcherProtocol[]).map((p) => ({ name: p, summary: DISPATCHER_PROTOCOLS[p] })),
  defaultProtocol: 'v6.2',
  defaultCpus: 2,
  options: [{ name: 'script', default: DISPATCHER_DEFAULT_SCRIPT, description: 'XDP attach/replace/detach, one device per program, e.g. "attach f1; attach f2; replace f1 f3; detach f2"' }],
  reference: [
    { protocol: 'v6.1', cpus: 1, expected: 'violated', expectedViolated: ['D1'] },
    { protocol: 'v6.1', cpus: 2, expected: 'violated', expectedViolated: ['D1'] },
    { protocol: 'v6.2', cpus: 2, expected: 'holds' },
    { protocol: 'v6.2', cpus: 3, expected: 'holds' },
  ],
  build: buildDispatcher,
};
