/**
 * `do_jit` and the pass loop of `bpf_int_jit_compile`: one BPF function to
 * x86-64 bytes at a given address, with jump sizes converging over passes
 * exactly as the kernel does (addrs[] starts at 64 bytes per instruction;
 * the image is emitted by the pass after the length stopped changing; from
 * pass PADDING_PASSES on, shrinking jumps are padded with nops).
 */
import {
  BPF_CALL, BPF_CLASS, BPF_EXIT, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JMP32, BPF_JNE, BPF_JSET,
  BPF_JSGE, BPF_JSGT, BPF_JSLE, BPF_JSLT, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE, BPF_SRC, BPF_TAIL_CALL, BPF_X, type BpfInsn, isLdImm64,
} from '../bpf.js';
import { emit_alu } from './emit-alu.js';
import { emit_mem } from './emit-mem.js';
import { emit_mov_imm64, maybe_emit_1mod, maybe_emit_mod } from './emit.js';
import { type JitEnv, reloc, symbol } from './env.js';
import { emit_epilogue, emit_prologue, push_callee_regs } from './prologue.js';
import { type CalleeReg, BPF_REG_6, BPF_REG_7, BPF_REG_8, BPF_REG_9, CALLEE_REGS_ORDER, add_1reg, add_2reg, round_up8 } from './regs.js';
import { type BpfJitPokeDescriptor, emit_bpf_tail_call_direct, emit_bpf_tail_call_indirect, tcc_ptr_off } from './tailcall.js';
import { hexAddr, le32 } from '../bytes.js';
import { emit_call, emit_mov_rax_rbp_disp32, is_imm8 } from './x86.js';

/** One function as the JIT sees it. */
export interface JitFunction {
  /** this function's instructions; tail calls as BPF_JMP|BPF_TAIL_CALL, imm = poke index + 1 (direct) or 0 */
  insns: BpfInsn[];
  stack_depth: number;
  tail_call_reachable: boolean;
  is_subprog: boolean;
  was_classic?: boolean;
  /** the program's poke table (shared by all its functions) */
  pokes: BpfJitPokeDescriptor[];
  /** absolute address of the function a pseudo call or pseudo-func ld_imm64 at local index `i` refers to */
  func_address?: (i: number, insn: BpfInsn) => bigint;
}

export interface JitOutput {
  image: Uint8Array;
  /** addrs[i]: end offset of instruction i (1-based; addrs[0] = end of the prologue) */
  addrs: number[];
  passes: number;
  callee_regs: CalleeReg[];
}

const MAX_PASSES = 20;
const PADDING_PASSES = MAX_PASSES - 5;
/** x86_nops[1..8] */
const X86_NOPS: number[][] = [
  [], [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00], [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00], [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00], [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

export function emit_nops(len: number): number[] {
  const b: number[] = [];
  while (len > 0) {
    const n = Math.min(len, 8);
    b.push(...X86_NOPS[n]);
    len -= n;
  }
  return b;
}

const JCC: Record<number, number> = {
  [BPF_JEQ]: 0x74, [BPF_JSET]: 0x75, [BPF_JNE]: 0x75, [BPF_JGT]: 0x77, [BPF_JLT]: 0x72, [BPF_JGE]: 0x73,
  [BPF_JLE]: 0x76, [BPF_JSGT]: 0x7f, [BPF_JSLT]: 0x7c, [BPF_JSGE]: 0x7d, [BPF_JSLE]: 0x7e,
};

/** `detect_reg_usage`: which of R6–R9 the function touches. */
export function detect_reg_usage(insns: readonly BpfInsn[]): CalleeReg[] {
  const used = [BPF_REG_6, BPF_REG_7, BPF_REG_8, BPF_REG_9].map((r) => insns.some((i) => i.dst_reg === r || i.src_reg === r));
  return CALLEE_REGS_ORDER.filter((_, k) => used[k]);
}

export class JitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JitError';
  }
}

interface PassState {
  addrs: number[];
  cleanup_addr: number;
}

