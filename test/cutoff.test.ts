/**
 * The every-N cutoff (src/check/cutoff.ts, docs/proofs.md): its verdict
 * equals the exhaustive verdicts at every N searched here, and models that
 * break a condition are refused the claim, with the condition named.
 */
import { describe, expect, it } from 'vitest';
import { findModel } from '../models/index.js';
import { cutoffResult } from '../src/check/cutoff.js';
import { runCheck } from '../src/check/result.js';
import { checkableModel, defineLayout, GracePeriod, type Property } from '../src/model/index.js';
import { cli } from './helpers/cli.js';

const violatedIds = (r: { properties: { id: string; status: string }[] }): string[] => r.properties.filter((p) => p.status === 'violated').map((p) => p.id);

describe('cutoff verdicts equal the exhaustive ones', () => {
  const def = findModel('tailcall-poke')!;
  // expected verdicts: docs/reference-verdicts.md section 1 (v5.10 and rfc hold; no-sync violates P1; bypass-first P1 and P3)
  for (const [protocol, verdict, props] of [
    ['v5.10', 'holds', []],
    ['rfc', 'holds', []],
    ['no-sync', 'violated', ['P1']],
    ['bypass-first', 'violated', ['P1', 'P3']],
  ] as const) {
    it(`tailcall-poke ${protocol}, one key: every N gives ${verdict}, as N = 1..6 do`, { timeout: 600_000 }, () => {
      const options = { keys: '1' };
      const every = cutoffResult((cpus) => def.build({ protocol, cpus, options }), { symmetry: 'auto' });
      expect(every.cutoff?.failure).toBeNull();
      expect(every.verdict).toBe(verdict);
      expect(violatedIds(every)).toEqual(props);
      for (let n = every.cutoff!.fromCpus; n <= 6; n++) {
        const r = runCheck(def.build({ protocol, cpus: n, options }), { symmetry: 'auto' });
        expect([n, r.verdict, violatedIds(r)]).toEqual([n, verdict, props]);
      }
    });
  }
  // Two keys (caller_two) and the byte level are larger: the exhaustive searches stop at N = 3
  // (two keys, v5.10: 1.6 M states at N = 3, some 8 M at N = 4; byte level with the scenario:
  // 341 K states at N = 3, 3.2 M at N = 4, 45 s). The every-N searches themselves run N = 2 and 3.
  for (const [what, protocol, options, verdict, props] of [
    ['two keys', 'v5.10', { keys: '2' }, 'holds', []],
    ['byte level, text_poke_bp, the scenario', 'v5.10', { level: 'byte', poke: 'text_poke_bp', script: 'install f1; update f2; remove; install f3' }, 'holds', []],
    ['byte level, memcpy, the scenario', 'v5.10', { level: 'byte', poke: 'memcpy', script: 'install f1; update f2; remove; install f3' }, 'violated', ['P5']],
  ] as const) {
    it(`tailcall-poke ${protocol}, ${what}: every N gives ${verdict}, as N = 1..3 do`, () => {
      const every = cutoffResult((cpus) => def.build({ protocol, cpus, options }), { symmetry: 'auto' });
      expect(every.cutoff?.failure).toBeNull();
      expect(every.verdict).toBe(verdict);
      expect(violatedIds(every)).toEqual(props);
      for (let n = every.cutoff!.fromCpus; n <= 3; n++) {
        const r = runCheck(def.build({ protocol, cpus: n, options }), { symmetry: 'auto' });
        expect([n, r.verdict, violatedIds(r)]).toEqual([n, verdict, props]);
      }
    }, 300_000);
  }
});

/**
 * The other reader models over every sequence of their user space (issue 14): the dispatcher's
 * attach / detach / replace, the cached target's updates and deletes by each of two updaters.
 * Expected verdicts: docs/reference-verdicts.md section 4 (dispatcher v6.1 D1 violated, fixed by
 * 4121d4481b72 in v6.2; the RFC's rfc-2026 holds, its `unlocked` variant violates P2 and C1).
 * `maxN` is 6 where the exhaustive searches stay small; with the default pools they grow about 3-6x
 * per CPU (dispatcher v6.2: 2.2 million states at N = 4, some 13 million at 5), so those stop earlier.
 */
