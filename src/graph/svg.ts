/**
 * Graphviz SVG made fit to sit inline in an HTML page: the XML prolog,
 * doctype and comments go, and every id (Graphviz numbers its own: graph0,
 * node1, ...) gets a prefix so that many SVGs can share one document.
 */
export function inlineSvg(svg: string, prefix: string): string {
  const start = svg.indexOf('<svg');
  if (start < 0) throw new Error('not an SVG document');
  return svg
    .slice(start)
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/\bid="([^"]*)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/(xlink:)?href="#([^"]*)"/g, (_, x: string | undefined, id: string) => `${x ?? ''}href="#${prefix}-${id}"`)
    .replace(/url\(#([^)]*)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .trim();
}
