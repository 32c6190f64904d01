/**
 * x86-64 instruction encoders used by the BPF JIT around tail calls, and
 * `emit_patch` (the 5-byte `call`/`jmp rel32` of arch/x86/net/bpf_jit_comp.c).
 *
 * Every encoder returns a fresh `number[]` of bytes. Operands outside the
 * encodable range throw a RangeError (one line naming the value), never wrap.
 * Byte values are from docs/kernel-facts.md §1.1, §1.2, §1.4, §1.5.
 *
 * Names follow the instruction in Intel syntax: `emit_mov_rax_rbp_disp32`
 * is `mov rax, qword [rbp + disp32]`. Registers that are operands of a
 * family of encoders are given as x86 names (`'rax' | 'rcx'`), never as BPF
 * register numbers (those are emit.ts's business).
 */
import { hexAddr, le32 } from '../bytes.js';

export { hexAddr, hexBytes, le32, le64 } from '../bytes.js';

/** Bytes of one patchable `call`/`jmp rel32` or nop5. */
export const X86_PATCH_SIZE = 5;
/**
 * `x86_nops[5]`: nopl 0x0(%rax,%rax,1). The 5-byte nop the kernel pokes since v5.15
 * (a89dfde3dc3c "x86: Remove dynamic NOP selection"); before that it is
 * `ideal_nops[NOP_ATOMIC5]`, P6_NOP5_ATOMIC on most CPUs (the same bytes).
 */
export const NOP5: readonly number[] = Object.freeze([0x0f, 0x1f, 0x44, 0x00, 0x00]);
/** K8_NOP5_ATOMIC (`66 66 66 66 90`): `ideal_nops[NOP_ATOMIC5]` before v5.15 on CPUs given `k8_nops` (src/jit/x86/ideal_nops.ts). */
export const K8_NOP5_ATOMIC: readonly number[] = Object.freeze([0x66, 0x66, 0x66, 0x66, 0x90]);
/** nop2 (`xchg %ax,%ax`), used in the prologue where there is no `xor eax,eax`. */
export const NOP2: readonly number[] = Object.freeze([0x66, 0x90]);
/** nop3 (`nopl (%rax)`). */
export const NOP3: readonly number[] = Object.freeze([0x0f, 0x1f, 0x00]);
export const INT3 = 0xcc;
/** ENDBR64, the IBT landing pad. */
export const ENDBR64: readonly number[] = Object.freeze([0xf3, 0x0f, 0x1e, 0xfa]);

/** Short conditional jumps (`jcc rel8`); the rel32 form is 0f (op + 0x10). */
export const X86_JB = 0x72;
export const X86_JAE = 0x73;
export const X86_JE = 0x74;
export const X86_JNE = 0x75;
export const X86_JBE = 0x76;
export const X86_JA = 0x77;
export const X86_JL = 0x7c;
export const X86_JGE = 0x7d;
export const X86_JLE = 0x7e;
export const X86_JG = 0x7f;
export const X86_JMP_REL32 = 0xe9;
export const X86_CALL_REL32 = 0xe8;

/** `is_imm8` of bpf_jit_comp.c: fits a sign-extended 8-bit immediate or displacement. */
export function is_imm8(v: number): boolean {
  return Number.isInteger(v) && v >= -128 && v <= 127;
}

export function is_simm32(v: number | bigint): boolean {
  const b = BigInt(v);
  return b >= -0x80000000n && b <= 0x7fffffffn;
}

function check(ok: boolean, what: string, v: number | bigint): void {
  if (!ok) throw new RangeError(`${what} out of range: ${v}`);
}

/** The byte of a sign-extended 8-bit immediate, displacement or rel8; RangeError when it does not fit. */
export function imm8(v: number): number {
  check(is_imm8(v), 'imm8', v);
  return v & 0xff;
}

export const emit_nop5 = (): number[] => [...NOP5];
export const emit_nop2 = (): number[] => [...NOP2];
export const emit_int3 = (): number[] => [INT3];
export const emit_leave = (): number[] => [0xc9];
export const emit_ret = (): number[] => [0xc3];

/** `jmp rel32` (e9), rel32 relative to the end of the instruction. */
export function emit_jmp_rel32(rel32: number): number[] {
  return [X86_JMP_REL32, ...le32(checkRel32(rel32))];
}

/** `call rel32` (e8). */
export function emit_call_rel32(rel32: number): number[] {
  return [X86_CALL_REL32, ...le32(checkRel32(rel32))];
}

