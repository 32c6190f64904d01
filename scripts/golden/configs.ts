/**
 * The configurations whose state counts, transitions and counterexamples are
 * pinned by test/golden-counts.test.ts: every model's reference checks, with
 * and without symmetry where the full product is small, and the models'
 * other options at small sizes. Refactors of the model layer must leave
 * every figure and every printed step unchanged (issue "Give models a shape").
 */
import { MODELS } from '../../models/index.js';

export interface GoldenConfig {
  model: string;
  protocol: string;
  cpus: number;
  options: Record<string, string>;
  symmetry: boolean | 'auto';
}

export function goldenConfigs(): GoldenConfig[] {
  const out: GoldenConfig[] = [];
  for (const def of MODELS) {
    for (const r of def.reference) {
      const base = { model: def.name, protocol: r.protocol, cpus: r.cpus, options: r.options ?? {} };
      out.push({ ...base, symmetry: 'auto' });
      out.push({ ...base, symmetry: false });
    }
  }
  // A few more shapes of tailcall-poke: one CPU, and another script.
  for (const protocol of ['rfc', 'v5.10', 'no-sync', 'bypass-first']) {
    out.push({ model: 'tailcall-poke', protocol, cpus: 1, options: {}, symmetry: false });
    out.push({ model: 'tailcall-poke', protocol, cpus: 2, options: { script: 'install f1; update f2; update f1; remove' }, symmetry: 'auto' });
  }
  return out;
}
