/** The report's results table: per model, one row per check, one column per property. */
import type { ReferenceOutcome } from '../check/reference.js';
import { h as esc } from '../graph/dot.js';
import { propertyOutcomes } from './expect.js';
import { checkSlug, protocolLabel } from './names.js';
import { STATUS_MARK } from './summary.js';

function expectedText(o: ReferenceOutcome): string {
  return o.check.expected + (o.check.expectedViolated?.length ? ` (${o.check.expectedViolated.join(', ')})` : '');
}

export function resultsTable(model: string, outcomes: ReferenceOutcome[]): string {
  const props: { id: string; description: string }[] = [];
  for (const o of outcomes) for (const p of o.result.properties) if (!props.some((x) => x.id === p.id)) props.push({ id: p.id, description: p.description });
  const head = [
    '<th>protocol</th><th>CPUs</th><th>expected</th><th>found</th>',
    ...props.map((p) => `<th title="${esc(p.description)}">${esc(p.id)}</th>`),
    '<th class="num">states</th><th class="num">transitions</th><th class="num">time</th><th></th>',
  ].join('');
  const rows = outcomes.map((o) => {
    const ps = propertyOutcomes(o);
    const cells = props.map((p) => {
      const x = ps.find((y) => y.id === p.id);
      if (!x) return '<td class="prop none">·</td>';
      const exp = x.expected ? ` (expected ${x.expected})` : '';
      return `<td class="prop ${x.status}${x.ok ? '' : ' mismatch'}" title="${esc(`${x.id}: ${x.description}. ${x.reason}`)}">${STATUS_MARK[x.status]} ${esc(x.status)}${x.ok ? '' : `<br><small>${esc(exp.trim())}</small>`}</td>`;
    });
    const r = o.result;
    return [
      `<tr class="${o.ok ? 'ok' : 'mismatch'}" data-check="${esc(checkSlug(o))}">`,
      `<td><a href="#${esc(checkSlug(o))}">${esc(protocolLabel(o))}</a></td><td class="num">${o.check.every ? 'every' : o.check.cpus}</td>`,
      `<td>${esc(expectedText(o))}</td><td class="verdict ${r.verdict}">${esc(r.verdict)}</td>`,
      ...cells,
      `<td class="num">${r.states.toLocaleString('en-US')}</td><td class="num">${r.transitions.toLocaleString('en-US')}</td><td class="num">${r.seconds.toFixed(2)} s</td>`,
      `<td class="okcell">${o.ok ? 'ok' : 'MISMATCH'}</td></tr>`,
    ].join('');
  });
  return `<table class="results" data-model="${esc(model)}"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}
