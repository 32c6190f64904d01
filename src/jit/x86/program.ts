/**
 * From a verifier-dumped program (`xlated`) to the functions the JIT
 * compiles: subprogram boundaries, stack depths, tail-call reachability and
 * the poke table of direct tail calls. What the kernel knows but does not
 * dump is reconstructed here; each rule is documented in docs/jit.md.
 */
import {
  BPF_ALU64, BPF_CALL, BPF_JMP, BPF_JMP32, BPF_JA, BPF_EXIT, BPF_LDX, BPF_MOV, BPF_ADD, BPF_SUB, BPF_ST, BPF_STX,
  BPF_CLASS, BPF_K, BPF_OP, BPF_SRC, BPF_TAIL_CALL, BPF_X, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, type BpfInsn, isLdImm64,
  isPseudoCall, isTailCall,
} from '../bpf.js';
import type { JitFunction } from './do_jit.js';
import type { Profile } from './profile.js';
import { BPF_REG_2, BPF_REG_3, BPF_REG_FP } from './regs.js';
import { type BpfJitPokeDescriptor, new_poke_descriptor } from './tailcall.js';

export class ProgramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgramError';
  }
}

export interface TailCallSite {
  /** index in the whole program */
  insn_idx: number;
  func: number;
  kind: 'direct' | 'indirect';
  /** for a direct call: the map id (ld_imm64 into R2) and the constant key (R3) */
  map_id?: number;
  key?: number;
}

export interface ProgramFunction {
  index: number;
  /** [start, end) instruction range in the whole program */
  start: number;
  end: number;
  stack_depth: number;
  has_tail_call: boolean;
  tail_call_reachable: boolean;
  /** indices of the functions it calls */
  callees: number[];
}

export interface AnalyzedProgram {
  insns: BpfInsn[];
  funcs: ProgramFunction[];
  tail_calls: TailCallSite[];
}

/** Where a pseudo call (dump form: off = relative insn offset) or pseudo-func ld_imm64 (imm = offset) goes. */
export function callTarget(insns: readonly BpfInsn[], i: number): number | undefined {
  const insn = insns[i];
  if (isPseudoCall(insn)) return i + insn.off + 1;
  if (isLdImm64(insn) && insn.src_reg === BPF_PSEUDO_FUNC) return i + insn.imm + 1;
  return undefined;
}

function splitFunctions(insns: readonly BpfInsn[]): number[] {
  const starts = new Set<number>([0]);
  insns.forEach((_, i) => {
    const t = callTarget(insns, i);
    if (t === undefined) return;
    if (t <= 0 || t >= insns.length) throw new ProgramError(`call at insn ${i} targets insn ${t}, outside the program`);
    starts.add(t);
  });
  return [...starts].sort((a, b) => a - b);
}

/**
 * The verifier's `stack_depth` of a function: the deepest byte below FP it
 * accesses, directly or through a register holding FP + constant (tracked
 * within straight-line code), or passes to a call.
 */
function inferStackDepth(insns: readonly BpfInsn[], start: number, end: number): number {
  let depth = 0;
  const fpOff = new Map<number, number>(); // reg -> FP offset
  const targets = new Set<number>();
  for (let i = start; i < end; i++) {
    const c = insns[i];
    if ((BPF_CLASS(c.code) === BPF_JMP || BPF_CLASS(c.code) === BPF_JMP32) && BPF_OP(c.code) !== BPF_CALL && BPF_OP(c.code) !== BPF_EXIT) {
      targets.add(i + (c.code === (BPF_JMP32 | BPF_JA) ? c.imm : c.off) + 1);
    }
  }
  const note = (off: number) => (depth = Math.max(depth, -off));
  for (let i = start; i < end; i++) {
    if (targets.has(i)) fpOff.clear();
    const c = insns[i];
    const cls = BPF_CLASS(c.code);
    const base = (r: number): number | undefined => (r === BPF_REG_FP ? 0 : fpOff.get(r));
    if (cls === BPF_LDX) {
      const b = base(c.src_reg);
      if (b !== undefined) note(b + c.off);
      fpOff.delete(c.dst_reg);
    } else if (cls === BPF_STX || cls === BPF_ST) {
      const b = base(c.dst_reg);
      if (b !== undefined) note(b + c.off);
    } else if (c.code === (BPF_ALU64 | BPF_MOV | BPF_X) && c.off === 0) {
      const b = base(c.src_reg);
      if (b !== undefined) fpOff.set(c.dst_reg, b);
      else fpOff.delete(c.dst_reg);
    } else if ((c.code === (BPF_ALU64 | BPF_ADD | BPF_K) || c.code === (BPF_ALU64 | BPF_SUB | BPF_K)) && fpOff.has(c.dst_reg)) {
      fpOff.set(c.dst_reg, fpOff.get(c.dst_reg)! + (BPF_OP(c.code) === BPF_ADD ? c.imm : -c.imm));
    } else if (c.code === (BPF_JMP | BPF_CALL) || c.code === (BPF_JMP | BPF_TAIL_CALL)) {
      for (const r of [1, 2, 3, 4, 5]) {
        const b = fpOff.get(r);
        if (b !== undefined) note(b);
      }
      for (const r of [0, 1, 2, 3, 4, 5]) fpOff.delete(r);
    } else if (cls !== BPF_JMP && cls !== BPF_JMP32) {
      fpOff.delete(c.dst_reg);
    }
    if (isLdImm64(c)) i++;
  }
  return depth;
}

