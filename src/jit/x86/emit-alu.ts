/**
 * ALU and ALU64 instructions of do_jit (arch/x86/net/bpf_jit_comp.c):
 * register and immediate forms, mul/div/mod, shifts, neg, endianness, moves.
 * Returns undefined for an opcode that is not an ALU one.
 */
import {
  BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_CLASS, BPF_DIV, BPF_END, BPF_FROM_BE, BPF_K, BPF_LSH, BPF_MOD,
  BPF_MOV, BPF_MUL, BPF_NEG, BPF_OP, BPF_OR, BPF_RSH, BPF_SRC, BPF_SUB, BPF_X, BPF_XOR, type BpfInsn,
} from '../bpf.js';
import type { JitConfig } from './config.js';
import {
  emit_mov_imm32, emit_mov_reg, emit_movsx_reg, emit_shiftx, maybe_emit_1mod, maybe_emit_mod,
} from './emit.js';
import { AUX_REG, BPF_REG_0, BPF_REG_3, BPF_REG_4, add_1reg, add_2reg, is_axreg, is_ereg } from './regs.js';
import { le32, leN } from '../bytes.js';
import { is_imm8 } from './x86.js';

/** `simple_alu_opcodes`: reg-reg opcode, or the /digit ModRM base for shifts. */
const SIMPLE_ALU: Record<number, number> = {
  [BPF_ADD]: 0x01, [BPF_SUB]: 0x29, [BPF_AND]: 0x21, [BPF_OR]: 0x09, [BPF_XOR]: 0x31,
  [BPF_LSH]: 0xe0, [BPF_RSH]: 0xe8, [BPF_ARSH]: 0xf8,
};
export const simple_alu_opcode = (op: number): number => SIMPLE_ALU[op];

/** b3 (ModRM base of 81/83 /digit) and b2 (the short rax form) for imm ALU ops. */
const IMM_ALU: Record<number, [b3: number, b2: number]> = {
  [BPF_ADD]: [0xc0, 0x05], [BPF_SUB]: [0xe8, 0x2d], [BPF_AND]: [0xe0, 0x25], [BPF_OR]: [0xc8, 0x0d], [BPF_XOR]: [0xf0, 0x35],
};

/** `EMIT_mov`: 64-bit register move, omitted when dst == src. */
const EMIT_mov = (dst: number, src: number): number[] => emit_mov_reg(true, dst, src);

/**
 * BPF_MUL as v5.10 and earlier emit it (and 5.10.y still does): save rax/rdx, `mov r11, dst`,
 * the multiplier into rax, `mul r11` (rdx:rax), restore. Later kernels emit `imul` (profile
 * flag Profile.mul_via_rax).
 */
function mul_rax(insn: BpfInsn, is64: boolean, x: boolean): number[] {
  const dst = insn.dst_reg;
  const b: number[] = [];
  if (dst !== BPF_REG_0) b.push(0x50); // push rax
  if (dst !== BPF_REG_3) b.push(0x52); // push rdx
  b.push(...EMIT_mov(AUX_REG, dst)); // mov r11, dst_reg
  b.push(...(x ? emit_mov_reg(is64, BPF_REG_0, insn.src_reg) : emit_mov_imm32(is64, BPF_REG_0, insn.imm)));
  b.push(is64 ? 0x49 : 0x41, 0xf7, add_1reg(0xe0, AUX_REG)); // mul(q) r11 (r11 always needs REX.B)
  if (dst !== BPF_REG_3) b.push(0x5a); // pop rdx
  if (dst !== BPF_REG_0) b.push(...EMIT_mov(dst, BPF_REG_0), 0x58); // mov dst_reg, rax; pop rax
  return b;
}

