/**
 * pokecheck as a library (src/index.ts, src/testing.ts), in-process: check()
 * gives what `pokecheck check --json` writes, bad input is a CheckInputError
 * with one line, the test helpers pass and fail as they say, and the guide's
 * code is the example's. The packed package is tested as a user would use
 * it in test/example-package.test.ts.
 *
 * Expected verdicts: docs/reference-verdicts.md section 1 (v5.10 holds, from
 * ebf7d1f508a7; no-sync violates P1; bypass-first violates P1 and P3).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as pokecheck from '../src/index.js';
import { check, CheckInputError, findModel, models, type CheckResult } from '../src/index.js';
import { CheckExpectationError, expectHolds, expectViolated, pokecheckMatchers, useMatchers } from '../src/testing.js';
import { cli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const timeless = (r: CheckResult) => ({ ...r, seconds: 0, memoryMB: 0 });

describe('check()', () => {
  it('gives the CheckResult that `pokecheck check --json` writes, with the same defaults', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-api-'));
    try {
      for (const [args, opts] of [
        [['--protocol', 'no-sync', '--cpus', '2'], { protocol: 'no-sync', cpus: 2 }],
        [[], {}],
        [['--protocol', 'v5.10', '--cpus', '2', '--level', 'byte', '--no-symmetry'], { protocol: 'v5.10', cpus: 2, options: { level: 'byte' }, symmetry: false }],
        [['--protocol', 'no-sync', '--cpus', 'every'], { protocol: 'no-sync', cpus: 'every' }],
      ] as const) {
        const out = join(dir, 'r.json');
        const run = await cli('check', 'tailcall-poke', ...args, '--json', out);
        expect(run.err).toEqual([]);
        const fromCli = JSON.parse(readFileSync(out, 'utf8')) as CheckResult;
        expect(timeless(check('tailcall-poke', opts))).toEqual(timeless(fromCli));
        // the definition itself resolves the same way
        expect(timeless(check(findModel('tailcall-poke')!, opts))).toEqual(timeless(fromCli));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks a model already built', () => {
    const def = findModel('tailcall-poke')!;
    const r = check(def.build({ protocol: 'no-sync', cpus: 2, options: {} }));
    expect(r.verdict).toBe('violated');
    expect(r.properties.filter((p) => p.status === 'violated').map((p) => p.id)).toEqual(['P1']);
  });

  it('turns bad input into a one-line CheckInputError naming what is wrong', () => {
    const built = findModel('tailcall-poke')!.build({ protocol: 'v5.10', cpus: 2, options: {} });
    const cases: [() => unknown, RegExp][] = [
      [() => check('no-such-model'), /^unknown model 'no-such-model' \(models: tailcall-poke, .*\)$/],
      [() => check('tailcall-poke', { protocol: 'v9' }), /^unknown protocol 'v9' for tailcall-poke \(protocols: rfc, v5\.10, .*\)$/],
      [() => check('tailcall-poke', { cpus: 65 }), /^cpus must be a whole number between 1 and 64, got 65$/],
      [() => check('tailcall-poke', { cpus: 1.5 }), /^cpus must be a whole number/],
      [() => check('tailcall-poke', { options: { scirpt: 'remove' } }), /^'scirpt' is not an option of tailcall-poke \(options: script, progs, keys, protocol-file, level, poke\)$/],
      [() => check('tailcall-poke', { options: { level: 'bit' } }), /^option level of tailcall-poke must be one of instruction, byte, got 'bit'$/],
      [() => check('tailcall-poke', { options: { poke: 'memcpy' } }), /^tailcall-poke: --poke goes with --level byte/],
      [() => check('tailcall-poke', { cpu: 2 } as never), /^unknown option 'cpu' \(options: protocol, cpus, options, /],
      [() => check('tailcall-poke', { maxStates: 0 }), /^maxStates must be a whole number between 1 and /],
      [() => check('tailcall-poke', { store: 'disk' as never }), /^store must be 'wasm' or 'js', got "disk"$/],
      [() => check('tailcall-poke', { pipeline: true, workers: 2 }), /^pipeline and workers > 1 exclude each other$/],
      [() => check(built, { protocol: 'rfc' }), /^tailcall-poke is already built \(protocol v5\.10, 2 CPUs\): protocol can only be given/],
      [() => check({ ...findModel('tailcall-poke')! }, { workers: 2 }), /rebuilds the model in each thread, which only a model shipped with pokecheck/],
      [() => check('recursion-detect', { cpus: 'every' }), /^recursion-detect: cpus 'every' needs a reader model: the model has no CPU records/],
      [() => check(built, { cpus: 'every' }), /^tailcall-poke is already built \(protocol v5\.10, 2 CPUs\): cpus can only be given/],
      [() => check(42 as never), /^check\(\) takes a model name, a ModelDefinition or a CheckableModel, got number$/],
      [() => check({} as never), /^check\(\) takes a model name, a ModelDefinition or a CheckableModel; this object is none of them$/],
    ];
    for (const [f, message] of cases) {
      let thrown: unknown;
      try {
        f();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, String(message)).toBeInstanceOf(CheckInputError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('\n');
    }
  });

  it("claims a verdict for every number of CPUs with cpus: 'every', as --cpus every does", () => {
    const r = expectHolds('tailcall-poke', { protocol: 'v5.10', cpus: 'every' });
    expect(r.scope).toMatch(/^every number of CPUs \(cutoff k=1: searched N=2 and 3 /);
    expect(() => expectHolds('tailcall-poke', { protocol: 'no-sync', cpus: 'every' })).toThrow(/^expected tailcall-poke --protocol no-sync --cpus every to hold, but it is violated \(P1\)\n/);
  });

  it('says incomplete, not holds, when a limit cuts the search short', () => {
    const r = check('tailcall-poke', { protocol: 'v5.10', cpus: 2, maxStates: 10 });
    expect(r.verdict).toBe('incomplete');
    expect(r.limit).toBe('max-states');
  });
});

describe('pokecheck/testing', () => {
  it('expectHolds passes on v5.10 and fails on no-sync with the counterexample in the message', () => {
    expect(expectHolds('tailcall-poke', { protocol: 'v5.10', cpus: 2 }).verdict).toBe('holds');
    let e: unknown;
    try {
      expectHolds('tailcall-poke', { protocol: 'no-sync', cpus: 2 });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CheckExpectationError);
    const msg = (e as Error).message;
    expect(msg).toMatch(/^expected tailcall-poke --protocol no-sync --cpus 2 to hold, but it is violated \(P1\)\n/);
    expect(msg).toMatch(/\nCounterexample for P1 .*: \d+ steps\n/);
    expect(msg).toMatch(/executes nopl .* at tailcall_target/);
    expect((e as CheckExpectationError).result.verdict).toBe('violated');
  });

  it('expectHolds refuses a search cut short', () => {
    expect(() => expectHolds('tailcall-poke', { protocol: 'v5.10', cpus: 2, maxStates: 10 })).toThrow(/but the search was cut short \(max-states\): nothing is claimed to hold/);
  });

  it('expectViolated wants exactly the properties listed', () => {
    expectViolated('tailcall-poke', ['P1'], { protocol: 'no-sync', cpus: 2 });
    expectViolated('tailcall-poke', ['P3', 'P1'], { protocol: 'bypass-first', cpus: 2 });
    expect(() => expectViolated('tailcall-poke', ['P1'], { protocol: 'bypass-first', cpus: 2 })).toThrow(/^expected .* to violate exactly P1, but P1, P3 violated\n/);
    expect(() => expectViolated('tailcall-poke', ['P1'], { protocol: 'v5.10', cpus: 2 })).toThrow(/to violate exactly P1, but every property holds/);
    expect(() => expectViolated('tailcall-poke', ['P9'], { protocol: 'no-sync', cpus: 2 })).toThrow(/has no property P9 \(properties: P1, P2, P3, P4\)/);
  });

  it('takes a result already made, and gives matchers for expect.extend', () => {
    const r = check('tailcall-poke', { protocol: 'no-sync', cpus: 2 });
    expect(expectViolated(r, ['P1'])).toBe(r);
    expect(() => expectHolds(r, { cpus: 3 })).toThrow(TypeError);
    const miss = pokecheckMatchers.toHold(r);
    expect(miss.pass).toBe(false);
    expect(miss.message()).toMatch(/Counterexample for P1/);
    expect(pokecheckMatchers.toBeViolated(r, ['P1']).pass).toBe(true);
    const added: string[] = [];
    useMatchers({ extend: (m) => added.push(...Object.keys(m)) });
    expect(added).toEqual(['toHold', 'toBeViolated']);
  });
});

describe('the public entry', () => {
  it('exports the checker, the registry and the typed model layer', () => {
    for (const name of ['check', 'resolveModel', 'findModel', 'defineLayout', 'defineActions', 'checkableModel', 'GracePeriod', 'DelayedFrees', 'DecodedSites', 'compileMachine', 'resultText', 'CheckInputError', 'ModelConfigError']) {
      expect(typeof (pokecheck as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(models.map((m) => m.name)).toContain('tailcall-poke');
  });

  it('package.json points at the built entries, which exist after the build', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }>; types: string; bin: Record<string, string> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './testing', './package.json']);
    expect(pkg.exports['.']).toEqual({ types: './dist/src/index.d.ts', import: './dist/src/index.js' });
    expect(pkg.exports['./testing']).toEqual({ types: './dist/src/testing.d.ts', import: './dist/src/testing.js' });
    expect(pkg.types).toBe(pkg.exports['.'].types);
  });
});

describe('docs/adding-a-model.md', () => {
  it("shows the example's files: its tagged code blocks, put together, are each file whole", () => {
    const guide = readFileSync(join(ROOT, 'docs/adding-a-model.md'), 'utf8');
    const blocks = new Map<string, string[]>();
    for (const m of guide.matchAll(/^```\w+ (examples\/\S+)\n([^]*?)\n```$/gm)) {
      blocks.set(m[1], [...(blocks.get(m[1]) ?? []), m[2]]);
    }
    expect([...blocks.keys()]).toEqual(expect.arrayContaining(['examples/src/rcu-free.ts', 'examples/test/rcu-free.test.ts', 'examples/package.json']));
    for (const [file, parts] of blocks) {
      // pieces are cut at blank lines, which the guide leaves out between them
      expect(parts.join('\n\n') + '\n', file).toBe(readFileSync(join(ROOT, file), 'utf8'));
    }
  });
});
