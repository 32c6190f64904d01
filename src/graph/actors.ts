/**
 * Which xstate machines a model's actors run, so that `pokecheck graph
 * --kind <actor>` and the report can draw them. A CheckableModel is a packed
 * transition system and does not hand out its machines, so each model that
 * wants its actors drawn has an entry here, built from the same machine
 * definitions and event alphabets the model compiles.
 */
import type { EventObject } from 'xstate';
import { PROTOCOLS } from '../arraymap/poke_desc_update.js';
import { loadProtocol } from '../protocol/index.js';
import { parseScript, scriptPrograms, updaterEvents, updaterMachine } from '../arraymap/updater.js';
import type { CheckableModel } from '../concurrency/model.js';
import { cpuEvents, tailCallCpuMachine } from '../concurrency/cpu.js';
import { errnoName } from '../poke/errno.js';
import { pokeSiteMachine, siteEvents } from '../poke/site-machine.js';
import { NEIGHBOUR_ACTOR_SOURCES } from '../../models/neighbour-actors.js';
import type { ActorMachine } from './machine.js';

type ActorSource = (m: CheckableModel) => ActorMachine[];

const prog = (k: unknown): string => (k ? `f${String(k)}` : 'NULL');

/** The tail-call poke actors: a CPU, the A-D poke site, the updater for the model's script and protocol. */
const tailcallActors: ActorSource = (m) => {
  if ((m.config.level ?? 'instruction') !== 'instruction') return []; // the byte-level model runs other machines
  const script = parseScript(m.config.script ?? '');
  const K = scriptPrograms(script);
  const bad = new Set(['forbidden', ...m.system.properties.map((p) => p.id)]);
  const actors: ActorMachine[] = [
    { name: 'cpu', title: 'CPU executor of the direct tail call (src/concurrency/cpu.ts)', machine: tailCallCpuMachine, events: cpuEvents(K), violationTags: bad },
    {
      name: 'site',
      title: 'Poke site states A-D (src/poke/site-machine.ts)',
      machine: pokeSiteMachine,
      events: siteEvents(K),
      targets: ['A', 'B', 'C', 'D'],
      violationTags: bad,
    },
  ];
  // A --protocol-file model is named by its file's path (already read, and checked, by the model).
  const protocol = PROTOCOLS[m.protocol] ?? (m.protocol.endsWith('.c') ? loadProtocol(m.protocol).pokeProtocol() : undefined);
  if (protocol) {
    actors.push({
      name: 'updater',
      title: `Updater for "${m.config.script}" under ${m.protocol} (src/arraymap/updater.ts)`,
      machine: updaterMachine(script, protocol),
      events: updaterEvents(K),
      violationTags: bad,
      formatEvent: (e: EventObject) => {
        const p = e as EventObject & { old?: number; ret?: number };
        if (p.type === 'XCHG_OLD') return `old=${prog(p.old)}`;
        if (p.type === 'RET') return errnoName(p.ret ?? 0);
        return '';
      },
    });
  }
  return actors;
};

const SOURCES: Record<string, ActorSource> = {
  'tailcall-poke': tailcallActors,
  ...NEIGHBOUR_ACTOR_SOURCES,
};

/** The actors of `m` that can be drawn (empty for a model without an entry). */
export function actorMachines(m: CheckableModel): ActorMachine[] {
  return SOURCES[m.model]?.(m) ?? [];
}
