/**
 * Model `tailcall-hierarchy`: how many tail calls one entry into a program
 * can make when the tail calls sit in BPF-to-BPF subprograms, under the
 * counter handling of each x86 JIT layout (docs/reference-verdicts.md section 2,
 * docs/kernel-facts.md 1.2, 1.4, 1.6, 3d; fixed by 116e04ba1459 "bpf, x64:
 * Fix tailcall hierarchy", Leon Hwang, Linux 6.12).
 *
 * The program is a call graph (`--graph`, default `main: sub, sub; sub:
 * tail`, the shape of the selftest tailcall_bpf2bpf_hierarchy_1): turned into
 * BPF instructions and JIT-compiled by src/jit (`do_jit`) with the profile of
 * the chosen layout. The slot jmp_table[0] holds main itself, so every tail
 * call re-enters main.
 *
 * - `--protocol v5.10`: the v5.10-6.11 layout (v5.10 - v6.11) as v5.10 emitted
 *   it, the '5.10' profile: the counter travels **by value** in rax: `xor
 *   eax,eax; push rax` in main's prologue, `mov rax,[rbp-(S+8)]` before each
 *   bpf2bpf call (not rounded: ff672c67ee76 rounded it in v5.19), `mov
 *   eax,[rbp-4-round_up(S,8)]; cmp eax,0x20; ja out; add eax,1; mov ...,eax` at
 *   the tail call (`cmp eax,0x21; jae` from ebf7f6f0a6cd, v5.17: the same 33
 *   tail calls).
 * - `--protocol v6.12`: the v6.12+ layout, the '6.12' profile: `tail_call_cnt_ptr`,
 *   one counter per invocation hierarchy (`cmp rax,0x21; ja; push rax; mov
 *   rax,rsp; ...` in main's prologue, `mov rax,[rbp-16]` before each call,
 *   `cmpq $0x21,(%rax); jae out; ...; addq $0x1,(%rax)` at the tail call).
 *
 * Nothing about the counter is a rule of this model: a single CPU runs the
 * JIT's bytes in an interpreter of the x86 instructions they decode to
 * (src/exec/x86-interp.ts), with a byte-addressed stack. Each model step is
 * one basic block (instructions up to and including a jump, call or ret).
 * The only nondeterminism is the map: before main is entered, jmp_table[0]
 * either receives main (bpf_fd_array_map_update_elem, which pokes every tail
 * call site through the protocol's step list) or stays empty.
 *
 * Property S4 (facts 8): the tail calls taken by one entry into main (jumps
 * executed at a tailcall_target site) never exceed MAX_TAIL_CALL_CNT (33).
 * The run ends when main returns to its caller (bpf_prog_run); a CPU that
 * has exceeded the limit stops there.
 *
 * Packed state: w0 phase (2 bits) | slot populated (1) | tail calls so far (8,
 * from bit 8); then rax..r15 and rip as pairs of words, the flags, and the
 * stack's bytes.
 */
