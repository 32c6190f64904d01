/**
 * The x86-64 BPF dispatcher image (arch/x86/net/bpf_jit_comp.c:
 * `arch_prepare_bpf_dispatcher`, `emit_bpf_dispatcher`; docs/kernel-facts.md
 * section 6): a binary search over the sorted `bpf_func` addresses of the
 * programs attached to the dispatcher, on the address the caller passed in
 * rdx (the third argument of `bpf_dispatcher_xdp_func`).
 *
 * Each inner node is `48 81 fa <imm32>` (cmp $addr,%rdx) and `jg` to the
 * upper half (`7f rel8`, or `0f 8f rel32` when the lower part spans more than
 * three programs), the upper half 16-byte aligned with `x86_nops`. Each leaf
 * is the cmp, `0f 84 rel32` (je to the program) and the indirect jump
 * through rdx as the fallback (`emit_indirect_jump(&prog, 2 /* rdx *\/, ip)`:
 * `ff e2`, or `lfence; jmp *%rdx`, or `jmp __x86_indirect_thunk_rdx`).
 *
 * `dispatcher_exec` is the other direction: what a CPU executing the image
 * does at a given offset, for a given rdx, from the bytes alone (decodeInsn
 * for lengths and targets; the compare's immediate and the condition codes
 * read from the instruction bytes). A compare and the conditional jump after
 * it are one step, so that the flags never need to be part of a state.
 */
import { decodeInsn, DecodeError, type Insn } from './decode.js';
import { emit_nops } from './do_jit.js';
import { type JitEnv, makeEnv, reloc, symbol } from './env.js';
import { defaultJitConfig } from './config.js';
import { BPF_REG_3, add_1mod, add_1reg } from './regs.js';
import { hexAddr, le32, leN, read_s32 } from '../bytes.js';
import { X86_JE, X86_JG, emit_jump, is_simm32 } from './x86.js';

export { X86_JE, X86_JG } from './x86.js';
/** PAGE_SIZE / 2: each half of the dispatcher's page. */
export const BPF_DISPATCHER_HALF = 0x800;
/** "Fits in 2048B" (include/linux/bpf.h). */
export const BPF_DISPATCHER_MAX = 48;
/** The thunk the retpoline variant of the fallback jumps to. */
export const THUNK_RDX = '__x86_indirect_thunk_rdx';

/** The kernel's -1 / -EINVAL from emit_bpf_dispatcher (an address that does not fit). */
export class DispatcherError extends Error {}

/** The dispatcher of a 6.1 kernel without retpolines: the fallback is a plain `jmp *%rdx`. */
export function dispatcherEnv(): JitEnv {
  return makeEnv({ cfg: defaultJitConfig('6.1', { indirect_jump: 'plain' }) });
}

const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** `emit_cond_near_jump`: `0f 8x rel32` at `ip` to `func`. */
function emit_cond_near_jump(func: bigint, ip: bigint, jmp_cond: number): number[] {
  const offset = BigInt.asIntN(64, func - (ip + 2n + 4n));
  if (!is_simm32(offset)) throw new DispatcherError(`Target ${hexAddr(func)} is out of range`);
  return [0x0f, jmp_cond + 0x10, ...le32(Number(offset))];
}

/** `emit_indirect_jump(&prog, 2 /* rdx *\/, ip)`, per the configured mitigation. */
function emit_indirect_jump_rdx(ip: bigint, env: JitEnv): number[] {
  const cfg = env.cfg;
  if (cfg.indirect_jump === 'its-thunk') throw new DispatcherError('the dispatcher through __x86_indirect_its_thunk_rdx is not modelled');
  if (cfg.indirect_jump === 'retpoline-lfence') return [0x0f, 0xae, 0xe8, 0xff, 0xe2];
  if (cfg.indirect_jump === 'retpoline') {
    reloc(env, { kind: 'rel32', sym: THUNK_RDX, addend: 0n, at: ip, field: 1 });
    return emit_jump(ip, symbol(env, THUNK_RDX));
  }
  return cfg.int3_after_indirect_jump ? [0xff, 0xe2, 0xcc] : [0xff, 0xe2];
}

/** `cmp $addr, %rdx` (48 81 fa imm32); the address must be a sign-extended 32-bit value. */
function emit_cmp_rdx(addr: bigint): number[] {
  const v = BigInt.asIntN(64, addr);
  if (!is_simm32(v)) throw new DispatcherError(`bpf_func ${hexAddr(addr)} does not fit a sign-extended imm32`);
  return [add_1mod(0x48, BPF_REG_3), 0x81, add_1reg(0xf8, BPF_REG_3), ...le32(s32(v))];
}

/** `emit_align(&prog, align)`: nops up to the next multiple of `align` (the half starts aligned). */
function emit_align(out: number[], align: number): void {
  const pad = (align - (out.length % align)) % align;
  out.push(...emit_nops(pad));
}

