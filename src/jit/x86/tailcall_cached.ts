/**
 * Leon Hwang's 2026 RFC "bpf: tailcall: Eliminate max_entries and bpf_func
 * access at runtime" (20260102150032.53106-1-leon.hwang@linux.dev, patch
 * 2/4; docs/kernel-facts.md section 3e; rejected): the x86-64
 * `emit_bpf_tail_call_indirect` of the v6.12+ layout (v6.12+, tail_call_cnt_ptr)
 * with a map known at verification time ("static") or not ("dynamic").
 *
 *   mov edx, edx                     89 d2
 *   static:  cmp edx, max_entries    81 fa <imm32>
 *   dynamic: cmp edx, [rsi + off]    3b 56 <off8>
 *   jae out                          73 <rel8>        (was jbe with the operands swapped)
 *   mov rax, [rbp + tcc_ptr_off]     48 8b 85 <disp32>
 *   cmp qword [rax], MAX             48 83 38 21
 *   jae out                          73 <rel8>
 *   static:  mov rcx, [rsi + rdx*8 + ptrs + max_entries*8]   (the cached target)
 *   dynamic: mov rcx, [rsi + rdx*8 + ptrs]                   (the program)
 *   test rcx, rcx; je out            48 85 c9; 74 <rel8>
 *   add qword [rax], 1               48 83 00 01
 *   pop callee-saved; pop rax; pop rax; [add rsp, S]
 *   dynamic: mov rcx, [rcx + bpf_func]; add rcx, X86_TAIL_CALL_OFFSET
 *   jmp *rcx (emit_indirect_jump)
 * out:
 *
 * `tail_call_path` reads such bytes back into the operations a CPU performs,
 * so that a model's CPU does what the emitted bytes say (which slot it
 * loads, whether it dereferences bpf_func) rather than what we meant.
 */
import { decodeInsn, DecodeError, type Insn } from './decode.js';
import { type JitEnv, layoutOf, makeEnv } from './env.js';
import { defaultJitConfig } from './config.js';
import { checkDepth, pop_callee_regs } from './prologue.js';
import { type CalleeReg, round_up8 } from './regs.js';
import { emit_indirect_jump, MAX_TAIL_CALL_CNT, tcc_ptr_off } from './tailcall.js';
import { read_s32 } from '../bytes.js';
import {
  X86_JAE, X86_JE, emit_add_qword_rax_1, emit_add_reg_imm8, emit_add_rsp_imm32, emit_cmp_edx_imm32, emit_cmp_edx_rsi_disp8,
  emit_cmp_qword_rax_imm8, emit_jcc_rel8, emit_mov_edx_edx, emit_mov_rax_rbp_disp32, emit_mov_reg_reg_disp8,
  emit_mov_reg_rsi_rdx8_disp32, emit_pop, emit_test_reg, imm8,
} from './x86.js';

/** The 6.12 (layout v6.12+, no IBT) JIT with plain indirect jumps and the 6.1 oracle's struct offsets. */
export function rfc2026Env(): JitEnv {
  return makeEnv({
    cfg: defaultJitConfig('6.12', { indirect_jump: 'plain' }),
    layout: { bpf_array_max_entries: 36, bpf_array_ptrs: 272, bpf_prog_bpf_func: 48 },
  });
}

export interface TailCallMap {
  /** map->max_entries, emitted as an immediate on the static path. */
  max_entries: number;
  /** bpf_map_ptr_poisoned(aux): the map is not known at verification time. */
  dyn_array: boolean;
}

/** The RFC's `emit_bpf_tail_call_indirect(bpf_prog, map_index, dyn_array, ...)` for the v6.12+ layout. */
export function emit_bpf_tail_call_indirect_rfc2026(
  ip: bigint,
  callee_regs_used: readonly CalleeReg[],
  stack_depth: number,
  map: TailCallMap,
  env: JitEnv = rfc2026Env(),
): number[] {
  checkDepth(stack_depth);
  const p = env.cfg.profile;
  if (p.layout !== 'v6.12+') throw new RangeError(`the 2026 RFC is against the v6.12+ layout, not ${p.name}`);
  const lay = layoutOf(env);
  const out: number[] = [];
  const fix: number[] = [];
  const jcc_out = (op: number): void => {
    out.push(...emit_jcc_rel8(op, 0));
    fix.push(out.length - 1);
  };
  out.push(...emit_mov_edx_edx());
  if (map.dyn_array) out.push(...emit_cmp_edx_rsi_disp8(lay.bpf_array_max_entries)); // the map's max_entries
  else out.push(...emit_cmp_edx_imm32(map.max_entries)); // map->max_entries as an immediate
  jcc_out(X86_JAE);
  out.push(...emit_mov_rax_rbp_disp32(tcc_ptr_off(stack_depth)));
  out.push(...emit_cmp_qword_rax_imm8(MAX_TAIL_CALL_CNT));
  jcc_out(X86_JAE);
  const slot = lay.bpf_array_ptrs + (map.dyn_array ? 0 : map.max_entries * 8); // the program, or the cached target
  out.push(...emit_mov_reg_rsi_rdx8_disp32('rcx', slot));
  out.push(...emit_test_reg('rcx'));
  jcc_out(X86_JE);
  out.push(...emit_add_qword_rax_1());
  out.push(...pop_callee_regs(callee_regs_used), ...emit_pop('rax'), ...emit_pop('rax')); // tail_call_cnt_ptr; tail_call_cnt
  if (stack_depth) out.push(...emit_add_rsp_imm32(round_up8(stack_depth)));
  if (map.dyn_array) {
    out.push(...emit_mov_reg_reg_disp8('rcx', lay.bpf_prog_bpf_func));
    out.push(...emit_add_reg_imm8('rcx', p.tail_call_offset)); // + X86_TAIL_CALL_OFFSET
  }
  out.push(...emit_indirect_jump(ip + BigInt(out.length), env));
  for (const at of fix) out[at] = imm8(out.length - (at + 1));
  return out;
}

