/**
 * The actors of the arm64-poke model (docs/kernel-facts.md section 5), as
 * xstate machines compiled by `compileMachine`:
 *
 * - a CPU that keeps calling one BPF program: it runs `bti c; mov x9, x30`,
 *   fetches the word at the patch site (`POKE_OFFSET`) and executes it: the
 *   nop falls through into the program body, `b` enters the freplace program,
 *   `bl` enters the BPF trampoline. The fetch is one step (`word`: an aligned
 *   32-bit instruction fetch, what an A64 CPU does) or one step per byte
 *   (`byte`: no fetch atomicity at all, what x86 must assume for its
 *   unaligned multi-byte instructions). Which EXEC_* event the CPU takes is
 *   decided by the model from the bytes it fetched; TORN when they are
 *   neither the old nor the new instruction.
 * - the patcher: a user thread attaching and detaching programs, i.e. a
 *   script of `bpf_arch_text_poke` calls, each the check under text_mutex
 *   followed by the store steps of `patchStores(method)`.
 */
import { assign, createMachine, setup, type EventObject } from 'xstate';
import { AARCH64_INSN_SIZE } from '../jit/arm64/insn.js';
import { patchStores, type Arm64PatchMethod, type Arm64PokeType } from './aarch64_patch.js';

export type Arm64Fetch = 'word' | 'byte';

export const ARM64_CPU_EVENTS: readonly EventObject[] = ['ENTER', 'FETCH_BYTE', 'EXEC_NOP', 'EXEC_B', 'EXEC_BL', 'TORN', 'RETURN'].map((type) => ({ type }));

/** The CPU machine; `got` counts the bytes of the site fetched so far (byte fetch only). */
export function arm64CpuMachine(fetch: Arm64Fetch) {
  const last = fetch === 'word' ? 0 : AARCH64_INSN_SIZE - 1;
  return setup({
    types: { context: {} as { got: number }, events: {} as { type: string } },
    actions: { reset: assign({ got: 0 }), more: assign({ got: ({ context }) => context.got + 1 }) },
    guards: { moreToFetch: ({ context }) => context.got < last },
  }).createMachine({
    id: 'cpu',
    initial: 'idle',
    context: { got: 0 },
    states: {
      idle: {
        meta: { step: 'ENTER', doc: 'calls the program: bti c; mov x9, x30' },
        on: { ENTER: 'fetch' },
      },
      fetch: {
        meta: { fetch: 'site' },
        on: {
          FETCH_BYTE: { guard: 'moreToFetch', target: 'fetch', actions: 'more' },
          EXEC_NOP: { target: 'body', actions: 'reset' },
          EXEC_B: { target: 'in_fext', actions: 'reset' },
          EXEC_BL: { target: 'in_tramp', actions: 'reset' },
          TORN: 'torn',
        },
      },
      body: { tags: ['returns'], meta: { step: 'RETURN', doc: 'runs the program body and returns' }, on: { RETURN: 'idle' } },
      in_fext: { tags: ['returns'], meta: { step: 'RETURN', doc: 'runs the freplace program, which returns to the caller' }, on: { RETURN: 'idle' } },
      in_tramp: { tags: ['returns'], meta: { step: 'RETURN', doc: 'runs the BPF trampoline (its fentry programs, then the program) and returns' }, on: { RETURN: 'idle' } },
      torn: { type: 'final', tags: ['P5'], meta: { doc: 'executed a word that is neither the old nor the new instruction; stuck here' } },
    },
  });
}

/** One `bpf_arch_text_poke(prog->bpf_func, type, old, new)` of the patcher's script. */
export interface Arm64Poke {
  readonly type: Arm64PokeType;
  /** Named targets (`fext1`, `tramp1`, ...) or null for NULL (the nop). */
  readonly old_target: string | null;
  readonly new_target: string | null;
}

export type PatcherStepMeta =
  | { op: 'check'; poke: number; doc: string }
  | { op: 'store'; poke: number; store: number; last: boolean; doc: string }
  | { op: 'done'; doc: string };

export const PATCHER_EVENTS: readonly EventObject[] = [{ type: 'STEP' }, { type: 'WRITE' }, { type: 'NO_WRITE' }];

const targetName = (t: string | null): string => t ?? 'NULL';

/**
 * The patcher: for each poke, the checks of `bpf_arch_text_poke` (one step,
 * under text_mutex: WRITE when the site holds the old word and old != new,
 * NO_WRITE otherwise), then one state per store.
 */
export function arm64PatcherMachine(pokes: readonly Arm64Poke[], method: Arm64PatchMethod) {
  const stores = patchStores(method);
  const states: Record<string, object> = {};
  const start = (i: number): string => (i < pokes.length ? `poke${i}/check` : 'done');
  pokes.forEach((p, i) => {
    const call = `bpf_arch_text_poke(bpf_func, ${p.type}, ${targetName(p.old_target)}, ${targetName(p.new_target)})`;
    states[`poke${i}/check`] = {
      meta: { step: { op: 'check', poke: i, doc: `${call}: mutex_lock(&text_mutex); aarch64_insn_read(ip) == old_insn?` } satisfies PatcherStepMeta },
      on: { WRITE: `poke${i}/store0`, NO_WRITE: start(i + 1) },
    };
    stores.forEach((s, k) => {
      const last = k === stores.length - 1;
      states[`poke${i}/store${k}`] = {
        meta: { step: { op: 'store', poke: i, store: k, last, doc: `${call}: ${s.doc}${last ? '; mutex_unlock(&text_mutex)' : ''}` } satisfies PatcherStepMeta },
        on: { STEP: last ? start(i + 1) : `poke${i}/store${k + 1}` },
      };
    });
  });
  states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the script is done' } satisfies PatcherStepMeta } };
  return createMachine({ id: 'patcher', initial: start(0), states } as never);
}
