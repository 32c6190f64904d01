/**
 * The graphs the HTML report shows, laid out to SVG:
 * - per model, each actor's machine (drawn once when every check of the
 *   model that has machines to draw has the same one, e.g. the CPU; otherwise
 *   per check, e.g. the updater, which depends on the protocol);
 * - per check, the protocol picture (when the model groups its states);
 * - per counterexample, the lanes.
 * A graph that fails to render is reported with its error instead of an SVG,
 * so that a drawing problem never hides a verdict.
 */
import { findModel } from '../../models/index.js';
import type { ReferenceOutcome } from '../check/reference.js';
import type { CheckableModel } from '../concurrency/model.js';
import type { DrawnGraph } from '../graph/graph.js';
import { renderSvg } from '../graph/graphviz.js';
import { lanesDot } from '../graph/lanes.js';
import { machineGraph } from '../graph/machine.js';
import { actorMachines } from '../graph/actors.js';
import { protocolDot, protocolGraph } from '../graph/protocol.js';

export interface RenderedGraph extends DrawnGraph {
  svg: string | null;
  error: string | null;
  /** Milliseconds to build and lay out the graph. */
  ms: number;
}

export interface CheckGraphs {
  protocol: RenderedGraph | null;
  /** Actor machines particular to this check. */
  actors: RenderedGraph[];
  /** Lanes per violated property id. */
  lanes: Map<string, RenderedGraph>;
}

export interface ReportGraphs {
  /** Actor machines shared by every check of a model, by model name. */
  models: Map<string, RenderedGraph[]>;
  /** Per outcome, in outcome order. */
  checks: CheckGraphs[];
}

async function render(build: () => DrawnGraph): Promise<RenderedGraph> {
  const t0 = performance.now();
  let g: DrawnGraph | null = null;
  try {
    g = build();
    const svg = await renderSvg(g.dot, g.engine);
    return { ...g, svg, error: null, ms: performance.now() - t0 };
  } catch (e) {
    const base = g ?? { kind: 'machine' as const, title: 'graph', dot: '', engine: 'dot' as const, nodes: 0, edges: 0 };
    return { ...base, svg: null, error: (e as Error).message, ms: performance.now() - t0 };
  }
}

export interface GraphOptions {
  maxStates?: number;
  /** Called after each graph, e.g. to print progress. */
  onGraph?: (what: string, g: RenderedGraph) => void;
}

export async function reportGraphs(outcomes: ReferenceOutcome[], opts: GraphOptions = {}): Promise<ReportGraphs> {
  const built: { model: CheckableModel | null; actors: DrawnGraph[] }[] = outcomes.map((o) => {
    const def = findModel(o.model);
    const model = def ? def.build({ protocol: o.check.protocol, cpus: o.check.cpus, options: o.check.options ?? {} }) : null;
    return { model, actors: model ? actorMachines(model).map((a) => machineGraph(a)) : [] };
  });
  // An actor drawn the same for every check of its model is shown once, with the model.
  const models = new Map<string, RenderedGraph[]>();
  const shared = new Set<string>();
  for (const name of new Set(outcomes.map((o) => o.model))) {
    const idx = outcomes.map((o, i) => (o.model === name && built[i].actors.length ? i : -1)).filter((i) => i >= 0);
    if (!idx.length) continue;
    const first = built[idx[0]].actors;
    const common = first.filter((g) => idx.every((i) => built[i].actors.some((x) => x.dot === g.dot)));
    const list: RenderedGraph[] = [];
    for (const g of common) {
      shared.add(g.dot);
      const r = await render(() => g);
      opts.onGraph?.(`${name}: ${g.title}`, r);
      list.push(r);
    }
    models.set(name, list);
  }
  const checks: CheckGraphs[] = [];
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    const m = built[i].model;
    const protocol = m?.group ? await render(() => protocolDot(protocolGraph(m, { maxStates: opts.maxStates }))) : null;
    if (protocol) opts.onGraph?.(`${o.model} ${o.check.protocol}: protocol picture`, protocol);
    const actors: RenderedGraph[] = [];
    for (const g of built[i].actors.filter((x) => !shared.has(x.dot))) {
      const r = await render(() => g);
      opts.onGraph?.(`${o.model} ${o.check.protocol}: ${g.title}`, r);
      actors.push(r);
    }
    const lanes = new Map<string, RenderedGraph>();
    for (const c of o.result.counterexamples) {
      const r = await render(() => lanesDot(c, o.result.cpus));
      opts.onGraph?.(`${o.model} ${o.check.protocol}: ${c.property} lanes`, r);
      lanes.set(c.property, r);
    }
    checks.push({ protocol, actors, lanes });
  }
  return { models, checks };
}
