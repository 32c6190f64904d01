/** `summary.md`: the report's table in Markdown, for a CI job summary (e.g. `$GITHUB_STEP_SUMMARY`). */
import type { ReferenceOutcome } from '../check/reference.js';
import { optionsText } from '../check/reference.js';
import { versionText } from '../version.js';
import { propertyOutcomes, type PropertyOutcome } from './expect.js';

export const STATUS_MARK: Record<PropertyOutcome['status'], string> = { holds: '✓', violated: '✗', incomplete: '?', 'not-checked': '–' };

const esc = (s: string): string => s.replace(/\|/g, '\\|');

function propertyCell(ps: PropertyOutcome[]): string {
  return ps.map((p) => `${p.ok ? '' : '**'}${p.id} ${STATUS_MARK[p.status]}${p.ok ? '' : '**'}`).join(' ');
}

export function summaryMarkdown(outcomes: ReferenceOutcome[]): string {
  const bad = outcomes.filter((o) => !o.ok).length;
  const out = [
    '# pokecheck report',
    '',
    `**${outcomes.length - bad} of ${outcomes.length} verdicts as expected.**`,
    '',
    `pokecheck ${versionText()}; each check's \`checks/*.md\` says what it covers (configuration, protocol steps, bytes, scope).`,
    '',
    '| model | protocol | options | CPUs | expected | found | properties | states | transitions | seconds | |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of outcomes) {
    const r = o.result;
    const expected = o.check.expected + (o.check.expectedViolated?.length ? ` (${o.check.expectedViolated.join(', ')})` : '');
    out.push(
      `| ${o.model} | ${o.check.protocol} | ${esc(optionsText(o.check.options)) || '-'} | ${o.check.every ? 'every' : o.check.cpus} | ${expected} | ${r.verdict} | ${propertyCell(propertyOutcomes(o))} | ${r.states} | ${r.transitions} | ${r.seconds.toFixed(2)} | ${o.ok ? 'ok' : '**MISMATCH**'} |`,
    );
  }
  const props = new Map<string, string>();
  for (const o of outcomes) for (const p of o.result.properties) props.set(`${o.model} ${p.id}`, p.description);
  out.push('', `✓ holds (complete search) · ✗ violated · ? incomplete (a limit stopped the search) · – not checked (the protocol does not promise it); **bold**: not as expected.`, '');
  for (const [k, d] of props) out.push(`- ${k}: ${esc(d)}`);
  // Which kernel's bytes each check ran on (about.ts): one line per distinct text, naming its checks.
  const bytes = new Map<string, string[]>();
  for (const o of outcomes) {
    const b = o.result.about?.bytes ?? '(not stated)';
    const opts = optionsText(o.check.options);
    bytes.set(b, [...(bytes.get(b) ?? []), `${o.model} ${o.check.protocol}${opts ? ` ${opts}` : ''} (${o.check.every ? 'every' : o.check.cpus} CPUs)`]);
  }
  out.push('', '## Bytes each check ran on', '');
  for (const [b, checks] of bytes) out.push(`- ${[...new Set(checks)].join(', ')}: ${esc(b)}`);
  out.push('');
  return out.join('\n');
}
