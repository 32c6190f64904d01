/**
 * Loops that change many entries of a prog array one element at a time, as
 * xstate machines: the generic batch loops of kernel/bpf/syscall.c
 * (`generic_map_update_batch`, `generic_map_delete_batch`, aa2e93b8e58e
 * "bpf: Add generic support for update and delete batch ops", Brian
 * Vazquez, v5.6) and the clear of kernel/bpf/arraymap.c
 * (`bpf_fd_array_map_clear`, run by `prog_array_map_clear_deferred` when
 * the last user reference to the map goes).
 *
 * Each element is the single-element path: `bpf_fd_array_map_update_elem`
 * or `fd_array_map_delete_elem` takes `poke_mutex`, xchg's the slot, runs
 * `prog_array_map_poke_run` (the protocol's pokes, for the key the caller's
 * descriptor is on) and drops the mutex, then puts the old program. The
 * mutex is taken per element, never for the whole loop, so another updater
 * can run between two elements.
 *
 * The versions (facts from the kernel's history; the comments are ours):
 * - v5.6: aa2e93b8e58e with its memory-leak fix from the same merge window
 *   (Brian Vazquez, "bpf: Fix memory leaks in generic update/delete batch
 *   ops", Jan 2020): the key and value buffers are allocated before the
 *   loop, an -ENOMEM there returns at once and leaves `uattr->batch.count`
 *   as user space wrote it (the number of elements asked for); the loop
 *   breaks at the first element that fails (-EFAULT from copy_from_user,
 *   -ENOENT from a delete of an empty slot, ...) and writes `cp`, the number
 *   of elements done, to `batch.count`. No cond_resched() in the loop.
 * - 75134f16e7dd "bpf: Add schedule points in batch ops" (Eric Dumazet,
 *   v5.17; syzbot's soft lockups): cond_resched() after every element.
 * - 06e5c999f102 "bpf: Set uattr->batch.count as zero before batched update
 *   or deletion" (Hou Tao, Dec 2023): put_user(0, &uattr->batch.count)
 *   before the allocations, so a failed allocation reports 0.
 * - da765a2f5993 "bpf: Add poke dependency tracking for prog array maps"
 *   (v5.5): the clear deletes every entry, each with its poke_run, errors
 *   (-ENOENT on an empty slot) ignored, with no cond_resched().
 * - 4406942e65ca "bpf: Fix RCU stall in bpf_fd_array_map_clear()" (Sechang
 *   Lim, 2026): cond_resched() after every entry.
 *
 * Note: `prog_array_map_ops` has no `.map_update_batch` / `.map_delete_batch`
 * (v5.6 to today), so BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH on a prog
 * array return -ENOTSUPP from BPF_DO_BATCH without touching the map. The
 * batch loops here are the generic ones that array and hash maps use, run
 * over a prog array: what the kernel would do were they wired (docs/models.md).
 */
import { createMachine, type EventObject } from 'xstate';
import type { PokeProtocol } from './poke_desc_update.js';
import { mapOpStates, updaterEvents, type StateConfig, type UpdaterStepMeta } from './updater.js';

export type BatchOp = 'update' | 'delete';

export interface BatchLoopVersion {
  /** `batch`: generic_map_{update,delete}_batch; `clear`: bpf_fd_array_map_clear. */
  readonly kind: 'batch' | 'clear';
  /** cond_resched() after every element. */
  readonly resched: boolean;
  /** put_user(0, &uattr->batch.count) before anything can fail. */
  readonly zeroCount: boolean;
  readonly summary: string;
}

export const BATCH_LOOPS: Record<string, BatchLoopVersion> = {
  'v5.6': {
    kind: 'batch',
    resched: false,
    zeroCount: false,
    summary: 'generic_map_{update,delete}_batch as released in v5.6 (aa2e93b8e58e and its leak fix): buffers allocated before the loop (-ENOMEM leaves batch.count as user space wrote it), no cond_resched() between elements',
  },
  '75134f16e7dd': { kind: 'batch', resched: true, zeroCount: false, summary: 'v5.17 (Eric Dumazet): cond_resched() after every element; batch.count still untouched by an -ENOMEM before the loop' },
  '06e5c999f102': { kind: 'batch', resched: true, zeroCount: true, summary: '(Hou Tao, Dec 2023): batch.count set to 0 before the allocations; cond_resched() after every element' },
  da765a2f5993: { kind: 'clear', resched: false, zeroCount: false, summary: 'bpf_fd_array_map_clear (v5.5, poke tracking): deletes every entry, each with its prog_array_map_poke_run, with no cond_resched() (the RCU stall)' },
  '4406942e65ca': { kind: 'clear', resched: true, zeroCount: false, summary: 'bpf_fd_array_map_clear with cond_resched() after every entry (Sechang Lim, 2026: "Fix RCU stall")' },
};

