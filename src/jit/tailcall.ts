/**
 * Prologue and direct tail call of the x86-64 BPF JIT, v5.17–v6.11 layout
 * (kernel 6.1; kernel-poke-facts.md §1.2 "E2 layout" and §1.4 "E2 sequence"),
 * plus the JIT-end fixup that installs targets already in the map (§1.7).
 */
import {
  NOP5,
  X86_PATCH_SIZE,
  emit_add_eax_1,
  emit_add_rsp_imm32,
  emit_cmp_eax_imm8,
  emit_jae_rel8,
  emit_mov_eax_rbp_disp32,
  emit_mov_rbp_disp32_eax,
  emit_nop2,
  emit_nop5,
  emit_patch,
  emit_pop,
  emit_push,
  emit_sub_rsp_imm32,
  hexAddr,
  hexBytes,
} from './x86.js';
import { X86_TAIL_CALL_OFFSET } from './profile.js';

/** The x86 registers of BPF R6–R9, in the kernel's push order. */
export type CalleeReg = 'rbx' | 'r13' | 'r14' | 'r15';
export const CALLEE_REGS_ORDER: readonly CalleeReg[] = ['rbx', 'r13', 'r14', 'r15'];

/** MAX_TAIL_CALL_CNT since v5.17. */
export const MAX_TAIL_CALL_CNT = 33;

/** `struct bpf_jit_poke_descriptor`, as the JIT fills it (addresses as bigint). */
export interface BpfJitPokeDescriptor {
  tailcall_target: bigint;
  tailcall_bypass: bigint;
  bypass_addr: bigint;
  adj_off: number;
  tailcall_target_stable: boolean;
  reason: 'BPF_POKE_REASON_TAIL_CALL';
  tail_call: { map: string; key: number };
  insn_idx: number;
}

/** A descriptor as the verifier creates it, before the JIT fills the addresses. */
export function new_poke_descriptor(map: string, key: number, insn_idx: number): BpfJitPokeDescriptor {
  return {
    tailcall_target: 0n,
    tailcall_bypass: 0n,
    bypass_addr: 0n,
    adj_off: 0,
    tailcall_target_stable: false,
    reason: 'BPF_POKE_REASON_TAIL_CALL',
    tail_call: { map, key },
    insn_idx,
  };
}

export const round_up8 = (n: number): number => Math.ceil(n / 8) * 8;

function checkRegs(regs: readonly CalleeReg[]): CalleeReg[] {
  for (const r of regs) {
    if (!CALLEE_REGS_ORDER.includes(r)) throw new RangeError(`not a callee-saved register: ${String(r)}`);
  }
  return CALLEE_REGS_ORDER.filter((r) => regs.includes(r));
}

function checkDepth(stack_depth: number): void {
  if (!Number.isInteger(stack_depth) || stack_depth < 0 || stack_depth > 512) {
    throw new RangeError(`stack depth out of range 0..512: ${stack_depth}`);
  }
}

/** `push_callee_regs`: rbx, r13, r14, r15 as used, in that order. */
export function push_callee_regs(regs: readonly CalleeReg[]): number[] {
  return checkRegs(regs).flatMap((r) => emit_push(r));
}

/** `pop_callee_regs`: the reverse of push_callee_regs. */
export function pop_callee_regs(regs: readonly CalleeReg[]): number[] {
  return checkRegs(regs)
    .reverse()
    .flatMap((r) => emit_pop(r));
}

/**
 * `emit_prologue` (6.1): nop5; `xor eax,eax` (main program that reaches a
 * tail call) or nop2; push rbp; mov rbp,rsp; [sub rsp, round_up(S,8)];
 * [push rax when tail_call_reachable]. The callee-saved pushes are
 * `push_callee_regs`, emitted after it by do_jit.
 */
export function emit_prologue(
  stack_depth: number,
  ebpf_from_cbpf: boolean,
  tail_call_reachable: boolean,
  is_subprog: boolean,
): number[] {
  checkDepth(stack_depth);
  const b = emit_nop5();
  if (!ebpf_from_cbpf) {
    if (tail_call_reachable && !is_subprog) b.push(0x31, 0xc0);
    else b.push(...emit_nop2());
  }
  b.push(0x55, 0x48, 0x89, 0xe5);
  if (stack_depth) b.push(...emit_sub_rsp_imm32(round_up8(stack_depth)));
  if (tail_call_reachable) b.push(...emit_push('rax'));
  return b;
}

/** Byte offsets inside one emitted direct tail-call sequence. */
export interface TailCallLayout {
  bypass: number;
  target: number;
  out: number;
}

