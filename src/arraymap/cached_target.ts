/**
 * The prog-array update of Leon Hwang's 2026 RFC (patch 1/4,
 * 20260102150032.53106-2-leon.hwang@linux.dev; docs/kernel-facts.md 3e):
 * next to `ptrs[key]`, the array keeps `ptrs[max_entries + key]` = the
 * tail-call target (`new->bpf_func + bpf_arch_tail_call_prologue_offset()`,
 * or 0), written with `xchg` by `bpf_tail_call_target_update`.
 *
 * One updater (a user thread calling bpf_map_update_elem /
 * bpf_map_delete_elem) as an xstate machine generated from its script:
 *
 *   mutex_lock(&poke_mutex) -> old = xchg(&ptrs[key], new)
 *   -> [rfc-2026]  xchg(&ptrs[max_entries + key], target(new))   (prog_array_map_poke_run)
 *   -> the pokes of every tracked direct descriptor (bpf_arch_poke_desc_update, v6.7 order)
 *   -> mutex_unlock(&poke_mutex)
 *   -> [unlocked]  xchg(&ptrs[max_entries + key], target(new))   (outside the mutex)
 *   -> bpf_prog_put(old)
 *   -> close(fd) of each of its own programs after their last use.
 *
 * Several updaters may run concurrently; poke_mutex orders their critical
 * sections. A program's references: its fd (held by the updater that loaded
 * it until it closes it) and the map's (taken by the xchg that installs it,
 * dropped by the put after the xchg that removes it).
 */
import { createMachine, type EventObject } from 'xstate';
import { EBUSY, EINVAL, ERANGE } from '../poke/errno.js';
import { bugOn, PROTOCOLS, type PokeStep } from './poke_desc_update.js';
import type { ScriptOp } from './updater.js';

export type CachedTargetProtocol = 'rfc-2026' | 'unlocked';
export const CACHED_TARGET_PROTOCOLS: Record<CachedTargetProtocol, string> = {
  'rfc-2026': 'Leon Hwang RFC (Jan 2026): xchg(&ptrs[key]) and, in prog_array_map_poke_run, xchg(&ptrs[max_entries + key], bpf_func + X86_TAIL_CALL_OFFSET), then the pokes, all under poke_mutex',
  unlocked: 'broken: the same with the cache xchg done after mutex_unlock(&poke_mutex), just before the put of the old program',
};

/** The direct descriptors are re-poked in the v6.7 order (bpf_arch_poke_desc_update, BUG_ON(ret < 0)). */
export const DESC_PROTOCOL = PROTOCOLS['v6.7'];
export const CACHE_POKE_RETURNS: readonly number[] = [0, 1, -EBUSY, -EINVAL, -ERANGE];

export type CachedStepMeta =
  | { op: 'lock'; opIndex: number; doc: string }
  | { op: 'xchg'; opIndex: number; key: number; new_prog: number; doc: string }
  | { op: 'cache_xchg'; opIndex: number; key: number; new_prog: number; doc: string }
  | { op: 'poke'; opIndex: number; step: PokeStep; old_prog: number; new_prog: number; doc: string }
  | { op: 'sync_start'; opIndex: number; doc: string }
  | { op: 'sync_wait'; opIndex: number; doc: string }
  | { op: 'unlock'; opIndex: number; doc: string }
  | { op: 'put'; opIndex: number; prog: number; doc: string }
  | { op: 'close'; opIndex: number; prog: number; doc: string }
  | { op: 'done'; doc: string }
  | { op: 'bug'; doc: string };

export function cachedUpdaterEvents(progs: number): EventObject[] {
  const evs: EventObject[] = [{ type: 'STEP' }, { type: 'LOCK' }, { type: 'GP_DONE' }];
  for (let k = 0; k <= progs; k++) evs.push({ type: 'XCHG_OLD', old: k } as EventObject);
  for (const r of CACHE_POKE_RETURNS) evs.push({ type: 'RET', ret: r } as EventObject);
  return evs;
}

const pname = (k: number): string => (k ? `f${k}` : 'NULL');
/** A poke step's symbolic address for programs old -> new. */
const addrName = (a: PokeStep['old_addr'], old: number, new_: number): string =>
  a === 'old' ? (old ? `${pname(old)}+off` : 'NULL') : a === 'new' ? (new_ ? `${pname(new_)}+off` : 'NULL') : a;

