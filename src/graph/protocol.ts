/**
 * The A-D picture of a protocol: every reachable product state, grouped by
 * the model's `group` (the poke site's (bypass, target) state A-D), with an
 * edge wherever a step moves the text from one group to another or rewrites
 * a site's bytes within one (B -> B: the target jump retargeted). Edges are
 * labelled with the poke that makes them, in the model's own words.
 *
 * The states come from the checker's explorer run to completion: every
 * property is marked unchecked for this walk, so the search does not stop at
 * the first violations and the picture is the whole reachable space. A group
 * the model calls forbidden (A) is drawn red when reachable; an unreachable
 * group is simply absent.
 *
 * A node's red line counts the steps that break a property there (from a state
 * that satisfies it to one that violates it, the text in the group after the
 * step): P1 and P5 are about what a CPU executed, so a state goes on violating
 * them wherever the text moves next, and a count of violating states would
 * blame every later group.
 *
 * A step that changes neither the group nor the bytes draws no edge, except
 * the updater's synchronize_rcu(): it is what tells v5.10 from no-sync, so
 * each group where the updater waits for a grace period lists those steps
 * (`waits`, a dashed loop in the picture).
 */
import { explore } from '../concurrency/explorer.js';
import type { CheckableModel } from '../concurrency/model.js';
import type { TransitionSystem } from '../concurrency/system.js';
import { COLOR, EDGE_STYLE, GRAPH_STYLE, NODE_STYLE, attrs, h, hWrap, q, qLeft, wrap } from './dot.js';
import type { DrawnGraph } from './graph.js';
import { engineFor } from './graphviz.js';

export interface GroupNode {
  name: string;
  doc: string;
  forbidden: boolean;
  initial: boolean;
  /** Reachable product states in the group. */
  states: number;
  /** Of those, how many violate each property (by id). */
  violations: Record<string, number>;
  /**
   * Per property id, the steps that break it here: from a state that satisfies it to one that
   * violates it, the text in this group afterwards. For a property of what a CPU executed (P1)
   * a state keeps violating it after the text moves on; this counts only where it happens.
   */
  broken: Record<string, number>;
  /** The synchronize_rcu() steps the updater takes while the text is in this group. */
  waits: string[];
}

export interface GroupEdge {
  from: string;
  to: string;
  /** The distinct pokes (step descriptions) that move from `from` to `to`. */
  labels: string[];
  /** Product transitions behind the edge. */
  transitions: number;
}

export interface ProtocolGraph {
  model: string;
  protocol: string;
  cpus: number;
  states: number;
  transitions: number;
  complete: boolean;
  limit: string | null;
  symmetry: boolean;
  groups: GroupNode[];
  edges: GroupEdge[];
}

export class NoGroupsError extends Error {}

/** Strips a leading `function_name: ` context from a step description: the poke itself is the label. */
function pokeLabel(action: string): string {
  return action.replace(/^[A-Za-z_][\w]*: /, '');
}

export interface ProtocolGraphOptions {
  maxStates?: number;
  symmetry?: boolean;
}

