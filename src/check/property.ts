/**
 * pokecheck in a user's own property tests:
 *
 *     import fc from 'fast-check';
 *     import { pokeProperty } from 'pokecheck/dist/src/check/property.js';
 *     const model = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 8, options: {} });
 *     fc.assert(pokeProperty(model, { steps: 300 }), { numRuns: 2000 });
 *
 * The property plays one schedule of the model (src/check/schedule.ts) and
 * throws PokeViolation, whose message is the counterexample as `pokecheck
 * check` prints it, at the first state that violates a property; fast-check
 * shrinks the schedule and reports the shortest it found with its seed and
 * path (pass them back as `{ seed, path }` to replay it).
 */
import fc from 'fast-check';
import type { CheckableModel } from '../concurrency/model.js';
import { counterexampleText } from './format.js';
import type { Counterexample } from './result.js';
import { counterexamplesOf, modelSchedules, type ScheduleOptions } from './sample.js';
import { DEFAULT_SCHEDULER, SchedulePlayer } from './schedule.js';

export { counterexamplesOf, modelSchedules, schedules, type ScheduleOptions } from './sample.js';
export type { Schedule, SchedulerKind } from './schedule.js';

/** A model's property violated by a sampled schedule; `message` is the counterexamples as text. */
export class PokeViolation extends Error {
  constructor(readonly counterexamples: Counterexample[]) {
    super(['', ...counterexamples.flatMap((c) => ['', ...counterexampleText(c)])].join('\n'));
    this.name = 'PokeViolation';
  }
}

/** A fast-check property: no schedule of `model` (of at most `steps` steps) reaches a state that violates one of its properties. */
export function pokeProperty(model: CheckableModel, opts: ScheduleOptions = {}): fc.IPropertyWithHooks<[number[]]> {
  const scheduler = opts.scheduler ?? DEFAULT_SCHEDULER;
  const player = new SchedulePlayer(model, scheduler);
  return fc.property(modelSchedules(model, { ...opts, scheduler }), (s) => {
    if (player.play(s).violations === 0) return;
    throw new PokeViolation(counterexamplesOf(model, s, { scheduler }));
  });
}
