/** `pokecheck check <model> ...` and `pokecheck check --all`. */
import { findModel, MODELS } from '../../models/index.js';
import { resultText } from '../check/format.js';
import { resultJson } from '../check/json.js';
import { resultMarkdown } from '../check/markdown.js';
import { buildModel, matchesExpectation, optionsText, type ReferenceOutcome } from '../check/reference.js';
import type { CheckResult, ModelOrigin } from '../check/result.js';
import type { ReferenceCheck } from '../concurrency/model.js';
import { junitXml } from '../report/junit.js';
import { sarifJson, type SarifOptions } from '../report/sarif.js';
import { parseExpect } from './expect.js';
import { EXIT, UsageError, type Io } from './io.js';
import { intFlag, parse, strFlag, type Flags } from './options.js';
import { prepareOutputFile, writeOutput } from './outputs.js';
import { runSearch, SEARCH_FLAGS, searchSetup } from './search-flags.js';
import { cutoffIneligible } from '../check/cutoff.js';
import type { SearchJob } from '../check/supervise.js';

const COMMON = {
  protocol: { type: 'string' },
  cpus: { type: 'string' },
  json: { type: 'string' },
  md: { type: 'string' },
  all: { type: 'boolean' },
  junit: { type: 'string' },
  sarif: { type: 'string' },
  'sarif-root': { type: 'string' },
  expect: { type: 'string' },
  ...SEARCH_FLAGS,
} as const;

/** A single check's exit code: 0 holds, 1 violated, 3 incomplete. */
export function exitCodeOf(r: CheckResult): number {
  return r.verdict === 'holds' ? EXIT.holds : r.verdict === 'violated' ? EXIT.violated : EXIT.incomplete;
}

/**
 * check --all / report: 0 every verdict as expected; 1 a definite mismatch; 3 only searches cut short.
 * A search cut short after some of the expected violations but before the others (a limit with the
 * verdict violated, where violated was expected) is cut short too: what it has not found yet, a
 * longer search may find. A violation found where the kernel's history says holds is definite.
 */
export function exitCodeOfAll(outcomes: readonly ReferenceOutcome[]): number {
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length === 0) return EXIT.holds;
  const cutShort = (o: ReferenceOutcome): boolean => o.result.verdict === 'incomplete' || (o.result.limit !== null && o.result.verdict === 'violated' && o.check.expected === 'violated');
  return bad.every(cutShort) ? EXIT.incomplete : EXIT.violated;
}

function ciFiles(flags: Flags): { junit?: string; sarif?: string; sarifOptions: SarifOptions } {
  if (flags['sarif-root'] !== undefined && flags.sarif === undefined) throw new UsageError('--sarif-root goes with --sarif');
  if (flags['sarif-root'] === '') throw new UsageError('--sarif-root needs a path (relative to the repository root)');
  return {
    junit: prepareOutputFile('--junit', strFlag(flags, 'junit')),
    sarif: prepareOutputFile('--sarif', strFlag(flags, 'sarif')),
    sarifOptions: { root: strFlag(flags, 'sarif-root') },
  };
}

function writeCi(files: ReturnType<typeof ciFiles>, outcomes: ReferenceOutcome[]): void {
  writeOutput('--junit', files.junit, junitXml(outcomes));
  writeOutput('--sarif', files.sarif, sarifJson(outcomes, files.sarifOptions));
}

function interruptedNote(io: Io, signal: string | null, results: CheckResult[]): void {
  if (signal) io.err(`pokecheck: stopped by ${signal}: results above are incomplete`);
  else if (results.some((r) => r.limit === 'time-limit')) io.err('pokecheck: --time-limit reached: results above are incomplete');
}

