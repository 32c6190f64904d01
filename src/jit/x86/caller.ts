/**
 * A tail-calling program of a given shape, JIT-compiled at a given address:
 * what the models run over. The program is built as BPF instructions and
 * compiled by do_jit, like any fixture; for the 6.1 profile its image equals
 * the oracle's `caller_d0` and `caller_two` byte for byte
 * (test/jit-tailcall.test.ts):
 *
 *   for each used callee-saved register Rk (R6..R9):  Rk = R1
 *   [stack_depth > 0: *(u64 *)(R10 - stack_depth) = R1]
 *   for each site k:   [k > 0 and a callee reg is used: R1 = the first one]
 *                      R2 = map (ld_imm64)   R3 = k   tail_call(R1, R2, R3)
 *   R0 = retval (default 100); exit
 */
import { BPF_ALU64, BPF_CALL, BPF_DW, BPF_EXIT, BPF_IMM, BPF_JMP, BPF_K, BPF_LD, BPF_MEM, BPF_MOV, BPF_PSEUDO_MAP_FD, BPF_STX, BPF_X, type BpfInsn, BPF_FUNC_tail_call } from '../bpf.js';
import { type JitConfigOverrides, defaultJitConfig } from './config.js';
import { jit_function } from './do_jit.js';
import { makeEnv } from './env.js';
import { X86_TAIL_CALL_OFFSET, DEFAULT_PROFILE } from './profile.js';
import { analyzeProgram, jitFunctions } from './program.js';
import { type CalleeReg, BPF_OF_CALLEE, BPF_REG_0, BPF_REG_1, BPF_REG_2, BPF_REG_3, BPF_REG_FP, CALLEE_REGS_ORDER } from './regs.js';
import type { BpfJitPokeDescriptor } from './tailcall.js';

export type { CalleeReg } from './regs.js';
export type { BpfJitPokeDescriptor } from './tailcall.js';
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

/** The `jmp_table` address in the oracle's kernel (read from its ld_imm64), used when a shape gives none. */
export const DEFAULT_MAP_ADDRESS = 0xff1100001ff8d200n;
export const TAIL_CALL_MAP = 'jmp_table';
const MAP_ID = 1;

const insn = (code: number, dst_reg: number, src_reg: number, off: number, imm: number): BpfInsn => ({ code, dst_reg, src_reg, off, imm });
const mov64 = (dst: number, src: number) => insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);

/** The BPF program of a shape, in the verifier's dump form (tail calls as `call 12`). */
export function tail_caller_program(shape: TailCallerShape): BpfInsn[] {
  if (!Number.isInteger(shape.sites) || shape.sites < 1) throw new RangeError(`sites must be a positive integer: ${shape.sites}`);
  if (!Number.isInteger(shape.stack_depth) || shape.stack_depth < 0 || shape.stack_depth > 512) {
    throw new RangeError(`stack depth out of range 0..512: ${shape.stack_depth}`);
  }
  for (const r of shape.callee_regs) {
    if (!CALLEE_REGS_ORDER.includes(r)) throw new RangeError(`not a callee-saved register: ${String(r)}`);
  }
  const regs = CALLEE_REGS_ORDER.filter((r) => shape.callee_regs.includes(r)).map((r) => BPF_OF_CALLEE[r]);
  const p: BpfInsn[] = regs.map((r) => mov64(r, BPF_REG_1));
  if (shape.stack_depth > 0) p.push(insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_FP, BPF_REG_1, -shape.stack_depth, 0));
  for (let key = 0; key < shape.sites; key++) {
    if (key > 0 && regs.length > 0) p.push(mov64(BPF_REG_1, regs[0]));
    p.push(insn(BPF_LD | BPF_IMM | BPF_DW, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, MAP_ID), insn(0, 0, 0, 0, 0));
    p.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, key));
    p.push(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call));
  }
  p.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, shape.retval ?? 100), insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

/**
 * JIT the tail caller of `shape` at `address`; every site is in state C
 * (bypass = jmp out, target = nop5). `profile` defaults to 6.1; `config`
 * overrides that profile's mitigation defaults.
 */
export function jit_tail_caller(shape: TailCallerShape, address: bigint, profile: string = DEFAULT_PROFILE, config: JitConfigOverrides = {}): JitImage {
  const cfg = defaultJitConfig(profile, config);
  const insns = tail_caller_program(shape);
  const prog = analyzeProgram(insns, cfg.profile, Array.from({ length: shape.sites }, () => 'direct'));
  if (cfg.profile.layout !== 'v5.5') prog.funcs[0].stack_depth = shape.stack_depth; // exactly the shape's, even if not a multiple of 8
  const { funcs, pokes } = jitFunctions(prog, () => address, () => TAIL_CALL_MAP);
  const env = makeEnv({ cfg, values: new Map([[`map:${MAP_ID}`, shape.map_address ?? DEFAULT_MAP_ADDRESS]]) });
  const out = jit_function(funcs[0], address, env);
  return { address, bytes: out.image, pokes, bpf_func: address, tail_call_entry: address + BigInt(X86_TAIL_CALL_OFFSET(profile)) };
}
