/**
 * Tail calls of the x86-64 BPF JIT (docs/kernel-facts.md §1.4, §1.5, §1.7):
 * `emit_bpf_tail_call_direct` (a patchable site per constant-key call),
 * `emit_bpf_tail_call_indirect`, `emit_indirect_jump`, and the JIT-end
 * `bpf_tail_call_direct_fixup`, for the layouts v5.5 (profile 5.5),
 * v5.10-6.11 (profile 6.1, the default) and v6.12+ (profile 6.12). Each
 * instruction goes through a named encoder of x86.ts, in the kernel's order
 * (arch/x86/net/bpf_jit_comp.c). `ip` is always the address of the BPF
 * instruction's first byte of code.
 */
import { nop5Of } from './config.js';
import { type JitEnv, layoutOf, makeEnv, reloc, symbol } from './env.js';
import { checkDepth, pop_callee_regs } from './prologue.js';
import { type CalleeReg, round_up8 } from './regs.js';
import { hexAddr, hexBytes } from '../bytes.js';
import {
  NOP5, X86_JA, X86_JAE, X86_JBE, X86_JE, X86_JMP_REL32, X86_PATCH_SIZE, type TargetReg, emit_add_eax_1, emit_add_qword_rax_1,
  emit_add_reg_imm8, emit_add_rsp_imm32, emit_cmp_eax_imm8, emit_cmp_qword_rax_imm8, emit_cmp_rsi_disp8_edx, emit_int3,
  emit_jcc_rel8, emit_jmp_reg, emit_jump, emit_lfence, emit_mov_eax_rbp_disp32, emit_mov_edx_edx, emit_mov_rax_rbp_disp32,
  emit_mov_rbp_disp32_eax, emit_mov_reg_reg_disp8, emit_mov_reg_rsi_rdx8_disp32, emit_patch, emit_pop, emit_test_reg, imm8,
} from './x86.js';

export { type CalleeReg, CALLEE_REGS_ORDER, round_up8 } from './regs.js';
export { emit_prologue, pop_callee_regs, push_callee_regs } from './prologue.js';

/** MAX_TAIL_CALL_CNT since v5.17 (32 before; see Profile.max_tail_call_cnt). */
export const MAX_TAIL_CALL_CNT = 33;

/**
 * `struct bpf_jit_poke_descriptor`, as the JIT fills it (addresses as bigint).
 * v5.5 has a single site: `tailcall_target` is its `poke->ip`,
 * `tailcall_bypass` is 0n (none) and `bypass_addr` the instruction after it.
 */
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

/** v5.5's counter: the dword at rbp - 36 - MAX_BPF_STACK. */
const V5_5_TCC_OFF = -36 - 512;
/** `RETPOLINE_RAX_BPF_JIT` (v5.5): call do_rop; pause; lfence; jmp .-7; mov %rax,(%rsp); ret. */
const RETPOLINE_RAX = [0xe8, 0x07, 0x00, 0x00, 0x00, 0xf3, 0x90, 0x0f, 0xae, 0xe8, 0xeb, 0xf9, 0x48, 0x89, 0x04, 0x24, 0xc3];
/** `RETPOLINE_RCX_BPF_JIT` (v5.10 to v5.16, asm/nospec-branch.h): the same through rcx, `mov %rcx,(%rsp)`. */
const RETPOLINE_RCX = [0xe8, 0x07, 0x00, 0x00, 0x00, 0xf3, 0x90, 0x0f, 0xae, 0xe8, 0xeb, 0xf9, 0x48, 0x89, 0x0c, 0x24, 0xc3];

/** The counter's dword for v5.5 and v5.10-6.11 (`tcc_off`): rbp - 4 - round_up(S, 8) since v5.10. */
const tcc_off = (stack_depth: number, env: JitEnv): number =>
  env.cfg.profile.layout === 'v5.5' ? V5_5_TCC_OFF : -4 - round_up8(stack_depth);
/** v6.12+: where the tail_call_cnt_ptr slot is (`BPF_TAIL_CALL_CNT_PTR_STACK_OFF`). */
export const tcc_ptr_off = (stack_depth: number): number => -16 - round_up8(stack_depth);

/**
 * The pops before leaving the frame: callee-saved regs, the counter slot
 * (v6.12+: the tail_call_cnt_ptr slot, then the counter's), the stack.
 */
function unwind(regs: readonly CalleeReg[], stack_depth: number, env: JitEnv): number[] {
  const b = [...pop_callee_regs(regs), ...emit_pop('rax')];
  if (env.cfg.profile.layout === 'v6.12+') b.push(...emit_pop('rax'));
  if (stack_depth) b.push(...emit_add_rsp_imm32(round_up8(stack_depth)));
  return b;
}

