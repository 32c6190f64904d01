/**
 * Which xstate machines a model's actors run, so that `pokecheck graph
 * --kind <actor>` and the report can draw them: each model hands out the
 * machines it compiled (CheckableModel.actorMachines).
 */
import type { CheckableModel } from '../concurrency/model.js';
import { NEIGHBOUR_ACTOR_SOURCES } from '../../models/neighbour-actors.js';
import type { ActorMachine } from './machine.js';

/** The actors of `m` that can be drawn (none for a model that hands out no machines). */
export function actorMachines(m: CheckableModel): ActorMachine[] {
  // TRANSITIONAL (removed when the last model is on the typed layer): models not yet rewritten
  // still have their machines in models/neighbour-actors.ts.
  return m.actorMachines?.() ?? NEIGHBOUR_ACTOR_SOURCES[m.model]?.(m) ?? [];
}
