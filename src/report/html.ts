/**
 * `index.html`: the whole report as one self-contained page that works
 * offline (inline CSS, script and SVG; no external resource): the results
 * table, then per model, per check: the protocol picture, the check's own
 * machines and each counterexample as a step-through view with its lanes;
 * then the machines of the model's actors that every check shares.
 */
import type { ReferenceOutcome } from '../check/reference.js';
import { findModel } from '../../models/index.js';
import { h as esc } from '../graph/dot.js';
import { inlineSvg } from '../graph/svg.js';
import { versionText } from '../version.js';
import type { ReportGraphs, RenderedGraph } from './graphs.js';
import { CSS, SCRIPT } from './html-assets.js';
import { graphFigure } from './html-figure.js';
import { resultsTable } from './html-table.js';
import { traceView } from './html-trace.js';
import { checkSlug, checkTitle, protocolLabel } from './names.js';

export interface HtmlOptions {
  /** When the report was made (printed in the header). */
  date?: Date;
}

export function reportHtml(outcomes: ReferenceOutcome[], graphs: ReportGraphs, opts: HtmlOptions = {}): string {
  let svgCount = 0;
  const figure = (g: RenderedGraph, cls: string): string => graphFigure(g, g.svg ? inlineSvg(g.svg, `g${++svgCount}`) : null, cls);
  const bad = outcomes.filter((o) => !o.ok).length;
  const models = [...new Set(outcomes.map((o) => o.model))];
  const body: string[] = [];
  body.push(
    `<header><h1>pokecheck report</h1><p><span class="status ${bad ? 'bad' : 'ok'}">${outcomes.length - bad} of ${outcomes.length} verdicts as expected</span></p>`,
    `<p class="meta">pokecheck ${esc(versionText())} · ${esc((opts.date ?? new Date()).toISOString())} · Node ${esc(process.version)} · ${outcomes.length} checks of ${models.length} model${models.length === 1 ? '' : 's'}</p></header>`,
  );
  body.push('<nav><b>Contents</b><ul><li><a href="#results">Results</a></li>');
  for (const m of models) {
    const checks = outcomes.filter((o) => o.model === m);
    body.push(`<li><a href="#model-${esc(m)}">${esc(m)}</a>: ${checks.map((o) => `<a href="#${esc(checkSlug(o))}">${esc(protocolLabel(o))}</a>`).join(', ')}</li>`);
  }
  body.push('</ul></nav>');
  body.push('<section id="results"><h2>Results</h2>');
  body.push('<p class="legend">Each row is one reference check: the protocol, the verdict the kernel\'s history says it must give (expected), the verdict found, each property\'s status (✓ holds after a complete search, ✗ violated, ? incomplete, – not checked: the protocol does not promise it; hover for the description), and the size and time of the search. A red outline marks a property that is not as expected.</p>');
  for (const m of models) body.push(`<h3>${esc(m)}</h3>`, resultsTable(m, outcomes.filter((o) => o.model === m)));
  body.push('</section>');
  for (const m of models) {
    const def = findModel(m);
    body.push(`<section class="model" id="model-${esc(m)}"><h2>${esc(m)}</h2>`);
    if (def) body.push(`<p>${esc(def.summary)}</p>`);
    outcomes.forEach((o, i) => {
      if (o.model !== m) return;
      const r = o.result;
      const g = graphs.checks[i];
      const slug = checkSlug(o);
      body.push(`<article class="check ${o.ok ? 'ok' : 'mismatch'}" id="${esc(slug)}"><h3>${esc(checkTitle(o))}</h3>`);
      const protocol = def?.protocols.find((p) => p.name === o.check.protocol);
      if (protocol) body.push(`<p>${esc(protocol.summary)}</p>`);
      const violated = r.properties.filter((p) => p.status === 'violated').map((p) => p.id);
      body.push(
        `<p><b class="verdict ${r.verdict}">${esc(r.verdict.toUpperCase())}</b>${violated.length ? ` (${esc(violated.join(', '))})` : ''}; expected ${esc(o.check.expected)}${o.ok ? '' : ' — <b>MISMATCH</b>'}. ${r.states.toLocaleString('en-US')} states, ${r.transitions.toLocaleString('en-US')} transitions, depth ${r.depth}, ${r.seconds.toFixed(2)} s${r.symmetry ? ', symmetry reduced' : ''}${r.limit ? `; stopped by --${esc(r.limit)}, nothing proved` : ''}.</p>`,
      );
      // which kernel's bytes the check ran on (about.ts), and what its claim covers
      if (r.about?.bytes) body.push(`<p class="bytes"><b>bytes:</b> ${esc(r.about.bytes)}</p>`);
      if (r.about?.scope) body.push(`<p class="scope"><b>scope:</b> ${esc(r.about.scope)}</p>`);
      if (g.protocol) body.push(figure(g.protocol, 'protocol'));
      if (g.actors.length) body.push(`<details><summary>this check's machines (${g.actors.length})</summary>`, ...g.actors.map((x) => figure(x, 'machine')), '</details>');
      r.counterexamples.forEach((c, k) => {
        body.push(traceView(c, `${slug}-cx${k}`, g.lanes.get(c.property), `g${++svgCount}`));
      });
      body.push('</article>');
    });
    const shared = graphs.models.get(m) ?? [];
    if (shared.length) body.push(`<h3 id="actors-${esc(m)}">Actors of ${esc(m)}</h3><div class="graphs-row">`, ...shared.map((g) => figure(g, 'machine')), '</div>');
    body.push('</section>');
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>pokecheck report: ${outcomes.length - bad} of ${outcomes.length} as expected</title>`,
    `<style>${CSS}</style></head><body>`,
    ...body,
    `<script>${SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
