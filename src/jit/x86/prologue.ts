/**
 * Prologue, epilogue and callee-saved registers of the x86-64 BPF JIT, for
 * the three tail-call layouts (docs/kernel-facts.md §0.2, §1.2, §1.6):
 *
 * - v5.5 (profile 5.5): nop5; push rbp; mov rbp,rsp; sub rsp,S; push rbx,r13,r14,r15;
 *   push $0 (the counter). 25 bytes, all skipped by a tail call.
 * - v5.10-6.11 (profile 6.1): [endbr]; nop5; xor eax,eax | nop2; push rbp; mov rbp,rsp;
 *   [endbr]; [sub rsp,S]; [push rax]; then the used callee-saved registers.
 * - v6.12+ (profile 6.12): [endbr]; nop5; xor rax,rax | nop3; push rbp; mov rbp,rsp;
 *   [endbr]; [sub rsp,S]; [tail_call_cnt_ptr block]; callee-saved registers.
 */
import { nop5Of } from './config.js';
import { type JitEnv, makeEnv, reloc, symbol } from './env.js';
import { type CalleeReg, CALLEE_REGS_ORDER, round_up8 } from './regs.js';
import {
  ENDBR64, NOP2, NOP3, X86_JA, emit_cmp_rax_imm8, emit_int3, emit_jcc_rel8, emit_jmp_rel8, emit_jump, emit_leave,
  emit_mov_rax_rsp, emit_mov_rbp_rsp, emit_pop, emit_push, emit_push_imm8, emit_ret, emit_sub_rsp_imm32, emit_xor_eax_eax,
  emit_xor_rax_rax,
} from './x86.js';

export function checkDepth(stack_depth: number): void {
  if (!Number.isInteger(stack_depth) || stack_depth < 0 || stack_depth > 512) {
    throw new RangeError(`stack depth out of range 0..512: ${stack_depth}`);
  }
}

function checkRegs(regs: readonly CalleeReg[]): CalleeReg[] {
  for (const r of regs) {
    if (!CALLEE_REGS_ORDER.includes(r)) throw new RangeError(`not a callee-saved register: ${String(r)}`);
  }
  return CALLEE_REGS_ORDER.filter((r) => regs.includes(r));
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

/** The v6.12+ prologue's tail-call block (`emit_prologue_tail_call`). */
function emit_prologue_tail_call(is_subprog: boolean, max: number): number[] {
  const push_rax = emit_push('rax');
  if (is_subprog) return [...push_rax, ...push_rax]; // both slots: the tail_call_cnt_ptr passed in rax
  const count = [...push_rax, ...emit_mov_rax_rsp()]; // a count: keep it here, rax := its address
  const ptr = push_rax; // a pointer (a subprogram's tail callee): keep it
  return [
    ...emit_cmp_rax_imm8(max), // a count (<= MAX) or a pointer?
    ...emit_jcc_rel8(X86_JA, count.length + 2), // pointer: to `ptr`
    ...count,
    ...emit_jmp_rel8(ptr.length), // over `ptr`
    ...ptr,
    ...push_rax, // tail_call_cnt_ptr, at rbp - 16 - round_up(S, 8)
  ];
}

/**
 * `emit_prologue`. Arguments as in the kernel (6.1); the layout comes from
 * `env.cfg.profile` (default 6.1). The callee-saved pushes are separate
 * (`push_callee_regs`), except in v5.5 where the prologue always saves all four.
 */
export function emit_prologue(
  stack_depth: number,
  ebpf_from_cbpf: boolean,
  tail_call_reachable: boolean,
  is_subprog: boolean,
  env: JitEnv = makeEnv(),
): number[] {
  checkDepth(stack_depth);
  const p = env.cfg.profile;
  const endbr = p.ibt ? [...ENDBR64] : [];
  const sub = (always: boolean) => (always || stack_depth ? emit_sub_rsp_imm32(round_up8(stack_depth)) : []);
  if (p.layout === 'v5.5') {
    const b = [...nop5Of(env.cfg), ...emit_push('rbp'), ...emit_mov_rbp_rsp(), ...sub(true), ...push_callee_regs(CALLEE_REGS_ORDER)];
    if (!ebpf_from_cbpf) b.push(...emit_push_imm8(0)); // tail_call_cnt
    return b;
  }
  const b = [...endbr, ...nop5Of(env.cfg)];
  if (!ebpf_from_cbpf) {
    const main = tail_call_reachable && !is_subprog;
    if (p.layout === 'v5.10-6.11') b.push(...(main ? emit_xor_eax_eax() : NOP2));
    else b.push(...(main ? emit_xor_rax_rax() : NOP3));
  }
  b.push(...emit_push('rbp'), ...emit_mov_rbp_rsp(), ...endbr, ...sub(false));
  if (tail_call_reachable) {
    if (p.layout === 'v5.10-6.11') b.push(...emit_push('rax')); // the counter slot
    else b.push(...emit_prologue_tail_call(is_subprog, p.max_tail_call_cnt));
  }
  return b;
}

/** `emit_return` at `ip`: `ret` [+ `int3` with SLS], or `jmp` to the return thunk. */
export function emit_return(ip: bigint, env: JitEnv): number[] {
  const cfg = env.cfg;
  if (cfg.return_kind === 'thunk') {
    if (cfg.profile.layout === 'v5.5') throw new RangeError('profile 5.5 has no return thunk');
    reloc(env, { kind: 'rel32', sym: 'return_thunk', addend: 0n, at: ip, field: 1 });
    return emit_jump(ip, symbol(env, 'return_thunk'));
  }
  return cfg.sls ? [...emit_ret(), ...emit_int3()] : emit_ret();
}

/**
 * The code of the first BPF_EXIT (`emit_epilogue` here; inline in do_jit):
 * v5.5 drops the counter slot and pops all four callee-saved registers; later layouts
 * pop the used ones. Then `leave` and `emit_return`. `ip` is where it starts.
 */
export function emit_epilogue(regs: readonly CalleeReg[], ebpf_from_cbpf: boolean, ip: bigint, env: JitEnv): number[] {
  const b: number[] = [];
  if (env.cfg.profile.layout === 'v5.5') {
    if (!ebpf_from_cbpf) b.push(...emit_pop('rbx')); // get rid of tail_call_cnt
    b.push(...pop_callee_regs(CALLEE_REGS_ORDER));
  } else {
    b.push(...pop_callee_regs(regs));
  }
  b.push(...emit_leave());
  return [...b, ...emit_return(ip + BigInt(b.length), env)];
}
