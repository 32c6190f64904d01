/**
 * Memory instructions of do_jit: LDX (incl. sign-extending and PROBE_MEM
 * loads), STX, ST, atomics, and the speculation barrier. Returns undefined
 * for an opcode that is not one of these.
 */
import {
  BPF_ADD, BPF_AND, BPF_ATOMIC, BPF_CLASS, BPF_CMPXCHG, BPF_DW, BPF_FETCH, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MODE,
  BPF_NOSPEC, BPF_OR, BPF_PROBE_MEM, BPF_PROBE_MEMSX, BPF_SIZE, BPF_ST, BPF_STX, BPF_W, BPF_XCHG, BPF_XOR, type BpfInsn,
} from '../bpf.js';
import type { JitConfig } from './config.js';
import { simple_alu_opcode } from './emit-alu.js';
import {
  SIZE_B, SIZE_H, SIZE_W, emit_insn_suffix, emit_ldsx, emit_ldx, emit_mov_imm32, emit_mov_imm64, emit_mov_reg, emit_stx,
  maybe_emit_1mod, maybe_emit_mod,
} from './emit.js';
import { AUX_REG, BPF_REG_0, BPF_REG_AX, add_1mod, add_1reg, add_2reg, is_ereg } from './regs.js';
import { le32, leN } from '../bytes.js';
import { is_imm8 } from './x86.js';

const X86_PAGE_SIZE = 0x1000n;
/** TASK_SIZE_MAX with 4-level paging. */
const TASK_SIZE_MAX = (1n << 47n) - X86_PAGE_SIZE;
const VSYSCALL_ADDR = 0xffffffffff600000n;

/** `emit_atomic`: lock-prefixed add/and/or/xor, xadd, xchg, cmpxchg on *(dst + off). */
function emit_atomic(op: number, dst: number, src: number, off: number, size: number): number[] {
  const b = [0xf0, ...maybe_emit_mod(dst, src, size === BPF_DW)];
  if (op === BPF_ADD || op === BPF_AND || op === BPF_OR || op === BPF_XOR) b.push(simple_alu_opcode(op));
  else if (op === (BPF_ADD | BPF_FETCH)) b.push(0x0f, 0xc1);
  else if (op === BPF_XCHG) b.push(0x87);
  else if (op === BPF_CMPXCHG) b.push(0x0f, 0xb1);
  else throw new RangeError(`unknown atomic opcode 0x${op.toString(16)}`);
  return [...b, ...emit_insn_suffix(dst, src, off)];
}

function atomic(insn: BpfInsn): number[] {
  const size = BPF_SIZE(insn.code);
  const { imm, dst_reg: dst, src_reg: src, off } = insn;
  if (imm === (BPF_AND | BPF_FETCH) || imm === (BPF_OR | BPF_FETCH) || imm === (BPF_XOR | BPF_FETCH)) {
    // a cmpxchg loop
    const is64 = size === BPF_DW;
    const real_src = src === BPF_REG_0 ? BPF_REG_AX : src;
    const real_dst = dst === BPF_REG_0 ? BPF_REG_AX : dst;
    const b = emit_mov_reg(true, BPF_REG_AX, BPF_REG_0);
    const branch_target = b.length;
    b.push(...emit_ldx(size, BPF_REG_0, real_dst, off));
    b.push(...emit_mov_reg(is64, AUX_REG, BPF_REG_0));
    b.push(...maybe_emit_mod(AUX_REG, real_src, is64), simple_alu_opcode(imm & 0xf0), add_2reg(0xc0, AUX_REG, real_src));
    b.push(...emit_atomic(BPF_CMPXCHG, real_dst, AUX_REG, off, size));
    b.push(0x75, (-(b.length - branch_target) - 2) & 0xff); // jne retry
    b.push(...emit_mov_reg(is64, real_src, BPF_REG_0), ...emit_mov_reg(true, BPF_REG_0, BPF_REG_AX));
    return b;
  }
  return emit_atomic(imm, dst, src, off, size);
}

