/**
 * What a result says about itself, so that a proof read later (JSON,
 * Markdown, JUnit, SARIF) names what it proved: the tool that proved it, the
 * model's whole configuration (defaults included), the protocol's steps where
 * the model runs one of the map protocols of src/arraymap/poke_desc_update.ts,
 * the kernel and CPU whose bytes the model executes, and the scope of the
 * claim in one sentence.
 *
 * A model may say it itself (CheckableModel.provenance); otherwise the table
 * below, taken from each model's header comment, says it.
 */
import { PROTOCOLS, type DescUpdateStep } from '../arraymap/poke_desc_update.js';
import type { CheckableModel, ModelDefinition, ModelProvenance } from '../concurrency/model.js';
import { toolIdentity, type ToolIdentity } from '../version.js';

export interface RunAbout {
  tool: ToolIdentity;
  /** Every model option with its value (the defaults too), as passed to the model. */
  configuration: { model: string; protocol: string; cpus: number; options: Record<string, string> };
  /** The protocol checked, as the model's definition describes it. */
  protocol?: { name: string; summary: string };
  /** The protocol's steps, one line per map operation kind, when the model runs a PROTOCOLS entry. */
  steps?: string[];
  /** The kernel and CPU the executed bytes come from. */
  bytes?: string;
  /** What the claim covers: the actors, the script, the level, and how far the search went. */
  scope: string;
}

const ORACLE_6_1 = 'linux 6.1 x86-64 (oracle linux-6.1.0-56-amd64: caller_d0 and target1..3 as the kernel JIT-compiled them)';

/** No --script given (or the definition's default for it): every sequence of map operations. */
const noScript = (v: string | undefined): boolean => v === undefined || v.startsWith('(none');

/** Where the models of this repository take their bytes from (their header comments). */
const MODEL_BYTES: Record<string, (options: Record<string, string>) => string> = {
  // --keys 2 (instruction level, no script): caller_two, a direct tail call on key 0 and one on key 1
  'tailcall-poke': (o) => (noScript(o.script) && (o.level ?? 'instruction') === 'instruction' && o.keys === '2' ? ORACLE_6_1.replace('caller_d0', 'caller_two') : ORACLE_6_1),
  'tailcall-load-race': () => ORACLE_6_1,
  'tailcall-hierarchy': (o) => `x86-64, emitted by pokecheck's JIT (src/jit do_jit) with the linux ${o.profile ?? '?'} profile`,
  dispatcher: () => 'linux 6.1 x86-64 (oracle target1..3; dispatcher image and trampoline addresses illustrative)',
  'tailcall-cached-target': () => 'linux 6.1 x86-64 (oracle target1..3 and caller_ind struct offsets; caller addresses illustrative)',
  'arm64-poke': () => "arm64 A64 words (nop, b, bl) encoded by pokecheck's aarch64_insn_gen_branch_imm (src/jit/arm64/insn.ts); addresses illustrative",
  'recursion-detect': () => 'no machine code: the arm64 get/put sequences (ldrb/add/strb, ldr) as steps on the bytes of active[] (src/recursion/schemes.ts)',
};

/** Which models run a map protocol of PROTOCOLS under the protocol's own name. */
const PROTOCOL_MODELS = new Set(['tailcall-poke', 'tailcall-load-race']);

function stepText(s: DescUpdateStep): string {
  if (s.kind === 'synchronize_rcu') return `synchronize_rcu()${s.only_if_previous_wrote ? ' if the previous poke wrote' : ''}`;
  const bug = s.bug_on === 'never' ? '' : `, BUG_ON(${s.bug_on})`;
  return `${s.via}(${s.site}, ${s.old_addr} -> ${s.new_addr}${bug})`;
}

/** PROTOCOLS[name]'s steps for an install (no old program), an update and a removal. */
export function protocolSteps(name: string): string[] | undefined {
  const p = PROTOCOLS[name];
  if (!p) return undefined;
  const kinds: [string, boolean, boolean][] = [
    ['install', false, true],
    ['update', true, true],
    ['remove', true, false],
  ];
  return kinds.map(([k, o, n]) => `${k}: ${p.steps(o, n).map(stepText).join('; ')}`);
}

/** The model's options with the definition's defaults filled in (when the definition is known). */
export function fullOptions(def: ModelDefinition | undefined, options: Record<string, string>): Record<string, string> {
  const all: Record<string, string> = {};
  for (const o of def?.options ?? []) all[o.name] = o.default;
  return { ...all, ...options };
}

export function scopeText(cpus: number, options: Record<string, string>, limit: string | null, symmetry: boolean): string {
  const opts = Object.entries(options).map(([k, v]) => `--${k} ${/\s/.test(v) ? `'${v}'` : v}`);
  const actors = `every interleaving of ${cpus} CPU${cpus === 1 ? '' : 's'} with the model's other actors`;
  const how = limit ? `only the states searched before the search was cut short (${limit}): nothing is claimed to hold` : 'the complete reachable state space';
  return `${actors}${opts.length ? `, ${opts.join(' ')}` : ''}; ${how}${symmetry ? ' (CPUs reduced by symmetry)' : ''}`;
}

export function aboutRun(def: ModelDefinition | undefined, m: CheckableModel, options: Record<string, string>, limit: string | null, symmetry: boolean): RunAbout {
  const own: ModelProvenance = m.provenance ?? {};
  const full = fullOptions(def, options);
  const bytes = own.bytes ?? MODEL_BYTES[m.model]?.({ ...full, ...m.config });
  const summary = def?.protocols.find((p) => p.name === m.protocol)?.summary;
  const steps = own.steps ?? (PROTOCOL_MODELS.has(m.model) ? protocolSteps(m.protocol) : undefined);
  return {
    tool: toolIdentity(),
    configuration: { model: m.model, protocol: m.protocol, cpus: m.cpus, options: full },
    ...(summary !== undefined ? { protocol: { name: m.protocol, summary } } : {}),
    ...(steps ? { steps } : {}),
    ...(bytes ? { bytes } : {}),
    scope: own.scope ?? scopeText(m.cpus, full, limit, symmetry),
  };
}
