import { expect } from 'vitest';
import type { CheckableModel } from '../../src/concurrency/model.js';
import type { CheckResult } from '../../src/check/result.js';

/**
 * Replays a printed counterexample through the model on its own, without
 * symmetry: from the initial state, each printed step must be a successor
 * whose description (actor and action) is the printed one; the last state
 * must violate the property.
 */
export function replayPrinted(m: CheckableModel, r: CheckResult, property: string): void {
  const ce = r.counterexamples.find((c) => c.property === property);
  expect(ce, `a counterexample for ${property}`).toBeDefined();
  const sys = m.system;
  let s = new Int32Array(sys.width);
  sys.initial(s);
  const next = new Int32Array(sys.width);
  for (const step of ce!.steps) {
    const matches: Int32Array[] = [];
    sys.expand(s, next, (action) => {
      const d = m.describe(s, next, action);
      if (d.actor === step.actor && d.action === step.action) matches.push(next.slice());
    });
    expect(matches.length, `step "${step.actor}: ${step.action}"`).toBeGreaterThan(0);
    s = matches[0];
  }
  const bit = 1 << sys.properties.findIndex((p) => p.id === property);
  expect(sys.violations(s) & bit).not.toBe(0);
}