export function protocolGraph(m: CheckableModel, opts: ProtocolGraphOptions = {}): ProtocolGraph {
  const group = m.group?.bind(m);
  if (!group) throw new NoGroupsError(`${m.model} does not group its states (CheckableModel.group), so it has no protocol picture`);
  const sys = m.system;
  const symmetry = opts.symmetry ?? !!sys.canonicalize;
  const whole: TransitionSystem = {
    width: sys.width,
    properties: sys.properties.map((p) => ({ ...p, checked: false })),
    initial: (out) => sys.initial(out),
    expand: (s, n, sink) => sys.expand(s, n, sink),
    violations: (s) => sys.violations(s),
    canonicalize: sys.canonicalize ? (s) => sys.canonicalize!(s) : undefined,
  };
  const r = explore(whole, { symmetry, maxStates: opts.maxStates });
  const store = r.store;
  const w = sys.width;
  const cur = new Int32Array(w);
  const next = new Int32Array(w);
  const groups = new Map<string, GroupNode>();
  const edges = new Map<string, GroupEdge & { labelSet: Set<string> }>();
  // Site bytes per stored state, computed once (decoding is the costly part). A
  // successor is looked up by its representative: symmetry permutes CPUs,
  // never the shared text, so the representative shows the same bytes.
  const bytesOf: string[] = [];
  const siteBytesAt = (idx: number, s: Int32Array): string =>
    (bytesOf[idx] ??= m
      .sites(s)
      .map((x) => x.bytes)
      .join('|'));
  const canon = new Int32Array(w);
  const indexOf = (s: Int32Array): number => {
    canon.set(s);
    if (r.symmetry) sys.canonicalize!(canon);
    const k = store.insert(canon, 0, -1, -1); // present: -1 - index; new only past a --max-states stop
    return k < 0 ? -1 - k : k;
  };
  let transitions = 0;
  const explored = store.size;
  for (let i = 0; i < explored; i++) {
    store.read(i, cur);
    const g = group(cur);
    let node = groups.get(g.name);
    if (!node) {
      node = { name: g.name, doc: g.doc, forbidden: g.forbidden, initial: false, states: 0, violations: {}, broken: {}, waits: [] };
      groups.set(g.name, node);
    }
    node.states++;
    if (i === 0) node.initial = true;
    const v = sys.violations(cur);
    sys.properties.forEach((p, k) => {
      if (v & (1 << k)) node.violations[p.id] = (node.violations[p.id] ?? 0) + 1;
    });
    const bytes = siteBytesAt(i, cur);
    sys.expand(cur, next, (action) => {
      transitions++;
      const g2 = group(next);
      const newly = sys.violations(next) & ~v;
      if (newly) {
        let to = groups.get(g2.name);
        if (!to) groups.set(g2.name, (to = { name: g2.name, doc: g2.doc, forbidden: g2.forbidden, initial: false, states: 0, violations: {}, broken: {}, waits: [] }));
        sys.properties.forEach((p, k) => {
          if (newly & (1 << k)) to!.broken[p.id] = (to!.broken[p.id] ?? 0) + 1;
        });
      }
      if (g2.name === g.name && siteBytesAt(indexOf(next), next) === bytes) {
        // Without the per-state detail ("(waits for cpu0, cpu1)"): one line per kind of step.
        const a = pokeLabel(m.describe(cur, next, action).action).replace(/\s*\([^()]*\)$/, '');
        if (/synchronize_rcu/.test(a) && !node.waits.includes(a)) node.waits.push(a);
        return;
      }
      const key = `${g.name}\0${g2.name}`;
      let e = edges.get(key);
      if (!e) {
        e = { from: g.name, to: g2.name, labels: [], transitions: 0, labelSet: new Set() };
        edges.set(key, e);
      }
      e.transitions++;
      e.labelSet.add(pokeLabel(m.describe(cur, next, action).action));
    });
  }
  const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
  return {
    model: m.model,
    protocol: m.protocol,
    cpus: m.cpus,
    states: explored,
    transitions,
    complete: r.complete,
    limit: r.limit,
    symmetry: r.symmetry,
    groups: [...groups.values()].sort(byName).map((g) => ({ ...g, waits: [...g.waits].sort((a, b) => Number(/returns/.test(a)) - Number(/returns/.test(b)) || a.localeCompare(b)) })),
    edges: [...edges.values()].map(({ labelSet, ...e }) => ({ ...e, labels: [...labelSet].sort() })),
  };
}

/**
 * Edge labels that differ only in small numbers, one line each: `text_poke(addr + 1, new[1], 1)`
 * ... `text_poke(addr + 4, new[4], 1)` become `text_poke(addr + {1..4}, new[{1..4}], 1)`, and the six
 * retargets f1 -> f2 ... f3 -> f2 one line with `f{1..3}`. A number that varies is shown as a set:
 * a range when its values are consecutive, else a list (`{1,3}`); the edge's tooltip keeps every label.
 */
export function collapseLabels(labels: string[]): string[] {
  const NUM = /\d+/g;
  const shapes = new Map<string, string[]>();
  for (const l of labels) {
    const key = l.replace(NUM, '#');
    shapes.set(key, [...(shapes.get(key) ?? []), l]);
  }
  const out: string[] = [];
  for (const [key, ls] of shapes) {
    const nums = ls.map((l) => l.match(NUM) ?? []);
    if (ls.length === 1 || nums.some((n) => n.some((x) => x.length > 3))) {
      out.push(...ls);
      continue;
    }
    let slot = 0;
    out.push(
      key.replace(/#/g, () => {
        const vals = [...new Set(nums.map((n) => Number(n[slot])))].sort((a, b) => a - b);
        slot++;
        if (vals.length === 1) return String(vals[0]);
        return vals[vals.length - 1] - vals[0] === vals.length - 1 ? `{${vals[0]}..${vals[vals.length - 1]}}` : `{${vals.join(',')}}`;
      }),
    );
  }
  return out;
}