import { BpfProgArray } from '../src/arraymap/prog_array.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { RAX, RBP, RDI, RSP, X86Machine, type Decoded, type X86State } from '../src/exec/x86-interp.js';
import { DEFAULT_GRAPH, GraphError, jitGraph, parseGraph, TAIL_CALL_MAP, type JittedGraph } from '../src/hierarchy/program.js';
import { disasm } from '../src/jit/x86/decode.js';
import { getProfile, tail_call_limit } from '../src/jit/x86/profile.js';
import { bpf_tail_call_direct_fixup, type BpfJitPokeDescriptor } from '../src/jit/x86/tailcall.js';
import { hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { BpfKallsyms, TextFault, TextMemory } from '../src/poke/text.js';

export const HIERARCHY_PROPERTIES: readonly Omit<PropertySpec, 'checked'>[] = [
  { id: 'S4', description: 'the tail calls made by one entry into main never exceed MAX_TAIL_CALL_CNT (33)' },
];

/** Kernel profile (src/jit) of each protocol's layout, and the map protocol that pokes its sites. */
const LAYOUTS: Record<string, { profile: string; map: string; summary: string }> = {
  'v5.10': {
    profile: '5.10',
    map: 'v5.10',
    summary:
      'v5.10-6.11 layout (ebf7d1f508a7/e411901c0b77, v5.10-v6.11), emitted as v5.10 (profile 5.10: cmp eax,0x20; ja, and the unrounded counter offset on BPF-to-BPF calls): tail_call_cnt passed by value in rax through BPF-to-BPF calls',
  },
  'v6.12': {
    profile: '6.12',
    map: 'v6.7',
    summary: 'v6.12+ layout (116e04ba1459, v6.12): tail_call_cnt_ptr, one counter in main\'s frame shared by the whole invocation hierarchy',
  },
};

/** main calls sub twice in a bounded loop; main calls two subprograms that each tail-call. */
export const LOOP_GRAPH = 'main: sub*2; sub: tail';
export const SUBPROGS_GRAPH = 'main: sub1, sub2; sub1: tail; sub2: tail';
const BASE = 0xffffffffc0001000n;
/** Where main returns to: its caller, bpf_prog_run (outside every image). */
const RETURN_TO_KERNEL = 0xffffffff81000000n;
const STACK_BASE = 0xffffc90000004000n;
const STACK_BYTES = 4096;
const CTX = 0xff11000023456000n;
const MAX_BLOCK = 10_000;
const READY = 0;
const RUNNING = 1;
const RETURNED = 2;

interface Variant {
  text: TextMemory;
  pokes: BpfJitPokeDescriptor[];
  /** what the map update did, for the schedule */
  doc: string;
  decoded: Map<bigint, Decoded>;
}

export function buildTailcallHierarchy(cfg: ModelConfig): CheckableModel {
  const layout = LAYOUTS[cfg.protocol];
  if (!layout) throw new ModelConfigError(`tailcall-hierarchy: unknown protocol '${cfg.protocol}' (protocols: ${Object.keys(LAYOUTS).join(', ')})`);
  if (cfg.cpus !== 1) throw new ModelConfigError('tailcall-hierarchy: --cpus must be 1 (the counter lives on the stack of the one CPU running the hierarchy)');
  let jit: JittedGraph;
  const graphText = cfg.options.graph ?? DEFAULT_GRAPH;
  try {
    jit = jitGraph(parseGraph(graphText), layout.profile, BASE);
  } catch (e) {
    if (e instanceof GraphError) throw new ModelConfigError(`tailcall-hierarchy: --graph: ${e.message}`);
    throw e;
  }
  const MAX = jit.max_tail_call_cnt;
  // the tail calls one chain may make: 33 under both tests (MAX 32 with ja, MAX 33 with jae)
  const LIMIT = tail_call_limit(getProfile(layout.profile));
  const maxText = LIMIT === MAX ? `MAX_TAIL_CALL_CNT ${MAX}` : `MAX_TAIL_CALL_CNT ${MAX} with ja: ${LIMIT} tail calls`;
  const main = jit.funcs[0];
  const mainProg: BpfProg = { name: 'main', bpf_func: main.address, len: main.bytes.length };

  /** The text after JIT and fixup (slot empty), then, for variant 1, after jmp_table[0] = main. */
  const variants: Variant[] = [0, 1].map((populated) => {
    const text = new TextMemory();
    const kallsyms = new BpfKallsyms();
    const pokes = jit.pokes.map((p) => ({ ...p }));
    for (const f of jit.funcs) {
      const image = Uint8Array.from(f.bytes);
      bpf_tail_call_direct_fixup(image, f.address, pokes, () => undefined);
      text.map(f.name, f.address, image);
      kallsyms.bpf_prog_kallsyms_add(f.name, f.address, image.length);
    }
    const map = new BpfProgArray(TAIL_CALL_MAP, 1, { text, kallsyms }, PROTOCOLS[layout.map]);
    map.map_poke_track({ name: 'main', poke_tab: pokes });
    let doc = `${TAIL_CALL_MAP}[0] stays empty: every tail call site stays in state C`;
    if (populated) {
      map.bpf_fd_array_map_update_elem(0, mainProg);
      doc = `bpf_fd_array_map_update_elem(${TAIL_CALL_MAP}, 0, main): ${pokes.length} tail call site(s) poked to jmp main+${jit.tail_call_offset} (state B)`;
    }
    return { text, pokes, doc, decoded: new Map() };
  });
  const codeAt = (v: Variant) => (addr: bigint): Uint8Array | undefined => {
    try {
      const r = v.text.regionAt(addr);
      return r.bytes.subarray(Number(addr - r.start));
    } catch (e) {
      if (e instanceof TextFault) return undefined;
      throw e;
    }
  };
  const targetSites = new Set(jit.pokes.map((p) => p.tailcall_target));
  const funcAt = (addr: bigint): string => {
    const f = jit.funcs.find((g) => addr >= g.address && addr < g.address + BigInt(g.bytes.length));
    return f ? `${f.name}+0x${(addr - f.address).toString(16)}` : addr === RETURN_TO_KERNEL ? 'bpf_prog_run' : hexAddr(addr);
  };
  /** Return addresses of every bpf2bpf call: address -> the call ("sub, main's call #1"). */
  const returnSites = new Map<bigint, { caller: string; callee: string; label: string }>();
  for (const f of jit.funcs) {
    let at = f.address;
    let n = 0;
    for (const insn of disasm(f.bytes, f.address)) {
      at += BigInt(insn.len);
      if (insn.kind === 'call') returnSites.set(at, { caller: f.name, callee: funcAt(insn.target!).split('+')[0], label: `call #${++n}` });
    }
  }

  // ---- packing ----------------------------------------------------------------------------------
  const REGS_W = 1;
  const RIP_W = REGS_W + 32;
  const FLAGS_W = RIP_W + 2;
  const STACK_W = FLAGS_W + 1;
  const width = STACK_W + STACK_BYTES / 4;
  const lo = (v: bigint): number => Number(v & 0xffffffffn) | 0;
  const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;
  const u64 = (l: number, h: number): bigint => (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
  const phaseOf = (s: Int32Array): number => s[0] & 3;
  const variantOf = (s: Int32Array): number => (s[0] >>> 2) & 1;
  const countOf = (s: Int32Array): number => (s[0] >>> 8) & 0xff;
  const setW0 = (s: Int32Array, phase: number, variant: number, count: number): void => {
    s[0] = phase | (variant << 2) | (Math.min(count, 255) << 8);
  };
  const unpack = (s: Int32Array): X86State => ({
    regs: Array.from({ length: 16 }, (_, r) => u64(s[REGS_W + 2 * r], s[REGS_W + 2 * r + 1])),
    rip: u64(s[RIP_W], s[RIP_W + 1]),
    cf: (s[FLAGS_W] & 1) !== 0,
    zf: (s[FLAGS_W] & 2) !== 0,
    sf: (s[FLAGS_W] & 4) !== 0,
    of: (s[FLAGS_W] & 8) !== 0,
    stack: new Uint8Array(s.slice(STACK_W, width).buffer),
    stackBase: STACK_BASE,
  });
  const pack = (x: X86State, out: Int32Array): void => {
    x.regs.forEach((v, r) => {
      out[REGS_W + 2 * r] = lo(v);
      out[REGS_W + 2 * r + 1] = hi(v);
    });
    out[RIP_W] = lo(x.rip);
    out[RIP_W + 1] = hi(x.rip);
    out[FLAGS_W] = (x.cf ? 1 : 0) | (x.zf ? 2 : 0) | (x.sf ? 4 : 0) | (x.of ? 8 : 0);
    out.set(new Int32Array(x.stack.buffer, x.stack.byteOffset, STACK_BYTES / 4), STACK_W);
  };

  /** Runs one basic block from `s`: the instructions executed and the state after. */
  const runBlock = (s: Int32Array): { insns: Decoded[]; x: X86State; tailCalls: number } => {
    const v = variants[variantOf(s)];
    const x = unpack(s);
    const m = new X86Machine(x, codeAt(v), v.decoded);
    const insns: Decoded[] = [];
    let tailCalls = 0;
    for (;;) {
      const at = x.rip;
      const d = m.step();
      insns.push(d);
      if (d.insn.kind === 'jmp' && targetSites.has(at)) tailCalls++;
      if (d.insn.kind === 'jmp' || d.insn.kind === 'jcc' || d.insn.kind === 'call' || d.insn.kind === 'ret' || d.mnemonic === 'jmp') break;
      if (insns.length > MAX_BLOCK) throw new Error(`tailcall-hierarchy: no branch in ${MAX_BLOCK} instructions from ${funcAt(at)}`);
    }
    return { insns, x, tailCalls };
  };

  const system: TransitionSystem = {
    width,
    properties: HIERARCHY_PROPERTIES.map((p) => ({ ...p, checked: true })),
    initial(out) {
      out.fill(0);
      const x: X86State = { regs: new Array<bigint>(16).fill(0n), rip: main.address, cf: false, zf: false, sf: false, of: false, stack: new Uint8Array(STACK_BYTES), stackBase: STACK_BASE };
      x.regs[RSP] = STACK_BASE;
      x.regs[RBP] = STACK_BASE;
      x.regs[RDI] = CTX;
      new X86Machine(x, () => undefined).push(RETURN_TO_KERNEL); // bpf_prog_run's call
      pack(x, out);
      setW0(out, READY, 0, 0);
    },
    expand(s, next, sink) {
      const phase = phaseOf(s);
      if (phase === READY) {
        for (const v of [0, 1]) {
          next.set(s);
          setW0(next, RUNNING, v, 0);
          sink(v);
        }
        return;
      }
      if (phase !== RUNNING || countOf(s) > LIMIT) return;
      const { x, tailCalls } = runBlock(s);
      next.set(s);
      pack(x, next);
      setW0(next, x.rip === RETURN_TO_KERNEL ? RETURNED : RUNNING, variantOf(s), countOf(s) + tailCalls);
      sink(2);
    },
    violations(s) {
      return countOf(s) > LIMIT ? 1 : 0;
    },
  };

  // ---- printing ---------------------------------------------------------------------------------
  /** main's call chain now, from the return addresses on the stack; `=>` marks a frame a tail call took over. */
  const callPath = (s: Int32Array): string => {
    const x = unpack(s);
    const m = new X86Machine(x, () => undefined);
    const frames: { caller: string; callee: string; label: string }[] = [];
    for (let a = STACK_BASE - 8n; a >= x.regs[RSP]; a -= 8n) {
      const site = returnSites.get(m.load(a, 64));
      if (site) frames.push(site);
    }
    const running = phaseOf(s) === RETURNED ? 'bpf_prog_run' : funcAt(x.rip).split('+')[0];
    const segs = frames.map((f, i) => {
      const now = i + 1 < frames.length ? frames[i + 1].caller : running;
      return `-${f.label}-> ${f.callee}${now === f.callee ? '' : ` => ${now}`}`;
    });
    return ['main', ...runLengths(segs)].join(' ');
  };
  /** The counter as the current frame sees it (one entry always, so that schedules line up). */
  const slotSites = (s: Int32Array): SiteView[] => {
    const bySlot = getProfile(layout.profile).layout === 'v5.10-6.11';
    const name = bySlot ? 'tcc slot [rbp-0x8]' : 'tcc_ptr [rbp-0x10]';
    const none = (why: string): SiteView[] => [{ name, address: '-', bytes: '', disasm: why }];
    if (phaseOf(s) !== RUNNING) return none(phaseOf(s) === READY ? 'main not entered yet' : 'main has returned');
    const x = unpack(s);
    const m = new X86Machine(x, () => undefined);
    const rbp = x.regs[RBP];
    if (rbp >= STACK_BASE) return none('no BPF frame yet');
    const read = (a: bigint): bigint | undefined => (a >= STACK_BASE - BigInt(STACK_BYTES) && a + 8n <= STACK_BASE ? m.load(a, 64) : undefined);
    const bytesOf = (v: bigint): string => hexBytes(Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn)));
    if (bySlot) {
      const slot = read(rbp - 8n);
      if (slot === undefined) return none('outside the stack');
      return [{ name, address: hexAddr(rbp - 8n), bytes: bytesOf(slot), disasm: `tail_call_cnt = ${slot >> 32n} (the dword at rbp-0x4)` }];
    }
    const ptr = read(rbp - 16n);
    if (ptr === undefined) return none('outside the stack');
    const cnt = read(ptr);
    return [{ name, address: hexAddr(rbp - 16n), bytes: bytesOf(ptr), disasm: cnt === undefined ? `${hexAddr(ptr)} (not a stack address)` : `-> ${hexAddr(ptr)}: *tail_call_cnt_ptr = ${cnt}` }];
  };

  return {
    model: 'tailcall-hierarchy',
    protocol: cfg.protocol,
    cpus: 1,
    config: { graph: graphText, profile: layout.profile },
    system,
    describe(before, after, action): StepView {
      if (phaseOf(before) === READY) return { actor: 'map', action: variants[action].doc };
      const { insns, tailCalls } = runBlock(before);
      const from = funcAt(unpack(before).rip);
      const list = insns.map((d) => d.insn.text.replace(/\s+/g, ' ')).join('; ');
      const x = unpack(after);
      let text = `${from}: ${list}`;
      if (tailCalls) text += ` -> TAIL CALL #${countOf(after)} into ${funcAt(x.rip)}`;
      else if (phaseOf(after) === RETURNED) text += ' -> main returns to bpf_prog_run';
      else text += ` -> ${funcAt(x.rip)}`;
      return { actor: 'cpu0', action: `${text} (rax=${hexAddr(x.regs[RAX])})` };
    },
    sites: slotSites,
    summary(s): string {
      if (phaseOf(s) === READY) return `main not entered yet`;
      const where = phaseOf(s) === RETURNED ? 'main has returned' : `cpu0 at ${funcAt(unpack(s).rip)}`;
      return `${where}; tail calls so far: ${countOf(s)} (${maxText}); ${TAIL_CALL_MAP}[0]=${variantOf(s) ? 'main' : 'NULL'}; call path: ${callPath(s)}`;
    },
  };
}