function checkRel32(v: number): number {
  check(Number.isInteger(v) && is_simm32(v), 'rel32', v);
  return v;
}

/** `jcc rel8` (op ib), op one of the X86_J* above. */
export function emit_jcc_rel8(op: number, rel8: number): number[] {
  if (op < 0x70 || op > 0x7f) throw new RangeError(`not a short jcc opcode: 0x${op.toString(16)}`);
  return [op, imm8(rel8)];
}

/** `jae rel8` (73 ib). */
export const emit_jae_rel8 = (rel8: number): number[] => emit_jcc_rel8(X86_JAE, rel8);

/** The registers the tail-call code pushes and pops. */
export type PushReg = 'rax' | 'rbx' | 'rbp' | 'r12' | 'r13' | 'r14' | 'r15';

const PUSH_POP: Record<PushReg, [rex: number | null, low: number]> = {
  rax: [null, 0],
  rbx: [null, 3],
  rbp: [null, 5],
  r12: [0x41, 4],
  r13: [0x41, 5],
  r14: [0x41, 6],
  r15: [0x41, 7],
};

function pushPop(base: number, reg: PushReg): number[] {
  const e = PUSH_POP[reg];
  if (e === undefined) throw new RangeError(`not a push/pop register: ${String(reg)}`);
  const [rex, low] = e;
  return rex === null ? [base + low] : [rex, base + low];
}

export const emit_push = (reg: PushReg): number[] => pushPop(0x50, reg);
export const emit_pop = (reg: PushReg): number[] => pushPop(0x58, reg);

/** `add rsp, imm32` (48 81 c4 id): always the imm32 form, as the JIT emits it. */
export const emit_add_rsp_imm32 = (imm: number): number[] => [0x48, 0x81, 0xc4, ...le32(imm)];
/** `sub rsp, imm32` (48 81 ec id). */
export const emit_sub_rsp_imm32 = (imm: number): number[] => [0x48, 0x81, 0xec, ...le32(imm)];
/** `mov eax, dword [rbp + disp32]` (8b 85 id). */
export const emit_mov_eax_rbp_disp32 = (disp: number): number[] => [0x8b, 0x85, ...le32(disp)];
/** `mov dword [rbp + disp32], eax` (89 85 id). */
export const emit_mov_rbp_disp32_eax = (disp: number): number[] => [0x89, 0x85, ...le32(disp)];
/** `cmp eax, imm8` (83 f8 ib). */
export const emit_cmp_eax_imm8 = (imm: number): number[] => [0x83, 0xf8, imm8(imm)];
/** `add eax, 1` (83 c0 01). */
export const emit_add_eax_1 = (): number[] => [0x83, 0xc0, 0x01];

/** `mov rbp, rsp` (48 89 e5): the frame. */
export const emit_mov_rbp_rsp = (): number[] => [0x48, 0x89, 0xe5];
/** `mov rax, rsp` (48 89 e0): v6.12+, rax := the address of the counter just pushed. */
export const emit_mov_rax_rsp = (): number[] => [0x48, 0x89, 0xe0];
/** `xor eax, eax` (31 c0): v5.10-6.11's counter := 0. */
export const emit_xor_eax_eax = (): number[] => [0x31, 0xc0];
/** `xor rax, rax` (48 31 c0): v6.12+'s counter := 0. */
export const emit_xor_rax_rax = (): number[] => [0x48, 0x31, 0xc0];
/** `push imm8` (6a ib), sign-extended: v5.5's `push $0` counter slot. */
export const emit_push_imm8 = (imm: number): number[] => [0x6a, imm8(imm)];
/** `jmp rel8` (eb ib). */
export const emit_jmp_rel8 = (rel8: number): number[] => [0xeb, imm8(rel8)];

/** `mov rax, qword [rbp + disp32]` (48 8b 85 id): the v6.12+ tail_call_cnt_ptr load. */
export const emit_mov_rax_rbp_disp32 = (disp: number): number[] => [0x48, 0x8b, 0x85, ...le32(disp)];
/** `cmp qword [rax], imm8` (48 83 38 ib): the v6.12+ counter check through the pointer. */
export const emit_cmp_qword_rax_imm8 = (imm: number): number[] => [0x48, 0x83, 0x38, imm8(imm)];
/** `add qword [rax], 1` (48 83 00 01): the v6.12+ increment through the pointer. */
export const emit_add_qword_rax_1 = (): number[] => [0x48, 0x83, 0x00, 0x01];
/** `cmp rax, imm8` (48 83 f8 ib): the v6.12+ prologue's count-or-pointer test. */
export const emit_cmp_rax_imm8 = (imm: number): number[] => [0x48, 0x83, 0xf8, imm8(imm)];