/** A state of the batch (or clear) thread, beyond the map operation of key 0 (UpdaterStepMeta, from mapOpStates). */
export type BatchStepMeta =
  | UpdaterStepMeta
  | { op: 'zero_count'; doc: string }
  | { op: 'alloc'; doc: string }
  | { op: 'copy'; k: number; doc: string }
  /** key k >= 1: no descriptor is tracked on it, so its poke_run finds nothing; lock, xchg, unlock, put are one step */
  | { op: 'elem'; k: number; new_prog: number; doc: string }
  | { op: 'resched'; k: number; doc: string }
  | { op: 'copy_count'; cp: number; doc: string }
  | { op: 'returned'; err: string; doc: string };

export function batchEvents(progs: number): EventObject[] {
  return [...updaterEvents(progs), { type: 'ALLOC', ok: 0 } as EventObject, { type: 'ALLOC', ok: 1 } as EventObject, { type: 'COPY', ok: 0 } as EventObject, { type: 'COPY', ok: 1 } as EventObject];
}

/** Replaces transitions to `from` by `to` in the states named `prefix...` (the empty-slot path of a delete). */
function retarget(states: Record<string, StateConfig>, prefix: string, from: string, to: string): void {
  const fix = (t: unknown): unknown => {
    if (t === from) return to;
    if (Array.isArray(t)) return t.map(fix);
    if (t && typeof t === 'object' && 'target' in t) return { ...(t as object), target: fix((t as { target: unknown }).target) };
    return t;
  };
  for (const [name, st] of Object.entries(states)) {
    if (!name.startsWith(prefix) || !st.on) continue;
    st.on = Object.fromEntries(Object.entries(st.on as Record<string, unknown>).map(([e, t]) => [e, fix(t)]));
  }
}

/**
 * The thread running `version`'s loop over keys 0..entries-1. An update
 * writes f`prog` into key 0 (the key the caller's tail call uses) and some
 * program into every other key; a delete (or the clear) empties them.
 */
