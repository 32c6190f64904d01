/**
 * The parallel search (--workers): for every reference configuration of every
 * model, the same verdict as the kernel's history expects, and the same
 * states, transitions, depth, property statuses and counterexample lengths as
 * the one-thread search; counterexamples that replay; the same output on
 * every run; limits, and errors in a worker, reported rather than hung on.
 */
import { describe, expect, it } from 'vitest';
import { MODELS, findModel } from '../models/index.js';
import { resultText } from '../src/check/format.js';
import { runCheck, type CheckOptions, type ModelOrigin } from '../src/check/result.js';
import { matchesExpectation } from '../src/check/reference.js';
import { cli } from './helpers/cli.js';

function check(origin: ModelOrigin, opts: CheckOptions) {
  return runCheck(findModel(origin.model)!.build(origin.config), { ...opts, origin });
}

describe('parallel search: every reference configuration', () => {
  for (const def of MODELS) {
    for (const ref of def.reference) {
      const origin: ModelOrigin = { model: def.name, config: { protocol: ref.protocol, cpus: ref.cpus, options: ref.options ?? {} } };
      const name = `${def.name} ${ref.protocol} ${JSON.stringify(ref.options ?? {})} N=${ref.cpus}: expected ${ref.expected}`;
      it(name, () => {
        const one = check(origin, { symmetry: 'auto' });
        const two = check(origin, { symmetry: 'auto', workers: 2 });
        expect(matchesExpectation(ref, two)).toBe(true);
        expect(two.verdict).toBe(one.verdict);
        expect(two.properties).toEqual(one.properties);
        expect(two.workers).toBe(findModel(def.name)!.build(origin.config).system.parallel ? 2 : 1);
        // A search that stops once every checked property is violated stops at
        // a different point on two threads; a complete one finds the same.
        if (one.properties.some((p) => p.status === 'holds')) {
          expect([two.states, two.transitions, two.depth]).toEqual([one.states, one.transitions, one.depth]);
        }
        const lengths = (r: typeof one) => r.counterexamples.map((c) => [c.property, c.steps.length]);
        expect(lengths(two)).toEqual(lengths(one));
      });
    }
  }
});

describe('parallel search: the full product', () => {
  // State counts that SPIN's twin of the model (bench/spin/tailcall-poke.pml) also finds.
  const SPIN_STATES: [string, number, number][] = [
    ['v5.10', 3, 7_362],
    ['v5.10', 4, 65_424],
    ['rfc', 3, 14_893],
    ['no-sync', 3, 22_237],
    ['bypass-first', 3, 12_202],
  ];
  for (const [protocol, cpus, states] of SPIN_STATES) {
    it(`tailcall-poke ${protocol} N=${cpus} without symmetry: ${states} states on 2 and 3 workers`, () => {
      const origin: ModelOrigin = { model: 'tailcall-poke', config: { protocol, cpus, options: { script: 'install f1; update f2; remove; install f3' } } };
      for (const workers of [2, 3]) expect(check(origin, { symmetry: false, workers }).states).toBe(states);
    });
  }

  it('prints the same counterexamples on every run', () => {
    const origin: ModelOrigin = { model: 'tailcall-poke', config: { protocol: 'bypass-first', cpus: 3, options: { script: 'install f1; update f2; remove; install f3' } } };
    const a = check(origin, { symmetry: false, workers: 2 });
    const b = check(origin, { symmetry: false, workers: 2 });
    expect(a.verdict).toBe('violated');
    expect(resultText({ ...b, seconds: a.seconds })).toEqual(resultText(a));
  });
});

describe('parallel search: limits and errors', () => {
  it('stops at --max-states with verdict incomplete and exit code 3', async () => {
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '4', '--no-symmetry', '--workers', '2', '--max-states', '5000');
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE .*max-states/);
    expect(r.out[0]).toMatch(/2 workers/);
  });

  it('stops when the WebAssembly visited set of a partition would pass its capacity: store-full, incomplete', () => {
    const origin: ModelOrigin = { model: 'tailcall-poke', config: { protocol: 'rfc', cpus: 5, options: { script: 'install f1; update f2; remove; install f3' } } };
    const r = check(origin, { symmetry: false, workers: 2, storeCapacityBytes: 8 * 2 ** 20 });
    expect(r.workers).toBe(2);
    expect(r.verdict).toBe('incomplete');
    expect(r.limit).toBe('store-full');
    expect(r.states).toBeLessThan(2_204_269);
  });

  it('--store js and --store wasm split the same search alike', () => {
    const origin: ModelOrigin = { model: 'tailcall-poke', config: { protocol: 'bypass-first', cpus: 3, options: { script: 'install f1; update f2; remove; install f3' } } };
    const js = check(origin, { symmetry: false, workers: 2, store: 'js' });
    const wasm = check(origin, { symmetry: false, workers: 2, store: 'wasm' });
    expect(resultText({ ...wasm, seconds: js.seconds })).toEqual(resultText(js));
  });

  it('reports a worker that cannot build its model, instead of waiting for it', () => {
    const good = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 2, options: { script: 'install f1; update f2; remove; install f3' } });
    const origin: ModelOrigin = { model: 'no-such-model', config: { protocol: 'v5.10', cpus: 2, options: {} } };
    expect(() => runCheck(good, { workers: 2, origin })).toThrow(/worker 1: unknown model 'no-such-model'/);
  });

  it('needs to know how to build the model in a worker', () => {
    const m = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 2, options: { script: 'install f1; update f2; remove; install f3' } });
    expect(() => runCheck(m, { workers: 2 })).toThrow(/origin/);
  });

  it('rejects --workers 0 on the command line with exit code 2', async () => {
    const r = await cli('check', 'tailcall-poke', '--workers', '0');
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/--workers must be between 1 and 64/);
  });
});