/** The 64-bit registers the indirect tail call loads the target into: rax (v5.5) or rcx. */
export type TargetReg = 'rax' | 'rcx';
const LOW3: Record<TargetReg, number> = { rax: 0, rcx: 1 };
function low3(reg: TargetReg): number {
  const r = LOW3[reg];
  if (r === undefined) throw new RangeError(`not a tail-call target register: ${String(reg)}`);
  return r;
}

/** `mov edx, edx` (89 d2): zero-extends the index. */
export const emit_mov_edx_edx = (): number[] => [0x89, 0xd2];
/** `cmp dword [rsi + disp8], edx` (39 56 ib): the index against `array->map.max_entries`. */
export const emit_cmp_rsi_disp8_edx = (disp: number): number[] => [0x39, 0x56, imm8(disp)];
/** `cmp edx, dword [rsi + disp8]` (3b 56 ib). */
export const emit_cmp_edx_rsi_disp8 = (disp: number): number[] => [0x3b, 0x56, imm8(disp)];
/** `cmp edx, imm32` (81 fa id). */
export const emit_cmp_edx_imm32 = (imm: number): number[] => [0x81, 0xfa, ...le32(imm)];
/** `mov reg, qword [rsi + rdx*8 + disp32]` (48 8b 84|8c d6 id): `array->ptrs[index]`. */
export const emit_mov_reg_rsi_rdx8_disp32 = (reg: TargetReg, disp: number): number[] => [0x48, 0x8b, 0x84 | (low3(reg) << 3), 0xd6, ...le32(disp)];
/** `test reg, reg` (48 85 c0|c9). */
export const emit_test_reg = (reg: TargetReg): number[] => [0x48, 0x85, 0xc0 | (low3(reg) * 9)];
/** `mov reg, qword [reg + disp8]` (48 8b 40|49 ib): `prog->bpf_func`. */
export const emit_mov_reg_reg_disp8 = (reg: TargetReg, disp: number): number[] => [0x48, 0x8b, 0x40 | (low3(reg) * 9), imm8(disp)];
/** `add reg, imm8` (48 83 c0|c1 ib): + X86_TAIL_CALL_OFFSET. */
export const emit_add_reg_imm8 = (reg: TargetReg, imm: number): number[] => [0x48, 0x83, 0xc0 | low3(reg), imm8(imm)];
/** `jmp *reg` (ff e0|e1). */
export const emit_jmp_reg = (reg: TargetReg): number[] => [0xff, 0xe0 | low3(reg)];
/** `lfence` (0f ae e8). */
export const emit_lfence = (): number[] => [0x0f, 0xae, 0xe8];

/**
 * The kernel's `emit_patch`: a 5-byte `opcode rel32` at `ip` reaching
 * `target`. `undefined` when rel32 does not fit a signed 32-bit integer
 * (the kernel returns -ERANGE).
 */
export function emit_patch(ip: bigint, target: bigint, opcode: 0xe8 | 0xe9): number[] | undefined {
  // pointer arithmetic on 64-bit addresses, as the kernel's s64 offset
  const rel = BigInt.asIntN(64, target - (ip + BigInt(X86_PATCH_SIZE)));
  if (!is_simm32(rel)) return undefined;
  return [opcode, ...le32(Number(rel))];
}

/** `emit_jump`: `jmp rel32` at `ip` to `target`; RangeError when out of rel32 range (the kernel's -ERANGE). */
export function emit_jump(ip: bigint, target: bigint): number[] {
  const b = emit_patch(ip, target, X86_JMP_REL32);
  if (b === undefined) throw new RangeError(`jump from ${hexAddr(ip)} to ${hexAddr(target)} is out of rel32 range`);
  return b;
}

/** `emit_call`: `call rel32` at `ip` to `target`; RangeError when out of range. */
export function emit_call(ip: bigint, target: bigint): number[] {
  const b = emit_patch(ip, target, X86_CALL_REL32);
  if (b === undefined) throw new RangeError(`call from ${hexAddr(ip)} to ${hexAddr(target)} is out of rel32 range`);
  return b;
}
