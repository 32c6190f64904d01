/**
 * `results.sarif` (SARIF 2.1.0): one result per violated property of every
 * check, its shortest counterexample as a code flow with one thread flow per
 * actor that steps (each CPU, the updater, rcu), the steps numbered by
 * `executionOrder` across threads and each carrying the poke sites' bytes
 * after it as `state`. A violation the reference expects (a historical
 * protocol's known bug) is a `note`; any other is an `error`. Results are
 * located at the line of the model's source that declares the check, when
 * the source is there to point at (GitHub code scanning needs a file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Location, Log, ReportingDescriptor, Result, ThreadFlow, ThreadFlowLocation } from 'sarif';
import type { Counterexample } from '../check/result.js';
import type { ReferenceOutcome } from '../cli/check-cmd.js';
import { lanesOf } from '../graph/lanes.js';
import { VERSION } from '../version.js';
import { propertyOutcomes } from './expect.js';
import { checkTitle } from './names.js';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** The repository root (the folder holding package.json and models/), found upwards from this file. */
function sourceRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    dir = dirname(dir);
  }
  return null;
}

function checkLocation(o: ReferenceOutcome, root: string | null): Location {
  const logical = { logicalLocations: [{ name: o.check.protocol, fullyQualifiedName: checkTitle(o), kind: 'module' }] };
  const rel = `models/${o.model}.ts`;
  if (!root || !existsSync(join(root, rel))) return logical;
  const lines = readFileSync(join(root, rel), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(`protocol: '${o.check.protocol}'`) && l.includes(`cpus: ${o.check.cpus}`));
  return { physicalLocation: { artifactLocation: { uri: rel, uriBaseId: '%SRCROOT%' }, region: { startLine: at + 1 || 1 } }, ...logical };
}

function stepState(sites: Counterexample['initial']['sites'], rest: string): Record<string, { text: string }> {
  const state: Record<string, { text: string }> = {};
  for (const s of sites) state[s.name] = { text: `${s.bytes}  ${s.disasm}` };
  state.state = { text: rest };
  return state;
}

/** One thread flow per actor that steps, in lane order (CPUs first). */
export function threadFlows(c: Counterexample): ThreadFlow[] {
  const flows = new Map<string, ThreadFlowLocation[]>();
  let prev = c.initial.sites;
  c.steps.forEach((s, i) => {
    const wrote = s.sites.some((x, k) => prev[k]?.bytes !== x.bytes);
    const last = i === c.steps.length - 1;
    const loc: ThreadFlowLocation = {
      executionOrder: i + 1,
      location: { message: { text: s.action } },
      state: stepState(s.sites, s.state),
      importance: last || wrote ? 'essential' : 'important',
      ...(last ? { kinds: ['danger'] } : {}),
    };
    flows.set(s.actor, [...(flows.get(s.actor) ?? []), loc]);
    prev = s.sites;
  });
  const lanes = lanesOf(c, 0);
  return [...flows.entries()].sort(([a], [b]) => lanes.of(a) - lanes.of(b)).map(([actor, locations]) => ({ id: actor, message: { text: actor }, locations }));
}

export function sarifLog(outcomes: ReferenceOutcome[]): Log {
  const root = sourceRoot();
  const rules: ReportingDescriptor[] = [];
  const ruleIndex = new Map<string, number>();
  const results: Result[] = [];
  for (const o of outcomes) {
    for (const p of propertyOutcomes(o)) {
      const ruleId = `${o.model}/${p.id}`;
      if (!ruleIndex.has(ruleId)) {
        ruleIndex.set(ruleId, rules.length);
        rules.push({ id: ruleId, name: p.id, shortDescription: { text: p.description }, defaultConfiguration: { level: 'error' } });
      }
      if (p.status !== 'violated' || !p.counterexample) continue;
      const c = p.counterexample;
      const init = c.initial.sites.map((s) => `${s.name} ${s.bytes} (${s.disasm})`).join(', ');
      results.push({
        ruleId,
        ruleIndex: ruleIndex.get(ruleId),
        level: p.expected === 'violated' ? 'note' : 'error',
        kind: 'fail',
        message: {
          text: `${checkTitle(o)}: ${p.id} violated (${p.description}); shortest schedule ${c.steps.length} steps${p.expected === 'violated' ? ', as the reference expects' : ''}.`,
        },
        locations: [checkLocation(o, root)],
        codeFlows: [{ message: { text: `shortest schedule (breadth-first), replayed from the initial text: ${init}` }, threadFlows: threadFlows(c) }],
        properties: { model: o.model, protocol: o.check.protocol, cpus: o.check.cpus, options: o.check.options ?? {}, expected: p.expected === 'violated', states: o.result.states },
      });
    }
  }
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'pokecheck', version: VERSION, semanticVersion: VERSION, rules } },
        invocations: [{ executionSuccessful: true }],
        results,
      },
    ],
  };
}

export function sarifJson(outcomes: ReferenceOutcome[]): string {
  return JSON.stringify(sarifLog(outcomes), null, 2) + '\n';
}
