/** `pokecheck report [--out DIR]`: every reference check, written as a report (src/report/*). */
import { writeReport, REPORT_FILES } from '../report/write.js';
import { EXIT, UsageError, type Io } from './io.js';
import { exploreOptions, optionsText, runReferenceChecks } from './check-cmd.js';
import { intFlag, parse, strFlag } from './options.js';

export async function reportCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals } = parse(args, { out: { type: 'string' }, quiet: { type: 'boolean' }, symmetry: { type: 'boolean' }, 'no-symmetry': { type: 'boolean' }, 'max-states': { type: 'string' }, workers: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = strFlag(flags, 'out') ?? 'report';
  const eo = exploreOptions(flags, io);
  const outcomes = runReferenceChecks(eo, (o) => {
    const r = o.result;
    io.out(`${o.ok ? 'ok      ' : 'MISMATCH'} ${o.model} ${o.check.protocol} ${optionsText(o.check.options)} cpus=${o.check.cpus}: ${r.verdict} (${r.states} states, ${r.seconds.toFixed(2)} s)`);
  });
  eo.finish();
  const t0 = performance.now();
  await writeReport(dir, outcomes, {
    maxStates: intFlag(flags, 'max-states', 1),
    onGraph: (what, g) => {
      if (g.error) io.err(`pokecheck: warning: ${what}: graph not drawn: ${g.error}`);
    },
  });
  const bad = outcomes.filter((o) => !o.ok).length;
  io.out(`report written to ${dir}/ (${REPORT_FILES.join(', ')}, checks/*.md; graphs ${((performance.now() - t0) / 1000).toFixed(1)} s): ${outcomes.length - bad} of ${outcomes.length} verdicts as expected`);
  return bad === 0 ? 0 : EXIT.violated;
}