/** `emit_bpf_dispatcher(&prog, a, b, progs, image, buf)`: appends to `out`, which is emitted for `image`. */
function emit_bpf_dispatcher(out: number[], a: number, b: number, progs: readonly bigint[], image: bigint, env: JitEnv): void {
  const ip = (): bigint => image + BigInt(out.length);
  if (a === b) {
    // Leaf node of recursion, i.e. not a range of indices anymore.
    out.push(...emit_cmp_rdx(progs[a]));
    out.push(...emit_cond_near_jump(progs[a], ip(), X86_JE));
    out.push(...emit_indirect_jump_rdx(ip(), env));
    return;
  }
  // Not a leaf node, so we pivot, and recursively descend into the lower and upper ranges.
  const pivot = Math.floor((b - a) / 2);
  out.push(...emit_cmp_rdx(progs[a + pivot]));
  let jg_bytes: 1 | 4 = 1;
  if (pivot > 2) {
    jg_bytes = 4; // Require near jump.
    out.push(0x0f, X86_JG + 0x10, 0, 0, 0, 0);
  } else {
    out.push(X86_JG, 0);
  }
  const jg_reloc = out.length;
  emit_bpf_dispatcher(out, a, a + pivot, progs, image, env);
  emit_align(out, 16);
  const jg_offset = out.length - jg_reloc;
  if (jg_bytes === 1 && jg_offset > 127) throw new DispatcherError(`jg rel8 out of range: ${jg_offset}`);
  out.splice(jg_reloc - jg_bytes, jg_bytes, ...leN(jg_offset, jg_bytes));
  emit_bpf_dispatcher(out, a + pivot + 1, b, progs, image, env);
}

/**
 * `arch_prepare_bpf_dispatcher(image, buf, funcs, num_funcs)`: sorts the
 * addresses as s64 (`cmp_ips`) and emits the search for `image`.
 */
export function arch_prepare_bpf_dispatcher(image: bigint, funcs: readonly bigint[], env: JitEnv = dispatcherEnv()): number[] {
  if (funcs.length < 1 || funcs.length > BPF_DISPATCHER_MAX) throw new DispatcherError(`a dispatcher holds 1..${BPF_DISPATCHER_MAX} programs, got ${funcs.length}`);
  const sorted = [...funcs].sort((x, y) => {
    const a = BigInt.asIntN(64, x);
    const b = BigInt.asIntN(64, y);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const out: number[] = [];
  emit_bpf_dispatcher(out, 0, sorted.length - 1, sorted, image, env);
  if (out.length > BPF_DISPATCHER_HALF) throw new DispatcherError(`dispatcher image of ${out.length} bytes does not fit half a page`);
  return out;
}

/** What a CPU executing the image does next. */
export type DispatchStep =
  /** falls through or branches within the image */
  | { kind: 'next'; off: number; insns: Insn[] }
  /** `je` to a program's bpf_func */
  | { kind: 'direct'; target: bigint; insns: Insn[] }
  /** the indirect jump through rdx (its fallback): lands on rdx */
  | { kind: 'indirect'; target: bigint; insns: Insn[] };

const CC_EVAL: Record<number, (lhs: bigint, rhs: bigint) => boolean> = {
  0x4: (l, r) => l === r, // e
  0x5: (l, r) => l !== r, // ne
  0xc: (l, r) => l < r, // l
  0xd: (l, r) => l >= r, // ge
  0xe: (l, r) => l <= r, // le
  0xf: (l, r) => l > r, // g
};

/**
 * One step of a CPU at `off` in an image at `image` whose bytes are `bytes`,
 * called with `rdx`: a compare with its jcc, an indirect jump through rdx,
 * or (for robustness) a nop. Anything else is a DecodeError naming the bytes.
 */
export function dispatcher_exec(bytes: ArrayLike<number>, image: bigint, off: number, rdx: bigint, env: JitEnv = dispatcherEnv()): DispatchStep {
  const at = (o: number): Insn => decodeInsn(Array.from({ length: Math.min(16, bytes.length - o) }, (_, i) => bytes[o + i]), image + BigInt(o));
  const fail = (o: number, why: string): never => {
    throw new DecodeError(Array.from({ length: Math.min(7, bytes.length - o) }, (_, i) => bytes[o + i]), image + BigInt(o), why);
  };
  const insn = at(off);
  const b0 = bytes[off];
  if (b0 === 0x48 && bytes[off + 1] === 0x81 && bytes[off + 2] === 0xfa) {
    const imm = BigInt(read_s32(bytes, off + 3));
    const j = off + insn.len;
    const jcc = at(j);
    if (jcc.kind !== 'jcc') fail(j, 'the dispatcher compares only before a conditional jump');
    const cc = bytes[j] === 0x0f ? bytes[j + 1] & 0xf : bytes[j] & 0xf;
    const evalCc = CC_EVAL[cc] ?? fail(j, 'condition not used by the dispatcher');
    const taken = evalCc(BigInt.asIntN(64, rdx), imm);
    const insns = [insn, jcc];
    if (!taken) return { kind: 'next', off: j + jcc.len, insns };
    const target = jcc.target!;
    const inside = target >= image && target < image + BigInt(bytes.length);
    return inside ? { kind: 'next', off: Number(target - image), insns } : { kind: 'direct', target, insns };
  }
  if (insn.text.startsWith('jmp    *%rdx')) return { kind: 'indirect', target: rdx, insns: [insn] };
  if (insn.text === 'lfence') {
    const next = at(off + insn.len);
    if (next.text.startsWith('jmp    *%rdx')) return { kind: 'indirect', target: rdx, insns: [insn, next] };
  }
  if (insn.kind === 'jmp' && env.cfg.indirect_jump === 'retpoline' && insn.target === symbol(env, THUNK_RDX)) return { kind: 'indirect', target: rdx, insns: [insn] };
  if (insn.kind === 'nop') return { kind: 'next', off: off + insn.len, insns: [insn] };
  return fail(off, `not a dispatcher instruction: ${insn.text}`);
}
