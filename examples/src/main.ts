/** Checks rcu-free under each of its protocols and prints what `pokecheck check` would. */
import { check, resultText } from 'pokecheck';
import { rcuFree } from './rcu-free.js';

for (const { name } of rcuFree.protocols) {
  const r = check(rcuFree, { protocol: name, cpus: 2 });
  console.log(`${name}: ${r.verdict} (${r.properties.map((p) => `${p.id} ${p.status}`).join(', ')})`);
  console.log(resultText(r).join('\n'));
}
