/**
 * The xstate machines the actors of dispatcher, tailcall-cached-target,
 * recursion-detect and arm64-poke run, for `pokecheck graph --kind <actor>`
 * and the report (src/graph/actors.ts draws a model's actors when its SOURCES
 * has an entry; spread NEIGHBOUR_ACTOR_SOURCES into it). Each is rebuilt
 * from the checked model's configuration with the same definitions and
 * alphabets the model compiles.
 */
import { parseScript } from '../src/arraymap/updater.js';
import { cachedTargetUpdaterMachine, cachedUpdaterEvents, type CachedTargetProtocol } from '../src/arraymap/cached_target.js';
import { loadProtocol, shippedProtocol } from '../src/protocol/index.js';
import { cachedCpuEvents, cachedTargetCpuMachine } from '../src/arraymap/cached_target_cpu.js';
import type { CheckableModel } from '../src/concurrency/model.js';
import { UPDATER_EVENTS, dispatcherUpdaterMachine, type DispatcherProtocol } from '../src/dispatcher/bpf_dispatcher.js';
import { dispatcherCpuMachine } from '../src/dispatcher/cpu.js';
import type { ActorMachine } from '../src/graph/machine.js';
import type { Arm64PatchMethod } from '../src/poke/aarch64_patch.js';
import { ARM64_CPU_EVENTS, PATCHER_EVENTS, arm64CpuMachine, arm64PatcherMachine, type Arm64Fetch } from '../src/poke/arm64-actors.js';
import { CONTEXT_EVENTS, recursionContextMachine } from '../src/recursion/context-machine.js';
import { RECURSION_SCHEMES } from '../src/recursion/schemes.js';
import { ARM64_DEFAULT_SCRIPT, parseArm64Script } from './arm64-poke.js';
import { DISPATCHER_DEFAULT_SCRIPT, dispatcherWorld } from './dispatcher.js';
import { CACHED_DEFAULT_UPDATERS } from './tailcall-cached-target.js';

type ActorSource = (m: CheckableModel) => ActorMachine[];
const bad = (m: CheckableModel): ReadonlySet<string> => new Set(m.system.properties.map((p) => p.id));

export const NEIGHBOUR_ACTOR_SOURCES: Record<string, ActorSource> = {
  dispatcher: (m) => {
    const { plan, cpuEvents } = dispatcherWorld(m.protocol as DispatcherProtocol, m.config.script ?? DISPATCHER_DEFAULT_SCRIPT);
    return [
      { name: 'cpu', title: 'CPU running XDP through the dispatcher (src/dispatcher/cpu.ts)', machine: dispatcherCpuMachine, events: cpuEvents, violationTags: bad(m) },
      { name: 'updater', title: `bpf_dispatcher_change_prog steps, ${m.protocol} (src/dispatcher/bpf_dispatcher.ts)`, machine: dispatcherUpdaterMachine(plan), events: UPDATER_EVENTS, violationTags: bad(m) },
    ];
  },
  'tailcall-cached-target': (m) => {
    const scripts = (m.config.updaters ?? CACHED_DEFAULT_UPDATERS).split('|').map((s) => parseScript(s.trim()));
    const K = Math.max(0, ...scripts.flat().map((o) => o.prog));
    return [
      { name: 'cpu', title: "CPU taking the RFC's tail call (src/arraymap/cached_target_cpu.ts)", machine: cachedTargetCpuMachine, events: cachedCpuEvents(K), violationTags: bad(m) },
      ...scripts.map((sc, u) => ({
        name: `updater${'AB'[u]}`,
        title: `updater ${'AB'[u]}, ${m.protocol} (src/arraymap/cached_target.ts)`,
        // a --protocol-file model is named by its file's path (already read, and checked, by the model)
        machine: cachedTargetUpdaterMachine(sc, m.protocol.endsWith('.c') ? loadProtocol(m.protocol).cachedProtocol(shippedProtocol('rfc-2026')) : (m.protocol as CachedTargetProtocol), K, `updater${'AB'[u]}`),
        events: cachedUpdaterEvents(K),
        violationTags: new Set(['P4']),
      })),
    ];
  },
  'recursion-detect': (m) => [
    {
      name: 'context',
      title: `one context running get/program/put, ${m.protocol} (src/recursion/context-machine.ts)`,
      machine: recursionContextMachine(RECURSION_SCHEMES[m.protocol], Number(m.config.depth ?? '2')),
      events: CONTEXT_EVENTS,
    },
  ],
  'arm64-poke': (m) => [
    { name: 'cpu', title: 'CPU fetching the patch site (src/poke/arm64-actors.ts)', machine: arm64CpuMachine((m.config.fetch ?? 'word') as Arm64Fetch), events: ARM64_CPU_EVENTS, violationTags: bad(m) },
    {
      name: 'patcher',
      title: `bpf_arch_text_poke calls, ${m.protocol} (src/poke/arm64-actors.ts)`,
      machine: arm64PatcherMachine(parseArm64Script(m.config.script ?? ARM64_DEFAULT_SCRIPT), m.protocol as Arm64PatchMethod),
      events: PATCHER_EVENTS,
    },
  ],
};
