/**
 * Running one check and turning the explorer's figures into the result that
 * every output (stdout, --json, --md, reports) is made from.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { explore, type ExploreOptions, type ExploreResult } from '../concurrency/explorer.js';
import type { CheckableModel, ModelConfig, SiteView, Verdict } from '../concurrency/model.js';
import { explorePipeline } from '../concurrency/pipeline/explore-pipeline.js';
import { exploreParallel } from '../concurrency/parallel/explore-parallel.js';
import { pathTo, replay } from '../concurrency/trace.js';

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
  /** Threads that searched. */
  workers: number;
  /** True if they were pipelined (one expands, the other stores) rather than partitioned. */
  pipelined: boolean;
  /** Why the search stopped early, when it did ('max-states' | 'max-memory' | 'store-full'). */
  limit: string | null;
  memoryMB: number;
  /** The shortest counterexample found (for the first violated property in breadth-first order). */
  counterexample: Counterexample | null;
  /** One shortest counterexample per violated property. */
  counterexamples: Counterexample[];
  /** What the verdict covers, in words (CPUs, map operations), when it is more than the one configuration searched. */
  scope?: string;
  /** The every-N cutoff behind an every-N verdict (src/check/cutoff.ts). */
  cutoff?: {
    k: number;
    searched: number[];
    transitionsChecked: number;
    /** The condition that failed (then no every-N claim is made), or null. */
    failure: { condition: string; detail: string } | null;
    /** For every-N verdicts: the smallest N the verdict is claimed from. */
    fromCpus: number;
  };
}

/** Which model, built how: what a worker thread needs to build its own copy. */
export interface ModelOrigin {
  model: string;
  config: ModelConfig;
}

export interface CheckOptions extends ExploreOptions {
  /**
   * Threads to search with (default 1). More than 1 needs `origin`, and is
   * used only for systems that allow it (TransitionSystem.parallel).
   */
  workers?: number;
  /**
   * Search on two threads, pipelined: a worker expands, this thread stores
   * (src/concurrency/pipeline/). Needs `origin`; used only for systems that
   * allow it (TransitionSystem.parallel). Excludes `workers` > 1.
   */
  pipeline?: boolean;
  origin?: ModelOrigin;
}

/**
 * The worker entry, compiled: under the test runner this module is the
 * TypeScript source, and a worker thread can only run the build's JavaScript.
 */
function workerEntry(name = 'check-worker'): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL(`../../dist/src/check/${name}.js`, here) : new URL(`./${name}.js`, here);
  // A worker that cannot even start would leave this thread at the barrier.
  if (!existsSync(url)) throw new Error(`the worker entry ${fileURLToPath(url)} is missing: run npm run build`);
  return url;
}

function search(m: CheckableModel, opts: CheckOptions): ExploreResult {
  const workers = opts.workers ?? 1;
  if (opts.pipeline && workers > 1) throw new Error('a search is either pipelined or split over workers, not both');
  if (opts.pipeline && m.system.parallel) {
    if (!opts.origin) throw new Error('a pipelined check needs the origin of the model (name and configuration)');
    return explorePipeline(m.system, { worker: workerEntry('expand-worker'), data: opts.origin }, opts);
  }
  if (workers <= 1 || !m.system.parallel) return explore(m.system, opts);
  if (!opts.origin) throw new Error('a parallel check needs the origin of the model (name and configuration)');
  return exploreParallel(m.system, workers, { worker: workerEntry(), data: opts.origin }, opts);
}

export function runCheck(m: CheckableModel, opts: CheckOptions = {}): CheckResult {
  const sys = m.system;
  const r = search(m, opts);
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
  // Counterexamples, shortest first (then, one thread: in order of discovery;
  // several: in order of the properties); each is
  // replayed from the initial state.
  const found = sys.properties
    .map((p, i) => ({ p, idx: r.firstViolation[i], i }))
    .filter((x) => x.idx >= 0)
    .map((x) => ({ ...x, len: pathTo(r.store, x.idx).length }))
    .sort((a, b) => a.len - b.len || (r.workers > 1 && !r.pipelined ? a.i - b.i : a.idx - b.idx));
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
    workers: r.workers,
    pipelined: !!r.pipelined,
    limit: r.limit,
    memoryMB: Math.round((r.storeBytes / (1024 * 1024)) * 10) / 10,
    counterexample: counterexamples[0] ?? null,
    counterexamples,
  };
}
