/** A check result as a Markdown proof report (`--md`). */
import { limitText } from './format.js';
import type { CheckResult } from './result.js';

const esc = (s: string): string => s.replace(/\|/g, '\\|');

export function resultMarkdown(r: CheckResult): string {
  const out: string[] = [];
  out.push(`# pokecheck: ${r.model}, protocol ${r.protocol}, ${r.cpus} CPUs`);
  out.push('');
  out.push(`**Verdict: ${r.verdict}**${r.limit ? ` (search stopped ${limitText(r.limit)}: nothing is claimed to hold)` : ''}`);
  out.push('');
  const config = Object.entries(r.config).map(([k, v]) => `${k}: \`${v}\``);
  out.push(`${r.states} distinct states, ${r.transitions} transitions, depth ${r.depth}, ${r.seconds.toFixed(2)} s${r.symmetry ? ', symmetry reduction on' : ''}${config.length ? `; ${config.join(', ')}` : ''}.`);
  out.push('');
  out.push('| property | description | status |');
  out.push('|---|---|---|');
  for (const p of r.properties) out.push(`| ${p.id} | ${esc(p.description)} | ${p.status} |`);
  if (r.verdict === 'holds') {
    out.push('');
    out.push('Every reachable state of the model was explored and none violates a checked property.');
  }
  const a = r.about;
  if (a) {
    out.push('');
    out.push('## What this covers');
    out.push('');
    out.push(`- Proved by: pokecheck ${a.tool.version}${a.tool.commit ? `, commit \`${a.tool.commit}\`` : ''}`);
    out.push(`- Scope: ${esc(a.scope)}`);
    out.push(`- Configuration: ${esc([`--protocol ${a.configuration.protocol}`, `--cpus ${a.configuration.cpus}`, ...Object.entries(a.configuration.options).map(([k, v]) => `--${k} '${v}'`)].join(' '))}`);
    if (a.protocol) out.push(`- Protocol ${a.protocol.name}: ${esc(a.protocol.summary)}`);
    if (a.bytes) out.push(`- Bytes: ${esc(a.bytes)}`);
    if (a.steps) {
      out.push(`- Protocol ${r.protocol}, step by step:`);
      for (const s of a.steps) out.push(`  - ${esc(s)}`);
    }
  }
  for (const c of r.counterexamples) {
    out.push('');
    out.push(`## Counterexample: ${c.property}`);
    out.push('');
    out.push(`${esc(c.description)}. Shortest schedule (breadth-first), ${c.steps.length} steps, replayed from the initial state.`);
    out.push('');
    const names = c.initial.sites.map((s) => s.name);
    out.push(`| # | actor | action | ${names.map((n) => `${n} bytes | ${n}`).join(' | ')} |`);
    out.push(`|---|---|---|${names.map(() => '---|---|').join('')}`);
    const row = (n: string, actor: string, action: string, sites: typeof c.initial.sites): string =>
      `| ${n} | ${actor} | ${esc(action)} | ${sites.map((s) => `\`${s.bytes}\` | \`${esc(s.disasm)}\``).join(' | ')} |`;
    out.push(row('0', '', 'initial state', c.initial.sites));
    c.steps.forEach((s, i) => out.push(row(String(i + 1), s.actor, s.source ? `${s.source.file}:${s.source.line} ${s.action}` : s.action, s.sites)));
    out.push('');
    out.push(`Final state: \`${c.steps.length ? c.steps[c.steps.length - 1].state : c.initial.state}\``);
    out.push('');
    out.push(`Addresses: ${c.initial.sites.map((s) => `${s.name} at \`${s.address}\``).join(', ')}.`);
  }
  return out.join('\n') + '\n';
}
