/** The plain-text rendering of a check result (what `pokecheck check` prints). */
import type { SiteView } from '../concurrency/model.js';
import type { CheckResult, Counterexample } from './result.js';

export function summaryLine(r: CheckResult): string {
  const props = r.properties.map((p) => `${p.id} ${p.status}`).join(', ');
  const limit = r.limit === 'store-full' ? '; stopped: the visited set reached its 4 GiB WebAssembly memory (--store js has no such cap), search incomplete' : r.limit ? `; stopped by --${r.limit}, search incomplete` : '';
  const sym = (r.symmetry ? ', symmetry reduced' : '') + (r.pipelined ? ', pipelined on 2 threads' : r.workers > 1 ? `, ${r.workers} workers` : '');
  const config = Object.entries(r.config).map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`);
  const cfg = config.length ? ` [${config.join(' ')}]` : '';
  const cpus = r.cutoff ? 'every' : String(r.cpus);
  const every = r.cutoff && !r.cutoff.failure ? (r.verdict === 'holds' ? ' for every number of CPUs' : ` for every number of CPUs N >= ${r.cutoff.fromCpus}`) : '';
  const scope = r.scope ? `; scope: ${r.scope}` : '';
  return `${r.model} --protocol ${r.protocol} --cpus ${cpus}${cfg}: ${r.verdict.toUpperCase()}${every} (${props}); ${r.states} states, ${r.transitions} transitions, depth ${r.depth}, ${r.seconds.toFixed(2)} s${sym}${limit}${scope}`;
}

function siteLines(sites: SiteView[], prev: SiteView[] | null, indent: string): string[] {
  const nameW = Math.max(...sites.map((s) => s.name.length));
  return sites.map((s, i) => {
    const changed = prev && prev[i].bytes !== s.bytes ? ' *' : '  ';
    return `${indent}${changed}${s.name.padEnd(nameW)} ${s.address}  ${s.bytes.padEnd(14)}  ${s.disasm}`;
  });
}

export function counterexampleText(c: Counterexample): string[] {
  const out: string[] = [];
  out.push(`Counterexample for ${c.property} (${c.description}): ${c.steps.length} steps`);
  out.push('  initial state');
  out.push(...siteLines(c.initial.sites, null, '    '));
  let prev = c.initial.sites;
  c.steps.forEach((s, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${s.actor}: ${s.action}`);
    out.push(...siteLines(s.sites, prev, '    '));
    prev = s.sites;
  });
  const last = c.steps.length ? c.steps[c.steps.length - 1].state : c.initial.state;
  out.push(`  final state: ${last}`);
  out.push('  (* marks a site whose bytes the step changed; replayed from the initial state)');
  return out;
}

export function resultText(r: CheckResult): string[] {
  const out = [summaryLine(r)];
  for (const c of r.counterexamples) {
    out.push('');
    out.push(...counterexampleText(c));
  }
  return out;
}
