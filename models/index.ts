/** Every model pokecheck ships, in the order `list` and `check --all` show them. */
import type { ModelDefinition } from '../src/concurrency/model.js';
import { tailcallPoke } from './tailcall-poke.js';
import { tailcallLoadRace } from './tailcall-load-race.js';
import { tailcallHierarchy } from './tailcall-hierarchy.js';
import { arm64Poke } from './arm64-poke.js';
import { recursionDetect } from './recursion-detect.js';
import { dispatcher } from './dispatcher.js';
import { tailcallCachedTarget } from './tailcall-cached-target.js';
import { sleepableTailcall } from './sleepable-tailcall.js';
import { pokeTrackUaf } from './poke-track-uaf.js';
import { mmapFreeze } from './mmap-freeze.js';
import { tailcallBatch } from './tailcall-batch.js';

export const MODELS: readonly ModelDefinition[] = [
  tailcallPoke,
  tailcallLoadRace,
  tailcallHierarchy,
  arm64Poke,
  recursionDetect,
  dispatcher,
  tailcallCachedTarget,
  sleepableTailcall,
  pokeTrackUaf,
  mmapFreeze,
  tailcallBatch,
];

export function findModel(name: string): ModelDefinition | undefined {
  return MODELS.find((m) => m.name === name);
}