describe('cutoff verdicts equal the exhaustive ones over every sequence of user space calls', () => {
  for (const [model, protocol, options, verdict, props, maxN, cutoff] of [
    ['dispatcher', 'v6.2', { progs: '2' }, 'holds', [], 6, true],
    ['dispatcher', 'v6.1', { progs: '2' }, 'violated', ['D1'], 6, true],
    ['dispatcher', 'v6.2', {}, 'holds', [], 4, true],
    // the every-N check of v6.1 over the full pool takes 36 s (docs/performance.md): its reference check uses {f1, f2}
    ['dispatcher', 'v6.1', {}, 'violated', ['D1'], 3, false],
    ['tailcall-cached-target', 'rfc-2026', { progs: '1' }, 'holds', [], 6, true],
    ['tailcall-cached-target', 'unlocked', { progs: '1' }, 'violated', ['P2', 'C1'], 6, true],
    ['tailcall-cached-target', 'rfc-2026', {}, 'holds', [], 4, true],
    // the every-N check of unlocked over {f1, f2} is refused for size (its embedding search outgrows
    // its bound), so its reference check uses {f1}; exhaustively it is 2.6 million states at N = 3
    ['tailcall-cached-target', 'unlocked', {}, 'violated', ['P2', 'C1'], 2, false],
  ] as const) {
    const opts = Object.entries(options).map(([k, v]) => ` --${k} ${v}`).join('');
    it(`${model} ${protocol}${opts}: ${cutoff ? `every N gives ${verdict}, as` : `${verdict} at`} N = 1..${maxN}`, () => {
      const def = findModel(model)!;
      let from = 1;
      if (cutoff) {
        const every = cutoffResult((cpus) => def.build({ protocol, cpus, options }), { symmetry: 'auto' });
        expect(every.cutoff?.failure).toBeNull();
        expect(every.verdict).toBe(verdict);
        expect(violatedIds(every)).toEqual(props);
        expect(every.scope).toMatch(/; for user-space: every sequence of /);
        from = every.cutoff!.fromCpus;
      }
      for (let n = from; n <= maxN; n++) {
        const r = runCheck(def.build({ protocol, cpus: n, options }), { symmetry: 'auto' });
        expect([n, r.verdict, violatedIds(r)]).toEqual([n, verdict, props]);
      }
    });
  }
});

/**
 * A toy reader model for the refusals: CPUs enter and leave a read section of
 * a shared object; a writer retires the object after waiting. `bug` picks the
 * flaw under test.
 */
function toy(cpus: number, bug: 'none' | 'cpu-writes-shared' | 'waits-for-some' | 'names-two') {
  const L = defineLayout({ shared: { writer: 3, published: 1, retired: 1, scratch: 4 }, cpus: { count: cpus, bits: 8, fields: { q: 2, gp: 1 } } });
  const { writer, published, retired, scratch } = L.shared;
  const { q, gp } = L.cpu;
  const IDLE = 0;
  const READING = 1;
  const rcu = new GracePeriod(L, q, [false, true, false]);
  const properties: Property[] = [
    {
      id: 'U1',
      description: 'no CPU reads a retired object',
      cpus: 1,
      violated: (s) => {
        for (let i = 0; i < cpus; i++) if (q.get(s, i) === READING && retired.get(s)) return true;
        return false;
      },
    },
  ];
  if (bug === 'names-two') {
    properties.push({
      id: 'U2',
      description: 'never two readers at once (claims to name one CPU)',
      cpus: 1,
      violated: (s) => {
        let n = 0;
        for (let i = 0; i < cpus; i++) if (q.get(s, i) === READING) n++;
        return n >= 2;
      },
    });
  }
  return checkableModel({
    model: 'toy',
    protocol: bug,
    cpus,
    config: {},
    layout: L,
    initial: (s) => published.set(s, 1),
    steps: [
      {
        actor: 'cpu',
        count: cpus,
        next: (s, next, i) => {
          const now = q.get(s, i);
          // a reader that finds the object published reads it until it leaves; else it is done
          if (now === IDLE) rcu.move(next, i, published.get(s) ? READING : 2);
          else if (now === READING) rcu.move(next, i, 2);
          else return false;
          if (bug === 'cpu-writes-shared') scratch.set(next, (scratch.get(s) + 1) & 3);
          return true;
        },
      },
      {
        actor: 'writer',
        next: (s, next) => {
          const w = writer.get(s);
          // unpublish, start a grace period, wait for it, retire (free) the object
          if (w === 0) published.set(next, 0);
          else if (w === 1) rcu.start(next, gp);
          else if (w === 2) {
            if (bug === 'waits-for-some') {
              // waits until SOME cpu has passed, not every one
              let some = false;
              for (let i = 0; i < cpus; i++) if (!gp.get(s, i)) some = true;
              if (!some) return false;
            } else if (rcu.pending(s, gp)) return false;
            retired.set(next, 1);
          } else return false;
          writer.set(next, w + 1);
          return true;
        },
      },
    ],
    properties,
    symmetry: 'cpus',
    describe: (_b, _a, a) => `${a.actor} moves`,
    sites: () => [],
    summary: (s) => L.text(s),
  });
}

describe('models that break a condition are refused the every-N claim', () => {
  it('a correct toy gets the claim', () => {
    const r = cutoffResult((n) => toy(n, 'none'));
    expect(r.cutoff?.failure).toBeNull();
    expect(r.verdict).toBe('holds');
  });
  for (const [bug, cond] of [
    ['cpu-writes-shared', 'C1'],
    ['waits-for-some', 'C2'],
    ['names-two', 'C4'],
  ] as const) {
    it(`${bug}: refused, ${cond} named`, () => {
      const r = cutoffResult((n) => toy(n, bug));
      expect(r.cutoff?.failure?.condition).toBe(cond);
      expect(r.scope).toMatch(new RegExp(`no every-N claim, condition ${cond} failed`));
    });
  }
});

describe('pokecheck check --cpus every', () => {
  it('prints the every-N verdict and its scope', async () => {
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', 'every');
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/HOLDS for every number of CPUs .*scope: every number of CPUs \(cutoff k=1/);
  });
  it('refuses a model that is not a reader model on the typed layer, in one line, exit 2', async () => {
    const r = await cli('check', 'recursion-detect', '--cpus', 'every');
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
  });
});
