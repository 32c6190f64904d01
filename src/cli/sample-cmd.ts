/**
 * `pokecheck sample <model> [--protocol P] [--cpus N] [--runs R] [--steps S]
 * [--seed X] [--replay PATH] [--scheduler uniform|biased] [--ok-if-none]
 * [--json FILE] [model options]`: random schedules instead of a complete
 * search (src/check/sample.ts). Exit 1 on a violation; 3 when nothing was
 * found (a sample proves nothing), or 0 with --ok-if-none; 2 on bad input.
 */
import { writeFileSync } from 'node:fs';
import { sample, SampleOptionError, SCHEDULERS, type SchedulerKind } from '../check/sample.js';
import { sampleText } from '../check/sample-format.js';
import { buildModel } from '../check/reference.js';
import { modelFlagSpecs, modelOf, modelOptions } from './model-flags.js';
import { EXIT, UsageError, type Io } from './io.js';
import { intFlag, parse, strFlag } from './options.js';

/** Sampling goes where the exhaustive search cannot: more CPUs than `check` takes, if the model allows them. */
const MAX_CPUS = 1024;

export function sampleCommand(args: string[], io: Io): number {
  const modelFlags = modelFlagSpecs();
  const { flags, positionals } = parse(args, {
    protocol: { type: 'string' },
    cpus: { type: 'string' },
    runs: { type: 'string' },
    steps: { type: 'string' },
    seed: { type: 'string' },
    replay: { type: 'string' },
    scheduler: { type: 'string' },
    'shrink-seconds': { type: 'string' },
    'ok-if-none': { type: 'boolean' },
    json: { type: 'string' },
    ...modelFlags,
  });
  const def = modelOf('sample', positionals);
  const options = modelOptions(def, flags);
  const protocol = strFlag(flags, 'protocol') ?? def.defaultProtocol;
  const cpus = intFlag(flags, 'cpus', 1, MAX_CPUS) ?? def.defaultCpus;
  const runs = intFlag(flags, 'runs', 1);
  const steps = intFlag(flags, 'steps', 1, 1_000_000);
  const shrinkSeconds = intFlag(flags, 'shrink-seconds', 0, 3600);
  const scheduler = strFlag(flags, 'scheduler');
  if (scheduler !== undefined && !SCHEDULERS.includes(scheduler as SchedulerKind)) throw new UsageError(`--scheduler must be one of ${SCHEDULERS.join(', ')}, got '${scheduler}'`);
  const seedText = strFlag(flags, 'seed');
  if (seedText !== undefined && !/^-?\d+$/.test(seedText)) throw new UsageError(`--seed takes a whole number, got '${seedText}'`);
  const path = strFlag(flags, 'replay');
  if (path !== undefined && seedText === undefined) throw new UsageError('--replay needs the --seed the path was found with');
  const model = buildModel(def, protocol, cpus, options);
  let r;
  try {
    r = sample(model, { runs, steps, scheduler: scheduler as SchedulerKind | undefined, seed: seedText === undefined ? undefined : Number(seedText), path, shrinkSeconds });
  } catch (e) {
    if (e instanceof SampleOptionError) throw new UsageError(e.message);
    throw e;
  }
  const modelArgs = Object.entries(options).map(([k, v]) => ` --${k} ${/[\s;|*]/.test(v) ? `'${v}'` : v}`).join('');
  const command = `pokecheck sample ${def.name} --protocol ${protocol} --cpus ${cpus}${modelArgs} --steps ${r.maxSteps} --scheduler ${r.scheduler}`;
  for (const line of sampleText(r, command)) io.out(line);
  const json = strFlag(flags, 'json');
  if (json) writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  if (r.verdict === 'violated') return EXIT.violated;
  return flags['ok-if-none'] ? EXIT.holds : EXIT.incomplete;
}
