/**
 * The pipelined search (--pipeline: a worker expands, this thread stores):
 * for every reference configuration, the verdict the kernel's history
 * expects and the very same search as one thread (state numbering, parents,
 * first violations, so the same counterexamples); SPIN's counts; limits; and
 * errors on the expanding side reported rather than hung on.
 */
import { describe, expect, it } from 'vitest';
import { MODELS, findModel } from '../models/index.js';
import { resultText } from '../src/check/format.js';
import { runCheck, type CheckOptions, type ModelOrigin } from '../src/check/result.js';
import { matchesExpectation } from '../src/check/reference.js';
import { explore } from '../src/concurrency/explorer.js';
import { explorePipeline } from '../src/concurrency/pipeline/explore-pipeline.js';
import { cli } from './helpers/cli.js';

const EXPAND_WORKER = new URL('../dist/src/check/expand-worker.js', import.meta.url);

function check(origin: ModelOrigin, opts: CheckOptions) {
  return runCheck(findModel(origin.model)!.build(origin.config), { ...opts, origin });
}

describe('pipelined search: every reference configuration', () => {
  for (const def of MODELS) {
    for (const ref of def.reference) {
      const origin: ModelOrigin = { model: def.name, config: { protocol: ref.protocol, cpus: ref.cpus, options: ref.options ?? {} } };
      it(`${def.name} ${ref.protocol} ${JSON.stringify(ref.options ?? {})} N=${ref.cpus}: expected ${ref.expected}`, () => {
        const one = check(origin, { symmetry: 'auto' });
        const two = check(origin, { symmetry: 'auto', pipeline: true });
        expect(matchesExpectation(ref, two)).toBe(true);
        expect(two.pipelined).toBe(!!findModel(def.name)!.build(origin.config).system.parallel);
        // The same search: the same counterexamples, step for step. A search
        // that stops once every checked property is violated stops at the end
        // of a batch, and batches end elsewhere on two threads: its counts may
        // differ; a complete search's may not.
        const a = resultText(one);
        const b = resultText({ ...two, seconds: one.seconds, workers: 1, pipelined: false });
        if (one.properties.some((p) => p.status === 'holds')) expect(b).toEqual(a);
        else expect(b.slice(1)).toEqual(a.slice(1));
        expect(two.properties).toEqual(one.properties);
      });
    }
  }
});

describe('pipelined search: the same states in the same order as one thread', () => {
  const configs: [string, number, boolean][] = [
    ['v5.10', 4, false],
    ['rfc', 4, false],
    ['v5.10', 5, true],
    ['no-sync', 3, false],
    ['bypass-first', 4, true],
  ];
  it.each(configs)('tailcall-poke %s N=%i, symmetry %s', (protocol, cpus, symmetry) => {
    const config = { protocol, cpus, options: { script: 'install f1; update f2; remove; install f3' } }; // the scenario: every sequence at N=4-5 without symmetry is millions of states
    const sys = findModel('tailcall-poke')!.build(config).system;
    const one = explore(sys, { symmetry });
    const two = explorePipeline(sys, { worker: EXPAND_WORKER, data: { model: 'tailcall-poke', config } }, { symmetry });
    expect(two.firstViolation).toEqual(one.firstViolation);
    if (one.complete) {
      expect(two.complete).toBe(true);
      expect([two.states, two.transitions, two.depth]).toEqual([one.states, one.transitions, one.depth]);
      const a = one.store.paths();
      const b = two.store.paths();
      expect(b.parents).toEqual(a.parents);
      expect(b.actions).toEqual(a.actions);
      expect(b.words).toEqual(a.words);
    }
  });

  it("SPIN's counts without symmetry: v5.10 N=5 618,450 states, rfc N=4 174,187", () => {
    const v = check({ model: 'tailcall-poke', config: { protocol: 'v5.10', cpus: 5, options: { script: 'install f1; update f2; remove; install f3' } } }, { symmetry: false, pipeline: true });
    expect([v.verdict, v.states, v.transitions, v.pipelined]).toEqual(['holds', 618_450, 3_504_245, true]);
    const r = check({ model: 'tailcall-poke', config: { protocol: 'rfc', cpus: 4, options: { script: 'install f1; update f2; remove; install f3' } } }, { symmetry: false, pipeline: true });
    expect([r.verdict, r.states, r.transitions]).toEqual(['holds', 174_187, 813_036]);
  });
});

describe('pipelined search: limits and errors', () => {
  it('--max-states: INCOMPLETE, exit 3, said to be pipelined', async () => {
    const r = await cli('check', 'tailcall-poke', '--script', 'install f1; update f2; remove; install f3', '--protocol', 'v5.10', '--cpus', '4', '--no-symmetry', '--pipeline', '--max-states', '5000');
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE .*pipelined on 2 threads; stopped by --max-states/);
  });

  it('--max-memory: INCOMPLETE, exit 3, stopped before the visited set grew past the budget', async () => {
    const r = await cli('check', 'tailcall-poke', '--script', 'install f1; update f2; remove; install f3', '--protocol', 'rfc', '--cpus', '4', '--no-symmetry', '--pipeline', '--max-memory', '2');
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE .*stopped by --max-memory/);
    const c = check({ model: 'tailcall-poke', config: { protocol: 'rfc', cpus: 4, options: { script: 'install f1; update f2; remove; install f3' } } }, { symmetry: false, pipeline: true, maxMemoryMB: 2 });
    expect(c.limit).toBe('max-memory');
    expect(c.memoryMB).toBeLessThanOrEqual(2);
    expect(c.states).toBeLessThan(174_187);
  });

  it('the visited set at its capacity: store-full, incomplete', () => {
    const r = check({ model: 'tailcall-poke', config: { protocol: 'rfc', cpus: 5, options: { script: 'install f1; update f2; remove; install f3' } } }, { symmetry: false, pipeline: true, storeCapacityBytes: 16 * 2 ** 20 });
    expect(r.verdict).toBe('incomplete');
    expect(r.limit).toBe('store-full');
  });

  it('reports an expanding thread that cannot build its model, instead of waiting for it', () => {
    const good = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 2, options: { script: 'install f1; update f2; remove; install f3' } });
    const origin: ModelOrigin = { model: 'no-such-model', config: { protocol: 'v5.10', cpus: 2, options: {} } };
    expect(() => runCheck(good, { pipeline: true, origin })).toThrow(/expanding thread: unknown model 'no-such-model'/);
  });

  it('--pipeline excludes --workers and --store js (exit 2, one line); a model that cannot be split runs on one thread, with a note', async () => {
    const both = await cli('check', 'tailcall-poke', '--pipeline', '--workers', '2');
    expect(both.code).toBe(2);
    expect(both.err).toEqual([expect.stringMatching(/--pipeline and --workers exclude each other/)]);
    const js = await cli('check', 'tailcall-poke', '--pipeline', '--store', 'js');
    expect(js.code).toBe(2);
    expect(js.err).toEqual([expect.stringMatching(/--pipeline keeps its states in WebAssembly memory/)]);
    const byte = await cli('check', 'tailcall-poke', '--level', 'byte', '--cpus', '2', '--pipeline');
    expect(byte.code).toBe(0);
    expect(byte.err.join('\n')).toMatch(/searched on one thread/);
    expect(byte.out[0]).not.toMatch(/pipelined/);
  });
});