/** The updater machine for `script` (program numbers 1-based, all on `key`s of one prog array). */
export function cachedTargetUpdaterMachine(script: readonly ScriptOp[], protocol: CachedTargetProtocol, progs: number, id: string) {
  const states: Record<string, object> = {};
  const opStart = (i: number): string => (i < script.length ? `op${i}/lock` : 'done');
  script.forEach((o, i) => {
    const base = `op${i}`;
    const verb = o.op === 'update' ? `bpf_fd_array_map_update_elem(ptrs[${o.key}] = ${pname(o.prog)})` : `fd_array_map_delete_elem(ptrs[${o.key}])`;
    const cacheDoc = `bpf_tail_call_target_update: xchg(&ptrs[max_entries + ${o.key}], ${o.prog ? `${pname(o.prog)}->bpf_func + X86_TAIL_CALL_OFFSET` : '0'})`;
    const closes = o.prog && !script.slice(i + 1).some((p) => p.prog === o.prog) ? [o.prog] : [];
    const xchgOn: object[] = [];
    for (let old = 0; old <= progs; old++) {
      const prefix = `${base}/old_${pname(old)}`;
      const chain: { name: string; meta: CachedStepMeta }[] = [];
      const add = (name: string, meta: CachedStepMeta): void => void chain.push({ name: `${prefix}/${name}`, meta });
      if (protocol === 'rfc-2026') add('cache', { op: 'cache_xchg', opIndex: i, key: o.key, new_prog: o.prog, doc: `prog_array_map_poke_run: ${cacheDoc}` });
      DESC_PROTOCOL.steps(old !== 0, o.prog !== 0).forEach((s, j) => {
        if (s.kind === 'poke') {
          add(`${j}_poke_${s.site}`, { op: 'poke', opIndex: i, step: s, old_prog: old, new_prog: o.prog, doc: `bpf_arch_poke_desc_update: ${s.via}(${s.site}, BPF_MOD_JUMP, ${addrName(s.old_addr, old, o.prog)}, ${addrName(s.new_addr, old, o.prog)})` });
        } else {
          add(`${j}_sync`, { op: 'sync_start', opIndex: i, doc: 'bpf_arch_poke_desc_update: synchronize_rcu(): a grace period starts' });
          add(`${j}_sync_wait`, { op: 'sync_wait', opIndex: i, doc: 'synchronize_rcu() returns' });
        }
      });
      add('unlock', { op: 'unlock', opIndex: i, doc: 'mutex_unlock(&poke_mutex)' });
      if (protocol === 'unlocked') add('cache', { op: 'cache_xchg', opIndex: i, key: o.key, new_prog: o.prog, doc: `${cacheDoc} (outside poke_mutex)` });
      if (old) add('put', { op: 'put', opIndex: i, prog: old, doc: `bpf_prog_put(${pname(old)})` });
      for (const p of closes) add(`close_${pname(p)}`, { op: 'close', opIndex: i, prog: p, doc: `close(fd of ${pname(p)}): bpf_prog_put(${pname(p)})` });
      xchgOn.push({ guard: ({ event }: { event: { old: number } }) => event.old === old, target: chain[0].name });
      chain.forEach((c, j) => {
        const after = j + 1 < chain.length ? chain[j + 1].name : opStart(i + 1);
        if (c.meta.op === 'poke') {
          const step = c.meta.step;
          states[c.name] = {
            meta: { step: c.meta },
            on: { RET: [{ guard: ({ event }: { event: { ret: number } }) => bugOn(step, event.ret), target: 'bug' }, { target: after }] },
          };
        } else {
          states[c.name] = { meta: { step: c.meta }, on: { [c.meta.op === 'sync_wait' ? 'GP_DONE' : 'STEP']: after } };
        }
      });
    }
    states[`${base}/lock`] = {
      meta: { step: { op: 'lock', opIndex: i, doc: `${verb}: mutex_lock(&poke_mutex)` } satisfies CachedStepMeta },
      on: { LOCK: `${base}/xchg` },
    };
    states[`${base}/xchg`] = {
      meta: { step: { op: 'xchg', opIndex: i, key: o.key, new_prog: o.prog, doc: `old = xchg(&ptrs[${o.key}], ${pname(o.prog)})` } satisfies CachedStepMeta },
      on: { XCHG_OLD: xchgOn },
    };
  });
  states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the script is done' } satisfies CachedStepMeta } };
  states.bug = { type: 'final', tags: ['P4'], meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies CachedStepMeta } };
  return createMachine({ id, initial: opStart(0), states } as never);
}
