/**
 * eBPF instruction encoding (include/uapi/linux/bpf.h, bpf_common.h):
 * opcode fields, the constants the JIT switches on, and the parser of the
 * 8-byte instructions in a fixture's `xlated` dump.
 */
import { le32, leN, read_s16, read_s32 } from './bytes.js';

// classes
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;
// sizes
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;
// modes
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
export const BPF_PROBE_MEM = 0x20;
export const BPF_PROBE_MEMSX = 0x40;
export const BPF_NOSPEC = 0xc0; // with BPF_ST
// sources
export const BPF_K = 0x00;
export const BPF_X = 0x08;
// ALU ops
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;
export const BPF_FROM_LE = 0x00;
export const BPF_FROM_BE = 0x08;
// JMP ops
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
/** The verifier's internal opcode for a tail call (dumped as `call 12`). */
export const BPF_TAIL_CALL = 0xf0;
// atomics (imm of BPF_ATOMIC)
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
// src_reg of ld_imm64 / call
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;
/** Helper id of bpf_tail_call. */
export const BPF_FUNC_tail_call = 12;

export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;

export interface BpfInsn {
  code: number;
  dst_reg: number;
  src_reg: number;
  /** signed 16-bit */
  off: number;
  /** signed 32-bit */
  imm: number;
}

/** Parse little-endian 8-byte BPF instructions. */
export function parseInsns(bytes: Uint8Array): BpfInsn[] {
  if (bytes.length % 8 !== 0) throw new RangeError(`BPF instructions: ${bytes.length} bytes is not a multiple of 8`);
  const out: BpfInsn[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    out.push({
      code: bytes[i],
      dst_reg: bytes[i + 1] & 0x0f,
      src_reg: bytes[i + 1] >> 4,
      off: read_s16(bytes, i + 2),
      imm: read_s32(bytes, i + 4),
    });
  }
  return out;
}

/** Encode instructions back to bytes (used to build programs in tests and caller.ts). */
export function encodeInsns(insns: readonly BpfInsn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  insns.forEach((insn, k) => {
    const i = k * 8;
    out[i] = insn.code;
    out[i + 1] = (insn.dst_reg & 0x0f) | ((insn.src_reg & 0x0f) << 4);
    out.set(leN(insn.off, 2), i + 2);
    out.set(le32(insn.imm), i + 4);
  });
  return out;
}

export const isLdImm64 = (insn: BpfInsn): boolean => insn.code === (BPF_LD | BPF_IMM | BPF_DW);
export const isPseudoCall = (insn: BpfInsn): boolean =>
  insn.code === (BPF_JMP | BPF_CALL) && insn.src_reg === BPF_PSEUDO_CALL;
/** A tail call as the kernel dumps it: `call bpf_tail_call` (or the internal opcode). */
export const isTailCall = (insn: BpfInsn): boolean =>
  insn.code === (BPF_JMP | BPF_TAIL_CALL) ||
  (insn.code === (BPF_JMP | BPF_CALL) && insn.src_reg === 0 && insn.imm === BPF_FUNC_tail_call);
