/**
 * A decoder for the x86-64 instructions the BPF JIT emits, printing each in
 * GNU objdump 2.40's AT&T syntax, as in the oracle's .dis files.
 *
 * Text layout: the mnemonic padded with spaces to 6 columns, one space, then
 * the operands separated by commas without spaces (`nopl   0x0(%rax,%rax,1)`,
 * `jmp    0xffffffffc000065f`, `movabs $0xff1100001ff8d200,%rsi`); an
 * instruction without operands is its bare mnemonic (`ret`, `int3`). Branch
 * targets are absolute addresses; objdump's `<symbol>` annotations are not
 * part of `text`. A `lock` prefix is printed as `lock add %edi,0x10(%rsi)`.
 *
 * `kind`: `nop` for every nop form (nop5, nop3, nop2 `xchg %ax,%ax`, 0x90,
 * endbr64); `jmp`/`call`/`jcc` only for direct relative branches, which carry
 * their absolute `target`; an indirect `jmp *%rcx` or `call *...` is `other`
 * (it has no static target). Anything outside the JIT's repertoire, and a
 * buffer that ends inside an instruction, is a DecodeError.
 */
import { type ModRM, type OpSize, type Prefixes, Cursor, att, imm, modrm, reg, rexB, rexW, rmText, suffix } from './att.js';
import { hexAddr, hexBytes } from '../bytes.js';

export interface Insn {
  len: number;
  kind: 'nop' | 'jmp' | 'call' | 'jcc' | 'int3' | 'ret' | 'other';
  target?: bigint;
  text: string;
}

export class DecodeError extends Error {
  constructor(
    readonly bytes: number[],
    readonly address: bigint,
    readonly why?: string,
  ) {
    super(`cannot decode ${hexBytes(bytes)} at ${hexAddr(address)}${why ? ` (${why})` : ''}`);
    this.name = 'DecodeError';
  }
}

