/**
 * Writes the report directory: index.html, summary.md, results.json,
 * junit.xml, results.sarif and checks/<check>.md (each check's Markdown proof
 * report).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultMarkdown } from '../check/markdown.js';
import type { ReferenceOutcome } from '../check/reference.js';
import { reportGraphs, type GraphOptions } from './graphs.js';
import type { SarifOptions } from './sarif.js';
import { reportHtml } from './html.js';
import { junitXml } from './junit.js';
import { checkSlug } from './names.js';
import { sarifJson } from './sarif.js';
import { summaryMarkdown } from './summary.js';

/** results.json: every check's result (the `--json` schema) with what the reference expected of it. */
export function resultsJson(outcomes: ReferenceOutcome[]): string {
  const results = outcomes.map((o) => ({ ...o.result, expected: o.check.expected, expectedViolated: o.check.expectedViolated ?? [], ok: o.ok, options: o.check.options ?? {} }));
  return JSON.stringify(results, null, 2) + '\n';
}

export const REPORT_FILES = ['index.html', 'summary.md', 'results.json', 'junit.xml', 'results.sarif'] as const;

export async function writeReport(dir: string, outcomes: ReferenceOutcome[], opts: GraphOptions & { sarif?: SarifOptions } = {}): Promise<void> {
  mkdirSync(join(dir, 'checks'), { recursive: true });
  writeFileSync(join(dir, 'results.json'), resultsJson(outcomes));
  writeFileSync(join(dir, 'summary.md'), summaryMarkdown(outcomes));
  writeFileSync(join(dir, 'junit.xml'), junitXml(outcomes));
  writeFileSync(join(dir, 'results.sarif'), sarifJson(outcomes, opts.sarif));
  for (const o of outcomes) writeFileSync(join(dir, 'checks', `${checkSlug(o)}.md`), resultMarkdown(o.result));
  const graphs = await reportGraphs(outcomes, opts);
  writeFileSync(join(dir, 'index.html'), reportHtml(outcomes, graphs));
}
