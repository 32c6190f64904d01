/** `pokecheck check <model> ...` and `pokecheck check --all`. */
import { writeFileSync } from 'node:fs';
import { findModel, MODELS } from '../../models/index.js';
import { resultText } from '../check/format.js';
import { resultJson } from '../check/json.js';
import { resultMarkdown } from '../check/markdown.js';
import { runCheck, type CheckOptions, type CheckResult } from '../check/result.js';
import { ModelConfigError, type ModelDefinition, type ReferenceCheck } from '../concurrency/model.js';
import { EXIT, processIo, UsageError, type Io } from './io.js';
import { intFlag, parse, strFlag, type Flags } from './options.js';
import { progressPrinter } from './progress.js';
import { writeCiFiles } from '../report/ci.js';
import { cutoffIneligible, cutoffResult } from '../check/cutoff.js';

const COMMON = {
  protocol: { type: 'string' },
  cpus: { type: 'string' },
  json: { type: 'string' },
  md: { type: 'string' },
  symmetry: { type: 'boolean' },
  'no-symmetry': { type: 'boolean' },
  'max-states': { type: 'string' },
  'max-memory': { type: 'string' },
  'stop-at-first': { type: 'boolean' },
  workers: { type: 'string' },
  store: { type: 'string' },
  pipeline: { type: 'boolean' },
  quiet: { type: 'boolean' },
  all: { type: 'boolean' },
  junit: { type: 'string' },
  sarif: { type: 'string' },
} as const;

/**
 * The search's options from the flags. Symmetry reduction is on by default
 * for every model that has it (`--no-symmetry` explores the full product; see
 * docs/performance.md). Progress is drawn on stderr only when both stdout and
 * stderr are terminals and --quiet is not given. `--workers N` searches on N
 * threads (see src/concurrency/parallel/); the default is one. `--store js`
 * keeps the visited set in TypeScript arrays instead of WebAssembly memory:
 * slower, but not capped at 4 GiB (see src/concurrency/visited-set.ts).
 * `--pipeline` searches on two threads, one expanding while the other stores
 * (src/concurrency/pipeline/).
 */
export function exploreOptions(flags: Flags, io: Io): CheckOptions & { finish(): void } {
  if (flags.symmetry && flags['no-symmetry']) throw new UsageError('--symmetry and --no-symmetry exclude each other');
  const quiet = !!flags.quiet || !io.interactive || (io === processIo && !process.stdout.isTTY);
  const progress = quiet ? null : progressPrinter((s) => process.stderr.write(s));
  const store = flags.store ?? 'wasm';
  if (store !== 'wasm' && store !== 'js') throw new UsageError(`--store must be wasm or js, got '${store}'`);
  const workers = intFlag(flags, 'workers', 1, 64);
  if (flags.pipeline && (workers ?? 1) > 1) throw new UsageError('--pipeline and --workers exclude each other');
  if (flags.pipeline && store === 'js') throw new UsageError('--pipeline keeps its states in WebAssembly memory: not with --store js');
  return {
    symmetry: flags['no-symmetry'] ? false : flags.symmetry ? true : 'auto',
    maxStates: intFlag(flags, 'max-states', 1),
    maxMemoryMB: intFlag(flags, 'max-memory', 1),
    stopAtFirstViolation: !!flags['stop-at-first'],
    workers,
    pipeline: !!flags.pipeline,
    store,
    onProgress: progress ? (p) => progress.update(p) : undefined,
    finish: () => progress?.done(),
  };
}

export function exitCodeOf(r: CheckResult): number {
  return r.verdict === 'holds' ? EXIT.holds : r.verdict === 'violated' ? EXIT.violated : EXIT.incomplete;
}

