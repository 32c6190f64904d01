/**
 * The xstate machines the actors of recursion-detect and arm64-poke run,
 * for `pokecheck graph --kind <actor>` and the report (src/graph/actors.ts draws a model's actors when its SOURCES
 * has an entry; spread NEIGHBOUR_ACTOR_SOURCES into it). Each is rebuilt
 * from the checked model's configuration with the same definitions and
 * alphabets the model compiles.
 */
import type { CheckableModel } from '../src/concurrency/model.js';
import type { ActorMachine } from '../src/graph/machine.js';
import type { Arm64PatchMethod } from '../src/poke/aarch64_patch.js';
import { ARM64_CPU_EVENTS, PATCHER_EVENTS, arm64CpuMachine, arm64PatcherMachine, type Arm64Fetch } from '../src/poke/arm64-actors.js';
import { CONTEXT_EVENTS, recursionContextMachine } from '../src/recursion/context-machine.js';
import { RECURSION_SCHEMES } from '../src/recursion/schemes.js';
import { ARM64_DEFAULT_SCRIPT, parseArm64Script } from './arm64-poke.js';

type ActorSource = (m: CheckableModel) => ActorMachine[];
const bad = (m: CheckableModel): ReadonlySet<string> => new Set(m.system.properties.map((p) => p.id));

export const NEIGHBOUR_ACTOR_SOURCES: Record<string, ActorSource> = {
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
