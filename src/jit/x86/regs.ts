/**
 * BPF register numbers and their x86-64 mapping (docs/kernel-facts.md §1.2):
 * R0 rax, R1 rdi, R2 rsi, R3 rdx, R4 rcx, R5 r8, R6 rbx, R7 r13, R8 r14,
 * R9 r15, FP rbp, AX r10; the JIT's own temporaries r11 (AUX_REG) and r9.
 * Helpers in the style of the kernel's add_1mod/add_2mod/add_1reg/add_2reg.
 */

export const BPF_REG_0 = 0;
export const BPF_REG_1 = 1;
export const BPF_REG_2 = 2;
export const BPF_REG_3 = 3;
export const BPF_REG_4 = 4;
export const BPF_REG_5 = 5;
export const BPF_REG_6 = 6;
export const BPF_REG_7 = 7;
export const BPF_REG_8 = 8;
export const BPF_REG_9 = 9;
export const BPF_REG_FP = 10;
export const BPF_REG_AX = 11;
export const AUX_REG = 12;
export const X86_REG_R9 = 13;

/** Low three bits of the x86 register number of each BPF register. */
const REG2HEX = [0, 7, 6, 2, 1, 0, 3, 5, 6, 7, 5, 2, 3, 1];
/** Registers that are r8..r15 on x86 (need a REX bit). */
const EREGS = new Set([BPF_REG_5, BPF_REG_7, BPF_REG_8, BPF_REG_9, BPF_REG_AX, AUX_REG, X86_REG_R9]);

function check(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= REG2HEX.length) throw new RangeError(`not a JIT register: ${r}`);
  return r;
}

export const reg2hex = (r: number): number => REG2HEX[check(r)];
export const is_ereg = (r: number): boolean => EREGS.has(check(r));
/** Registers whose low byte needs a REX prefix (sil, dil, bpl) or is an extended one. */
export const is_ereg_8l = (r: number): boolean => is_ereg(r) || r === BPF_REG_1 || r === BPF_REG_2 || r === BPF_REG_FP;
export const is_axreg = (r: number): boolean => r === BPF_REG_0;
/** x86 register number 0..15 of a BPF register. */
export const x86reg = (r: number): number => reg2hex(r) + (is_ereg(r) ? 8 : 0);

export const add_1mod = (byte: number, r: number): number => (is_ereg(r) ? byte | 1 : byte);
export const add_2mod = (byte: number, r1: number, r2: number): number =>
  byte | (is_ereg(r1) ? 1 : 0) | (is_ereg(r2) ? 4 : 0);
export const add_1reg = (byte: number, dst: number): number => byte + reg2hex(dst);
export const add_2reg = (byte: number, dst: number, src: number): number => byte + reg2hex(dst) + (reg2hex(src) << 3);

/** The x86 registers of BPF R6–R9, in the kernel's push order. */
export type CalleeReg = 'rbx' | 'r13' | 'r14' | 'r15';
export const CALLEE_REGS_ORDER: readonly CalleeReg[] = ['rbx', 'r13', 'r14', 'r15'];
/** BPF register of each callee-saved x86 register. */
export const BPF_OF_CALLEE: Record<CalleeReg, number> = { rbx: BPF_REG_6, r13: BPF_REG_7, r14: BPF_REG_8, r15: BPF_REG_9 };

export const round_up8 = (n: number): number => Math.ceil(n / 8) * 8;
