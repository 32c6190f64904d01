/**
 * `bpf_arch_poke_desc_update(poke, new, old)`: how one direct tail-call
 * descriptor is re-poked when `ptrs[key]` changes from `old` to `new`, for
 * each protocol version pokecheck knows.
 *
 * Each protocol is the ordered list of its atomic steps, exactly as the
 * kernel (or the RFC) orders them, compiled from its C file in `protocols/`
 * (src/protocol/, docs/protocol-files.md). The same list drives the sequential
 * implementation below (used by the prog array) and the updater's xstate
 * machine (updater.ts), so the checked protocol and the executed one cannot
 * drift apart.
 *
 * Symbolic addresses, resolved per call: `NULL` (the 5-byte nop),
 * `bypass_addr` (`poke->bypass_addr`, the "out" label), `old` / `new`
 * (`prog->bpf_func + poke->adj_off`, or NULL when there is no such program).
 */
import type { BpfJitPokeDescriptor } from '../jit/x86/tailcall.js';
import { __bpf_arch_text_poke, bpf_arch_text_poke, type PokeAddr } from '../poke/text_poke.js';
import { EINVAL } from '../poke/errno.js';
import { decodeInsn } from '../jit/x86/decode.js';
import { X86_PATCH_SIZE } from '../jit/x86/x86.js';
import type { BpfKallsyms, TextMemory } from '../poke/text.js';
import type { BpfProg } from './prog.js';
import { shippedProtocol } from '../protocol/shipped.js';

export type SymAddr = 'NULL' | 'bypass_addr' | 'old' | 'new';
export type PokeSite = 'tailcall_target' | 'tailcall_bypass';

export interface PokeStep {
  readonly kind: 'poke';
  readonly site: PokeSite;
  /** What the poke expects to find; `current` = whatever is there (the RFC's faked check). */
  readonly old_addr: SymAddr | 'current';
  readonly new_addr: SymAddr;
  /** `__bpf_arch_text_poke` (since 4b7de801606e) or `bpf_arch_text_poke` (kallsyms check first). */
  readonly via: '__bpf_arch_text_poke' | 'bpf_arch_text_poke';
  /** Which returns are fatal: v6.7 `BUG_ON(ret < 0)`, v5.10 `BUG_ON(ret < 0 && ret != -EINVAL)`. */
  readonly bug_on: 'ret < 0' | 'ret < 0 && ret != -EINVAL' | 'never' | (string & {});
  /**
   * A protocol file's BUG_ON that is none of the forms above (bug_on is then
   * its condition's text): the poke returns it fires on.
   */
  readonly bug_rets?: readonly number[];
  /** The call in the protocol file this step runs. */
  readonly source?: StepSource;
}

export interface SyncStep {
  readonly kind: 'synchronize_rcu';
  /** v5.10+: only when the previous poke wrote something (returned 0). */
  readonly only_if_previous_wrote: boolean;
  readonly source?: StepSource;
}

export type DescUpdateStep = PokeStep | SyncStep;

/** Where a step comes from in a protocol file (src/protocol/): the call it runs. */
export interface StepSource {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
  /** the call, whitespace collapsed: `__bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP, old_addr, new_addr)` */
  readonly text: string;
}

export interface PokeProtocol {
  readonly name: string;
  readonly summary: string;
  /** Whether the protocol promises P4 (every poke finds the bytes it expects). */
  readonly checks_old_bytes: boolean;
  /** The ordered steps for a change old -> new (either may be absent). */
  steps(has_old: boolean, has_new: boolean): DescUpdateStep[];
}

/**
 * The shipped protocols, each compiled from its C file in the package's
 * `protocols/` folder (src/protocol/): the files are the one source of
 * these step lists. The summaries are what `pokecheck list` prints.
 */
const SUMMARIES: Record<string, string> = {
  rfc: 'Fijalkowski RFC (Jul 2020): install pokes target then bypass; update pokes target; remove pokes only the bypass back to jmp out (never back to C); the old bytes are reverse-computed from the text ("faked"), so nothing is checked.',
  'v5.5':
    'v5.5 to v5.9 (da765a2f5993, 428d5df1fa4f): one site (poke->ip, later tailcall_target) poked from old to new in one call through bpf_arch_text_poke; BUG_ON(ret < 0 && ret != -EINVAL).',
  'v5.10':
    'v5.10 to v6.6 (ebf7d1f508a7; replaced in v6.7 by 4b7de801606e): install target then bypass; update target; remove: bypass to jmp out, synchronize_rcu() if it wrote, target to nop. Pokes through bpf_arch_text_poke; BUG_ON(ret < 0 && ret != -EINVAL).',
  'v6.7': 'bpf_arch_poke_desc_update (4b7de801606e, v6.7): the v5.10 order through __bpf_arch_text_poke, BUG_ON(ret < 0).',
  'no-sync': 'broken: v5.10 without the synchronize_rcu() between the two pokes of a removal.',
  'bypass-first': 'broken: v5.10 with the install order swapped (bypass to nop before the target jump is written).',
};

