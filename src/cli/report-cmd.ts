/** `pokecheck report [--out DIR]`: every reference check, written as a report (src/report/*). */
import { matchesExpectation, optionsText, type ReferenceOutcome } from '../check/reference.js';
import { writeReport, REPORT_FILES } from '../report/write.js';
import { exitCodeOfAll, referenceJobs } from './check-cmd.js';
import { UsageError, type Io } from './io.js';
import { intFlag, parse, strFlag } from './options.js';
import { OutputError, prepareOutputDir } from './outputs.js';
import { runSearch, SEARCH_FLAGS, searchSetup } from './search-flags.js';

export async function reportCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals } = parse(args, { out: { type: 'string' }, 'sarif-root': { type: 'string' }, ...SEARCH_FLAGS });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (flags['sarif-root'] === '') throw new UsageError('--sarif-root needs a path (relative to the repository root)');
  const setup = searchSetup(flags, io);
  const dir = prepareOutputDir('--out', strFlag(flags, 'out') ?? 'report', ['checks']);
  const jobs = referenceJobs();
  const outcomes: ReferenceOutcome[] = [];
  const { signal } = await runSearch(
    jobs.map((j) => j.origin),
    setup,
    io,
    (i) => `${jobs[i].origin.model} ${jobs[i].check.protocol}`,
    (i, r) => {
      const o = { model: jobs[i].origin.model, check: jobs[i].check, result: r, ok: matchesExpectation(jobs[i].check, r) };
      outcomes[i] = o;
      io.out(`${o.ok ? 'ok      ' : 'MISMATCH'} ${o.model} ${o.check.protocol} ${optionsText(o.check.options)} cpus=${o.check.every ? 'every' : o.check.cpus}: ${r.verdict} (${r.states} states, ${r.seconds.toFixed(2)} s)`);
    },
  );
  if (signal) io.err(`pokecheck: stopped by ${signal}: the report shows incomplete searches`);
  const t0 = performance.now();
  try {
    await writeReport(dir, outcomes, {
      maxStates: intFlag(flags, 'max-states', 1),
      sarif: { root: strFlag(flags, 'sarif-root') },
      onGraph: (what, g) => {
        if (g.error) io.err(`pokecheck: warning: ${what}: graph not drawn: ${g.error}`);
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new OutputError(`--out ${dir}: cannot write the report: ${code}`);
    throw e;
  }
  const bad = outcomes.filter((o) => !o.ok).length;
  io.out(`report written to ${dir}/ (${REPORT_FILES.join(', ')}, checks/*.md; graphs ${((performance.now() - t0) / 1000).toFixed(1)} s): ${outcomes.length - bad} of ${outcomes.length} verdicts as expected`);
  return exitCodeOfAll(outcomes);
}
