/**
 * Register moves and immediates, as the x86-64 BPF JIT encodes them
 * (emit_mov_imm32, emit_mov_imm64, emit_mov_reg). Registers are BPF numbers
 * (regs.ts); every function returns the bytes it emits.
 */
import { add_1mod, add_1reg, add_2mod, add_2reg, is_ereg, is_ereg_8l, reg2hex } from './regs.js';
import { le32 } from '../bytes.js';
import { is_imm8 } from './x86.js';

/** Reinterpret a number as a signed 32-bit value (the kernel's `(s32)`). */
export const s32 = (v: number): number => v | 0;

/**
 * `emit_mov_imm32`: `mov r64, simm32` when sign_propagate and negative,
 * `xor r32, r32` for zero, else `mov r32, imm32`.
 */
export function emit_mov_imm32(sign_propagate: boolean, dst: number, imm32: number): number[] {
  const v = s32(imm32);
  if (sign_propagate && v < 0) return [add_1mod(0x48, dst), 0xc7, add_1reg(0xc0, dst), ...le32(v)];
  if (v === 0) {
    const b: number[] = is_ereg(dst) ? [add_2mod(0x40, dst, dst)] : [];
    return [...b, 0x31, add_2reg(0xc0, dst, dst)];
  }
  const b: number[] = is_ereg(dst) ? [add_1mod(0x40, dst)] : [];
  return [...b, add_1reg(0xb8, dst), ...le32(v)];
}

/**
 * `emit_mov_imm64`: `mov r32, imm32` when the value fits u32; with
 * `simm32` (newer kernels) a sign-extended `mov r64, imm32` when it fits s32;
 * else `movabs`.
 */
export function emit_mov_imm64(dst: number, imm64: bigint, simm32 = false): number[] {
  const u = BigInt.asUintN(64, imm64);
  const lo = Number(u & 0xffffffffn);
  if (u <= 0xffffffffn) return emit_mov_imm32(false, dst, lo);
  const signed = BigInt.asIntN(64, u);
  if (simm32 && signed >= -0x80000000n && signed <= 0x7fffffffn) return emit_mov_imm32(true, dst, lo);
  const hi = Number(u >> 32n);
  return [add_1mod(0x48, dst), add_1reg(0xb8, dst), ...le32(s32(lo)), ...le32(s32(hi))];
}

/** `emit_mov_reg`: 64-bit moves to the same register are omitted. */
export function emit_mov_reg(is64: boolean, dst: number, src: number): number[] {
  if (is64) {
    if (dst === src) return [];
    return [add_2mod(0x48, dst, src), 0x89, add_2reg(0xc0, dst, src)];
  }
  const b: number[] = is_ereg(dst) || is_ereg(src) ? [add_2mod(0x40, dst, src)] : [];
  return [...b, 0x89, add_2reg(0xc0, dst, src)];
}

/** `emit_insn_suffix`: ModRM (+disp8 or disp32) for `[ptr_reg + off]` and `val_reg`. */
export function emit_insn_suffix(ptr_reg: number, val_reg: number, off: number): number[] {
  if (is_imm8(off)) return [add_2reg(0x40, ptr_reg, val_reg), off & 0xff];
  return [add_2reg(0x80, ptr_reg, val_reg), ...le32(off)];
}

/** `maybe_emit_mod`: REX.W (is64) or a REX for extended registers. */
export function maybe_emit_mod(dst: number, src: number, is64: boolean): number[] {
  if (is64) return [add_2mod(0x48, dst, src)];
  if (is_ereg(dst) || is_ereg(src)) return [add_2mod(0x40, dst, src)];
  return [];
}

/** `maybe_emit_1mod`: the same for a single register. */
export function maybe_emit_1mod(reg: number, is64: boolean): number[] {
  if (is64) return [add_1mod(0x48, reg)];
  if (is_ereg(reg)) return [add_1mod(0x40, reg)];
  return [];
}

export const SIZE_B = 0x10;
export const SIZE_H = 0x08;
export const SIZE_W = 0x00;
export const SIZE_DW = 0x18;

