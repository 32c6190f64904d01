/**
 * Running one check and turning the explorer's figures into the result that
 * every output (stdout, --json, --md, reports) is made from.
 */
import { explore, type ExploreOptions } from '../concurrency/explorer.js';
import type { CheckableModel, SiteView, Verdict } from '../concurrency/model.js';
import { replay } from '../concurrency/trace.js';

export type PropertyStatus = 'holds' | 'violated' | 'incomplete' | 'not-checked';

export interface CounterexampleStep {
  actor: string;
  action: string;
  sites: SiteView[];
  /** The rest of the state after this step (map slot, CPUs, programs). */
  state: string;
}

export interface Counterexample {
  property: string;
  description: string;
  /** The initial state's sites, before step 1. */
  initial: { sites: SiteView[]; state: string };
  steps: CounterexampleStep[];
}

export interface CheckResult {
  model: string;
  protocol: string;
  cpus: number;
  config: Record<string, string>;
  verdict: Verdict;
  properties: { id: string; description: string; status: PropertyStatus }[];
  states: number;
  transitions: number;
  depth: number;
  seconds: number;
  symmetry: boolean;
  /** Why the search stopped early, when it did ('max-states' | 'max-memory'). */
  limit: string | null;
  memoryMB: number;
  /** The shortest counterexample found (for the first violated property in breadth-first order). */
  counterexample: Counterexample | null;
  /** One shortest counterexample per violated property. */
  counterexamples: Counterexample[];
}

export interface CheckOptions extends ExploreOptions {}

export function runCheck(m: CheckableModel, opts: CheckOptions = {}): CheckResult {
  const sys = m.system;
  const r = explore(sys, opts);
  const properties = sys.properties.map((p, i) => {
    let status: PropertyStatus;
    if (r.firstViolation[i] >= 0) status = 'violated';
    else if (!p.checked) status = 'not-checked';
    else if (r.complete) status = 'holds';
    else status = 'incomplete';
    return { id: p.id, description: p.description, status };
  });
  const verdict: Verdict = properties.some((p) => p.status === 'violated')
    ? 'violated'
    : properties.some((p) => p.status === 'incomplete')
      ? 'incomplete'
      : 'holds';
  // Counterexamples, shortest first; each is replayed from the initial state.
  const found = sys.properties
    .map((p, i) => ({ p, idx: r.firstViolation[i] }))
    .filter((x) => x.idx >= 0)
    .sort((a, b) => a.idx - b.idx);
  const counterexamples = found.map(({ p, idx }): Counterexample => {
    const t = replay(sys, r.store, idx, r.symmetry);
    const last = t.steps.length ? t.steps[t.steps.length - 1].after : t.initial;
    const bit = 1 << sys.properties.indexOf(p);
    if (!(sys.violations(last) & bit)) throw new Error(`replayed counterexample for ${p.id} does not violate it`);
    return {
      property: p.id,
      description: p.description,
      initial: { sites: m.sites(t.initial), state: m.summary(t.initial) },
      steps: t.steps.map((s) => ({ ...m.describe(s.before, s.after, s.action), sites: m.sites(s.after), state: m.summary(s.after) })),
    };
  });
  return {
    model: m.model,
    protocol: m.protocol,
    cpus: m.cpus,
    config: m.config,
    verdict,
    properties,
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    seconds: r.seconds,
    symmetry: r.symmetry,
    limit: r.limit,
    memoryMB: Math.round((r.storeBytes / (1024 * 1024)) * 10) / 10,
    counterexample: counterexamples[0] ?? null,
    counterexamples,
  };
}
