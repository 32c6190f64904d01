/**
 * Operand decoding and AT&T formatting in GNU objdump 2.40's style, for the
 * decoder in decode.ts. Registers, ModRM/SIB memory operands, immediates.
 */
import { read_s32, read_u16, read_u64 } from '../bytes.js';

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8_REX = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'];
const R8_LEGACY = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

/** Operand size in bits. */
export type OpSize = 8 | 16 | 32 | 64;

/** `%reg` for register number 0..15 at the given size. */
export function reg(n: number, size: OpSize, rex: boolean): string {
  let name: string;
  if (n >= 8) {
    const suffix = { 8: 'b', 16: 'w', 32: 'd', 64: '' }[size];
    name = `r${n}${suffix}`;
  } else if (size === 64) name = R64[n];
  else if (size === 32) name = R32[n];
  else if (size === 16) name = R16[n];
  else name = (rex ? R8_REX : R8_LEGACY)[n];
  return '%' + name;
}

/** objdump's signed hex: `0x10`, `-0x8`. */
export function shex(v: number | bigint): string {
  const b = BigInt(v);
  return b < 0n ? '-0x' + (-b).toString(16) : '0x' + b.toString(16);
}

/** An immediate as objdump prints it: sign-extended to the operand size, unsigned. */
export function imm(v: number | bigint, size: OpSize): string {
  return '$0x' + BigInt.asUintN(size, BigInt(v)).toString(16);
}

/** Suffix objdump adds when no register operand gives the size. */
export function suffix(size: OpSize): string {
  return { 8: 'b', 16: 'w', 32: 'l', 64: 'q' }[size];
}

export interface Prefixes {
  opsize: boolean; // 0x66
  rep: boolean; // 0xf3
  lock: boolean; // 0xf0
  rex: number; // 0 when absent, else 0x40..0x4f
}

export const rexW = (p: Prefixes): boolean => (p.rex & 8) !== 0;
const rexR = (p: Prefixes): number => ((p.rex & 4) !== 0 ? 8 : 0);
const rexX = (p: Prefixes): number => ((p.rex & 2) !== 0 ? 8 : 0);
export const rexB = (p: Prefixes): number => ((p.rex & 1) !== 0 ? 8 : 0);

/** Reads bytes of one instruction; `fail` is called (and must throw) on truncation. */
export class Cursor {
  pos = 0;
  constructor(
    readonly bytes: ArrayLike<number>,
    private readonly fail: (why: string) => never,
  ) {}
  u8(): number {
    if (this.pos >= this.bytes.length) this.fail('truncated');
    return this.bytes[this.pos++] & 0xff;
  }
  s8(): number {
    const v = this.u8();
    return v >= 0x80 ? v - 0x100 : v;
  }
  /** The next `n` bytes (a truncated buffer fails). */
  take(n: number): number[] {
    return Array.from({ length: n }, () => this.u8());
  }
  s32(): number {
    return read_s32(this.take(4), 0);
  }
  u16(): number {
    return read_u16(this.take(2), 0);
  }
  u64(): bigint {
    return read_u64(this.take(8), 0);
  }
}

export interface ModRM {
  mod: number;
  /** reg field with REX.R applied */
  reg: number;
  /** raw reg field (the /digit of group opcodes) */
  digit: number;
  /** rm register number with REX.B when mod == 3 */
  rm: number;
  /** formatted memory operand when mod != 3 */
  mem?: string;
}

/** Decode a ModRM byte (and SIB and displacement) at the cursor. */
export function modrm(c: Cursor, p: Prefixes, fail: (why: string) => never): ModRM {
  const m = c.u8();
  const mod = m >> 6;
  const digit = (m >> 3) & 7;
  const rmLow = m & 7;
  const r: ModRM = { mod, reg: digit + rexR(p), digit, rm: rmLow + rexB(p) };
  if (mod === 3) return r;
  let base: string | undefined;
  let index = '';
  if (rmLow === 4) {
    const sib = c.u8();
    const scale = 1 << (sib >> 6);
    const idx = ((sib >> 3) & 7) + rexX(p);
    const b = sib & 7;
    if (idx !== 4) index = `,%${R64[idx]},${scale}`;
    else if (b !== 4) index = `,%riz,${scale}`;
    if (b === 5 && mod === 0) base = undefined;
    else base = R64[b + rexB(p)];
    if (base === undefined) {
      const d = c.s32();
      r.mem = `${shex(d)}(${index})`;
      return r;
    }
  } else if (rmLow === 5 && mod === 0) {
    fail('rip-relative operand');
  } else {
    base = R64[rmLow + rexB(p)];
  }
  const disp = mod === 1 ? c.s8() : mod === 2 ? c.s32() : undefined;
  r.mem = `${disp === undefined ? '' : shex(disp)}(%${base}${index})`;
  return r;
}

/** The r/m operand as text: memory, or a register of `size`. */
export function rmText(m: ModRM, size: OpSize, p: Prefixes): string {
  return m.mem ?? reg(m.rm, size, p.rex !== 0);
}

/** Mnemonic and operands in objdump's layout: mnemonic padded to 6, a space, operands. */
export function att(mnemonic: string, ...operands: string[]): string {
  if (operands.length === 0) return mnemonic;
  return `${mnemonic.padEnd(6)} ${operands.join(',')}`;
}
