/**
 * pokecheck in your own vitest suite: random schedules of a model, every
 * property checked after every step, a failure shrunk and printed as
 * `pokecheck check` prints counterexamples. Run: npx vitest run
 *
 * A passing property here is a sample, not a proof: `pokecheck check` is the
 * complete search where it fits in memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findModel, pokeProperty } from 'pokecheck';

const tailcallPoke = (protocol: string, cpus: number) => findModel('tailcall-poke')!.build({ protocol, cpus, options: {} });

describe('direct tail-call poking, sampled', () => {
  // 8 CPUs: far past what the exhaustive search covers at this level.
  it('v5.10 (ebf7d1f508a7) at 8 CPUs: no violation in 300 schedules of 150 steps', () => {
    fc.assert(pokeProperty(tailcallPoke('v5.10', 8), { steps: 150 }), { numRuns: 300 });
  });

  it('without the synchronize_rcu() between the two pokes of a removal, a CPU sees state A', () => {
    // includeErrorInReport puts the counterexample into fast-check's own message.
    expect(() => fc.assert(pokeProperty(tailcallPoke('no-sync', 8), { steps: 150 }), { numRuns: 2000, seed: 1, includeErrorInReport: true })).toThrow(/Counterexample for P1/);
  });
});
