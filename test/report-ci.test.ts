/**
 * junit.xml and results.sarif, parsed as a CI would: JUnit with a real XML
 * parser (fast-xml-parser), SARIF checked against the structure SARIF 2.1.0
 * requires. Expected verdicts come from docs/reference-verdicts.md section 1.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Log, Result } from 'sarif';
import { beforeAll, describe, expect, it } from 'vitest';
import { junitXml } from '../src/report/junit.js';
import { sarifLog } from '../src/report/sarif.js';
import type { ReferenceOutcome } from '../src/check/reference.js';
import { cli } from './helpers/cli.js';
import { outcome, tailcallOutcomes } from './report-outcomes.js';

interface TestCase {
  '@_classname': string;
  '@_name': string;
  failure?: { '@_message': string; '#text'?: string };
  skipped?: { '@_message': string };
  'system-out'?: string;
}
interface Suite {
  '@_name': string;
  '@_tests': string;
  '@_failures': string;
  testcase: TestCase[];
}

function parseJunit(xml: string): { suites: Suite[]; root: Record<string, string> } {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testsuite' || name === 'testcase' || name === 'property' }).parse(xml);
  return { suites: doc.testsuites.testsuite as Suite[], root: doc.testsuites };
}

/** The properties SARIF 2.1.0's schema requires, checked on the whole log. */
function sarifProblems(log: Log): string[] {
  const p: string[] = [];
  if (log.version !== '2.1.0') p.push('version');
  if (!Array.isArray(log.runs) || log.runs.length === 0) p.push('runs');
  for (const run of log.runs ?? []) {
    if (!run.tool?.driver?.name) p.push('tool.driver.name');
    const rules = run.tool.driver.rules ?? [];
    for (const r of rules) if (!r.id) p.push('rule.id');
    for (const res of run.results ?? []) {
      if (!res.message?.text) p.push('result.message.text');
      if (res.ruleIndex !== undefined && rules[res.ruleIndex]?.id !== res.ruleId) p.push(`ruleIndex of ${res.ruleId}`);
      if (res.level && !['none', 'note', 'warning', 'error'].includes(res.level)) p.push('level');
      for (const cf of res.codeFlows ?? []) {
        if (!cf.threadFlows?.length) p.push('codeFlow.threadFlows');
        for (const tf of cf.threadFlows) {
          if (!tf.locations?.length) p.push('threadFlow.locations');
          for (const l of tf.locations) if (l.executionOrder !== undefined && (!Number.isInteger(l.executionOrder) || l.executionOrder < -1)) p.push('executionOrder');
        }
      }
      for (const loc of res.locations ?? []) {
        const region = loc.physicalLocation?.region;
        if (region?.startLine !== undefined && region.startLine < 1) p.push('region.startLine');
        if (loc.physicalLocation && !loc.physicalLocation.artifactLocation?.uri) p.push('artifactLocation.uri');
      }
    }
  }
  return p;
}

let outcomes: ReferenceOutcome[];
beforeAll(() => {
  outcomes = tailcallOutcomes();
});

describe('junit.xml', () => {
  it('has one testcase per model x protocol x property, and no failure when every verdict is as expected', () => {
    const { suites, root } = parseJunit(junitXml(outcomes));
    expect(suites.map((s) => s['@_name'])).toEqual([
      'tailcall-poke --protocol rfc --cpus 3',
      'tailcall-poke --protocol v5.10 --cpus 3',
      'tailcall-poke --protocol no-sync --cpus 3',
      'tailcall-poke --protocol bypass-first --cpus 3',
    ]);
    for (const s of suites) expect(s.testcase.map((t) => t['@_name'].slice(0, 2))).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect(root['@_tests']).toBe('16');
    expect(root['@_failures']).toBe('0');
    // The RFC fakes the expected bytes, so P4 is not checked: a skipped testcase, not a pass.
    expect(suites[0].testcase[3].skipped?.['@_message']).toMatch(/not checked/);
    // An expected violation passes and shows its counterexample.
    const p1 = suites[2].testcase[0];
    expect(p1.failure).toBeUndefined();
    expect(p1['system-out']).toMatch(/Counterexample for P1/);
    expect(p1['system-out']).toMatch(/executes nopl .*\[0f 1f 44 00 00\] at tailcall_target/);
  });

  it('fails the testcases of a check whose verdict is not the expected one, with the counterexample', () => {
    const bypassFirst = outcomes[3].result;
    const wrong: ReferenceOutcome = { model: 'tailcall-poke', check: { protocol: 'bypass-first', cpus: 3, expected: 'holds' }, result: bypassFirst, ok: false };
    const { suites, root } = parseJunit(junitXml([wrong]));
    expect(root['@_failures']).toBe('2');
    const failed = suites[0].testcase.filter((t) => t.failure);
    expect(failed.map((t) => t['@_name'].slice(0, 2))).toEqual(['P1', 'P3']);
    expect(failed[0].failure?.['@_message']).toMatch(/expected to be holding, found violated/);
    expect(failed[1].failure?.['#text']).toMatch(/Counterexample for P3/);
  });

  it('fails a property expected to be violated that holds, and a check that names no property', () => {
    const v510 = outcomes[1].result;
    const p2: ReferenceOutcome = { model: 'tailcall-poke', check: { protocol: 'v5.10', cpus: 3, expected: 'violated', expectedViolated: ['P2'] }, result: v510, ok: false };
    const a = parseJunit(junitXml([p2])).suites[0].testcase.filter((t) => t.failure);
    expect(a.map((t) => t['@_name'].slice(0, 2))).toEqual(['P2']);
    expect(a[0].failure?.['@_message']).toMatch(/expected to be violated, found holds: complete search/);
    const unnamed: ReferenceOutcome = { ...p2, check: { protocol: 'v5.10', cpus: 3, expected: 'violated' } };
    expect(parseJunit(junitXml([unnamed])).root['@_failures']).toBe('4');
  });
});

