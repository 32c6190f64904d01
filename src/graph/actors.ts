/**
 * Which xstate machines a model's actors run, so that `pokecheck graph
 * --kind <actor>` and the report can draw them: each model hands out the
 * machines it compiled (CheckableModel.actorMachines).
 */
import type { CheckableModel } from '../concurrency/model.js';
import type { ActorMachine } from './machine.js';

/** The actors of `m` that can be drawn (none for a model that hands out no machines). */
export function actorMachines(m: CheckableModel): ActorMachine[] {
  return m.actorMachines?.() ?? [];
}