export const PROTOCOLS: Record<string, PokeProtocol> = Object.fromEntries(
  Object.entries(SUMMARIES).map(([name, summary]) => [name, shippedProtocol(name).pokeProtocol(name, summary)]),
);

export function resolveAddr(a: SymAddr, poke: BpfJitPokeDescriptor, old: BpfProg | null, new_: BpfProg | null): PokeAddr {
  switch (a) {
    case 'NULL':
      return null;
    case 'bypass_addr':
      return poke.bypass_addr;
    case 'old':
      return old ? old.bpf_func + BigInt(poke.adj_off) : null;
    case 'new':
      return new_ ? new_.bpf_func + BigInt(poke.adj_off) : null;
  }
}

/** The RFC's faked `old`: whatever address the current 5 bytes encode. */
export function currentAddr(text: TextMemory, ip: bigint): PokeAddr {
  const insn = decodeInsn(text.read(ip, X86_PATCH_SIZE), ip);
  if (insn.kind === 'nop' && insn.len === X86_PATCH_SIZE) return null;
  if ((insn.kind === 'jmp' || insn.kind === 'call') && insn.target !== undefined) return insn.target;
  throw new Error(`rfc poke: cannot reverse-compute ${insn.text} at ${ip.toString(16)}`);
}

export class KernelBug extends Error {}

export function bugOn(step: PokeStep, ret: number): boolean {
  if (step.bug_rets) return step.bug_rets.includes(ret);
  switch (step.bug_on) {
    case 'ret < 0':
      return ret < 0;
    case 'ret < 0 && ret != -EINVAL':
      return ret < 0 && ret !== -EINVAL;
    case 'never':
      return false;
    default:
      throw new Error(`a BUG_ON(${step.bug_on}) without the returns it fires on`);
  }
}

export interface PokeEnv {
  text: TextMemory;
  kallsyms: BpfKallsyms;
  /** Called for each synchronize_rcu() (a no-op when nothing runs concurrently). */
  synchronize_rcu?: () => void;
  /** Called with every poke's return value (tests watch for -EBUSY). */
  onPoke?: (step: PokeStep, ret: number) => void;
}

/** Performs one poke step; returns the poke's return value. */
export function doPokeStep(env: PokeEnv, step: PokeStep, poke: BpfJitPokeDescriptor, old: BpfProg | null, new_: BpfProg | null): number {
  const ip = step.site === 'tailcall_target' ? poke.tailcall_target : poke.tailcall_bypass;
  const old_addr = step.old_addr === 'current' ? currentAddr(env.text, ip) : resolveAddr(step.old_addr, poke, old, new_);
  const new_addr = resolveAddr(step.new_addr, poke, old, new_);
  return step.via === 'bpf_arch_text_poke'
    ? bpf_arch_text_poke(env.text, env.kallsyms, ip, 'BPF_MOD_JUMP', old_addr, new_addr)
    : __bpf_arch_text_poke(env.text, ip, 'BPF_MOD_JUMP', old_addr, new_addr);
}

/** Sequential `bpf_arch_poke_desc_update(poke, new, old)` for `protocol`. Throws KernelBug on a BUG_ON. */
export function bpf_arch_poke_desc_update(
  env: PokeEnv,
  protocol: PokeProtocol,
  poke: BpfJitPokeDescriptor,
  new_: BpfProg | null,
  old: BpfProg | null,
): void {
  let prev = 0;
  for (const step of protocol.steps(old !== null, new_ !== null)) {
    if (step.kind === 'synchronize_rcu') {
      if (!step.only_if_previous_wrote || prev === 0) env.synchronize_rcu?.();
      continue;
    }
    const ret = doPokeStep(env, step, poke, old, new_);
    env.onPoke?.(step, ret);
    if (bugOn(step, ret)) throw new KernelBug(`BUG_ON(${step.bug_on}) in bpf_arch_poke_desc_update: ${step.site} poke returned ${ret}`);
    prev = ret;
  }
}

