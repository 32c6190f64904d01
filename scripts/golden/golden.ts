/** What of a check result is pinned: everything the search decides, nothing that is timing. */
import type { CheckResult } from '../../src/check/result.js';

export function goldenOf(r: CheckResult) {
  return {
    verdict: r.verdict,
    properties: r.properties.map((p) => `${p.id}:${p.status}`),
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    counterexamples: r.counterexamples.map((c) => ({
      property: c.property,
      initial: c.initial.state,
      steps: c.steps.map((s) => `${s.actor}: ${s.action} | ${s.sites.map((x) => `${x.name}=${x.bytes}`).join(' ')} | ${s.state}`),
    })),
  };
}
