/**
 * Tail calls of the x86-64 BPF JIT (kernel-poke-facts.md §1.4, §1.5, §1.7):
 * `emit_bpf_tail_call_direct` (a patchable site per constant-key call),
 * `emit_bpf_tail_call_indirect`, `emit_indirect_jump`, and the JIT-end
 * `bpf_tail_call_direct_fixup`, for the layouts E1 (5.5), E2 (6.1, the
 * default) and E3 (6.12). `ip` is always the address of the BPF
 * instruction's first byte of code.
 */
import { type JitEnv, layoutOf, makeEnv, reloc, symbol } from './env.js';
import { checkDepth, pop_callee_regs } from './prologue.js';
import { type CalleeReg, round_up8 } from './regs.js';
import { NOP5, X86_PATCH_SIZE, emit_add_rsp_imm32, emit_jump, emit_patch, hexAddr, hexBytes, le32 } from './x86.js';

export { type CalleeReg, CALLEE_REGS_ORDER, round_up8 } from './regs.js';
export { emit_prologue, pop_callee_regs, push_callee_regs } from './prologue.js';

/** MAX_TAIL_CALL_CNT since v5.17 (32 before; see Profile.max_tail_call_cnt). */
export const MAX_TAIL_CALL_CNT = 33;

/**
 * `struct bpf_jit_poke_descriptor`, as the JIT fills it (addresses as bigint).
 * E1 (5.5) has a single site: `tailcall_target` is its `poke->ip`,
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

/** E1's counter: the dword at rbp - 36 - MAX_BPF_STACK. */
const E1_TCC_OFF = -36 - 512;
/** `RETPOLINE_RAX_BPF_JIT`: call do_rop; pause; lfence; jmp .-7; mov %rax,(%rsp); ret. */
const RETPOLINE_RAX = [0xe8, 0x07, 0x00, 0x00, 0x00, 0xf3, 0x90, 0x0f, 0xae, 0xe8, 0xeb, 0xf9, 0x48, 0x89, 0x04, 0x24, 0xc3];

const rel8 = (v: number): number => {
  if (v < -128 || v > 127) throw new RangeError(`tail call label out of rel8 range: ${v}`);
  return v & 0xff;
};

/** The pops before leaving the frame: callee-saved regs, the counter slot(s), the stack. */
function unwind(regs: readonly CalleeReg[], stack_depth: number, e3: boolean): number[] {
  const b = [...pop_callee_regs(regs), 0x58];
  if (e3) b.push(0x58);
  if (stack_depth) b.push(...emit_add_rsp_imm32(round_up8(stack_depth)));
  return b;
}

/** The counter check up to (not including) the conditional jump to out. */
function counter_check(stack_depth: number, env: JitEnv): number[] {
  const p = env.cfg.profile;
  if (p.layout === 'E1') return [0x8b, 0x85, ...le32(E1_TCC_OFF), 0x83, 0xf8, p.max_tail_call_cnt];
  if (p.layout === 'E2') return [0x8b, 0x85, ...le32(-4 - round_up8(stack_depth)), 0x83, 0xf8, p.max_tail_call_cnt];
  // E3: mov rax, [rbp - 16 - S]; cmp qword [rax], MAX
  return [0x48, 0x8b, 0x85, ...le32(-16 - round_up8(stack_depth)), 0x48, 0x83, 0x38, p.max_tail_call_cnt];
}

/** E1/E2 count before jumping on: add eax,1; mov [rbp+off],eax. */
function counter_inc(stack_depth: number, env: JitEnv): number[] {
  const off = env.cfg.profile.layout === 'E1' ? E1_TCC_OFF : -4 - round_up8(stack_depth);
  return [0x83, 0xc0, 0x01, 0x89, 0x85, ...le32(off)];
}

/** `jcc` over the limit: `ja` with MAX 32 (E1), `jae` since MAX 33. */
const limit_jcc = (env: JitEnv): number => (env.cfg.profile.max_tail_call_cnt === 32 ? 0x77 : 0x73);

