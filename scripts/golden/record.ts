/**
 * Records test/fixtures/golden/reference-checks.json: for every golden
 * configuration, the verdict, state and transition counts and every
 * counterexample as printed. Run it only before a refactor that must not
 * change what the search finds: `npm run build && node dist/scripts/golden/record.js`.
 *
 * `node dist/scripts/golden/record.js MODEL...` re-records only those models'
 * entries (the others are kept as recorded) and says, per entry, whether
 * anything besides the printed counterexample text changed: for a change of
 * wording or of the bytes a model prints, where the counts must stay.
 *
 * `--restate`: keeps the recorded configurations and re-records only the printed state lines
 * (each counterexample's initial state and the state after each step), after checking that
 * everything else (verdict, properties, counts, depth, every step's actor, action and bytes) is
 * exactly as recorded. For a change of how states are printed, never of what the search finds.
 *
 * Every mode builds a configuration as test/golden-counts.test.ts does (`goldenOptions`: the
 * scenarios recorded before a default changed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { findModel } from '../../models/index.js';
import { runCheck } from '../../src/check/result.js';
import { goldenConfigs, type GoldenConfig } from './configs.js';
import { goldenOf, goldenOptions } from './golden.js';

const FILE = new URL('../../../test/fixtures/golden/reference-checks.json', import.meta.url);
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
type Entry = { config: GoldenConfig } & ReturnType<typeof goldenOf>;

function record(g: GoldenConfig): Entry {
  const def = findModel(g.model)!;
  const r = runCheck(def.build({ protocol: g.protocol, cpus: g.cpus, options: goldenOptions(g) }), { symmetry: g.symmetry });
  return { config: g, ...goldenOf(r) };
}

const counts = (e: ReturnType<typeof goldenOf>) =>
  JSON.stringify([e.verdict, e.properties, e.states, e.transitions, e.depth, e.counterexamples.map((c) => [c.property, c.steps.length])]);

/** A step line without its state: `actor: action | sites`. */
const withoutState = (step: string): string => step.slice(0, step.lastIndexOf(' | '));

function restate(): void {
  const old = JSON.parse(readFileSync(FILE, 'utf8')) as Entry[];
  const bad: string[] = [];
  const out = old.map((was) => {
    const c = was.config;
    const now = record(c);
    const shape = (x: ReturnType<typeof goldenOf>) =>
      JSON.stringify({ ...x, counterexamples: x.counterexamples.map((cx) => ({ property: cx.property, steps: cx.steps.map(withoutState) })) });
    const { config: _, ...w } = was;
    const { config: __, ...n } = now;
    if (shape(n) !== shape(w)) bad.push(`${c.model} --protocol ${c.protocol} --cpus ${c.cpus} ${JSON.stringify(c.options)} symmetry=${c.symmetry}`);
    return now;
  });
  if (bad.length) {
    console.error(`not restated: the search's figures or steps changed in ${bad.length} configurations:\n${bad.join('\n')}`);
    process.exit(1);
  }
  writeFileSync(FILE, JSON.stringify(out, null, 1) + '\n');
  console.log(`${out.length} configurations restated (figures and steps unchanged)`);
}

if (process.argv.includes('--restate')) restate();
else if (only.length) {
  // the recorded entries, in their order; only the named models' are run again
  const before = JSON.parse(readFileSync(FILE, 'utf8')) as Entry[];
  const out = before.map((was) => {
    if (!only.includes(was.config.model)) return was;
    const entry = record(was.config);
    const same = counts(was) === counts(entry);
    const text = JSON.stringify(was.counterexamples) === JSON.stringify(entry.counterexamples);
    const g = was.config;
    console.log(`${g.model} --protocol ${g.protocol} --cpus ${g.cpus} ${JSON.stringify(g.options)}: counts ${same ? 'unchanged' : 'CHANGED'}, counterexample text ${text ? 'unchanged' : 'changed'}`);
    return entry;
  });
  writeFileSync(FILE, JSON.stringify(out, null, 1) + '\n');
  console.log(`${out.filter((e) => only.includes(e.config.model)).length} configurations re-recorded`);
} else {
  const out = goldenConfigs().map(record);
  writeFileSync(FILE, JSON.stringify(out, null, 1) + '\n');
  console.log(`${out.length} configurations recorded`);
}
