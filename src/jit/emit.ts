/**
 * Register moves and immediates, as the x86-64 BPF JIT encodes them
 * (emit_mov_imm32, emit_mov_imm64, emit_mov_reg). Registers are BPF numbers
 * (regs.ts); every function returns the bytes it emits.
 */
import { add_1mod, add_1reg, add_2mod, add_2reg, is_ereg } from './regs.js';
import { le32 } from './x86.js';

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

/** `emit_mov_imm64`: a `mov r32, imm32` when the value fits u32, else `movabs`. */
export function emit_mov_imm64(dst: number, imm64: bigint): number[] {
  const u = BigInt.asUintN(64, imm64);
  if (u <= 0xffffffffn) return emit_mov_imm32(false, dst, Number(u));
  const lo = Number(u & 0xffffffffn);
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