/** The picture as DOT: one node per group, forbidden groups red, one edge per group pair with its pokes. */
export function protocolDot(p: ProtocolGraph): DrawnGraph {
  const lines = [
    `digraph ${q(`${p.model} ${p.protocol}`)} {`,
    // up to 3 groups in a row; 4 (A drawn as a large octagon) or the byte level's mid-poke groups would make the row too wide for a page, so top to bottom
    `  graph [${GRAPH_STYLE}, rankdir=${p.groups.length > 3 ? 'TB' : 'LR'}, nodesep=0.5, ranksep=${p.groups.length > 3 ? 0.5 : 0.9}];`,
    `  node [${NODE_STYLE}, shape=box, style="rounded,filled", fillcolor="${COLOR.okFill}", color="${COLOR.ok}"];`,
    `  edge [${EDGE_STYLE}];`,
  ];
  const init = p.groups.find((g) => g.initial);
  if (init) lines.push('  __start [shape=point, width=0.12, label=""];');
  for (const g of p.groups) {
    const broken = Object.entries(g.broken).sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => `${id} broken here: ${n.toLocaleString('en-US')} step${n === 1 ? '' : 's'}`);
    const carried = Object.entries(g.violations).map(([id, n]) => `${id} violated in ${n} (broken here or earlier)`);
    let label = `<<font point-size="20"><b>${h(g.name)}</b></font>${g.forbidden ? ` <font color="${COLOR.forbidden}"><b>FORBIDDEN</b></font>` : ''}`;
    label += `<br/>${hWrap(g.doc, 30)}<br/><font point-size="12">${g.states.toLocaleString('en-US')} state${g.states === 1 ? '' : 's'}</font>`;
    if (broken.length) label += `<br/><font point-size="12" color="${COLOR.forbidden}">${broken.map(h).join('<br/>')}</font>`;
    label += '>';
    lines.push(
      `  ${q(g.name)}${attrs({
        label,
        shape: g.forbidden ? 'doubleoctagon' : undefined,
        color: g.forbidden ? COLOR.forbidden : undefined,
        fillcolor: g.forbidden ? COLOR.forbiddenFill : undefined,
        penwidth: g.forbidden ? 2 : undefined,
        tooltip: `${g.name}: ${g.doc} (${g.states} states${carried.length ? `; ${carried.join(', ')}` : ''})`,
      })};`,
    );
  }
  if (init) lines.push(`  __start -> ${q(init.name)};`);
  for (const g of p.groups) {
    if (!g.waits.length) continue;
    const label = `<${g.waits.map((l) => hWrap(l, 44, 'left')).join('')}>`;
    lines.push(`  ${q(g.name)} -> ${q(g.name)}${attrs({ label, style: 'dashed', color: COLOR.wait, fontcolor: COLOR.wait, tooltip: `${g.name}: the updater waits for a grace period here` })};`);
  }
  for (const e of p.edges) {
    const label = `<${collapseLabels(e.labels).map((l) => hWrap(l, 44, 'left')).join('')}>`;
    const bad = p.groups.find((g) => g.name === e.to)?.forbidden;
    lines.push(
      `  ${q(e.from)} -> ${q(e.to)}${attrs({
        label,
        color: bad ? COLOR.forbidden : undefined,
        fontcolor: bad ? COLOR.forbidden : undefined,
        penwidth: bad ? 2 : 1.2,
        tooltip: `${e.from} -> ${e.to}: ${e.transitions} product transitions: ${e.labels.join('; ')}`,
      })};`,
    );
  }
  const search = p.complete ? `all ${p.states} reachable states` : `the first ${p.states} states (search stopped by --${p.limit ?? 'limit'}: the picture may be partial)`;
  const violated = [...new Set(p.groups.flatMap((g) => Object.keys(g.violations)))].sort();
  const forbiddenAbsent = p.groups.some((g) => g.forbidden)
    ? ''
    : violated.length
      ? `; the text never reaches a forbidden group, yet ${violated.join(', ')} ${violated.length === 1 ? 'is' : 'are'} violated: a property of what a CPU executes over time; a red count says in which group the violating steps happen (the counterexample's lanes show one)`
      : '; no forbidden group is reachable';
  lines.push(`  label=${qLeft(wrap(`${p.model} --protocol ${p.protocol} --cpus ${p.cpus}: ${search}${p.symmetry ? ' (up to CPU symmetry)' : ''}${forbiddenAbsent}`, 100))}; labelloc=t; labeljust=l;`);
  lines.push('}');
  return {
    kind: 'protocol',
    title: `Protocol picture of ${p.protocol}: reachable states grouped by the poke site's state`,
    dot: lines.join('\n') + '\n',
    engine: engineFor(p.groups.length),
    nodes: p.groups.length,
    edges: p.edges.length,
  };
}
