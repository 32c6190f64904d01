/** `pokecheck report [--out DIR]`: every reference check, written as a report. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultMarkdown } from '../check/markdown.js';
import { EXIT, UsageError, type Io } from './io.js';
import { exploreOptions, optionsText, runReferenceChecks, type ReferenceOutcome } from './check-cmd.js';
import { parse, strFlag } from './options.js';

export function summaryMarkdown(outcomes: ReferenceOutcome[]): string {
  const out = ['# pokecheck report', '', '| model | protocol | options | CPUs | expected | found | violated | states | transitions | seconds | |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const o of outcomes) {
    const r = o.result;
    const violated = r.properties.filter((p) => p.status === 'violated').map((p) => p.id).join(', ') || '-';
    out.push(
      `| ${o.model} | ${o.check.protocol} | ${optionsText(o.check.options) || '-'} | ${o.check.cpus} | ${o.check.expected} | ${r.verdict} | ${violated} | ${r.states} | ${r.transitions} | ${r.seconds.toFixed(2)} | ${o.ok ? 'ok' : '**MISMATCH**'} |`,
    );
  }
  const bad = outcomes.filter((o) => !o.ok).length;
  out.push('', `${outcomes.length - bad} of ${outcomes.length} verdicts as expected.`, '');
  return out.join('\n');
}

export async function reportCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals } = parse(args, { out: { type: 'string' }, quiet: { type: 'boolean' }, symmetry: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = strFlag(flags, 'out') ?? 'report';
  mkdirSync(join(dir, 'checks'), { recursive: true });
  const eo = exploreOptions(flags, io);
  const outcomes = runReferenceChecks(eo, (o) => {
    const r = o.result;
    io.out(`${o.ok ? 'ok      ' : 'MISMATCH'} ${o.model} ${o.check.protocol} ${optionsText(o.check.options)} cpus=${o.check.cpus}: ${r.verdict} (${r.states} states, ${r.seconds.toFixed(2)} s)`);
  });
  eo.finish();
  const results = outcomes.map((o) => ({ ...o.result, expected: o.check.expected, expectedViolated: o.check.expectedViolated ?? [], ok: o.ok, options: o.check.options ?? {} }));
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(dir, 'summary.md'), summaryMarkdown(outcomes));
  for (const o of outcomes) {
    const name = [o.model, o.check.protocol, ...Object.values(o.check.options ?? {}), `${o.check.cpus}cpu`].join('_').replace(/[^A-Za-z0-9._-]/g, '-');
    writeFileSync(join(dir, 'checks', `${name}.md`), resultMarkdown(o.result));
  }
  const bad = outcomes.filter((o) => !o.ok).length;
  io.out(`report written to ${dir}/: ${outcomes.length - bad} of ${outcomes.length} verdicts as expected`);
  return bad === 0 ? 0 : EXIT.violated;
}