describe('results.sarif', () => {
  it('is SARIF 2.1.0 with one result per violated property, each a code flow with one thread flow per actor', () => {
    const log = JSON.parse(JSON.stringify(sarifLog(outcomes))) as Log;
    expect(sarifProblems(log)).toEqual([]);
    const results = log.runs[0].results as Result[];
    // no-sync violates P1; bypass-first violates P1 and P3 (docs/reference-verdicts.md section 1).
    expect(results.map((r) => `${(r.properties as { protocol: string }).protocol} ${r.ruleId}`).sort()).toEqual([
      'bypass-first tailcall-poke/P1',
      'bypass-first tailcall-poke/P3',
      'no-sync tailcall-poke/P1',
    ]);
    for (const r of results) {
      expect(r.level).toBe('note'); // expected by the reference
      const o = outcomes.find((x) => x.check.protocol === (r.properties as { protocol: string }).protocol)!;
      const c = o.result.counterexamples.find((x) => `tailcall-poke/${x.property}` === r.ruleId)!;
      const flows = r.codeFlows![0].threadFlows;
      expect(flows.map((f) => f.id).sort()).toEqual([...new Set(c.steps.map((s) => s.actor))].sort());
      const order = flows.flatMap((f) => f.locations.map((l) => l.executionOrder)).sort((a, b) => a! - b!);
      expect(order).toEqual(c.steps.map((_, i) => i + 1));
      for (const f of flows) {
        for (const l of f.locations) {
          const step = c.steps[l.executionOrder! - 1];
          expect(step.actor).toBe(f.id);
          expect(l.location?.message?.text).toBe(step.action);
          expect(l.state?.tailcall_bypass.text).toContain(step.sites[0].bytes);
          expect(l.state?.tailcall_target.text).toContain(step.sites[1].bytes);
        }
      }
      // Never a file of pokecheck's own: without --sarif-root or a step's source, only the check's name.
      expect(r.locations?.[0].physicalLocation).toBeUndefined();
      expect(r.locations?.[0].logicalLocations?.[0].fullyQualifiedName).toContain(o.check.protocol);
    }
  });

  it('locates results at --sarif-root, or at the source a counterexample step names', () => {
    const violated = outcomes.filter((o) => o.result.verdict === 'violated');
    const atRoot = sarifLog(violated, { root: './.github/workflows/pokecheck.yml' });
    for (const r of atRoot.runs[0].results!) {
      expect(r.locations?.[0].physicalLocation?.artifactLocation).toEqual({ uri: '.github/workflows/pokecheck.yml', uriBaseId: '%SRCROOT%' });
      expect(r.locations?.[0].physicalLocation?.region?.startLine).toBe(1);
    }
    const o = violated[0];
    // The last step that names its source locates the result.
    const counterexamples = o.result.counterexamples.map((c) => ({
      ...c,
      steps: c.steps.map((s, i) => (i === 0 ? { ...s, source: { file: 'protocols/early.c', line: 2 } } : i === c.steps.length - 2 ? { ...s, source: { file: 'protocols/v5.10.c', line: 12, column: 3 } } : s)),
    }));
    // as from --protocol-file (a shipped protocol's own steps are never pointed at: its file is ours)
    const withSource = { ...o, result: { ...o.result, protocol: 'protocols/v5.10.c', counterexamples } };
    const loc = sarifLog([withSource], { root: 'x.yml' }).runs[0].results![0].locations![0].physicalLocation!;
    expect(loc.artifactLocation?.uri).toBe('protocols/v5.10.c');
    expect(loc.region).toEqual({ startLine: 12, startColumn: 3 });
  });

  it('marks an unexpected violation as an error', () => {
    const wrong: ReferenceOutcome = { model: 'tailcall-poke', check: { protocol: 'no-sync', cpus: 3, expected: 'holds' }, result: outcomes[2].result, ok: false };
    const log = sarifLog([wrong]);
    expect(log.runs[0].results?.map((r) => r.level)).toEqual(['error']);
  });
});

describe('check --junit FILE --sarif FILE', () => {
  it('writes both for one check, where every property is expected to hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-ci-'));
    const r = await cli('check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', '2', '--junit', join(dir, 'j.xml'), '--sarif', join(dir, 's.sarif'));
    expect(r.code).toBe(1);
    const { suites } = parseJunit(readFileSync(join(dir, 'j.xml'), 'utf8'));
    expect(suites[0].testcase.filter((t) => t.failure).map((t) => t['@_name'].slice(0, 2))).toEqual(['P1']);
    const log = JSON.parse(readFileSync(join(dir, 's.sarif'), 'utf8')) as Log;
    expect(sarifProblems(log)).toEqual([]);
    expect(log.runs[0].results?.map((x) => [x.ruleId, x.level])).toEqual([['tailcall-poke/P1', 'error']]);
  });

  it('a holding check gives a passing suite and no SARIF result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-ci-'));
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '2', '--junit', join(dir, 'j.xml'), '--sarif', join(dir, 's.sarif'));
    expect(r.code).toBe(0);
    expect(parseJunit(readFileSync(join(dir, 'j.xml'), 'utf8')).root['@_failures']).toBe('0');
    expect(JSON.parse(readFileSync(join(dir, 's.sarif'), 'utf8')).runs[0].results).toEqual([]);
  });

  it('outcome() agrees with the registry: the reference checks are as expected', () => {
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(outcome({ protocol: 'no-sync', cpus: 2, expected: 'violated', expectedViolated: ['P1'] }).ok).toBe(true);
  });
});
