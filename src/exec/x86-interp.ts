/**
 * An interpreter of the x86-64 instructions the BPF JIT emits, so that a
 * model can *run* JIT output: it executes what `decodeInsn` (src/jit/x86/decode.ts)
 * says the bytes are, reading the operands from the decoder's objdump text.
 *
 * Covered: nop forms; mov/movabs; add, sub, xor, and, or, cmp, test (with
 * CF/ZF/SF/OF); push/pop; call/ret/leave; jmp (direct and through a
 * register); every jcc but jp/jnp. Operands: registers of 8/16/32/64 bits,
 * immediates, and memory `disp(base,index,scale)` in a stack region. Anything
 * else (another instruction, memory outside the stack, int3) throws
 * `InterpError`: the interpreter never guesses what an instruction does.
 *
 * The whole machine state is plain data (`X86State`) so that a model can pack
 * it into its state vector.
 */
import { decodeInsn, type Insn } from '../jit/x86/decode.js';
import { hexAddr, hexBytes } from '../jit/x86/x86.js';

export class InterpError extends Error {}

const M64 = (1n << 64n) - 1n;
const REG64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'];
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'];
export const RAX = 0;
export const RSP = 4;
export const RBP = 5;
export const RDI = 7;

export interface X86State {
  /** rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 as unsigned 64-bit values */
  regs: bigint[];
  rip: bigint;
  cf: boolean;
  zf: boolean;
  sf: boolean;
  of: boolean;
  /** the stack: bytes [stackBase - stack.length, stackBase) */
  stack: Uint8Array;
  stackBase: bigint;
}

/** Where code lives: the bytes at an address, or undefined outside every image. */
export type CodeAt = (addr: bigint) => Uint8Array | undefined;

type Operand = { kind: 'reg'; reg: number; size: number } | { kind: 'imm'; value: bigint } | { kind: 'mem'; disp: bigint; base?: number; index?: number; scale: number };

export interface Decoded {
  insn: Insn;
  bytes: Uint8Array;
  mnemonic: string;
  ops: Operand[];
  /** operand size in bits for memory-only forms (from the mnemonic's suffix) */
  suffixSize?: number;
}

function regOperand(name: string): Operand | undefined {
  for (const [list, size] of [[REG64, 64], [REG32, 32], [REG16, 16], [REG8, 8]] as const) {
    const i = list.indexOf(name);
    if (i >= 0) return { kind: 'reg', reg: i, size };
  }
  const m = /^r(\d+)([dwb]?)$/.exec(name);
  if (m && Number(m[1]) >= 8 && Number(m[1]) <= 15) return { kind: 'reg', reg: Number(m[1]), size: { '': 64, d: 32, w: 16, b: 8 }[m[2]]! };
  return undefined;
}

