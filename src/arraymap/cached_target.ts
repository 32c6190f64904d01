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
import { bugOn, type DescUpdateStep, type PokeStep, type StepSource } from './poke_desc_update.js';
import type { ScriptOp } from './updater.js';
import { userOpEvent, userOps } from './user-space.js';
import { shippedProtocol } from '../protocol/shipped.js';

export type CachedTargetProtocol = 'rfc-2026' | 'unlocked';
export const CACHED_TARGET_PROTOCOLS: Record<CachedTargetProtocol, string> = {
  'rfc-2026': 'Leon Hwang RFC (Jan 2026): xchg(&ptrs[key]) and, in prog_array_map_poke_run, xchg(&ptrs[max_entries + key], bpf_func + X86_TAIL_CALL_OFFSET), then the pokes, all under poke_mutex',
  unlocked: 'broken: the same with the cache xchg done after mutex_unlock(&poke_mutex), just before the put of the old program',
};

/** One step of the map update after its xchg (src/protocol/ checks the order against this machine). */
export type CachedChainStep =
  | { op: 'cache'; source?: StepSource; /** after mutex_unlock */ outside_mutex: boolean }
  | { op: 'desc'; step: DescUpdateStep }
  | { op: 'unlock'; source?: StepSource }
  | { op: 'put'; source?: StepSource };

/**
 * A map update of the cached-target model, compiled from a protocol file
 * (`bpf_fd_array_map_update_elem` and what it calls): mutex_lock, xchg,
 * then `chain(has_old, has_new)`; the script's closes follow.
 */
export interface CachedProtocol {
  readonly name: string;
  readonly summary: string;
  lockSource(has_new: boolean): StepSource | undefined;
  xchgSource(has_new: boolean): StepSource | undefined;
  chain(has_old: boolean, has_new: boolean): CachedChainStep[];
}

/** The shipped protocols, compiled from protocols/rfc-2026.c and protocols/unlocked.c. */
export const CACHED_PROTOCOLS: Record<CachedTargetProtocol, CachedProtocol> = {
  'rfc-2026': shippedProtocol('rfc-2026').cachedProtocol(undefined, 'rfc-2026', CACHED_TARGET_PROTOCOLS['rfc-2026']),
  unlocked: shippedProtocol('unlocked').cachedProtocol(undefined, 'unlocked', CACHED_TARGET_PROTOCOLS.unlocked),
};
export const CACHE_POKE_RETURNS: readonly number[] = [0, 1, -EBUSY, -EINVAL, -ERANGE];

export type CachedStepMeta =
  | { op: 'lock'; opIndex: number; doc: string; source?: StepSource }
  | { op: 'xchg'; opIndex: number; key: number; new_prog: number; doc: string; source?: StepSource }
  | { op: 'cache_xchg'; opIndex: number; key: number; new_prog: number; doc: string; source?: StepSource }
  | { op: 'poke'; opIndex: number; step: PokeStep; old_prog: number; new_prog: number; doc: string; source?: StepSource }
  | { op: 'sync_start'; opIndex: number; doc: string; source?: StepSource }
  | { op: 'sync_wait'; opIndex: number; doc: string; source?: StepSource }
  | { op: 'unlock'; opIndex: number; doc: string; source?: StepSource }
  | { op: 'put'; opIndex: number; prog: number; doc: string; source?: StepSource }
  | { op: 'close'; opIndex: number; prog: number; doc: string }
  | { op: 'done'; doc: string }
  | { op: 'bug'; doc: string }
  /** user space between two system calls (every sequence of operations) */
  | { op: 'choose'; doc: string };

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

/**
 * The states of one map operation `o` (its lock, its xchg, then per old
 * value the protocol's chain, then `closes`), named from `base`, ending in
 * state `after`.
 */
