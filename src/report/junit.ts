/**
 * `junit.xml`: one <testsuite> per reference check (model x protocol x
 * options x CPUs), one <testcase> per property. A property that does not do
 * what the check expects is a <failure> whose body is the counterexample (or
 * why there is none); a property the protocol does not promise is <skipped>;
 * an expected violation passes and prints its counterexample in <system-out>.
 * Testcase time is the time of the search that decided it (one search
 * decides all of a check's properties).
 */
import { counterexampleText } from '../check/format.js';
import type { ReferenceOutcome } from '../check/reference.js';
import { propertyOutcomes } from './expect.js';
import { checkTitle } from './names.js';
import { xmlEscape as x } from './xml.js';

export function junitXml(outcomes: ReferenceOutcome[]): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  let time = 0;
  for (const o of outcomes) {
    const r = o.result;
    const ps = propertyOutcomes(o);
    const f = ps.filter((p) => !p.ok).length;
    const s = ps.filter((p) => p.ok && p.status === 'not-checked').length;
    tests += ps.length;
    failures += f;
    skipped += s;
    time += r.seconds;
    const t = r.seconds.toFixed(3);
    const lines = [
      `  <testsuite name="${x(checkTitle(o))}" tests="${ps.length}" failures="${f}" errors="0" skipped="${s}" time="${t}">`,
      '    <properties>',
      ...Object.entries({
        model: o.model,
        protocol: o.check.protocol,
        cpus: o.check.every ? 'every' : String(o.check.cpus),
        options: JSON.stringify(o.check.options ?? {}),
        expected: o.check.expected + (o.check.expectedViolated?.length ? ` (${o.check.expectedViolated.join(',')})` : ''),
        verdict: r.verdict,
        states: String(r.states),
        transitions: String(r.transitions),
        depth: String(r.depth),
        ...(r.limit ? { limit: r.limit } : {}),
        ...(r.about
          ? {
              'pokecheck.version': r.about.tool.version,
              'pokecheck.commit': r.about.tool.commit ?? 'unknown',
              configuration: JSON.stringify(r.about.configuration),
              scope: r.about.scope,
              ...(r.about.protocol ? { 'protocol.summary': r.about.protocol.summary } : {}),
              ...(r.about.bytes ? { bytes: r.about.bytes } : {}),
              ...(r.about.steps ? { 'protocol.steps': r.about.steps.join('\n') } : {}),
            }
          : {}),
      }).map(([k, v]) => `      <property name="${k}" value="${x(v)}"/>`),
      '    </properties>',
    ];
    for (const p of ps) {
      const cx = p.counterexample ? counterexampleText(p.counterexample).join('\n') : '';
      lines.push(`    <testcase classname="${x(`${o.model}/${o.check.protocol}`)}" name="${x(`${p.id}: ${p.description} [${checkTitle(o)}]`)}" time="${t}">`);
      if (!p.ok) lines.push(`      <failure type="${x(p.status)}" message="${x(`${p.id} ${p.reason}`)}">${x(cx || p.reason)}</failure>`);
      else if (p.status === 'not-checked') lines.push(`      <skipped message="${x(p.reason)}"/>`);
      else if (cx) lines.push(`      <system-out>${x(cx)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
    suites.push(lines.join('\n'));
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pokecheck" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
