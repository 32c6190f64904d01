/**
 * A counterexample as a step-through view: one panel per step (0 = the
 * initial text), each with the actor, the action, both poke sites' address,
 * bytes (the bytes this step changed highlighted) and disassembly, and the
 * rest of the state; prev/next buttons, a clickable step list, and the lanes
 * graph with the current step outlined. Without JavaScript every panel shows.
 */
import type { SiteView } from '../concurrency/model.js';
import type { Counterexample } from '../check/result.js';
import { h as esc } from '../graph/dot.js';
import { inlineSvg } from '../graph/svg.js';
import type { RenderedGraph } from './graphs.js';
import { graphFigure } from './html-figure.js';

function bytesHtml(now: string, before: string | null): string {
  const b = before?.split(' ') ?? [];
  return now
    .split(' ')
    .map((x, i) => (before !== null && b[i] !== x ? `<span class="chg">${esc(x)}</span>` : esc(x)))
    .join(' ');
}

function sitesTable(sites: SiteView[], prev: SiteView[] | null): string {
  const rows = sites.map((s, i) => {
    const before = prev ? prev[i]?.bytes ?? null : null;
    const changed = before !== null && before !== s.bytes;
    return `<tr class="${changed ? 'changed' : ''}"><td>${esc(s.name)}</td><td class="mono">${esc(s.address)}</td><td class="mono bytes">${bytesHtml(s.bytes, before)}</td><td class="mono">${esc(s.disasm)}</td></tr>`;
  });
  return `<table class="sites"><thead><tr><th>site</th><th>address</th><th>bytes</th><th>disassembly</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function traceView(c: Counterexample, id: string, lanes: RenderedGraph | undefined, svgPrefix: string): string {
  const n = c.steps.length;
  const panels: string[] = [];
  panels.push(
    `<section class="step" data-step="0"><p class="step-head"><span class="stepno">0 / ${n}</span> <span class="actor">initial state</span></p>${sitesTable(c.initial.sites, null)}<p class="rest mono">${esc(c.initial.state)}</p></section>`,
  );
  let prev = c.initial.sites;
  c.steps.forEach((s, k) => {
    const i = k + 1;
    const last = i === n;
    panels.push(
      `<section class="step${last ? ' final' : ''}" data-step="${i}"><p class="step-head"><span class="stepno">${i} / ${n}</span> <span class="actor">${esc(s.actor)}</span> ${s.source ? `<span class="source mono">${esc(`${s.source.file}:${s.source.line}`)}</span> ` : ''}<span class="action">${esc(s.action)}</span>${last ? ` <span class="violation">${esc(c.property)} violated</span>` : ''}</p>${sitesTable(s.sites, prev)}<p class="rest mono">${esc(s.state)}</p></section>`,
    );
    prev = s.sites;
  });
  const list = [`<li data-step="0">initial state</li>`, ...c.steps.map((s, k) => `<li data-step="${k + 1}"><b>${esc(s.actor)}</b> ${s.source ? `${esc(`${s.source.file}:${s.source.line}`)} ` : ''}${esc(s.action)}</li>`)].join('');
  const svg = lanes?.svg ? inlineSvg(lanes.svg, svgPrefix) : null;
  return [
    `<div class="trace" id="${esc(id)}" data-steps="${n}" data-svg="${esc(svgPrefix)}" tabindex="0">`,
    `<h4>Counterexample for ${esc(c.property)}: ${esc(c.description)} (${n} steps)</h4>`,
    `<div class="controls"><button type="button" class="prev" aria-label="previous step">◀ prev</button> <span class="pos">step 0 / ${n}</span> <button type="button" class="next" aria-label="next step">next ▶</button> <small>(or ← / → when focused)</small></div>`,
    `<div class="panels">${panels.join('\n')}</div>`,
    `<details class="steplist-wrap"><summary>all ${n} steps</summary><ol class="steplist" start="0">${list}</ol></details>`,
    lanes ? graphFigure(lanes, svg, 'lanes') : '',
    '</div>',
  ].join('\n');
}
