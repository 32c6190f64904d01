/**
 * Reference outcomes for the report tests: the tailcall-poke model's
 * instruction-level reference checks (their expected verdicts come from
 * docs/reference-verdicts.md section 1 via the model's registry entry), run here so
 * that the tests do not depend on every other registered model.
 */
import { matchesExpectation, type ReferenceOutcome } from '../src/check/reference.js';
import { runCheck } from '../src/check/result.js';
import type { ReferenceCheck } from '../src/concurrency/model.js';
import { tailcallPoke } from '../models/tailcall-poke.js';

export function outcome(check: ReferenceCheck): ReferenceOutcome {
  const result = runCheck(tailcallPoke.build({ protocol: check.protocol, cpus: check.cpus, options: check.options ?? {} }), {});
  return { model: tailcallPoke.name, check, result, ok: matchesExpectation(check, result) };
}

/** rfc, v5.10, no-sync, bypass-first at their reference CPU counts. */
export function tailcallOutcomes(): ReferenceOutcome[] {
  return tailcallPoke.reference.filter((c) => !c.every && (!c.options || Object.keys(c.options).length === 0)).map(outcome);
}