const JCC = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];
const GRP1 = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const GRP2: (string | undefined)[] = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', undefined, 'sar'];
const GRP3: (string | undefined)[] = ['test', undefined, 'not', 'neg', 'mul', 'imul', 'div', 'idiv'];
/** "op r/m, r" (even low bits) and "op r, r/m" forms of the classic ALU block 00..3f. */
const ALU_BLOCK = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** Decode one instruction at bytes[0], located at address `ip`. */
export function decodeInsn(bytes: ArrayLike<number>, ip: bigint): Insn {
  const fail = (why?: string): never => {
    const n = Math.min(Math.max(c.pos, 1), bytes.length);
    throw new DecodeError(Array.from({ length: n }, (_, i) => bytes[i] & 0xff), ip, why);
  };
  const c = new Cursor(bytes, (why) => fail(why));
  const p: Prefixes = { opsize: false, rep: false, lock: false, rex: 0 };
  let op = c.u8();
  for (;;) {
    if (op === 0x66) p.opsize = true;
    else if (op === 0xf3) p.rep = true;
    else if (op === 0xf0) p.lock = true;
    else break;
    op = c.u8();
  }
  if (op >= 0x40 && op <= 0x4f) {
    p.rex = op;
    op = c.u8();
  }
  const size: OpSize = rexW(p) ? 64 : p.opsize ? 16 : 32;
  const done = (kind: Insn['kind'], text: string, target?: bigint): Insn => {
    if (p.rep && text !== 'endbr64' && text !== 'pause') fail('unexpected rep prefix');
    if (p.lock) {
      const [mn, ...rest] = text.split(' ').filter((s) => s !== '');
      text = `lock ${mn} ${rest.join(' ')}`;
    }
    const insn: Insn = { len: c.pos, kind, text };
    if (target !== undefined) insn.target = target;
    return insn;
  };
  const rel = (disp: number): bigint => BigInt.asUintN(64, ip + BigInt(c.pos) + BigInt(disp));
  const other = (text: string): Insn => done('other', text);
  const m = (): ModRM => modrm(c, p, fail);
  const sizeOf = (byteOp: boolean): OpSize => (byteOp ? 8 : size);

  // Two-byte opcodes.
  if (op === 0x0f) {
    const op2 = c.u8();
    if (op2 === 0x1e && p.rep) {
      if (c.u8() === 0xfa) return done('nop', 'endbr64');
      return fail();
    }
    if (op2 === 0x1f) {
      const mm = m();
      return done('nop', att('nop' + (mm.mem ? suffix(size) : ''), rmText(mm, size, p)));
    }
    if (op2 >= 0x80 && op2 <= 0x8f) {
      const d = c.s32();
      const t = rel(d);
      return done('jcc', att(JCC[op2 - 0x80], hexAddr(t)), t);
    }
    if (op2 === 0x0b) return fail();
    if (op2 === 0xae) {
      if (c.u8() === 0xe8) return other('lfence');
      return fail();
    }
    if (op2 === 0xaf) {
      const mm = m();
      return other(att('imul', rmText(mm, size, p), reg(mm.reg, size, p.rex !== 0)));
    }
    if (op2 === 0xb6 || op2 === 0xb7 || op2 === 0xbe || op2 === 0xbf) {
      const mm = m();
      const from: OpSize = op2 & 1 ? 16 : 8;
      const mn = (op2 < 0xb8 ? 'movz' : 'movs') + suffix(from) + suffix(size);
      return other(att(mn, rmText(mm, from, p), reg(mm.reg, size, p.rex !== 0)));
    }
    if (op2 === 0xc1 || op2 === 0xb1) {
      const mm = m();
      const mn = op2 === 0xc1 ? 'xadd' : 'cmpxchg';
      return other(att(mn, reg(mm.reg, size, p.rex !== 0), rmText(mm, size, p)));
    }
    if (op2 >= 0xc8 && op2 <= 0xcf) return other(att('bswap', reg(op2 - 0xc8 + rexB(p), size, true)));
    return fail();
  }

  // Classic ALU block: op r/m,r (x0/x1) and op r,r/m (x2/x3).
  if (op < 0x40 && (op & 7) < 4) {
    const mn = ALU_BLOCK[op >> 3];
    const mm = m();
    const s = sizeOf((op & 1) === 0);
    const r = reg(mm.reg, s, p.rex !== 0);
    const rm = rmText(mm, s, p);
    return other((op & 2) === 0 ? att(mn, r, rm) : att(mn, rm, r));
  }
  // accumulator forms: op al, imm8 (x4) and op eax/rax, imm32 (x5)
  if (op < 0x40 && ((op & 7) === 4 || (op & 7) === 5)) {
    const s = sizeOf((op & 7) === 4);
    const v = s === 8 ? c.u8() : s === 16 ? c.u16() : c.s32();
    return other(att(ALU_BLOCK[op >> 3], imm(v, s), reg(0, s, p.rex !== 0)));
  }
  if (op >= 0x50 && op <= 0x57) return other(att('push', reg(op - 0x50 + rexB(p), 64, true)));
  if (op >= 0x58 && op <= 0x5f) return other(att('pop', reg(op - 0x58 + rexB(p), 64, true)));
  if (op === 0x63 && rexW(p)) {
    const mm = m();
    return other(att('movslq', rmText(mm, 32, p), reg(mm.reg, 64, true)));
  }
  if (op === 0x69 || op === 0x6b) {
    const mm = m();
    const v = op === 0x69 ? c.s32() : c.s8();
    return other(att('imul', imm(v, size), rmText(mm, size, p), reg(mm.reg, size, p.rex !== 0)));
  }
  if (op >= 0x70 && op <= 0x7f) {
    const d = c.s8();
    const t = rel(d);
    return done('jcc', att(JCC[op - 0x70], hexAddr(t)), t);
  }
  if (op === 0x80 || op === 0x81 || op === 0x83) {
    const mm = m();
    const s = sizeOf(op === 0x80);
    const v = op === 0x81 ? (s === 16 ? c.u16() : c.s32()) : c.s8();
    const mn = GRP1[mm.digit] + (mm.mem ? suffix(s) : '');
    return other(att(mn, imm(v, s), rmText(mm, s, p)));
  }
  if (op === 0x84 || op === 0x85 || op === 0x86 || op === 0x87 || (op >= 0x88 && op <= 0x8b)) {
    const mm = m();
    const s = sizeOf((op & 1) === 0);
    const mn = op <= 0x85 ? 'test' : op <= 0x87 ? 'xchg' : 'mov';
    const r = reg(mm.reg, s, p.rex !== 0);
    const rm = rmText(mm, s, p);
    return other(op === 0x8a || op === 0x8b ? att(mn, rm, r) : att(mn, r, rm));
  }
  if (op === 0x8d) {
    const mm = m();
    if (!mm.mem) return fail();
    return other(att('lea', mm.mem, reg(mm.reg, size, p.rex !== 0)));
  }
  if (op === 0x90 && !rexB(p)) {
    if (p.rep) return other('pause');
    return done('nop', p.opsize ? att('xchg', '%ax', '%ax') : 'nop');
  }
  if (op === 0x6a) return other(att('push', imm(c.s8(), 64)));
  if (op === 0xc4 && p.rex === 0) return vex3(c, fail, other);
  if (op === 0x99) return other(rexW(p) ? 'cqto' : p.opsize ? 'cwtd' : 'cltd');
  if (op >= 0xb8 && op <= 0xbf) {
    const r = op - 0xb8 + rexB(p);
    if (rexW(p)) return other(att('movabs', imm(c.u64(), 64), reg(r, 64, true)));
    const v = p.opsize ? c.u16() : c.s32();
    return other(att('mov', imm(v, size), reg(r, size, p.rex !== 0)));
  }
  if (op === 0xc1 || op === 0xd1 || op === 0xd3) {
    const mm = m();
    const mn0 = GRP2[mm.digit];
    if (mn0 === undefined) return fail();
    const mn = mn0 + (mm.mem ? suffix(size) : '');
    const rm = rmText(mm, size, p);
    if (op === 0xd1) return other(att(mn, rm));
    if (op === 0xd3) return other(att(mn, '%cl', rm));
    return other(att(mn, imm(c.u8(), 8), rm));
  }
  if (op === 0xc3) return done('ret', 'ret');
  if (op === 0xc6 || op === 0xc7) {
    const mm = m();
    if (mm.digit !== 0) return fail();
    const s = sizeOf(op === 0xc6);
    const v = s === 8 ? c.u8() : s === 16 ? c.u16() : c.s32();
    return other(att('mov' + (mm.mem ? suffix(s) : ''), imm(v, s), rmText(mm, s, p)));
  }
  if (op === 0xc9) return other('leave');
  if (op === 0xcc) return done('int3', 'int3');
  if (op === 0xe8 || op === 0xe9) {
    const d = c.s32();
    const t = rel(d);
    return done(op === 0xe8 ? 'call' : 'jmp', att(op === 0xe8 ? 'call' : 'jmp', hexAddr(t)), t);
  }
  if (op === 0xeb) {
    const d = c.s8();
    const t = rel(d);
    return done('jmp', att('jmp', hexAddr(t)), t);
  }
  if (op === 0xf7) {
    const mm = m();
    const mn0 = GRP3[mm.digit];
    if (mn0 === undefined) return fail();
    const mn = mn0 + (mm.mem ? suffix(size) : '');
    const rm = rmText(mm, size, p);
    if (mm.digit === 0) return other(att(mn, imm(p.opsize ? c.u16() : c.s32(), size), rm));
    return other(att(mn, rm));
  }
  if (op === 0xff) {
    const mm = m();
    if (mm.digit === 2 || mm.digit === 4) {
      const mn = mm.digit === 2 ? 'call' : 'jmp';
      return other(att(mn, '*' + rmText(mm, 64, p)));
    }
    if (mm.digit === 0 || mm.digit === 1) {
      const mn = (mm.digit === 0 ? 'inc' : 'dec') + (mm.mem ? suffix(size) : '');
      return other(att(mn, rmText(mm, size, p)));
    }
    return fail();
  }
  return fail();
}