/** One pass. `image` is the function's address in the final pass, undefined before. */
function do_jit(fn: JitFunction, st: PassState, address: bigint, image: boolean, padding: boolean, env: JitEnv): number[] {
  const cfg = env.cfg;
  const layout = cfg.profile.layout;
  const { addrs } = st;
  const insns = fn.insns;
  const n = insns.length;
  const tail_call_seen = insns.some((i) => i.code === (BPF_JMP | BPF_TAIL_CALL));
  const tail_call_reachable = fn.tail_call_reachable || tail_call_seen;
  const regs = detect_reg_usage(insns);
  const cbpf = fn.was_classic ?? false;
  const out: number[] = [];
  const ipOf = (off: number): bigint => address + BigInt(off);

  out.push(...emit_prologue(fn.stack_depth, cbpf, tail_call_reachable, fn.is_subprog, env));
  if (layout !== 'v5.5') out.push(...push_callee_regs(regs));
  addrs[0] = out.length;
  let seen_exit = false;
  const jmp8 = (v: number): boolean => v >= -128 && v <= cfg.imm8_jmp_max;

  for (let i = 1; i <= insns.length; i++) {
    const insn = insns[i - 1];
    const start = out.length; // == proglen
    const ip = ipOf(start);
    const at = (): bigint => ipOf(out.length);
    const cls = BPF_CLASS(insn.code);
    const op = BPF_OP(insn.code);
    const INSN_SZ_DIFF = (): number => addrs[i] - addrs[i - 1] - (out.length - start);
    let jmp_offset: number | undefined;

    const alu = emit_alu(insn, cfg) ?? emit_mem(insn, cfg);
    if (alu !== undefined) {
      out.push(...alu);
    } else if (isLdImm64(insn)) {
      const next = insns[i];
      if (next === undefined) throw new JitError(`ld_imm64 at insn ${i - 1} is missing its second half`);
      out.push(...ld_imm64(insn, next, i - 1, at(), fn, env));
      i++; // the second slot's addrs entry is left as in the kernel: addrs[i] of the first slot's end
    } else if (insn.code === (BPF_JMP | BPF_CALL)) {
      out.push(...call(insn, i - 1, ip, fn, tail_call_reachable, env));
    } else if (insn.code === (BPF_JMP | BPF_TAIL_CALL)) {
      if (insn.imm) {
        const poke = fn.pokes[insn.imm - 1];
        if (!poke) throw new JitError(`tail call at insn ${i - 1} names poke ${insn.imm - 1}, which does not exist`);
        out.push(...emit_bpf_tail_call_direct(poke, ip, regs, fn.stack_depth, env));
      } else {
        out.push(...emit_bpf_tail_call_indirect(ip, regs, fn.stack_depth, env));
      }
    } else if ((cls === BPF_JMP || cls === BPF_JMP32) && JCC[op] !== undefined) {
      const is64 = cls === BPF_JMP;
      const dst = insn.dst_reg;
      if (op === BPF_JSET) {
        if (BPF_SRC(insn.code) === BPF_X) out.push(...maybe_emit_mod(dst, insn.src_reg, is64), 0x85, add_2reg(0xc0, dst, insn.src_reg));
        else out.push(...maybe_emit_1mod(dst, is64), 0xf7, add_1reg(0xc0, dst), ...le32(insn.imm));
      } else if (BPF_SRC(insn.code) === BPF_X) {
        out.push(...maybe_emit_mod(dst, insn.src_reg, is64), 0x39, add_2reg(0xc0, dst, insn.src_reg));
      } else if (insn.imm === 0) {
        out.push(...maybe_emit_mod(dst, dst, is64), 0x85, add_2reg(0xc0, dst, dst));
      } else {
        out.push(...maybe_emit_1mod(dst, is64));
        if (is_imm8(insn.imm)) out.push(0x83, add_1reg(0xf8, dst), insn.imm & 0xff);
        else out.push(0x81, add_1reg(0xf8, dst), ...le32(insn.imm));
      }
      const jcc = JCC[op];
      jmp_offset = addrs[target(i, insn.off, n)] - addrs[i];
      if (jmp8(jmp_offset)) {
        if (padding) {
          const nops = INSN_SZ_DIFF() - 2;
          if (nops !== 0 && nops !== 4) throw new JitError(`unexpected jmp_cond padding: ${nops} bytes`);
          out.push(...emit_nops(nops));
        }
        out.push(jcc, jmp_offset & 0xff);
      } else {
        out.push(0x0f, jcc + 0x10, ...le32(jmp_offset));
      }
    } else if (insn.code === (BPF_JMP | BPF_JA) || insn.code === (BPF_JMP32 | BPF_JA)) {
      if (cls === BPF_JMP32 && layout !== 'v6.12+') throw new JitError(`gotol (JMP32|JA) is not in profile ${cfg.profile.name}`);
      const rel = cls === BPF_JMP ? insn.off : insn.imm;
      jmp_offset = rel === -1 ? -2 : addrs[target(i, rel, n)] - addrs[i];
      if (jmp_offset === 0) {
        if (padding) {
          const nops = INSN_SZ_DIFF();
          if (nops !== 0 && nops !== 2 && nops !== 5) throw new JitError(`unexpected nop jump padding: ${nops} bytes`);
          out.push(...emit_nops(nops));
        }
      } else out.push(...emit_jmp(jmp_offset, padding, INSN_SZ_DIFF, jmp8));
    } else if (insn.code === (BPF_JMP | BPF_EXIT)) {
      if (seen_exit) {
        out.push(...emit_jmp(st.cleanup_addr - addrs[i], padding, INSN_SZ_DIFF, jmp8));
      } else {
        seen_exit = true;
        st.cleanup_addr = start;
        out.push(...emit_epilogue(regs, cbpf, ip, env));
      }
    } else {
      throw new JitError(`unknown opcode 0x${insn.code.toString(16).padStart(2, '0')} at insn ${i - 1}`);
    }
    if (image && start + (out.length - start) !== addrs[i]) {
      throw new JitError(`insn ${i - 1} changed size in the final pass (${addrs[i]} -> ${out.length})`);
    }
    addrs[i] = out.length;
  }
  return out;
}

