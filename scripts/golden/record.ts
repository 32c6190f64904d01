/**
 * Records test/fixtures/golden/reference-checks.json: for every golden
 * configuration, the verdict, state and transition counts and every
 * counterexample as printed. Run it only before a refactor that must not
 * change what the search finds: `npm run build && node dist/scripts/golden/record.js`.
 */
import { writeFileSync } from 'node:fs';
import { findModel } from '../../models/index.js';
import { runCheck } from '../../src/check/result.js';
import { goldenConfigs } from './configs.js';
import { goldenOf } from './golden.js';

const out = goldenConfigs().map((g) => {
  const def = findModel(g.model)!;
  const r = runCheck(def.build({ protocol: g.protocol, cpus: g.cpus, options: g.options }), { symmetry: g.symmetry });
  return { config: g, ...goldenOf(r) };
});
writeFileSync(new URL('../../../test/fixtures/golden/reference-checks.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`${out.length} configurations recorded`);
