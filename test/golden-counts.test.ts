/**
 * Refactoring guard: every golden configuration (scripts/golden/configs.ts)
 * gives the verdict, state and transition counts, depth and counterexamples
 * recorded before the model layer was rewritten. These figures are our own
 * output, pinned on purpose: they say a refactor changed nothing the search
 * decides. The verdicts themselves are tested against the kernel's history
 * in each model's own tests.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findModel } from '../models/index.js';
import { runCheck } from '../src/check/result.js';
import { goldenOf } from '../scripts/golden/golden.js';
import type { GoldenConfig } from '../scripts/golden/configs.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/golden/reference-checks.json', import.meta.url), 'utf8')) as ({ config: GoldenConfig } & ReturnType<typeof goldenOf>)[];

/**
 * Defaults that changed after the recording: tailcall-poke without --script (at both levels) now
 * explores every sequence of map operations, dispatcher without --script every sequence of XDP attach /
 * detach / replace, tailcall-cached-target without --updaters every sequence of updates and deletes by
 * each updater (issue "Proofs of the protocol"); the golden configurations ran the old default
 * scenarios, so they are given explicitly. The byte level's text_poke_bp entries were re-recorded on
 * purpose when a sync's IPI stopped being left pending on CPUs outside the caller
 * (models/tailcall-poke-byte.ts, qIdle): the same states and transitions, a shallower search.
 */
const RECORDED_DEFAULTS: Record<string, Record<string, string>> = {
  'tailcall-poke': { script: 'install f1; update f2; remove; install f3' },
  dispatcher: { script: 'attach f1; attach f2; replace f1 f3' },
  'tailcall-cached-target': { updaters: 'update f1 | update f2' },
};

describe('golden counts and counterexamples', () => {
  it('has the configurations', () => expect(golden.length).toBeGreaterThan(60));
  for (const g of golden) {
    const c = g.config;
    const opts = Object.entries(c.options).map(([k, v]) => ` --${k} ${v}`).join('');
    it(`${c.model} --protocol ${c.protocol} --cpus ${c.cpus}${opts}${c.symmetry === false ? ' --no-symmetry' : ''}`, () => {
      const def = findModel(c.model)!;
      const options = { ...RECORDED_DEFAULTS[c.model], ...c.options };
      const r = runCheck(def.build({ protocol: c.protocol, cpus: c.cpus, options }), { symmetry: c.symmetry });
      const { config: _, ...want } = g;
      expect(goldenOf(r)).toEqual(want);
    });
  }
});
