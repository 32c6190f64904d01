/**
 * Records test/fixtures/golden/reference-checks.json: for every golden
 * configuration, the verdict, state and transition counts and every
 * counterexample as printed. Run it only before a refactor that must not
 * change what the search finds: `npm run build && node dist/scripts/golden/record.js`.
 *
 * `--restate`: keeps the recorded configurations and re-records only the printed state lines
 * (each counterexample's initial state and the state after each step), after checking that
 * everything else (verdict, properties, counts, depth, every step's actor, action and bytes) is
 * exactly as recorded. For a change of how states are printed, never of what the search finds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { findModel } from '../../models/index.js';
import { runCheck } from '../../src/check/result.js';
import { goldenConfigs, type GoldenConfig } from './configs.js';
import { goldenOf, goldenOptions } from './golden.js';

const FILE = new URL('../../../test/fixtures/golden/reference-checks.json', import.meta.url);
type Golden = { config: GoldenConfig } & ReturnType<typeof goldenOf>;

/** A step line without its state: `actor: action | sites`. */
const withoutState = (step: string): string => step.slice(0, step.lastIndexOf(' | '));

function restate(): void {
  const old = JSON.parse(readFileSync(FILE, 'utf8')) as Golden[];
  const bad: string[] = [];
  const out = old.map((g) => {
    const c = g.config;
    const r = runCheck(findModel(c.model)!.build({ protocol: c.protocol, cpus: c.cpus, options: goldenOptions(c) }), { symmetry: c.symmetry });
    const now = goldenOf(r);
    const shape = (x: ReturnType<typeof goldenOf>) =>
      JSON.stringify({ ...x, counterexamples: x.counterexamples.map((cx) => ({ property: cx.property, steps: cx.steps.map(withoutState) })) });
    const { config: _, ...was } = g;
    if (shape(now) !== shape(was)) bad.push(`${c.model} --protocol ${c.protocol} --cpus ${c.cpus} ${JSON.stringify(c.options)} symmetry=${c.symmetry}`);
    return { config: c, ...now };
  });
  if (bad.length) {
    console.error(`not restated: the search's figures or steps changed in ${bad.length} configurations:\n${bad.join('\n')}`);
    process.exit(1);
  }
  writeFileSync(FILE, JSON.stringify(out, null, 1) + '\n');
  console.log(`${out.length} configurations restated (figures and steps unchanged)`);
}

if (process.argv.includes('--restate')) restate();
else {
  const out = goldenConfigs().map((g) => {
    const def = findModel(g.model)!;
    const r = runCheck(def.build({ protocol: g.protocol, cpus: g.cpus, options: g.options }), { symmetry: g.symmetry });
    return { config: g, ...goldenOf(r) };
  });
  writeFileSync(FILE, JSON.stringify(out, null, 1) + '\n');
  console.log(`${out.length} configurations recorded`);
}
