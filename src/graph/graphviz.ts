/**
 * Graphviz compiled to WASM (@hpcc-js/wasm-graphviz): real dot / sfdp
 * layouts rendered to SVG in-process, offline, with no system binary.
 *
 * Layout choice (docs/reports.md): `dot` gives the clearest layered picture
 * but its time grows steeply on cyclic graphs with labelled edges (about 2 s
 * at 100 labelled nodes on this class of machine, over a minute at 200;
 * measured for the project's survey of prior art, docs/reports.md), so a graph above DOT_MAX_NODES nodes is laid out
 * with `sfdp` (force-directed, under a second for hundreds of nodes).
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';

export type Engine = 'dot' | 'sfdp' | 'neato';

/** Above this many nodes a graph is laid out with sfdp instead of dot. */
export const DOT_MAX_NODES = 100;

export function engineFor(nodes: number): Engine {
  return nodes <= DOT_MAX_NODES ? 'dot' : 'sfdp';
}

let loading: Promise<Graphviz> | null = null;

/** The WASM module, loaded once per process (about 1 s). */
export function graphviz(): Promise<Graphviz> {
  loading ??= Graphviz.load();
  return loading;
}

/** Lays out DOT text and returns the SVG document. Throws on DOT syntax errors. */
export async function renderSvg(dot: string, engine: Engine = 'dot'): Promise<string> {
  const gv = await graphviz();
  return gv.layout(dot, 'svg', engine);
}
