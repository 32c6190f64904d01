/**
 * x86-64 instruction encoders used by the BPF JIT around tail calls, and
 * `emit_patch` (the 5-byte `call`/`jmp rel32` of arch/x86/net/bpf_jit_comp.c).
 *
 * Every encoder returns a fresh `number[]` of bytes. Operands outside the
 * encodable range throw a RangeError (one line naming the value), never wrap.
 * Byte values are from kernel-poke-facts.md §1.1, §1.2, §1.4.
 */

/** Bytes of one patchable `call`/`jmp rel32` or nop5. */
export const X86_PATCH_SIZE = 5;
/** `x86_nops[5]`: nopl 0x0(%rax,%rax,1). The only 5-byte nop the kernel pokes. */
export const NOP5: readonly number[] = Object.freeze([0x0f, 0x1f, 0x44, 0x00, 0x00]);
/** nop2 (`xchg %ax,%ax`), used in the prologue where there is no `xor eax,eax`. */
export const NOP2: readonly number[] = Object.freeze([0x66, 0x90]);
/** nop3 (`nopl (%rax)`). */
export const NOP3: readonly number[] = Object.freeze([0x0f, 0x1f, 0x00]);
export const INT3 = 0xcc;
/** ENDBR64, the IBT landing pad. */
export const ENDBR64: readonly number[] = Object.freeze([0xf3, 0x0f, 0x1e, 0xfa]);

export const X86_JAE = 0x73;
export const X86_JMP_REL32 = 0xe9;
export const X86_CALL_REL32 = 0xe8;

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

/** Little-endian bytes of a signed 32-bit value. */
export function le32(v: number): number[] {
  check(Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff, 'imm32', v);
  const u = v >>> 0;
  return [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, (u >>> 24) & 0xff];
}

/** Little-endian bytes of a 64-bit value (taken modulo 2^64). */
export function le64(v: bigint): number[] {
  const u = BigInt.asUintN(64, v);
  const out: number[] = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((u >> (8n * i)) & 0xffn));
  return out;
}

function imm8(v: number): number {
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

/** `jae rel8` (73 ib). */
export function emit_jae_rel8(rel8: number): number[] {
  return [X86_JAE, imm8(rel8)];
}

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

/** Hex pairs separated by spaces: `0f 1f 44 00 00`. */
export function hexBytes(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Lower-case `0x`-prefixed 64-bit hex address, as objdump prints targets. */
export function hexAddr(a: bigint): string {
  return '0x' + BigInt.asUintN(64, a).toString(16);
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