function mapOpStates(states: Record<string, object>, o: ScriptOp, i: number, base: string, after: string, closes: readonly number[], proto: CachedProtocol, progs: number): void {
  const verb = o.op === 'update' ? `bpf_fd_array_map_update_elem(ptrs[${o.key}] = ${pname(o.prog)})` : `fd_array_map_delete_elem(ptrs[${o.key}])`;
  const cacheDoc = `bpf_tail_call_target_update: xchg(&ptrs[max_entries + ${o.key}], ${o.prog ? `${pname(o.prog)}->bpf_func + X86_TAIL_CALL_OFFSET` : '0'})`;
  const xchgOn: object[] = [];
  for (let old = 0; old <= progs; old++) {
    const prefix = `${base}/old_${pname(old)}`;
    const chain: { name: string; meta: CachedStepMeta }[] = [];
    const add = (name: string, meta: CachedStepMeta): void => void chain.push({ name: `${prefix}/${name}`, meta });
    let j = 0;
    for (const c of proto.chain(old !== 0, o.prog !== 0)) {
      if (c.op === 'cache') {
        const doc = c.outside_mutex ? `${cacheDoc} (outside poke_mutex)` : `prog_array_map_poke_run: ${cacheDoc}`;
        add('cache', { op: 'cache_xchg', opIndex: i, key: o.key, new_prog: o.prog, doc, source: c.source });
      } else if (c.op === 'unlock') add('unlock', { op: 'unlock', opIndex: i, doc: 'mutex_unlock(&poke_mutex)', source: c.source });
      else if (c.op === 'put') add('put', { op: 'put', opIndex: i, prog: old, doc: `bpf_prog_put(${pname(old)})`, source: c.source });
      else {
        const s = c.step;
        if (s.kind === 'poke') {
          add(`${j}_poke_${s.site}`, { op: 'poke', opIndex: i, step: s, old_prog: old, new_prog: o.prog, doc: `bpf_arch_poke_desc_update: ${s.via}(${s.site}, BPF_MOD_JUMP, ${addrName(s.old_addr, old, o.prog)}, ${addrName(s.new_addr, old, o.prog)})`, source: s.source });
        } else {
          add(`${j}_sync`, { op: 'sync_start', opIndex: i, doc: 'bpf_arch_poke_desc_update: synchronize_rcu(): a grace period starts', source: s.source });
          add(`${j}_sync_wait`, { op: 'sync_wait', opIndex: i, doc: 'synchronize_rcu() returns', source: s.source });
        }
        j++;
      }
    }
    for (const p of closes) add(`close_${pname(p)}`, { op: 'close', opIndex: i, prog: p, doc: `close(fd of ${pname(p)}): bpf_prog_put(${pname(p)})` });
    xchgOn.push({ guard: ({ event }: { event: { old: number } }) => event.old === old, target: chain[0].name });
    chain.forEach((c, j) => {
      const next = j + 1 < chain.length ? chain[j + 1].name : after;
      if (c.meta.op === 'poke') {
        const step = c.meta.step;
        states[c.name] = {
          meta: { step: c.meta },
          on: { RET: [{ guard: ({ event }: { event: { ret: number } }) => bugOn(step, event.ret), target: 'bug' }, { target: next }] },
        };
      } else {
        states[c.name] = { meta: { step: c.meta }, on: { [c.meta.op === 'sync_wait' ? 'GP_DONE' : 'STEP']: next } };
      }
    });
  }
  states[`${base}/lock`] = {
    meta: { step: { op: 'lock', opIndex: i, doc: `${verb}: mutex_lock(&poke_mutex)`, source: proto.lockSource(o.prog !== 0) } satisfies CachedStepMeta },
    on: { LOCK: `${base}/xchg` },
  };
  states[`${base}/xchg`] = {
    meta: { step: { op: 'xchg', opIndex: i, key: o.key, new_prog: o.prog, doc: `old = xchg(&ptrs[${o.key}], ${pname(o.prog)})`, source: proto.xchgSource(o.prog !== 0) } satisfies CachedStepMeta },
    on: { XCHG_OLD: xchgOn },
  };
}

const finalStates = (states: Record<string, object>): void => {
  states.bug = { type: 'final', tags: ['P4'], meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies CachedStepMeta } };
};

/**
 * One updater of every sequence of map operations (src/arraymap/user-space.ts's
 * operations on key 0 and programs f1..f`progs`): from `user_space` it may
 * update key 0 with any program, delete key 0, close a program's fd or load a
 * program, forever. Which are enabled (the fd is open, the image is free),
 * the references an update takes when it looks its fd up, and the closes and
 * loads themselves are the model's to decide from the shared state.
 */
export function cachedAnyOpsUpdaterMachine(progs: number, protocol: CachedTargetProtocol | CachedProtocol, id: string) {
  const proto = typeof protocol === 'string' ? CACHED_PROTOCOLS[protocol] : protocol;
  const states: Record<string, object> = {};
  const on: object[] = [];
  userOps(progs).forEach((o, i) => {
    const ev = userOpEvent(o) as EventObject & { op: string; prog: number };
    const guard = ({ event }: { event: { op: string; prog: number } }) => event.op === ev.op && event.prog === ev.prog;
    if (o.op === 'update' || o.op === 'delete') {
      const base = o.op === 'update' ? `update_f${o.prog}` : 'delete';
      mapOpStates(states, { op: o.op, key: 0, prog: o.op === 'update' ? o.prog : 0 }, i, base, 'user_space', [], proto, progs);
      on.push({ guard, target: `${base}/lock` });
    } else on.push({ guard, target: 'user_space' });
  });
  states.user_space = { meta: { step: { op: 'choose', doc: 'user space chooses its next system call' } satisfies CachedStepMeta }, on: { USER: on } };
  finalStates(states);
  return createMachine({ id, initial: 'user_space', states } as never);
}

export function cachedAnyOpsEvents(progs: number): EventObject[] {
  return [...cachedUpdaterEvents(progs), ...userOps(progs).map(userOpEvent)];
}

/** The updater machine for `script` (program numbers 1-based, all on `key`s of one prog array) under a shipped protocol or a compiled file. */
export function cachedTargetUpdaterMachine(script: readonly ScriptOp[], protocol: CachedTargetProtocol | CachedProtocol, progs: number, id: string) {
  const proto = typeof protocol === 'string' ? CACHED_PROTOCOLS[protocol] : protocol;
  const states: Record<string, object> = {};
  const opStart = (i: number): string => (i < script.length ? `op${i}/lock` : 'done');
  script.forEach((o, i) => {
    const closes = o.prog && !script.slice(i + 1).some((p) => p.prog === o.prog) ? [o.prog] : [];
    mapOpStates(states, o, i, `op${i}`, opStart(i + 1), closes, proto, progs);
  });
  states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the script is done' } satisfies CachedStepMeta } };
  finalStates(states);
  return createMachine({ id, initial: opStart(0), states } as never);
}