/** `emit_ldx`: dst = *(size *)(src + off), zero-extending. */
export function emit_ldx(size: number, dst: number, src: number, off: number): number[] {
  let op: number[];
  if (size === SIZE_B) op = [add_2mod(0x48, src, dst), 0x0f, 0xb6];
  else if (size === SIZE_H) op = [add_2mod(0x48, src, dst), 0x0f, 0xb7];
  else if (size === SIZE_W) op = is_ereg(dst) || is_ereg(src) ? [add_2mod(0x40, src, dst), 0x8b] : [0x8b];
  else op = [add_2mod(0x48, src, dst), 0x8b];
  return [...op, ...emit_insn_suffix(src, dst, off)];
}

/** `emit_ldsx`: dst = *(signed size *)(src + off). */
export function emit_ldsx(size: number, dst: number, src: number, off: number): number[] {
  let op: number[];
  if (size === SIZE_B) op = [add_2mod(0x48, src, dst), 0x0f, 0xbe];
  else if (size === SIZE_H) op = [add_2mod(0x48, src, dst), 0x0f, 0xbf];
  else if (size === SIZE_W) op = [add_2mod(0x48, src, dst), 0x63];
  else throw new RangeError('ldsx of a double word does not exist');
  return [...op, ...emit_insn_suffix(src, dst, off)];
}

/** `emit_stx`: *(size *)(dst + off) = src. */
export function emit_stx(size: number, dst: number, src: number, off: number): number[] {
  let op: number[];
  if (size === SIZE_B) op = is_ereg(dst) || is_ereg_8l(src) ? [add_2mod(0x40, dst, src), 0x88] : [0x88];
  else if (size === SIZE_H) op = is_ereg(dst) || is_ereg(src) ? [0x66, add_2mod(0x40, dst, src), 0x89] : [0x66, 0x89];
  else if (size === SIZE_W) op = is_ereg(dst) || is_ereg(src) ? [add_2mod(0x40, dst, src), 0x89] : [0x89];
  else op = [add_2mod(0x48, dst, src), 0x89];
  return [...op, ...emit_insn_suffix(dst, src, off)];
}

/** `emit_movsx_reg` (v6.6+): sign-extending register moves of 8/16/32 bits. */
export function emit_movsx_reg(num_bits: number, is64: boolean, dst: number, src: number): number[] {
  const modrm = add_2reg(0xc0, src, dst);
  if (is64) {
    if (num_bits === 8) return [add_2mod(0x48, src, dst), 0x0f, 0xbe, modrm];
    if (num_bits === 16) return [add_2mod(0x48, src, dst), 0x0f, 0xbf, modrm];
    if (num_bits === 32) return [add_2mod(0x48, src, dst), 0x63, modrm];
  } else {
    if (num_bits === 8) return [add_2mod(0x40, src, dst), 0x0f, 0xbe, modrm];
    if (num_bits === 16) {
      const rex = is_ereg(dst) || is_ereg(src) ? [add_2mod(0x40, src, dst)] : [];
      return [...rex, add_2mod(0x0f, src, dst), 0xbf, modrm];
    }
  }
  throw new RangeError(`movsx of ${num_bits} bits (${is64 ? '64' : '32'}-bit) does not exist`);
}

/** `emit_3vex` + `emit_shiftx`: BMI2 shlx/shrx/sarx dst, dst, src (op = pp: 1 shl, 3 shr, 2 sar). */
export function emit_shiftx(dst: number, src: number, is64: boolean, op: number): number[] {
  const r = is_ereg(dst);
  const vvvv = reg2hex(src) | (is_ereg(src) ? 8 : 0);
  const b1 = ((r ? 0 : 1) << 7) | (1 << 6) | ((r ? 0 : 1) << 5) | 2;
  const b2 = ((is64 ? 1 : 0) << 7) | ((~vvvv & 0xf) << 3) | (op & 3);
  return [0xc4, b1, b2, 0xf7, add_2reg(0xc0, dst, dst)];
}
