/**
 * `bpf_prog_get_recursion_context` / `bpf_prog_put_recursion_context`
 * (include/linux/bpf.h; docs/kernel-facts.md section 7) at the instruction
 * level, one list of steps per protocol, as an arm64 compiler emits them
 * (x0 = this_cpu_ptr(prog->active), w9/w10 scratch). A context may be
 * interrupted by a higher one between any two steps; a task may be
 * preempted by another task between two steps unless it is inside
 * preempt_disable().
 *
 * - `arm64-u8`: c3e34f88f999 "bpf: arm64: Optimize recursion detection by
 *   not using atomics" (v3, 20251219184422.2899902-1-puranjay@kernel.org):
 *   `u8 active[4]` per CPU, `preempt_disable(); active[rctx]++; val =
 *   le32_to_cpu(*(__le32 *)active); preempt_enable(); return val ==
 *   BIT(rctx * 8);` and the put `preempt_disable(); active[rctx]--;
 *   preempt_enable()`.
 * - `u32-rmw`: the same with the increment and decrement done as a 32-bit
 *   read-modify-write of the whole word (`*(u32 *)active += BIT(rctx * 8)`).
 * - `arm64-u8-v1`: the first posting of the patch (17 Dec 2025), before
 *   review: the same u8 code without preempt_disable(), which the bpf-ci
 *   reviewer questioned for CONFIG_PREEMPT_RCU (two tasks on one CPU).
 *
 * The old scheme, ca06f55b9002 (`int active`, `this_cpu_inc_return(*active)
 * == 1`, `this_cpu_dec`), is one instruction atomic with respect to
 * interrupts; the model runs it as a ghost counter next to the new scheme:
 * its increment happens where the new scheme's store of the increment does,
 * and its decrement where the put's store does (see docs/models.md, recursion-detect).
 */

export type Width = 1 | 4;

export type RecursionInsn =
  | { readonly op: 'preempt_disable' | 'preempt_enable'; readonly asm: string; readonly doc: string }
  /** w9 = active[rctx] (1 byte) or the whole word (4) */
  | { readonly op: 'load'; readonly width: Width; readonly asm: string; readonly doc: string }
  /** w9 += (sign) * (1 for a byte, BIT(rctx*8) for the word) */
  | { readonly op: 'add' | 'sub'; readonly width: Width; readonly asm: string; readonly doc: string }
  /** active[rctx] = w9 (byte) or the whole word = w9 */
  | { readonly op: 'store'; readonly width: Width; readonly asm: string; readonly doc: string }
  /** w10 = the whole word; the verdict is w10 == BIT(rctx * 8) */
  | { readonly op: 'check_load'; readonly asm: string; readonly doc: string }
  /** return val == BIT(rctx * 8): branches to the program or skips it */
  | { readonly op: 'check'; readonly asm: string; readonly doc: string };

export interface RecursionScheme {
  readonly name: string;
  readonly summary: string;
  readonly get: readonly RecursionInsn[];
  readonly put: readonly RecursionInsn[];
}

const PD: RecursionInsn = { op: 'preempt_disable', asm: 'preempt_disable()', doc: 'preempt_disable()' };
const PE: RecursionInsn = { op: 'preempt_enable', asm: 'preempt_enable()', doc: 'preempt_enable()' };
const CHECK_LOAD: RecursionInsn = { op: 'check_load', asm: 'ldr w10, [x0]', doc: 'val = le32_to_cpu(*(__le32 *)active)' };
const CHECK: RecursionInsn = { op: 'check', asm: 'cmp w10, #BIT(rctx*8); b.ne', doc: 'return val == BIT(rctx * 8)' };

function rmw(width: Width, op: 'add' | 'sub'): RecursionInsn[] {
  const byte = width === 1;
  const c = op === 'add' ? '++' : '--';
  const what = byte ? `active[rctx]${c}` : `*(u32 *)active ${op === 'add' ? '+' : '-'}= BIT(rctx * 8)`;
  return [
    { op: 'load', width, asm: byte ? 'ldrb w9, [x0, rctx]' : 'ldr w9, [x0]', doc: `${what}: load` },
    { op, width, asm: `${op} w9, w9, #${byte ? '1' : 'BIT(rctx*8)'}`, doc: `${what}: ${op}` },
    { op: 'store', width, asm: byte ? 'strb w9, [x0, rctx]' : 'str w9, [x0]', doc: `${what}: store` },
  ];
}

export const RECURSION_SCHEMES: Record<string, RecursionScheme> = {
  'arm64-u8': {
    name: 'arm64-u8',
    summary: 'c3e34f88f999 (arm64, 2026 cycle): u8 active[4]; preempt_disable(); active[rctx]++ (ldrb/add/strb); one 32-bit load == BIT(rctx*8); preempt_enable()',
    get: [PD, ...rmw(1, 'add'), CHECK_LOAD, PE, CHECK],
    put: [PD, ...rmw(1, 'sub'), PE],
  },
  'u32-rmw': {
    name: 'u32-rmw',
    summary: 'arm64-u8 with the increment and decrement done as a 32-bit read-modify-write of the whole word (ldr/add/str)',
    get: [PD, ...rmw(4, 'add'), CHECK_LOAD, PE, CHECK],
    put: [PD, ...rmw(4, 'sub'), PE],
  },
  'arm64-u8-v1': {
    name: 'arm64-u8-v1',
    summary: 'broken: the first posting (17 Dec 2025): the u8 code without preempt_disable(), so a task can be preempted inside active[rctx]++',
    get: [...rmw(1, 'add'), CHECK_LOAD, CHECK],
    put: rmw(1, 'sub'),
  },
};

/** Byte `rctx` of the word (little-endian: active[rctx]). */
export const byteOf = (word: number, rctx: number): number => (word >>> (8 * rctx)) & 0xff;

/** The word with byte `rctx` replaced. */
export const withByte = (word: number, rctx: number, b: number): number => ((word & ~(0xff << (8 * rctx))) | ((b & 0xff) << (8 * rctx))) >>> 0;

/** BIT(rctx * 8). */
export const bitOf = (rctx: number): number => (1 << (8 * rctx)) >>> 0;