function splitOperands(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function parseOperand(text: string, insn: Insn): Operand {
  const t = text.trim();
  if (t.startsWith('%')) {
    const r = regOperand(t.slice(1));
    if (r) return r;
  } else if (t.startsWith('$')) {
    return { kind: 'imm', value: BigInt(t.slice(1)) };
  } else if (/^-?(0x[0-9a-f]+)?\(/.test(t)) {
    const m = /^(-?0x[0-9a-f]+)?\(%(\w+)?(?:,%(\w+),(\d))?\)$/.exec(t);
    if (m) {
      const base = m[2] ? regOperand(m[2]) : undefined;
      const index = m[3] ? regOperand(m[3]) : undefined;
      if ((!m[2] || (base?.kind === 'reg' && base.size === 64)) && (!m[3] || (index?.kind === 'reg' && index.size === 64))) {
        return {
          kind: 'mem',
          disp: m[1] ? (m[1].startsWith('-') ? -BigInt(m[1].slice(1)) : BigInt(m[1])) : 0n,
          base: base?.kind === 'reg' ? base.reg : undefined,
          index: index?.kind === 'reg' ? index.reg : undefined,
          scale: m[4] ? Number(m[4]) : 1,
        };
      }
    }
  } else if (/^0x[0-9a-f]+$/.test(t) && insn.target !== undefined) {
    return { kind: 'imm', value: insn.target };
  }
  throw new InterpError(`cannot read operand '${t}' of ${insn.text}`);
}

/** Decodes the instruction at `rip` into an executable form. */
export function decodeAt(code: CodeAt, rip: bigint): Decoded {
  const bytes = code(rip);
  if (!bytes) throw new InterpError(`no code at ${hexAddr(rip)}`);
  const insn = decodeInsn(bytes, rip);
  const [mnemonic, ...rest] = insn.text.split(/\s+/);
  const opText = rest.join(' ');
  const ops = insn.kind === 'nop' || !opText ? [] : splitOperands(opText).map((o) => parseOperand(o.replace(/^\*/, ''), insn));
  const sfx = /^(?:mov|add|sub|cmp|and|or|xor|test)([bwlq])$/.exec(mnemonic)?.[1];
  return { insn, bytes: bytes.slice(0, insn.len), mnemonic: sfx ? mnemonic.slice(0, -1) : mnemonic, ops, suffixSize: sfx ? { b: 8, w: 16, l: 32, q: 64 }[sfx] : undefined };
}

const mask = (size: number): bigint => (1n << BigInt(size)) - 1n;
const sign = (v: bigint, size: number): boolean => ((v >> BigInt(size - 1)) & 1n) === 1n;

export class X86Machine {
  constructor(
    readonly s: X86State,
    private readonly code: CodeAt,
    private readonly decoded: Map<bigint, Decoded> = new Map(),
  ) {}

  decode(rip: bigint = this.s.rip): Decoded {
    let d = this.decoded.get(rip);
    if (!d) {
      d = decodeAt(this.code, rip);
      this.decoded.set(rip, d);
    }
    return d;
  }

  private stackOffset(addr: bigint, n: number): number {
    const off = Number(addr - (this.s.stackBase - BigInt(this.s.stack.length)));
    if (off < 0 || off + n > this.s.stack.length) throw new InterpError(`memory access at ${hexAddr(addr)} (+${n}) outside the modelled stack (${this.s.stack.length} bytes below ${hexAddr(this.s.stackBase)})`);
    return off;
  }

  load(addr: bigint, size: number): bigint {
    const n = size / 8;
    const off = this.stackOffset(addr, n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.s.stack[off + i]);
    return v;
  }

  store(addr: bigint, size: number, v: bigint): void {
    const n = size / 8;
    const off = this.stackOffset(addr, n);
    for (let i = 0; i < n; i++) this.s.stack[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  }

  private addr(o: Extract<Operand, { kind: 'mem' }>): bigint {
    let a = o.disp;
    if (o.base !== undefined) a += this.s.regs[o.base];
    if (o.index !== undefined) a += this.s.regs[o.index] * BigInt(o.scale);
    return a & M64;
  }

  private read(o: Operand, size: number): bigint {
    if (o.kind === 'reg') return this.s.regs[o.reg] & mask(size);
    if (o.kind === 'imm') return o.value & mask(size);
    return this.load(this.addr(o), size);
  }

  private write(o: Operand, size: number, v: bigint): void {
    v &= mask(size);
    if (o.kind === 'imm') throw new InterpError('cannot write an immediate');
    if (o.kind === 'mem') return this.store(this.addr(o), size, v);
    const old = this.s.regs[o.reg];
    // 32-bit writes zero-extend; 8/16-bit writes keep the rest
    this.s.regs[o.reg] = size >= 32 ? v : (old & ~mask(size) & M64) | v;
  }

  push(v: bigint): void {
    this.s.regs[RSP] = (this.s.regs[RSP] - 8n) & M64;
    this.store(this.s.regs[RSP], 64, v);
  }

  pop(): bigint {
    const v = this.load(this.s.regs[RSP], 64);
    this.s.regs[RSP] = (this.s.regs[RSP] + 8n) & M64;
    return v;
  }

  private flags(res: bigint, size: number, cf: boolean, of: boolean): void {
    this.s.zf = (res & mask(size)) === 0n;
    this.s.sf = sign(res, size);
    this.s.cf = cf;
    this.s.of = of;
  }

  private cond(cc: string): boolean {
    const s = this.s;
    switch (cc) {
      case 'o': return s.of;
      case 'no': return !s.of;
      case 'b': return s.cf;
      case 'ae': return !s.cf;
      case 'e': return s.zf;
      case 'ne': return !s.zf;
      case 'be': return s.cf || s.zf;
      case 'a': return !s.cf && !s.zf;
      case 's': return s.sf;
      case 'ns': return !s.sf;
      case 'l': return s.sf !== s.of;
      case 'ge': return s.sf === s.of;
      case 'le': return s.zf || s.sf !== s.of;
      case 'g': return !s.zf && s.sf === s.of;
      default: throw new InterpError(`condition ${cc} is not modelled`);
    }
  }

  /** `dst op= src` with the flags of add/sub/cmp (CF, OF by the operation) or of the logic ops (CF = OF = 0). */
  private alu(op: string, dst: Operand, src: Operand, n: number): void {
    const a = this.read(dst, n);
    const b = this.read(src, n);
    let raw: bigint;
    let cf = false;
    let of = false;
    if (op === 'add' || op === 'sub' || op === 'cmp') {
      const add = op === 'add';
      raw = add ? a + b : a - b;
      const res = raw & mask(n);
      cf = add ? raw > mask(n) : a < b;
      // overflow: the operands' signs (b's inverted for a subtraction) agree and the result's differs
      of = (add ? sign(a, n) === sign(b, n) : sign(a, n) !== sign(b, n)) && sign(res, n) !== sign(a, n);
    } else raw = op === 'xor' ? a ^ b : op === 'or' ? a | b : a & b;
    this.flags(raw & mask(n), n, cf, of);
    if (op !== 'cmp' && op !== 'test') this.write(dst, n, raw);
  }

  /** Executes the instruction at rip; returns it. */
  step(): Decoded {
    const d = this.decode();
    const { insn, ops } = d;
    const s = this.s;
    const at = s.rip;
    const next = (s.rip + BigInt(insn.len)) & M64;
    s.rip = next;
    const size = (): number => {
      const r = ops.find((o): o is Extract<Operand, { kind: 'reg' }> => o.kind === 'reg');
      const n = r?.size ?? d.suffixSize;
      if (n === undefined) throw new InterpError(`no operand size for ${insn.text}`);
      return n;
    };
    if (insn.kind === 'nop') return d;
    const [src, dst] = ops; // AT&T: source first
    switch (d.mnemonic) {
      case 'mov':
      case 'movabs':
        this.write(dst, size(), this.read(src, size()));
        break;
      case 'add':
      case 'sub':
      case 'cmp':
      case 'xor':
      case 'and':
      case 'or':
      case 'test':
        this.alu(d.mnemonic, dst, src, size());
        break;
      case 'push':
        this.push(this.read(src, 64));
        break;
      case 'pop':
        this.write(src, 64, this.pop());
        break;
      case 'leave':
        s.regs[RSP] = s.regs[RBP];
        s.regs[RBP] = this.pop();
        break;
      case 'ret':
        s.rip = this.pop();
        break;
      case 'call':
        this.push(next);
        s.rip = this.read(src, 64);
        break;
      case 'jmp':
        s.rip = this.read(src, 64);
        break;
      default:
        if (insn.kind === 'jcc') {
          if (this.cond(d.mnemonic.slice(1))) s.rip = insn.target!;
          break;
        }
        throw new InterpError(`cannot execute ${insn.text} [${hexBytes(d.bytes)}] at ${hexAddr(at)}`);
    }
    return d;
  }
}