/** Index into addrs[] of a jump's target; a JitError when it leaves the function. */
function target(i: number, rel: number, n: number): number {
  const t = i + rel;
  if (t < 0 || t > n) throw new JitError(`jump at insn ${i - 1} to insn ${t} leaves the function (${n} insns)`);
  return t;
}

function emit_jmp(jmp_offset: number, padding: boolean, diff: () => number, jmp8: (v: number) => boolean): number[] {
  const b: number[] = [];
  if (jmp8(jmp_offset)) {
    if (padding) {
      const nops = diff() - 2;
      if (nops !== 0 && nops !== 3) throw new JitError(`unexpected jump padding: ${nops} bytes`);
      b.push(...emit_nops(nops));
    }
    return [...b, 0xeb, jmp_offset & 0xff];
  }
  return [0xe9, ...le32(jmp_offset)];
}

function ld_imm64(insn: BpfInsn, next: BpfInsn, idx: number, ip: bigint, fn: JitFunction, env: JitEnv): number[] {
  const lo = BigInt(insn.imm >>> 0);
  const hi = BigInt(next.imm >>> 0);
  let value = (hi << 32n) | lo;
  let sym: string | undefined;
  let addend = 0n;
  if (insn.src_reg === BPF_PSEUDO_MAP_FD) sym = `map:${insn.imm}`;
  else if (insn.src_reg === BPF_PSEUDO_MAP_VALUE) {
    sym = `map_value:${insn.imm}`;
    addend = BigInt(next.imm);
  } else if (insn.src_reg === BPF_PSEUDO_FUNC) {
    if (!fn.func_address) throw new JitError(`ld_imm64 of a function at insn ${idx} but no function addresses`);
    value = fn.func_address(idx, insn);
  } else if (insn.src_reg !== 0) sym = `btf_id:${insn.imm}`;
  if (sym !== undefined) {
    value = symbol(env, sym) + addend;
    reloc(env, { kind: 'imm64', sym, addend, at: ip, field: 2 });
  }
  return emit_mov_imm64(insn.dst_reg, value, env.cfg.mov_imm64_simm32);
}

/**
 * x86_call_depth_emit_accounting() (v6.2+, retbleed=stuff): a copy of the
 * INCREMENT_CALL_DEPTH template, `sarq $5, %gs:pcpu_hot.call_depth(%rip)`
 * (`65 48 c1 3d disp32 05`), its RIP-relative displacement re-applied for where it
 * lands. As captured from 6.12; kernels before the RIP-relative per-cpu accessors
 * used an absolute `%gs:disp32` form, which is not modelled.
 */