/** The counter check up to (not including) the conditional jump to out. */
function counter_check(stack_depth: number, env: JitEnv): number[] {
  const p = env.cfg.profile;
  if (p.layout === 'v6.12+') return [...emit_mov_rax_rbp_disp32(tcc_ptr_off(stack_depth)), ...emit_cmp_qword_rax_imm8(p.max_tail_call_cnt)];
  return [...emit_mov_eax_rbp_disp32(tcc_off(stack_depth, env)), ...emit_cmp_eax_imm8(p.max_tail_call_cnt)];
}

/** v5.5 and v5.10-6.11 count before jumping on: add eax, 1; mov [rbp + tcc_off], eax. */
const counter_inc = (stack_depth: number, env: JitEnv): number[] => [...emit_add_eax_1(), ...emit_mov_rbp_disp32_eax(tcc_off(stack_depth, env))];

/** `jcc` over the limit: `ja` with MAX 32 (v5.5 to v5.16), `jae` since MAX 33 (ebf7f6f0a6cd, v5.17). */
const limit_jcc = (env: JitEnv): number => (env.cfg.profile.max_tail_call_cnt === 32 ? X86_JA : X86_JAE);

/**
 * `emit_bpf_tail_call_direct` for the BPF instruction whose code starts at
 * `ip`. Fills the descriptor's addresses and returns the bytes in state C
 * (bypass = `jmp out`, target = nop5; v5.5: the single target = nop5).
 */
export function emit_bpf_tail_call_direct(
  poke: BpfJitPokeDescriptor,
  ip: bigint,
  callee_regs_used: readonly CalleeReg[],
  stack_depth: number,
  env: JitEnv = makeEnv(),
): number[] {
  checkDepth(stack_depth);
  const p = env.cfg.profile;
  const v6_12 = p.layout === 'v6.12+';
  // if (tail_call_cnt++ >= MAX_TAIL_CALL_CNT) goto out; (v6.12+: counted only past the bypass)
  const check = counter_check(stack_depth, env);
  const jcc_end = check.length + 2;
  const count_before = v6_12 ? [] : counter_inc(stack_depth, env);
  if (p.layout === 'v5.5') {
    // one site, `poke->ip`: the callee reuses the whole frame, nothing to unwind
    const target = jcc_end + count_before.length;
    const out = target + X86_PATCH_SIZE;
    poke.tailcall_target = ip + BigInt(target);
    poke.tailcall_bypass = 0n;
    poke.bypass_addr = poke.tailcall_target + BigInt(X86_PATCH_SIZE);
    poke.adj_off = p.tail_call_offset;
    return [...check, ...emit_jcc_rel8(limit_jcc(env), out - jcc_end), ...count_before, ...nop5Of(env.cfg)];
  }
  const count_after = v6_12 ? emit_add_qword_rax_1() : [];
  const tail = [...count_after, ...unwind(callee_regs_used, stack_depth, env)];
  const bypass = jcc_end + count_before.length;
  const out = bypass + X86_PATCH_SIZE + tail.length + X86_PATCH_SIZE;

  poke.tailcall_bypass = ip + BigInt(bypass);
  poke.adj_off = p.tail_call_offset;
  poke.tailcall_target = ip + BigInt(out - X86_PATCH_SIZE);
  poke.bypass_addr = poke.tailcall_target + BigInt(X86_PATCH_SIZE);

  return [
    ...check,
    ...emit_jcc_rel8(limit_jcc(env), out - jcc_end), // jae out
    ...count_before, // v5.10-6.11: add eax, 1; mov [rbp + tcc_off], eax
    ...emit_jump(poke.tailcall_bypass, poke.bypass_addr), // tailcall_bypass: jmp out
    ...tail, // v6.12+: add qword [rax], 1; then pop callee-saved, pop rax, [add rsp, S]
    ...nop5Of(env.cfg), // tailcall_target (ideal_nops[NOP_ATOMIC5] before v5.15)
  ];
}

/** `emit_indirect_jump` through rcx (reg 1) at `ip`, per the configured mitigation. */
export function emit_indirect_jump(ip: bigint, env: JitEnv): number[] {
  const cfg = env.cfg;
  if (cfg.indirect_jump === 'its-thunk') {
    // X86_FEATURE_INDIRECT_THUNK_ITS: its_static_thunk(rcx), checked before the retpoline forms
    reloc(env, { kind: 'rel32', sym: 'its_indirect_thunk', addend: 0n, at: ip, field: 1 });
    return emit_jump(ip, symbol(env, 'its_indirect_thunk'));
  }
  if (cfg.indirect_jump === 'retpoline-lfence') return [...emit_lfence(), ...emit_jmp_reg('rcx')];
  if (cfg.indirect_jump === 'retpoline') {
    reloc(env, { kind: 'rel32', sym: 'indirect_thunk', addend: 0n, at: ip, field: 1 });
    return emit_jump(ip, symbol(env, 'indirect_thunk'));
  }
  return cfg.int3_after_indirect_jump ? [...emit_jmp_reg('rcx'), ...emit_int3()] : emit_jmp_reg('rcx');
}

