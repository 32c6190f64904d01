/**
 * The life of a program's `bpf_prog_aux` on a prog array's tracking list
 * (`prog_array_map_poke_track` / `_untrack`, docs/kernel-facts.md 2.2), per
 * kernel version, as an xstate machine: the loader's steps from the
 * verifier's `map_poke_track` to the free of the aux(es).
 *
 * The map walks its list on every update (`prog_array_map_poke_run` reads
 * each tracked `aux->poke_tab` / `size_poke_tab`), so an aux must leave the
 * list before it is freed.
 *
 * - `da765a2f5993` ("bpf: add poke dependency tracking for prog array maps",
 *   v5.5 merge window): the verifier tracks the main program's aux once its
 *   poke table is final; if verification fails after that, `release_maps()`
 *   only drops the map references (`env->used_maps`; `aux->used_maps` is
 *   not set yet), and the aux is freed while still listed.
 * - `a2ea07465c8d` ("bpf: Fix missing prog untrack in release_maps",
 *   Dec 2019, v5.5-rc): `release_maps()` calls `__bpf_free_used_maps()`,
 *   which untracks before `bpf_map_put()`.
 * - `v5.10-subprog` (v5.10-v5.13): `jit_subprogs` gives each function
 *   (`func[i]`) its own copy of the descriptors in its range, tracks
 *   `func[i]->aux`, then untracks `prog->aux` ("each of the main program's
 *   poke descs got distributed across subprogs"); the release
 *   (`bpf_free_used_maps(prog->aux)`) untracks only `prog->aux`, and
 *   `bpf_jit_free(func[i])` frees a still-listed aux. The KASAN report in
 *   f263a81451c1's message (20210707223848.14580-2-john.fastabend@gmail.com)
 *   is this read of `elem->aux->size_poke_tab`. The model keeps one function,
 *   `func[1]`, the one with the tail call.
 * - `f263a81451c1` ("bpf: Track subprog poke descriptors correctly and fix
 *   use-after-free", John Fastabend, v5.14-rc): subprograms share the main
 *   program's poke table and only the main aux is tracked.
 *
 * Every version may fail verification after the track (the failure path) or
 * load and later drop its last reference (the release path). The machine's
 * meta `op` says what a step does to the list and to the auxes.
 */
import { createMachine, type AnyStateMachine, type EventObject } from 'xstate';

export type PokeTrackProtocol = 'da765a2f5993' | 'a2ea07465c8d' | 'v5.10-subprog' | 'f263a81451c1';

export const POKE_TRACK_PROTOCOLS: Record<PokeTrackProtocol, string> = {
  da765a2f5993: 'v5.5 merge window: a verification failure after map_poke_track frees the aux without untracking it (release_maps only puts the maps)',
  a2ea07465c8d: 'v5.5-rc fix: release_maps calls __bpf_free_used_maps, which untracks before bpf_map_put',
  'v5.10-subprog': 'v5.10-v5.13: jit_subprogs tracks each subprogram\'s own aux; the release untracks only the main aux',
  f263a81451c1: 'v5.14-rc fix: subprograms share the main poke_tab; only the main aux is tracked',
};

/** Which aux a step concerns: the main program's or the subprogram's. */
export type AuxName = 'main' | 'sub';

export type TrackStepMeta =
  | { op: 'track'; aux: AuxName; doc: string }
  | { op: 'untrack'; aux: AuxName; doc: string }
  | { op: 'free'; auxes: AuxName[]; doc: string }
  | { op: 'plain'; doc: string }
  | { op: 'done'; doc: string };

export const TRACK_EVENTS: EventObject[] = [{ type: 'STEP' }, { type: 'FAIL' }, { type: 'OK' }];

export function pokeTrackLoader(protocol: PokeTrackProtocol): AnyStateMachine {
  const subprogs = protocol === 'v5.10-subprog' || protocol === 'f263a81451c1';
  const fixedRelease = protocol !== 'da765a2f5993';
  const auxes: AuxName[] = subprogs ? ['main', 'sub'] : ['main'];
  const step = (meta: TrackStepMeta, target: string) => ({ meta: { step: meta }, on: { STEP: target } });
  const states: Record<string, object> = {
    track_main: step({ op: 'track', aux: 'main', doc: 'verifier (fixup_bpf_calls; do_misc_fixups since v5.13): map_poke_track(map, prog->aux)' }, 'verified'),
    verified: {
      meta: { step: { op: 'plain', doc: 'the rest of verification' } satisfies TrackStepMeta },
      on: { FAIL: fixedRelease ? 'release_maps_untrack' : 'release_maps_put', OK: subprogs ? 'jit_subprogs' : 'loaded' },
    },
    release_maps_put: step({ op: 'plain', doc: 'verification fails: release_maps: bpf_map_put(env->used_maps[i]) (no untrack)' }, 'free_failed'),
    release_maps_untrack: step({ op: 'untrack', aux: 'main', doc: 'verification fails: release_maps -> __bpf_free_used_maps: map_poke_untrack(map, aux); bpf_map_put(map)' }, 'free_failed'),
    free_failed: step({ op: 'free', auxes: ['main'], doc: 'bpf_prog_load error path: the program and its aux are freed' }, 'done'),
    loaded: step({ op: 'plain', doc: 'JIT, bpf_tail_call_direct_fixup, the program runs; its last reference goes' }, 'release_untrack_main'),
    release_untrack_main: step({ op: 'untrack', aux: 'main', doc: 'bpf_prog_free_deferred -> bpf_free_used_maps(prog->aux): map_poke_untrack(map, prog->aux)' }, 'free_loaded'),
    free_loaded: step({ op: 'free', auxes, doc: `bpf_jit_free / bpf_prog_free: ${auxes.map((a) => (a === 'main' ? 'prog->aux' : 'func[1]->aux')).join(' and ')} freed` }, 'done'),
    done: { type: 'final', meta: { step: { op: 'done', doc: 'done' } satisfies TrackStepMeta } },
  };
  if (subprogs) {
    states.jit_subprogs =
      protocol === 'v5.10-subprog'
        ? step({ op: 'track', aux: 'sub', doc: "jit_subprogs: func[1]->aux gets its own poke_tab copy; map_poke_track(map, func[1]->aux)" }, 'untrack_main')
        : step({ op: 'plain', doc: "jit_subprogs: func[1]->aux->poke_tab = prog->aux->poke_tab (shared, not tracked)" }, 'loaded');
    if (protocol === 'v5.10-subprog') {
      states.untrack_main = step({ op: 'untrack', aux: 'main', doc: "jit_subprogs: map_poke_untrack(map, prog->aux) (the descriptors now live in the functions' copies)" }, 'loaded');
    }
  }
  return createMachine({ id: `loader-${protocol}`, initial: 'track_main', states } as never) as unknown as AnyStateMachine;
}