/** What one instruction of the tail-call sequence does. */
export type TailCallOp =
  | { op: 'local' } // mov edx,edx; the tail_call_cnt_ptr load, compare and increment; pops
  | { op: 'bound'; max: number | 'map' } // cmp edx, imm32 / cmp edx, [rsi + max_entries] / cmp [rsi + max_entries], edx
  | { op: 'jae_out' }
  | { op: 'jbe_out' } // the mainline bound check's `jbe out` (operands the other way round)
  | { op: 'load_slot'; disp: number } // mov rcx, [rsi + rdx*8 + disp]
  | { op: 'test_rcx' }
  | { op: 'je_out' }
  | { op: 'load_bpf_func'; off: number } // mov rcx, [rcx + off]
  | { op: 'add_rcx'; imm: number } // add rcx, imm8
  | { op: 'jmp_rcx' }; // jmp *%rcx (or lfence; jmp *%rcx)

export interface TailCallStep {
  insn: Insn;
  at: bigint;
  bytes: number[];
  op: TailCallOp;
}

/**
 * Decodes an emitted indirect tail-call sequence (either form of the RFC,
 * or mainline's `emit_bpf_tail_call_indirect`) into the
 * operations it performs, up to and including the jump. Instructions outside
 * this small repertoire are a DecodeError naming their bytes.
 */
export function tail_call_path(bytes: ArrayLike<number>, ip: bigint): TailCallStep[] {
  const steps: TailCallStep[] = [];
  let off = 0;
  while (off < bytes.length) {
    const b = Array.from({ length: Math.min(16, bytes.length - off) }, (_, i) => bytes[off + i]);
    const at = ip + BigInt(off);
    const insn = decodeInsn(b, at);
    const raw = b.slice(0, insn.len);
    const h = raw.slice(0, 4).map((x) => x.toString(16).padStart(2, '0')).join(' ');
    let op: TailCallOp;
    if (h.startsWith('89 d2') || h.startsWith('48 8b 85') || h.startsWith('48 83 38') || h.startsWith('48 83 00') || insn.text.startsWith('pop') || h.startsWith('48 81 c4')) op = { op: 'local' };
    else if (h.startsWith('81 fa')) op = { op: 'bound', max: read_s32(raw, 2) };
    else if (h.startsWith('3b 56') || h.startsWith('39 56')) op = { op: 'bound', max: 'map' };
    else if (raw[0] === 0x73) op = { op: 'jae_out' };
    else if (raw[0] === 0x76) op = { op: 'jbe_out' };
    else if (h === '48 8b 8c d6') op = { op: 'load_slot', disp: read_s32(raw, 4) };
    else if (h.startsWith('48 85 c9')) op = { op: 'test_rcx' };
    else if (raw[0] === 0x74) op = { op: 'je_out' };
    else if (h.startsWith('48 8b 49')) op = { op: 'load_bpf_func', off: raw[3] };
    else if (h.startsWith('48 83 c1')) op = { op: 'add_rcx', imm: raw[3] };
    else if (insn.text.startsWith('jmp    *%rcx')) op = { op: 'jmp_rcx' };
    else if (insn.text === 'lfence') op = { op: 'local' };
    else throw new DecodeError(raw, at, `not part of an indirect tail call: ${insn.text}`);
    steps.push({ insn, at, bytes: raw, op });
    off += insn.len;
    if (op.op === 'jmp_rcx') break;
  }
  if (steps.length === 0 || steps[steps.length - 1].op.op !== 'jmp_rcx') throw new RangeError('the tail-call sequence has no indirect jump');
  return steps;
}
