/**
 * A counterexample drawn as lanes: one lane per CPU, one for the updater (and
 * one for any other actor that steps, e.g. rcu), the steps in order down the
 * page, each in its actor's lane. A step that rewrites a poke site shows the
 * site's bytes before and after with the changed bytes in red; the last step
 * (the violation) is outlined red.
 *
 * Layout: `dot` on a grid of lanes x steps (invisible points fill the empty
 * cells), so each lane is one column and step i+1 is always below step i.
 * A counterexample is tens of steps, which dot lays out in well under a
 * second since only the step nodes carry labels.
 */
import type { SiteView } from '../concurrency/model.js';
import type { Counterexample } from '../check/result.js';
import { COLOR, EDGE_STYLE, GRAPH_STYLE, NODE_STYLE, attrs, h, hWrap, q, qLeft, wrap } from './dot.js';
import type { DrawnGraph } from './graph.js';

/** The CPU an actor is, from its name (`cpu1`, `cpu0 (load)`), or null for the updater, rcu, ... */
export function cpuOf(actor: string): number | null {
  const m = /^cpu(\d+)\b/.exec(actor);
  return m ? Number(m[1]) : null;
}

export interface Lanes {
  /** Lane titles, CPUs first (by number), then the other actors as they first step. */
  names: string[];
  /** The lane of an actor. */
  of(actor: string): number;
}

/**
 * One lane per CPU (cpu0..cpu(n-1), even one that never steps, when the
 * model names its actors after CPUs; a lane takes the name its CPU steps
 * under, e.g. `cpu0 (load)`), then one per other actor (updater, rcu, ...).
 */
export function lanesOf(c: Counterexample, cpus: number): Lanes {
  const actors = [...new Set(c.steps.map((s) => s.actor))];
  const cpuActors = actors.filter((a) => cpuOf(a) !== null);
  const cpuName = new Map<number, string>();
  for (const a of cpuActors) if (!cpuName.has(cpuOf(a)!)) cpuName.set(cpuOf(a)!, a);
  const cpuIds = cpuActors.length ? [...new Set([...Array.from({ length: cpus }, (_, i) => i), ...cpuName.keys()])].sort((a, b) => a - b) : [];
  const others = actors.filter((a) => cpuOf(a) === null);
  const names = [...cpuIds.map((i) => cpuName.get(i) ?? `cpu${i}`), ...others];
  return {
    names,
    of: (actor) => {
      const cpu = cpuOf(actor);
      return cpu === null ? cpuIds.length + others.indexOf(actor) : cpuIds.indexOf(cpu);
    },
  };
}

/** The bytes of `now` as HTML-like label text, bytes that differ from `before` in red. */
export function changedBytesLabel(before: string, now: string): string {
  const a = before.split(' ');
  return now
    .split(' ')
    .map((b, i) => (b !== a[i] ? `<font color="${COLOR.changed}"><b>${h(b)}</b></font>` : h(b)))
    .join(' ');
}

/** The sites a step rewrote: [index, before, after]. */
export function changedSites(prev: SiteView[], now: SiteView[]): [number, SiteView, SiteView][] {
  return now.flatMap((s, i): [number, SiteView, SiteView][] => (prev[i] && prev[i].bytes !== s.bytes ? [[i, prev[i], s]] : []));
}

export function lanesDot(c: Counterexample, cpus: number): DrawnGraph {
  const lanes = lanesOf(c, cpus);
  const L = lanes.names.length;
  const laneColor = (lane: number): string => COLOR.lane[lane % COLOR.lane.length];
  const lines = [
    `digraph ${q(`counterexample ${c.property}`)} {`,
    `  graph [${GRAPH_STYLE}, rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.2];`,
    `  node [${NODE_STYLE}, shape=box, style="rounded,filled", margin="0.08,0.04"];`,
    `  edge [${EDGE_STYLE}, arrowhead=none, style=dashed, color="#999999"];`,
  ];
  // A grid: row 0 the lane heads, row i step i (its node in its actor's lane,
  // an invisible point in every other lane), a last row of lane ends. Rows
  // are ranks ordered left to right; columns are chained top to bottom.
  const cell = (row: number, lane: number): string => `r${row}_${lane}`;
  const rows = c.steps.length + 2;
  lanes.names.forEach((l, j) => lines.push(`  ${cell(0, j)}${attrs({ label: `<<b>${h(l)}</b>>`, fillcolor: laneColor(j), style: 'filled', id: `lane${j}`, tooltip: l })};`));
  let prev = c.initial.sites;
  c.steps.forEach((s, k) => {
    const i = k + 1;
    const final = i === c.steps.length;
    const lane = lanes.of(s.actor);
    let label = `<<b>${i}.</b> ${hWrap(s.action, 38)}`;
    for (const [, before, after] of changedSites(prev, s.sites)) {
      label += `<br/><font face="Courier" point-size="11">${h(after.name)}: ${h(before.bytes)} →<br/>${changedBytesLabel(before.bytes, after.bytes)}</font>`;
    }
    if (final) label += `<br/><font color="${COLOR.forbidden}"><b>${h(c.property)} violated</b></font>`;
    label += '>';
    for (let j = 0; j < L; j++) {
      if (j !== lane) {
        lines.push(`  ${cell(i, j)} [shape=point, width=0, height=0, style=invis, label=""];`);
        continue;
      }
      lines.push(
        `  ${cell(i, j)}${attrs({
          label,
          fillcolor: laneColor(lane),
          color: final ? COLOR.forbidden : '#888888',
          penwidth: final ? 2.2 : 1,
          id: `step${i}`,
          tooltip: `${i}. ${s.actor}: ${s.action}`,
        })};`,
      );
    }
    prev = s.sites;
  });
  for (let j = 0; j < L; j++) lines.push(`  ${cell(rows - 1, j)} [shape=point, width=0.05, color="#999999"];`);
  for (let i = 0; i < rows; i++) {
    const row = lanes.names.map((_, j) => cell(i, j));
    lines.push(`  { rank=same; ${row.join('; ')}; }`);
    if (L > 1) lines.push(`  ${row.join(' -> ')} [style=invis];`);
  }
  for (let j = 0; j < L; j++) lines.push(`  ${Array.from({ length: rows }, (_, i) => cell(i, j)).join(' -> ')} [weight=100];`);
  const init = c.initial.sites.map((x) => `${x.name} ${x.bytes} (${x.disasm})`).join(', ');
  lines.push(`  label=${qLeft(wrap(`${c.property}: ${c.description}; ${c.steps.length} steps from the initial text ${init}`, 110))}; labelloc=t; labeljust=l;`);
  lines.push('}');
  return { kind: 'lanes', title: `Counterexample for ${c.property} as lanes`, dot: lines.join('\n') + '\n', engine: 'dot', nodes: L + c.steps.length, edges: L * (rows - 1) };
}
