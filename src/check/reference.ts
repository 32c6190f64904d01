/**
 * The reference checks: every model's configurations with the verdict the
 * kernel's history says they must give (ModelDefinition.reference), run and
 * compared. Shared by `check --all`, `report` and the tests; the CLI and the
 * report are clients of this module, never the other way round.
 */
import { MODELS } from '../../models/index.js';
import { ModelConfigError, type ModelDefinition, type ReferenceCheck } from '../concurrency/model.js';
import { runCheck, type CheckOptions, type CheckResult } from './result.js';
import { cutoffResult } from './cutoff.js';

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

/** Every reference check of every model, in order (one thread of this process; see supervise.ts for the CLI's). */
export function runReferenceChecks(opts: CheckOptions, onResult?: (o: ReferenceOutcome) => void): ReferenceOutcome[] {
  const outcomes: ReferenceOutcome[] = [];
  for (const def of MODELS) {
    for (const check of def.reference) {
      const config = { protocol: check.protocol, cpus: check.cpus, options: check.options ?? {} };
      const result = check.every
        ? cutoffResult((n) => buildModel(def, check.protocol, n, config.options), opts)
        : runCheck(def.build(config), { ...opts, origin: { model: def.name, config } });
      const o = { model: def.name, check, result, ok: matchesExpectation(check, result) };
      outcomes.push(o);
      onResult?.(o);
    }
  }
  return outcomes;
}

/** A check's model options as flags, for titles and tables: `--level byte`. */
export function optionsText(options: Record<string, string> | undefined): string {
  return Object.entries(options ?? {})
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ');
}

/** Builds a model; an unknown protocol or a configuration the model rejects is a ModelConfigError (bad input). */
export function buildModel(def: ModelDefinition, protocol: string, cpus: number, options: Record<string, string>) {
  if (!def.protocols.some((p) => p.name === protocol)) {
    throw new ModelConfigError(`unknown protocol '${protocol}' for ${def.name} (protocols: ${def.protocols.map((p) => p.name).join(', ')})`);
  }
  try {
    return def.build({ protocol, cpus, options });
  } catch (e) {
    // A configuration whose machines do not fit the model's packed state
    // (today's models say so in plain Errors; the typed layer throws ModelConfigError).
    if (!(e instanceof ModelConfigError) && e instanceof Error && /too large to pack/.test(e.message)) {
      const ops = Object.entries(options)
        .filter(([, v]) => v.includes(';'))
        .map(([k, v]) => `--${k} has ${v.split(/[;|]/).filter((x) => x.trim()).length} operations`);
      throw new ModelConfigError(`${def.name}: this configuration is too large for the model's packed state${ops.length ? ` (${ops.join(', ')})` : ''}: use a shorter script or fewer CPUs`);
    }
    throw e;
  }
}