/** Collapses repeated runs of 1..4 consecutive items: a b a b a b c -> (a b) x3 c. */
export function runLengths(items: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; ) {
    let best = { len: 1, reps: 1 };
    for (let len = 1; len <= 4 && i + 2 * len <= items.length; len++) {
      let reps = 1;
      while (i + (reps + 1) * len <= items.length && items.slice(i + reps * len, i + (reps + 1) * len).join('\n') === items.slice(i, i + len).join('\n')) reps++;
      if (reps > 1 && reps * len > best.reps * best.len) best = { len, reps };
    }
    const unit = items.slice(i, i + best.len).join(' ');
    out.push(best.reps > 1 ? `(${unit}) x${best.reps}` : unit);
    i += best.len * best.reps;
  }
  return out;
}

export const tailcallHierarchy: ModelDefinition = {
  name: 'tailcall-hierarchy',
  summary: 'one entry into a program whose subprograms tail-call it again, run on the JIT\'s bytes: total tail calls vs MAX_TAIL_CALL_CNT (116e04ba1459)',
  protocols: Object.entries(LAYOUTS).map(([name, l]) => ({ name, summary: l.summary })),
  defaultProtocol: 'v6.12',
  defaultCpus: 1,
  options: [{ name: 'graph', default: DEFAULT_GRAPH, description: 'the call graph: "main: sub, sub; sub: tail" (items: NAME, NAME*K for a loop, tail = bpf_tail_call into jmp_table[0] = main)' }],
  reference: [
    { protocol: 'v5.10', cpus: 1, expected: 'violated', expectedViolated: ['S4'] },
    { protocol: 'v6.12', cpus: 1, expected: 'holds' },
    { protocol: 'v5.10', cpus: 1, options: { graph: LOOP_GRAPH }, expected: 'violated', expectedViolated: ['S4'] },
    { protocol: 'v6.12', cpus: 1, options: { graph: LOOP_GRAPH }, expected: 'holds' },
    { protocol: 'v5.10', cpus: 1, options: { graph: SUBPROGS_GRAPH }, expected: 'violated', expectedViolated: ['S4'] },
    { protocol: 'v6.12', cpus: 1, options: { graph: SUBPROGS_GRAPH }, expected: 'holds' },
  ],
  build: buildTailcallHierarchy,
};