/**
 * `emit_bpf_tail_call_direct` for the BPF instruction whose code starts at
 * `ip`. Fills the descriptor's addresses and returns the bytes in state C
 * (bypass = `jmp out`, target = nop5; E1: the single target = nop5).
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
  const check = counter_check(stack_depth, env);
  if (p.layout === 'E1') {
    const b = [...check, limit_jcc(env), 0, ...counter_inc(stack_depth, env)];
    b[check.length + 1] = rel8(b.length + X86_PATCH_SIZE - (check.length + 2));
    poke.tailcall_target = ip + BigInt(b.length);
    poke.tailcall_bypass = 0n;
    poke.bypass_addr = poke.tailcall_target + BigInt(X86_PATCH_SIZE);
    poke.adj_off = p.tail_call_offset;
    return [...b, ...NOP5];
  }
  const e3 = p.layout === 'E3';
  const before = e3 ? [] : counter_inc(stack_depth, env);
  const after = e3 ? [0x48, 0x83, 0x00, 0x01] : [];
  const tail = [...after, ...unwind(callee_regs_used, stack_depth, e3)];
  const bypassOff = check.length + 2 + before.length;
  const out = bypassOff + X86_PATCH_SIZE + tail.length + X86_PATCH_SIZE;

  poke.tailcall_bypass = ip + BigInt(bypassOff);
  poke.adj_off = p.tail_call_offset;
  poke.tailcall_target = ip + BigInt(out - X86_PATCH_SIZE);
  poke.bypass_addr = poke.tailcall_target + BigInt(X86_PATCH_SIZE);

  const jae = [limit_jcc(env), rel8(out - (check.length + 2))];
  return [...check, ...jae, ...before, ...emit_jump(poke.tailcall_bypass, poke.bypass_addr), ...tail, ...NOP5];
}

/** `emit_indirect_jump` through rcx (reg 1) at `ip`, per the configured mitigation. */
export function emit_indirect_jump(ip: bigint, env: JitEnv): number[] {
  const cfg = env.cfg;
  if (cfg.indirect_jump === 'retpoline-lfence') return [0x0f, 0xae, 0xe8, 0xff, 0xe1];
  if (cfg.indirect_jump === 'retpoline') {
    reloc(env, { kind: 'rel32', sym: 'indirect_thunk', addend: 0n, at: ip, field: 1 });
    return emit_jump(ip, symbol(env, 'indirect_thunk'));
  }
  return cfg.int3_after_indirect_jump ? [0xff, 0xe1, 0xcc] : [0xff, 0xe1];
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
  const e1 = p.layout === 'E1';
  const e3 = p.layout === 'E3';
  const out: number[] = [];
  const fix: number[] = []; // positions of rel8 bytes that jump to out
  const jcc = (op: number) => {
    out.push(op, 0);
    fix.push(out.length - 1);
  };
  out.push(0x89, 0xd2, 0x39, 0x56, lay.bpf_array_max_entries); // mov edx,edx; cmp [rsi+max_entries],edx
  jcc(0x76); // jbe out
  out.push(...counter_check(stack_depth, env));
  jcc(limit_jcc(env));
  if (!e3) out.push(...counter_inc(stack_depth, env));
  const r = e1 ? 0x84 : 0x8c; // rax (E1) or rcx
  out.push(0x48, 0x8b, r, 0xd6, ...le32(lay.bpf_array_ptrs)); // mov r, [rsi + rdx*8 + ptrs]
  out.push(0x48, 0x85, e1 ? 0xc0 : 0xc9); // test r, r
  jcc(0x74); // je out
  if (e3) out.push(0x48, 0x83, 0x00, 0x01); // add qword [rax], 1
  if (!e1) out.push(...unwind(callee_regs_used, stack_depth, e3));
  out.push(0x48, 0x8b, e1 ? 0x40 : 0x49, lay.bpf_prog_bpf_func); // mov r, [r + bpf_func]
  out.push(0x48, 0x83, e1 ? 0xc0 : 0xc1, p.tail_call_offset); // add r, X86_TAIL_CALL_OFFSET
  if (e1) out.push(...(env.cfg.indirect_jump === 'plain' ? [0xff, 0xe0] : RETPOLINE_RAX));
  else out.push(...emit_indirect_jump(ip + BigInt(out.length), env));
  for (const at of fix) out[at] = rel8(out.length - (at + 1));
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
 */
export function bpf_tail_call_direct_fixup(
  image: Uint8Array,
  base: bigint,
  pokes: BpfJitPokeDescriptor[],
  lookup: (map: string, key: number) => bigint | undefined,
): void {
  const end = base + BigInt(image.length);
  for (const poke of pokes) {
    if (poke.tailcall_target < base || poke.tailcall_target >= end) continue; // poke->aux != prog->aux
    if (poke.tailcall_target_stable) throw new Error('tail call descriptor already stable before the JIT-end fixup');
    const bpf_func = lookup(poke.tail_call.map, poke.tail_call.key);
    if (bpf_func !== undefined) {
      const jmp = emit_patch(poke.tailcall_target, bpf_func + BigInt(poke.adj_off), 0xe9);
      if (jmp === undefined) throw new RangeError(`tail call target ${hexAddr(bpf_func)} out of rel32 range`);
      poke5(image, base, poke.tailcall_target, NOP5, jmp);
      if (poke.tailcall_bypass !== 0n) poke5(image, base, poke.tailcall_bypass, emit_jump(poke.tailcall_bypass, poke.bypass_addr), NOP5);
    }
    poke.tailcall_target_stable = true;
  }
}