function divmod(insn: BpfInsn, is64: boolean, signed: boolean): number[] {
  const dst = insn.dst_reg;
  let src = insn.src_reg;
  const b: number[] = [];
  if (dst !== BPF_REG_0) b.push(0x50); // push rax
  if (dst !== BPF_REG_3) b.push(0x52); // push rdx
  if (BPF_SRC(insn.code) === BPF_X) {
    if (src === BPF_REG_0 || src === BPF_REG_3) {
      b.push(...EMIT_mov(AUX_REG, src));
      src = AUX_REG;
    }
  } else {
    b.push(0x49, 0xc7, 0xc3, ...le32(insn.imm)); // mov r11, imm32
    src = AUX_REG;
  }
  if (dst !== BPF_REG_0) b.push(...emit_mov_reg(is64, BPF_REG_0, dst));
  if (!signed) {
    b.push(0x31, 0xd2); // xor edx, edx
    b.push(...maybe_emit_1mod(src, is64), 0xf7, add_1reg(0xf0, src)); // div src
  } else {
    b.push(...(is64 ? [0x48, 0x99] : [0x99])); // cqo / cdq
    b.push(...maybe_emit_1mod(src, is64), 0xf7, add_1reg(0xf8, src)); // idiv src
  }
  if (BPF_OP(insn.code) === BPF_MOD && dst !== BPF_REG_3) b.push(...emit_mov_reg(is64, dst, BPF_REG_3));
  else if (BPF_OP(insn.code) === BPF_DIV && dst !== BPF_REG_0) b.push(...emit_mov_reg(is64, dst, BPF_REG_0));
  if (dst !== BPF_REG_3) b.push(0x5a); // pop rdx
  if (dst !== BPF_REG_0) b.push(0x58); // pop rax
  return b;
}

function shift_x(insn: BpfInsn, is64: boolean, cfg: JitConfig): number[] {
  const b3 = SIMPLE_ALU[BPF_OP(insn.code)];
  let dst = insn.dst_reg;
  const src = insn.src_reg;
  const b: number[] = [];
  if (cfg.profile.layout === 'v6.12+') {
    if (cfg.bmi2 && src !== BPF_REG_4) {
      const op = { [BPF_LSH]: 1, [BPF_RSH]: 3, [BPF_ARSH]: 2 }[BPF_OP(insn.code)] ?? 0;
      return emit_shiftx(dst, src, is64, op);
    }
    if (src !== BPF_REG_4) {
      if (dst === BPF_REG_4) {
        b.push(...EMIT_mov(AUX_REG, dst));
        dst = AUX_REG;
      } else b.push(0x51); // push rcx
      b.push(...EMIT_mov(BPF_REG_4, src));
    }
    b.push(...maybe_emit_1mod(dst, is64), 0xd3, add_1reg(b3, dst));
    if (src !== BPF_REG_4) b.push(...(insn.dst_reg === BPF_REG_4 ? EMIT_mov(insn.dst_reg, AUX_REG) : [0x59]));
    return b;
  }
  // v5.5, v5.10-6.11
  if (dst === BPF_REG_4) {
    b.push(...EMIT_mov(AUX_REG, dst));
    dst = AUX_REG;
  }
  if (src !== BPF_REG_4) b.push(0x51, ...EMIT_mov(BPF_REG_4, src));
  b.push(...maybe_emit_1mod(dst, is64), 0xd3, add_1reg(b3, dst));
  if (src !== BPF_REG_4) b.push(0x59);
  if (insn.dst_reg === BPF_REG_4) b.push(...EMIT_mov(insn.dst_reg, AUX_REG));
  return b;
}

function endian(insn: BpfInsn, swap: boolean): number[] {
  const dst = insn.dst_reg;
  const e = is_ereg(dst);
  const movzwl = [...(e ? [0x45, 0x0f, 0xb7] : [0x0f, 0xb7]), add_2reg(0xc0, dst, dst)];
  if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) throw new RangeError(`byte swap of ${insn.imm} bits`);
  if (swap) {
    if (insn.imm === 16) return [0x66, ...(e ? [0x41] : []), 0xc1, add_1reg(0xc8, dst), 8, ...movzwl];
    if (insn.imm === 32) return [...(e ? [0x41, 0x0f] : [0x0f]), add_1reg(0xc8, dst)];
    return [add_1mod64(dst), 0x0f, add_1reg(0xc8, dst)];
  }
  if (insn.imm === 16) return movzwl;
  if (insn.imm === 32) return [...(e ? [0x45] : []), 0x89, add_2reg(0xc0, dst, dst)];
  return [];
}