/**
 * `emit_bpf_tail_call_indirect`: rdi = ctx, rsi = the prog array, rdx = the
 * index. Bounds check, counter check, `ptrs[index]`, NULL check, unwind,
 * `jmp *(prog->bpf_func + X86_TAIL_CALL_OFFSET)`.
 */
export function emit_bpf_tail_call_indirect(
  ip: bigint,
  callee_regs_used: readonly CalleeReg[],
  stack_depth: number,
  env: JitEnv = makeEnv(),
): number[] {
  checkDepth(stack_depth);
  const lay = layoutOf(env);
  const p = env.cfg.profile;
  const v5_5 = p.layout === 'v5.5';
  const v6_12 = p.layout === 'v6.12+';
  const reg: TargetReg = v5_5 ? 'rax' : 'rcx';
  const out: number[] = [];
  const fix: number[] = []; // positions of rel8 bytes that jump to out
  const jcc_out = (op: number): void => {
    out.push(...emit_jcc_rel8(op, 0));
    fix.push(out.length - 1);
  };
  // if (index >= array->map.max_entries) goto out;
  out.push(...emit_mov_edx_edx(), ...emit_cmp_rsi_disp8_edx(lay.bpf_array_max_entries));
  jcc_out(X86_JBE);
  // if (tail_call_cnt++ >= MAX_TAIL_CALL_CNT) goto out;
  out.push(...counter_check(stack_depth, env));
  jcc_out(limit_jcc(env));
  if (!v6_12) out.push(...counter_inc(stack_depth, env));
  // prog = array->ptrs[index]; if (prog == NULL) goto out;
  out.push(...emit_mov_reg_rsi_rdx8_disp32(reg, lay.bpf_array_ptrs));
  out.push(...emit_test_reg(reg));
  jcc_out(X86_JE);
  if (v6_12) out.push(...emit_add_qword_rax_1());
  if (!v5_5) out.push(...unwind(callee_regs_used, stack_depth, env));
  // goto *(prog->bpf_func + X86_TAIL_CALL_OFFSET);
  out.push(...emit_mov_reg_reg_disp8(reg, lay.bpf_prog_bpf_func));
  out.push(...emit_add_reg_imm8(reg, p.tail_call_offset));
  if (p.inline_retpoline) {
    // RETPOLINE_RAX_BPF_JIT() / RETPOLINE_RCX_BPF_JIT(): the inline retpoline whenever CONFIG_RETPOLINE is
    // set (these kernels had no lfence form here), else jmp *reg
    out.push(...(env.cfg.indirect_jump === 'plain' ? emit_jmp_reg(reg) : v5_5 ? RETPOLINE_RAX : RETPOLINE_RCX));
  } else out.push(...emit_indirect_jump(ip + BigInt(out.length), env));
  for (const at of fix) out[at] = imm8(out.length - (at + 1));
  return out;
}

/** Offsets of the two poke sites in a sequence emitted at `ip` for `poke`. */
export interface TailCallLayout {
  bypass: number;
  target: number;
  out: number;
}

export function tail_call_layout(poke: BpfJitPokeDescriptor, ip: bigint): TailCallLayout {
  return {
    bypass: poke.tailcall_bypass === 0n ? -1 : Number(poke.tailcall_bypass - ip),
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
 * the descriptor stable. `image` (based at `base`) is modified in place;
 * descriptors whose sites lie outside it (another function's) are skipped.
 * `nop5` is the nop the sites hold (`nop5Of(cfg)`: K8's before v5.15 on some CPUs).
 */
export function bpf_tail_call_direct_fixup(
  image: Uint8Array,
  base: bigint,
  pokes: BpfJitPokeDescriptor[],
  lookup: (map: string, key: number) => bigint | undefined,
  nop5: readonly number[] = NOP5,
): void {
  const end = base + BigInt(image.length);
  for (const poke of pokes) {
    if (poke.tailcall_target < base || poke.tailcall_target >= end) continue; // poke->aux != prog->aux
    if (poke.tailcall_target_stable) throw new Error('tail call descriptor already stable before the JIT-end fixup');
    const bpf_func = lookup(poke.tail_call.map, poke.tail_call.key);
    if (bpf_func !== undefined) {
      const jmp = emit_patch(poke.tailcall_target, bpf_func + BigInt(poke.adj_off), X86_JMP_REL32);
      if (jmp === undefined) throw new RangeError(`tail call target ${hexAddr(bpf_func)} out of rel32 range`);
      poke5(image, base, poke.tailcall_target, nop5, jmp);
      if (poke.tailcall_bypass !== 0n) poke5(image, base, poke.tailcall_bypass, emit_jump(poke.tailcall_bypass, poke.bypass_addr), nop5);
    }
    poke.tailcall_target_stable = true;
  }
}