/** Constant R2 map id and R3 key at each tail call, within straight-line code. */
function trackTailCallArgs(insns: readonly BpfInsn[], i: number, start: number): { map_id?: number; key?: number } {
  let map_id: number | undefined;
  let key: number | undefined;
  let haveMap = false;
  let haveKey = false;
  for (let k = i - 1; k >= start && !(haveMap && haveKey); k--) {
    const c = insns[k];
    const isSecondHalf = k > start && isLdImm64(insns[k - 1]);
    if (isSecondHalf) continue;
    if (BPF_CLASS(c.code) === BPF_JMP || BPF_CLASS(c.code) === BPF_JMP32) break;
    if (!haveMap && c.dst_reg === BPF_REG_2) {
      haveMap = true;
      if (isLdImm64(c) && c.src_reg === BPF_PSEUDO_MAP_FD) map_id = c.imm;
    }
    if (!haveKey && c.dst_reg === BPF_REG_3 && BPF_CLASS(c.code) !== BPF_STX && BPF_CLASS(c.code) !== BPF_ST) {
      haveKey = true;
      if (BPF_OP(c.code) === BPF_MOV && BPF_SRC(c.code) === BPF_K && (BPF_CLASS(c.code) === BPF_ALU64 || c.imm >= 0)) key = c.imm;
    }
  }
  return { map_id, key };
}

/**
 * Analyze a dumped program. `kinds` (from the fixture's tail_call_sites, in
 * program order) says which tail calls the verifier made direct; without it,
 * a tail call is direct when its map and key are constants in straight-line
 * code before it (the verifier's condition for privileged loads).
 */
export function analyzeProgram(insns: BpfInsn[], profile: Profile, kinds?: readonly ('direct' | 'indirect')[]): AnalyzedProgram {
  if (insns.length === 0) throw new ProgramError('empty program');
  const starts = splitFunctions(insns);
  const funcOf = (i: number): number => {
    let f = 0;
    while (f + 1 < starts.length && starts[f + 1] <= i) f++;
    return f;
  };
  const funcs: ProgramFunction[] = starts.map((start, index) => {
    const end = index + 1 < starts.length ? starts[index + 1] : insns.length;
    const body = insns.slice(start, end);
    const has_tail_call = body.some(isTailCall);
    const callees = new Set<number>();
    for (let i = start; i < end; i++) {
      const t = isPseudoCall(insns[i]) ? callTarget(insns, i) : undefined;
      if (t !== undefined) callees.add(starts.indexOf(t));
    }
    const depth = profile.layout === 'v5.5' && has_tail_call ? 512 : inferStackDepth(insns, start, end);
    return { index, start, end, stack_depth: depth, has_tail_call, tail_call_reachable: false, callees: [...callees] };
  });
  // a function reaches a tail call if it, or anything it calls, has one
  const reach = (f: number, seen: Set<number>): boolean => {
    if (seen.has(f)) return false;
    seen.add(f);
    return funcs[f].has_tail_call || funcs[f].callees.some((c) => reach(c, seen));
  };
  for (const f of funcs) f.tail_call_reachable = reach(f.index, new Set());

  const sites = insns.map((c, i) => (isTailCall(c) ? i : -1)).filter((i) => i >= 0);
  if (kinds && kinds.length !== sites.length) {
    throw new ProgramError(`the fixture lists ${kinds.length} tail call sites, the program has ${sites.length}`);
  }
  const tail_calls = sites.map((i, k): TailCallSite => {
    const func = funcOf(i);
    const args = trackTailCallArgs(insns, i, funcs[func].start);
    const inferred = args.map_id !== undefined && args.key !== undefined ? 'direct' : 'indirect';
    const kind = kinds ? kinds[k] : inferred;
    if (kind === 'direct' && (args.map_id === undefined || args.key === undefined)) {
      throw new ProgramError(`direct tail call at insn ${i} but its map and key are not constants before it`);
    }
    return kind === 'direct' ? { insn_idx: i, func, kind, map_id: args.map_id, key: args.key } : { insn_idx: i, func, kind };
  });
  return { insns, funcs, tail_calls };
}

/**
 * The JIT's view of each function: tail calls rewritten to
 * BPF_JMP|BPF_TAIL_CALL with imm = poke index + 1 (direct) or 0, and one
 * shared poke table. `mapName(id)` names a map for the descriptors.
 */
export function jitFunctions(
  prog: AnalyzedProgram,
  funcAddress: (f: number) => bigint,
  mapName: (id: number) => string,
): { funcs: JitFunction[]; pokes: BpfJitPokeDescriptor[] } {
  const pokes: BpfJitPokeDescriptor[] = [];
  const imm = new Map<number, number>();
  for (const s of prog.tail_calls) {
    if (s.kind === 'direct') {
      pokes.push(new_poke_descriptor(mapName(s.map_id!), s.key!, s.insn_idx));
      imm.set(s.insn_idx, pokes.length);
    } else imm.set(s.insn_idx, 0);
  }
  const funcs = prog.funcs.map((f): JitFunction => {
    const insns = prog.insns.slice(f.start, f.end).map((c, k) => {
      const t = imm.get(f.start + k);
      return t === undefined ? c : { ...c, code: BPF_JMP | BPF_TAIL_CALL, src_reg: 0, imm: t };
    });
    return {
      insns,
      stack_depth: f.stack_depth,
      tail_call_reachable: f.tail_call_reachable,
      is_subprog: f.index !== 0,
      pokes,
      func_address: (i) => {
        const t = callTarget(prog.insns, f.start + i);
        const g = t === undefined ? -1 : prog.funcs.findIndex((x) => x.start === t);
        if (g < 0) throw new ProgramError(`insn ${f.start + i} does not call a function start`);
        return funcAddress(g);
      },
    };
  });
  return { funcs, pokes };
}