const SHIFTX: (string | undefined)[] = [undefined, 'shlx', 'sarx', 'shrx'];

/** The 3-byte VEX forms the JIT emits: BMI2 shlx/sarx/shrx (map 0f38, opcode f7). */
function vex3(c: Cursor, fail: (why?: string) => never, other: (text: string) => Insn): Insn {
  const b1 = c.u8();
  const b2 = c.u8();
  const map = b1 & 0x1f;
  const op = c.u8();
  const mn = SHIFTX[b2 & 3];
  if (map !== 2 || op !== 0xf7 || mn === undefined || (b2 & 4) !== 0) return fail();
  const vp: Prefixes = { opsize: false, rep: false, lock: false, rex: 0x40 | ((b2 >> 7) << 3) | ((~b1 >> 7) & 1) << 2 | ((~b1 >> 6) & 1) << 1 | ((~b1 >> 5) & 1) };
  const size: OpSize = b2 & 0x80 ? 64 : 32;
  const m = modrm(c, vp, fail);
  const count = reg((~b2 >> 3) & 0xf, size, true);
  return other(att(mn, count, rmText(m, size, vp), reg(m.reg, size, true)));
}

/** Decode a whole buffer; every byte must belong to a decodable instruction. */
export function disasm(bytes: ArrayLike<number>, ip: bigint): Insn[] {
  const arr = Array.from(bytes);
  const out: Insn[] = [];
  let off = 0;
  while (off < arr.length) {
    const insn = decodeInsn(arr.slice(off), ip + BigInt(off));
    out.push(insn);
    off += insn.len;
  }
  return out;
}
