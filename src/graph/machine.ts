/**
 * An actor's xstate machine drawn from its definition (@xstate/graph's
 * `toDirectedGraph`): one node per state node, one edge per transition.
 *
 * Each edge is labelled with its event type and, where guards or event
 * parameters decide it, with the concrete events of the actor's finite
 * alphabet that take it (found by running the machine through xstate, as the
 * checker does: compile.ts); a transition no event of the alphabet takes is
 * drawn dashed. The shortest event path to each state (@xstate/graph's
 * `getShortestPaths`) is drawn in blue, and listed under the graph for the
 * states the actor names as targets (the poke site's A-D).
 */
import { getShortestPaths, toDirectedGraph, type DirectedGraphNode } from '@xstate/graph';
import type { AnyStateMachine, EventObject } from 'xstate';
import { compileMachine, eventName } from '../concurrency/compile.js';
import { COLOR, EDGE_STYLE, GRAPH_STYLE, NODE_STYLE, attrs, h, hWrap, q, qLeft } from './dot.js';
import type { DrawnGraph } from './graph.js';
import { engineFor } from './graphviz.js';

/** A final state with edges from more than this many states is drawn once per edge. */
const CLONE_FAN_IN = 4;

export type { ActorMachine } from '../concurrency/model.js';
import type { ActorMachine } from '../concurrency/model.js';

interface Edge {
  source: string;
  target: string;
  type: string;
  events: string[];
  onPath: boolean;
}

export interface ShortestPath {
  state: string;
  events: string[];
}

function pathOf(node: { path: readonly string[] }): string {
  return node.path.join('.');
}

function within(value: string, path: string): boolean {
  return value === path || value.startsWith(path + '.');
}

function params(e: EventObject, fmt?: (e: EventObject) => string): string {
  if (fmt) return fmt(e);
  const n = eventName(e);
  const i = n.indexOf('(');
  return i < 0 ? '' : n.slice(i + 1, -1);
}

function flatten(g: DirectedGraphNode, out: DirectedGraphNode[] = []): DirectedGraphNode[] {
  for (const c of g.children) {
    out.push(c);
    flatten(c, out);
  }
  return out;
}

/** The shortest event path (fewest events) to each state value, by @xstate/graph. */
export function shortestPaths(a: ActorMachine): Map<string, { from: string; event: EventObject; to: string }[]> {
  // Paths that do not pass through a violation (e.g. B via D, not via A) are
  // preferred: a first traversal does not expand violation states; a second,
  // unrestricted one supplies the states only reachable through them.
  const bad = a.violationTags ?? new Set<string>();
  const isBad = (s: { tags: Set<string> }): boolean => [...s.tags].some((t) => bad.has(t));
  const events = a.events as EventObject[];
  const paths = [...getShortestPaths(a.machine, { events, stopWhen: isBad }), ...getShortestPaths(a.machine, { events })];
  const best = new Map<string, { from: string; event: EventObject; to: string }[]>();
  const valueOf = (s: { value: unknown }): string => (typeof s.value === 'string' ? s.value : JSON.stringify(s.value));
  for (const p of paths) {
    const v = valueOf(p.state);
    const steps: { from: string; event: EventObject; to: string }[] = [];
    for (let i = 1; i < p.steps.length; i++) {
      steps.push({ from: valueOf(p.steps[i - 1].state), event: p.steps[i].event, to: valueOf(p.steps[i].state) });
    }
    const old = best.get(v);
    if (!old || steps.length < old.length) best.set(v, steps);
  }
  return best;
}

