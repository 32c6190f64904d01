/**
 * Little-endian bytes and their hex text, shared by the x86-64 and arm64
 * code (both architectures store instructions and immediates little-endian:
 * the kernel's `cpu_to_le32` / `le32_to_cpu`, and the byte order the x86 JIT's
 * `EMIT*_off32` macros write). This is the only place in src/jit that packs
 * or unpacks a multi-byte value.
 *
 * Writers return a fresh `number[]`; a value outside the field's range is a
 * RangeError naming it, never silently wrapped. Readers take any byte array
 * and an offset.
 */

function check(ok: boolean, what: string, v: number | bigint): void {
  if (!ok) throw new RangeError(`${what} out of range: ${v}`);
}

/** Little-endian bytes of a 32-bit value, signed or unsigned (-2^31 .. 2^32-1). */
export function le32(v: number): number[] {
  check(Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff, 'imm32', v);
  const u = v >>> 0;
  return [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, (u >>> 24) & 0xff];
}

/**
 * The low `n` bytes (1, 2 or 4) of a 32-bit value, little-endian: the
 * kernel's `EMIT(bytes, len)` of an immediate or a displacement.
 */
export function leN(v: number, n: 1 | 2 | 4): number[] {
  return le32(v).slice(0, n);
}

/** Little-endian bytes of a 64-bit value (taken modulo 2^64). */
export function le64(v: bigint): number[] {
  const u = BigInt.asUintN(64, v);
  const out: number[] = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((u >> (8n * i)) & 0xffn));
  return out;
}

/** The unsigned 16-bit value at `bytes[i..i+1]`. */
export function read_u16(bytes: ArrayLike<number>, i: number): number {
  return (bytes[i] & 0xff) | ((bytes[i + 1] & 0xff) << 8);
}

/** The signed 16-bit value at `bytes[i..i+1]`. */
export function read_s16(bytes: ArrayLike<number>, i: number): number {
  return (read_u16(bytes, i) << 16) >> 16;
}

/** The signed 32-bit value at `bytes[i..i+3]` (the kernel's `(s32)` of a rel32 or disp32). */
export function read_s32(bytes: ArrayLike<number>, i: number): number {
  return (bytes[i] & 0xff) | ((bytes[i + 1] & 0xff) << 8) | ((bytes[i + 2] & 0xff) << 16) | ((bytes[i + 3] & 0xff) << 24);
}

/** The unsigned 32-bit value at `bytes[i..i+3]` (`le32_to_cpu`). */
export function read_u32(bytes: ArrayLike<number>, i: number): number {
  return read_s32(bytes, i) >>> 0;
}

/** The unsigned 64-bit value at `bytes[i..i+7]`. */
export function read_u64(bytes: ArrayLike<number>, i: number): bigint {
  return (BigInt(read_u32(bytes, i + 4)) << 32n) | BigInt(read_u32(bytes, i));
}

/** Hex pairs separated by spaces: `0f 1f 44 00 00`. */
export function hexBytes(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Lower-case `0x`-prefixed 64-bit hex address, as objdump prints targets. */
export function hexAddr(a: bigint): string {
  return '0x' + BigInt.asUintN(64, a).toString(16);
}
