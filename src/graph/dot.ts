/**
 * Building DOT text safely: quoted ids and strings, HTML-like labels, and
 * wrapping of long kernel-speak labels so that nodes stay narrow.
 */

/** A DOT double-quoted string (ids, plain labels, attribute values). */
export function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A quoted label of left-justified lines (`\\l` ends each line). */
export function qLeft(lines: string[]): string {
  return `"${lines.map((l) => l.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\l')}\\l"`;
}

/** Text escaped for an HTML-like label (`label=<...>`). */
export function h(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `[k="v", ...]` from an attribute map; values starting with `<` are HTML-like labels and stay unquoted. */
export function attrs(a: Record<string, string | number | undefined>): string {
  const parts = Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v : v!.startsWith('<') && v!.endsWith('>') ? v : q(v!)}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

/**
 * Splits `text` into lines of at most `width` characters, breaking after
 * spaces, commas and `/`, or before `(`; a word longer than `width` is cut.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text.replace(/\s+/g, ' ').trim();
  while (rest.length > width) {
    let cut = -1;
    for (let i = width; i > width / 3; i--) {
      const c = rest[i - 1];
      if (c === ' ' || c === ',' || c === '/') {
        cut = i;
        break;
      }
      if (c === '(' && i - 1 > width / 3) {
        cut = i - 1; // `(` opens the next line
        break;
      }
    }
    if (cut < 0) cut = width;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) lines.push(rest);
  return lines;
}

/** Wrapped text as HTML-like label lines joined by `<br/>` (escaped). */
export function hWrap(text: string, width: number, align: 'left' | 'center' = 'center'): string {
  const br = align === 'left' ? '<br align="left"/>' : '<br/>';
  return wrap(text, width).map(h).join(br) + (align === 'left' ? br : '');
}

/** The common look of every pokecheck graph. */
// Sizes for a figure shown at about 1400 px: the smallest text stays about 12 px.
export const GRAPH_STYLE = 'fontname="Helvetica", fontsize=14, bgcolor="white", pad=0.2';
export const NODE_STYLE = 'fontname="Helvetica", fontsize=13';
export const EDGE_STYLE = 'fontname="Helvetica", fontsize=12, color="#555555"';

/** Palette shared by graphs and the HTML report. */
export const COLOR = {
  forbidden: '#c62828',
  forbiddenFill: '#fde4e4',
  ok: '#2e7d32',
  okFill: '#e6f4ea',
  neutralFill: '#eef2f8',
  changed: '#b3261e',
  path: '#1a56db',
  /** A grace period the updater waits for (synchronize_rcu). */
  wait: '#6a1b9a',
  lane: ['#e8f0fe', '#e6f4ea', '#fff4e5', '#f3e8fd', '#e0f7fa', '#fce4ec', '#f1f8e9', '#ede7f6'],
} as const;