function call_depth_accounting(ip: bigint, env: JitEnv): number[] {
  if (env.cfg.profile.layout !== 'v6.12+') throw new JitError(`call-depth accounting is modelled for v6.12+ only (profile ${env.cfg.profile.name})`);
  const len = 9;
  reloc(env, { kind: 'rel32', sym: 'call_depth_percpu', addend: 0n, at: ip, field: 4, insn_len: len });
  const disp = BigInt.asIntN(32, symbol(env, 'call_depth_percpu') - (ip + BigInt(len)));
  return [0x65, 0x48, 0xc1, 0x3d, ...le32(Number(disp)), 0x05];
}

function call(insn: BpfInsn, idx: number, ip: bigint, fn: JitFunction, tail_call_reachable: boolean, env: JitEnv): number[] {
  const layout = env.cfg.profile.layout;
  const pseudo = insn.src_reg === BPF_PSEUDO_CALL;
  const b: number[] = [];
  // v5.10-6.11: the whole counter slot (rax = tail_call_cnt), at rbp - round_up(S, 8) - 8 since ff672c67ee76
  // (v5.19), at rbp - (S + 8) before it; v6.12+: tail_call_cnt_ptr, for BPF-to-BPF calls only
  if (tail_call_reachable && layout === 'v5.10-6.11') {
    const S = fn.stack_depth;
    b.push(...emit_mov_rax_rbp_disp32(env.cfg.profile.call_tcc_off_rounded ? -round_up8(S) - 8 : -(S + 8)));
  }
  if (tail_call_reachable && layout === 'v6.12+' && pseudo) b.push(...emit_mov_rax_rbp_disp32(tcc_ptr_off(fn.stack_depth)));
  // X86_FEATURE_CALL_DEPTH: x86_call_depth_emit_accounting() before the call (no call thunk targets here)
  if (env.cfg.call_depth) b.push(...call_depth_accounting(ip + BigInt(b.length), env));
  const callIp = ip + BigInt(b.length);
  let target: bigint;
  if (pseudo) {
    if (!fn.func_address) throw new JitError(`bpf-to-bpf call at insn ${idx} but no function addresses`);
    target = fn.func_address(idx, insn);
  } else {
    if (insn.imm === 0) throw new JitError(`call with imm 0 at insn ${idx}`);
    target = symbol(env, 'bpf_call_base') + BigInt(insn.imm);
    reloc(env, { kind: 'rel32', sym: 'bpf_call_base', addend: BigInt(insn.imm), at: callIp, field: 1 });
  }
  return [...b, ...emit_call(callIp, target)];
}

/**
 * `bpf_int_jit_compile` for one function at `address`: passes until the
 * length converges, then the final pass. Kernel addresses are logged to
 * `env.relocs` only in the final pass.
 */
export function jit_function(fn: JitFunction, address: bigint, env: JitEnv): JitOutput {
  const n = fn.insns.length;
  const addrs = Array.from({ length: n + 1 }, (_, i) => 64 * (i + 1));
  const st: PassState = { addrs, cleanup_addr: 64 * (n + 1) };
  const relocs = env.relocs;
  const quiet: JitEnv = { ...env, relocs: undefined };
  const paddingAllowed = env.cfg.profile.layout !== 'v5.5';
  let oldproglen = 0;
  let padding = false;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    if (paddingAllowed && !padding && pass >= PADDING_PASSES) padding = true;
    const bytes = do_jit(fn, st, address, false, padding, quiet);
    if (bytes.length === oldproglen) {
      if (relocs) relocs.length = 0;
      if (paddingAllowed && pass + 1 >= PADDING_PASSES) padding = true;
      const final = do_jit(fn, st, address, true, padding, env);
      if (final.length !== oldproglen) throw new JitError(`proglen=${final.length} != oldproglen=${oldproglen}`);
      return { image: Uint8Array.from(final), addrs: [...addrs], passes: pass + 2, callee_regs: detect_reg_usage(fn.insns) };
    }
    oldproglen = bytes.length;
  }
  throw new JitError(`JIT did not converge in ${MAX_PASSES} passes at ${hexAddr(address)} (the kernel falls back to the interpreter)`);
}
