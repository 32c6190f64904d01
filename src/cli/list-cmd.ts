/** `pokecheck list`: models, protocols and the verdicts the kernel's history says they must give. */
import { MODELS } from '../../models/index.js';
import { UsageError, type Io } from './io.js';
import { optionsText } from '../check/reference.js';

export function listCommand(args: string[], io: Io): number {
  if (args.length) throw new UsageError(`list takes no arguments, got '${args[0]}'`);
  for (const m of MODELS) {
    io.out(`${m.name}: ${m.summary}`);
    for (const p of m.protocols) {
      const refs = m.reference.filter((r) => r.protocol === p.name);
      const expected = refs
        .map((r) => `${r.expected}${r.expectedViolated ? ` (${r.expectedViolated.join(', ')})` : ''} at ${r.cpus} CPUs${r.options ? ` with ${optionsText(r.options)}` : ''}`)
        .join('; ');
      io.out(`  --protocol ${p.name}${p.name === m.defaultProtocol ? ' (default)' : ''}: expected ${expected || 'no reference verdict'}`);
      io.out(`      ${p.summary}`);
      if (p.file) io.out(`      file: ${p.file}`);
    }
    for (const o of m.options) {
      io.out(`  --${o.name} ${o.values ? o.values.join('|') : 'VALUE'} (default ${o.default}): ${o.description}`);
      // What runs: the map update is one operation whether the slot was empty or not, and results print it as update.
      if (o.name === 'script' && /\binstall\b/.test(o.default)) io.out(`      (install fN is update fN of an empty slot, one bpf_fd_array_map_update_elem(): results print the default as '${o.default.replace(/\binstall\b/g, 'update')}')`);
    }
  }
  return 0;
}
