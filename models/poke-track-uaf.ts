/**
 * Model `poke-track-uaf`: a program's aux must leave the prog array's
 * tracking list before it is freed, because every map update walks the list
 * (`prog_array_map_poke_run` reads each tracked `aux->poke_tab`). Two
 * historical use-after-frees of this list (issue 15, "also";
 * src/arraymap/poke_track.ts has the versions):
 *
 * - the v5.5 follow-up: a2ea07465c8d "bpf: Fix missing prog untrack in
 *   release_maps" (Daniel Borkmann, Dec 2019) fixes da765a2f5993 ("bpf: add
 *   poke dependency tracking for prog array maps"), whose verifier error
 *   path freed a tracked aux (the fix's own message says so; kernel-poke-
 *   facts.md names da765a2f5993 as the follow-up, which is the buggy commit);
 * - f263a81451c1 "bpf: Track subprog poke descriptors correctly and fix
 *   use-after-free" (John Fastabend, v5.14-rc): v5.10-v5.13 tracked each
 *   subprogram's aux and never untracked it.
 *
 * Actors: the `loader` (one program load and release, an xstate machine per
 * version; the verifier may fail after the track, a nondeterministic
 * choice), and the `updater` (a user thread calling bpf_map_update_elem:
 * under poke_mutex, one walk of the list per step, any number of times).
 * track/untrack and the walk all hold poke_mutex, so each is one step; the
 * free does not take it.
 *
 * Property U1: no walk of the tracking list reads a freed aux.
 *
 * Abstracted: the pokes themselves (tailcall-poke, tailcall-load-race), the
 * descriptors' stable flags, kallsyms, the RCU grace period before
 * bpf_prog_free_deferred (a walk holds no RCU lock; only the list protects
 * it), more than one subprogram.
 */
import { POKE_TRACK_PROTOCOLS, TRACK_EVENTS, pokeTrackLoader, type AuxName, type PokeTrackProtocol, type TrackStepMeta } from '../src/arraymap/poke_track.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import { checkableModel, defineLayout, type Property } from '../src/model/index.js';
import { actorPart, nextStepText, stateLine } from '../src/model/state-text.js';

const AUX: readonly AuxName[] = ['main', 'sub'];
const AUX_TEXT: Record<AuxName, string> = { main: 'prog->aux', sub: 'func[1]->aux' };

