/** The plain-text rendering of a check result (what `pokecheck check` prints). */
import type { SiteView } from '../concurrency/model.js';
import type { CheckResult, Counterexample, CounterexampleStep } from './result.js';

/** Why a search was cut short, in words (after "stopped"). */
export function limitText(limit: string): string {
  switch (limit) {
    case 'store-full':
      return 'the visited set reached its 4 GiB WebAssembly memory (--store js has no such cap)';
    case 'interrupted':
      return 'by a signal (SIGINT/SIGTERM)';
    default:
      return `by --${limit}`;
  }
}

export function summaryLine(r: CheckResult): string {
  const props = r.properties.map((p) => `${p.id} ${p.status}`).join(', ');
  const limit = r.limit === 'store-full' ? `; stopped: ${limitText(r.limit)}, search incomplete` : r.limit ? `; stopped ${limitText(r.limit)}, search incomplete` : '';
  const sym = (r.symmetry ? ', symmetry reduced' : '') + (r.pipelined ? ', pipelined on 2 threads' : r.workers > 1 ? `, ${r.workers} workers` : '');
  const config = Object.entries(r.config).map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`);
  const cfg = config.length ? ` [${config.join(' ')}]` : '';
  // A protocol file is named by its path (src/protocol/), a shipped protocol by its name.
  const protocol = r.protocol.endsWith('.c') ? `--protocol-file ${r.protocol}` : `--protocol ${r.protocol}`;
  const cpus = r.cutoff ? 'every' : String(r.cpus);
  const every = r.cutoff && !r.cutoff.failure ? (r.verdict === 'holds' ? ' for every number of CPUs' : ` for every number of CPUs N >= ${r.cutoff.fromCpus}`) : '';
  const scope = r.scope ? `; scope: ${r.scope}` : '';
  return `${r.model} ${protocol} --cpus ${cpus}${cfg}: ${r.verdict.toUpperCase()}${every} (${props}); ${r.states} states, ${r.transitions} transitions, depth ${r.depth}, ${r.seconds.toFixed(2)} s${sym}${limit}${scope}`;
}

function siteLines(sites: SiteView[], prev: SiteView[] | null, indent: string): string[] {
  const nameW = Math.max(...sites.map((s) => s.name.length));
  return sites.map((s, i) => {
    const changed = prev && prev[i].bytes !== s.bytes ? ' *' : '  ';
    return `${indent}${changed}${s.name.padEnd(nameW)} ${s.address}  ${s.bytes.padEnd(14)}  ${s.disasm}`;
  });
}

/** `mine.c:14 ` before the action of a step that ran a line of a protocol file. */
export function sourcePrefix(s: CounterexampleStep): string {
  return s.source ? `${s.source.file}:${s.source.line} ` : '';
}

export function counterexampleText(c: Counterexample): string[] {
  const out: string[] = [];
  out.push(`Counterexample for ${c.property} (${c.description}): ${c.steps.length} steps`);
  out.push('  initial state');
  out.push(...siteLines(c.initial.sites, null, '    '));
  let prev = c.initial.sites;
  c.steps.forEach((s, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${s.actor}: ${sourcePrefix(s)}${s.action}`);
    out.push(...siteLines(s.sites, prev, '    '));
    prev = s.sites;
  });
  const last = c.steps.length ? c.steps[c.steps.length - 1].state : c.initial.state;
  out.push(`  final state: ${last}`);
  out.push(c.initial.sites.length ? '  (* marks a site whose bytes the step changed; replayed from the initial state)' : '  (replayed from the initial state)');
  return out;
}

/** What the result is about (tool, bytes, steps, scope): the closing lines of the text. */
export function aboutLines(r: CheckResult): string[] {
  const a = r.about;
  if (!a) return [];
  const out = [`proved by: pokecheck ${a.tool.version}${a.tool.commit ? ` (${a.tool.commit})` : ''}`, `scope: ${a.scope}`];
  if (a.bytes) out.push(`bytes: ${a.bytes}`);
  if (a.steps) out.push(`protocol ${r.protocol} steps:`, ...a.steps.map((s) => `  ${s}`));
  return out;
}

export function resultText(r: CheckResult): string[] {
  const out = [summaryLine(r)];
  for (const c of r.counterexamples) {
    out.push('');
    out.push(...counterexampleText(c));
  }
  const about = aboutLines(r);
  if (about.length) out.push('', ...about);
  return out;
}
