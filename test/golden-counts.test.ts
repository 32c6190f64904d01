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
import { goldenOf, goldenOptions } from '../scripts/golden/golden.js';
import type { GoldenConfig } from '../scripts/golden/configs.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/golden/reference-checks.json', import.meta.url), 'utf8')) as ({ config: GoldenConfig } & ReturnType<typeof goldenOf>)[];

describe('golden counts and counterexamples', () => {
  it('has the configurations', () => expect(golden.length).toBeGreaterThan(60));
  for (const g of golden) {
    const c = g.config;
    const opts = Object.entries(c.options).map(([k, v]) => ` --${k} ${v}`).join('');
    it(`${c.model} --protocol ${c.protocol} --cpus ${c.cpus}${opts}${c.symmetry === false ? ' --no-symmetry' : ''}`, () => {
      const def = findModel(c.model)!;
      const options = goldenOptions(c);
      const r = runCheck(def.build({ protocol: c.protocol, cpus: c.cpus, options }), { symmetry: c.symmetry });
      const { config: _, ...want } = g;
      expect(goldenOf(r)).toEqual(want);
    });
  }
});