export function batchMachine(version: BatchLoopVersion, op: BatchOp, entries: number, progs: number, prog: number, protocol: PokeProtocol) {
  const states: Record<string, StateConfig> = {};
  const batch = version.kind === 'batch';
  const update = batch && op === 'update';
  const countAt = (cp: number): string => `count_${cp}`;
  const start = (k: number): string => (k >= entries ? (batch ? countAt(entries) : 'done') : batch ? `e${k}/copy` : k === 0 ? 'e0/xchg' : `e${k}/elem`);
  const after = (k: number): string => (version.resched ? `e${k}/cond_resched` : start(k + 1));
  /** where a failing element k goes: the batch breaks and reports cp = k; the clear ignores it and goes on */
  const failed = (k: number): string => (batch ? countAt(k) : after(k));
  const fn = batch ? (update ? 'generic_map_update_batch' : 'generic_map_delete_batch') : 'bpf_fd_array_map_clear';
  const elemFn = update ? 'bpf_fd_array_map_update_elem' : 'fd_array_map_delete_elem';

  for (let k = 0; k < entries; k++) {
    if (batch) {
      const what = update ? `keys[${k}], values[${k}]` : `keys[${k}]`;
      states[`e${k}/copy`] = {
        meta: { step: { op: 'copy', k, doc: `${fn}: copy_from_user(${what})` } satisfies BatchStepMeta },
        on: { COPY: [{ guard: ({ event }: { event: { ok: number } }) => event.ok === 1, target: k === 0 ? 'e0/xchg' : `e${k}/elem` }, { target: failed(k) }] },
      };
    }
    if (k === 0) {
      mapOpStates(states, { op: update ? 'update' : 'delete', key: 0, prog: update ? prog : 0 }, 0, 'e0', progs, protocol, after(0), () => 'if-unreferenced');
      // A delete of an empty slot runs its poke_run and then returns -ENOENT.
      if (!update) {
        retarget(states, 'e0/old_f0/', after(0), failed(0));
        const xchg = states['e0/xchg'].on as { XCHG_OLD: { target: string }[] };
        if (xchg.XCHG_OLD[0].target === after(0)) xchg.XCHG_OLD[0] = { ...xchg.XCHG_OLD[0], target: failed(0) };
      }
    } else {
      states[`e${k}/elem`] = {
        meta: {
          step: {
            op: 'elem',
            k,
            new_prog: update ? 1 : 0,
            doc: `${elemFn}(key ${k}): mutex_lock(&poke_mutex); xchg(&ptrs[${k}], ${update ? `g${k}` : 'NULL'}); prog_array_map_poke_run (no descriptor on key ${k}); mutex_unlock; put the old program`,
          } satisfies BatchStepMeta,
        },
        on: { XCHG_OLD: [{ guard: ({ event }: { event: { old: number } }) => !update && event.old === 0, target: failed(k) }, { target: after(k) }] },
      };
    }
    if (version.resched) {
      states[`e${k}/cond_resched`] = {
        meta: { step: { op: 'resched', k, doc: `${fn}: cond_resched()` } satisfies BatchStepMeta },
        on: { STEP: start(k + 1) },
      };
    }
  }
  if (batch) {
    for (let cp = 0; cp <= entries; cp++) {
      states[countAt(cp)] = {
        meta: { step: { op: 'copy_count', cp, doc: `${fn}: copy_to_user(&uattr->batch.count, &cp) with cp = ${cp}` } satisfies BatchStepMeta },
        on: { STEP: 'returned' },
      };
    }
    states.alloc = {
      meta: { step: { op: 'alloc', doc: `${fn}: the allocation of the key${update ? ' and value buffers' : ' buffer'}` } satisfies BatchStepMeta },
      on: { ALLOC: [{ guard: ({ event }: { event: { ok: number } }) => event.ok === 1, target: start(0) }, { target: 'enomem' }] },
    };
    if (version.zeroCount) {
      states.zero_count = {
        meta: { step: { op: 'zero_count', doc: `${fn}: put_user(0, &uattr->batch.count)` } satisfies BatchStepMeta },
        on: { STEP: 'alloc' },
      };
    }
    states.returned = { type: 'final', meta: { step: { op: 'returned', err: 'as the loop left it', doc: 'the system call returns' } satisfies BatchStepMeta } };
    states.enomem = { type: 'final', meta: { step: { op: 'returned', err: '-ENOMEM', doc: 'the system call returns -ENOMEM' } satisfies BatchStepMeta } };
  } else {
    states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the clear is done' } satisfies BatchStepMeta } };
  }
  states.bug = {
    type: 'final',
    tags: ['P4'],
    meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies UpdaterStepMeta },
  };
  const initial = batch ? (version.zeroCount ? 'zero_count' : 'alloc') : start(0);
  return createMachine({ id: 'batch', initial, states } as never);
}

/** A second user thread's map operations on key 0, one after the other; a put frees its program if nothing else holds it. */
export function keyUpdaterMachine(script: readonly { op: 'update' | 'delete'; key: number; prog: number }[], progs: number, protocol: PokeProtocol) {
  const states: Record<string, StateConfig> = {};
  const name = (i: number): string => (i < script.length ? `op${i}_${script[i].op === 'update' ? `update_f${script[i].prog}` : 'delete'}` : 'done');
  script.forEach((o, i) => mapOpStates(states, o, i, name(i), progs, protocol, i + 1 < script.length ? `${name(i + 1)}/xchg` : 'done', () => 'if-unreferenced'));
  states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the thread is done' } satisfies UpdaterStepMeta } };
  states.bug = {
    type: 'final',
    tags: ['P4'],
    meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies UpdaterStepMeta },
  };
  return createMachine({ id: 'updater', initial: `${name(0)}/xchg`, states } as never);
}
