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

/**
 * Defaults that changed after the recording: tailcall-poke without --script now explores every
 * sequence of map operations, dispatcher without --script every sequence of XDP attach / detach /
 * replace, tailcall-cached-target without --updaters every sequence of updates and deletes by each
 * updater (issue "Proofs of the protocol"); the golden configurations ran the old default
 * scenarios, so they are given explicitly.
 */
export const RECORDED_DEFAULTS: Record<string, Record<string, string>> = {
  'tailcall-poke': { script: 'install f1; update f2; remove; install f3' },
  dispatcher: { script: 'attach f1; attach f2; replace f1 f3' },
  'tailcall-cached-target': { updaters: 'update f1 | update f2' },
};

/** The options a golden configuration is built with today. */
export function goldenOptions(c: { model: string; options: Record<string, string> }): Record<string, string> {
  return c.options.level === 'byte' ? c.options : { ...RECORDED_DEFAULTS[c.model], ...c.options };
}
