/**
 * The A64 instruction words that arm64 pokes into live BPF text
 * (arch/arm64/kernel/insn.c, arch/arm64/net/bpf_jit_comp.c;
 * docs/kernel-facts.md section 5): `nop`, `b`, `bl`, and the rest of the
 * `aarch64_insn_hotpatch_safe` list, encoded and decoded.
 *
 * A64 instructions are always 4 bytes, 4-byte aligned and little-endian
 * (`b .+0x1000` is 0x14000400, bytes `00 04 00 14`). Branch offsets are in
 * words: imm26 = (target - pc) >> 2, reaching [-128 MiB, +128 MiB).
 * Decoding prints llvm-objdump style (`nop`, `b      0x...` with the
 * absolute target) and anything outside this small repertoire as
 * `.inst 0x........`, which is what a torn word usually is.
 */
import { hexAddr, le32, read_u32 } from '../bytes.js';

export const AARCH64_INSN_SIZE = 4;
/** `aarch64_insn_gen_nop()`: hint #0. */
export const AARCH64_NOP = 0xd503201f;
export const AARCH64_BTI_C = 0xd503245f;
export const AARCH64_BTI_J = 0xd503249f;
export const AARCH64_PACIASP = 0xd503233f;
const B_OPCODE = 0x14000000;
const BL_OPCODE = 0x94000000;
const BRANCH_MASK = 0xfc000000;
const SZ_128M = 128n * 1024n * 1024n;

export type Aarch64BranchType = 'AARCH64_INSN_BRANCH_NOLINK' | 'AARCH64_INSN_BRANCH_LINK';

/**
 * `aarch64_insn_gen_branch_imm(pc, addr, type)`: `b`/`bl` from `pc` to
 * `addr`, or null where the kernel returns AARCH64_BREAK_FAULT (target not
 * word-aligned, or out of the +-128 MiB range).
 */
export function aarch64_insn_gen_branch_imm(pc: bigint, addr: bigint, type: Aarch64BranchType): number | null {
  if ((pc & 3n) !== 0n || (addr & 3n) !== 0n) return null;
  const offset = BigInt.asIntN(64, addr - pc);
  if (offset < -SZ_128M || offset >= SZ_128M) return null;
  const imm26 = Number((offset >> 2n) & 0x3ffffffn);
  return ((type === 'AARCH64_INSN_BRANCH_LINK' ? BL_OPCODE : B_OPCODE) | imm26) >>> 0;
}

export const aarch64_insn_is_nop = (insn: number): boolean => insn >>> 0 === AARCH64_NOP;
export const aarch64_insn_is_b = (insn: number): boolean => ((insn & BRANCH_MASK) >>> 0) === B_OPCODE;
export const aarch64_insn_is_bl = (insn: number): boolean => ((insn & BRANCH_MASK) >>> 0) === BL_OPCODE;
/** svc/hvc/smc: 0xd4000001/2/3 with imm16 in bits 5..20; brk: 0xd4200000. */
const exceptionGen = (insn: number, base: number): boolean => ((insn & 0xffe0001f) >>> 0) === base;
export const aarch64_insn_is_svc = (insn: number): boolean => exceptionGen(insn, 0xd4000001);
export const aarch64_insn_is_hvc = (insn: number): boolean => exceptionGen(insn, 0xd4000002);
export const aarch64_insn_is_smc = (insn: number): boolean => exceptionGen(insn, 0xd4000003);
export const aarch64_insn_is_brk = (insn: number): boolean => exceptionGen(insn, 0xd4200000);

/**
 * `aarch64_insn_hotpatch_safe` (older arch/arm64/kernel/insn.c): the
 * instructions for which ARMv8 ARM B2.6.5 promises that a CPU executing the
 * word while another CPU overwrites it sees either the old or the new one.
 */
export function aarch64_insn_hotpatch_safe(insn: number): boolean {
  return (
    aarch64_insn_is_b(insn) ||
    aarch64_insn_is_bl(insn) ||
    aarch64_insn_is_svc(insn) ||
    aarch64_insn_is_hvc(insn) ||
    aarch64_insn_is_smc(insn) ||
    aarch64_insn_is_brk(insn) ||
    aarch64_insn_is_nop(insn)
  );
}

/** The branch target of a `b`/`bl` word at `pc`. */
export function aarch64_get_branch_target(insn: number, pc: bigint): bigint {
  const imm26 = insn & 0x3ffffff;
  const words = imm26 & 0x2000000 ? imm26 - 0x4000000 : imm26;
  return BigInt.asUintN(64, pc + BigInt(words) * 4n);
}

export interface A64Insn {
  word: number;
  kind: 'nop' | 'b' | 'bl' | 'brk' | 'hint' | 'other';
  target?: bigint;
  text: string;
}

const pad = (mn: string, op: string): string => `${mn.padEnd(6)} ${op}`;
const HINTS: Record<number, string> = { [AARCH64_BTI_C]: 'bti    c', [AARCH64_BTI_J]: 'bti    j', [AARCH64_PACIASP]: 'paciasp' };

/** Decodes one A64 word located at `pc`. */
export function decodeA64(word: number, pc: bigint): A64Insn {
  const w = word >>> 0;
  if (aarch64_insn_is_nop(w)) return { word: w, kind: 'nop', text: 'nop' };
  if (aarch64_insn_is_b(w) || aarch64_insn_is_bl(w)) {
    const target = aarch64_get_branch_target(w, pc);
    const mn = aarch64_insn_is_b(w) ? 'b' : 'bl';
    return { word: w, kind: mn, target, text: pad(mn, hexAddr(target)) };
  }
  if (aarch64_insn_is_brk(w)) return { word: w, kind: 'brk', text: pad('brk', `#0x${((w >>> 5) & 0xffff).toString(16)}`) };
  if (HINTS[w] !== undefined) return { word: w, kind: 'hint', text: HINTS[w] };
  return { word: w, kind: 'other', text: `.inst  0x${w.toString(16).padStart(8, '0')}` };
}

/** Little-endian bytes of an A64 word (`cpu_to_le32`). */
export function a64Bytes(word: number): number[] {
  return le32(word >>> 0);
}

/** The A64 word in 4 little-endian bytes (`le32_to_cpu`). */
export function a64Word(bytes: ArrayLike<number>): number {
  if (bytes.length !== AARCH64_INSN_SIZE) throw new RangeError(`an A64 instruction is 4 bytes, got ${bytes.length}`);
  return read_u32(bytes, 0);
}
