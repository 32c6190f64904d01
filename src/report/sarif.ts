/**
 * `results.sarif` (SARIF 2.1.0): one result per violated property of every
 * check, its shortest counterexample as a code flow with one thread flow per
 * actor that steps (each CPU, the updater, rcu), the steps numbered by
 * `executionOrder` across threads and each carrying the poke sites' bytes
 * after it as `state`. A violation the reference expects (a historical
 * protocol's known bug) is a `note`; any other is an `error`.
 *
 * Locations never name a file of pokecheck's own (a user's repository has no
 * models/*.ts): a result is located at the source of the protocol step that
 * completes the counterexample when the model knows it
 * (CounterexampleStep.source, a protocol file's line); otherwise at the file
 * the user names with `--sarif-root FILE` (e.g. the workflow that runs
 * pokecheck, or the kernel file the protocol is taken from), line 1;
 * otherwise only at a logical location (the check's name), which SARIF
 * allows but GitHub code scanning does not display: give --sarif-root there.
 * Every result carries what the run proved (about.ts) in its properties.
 */
import type { Location, Log, ReportingDescriptor, Result, ThreadFlow, ThreadFlowLocation } from 'sarif';
import type { Counterexample } from '../check/result.js';
import type { ReferenceOutcome } from '../check/reference.js';
import { lanesOf } from '../graph/lanes.js';
import { toolIdentity, VERSION } from '../version.js';
import { propertyOutcomes } from './expect.js';
import { checkTitle } from './names.js';

export interface SarifOptions {
  /** The file (relative to the repository root) results are located at when no step names its source. */
  root?: string;
}

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A relative URI for a path (forward slashes, no leading ./). */
function uriOf(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** Where a result points: the source of the last step that has one, else --sarif-root, else only the check's name. */
export function resultLocation(o: ReferenceOutcome, c: Counterexample | null, opts: SarifOptions = {}): Location {
  const logical = { logicalLocations: [{ name: o.check.protocol, fullyQualifiedName: checkTitle(o), kind: 'module' }] };
  // Only a user's protocol file (--protocol-file: the result's protocol is its path) is a place in
  // the user's repository; the shipped protocols/*.c are ours and are never pointed at.
  const own = o.result.protocol.endsWith('.c');
  const src = c && own ? [...c.steps].reverse().find((s) => s.source)?.source : undefined;
  if (src) {
    const region = { startLine: Math.max(1, src.line), ...(src.column ? { startColumn: src.column } : {}) };
    return { physicalLocation: { artifactLocation: { uri: uriOf(src.file), uriBaseId: '%SRCROOT%' }, region }, ...logical };
  }
  if (opts.root) return { physicalLocation: { artifactLocation: { uri: uriOf(opts.root), uriBaseId: '%SRCROOT%' }, region: { startLine: 1 } }, ...logical };
  return logical;
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

export function sarifLog(outcomes: ReferenceOutcome[], opts: SarifOptions = {}): Log {
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
        locations: [resultLocation(o, c, opts)],
        codeFlows: [{ message: { text: `shortest schedule (breadth-first), replayed from the initial text: ${init}` }, threadFlows: threadFlows(c) }],
        properties: { model: o.model, protocol: o.check.protocol, cpus: o.check.cpus, options: o.check.options ?? {}, expected: p.expected === 'violated', states: o.result.states, ...(o.result.about ? { about: o.result.about } : {}) },
      });
    }
  }
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'pokecheck', version: VERSION, semanticVersion: VERSION, rules, properties: { commit: toolIdentity().commit } } },
        invocations: [{ executionSuccessful: true }],
        results,
      },
    ],
  };
}

export function sarifJson(outcomes: ReferenceOutcome[], opts: SarifOptions = {}): string {
  return JSON.stringify(sarifLog(outcomes, opts), null, 2) + '\n';
}
