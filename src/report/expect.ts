/**
 * What each property of a reference check is expected to do, and whether it
 * did: the per-property view that the JUnit testcases, the HTML table and the
 * Markdown summary share.
 *
 * A check expected to hold expects every checked property to hold. A check
 * expected to be violated names the properties that must be violated
 * (`expectedViolated`); the others have no expectation. A property the
 * protocol does not promise is `not-checked` (a skipped testcase). If a check
 * misses its expected verdict and no property with an expectation explains
 * it (e.g. `violated` expected without naming a property), every property
 * without an expectation carries the failure, so it is never lost.
 */
import { limitText } from '../check/format.js';
import type { Counterexample, CheckResult, PropertyStatus } from '../check/result.js';
import type { ReferenceCheck } from '../concurrency/model.js';
import type { ReferenceOutcome } from '../check/reference.js';

export type ExpectedStatus = 'holds' | 'violated' | null;

export interface PropertyOutcome {
  id: string;
  description: string;
  status: PropertyStatus;
  expected: ExpectedStatus;
  /** False when this property shows the check's mismatch. */
  ok: boolean;
  /** One line: what was found, and against what expectation. */
  reason: string;
  counterexample: Counterexample | null;
}

export function expectedStatus(check: ReferenceCheck, id: string): ExpectedStatus {
  if (check.expected === 'holds') return 'holds';
  if (check.expected === 'violated' && (check.expectedViolated ?? []).includes(id)) return 'violated';
  return null;
}

function found(r: CheckResult, status: PropertyStatus, c: Counterexample | null): string {
  switch (status) {
    case 'holds':
      return `holds: complete search of ${r.states} states`;
    case 'violated':
      return `violated: shortest counterexample ${c ? c.steps.length : '?'} steps`;
    case 'incomplete':
      return `incomplete: search stopped ${r.limit ? limitText(r.limit) : 'by a limit'} after ${r.states} states, nothing proved`;
    case 'not-checked':
      return 'not checked: the protocol does not promise it';
  }
}

export function propertyOutcomes(o: ReferenceOutcome): PropertyOutcome[] {
  const r = o.result;
  const list = r.properties.map((p): PropertyOutcome => {
    const expected = expectedStatus(o.check, p.id);
    const c = r.counterexamples.find((x) => x.property === p.id) ?? null;
    const ok = expected === null || p.status === expected || (p.status === 'not-checked' && expected === 'holds');
    const f = found(r, p.status, c);
    const reason = expected === null ? f : ok ? `${f} (as expected)` : `expected to be ${expected === 'holds' ? 'holding' : 'violated'}, found ${f}`;
    return { id: p.id, description: p.description, status: p.status, expected, ok, reason, counterexample: c };
  });
  if (!o.ok && list.every((p) => p.ok)) {
    const want = `${o.check.expected}${o.check.expectedViolated?.length ? ` (${o.check.expectedViolated.join(', ')})` : ''}`;
    for (const p of list) {
      if (p.expected !== null) continue;
      p.ok = false;
      p.reason = `check verdict ${r.verdict}, expected ${want}; this property ${p.reason}`;
    }
  }
  return list;
}