/** The bounds check in front of a PROBE_MEM load (6.1 form and the VSYSCALL form of newer kernels). */
function probe_guard(insn: BpfInsn, cfg: JitConfig): { pre: number[]; fix: (ldxLen: number) => void } {
  const { src_reg: src, dst_reg: dst, off } = insn;
  const b: number[] = [];
  if (cfg.profile.layout !== 'v6.12+') {
    const limit = TASK_SIZE_MAX + X86_PAGE_SIZE + BigInt(Math.abs(off));
    b.push(add_1mod(0x48, AUX_REG), add_1reg(0xb8, AUX_REG), ...leN(Number(limit & 0xffffffffn), 4), ...leN(Number(limit >> 32n), 4));
    b.push(...maybe_emit_mod(src, AUX_REG, true), 0x39, add_2reg(0xc0, src, AUX_REG));
    b.push(0x72, 0);
    const end1 = b.length;
    b.push(...emit_mov_reg(true, AUX_REG, src));
    b.push(...maybe_emit_1mod(AUX_REG, true), 0x81, add_1reg(0xc0, AUX_REG), ...le32(off));
    b.push(0x73, 0);
    const end2 = b.length;
    b.push(...emit_mov_imm32(false, dst, 0), 0xeb, 0);
    b[end1 - 1] = end2 - end1;
    b[end2 - 1] = b.length - end2;
    return { pre: b, fix: (n) => (b[b.length - 1] = n) };
  }
  b.push(...emit_mov_imm64(BPF_REG_AX, VSYSCALL_ADDR, cfg.mov_imm64_simm32));
  b.push(...emit_mov_reg(true, AUX_REG, src));
  if (off) b.push(...maybe_emit_1mod(AUX_REG, true), 0x81, add_1reg(0xc0, AUX_REG), ...le32(off));
  b.push(...maybe_emit_mod(AUX_REG, BPF_REG_AX, true), 0x29, add_2reg(0xc0, AUX_REG, BPF_REG_AX));
  b.push(...emit_mov_imm64(BPF_REG_AX, BigInt.asUintN(64, TASK_SIZE_MAX + X86_PAGE_SIZE - VSYSCALL_ADDR), cfg.mov_imm64_simm32));
  b.push(...maybe_emit_mod(AUX_REG, BPF_REG_AX, true), 0x39, add_2reg(0xc0, AUX_REG, BPF_REG_AX));
  b.push(0x77, 0);
  const end = b.length;
  b.push(...emit_mov_imm32(false, dst, 0), 0xeb, 0);
  b[end - 1] = b.length - end;
  return { pre: b, fix: (n) => (b[b.length - 1] = n) };
}

/** The bytes of one memory instruction, or undefined if `insn` is not one. */
export function emit_mem(insn: BpfInsn, cfg: JitConfig): number[] | undefined {
  const cls = BPF_CLASS(insn.code);
  const mode = BPF_MODE(insn.code);
  const size = BPF_SIZE(insn.code);
  const { dst_reg: dst, src_reg: src, off } = insn;
  if (cls === BPF_ST && mode === BPF_NOSPEC) return [0x0f, 0xae, 0xe8]; // lfence
  if (cls === BPF_ST && mode === BPF_MEM) {
    let op: number[];
    if (size === SIZE_B) op = is_ereg(dst) ? [0x41, 0xc6] : [0xc6];
    else if (size === SIZE_H) op = is_ereg(dst) ? [0x66, 0x41, 0xc7] : [0x66, 0xc7];
    else if (size === SIZE_W) op = is_ereg(dst) ? [0x41, 0xc7] : [0xc7];
    else op = [add_1mod(0x48, dst), 0xc7];
    const modrm = is_imm8(off) ? [add_1reg(0x40, dst), off & 0xff] : [add_1reg(0x80, dst), ...le32(off)];
    const n = size === SIZE_B ? 1 : size === SIZE_H ? 2 : 4;
    return [...op, ...modrm, ...leN(insn.imm, n)];
  }
  if (cls === BPF_STX && mode === BPF_MEM) return emit_stx(size, dst, src, off);
  if (cls === BPF_STX && mode === BPF_ATOMIC) {
    if (size !== BPF_W && size !== BPF_DW) throw new RangeError('atomics of 1 or 2 bytes are not supported');
    return atomic(insn);
  }
  if (cls === BPF_LDX && (mode === BPF_MEM || mode === BPF_PROBE_MEM || mode === BPF_MEMSX || mode === BPF_PROBE_MEMSX)) {
    const sx = mode === BPF_MEMSX || mode === BPF_PROBE_MEMSX;
    if (sx && cfg.profile.layout !== 'v6.12+') throw new RangeError(`sign-extending load (cpu v4) is not in profile ${cfg.profile.name}`);
    const ld = sx ? emit_ldsx(size, dst, src, off) : emit_ldx(size, dst, src, off);
    if (mode === BPF_MEM || mode === BPF_MEMSX) return ld;
    const g = probe_guard(insn, cfg);
    g.fix(ld.length);
    return [...g.pre, ...ld];
  }
  return undefined;
}
