/**
 * The life of a program with one direct tail call, as the prog array sees it
 * (docs/kernel-facts.md 1.7, 2.2, 3c), as an xstate machine: one state per
 * step that another CPU's map update can interleave with.
 *
 * Load (`bpf_prog_load`):
 *   1. `bpf_check` -> `fixup_bpf_calls` (v5.5-v5.12; `do_misc_fixups` since
 *      e6ac593372aa, v5.13) -> `prog_array_map_poke_track`: the
 *      program's aux joins `array->aux->poke_progs` (under poke_mutex);
 *   2. `bpf_int_jit_compile` -> `bpf_tail_call_direct_fixup`, under
 *      poke_mutex: `target = array->ptrs[key]`; if set, poke the target site
 *      nop5 -> jmp and the bypass jmp out -> nop5 (C -> D -> B) with
 *      `__bpf_arch_text_poke` and `BUG_ON(ret < 0)`; then
 *      `WRITE_ONCE(poke->tailcall_target_stable, true)`; unlock;
 *   3. only later `bpf_prog_kallsyms_add`: from here `is_bpf_text_address`
 *      knows the image.
 * Release (`bpf_prog_put` of the last reference):
 *   4. `bpf_prog_kallsyms_del_all`;
 *   5. after a grace period, `bpf_prog_free_deferred` -> `__bpf_free_used_maps`
 *      -> `prog_array_map_poke_untrack` (under poke_mutex); the image is freed
 *      after that.
 *
 * Steps that take poke_mutex carry `lock: true` in their meta (the model
 * enables them only while it is free); states tagged `holds_poke_mutex` hold
 * it. The fixup's pokes are PokeSteps run by the same `doPokeStep` as the
 * map updates.
 */
import { assign, setup, type EventObject } from 'xstate';
import type { PokeStep } from './poke_desc_update.js';
import { POKE_RETURNS } from './updater.js';

/** `bpf_tail_call_direct_fixup`'s two pokes, in order (C -> D -> B). */
export const BPF_TAIL_CALL_DIRECT_FIXUP: readonly PokeStep[] = [
  { kind: 'poke', site: 'tailcall_target', old_addr: 'NULL', new_addr: 'new', via: '__bpf_arch_text_poke', bug_on: 'ret < 0' },
  { kind: 'poke', site: 'tailcall_bypass', old_addr: 'bypass_addr', new_addr: 'NULL', via: '__bpf_arch_text_poke', bug_on: 'ret < 0' },
];

export type LoadOp = 'track' | 'fixup_lock' | 'fixup_poke' | 'stable' | 'unlock' | 'kallsyms_add' | 'kallsyms_del' | 'untrack' | 'done' | 'bug';

export interface LoadStepMeta {
  op: LoadOp;
  /** takes poke_mutex (enabled only while it is free) */
  lock?: boolean;
  /** for fixup_poke: index into BPF_TAIL_CALL_DIRECT_FIXUP */
  fixup?: number;
  doc: string;
}

export function progLoadEvents(progs: number): EventObject[] {
  const evs: EventObject[] = [{ type: 'STEP' }];
  for (let k = 0; k <= progs; k++) evs.push({ type: 'READ_PTRS', prog: k } as EventObject);
  for (const r of POKE_RETURNS) evs.push({ type: 'RET', ret: r } as EventObject);
  return evs;
}

const step = (meta: LoadStepMeta, target: string, tags: string[] = []) => ({ tags, meta: { step: meta }, on: { STEP: target } });
const fixupPoke = (i: number, target: string) => ({
  tags: ['holds_poke_mutex'],
  meta: {
    step: {
      op: 'fixup_poke',
      fixup: i,
      doc: `bpf_tail_call_direct_fixup: __bpf_arch_text_poke(${BPF_TAIL_CALL_DIRECT_FIXUP[i].site}, BPF_MOD_JUMP, ${i === 0 ? 'NULL, target+off' : 'bypass_addr, NULL'}); BUG_ON(ret < 0)`,
    } satisfies LoadStepMeta,
  },
  on: { RET: [{ guard: ({ event }: { event: { ret: number } }) => event.ret < 0, target: 'bug' }, { target }] },
});

export const progLoadMachine = setup({
  types: { context: {} as { target: number }, events: {} as { type: 'STEP' } | { type: 'READ_PTRS'; prog: number } | { type: 'RET'; ret: number } },
}).createMachine({
  id: 'prog_load',
  initial: 'map_poke_track',
  context: { target: 0 },
  states: {
    map_poke_track: step({ op: 'track', lock: true, doc: 'bpf_check: fixup_bpf_calls (do_misc_fixups since v5.13): prog_array_map_poke_track(map, aux) (under poke_mutex)' }, 'fixup_lock'),
    fixup_lock: {
      meta: { step: { op: 'fixup_lock', lock: true, doc: 'bpf_int_jit_compile: bpf_tail_call_direct_fixup: mutex_lock(&array->aux->poke_mutex); target = array->ptrs[key]' } satisfies LoadStepMeta },
      on: {
        READ_PTRS: [
          { guard: ({ event }) => event.type === 'READ_PTRS' && event.prog === 0, target: 'stable' },
          { target: 'fixup_target', actions: assign({ target: ({ event }) => (event.type === 'READ_PTRS' ? event.prog : 0) }) },
        ],
      },
    },
    fixup_target: fixupPoke(0, 'fixup_bypass'),
    fixup_bypass: fixupPoke(1, 'stable'),
    stable: step({ op: 'stable', doc: 'bpf_tail_call_direct_fixup: WRITE_ONCE(poke->tailcall_target_stable, true)' }, 'unlock', ['holds_poke_mutex']),
    unlock: step({ op: 'unlock', doc: 'bpf_tail_call_direct_fixup: mutex_unlock(&array->aux->poke_mutex)' }, 'kallsyms_add', ['holds_poke_mutex']),
    kallsyms_add: step({ op: 'kallsyms_add', doc: 'bpf_prog_load: bpf_prog_kallsyms_add(prog) (the image becomes known BPF text)' }, 'kallsyms_del'),
    kallsyms_del: step({ op: 'kallsyms_del', doc: 'bpf_prog_put: __bpf_prog_put_noref: bpf_prog_kallsyms_del_all(prog)' }, 'map_poke_untrack'),
    map_poke_untrack: step({ op: 'untrack', lock: true, doc: 'bpf_prog_free_deferred: __bpf_free_used_maps: prog_array_map_poke_untrack(map, aux) (under poke_mutex)' }, 'done'),
    done: { type: 'final', meta: { step: { op: 'done', doc: 'the program is unloaded' } satisfies LoadStepMeta } },
    bug: { type: 'final', tags: ['P4'], meta: { step: { op: 'bug', doc: 'BUG_ON in bpf_tail_call_direct_fixup' } satisfies LoadStepMeta } },
  },
});