export function buildPokeTrackUaf(cfg: ModelConfig): CheckableModel {
  const M = 'poke-track-uaf';
  if (!(cfg.protocol in POKE_TRACK_PROTOCOLS)) throw new ModelConfigError(`${M}: unknown protocol '${cfg.protocol}' (protocols: ${Object.keys(POKE_TRACK_PROTOCOLS).join(', ')})`);
  if (cfg.cpus !== 1) throw new ModelConfigError(`${M}: one loader and one updater (--cpus 1)`);
  const protocol = cfg.protocol as PokeTrackProtocol;
  const loader = compileMachine(pokeTrackLoader(protocol), TRACK_EVENTS);
  const meta = loader.meta.map((m) => m.step as TrackStepMeta);
  const [evStep, evFail, evOk] = ['STEP', 'FAIL', 'OK'].map((e) => loader.eventIndex(e));

  const L = defineLayout({ shared: { loader: 4, tracked: [1, 2], freed: [1, 2], uaf: 1 } });
  const { tracked, freed, uaf } = L.shared;
  const auxIndex = (a: AuxName): number => AUX.indexOf(a);

  const loaderStep = (s: Int32Array, next: Int32Array, _i: number, emit: () => void): boolean => {
    const q = L.shared.loader.get(s);
    const m = meta[q];
    if (m.op === 'done') return false;
    if (m.op === 'track') tracked.set(next, auxIndex(m.aux), 1);
    if (m.op === 'untrack') tracked.set(next, auxIndex(m.aux), 0);
    if (m.op === 'free') for (const a of m.auxes) freed.set(next, auxIndex(a), 1);
    const choices = loader.next[q * loader.events.length + evStep] >= 0 ? [evStep] : [evFail, evOk];
    for (let j = 0; j < choices.length; j++) {
      L.shared.loader.set(next, moveOrThrow(loader, q, choices[j], `${M}: loader`));
      if (j === choices.length - 1) return true;
      emit();
    }
    return false;
  };
  /** prog_array_map_poke_run: for every tracked aux, reads aux->size_poke_tab and aux->poke_tab. */
  const updaterStep = (s: Int32Array, next: Int32Array): boolean => {
    if (uaf.get(s)) return false;
    let reads = false;
    for (let a = 0; a < 2; a++) {
      if (!tracked.get(s, a)) continue;
      reads = true;
      if (freed.get(s, a)) uaf.set(next, 1);
    }
    return reads;
  };
  const properties: Property[] = [{ id: 'U1', description: 'no walk of the tracking list (prog_array_map_poke_run) reads a freed bpf_prog_aux', violated: (s) => uaf.get(s) === 1 }];

  const listText = (s: Int32Array): string => {
    const l = AUX.map((a, i) => (tracked.get(s, i) ? `${AUX_TEXT[a]}${freed.get(s, i) ? ' (FREED)' : ''}` : '')).filter(Boolean);
    return l.length ? l.join(', ') : 'empty';
  };
  return checkableModel({
    model: M,
    protocol,
    cpus: 1,
    config: {},
    layout: L,
    initial(s) {
      L.shared.loader.set(s, loader.initial);
    },
    steps: [
      { actor: 'loader', next: loaderStep },
      { actor: 'updater', next: updaterStep },
    ],
    properties,
    describe(before, after, a) {
      if (a.actor === 'loader') {
        const q = L.shared.loader.get(before);
        const nq = L.shared.loader.get(after);
        const m = meta[q];
        if (loader.values[q] === 'verified') return loader.values[nq].startsWith('release') ? 'verification fails after the track' : 'verification succeeds';
        return m.doc;
      }
      const read = AUX.filter((_, i) => tracked.get(before, i));
      return `bpf_map_update_elem: mutex_lock(&poke_mutex); prog_array_map_poke_run reads ${read.map((x) => `${AUX_TEXT[x]}->poke_tab`).join(', ')}${uaf.get(after) ? ' (USE AFTER FREE)' : ''}`;
    },
    sites: () => [],
    actorMachines: () => [{ name: 'loader', title: `Program load and release, ${protocol} (src/arraymap/poke_track.ts)`, machine: pokeTrackLoader(protocol), events: TRACK_EVENTS }],
    summary: (s) =>
      stateLine([
        `poke_progs: ${listText(s)}`,
        freed.get(s, 0) || freed.get(s, 1) ? `freed: ${AUX.filter((_, i) => freed.get(s, i)).map((x) => AUX_TEXT[x]).join(', ')}` : '',
        actorPart('loader', nextStepText(loader, L.shared.loader.get(s))),
      ]),
  });
}

export const pokeTrackUaf: ModelDefinition = {
  name: 'poke-track-uaf',
  summary: 'a tracked bpf_prog_aux freed while still on the prog array\'s poke list: the v5.5 release_maps UAF (a2ea07465c8d) and the v5.10-v5.13 subprogram UAF (f263a81451c1)',
  protocols: (Object.keys(POKE_TRACK_PROTOCOLS) as PokeTrackProtocol[]).map((p) => ({ name: p, summary: POKE_TRACK_PROTOCOLS[p] })),
  defaultProtocol: 'a2ea07465c8d',
  defaultCpus: 1,
  options: [],
  reference: [
    { protocol: 'da765a2f5993', cpus: 1, expected: 'violated', expectedViolated: ['U1'] },
    { protocol: 'a2ea07465c8d', cpus: 1, expected: 'holds' },
    { protocol: 'v5.10-subprog', cpus: 1, expected: 'violated', expectedViolated: ['U1'] },
    { protocol: 'f263a81451c1', cpus: 1, expected: 'holds' },
  ],
  build: buildPokeTrackUaf,
};