/**
 * `emit_bpf_tail_call_direct` (6.1) for the BPF instruction whose code starts
 * at `ip`. Fills the descriptor's addresses and returns the bytes in state C
 * (bypass = `jmp out`, target = nop5):
 *
 *   mov eax,[rbp-4-round_up(S,8)]; cmp eax,33; jae out; add eax,1;
 *   mov [rbp-4-round_up(S,8)],eax; bypass: jmp out; pop callee regs;
 *   pop rax; [add rsp,round_up(S,8)]; target: nop5; out:
 */
export function emit_bpf_tail_call_direct(
  poke: BpfJitPokeDescriptor,
  ip: bigint,
  callee_regs_used: readonly CalleeReg[],
  stack_depth: number,
): number[] {
  checkDepth(stack_depth);
  const tcc_off = -4 - round_up8(stack_depth);
  const tail = [...pop_callee_regs(callee_regs_used), ...emit_pop('rax')];
  if (stack_depth) tail.push(...emit_add_rsp_imm32(round_up8(stack_depth)));
  const head = [...emit_mov_eax_rbp_disp32(tcc_off), ...emit_cmp_eax_imm8(MAX_TAIL_CALL_CNT)];
  const afterJae = [...emit_add_eax_1(), ...emit_mov_rbp_disp32_eax(tcc_off)];
  // out label, relative to the start of the sequence
  const bypassOff = head.length + 2 + afterJae.length;
  const targetOff = bypassOff + X86_PATCH_SIZE + tail.length;
  const out = targetOff + X86_PATCH_SIZE;

  poke.tailcall_bypass = ip + BigInt(bypassOff);
  poke.adj_off = X86_TAIL_CALL_OFFSET('6.1');
  poke.tailcall_target = ip + BigInt(out - X86_PATCH_SIZE);
  poke.bypass_addr = poke.tailcall_target + BigInt(X86_PATCH_SIZE);

  const jmpOut = emit_patch(poke.tailcall_bypass, poke.bypass_addr, 0xe9);
  if (jmpOut === undefined) throw new RangeError('bypass jump out of range');
  return [...head, ...emit_jae_rel8(out - (head.length + 2)), ...afterJae, ...jmpOut, ...tail, ...emit_nop5()];
}

/** Offsets of the two poke sites in a sequence emitted at `ip` for `poke`. */
export function tail_call_layout(poke: BpfJitPokeDescriptor, ip: bigint): TailCallLayout {
  return {
    bypass: Number(poke.tailcall_bypass - ip),
    target: Number(poke.tailcall_target - ip),
    out: Number(poke.bypass_addr - ip),
  };
}

/** Overwrite 5 bytes at `addr` of an image based at `base`, after checking the old bytes. */
function poke5(image: Uint8Array, base: bigint, addr: bigint, expect: readonly number[], insn: readonly number[]): void {
  const off = Number(addr - base);
  if (off < 0 || off + X86_PATCH_SIZE > image.length) throw new RangeError(`poke site ${hexAddr(addr)} outside the image`);
  const old = Array.from(image.subarray(off, off + X86_PATCH_SIZE));
  if (hexBytes(old) !== hexBytes(expect)) {
    throw new Error(`poke site ${hexAddr(addr)} holds ${hexBytes(old)}, expected ${hexBytes(expect)}`);
  }
  image.set(insn, off);
}

/**
 * `bpf_tail_call_direct_fixup`: at the end of the JIT, for each descriptor
 * whose slot already holds a program (`lookup` returns its bpf_func), move
 * the sites from state C to D to B (target first, then bypass), then mark
 * the descriptor stable. `image` (based at `base`) is modified in place.
 */
export function bpf_tail_call_direct_fixup(
  image: Uint8Array,
  base: bigint,
  pokes: BpfJitPokeDescriptor[],
  lookup: (map: string, key: number) => bigint | undefined,
): void {
  for (const poke of pokes) {
    if (poke.tailcall_target_stable) throw new Error('tail call descriptor already stable before the JIT-end fixup');
    const bpf_func = lookup(poke.tail_call.map, poke.tail_call.key);
    if (bpf_func !== undefined) {
      const jmp = emit_patch(poke.tailcall_target, bpf_func + BigInt(poke.adj_off), 0xe9);
      if (jmp === undefined) throw new RangeError(`tail call target ${hexAddr(bpf_func)} out of rel32 range`);
      poke5(image, base, poke.tailcall_target, NOP5, jmp);
      const jmpOut = emit_patch(poke.tailcall_bypass, poke.bypass_addr, 0xe9);
      poke5(image, base, poke.tailcall_bypass, jmpOut ?? [], NOP5);
    }
    poke.tailcall_target_stable = true;
  }
}