/** Builds a model, turning its configuration errors into usage errors. */
export function buildModel(def: ModelDefinition, protocol: string, cpus: number, options: Record<string, string>) {
  if (!def.protocols.some((p) => p.name === protocol)) {
    throw new UsageError(`unknown protocol '${protocol}' for ${def.name} (protocols: ${def.protocols.map((p) => p.name).join(', ')})`);
  }
  try {
    return def.build({ protocol, cpus, options });
  } catch (e) {
    if (e instanceof ModelConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export function checkCommand(args: string[], io: Io): number {
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
  const eo = exploreOptions(flags, io);
  if (eo.symmetry === true && !model.system.canonicalize) throw new UsageError(`${def.name} has no symmetry reduction (--symmetry)`);
  if (everyN) {
    const why = cutoffIneligible(model);
    if (why) throw new UsageError(`${def.name}: --cpus every needs a reader model: ${why}`);
  }
  const r = everyN
    ? cutoffResult((n) => buildModel(def, protocol, n, options), eo)
    : runCheck(model, { ...eo, origin: { model: def.name, config: { protocol, cpus, options } } });
  eo.finish();
  if (((eo.workers ?? 1) > 1 || eo.pipeline) && r.workers === 1) io.err(`note: ${def.name} searched on one thread (its states number byte strings as they are discovered)`);
  for (const line of resultText(r)) io.out(line);
  const json = strFlag(flags, 'json');
  if (json) writeFileSync(json, resultJson(r));
  const md = strFlag(flags, 'md');
  if (md) writeFileSync(md, resultMarkdown(r));
  // One check on its own is expected to hold: a violated property is a failing testcase / an error result.
  const check: ReferenceCheck = { protocol, cpus, options, expected: 'holds' };
  writeCiFiles([{ model: def.name, check, result: r, ok: matchesExpectation(check, r) }], { junit: strFlag(flags, 'junit'), sarif: strFlag(flags, 'sarif') });
  return exitCodeOf(r);
}

export interface ReferenceOutcome {
  model: string;
  check: ReferenceCheck;
  result: CheckResult;
  ok: boolean;
}

/** Whether a result is what the reference expects: the verdict, and every expected property among the violated. */
export function matchesExpectation(check: ReferenceCheck, r: CheckResult): boolean {
  if (r.verdict !== check.expected) return false;
  const violated = new Set(r.properties.filter((p) => p.status === 'violated').map((p) => p.id));
  return (check.expectedViolated ?? []).every((id) => violated.has(id));
}

export function runReferenceChecks(opts: CheckOptions, onResult?: (o: ReferenceOutcome) => void): ReferenceOutcome[] {
  const outcomes: ReferenceOutcome[] = [];
  for (const def of MODELS) {
    for (const check of def.reference) {
      const config = { protocol: check.protocol, cpus: check.cpus, options: check.options ?? {} };
      const result = runCheck(def.build(config), { ...opts, origin: { model: def.name, config } });
      const o = { model: def.name, check, result, ok: matchesExpectation(check, result) };
      outcomes.push(o);
      onResult?.(o);
    }
  }
  return outcomes;
}

export function optionsText(options: Record<string, string> | undefined): string {
  return Object.entries(options ?? {})
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ');
}

function checkAll(flags: Flags, io: Io): number {
  if (flags.protocol || flags.cpus || flags.json || flags.md) throw new UsageError('check --all runs every reference configuration; --protocol, --cpus, --json and --md go with one model');
  const eo = exploreOptions(flags, io);
  const header = ['model', 'protocol', 'options', 'cpus', 'expected', 'found', 'violated', 'states', 'seconds', ''];
  const rows: string[][] = [];
  const outcomes = runReferenceChecks(eo, (o) => {
    rows.push([
      o.model,
      o.check.protocol,
      optionsText(o.check.options),
      String(o.check.cpus),
      o.check.expected + (o.check.expectedViolated ? ` (${o.check.expectedViolated.join(',')})` : ''),
      o.result.verdict,
      o.result.properties.filter((p) => p.status === 'violated').map((p) => p.id).join(',') || '-',
      String(o.result.states),
      o.result.seconds.toFixed(2),
      o.ok ? 'ok' : 'MISMATCH',
    ]);
  });
  eo.finish();
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  io.out(fmt(header));
  for (const r of rows) io.out(fmt(r));
  writeCiFiles(outcomes, { junit: strFlag(flags, 'junit'), sarif: strFlag(flags, 'sarif') });
  const bad = outcomes.filter((o) => !o.ok).length;
  io.out(`${outcomes.length - bad} of ${outcomes.length} verdicts as expected`);
  return bad === 0 ? 0 : 1;
}