export function machineGraph(a: ActorMachine): DrawnGraph {
  const g = toDirectedGraph(a.machine);
  const nodes = flatten(g);
  const compiled = compileMachine(a.machine, a.events);
  const best = shortestPaths(a);
  const pathEdges = new Set<string>();
  for (const steps of best.values()) for (const s of steps) pathEdges.add(`${s.from}\0${s.event.type}\0${s.to}`);

  // Concrete events per definition edge, from the compiled (reachable) machine.
  const edges = new Map<string, Edge>();
  for (const n of nodes) {
    for (const e of n.edges) {
      const source = pathOf(e.source);
      const target = pathOf(e.target);
      const key = `${source}\0${target}\0${e.label.text}`;
      if (edges.has(key)) continue;
      const evs = new Set<string>();
      compiled.events.forEach((ev, ei) => {
        if (ev.type !== e.label.text) return;
        for (let s = 0; s < compiled.names.length; s++) {
          const t = compiled.next[s * compiled.events.length + ei];
          if (t >= 0 && within(compiled.values[s], source) && within(compiled.values[t], target)) evs.add(params(ev, a.formatEvent));
        }
      });
      const onPath = [...pathEdges].some((k) => {
        const [f, ty, to] = k.split('\0');
        return ty === e.label.text && within(f, source) && within(to, target);
      });
      edges.set(key, { source, target, type: e.label.text, events: [...evs], onPath });
    }
  }

  const bad = a.violationTags ?? new Set<string>();
  const initial = pathOf(a.machine.root.initial?.target?.[0] ?? a.machine.root);

  const lines: string[] = [`digraph ${q(a.machine.id)} {`, `  graph [${GRAPH_STYLE}, rankdir=TB, nodesep=0.3, ranksep=0.35];`, `  node [${NODE_STYLE}, shape=box, style="rounded,filled", fillcolor="${COLOR.neutralFill}"];`, `  edge [${EDGE_STYLE}];`];
  lines.push(`  __start [shape=point, width=0.12, label=""];`);
  // A final state that many states lead to (the updater's `bug`) is drawn once
  // per incoming edge, beside its source, instead of pulling edges across the page.
  const fanIn = new Map<string, Set<string>>();
  for (const e of edges.values()) if (e.source !== e.target) fanIn.set(e.target, (fanIn.get(e.target) ?? new Set()).add(e.source));
  const cloned = new Set(nodes.filter((n) => n.stateNode.type === 'final' && (fanIn.get(pathOf(n.stateNode))?.size ?? 0) > CLONE_FAN_IN).map((n) => pathOf(n.stateNode)));
  const nodeLine = (n: DirectedGraphNode, id: string): string => {
    const sn = n.stateNode;
    const p = pathOf(sn);
    const meta = (sn.meta ?? {}) as Record<string, unknown>;
    const step = meta.step as { doc?: unknown } | undefined;
    const doc = typeof meta.doc === 'string' ? meta.doc : typeof step?.doc === 'string' ? step.doc : '';
    const extra = Object.entries(meta)
      .filter(([k, v]) => k !== 'doc' && k !== 'step' && typeof v === 'string')
      .map(([k, v]) => `${k}: ${String(v)}`);
    const tags = [...sn.tags];
    const isBad = tags.some((t) => bad.has(t));
    const clone = id !== p;
    let label = `<<b>${h(sn.key)}</b>`;
    if (extra.length) label += `<br/><font point-size="9">${h(extra.join(', '))}</font>`;
    if (doc && !clone) label += `<br/><font point-size="9">${hWrap(doc, 34)}</font>`;
    if (tags.length) label += `<br/><font point-size="8" color="${isBad ? COLOR.forbidden : '#555555'}">[${h(tags.join(', '))}]</font>`;
    label += '>';
    const path = best.get(p);
    return `  ${q(id)}${attrs({
      label,
      shape: isBad ? 'octagon' : undefined,
      color: isBad ? COLOR.forbidden : undefined,
      fillcolor: isBad ? COLOR.forbiddenFill : undefined,
      penwidth: isBad ? 2 : undefined,
      tooltip: `${p}: ${doc ? `${doc}; ` : ''}${path ? `shortest event path: ${path.length ? path.map((x) => eventName(x.event)).join(', ') : '(initial state)'}` : 'unreachable over the alphabet'}`,
      style: path && !n.children.length ? undefined : 'rounded,filled,dashed',
    })};`;
  };
  const targetId = (e: Edge): string => (cloned.has(e.target) ? `${e.target} <- ${e.source}` : e.target);
  let drawn = 0;
  for (const n of nodes) {
    const p = pathOf(n.stateNode);
    const ids = cloned.has(p) ? [...edges.values()].filter((e) => e.target === p).map(targetId) : [p];
    for (const id of ids) lines.push(nodeLine(n, id));
    drawn += ids.length;
  }
  lines.push(`  __start -> ${q(initial)};`);
  for (const e of edges.values()) {
    const label = e.events.length && e.events.some((x) => x !== '') ? `${e.type} ${e.events.join(',')}` : e.type;
    lines.push(
      `  ${q(e.source)} -> ${q(targetId(e))}${attrs({
        label,
        color: e.onPath ? COLOR.path : e.events.length ? undefined : '#aaaaaa',
        fontcolor: e.onPath ? COLOR.path : undefined,
        penwidth: e.onPath ? 1.8 : undefined,
        style: e.events.length ? undefined : 'dashed',
      })};`,
    );
  }
  const caption = (a.targets ?? []).map((t) => {
    const steps = [...best.entries()].filter(([v]) => within(v, t)).map(([, s]) => s);
    if (!steps.length) return `${t}: unreachable`;
    const s = steps.reduce((x, y) => (y.length < x.length ? y : x));
    return `${t}: ${s.length ? s.map((x) => eventName(x.event)).join(' → ') : '(initial state)'}`;
  });
  const title = `${a.title}; blue: the shortest event path to each state`;
  if (caption.length) lines.push(`  label=${qLeft(['shortest event paths (blue):', ...caption])}; labelloc=b; labeljust=l;`);
  lines.push('}');
  return { kind: 'machine', title, dot: lines.join('\n') + '\n', engine: engineFor(drawn), nodes: drawn, edges: edges.size };
}