export async function checkCommand(args: string[], io: Io): Promise<number> {
  // Every model's own flags are declared, then checked against the model named.
  const allModelOpts = Object.fromEntries(MODELS.flatMap((m) => m.options).map((o) => [o.name, { type: 'string' as const }]));
  const { flags, positionals } = parse(args, { ...COMMON, ...allModelOpts });
  const modelName = positionals[0];
  const def = modelName ? findModel(modelName) : undefined;
  if (modelName && !def) throw new UsageError(`unknown model '${modelName}' (models: ${MODELS.map((m) => m.name).join(', ')})`);
  for (const name of Object.keys(allModelOpts)) {
    if (flags[name] !== undefined && !def?.options.some((o) => o.name === name)) {
      throw new UsageError(`--${name} is not an option of ${def?.name ?? 'check --all'}`);
    }
  }
  if (flags.all) {
    if (positionals.length) throw new UsageError('check --all takes no model');
    return checkAll(flags, io);
  }
  if (!def) throw new UsageError('check needs a model (see `pokecheck list`) or --all');
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  if (flags.protocol !== undefined && flags['protocol-file'] !== undefined) throw new UsageError('--protocol and --protocol-file exclude each other');
  const protocol = strFlag(flags, 'protocol') ?? def.defaultProtocol;
  // --cpus every: the every-N cutoff (src/check/cutoff.ts) instead of one count of CPUs
  const everyN = flags.cpus === 'every';
  const cpus = everyN ? def.defaultCpus : (intFlag(flags, 'cpus', 1, 64) ?? def.defaultCpus);
  const options: Record<string, string> = {};
  for (const o of def.options) {
    const v = strFlag(flags, o.name);
    if (v !== undefined) {
      if (o.values && !o.values.includes(v)) throw new UsageError(`--${o.name} must be one of ${o.values.join(', ')}, got '${v}'`);
      options[o.name] = v;
    }
  }
  const model = buildModel(def, protocol, cpus, options);
  const setup = searchSetup(flags, io);
  if (setup.options.symmetry === true && !model.system.canonicalize) throw new UsageError(`${def.name} has no symmetry reduction (--symmetry)`);
  if (everyN) {
    const why = cutoffIneligible(model);
    if (why) throw new UsageError(`${def.name}: --cpus every needs a reader model: ${why}`);
  }
  const expectation = parseExpect(strFlag(flags, 'expect'), model.system.properties.map((p) => p.id));
  // Outputs last: every other mistake is reported before a file is touched.
  const json = prepareOutputFile('--json', strFlag(flags, 'json'));
  const md = prepareOutputFile('--md', strFlag(flags, 'md'));
  const ci = ciFiles(flags);
  const origin: SearchJob = { model: def.name, config: { protocol, cpus, options }, ...(everyN ? { everyN: true } : {}) };
  const { results, signal } = await runSearch([origin], setup, io, () => def.name);
  const r = results[0];
  if (((setup.options.workers ?? 1) > 1 || setup.options.pipeline) && r.workers === 1) io.err(`note: ${def.name} searched on one thread (its states number byte strings as they are discovered)`);
  for (const line of resultText(r)) io.out(line);
  interruptedNote(io, signal, results);
  writeOutput('--json', json, resultJson(r));
  writeOutput('--md', md, resultMarkdown(r));
  // Without --expect a check on its own is expected to hold: a violated property is a failing testcase / an error result.
  const check: ReferenceCheck = { protocol, cpus, options, ...(expectation ?? { expected: 'holds' }) };
  const ok = matchesExpectation(check, r);
  writeCi(ci, [{ model: def.name, check, result: r, ok }]);
  if (!expectation) return exitCodeOf(r);
  const want = `${check.expected}${check.expectedViolated ? `:${check.expectedViolated.join(',')}` : ''}`;
  io.out(ok ? `as expected (--expect ${want})` : `NOT as expected: --expect ${want}, found ${r.verdict}${r.verdict === 'violated' ? ` (${r.properties.filter((p) => p.status === 'violated').map((p) => p.id).join(',')})` : ''}`);
  return ok ? EXIT.holds : EXIT.violated;
}

/** Every reference check's origin, with its check, in the order of MODELS. */
export function referenceJobs(): { origin: SearchJob; check: ReferenceCheck }[] {
  return MODELS.flatMap((def) => def.reference.map((check) => ({ origin: { model: def.name, config: { protocol: check.protocol, cpus: check.cpus, options: check.options ?? {} }, ...(check.every ? { everyN: true } : {}) }, check })));
}

async function checkAll(flags: Flags, io: Io): Promise<number> {
  if (flags.protocol || flags.cpus || flags.json !== undefined || flags.md !== undefined || flags.expect !== undefined) {
    throw new UsageError('check --all runs every reference configuration with its own expectation; --protocol, --cpus, --json, --md and --expect go with one model');
  }
  const setup = searchSetup(flags, io);
  const ci = ciFiles(flags);
  const jobs = referenceJobs();
  const header = ['model', 'protocol', 'options', 'cpus', 'expected', 'found', 'violated', 'states', 'seconds', ''];
  const rows: string[][] = [];
  const outcomes: ReferenceOutcome[] = [];
  const { results, signal } = await runSearch(
    jobs.map((j) => j.origin),
    setup,
    io,
    (i) => `${jobs[i].origin.model} ${jobs[i].check.protocol} ${optionsText(jobs[i].check.options)} cpus=${jobs[i].check.every ? 'every' : jobs[i].check.cpus}`.replace(/ +/g, ' '),
    (i, result) => {
      const o = { model: jobs[i].origin.model, check: jobs[i].check, result, ok: matchesExpectation(jobs[i].check, result) };
      outcomes[i] = o;
      rows[i] = [
        o.model,
        o.check.protocol,
        optionsText(o.check.options),
        o.check.every ? 'every' : String(o.check.cpus),
        o.check.expected + (o.check.expectedViolated ? ` (${o.check.expectedViolated.join(',')})` : ''),
        o.result.verdict,
        o.result.properties.filter((p) => p.status === 'violated').map((p) => p.id).join(',') || '-',
        String(o.result.states),
        o.result.seconds.toFixed(2),
        o.ok ? 'ok' : 'MISMATCH',
      ];
    },
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  io.out(fmt(header));
  for (const r of rows) io.out(fmt(r));
  interruptedNote(io, signal, results);
  writeCi(ci, outcomes);
  const bad = outcomes.filter((o) => !o.ok).length;
  io.out(`${outcomes.length - bad} of ${outcomes.length} verdicts as expected`);
  return exitCodeOfAll(outcomes);
}
