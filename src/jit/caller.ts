/**
 * A tail-calling program of a given shape, JIT-compiled (kernel 6.1 layout)
 * at a given address: what the models run over.
 *
 * The program is the BPF one that the oracle's `caller_d0` and `caller_two`
 * are (their images are reproduced byte for byte by test/jit-tailcall.test.ts):
 *
 *   for each used callee-saved register Rk (R6..R9):  Rk = R1
 *   for each site k:   [k > 0 and a callee reg is used: R1 = first one]
 *                      R2 = map (ld_imm64)   R3 = k   tail_call(R1, R2, R3)
 *   R0 = retval (default 100); exit
 */
import { emit_mov_imm32, emit_mov_imm64, emit_mov_reg } from './emit.js';
import { X86_TAIL_CALL_OFFSET } from './profile.js';
import { BPF_REG_0, BPF_REG_1, BPF_REG_2, BPF_REG_3, BPF_REG_6, BPF_REG_7, BPF_REG_8, BPF_REG_9 } from './regs.js';
import {
  type BpfJitPokeDescriptor,
  type CalleeReg,
  CALLEE_REGS_ORDER,
  emit_bpf_tail_call_direct,
  emit_prologue,
  new_poke_descriptor,
  pop_callee_regs,
  push_callee_regs,
} from './tailcall.js';
import { emit_int3, emit_leave, emit_ret } from './x86.js';

export type { CalleeReg, BpfJitPokeDescriptor } from './tailcall.js';
export { X86_TAIL_CALL_OFFSET } from './profile.js';

export interface TailCallerShape {
  stack_depth: number;
  callee_regs: CalleeReg[];
  /** direct sites, keys 0..sites-1, map 'jmp_table' */
  sites: number;
  /** R0 on fall-through; 100 unless given (the oracle's caller_two returns 101) */
  retval?: number;
  /** the map's kernel address loaded into R2; DEFAULT_MAP_ADDRESS unless given */
  map_address?: bigint;
}

export interface JitImage {
  address: bigint;
  bytes: Uint8Array;
  pokes: BpfJitPokeDescriptor[];
  bpf_func: bigint;
  tail_call_entry: bigint;
}

/** The `jmp_table` address in the oracle's kernel (its ld_imm64), used when a shape gives none. */
export const DEFAULT_MAP_ADDRESS = 0xff1100001ff8d200n;
export const TAIL_CALL_MAP = 'jmp_table';

const BPF_OF: Record<CalleeReg, number> = { rbx: BPF_REG_6, r13: BPF_REG_7, r14: BPF_REG_8, r15: BPF_REG_9 };

/** JIT the tail caller of `shape` at `address`; every site is in state C (bypass = jmp out, target = nop5). */
export function jit_tail_caller(shape: TailCallerShape, address: bigint): JitImage {
  if (!Number.isInteger(shape.sites) || shape.sites < 1) throw new RangeError(`sites must be a positive integer: ${shape.sites}`);
  const regs = CALLEE_REGS_ORDER.filter((r) => shape.callee_regs.includes(r));
  const map = shape.map_address ?? DEFAULT_MAP_ADDRESS;
  const code: number[] = [...emit_prologue(shape.stack_depth, false, true, false), ...push_callee_regs(shape.callee_regs)];
  for (const r of regs) code.push(...emit_mov_reg(true, BPF_OF[r], BPF_REG_1));
  const pokes: BpfJitPokeDescriptor[] = [];
  let insn_idx = regs.length; // BPF instruction index, for the descriptors
  for (let key = 0; key < shape.sites; key++) {
    if (key > 0 && regs.length > 0) {
      code.push(...emit_mov_reg(true, BPF_REG_1, BPF_OF[regs[0]]));
      insn_idx += 1;
    }
    code.push(...emit_mov_imm64(BPF_REG_2, map));
    code.push(...emit_mov_imm32(true, BPF_REG_3, key));
    insn_idx += 3; // ld_imm64 takes two instruction slots
    const poke = new_poke_descriptor(TAIL_CALL_MAP, key, insn_idx);
    insn_idx += 1;
    code.push(...emit_bpf_tail_call_direct(poke, address + BigInt(code.length), regs, shape.stack_depth));
    pokes.push(poke);
  }
  code.push(...emit_mov_imm32(true, BPF_REG_0, shape.retval ?? 100));
  code.push(...pop_callee_regs(regs), ...emit_leave(), ...emit_ret(), ...emit_int3());
  return {
    address,
    bytes: Uint8Array.from(code),
    pokes,
    bpf_func: address,
    tail_call_entry: address + BigInt(X86_TAIL_CALL_OFFSET('6.1')),
  };
}
