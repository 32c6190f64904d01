/** One graph as a <figure>: the inline SVG (or why it could not be drawn) and its caption. */
import { h as esc } from '../graph/dot.js';
import type { RenderedGraph } from './graphs.js';

export function graphFigure(g: RenderedGraph, inlined: string | null, cls: string): string {
  const body = inlined ?? `<p class="graph-error">graph not drawn: ${esc(g.error ?? 'no SVG')}</p>`;
  const how = `${g.nodes} nodes, ${g.edges} edges, ${g.engine} layout, ${(g.ms / 1000).toFixed(2)} s`;
  return `<figure class="graph ${cls}" data-kind="${g.kind}"><div class="svgwrap">${body}</div><figcaption>${esc(g.title)} <small>(${esc(how)})</small></figcaption></figure>`;
}