const add_1mod64 = (r: number): number => (is_ereg(r) ? 0x49 : 0x48);

/** The bytes of one ALU/ALU64 instruction, or undefined if `insn` is not one. */
export function emit_alu(insn: BpfInsn, cfg: JitConfig): number[] | undefined {
  const cls = BPF_CLASS(insn.code);
  if (cls !== BPF_ALU && cls !== BPF_ALU64) return undefined;
  const is64 = cls === BPF_ALU64;
  const op = BPF_OP(insn.code);
  const v6_12 = cfg.profile.layout === 'v6.12+';
  const dst = insn.dst_reg;
  const src = insn.src_reg;
  const needs = (what: string) => {
    if (!v6_12) throw new RangeError(`${what} (cpu v4) is not in profile ${cfg.profile.name}`);
  };
  const x = BPF_SRC(insn.code) === BPF_X;
  switch (op) {
    case BPF_ADD: case BPF_SUB: case BPF_AND: case BPF_OR: case BPF_XOR:
      if (x) return [...maybe_emit_mod(dst, src, is64), SIMPLE_ALU[op], add_2reg(0xc0, dst, src)];
      {
        const [b3, b2] = IMM_ALU[op];
        const pre = maybe_emit_1mod(dst, is64);
        if (is_imm8(insn.imm)) return [...pre, 0x83, add_1reg(b3, dst), insn.imm & 0xff];
        if (is_axreg(dst)) return [...pre, b2, ...le32(insn.imm)];
        return [...pre, 0x81, add_1reg(b3, dst), ...le32(insn.imm)];
      }
    case BPF_MOV:
      if (!x) return emit_mov_imm32(is64, dst, insn.imm);
      if (insn.off === 0) return emit_mov_reg(is64, dst, src);
      needs('movsx');
      return emit_movsx_reg(insn.off, is64, dst, src);
    case BPF_NEG:
      return [...maybe_emit_1mod(dst, is64), 0xf7, add_1reg(0xd8, dst)];
    case BPF_DIV: case BPF_MOD:
      if (insn.off !== 0) needs('signed div/mod');
      return divmod(insn, is64, insn.off === 1);
    case BPF_MUL:
      if (cfg.profile.mul_via_rax) return mul_rax(insn, is64, x);
      if (x) return [...maybe_emit_mod(src, dst, is64), 0x0f, 0xaf, add_2reg(0xc0, src, dst)];
      if (is_imm8(insn.imm)) return [...maybe_emit_mod(dst, dst, is64), 0x6b, add_2reg(0xc0, dst, dst), insn.imm & 0xff];
      return [...maybe_emit_mod(dst, dst, is64), 0x69, add_2reg(0xc0, dst, dst), ...le32(insn.imm)];
    case BPF_LSH: case BPF_RSH: case BPF_ARSH:
      if (x) return shift_x(insn, is64, cfg);
      {
        const pre = maybe_emit_1mod(dst, is64);
        if (insn.imm === 1) return [...pre, 0xd1, add_1reg(SIMPLE_ALU[op], dst)];
        return [...pre, 0xc1, add_1reg(SIMPLE_ALU[op], dst), ...leN(insn.imm, 1)];
      }
    case BPF_END:
      if (is64) {
        needs('unconditional byte swap');
        if (BPF_SRC(insn.code) !== BPF_K) throw new RangeError('ALU64 END with BPF_X is not a valid instruction');
        return endian(insn, true);
      }
      return endian(insn, BPF_SRC(insn.code) === BPF_FROM_BE);
    default:
      throw new RangeError(`unknown ALU opcode 0x${insn.code.toString(16)}`);
  }
}
