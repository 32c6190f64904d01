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
import { getProfile } from '../jit/x86/profile.js';
import { callerProfile } from '../../models/tailcall-common.js';
import { SLEEPABLE_PROFILE } from '../../models/sleepable-tailcall.js';

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
  /**
   * What the model takes for granted that a reader could think it checks (also at the end of `scope`),
   * e.g. that tailcall-poke's caller never leaves kallsyms.
   */
  assumes?: string;
  /** What the claim covers: the actors, the script, the level, and how far the search went. */
  scope: string;
}

const ORACLE_6_1 = 'the oracle linux-6.1.0-56-amd64';

/** No --script given (or the definition's default for it): every sequence of map operations. */
const noScript = (v: string | undefined): boolean => v === undefined || v.startsWith('(none');

/** Which kernel a JIT profile's bytes are, and their x86 tail-call layout (src/jit/x86/profile.ts). */
function profileBytes(name: string): string {
  const p = getProfile(name);
  const kernel = { '5.5': 'v5.5', '5.10': 'v5.10', '5.10.y': '5.10.y (late stable)', '6.1': '6.1', '6.1-ibt': '6.1 (IBT)', '6.12': '6.12', '6.12-ibt': '6.12 (IBT)' }[p.name];
  return `x86-64 bytes of linux ${kernel}, layout ${p.layout}, as pokecheck's JIT emits them (src/jit, profile ${p.name})`;
}

/** The caller image of tailcall-poke and tailcall-load-race for a protocol (models/tailcall-common.ts). */
function tailCallerBytes(protocol: string, options: Record<string, string>): string {
  const profile = callerProfile(protocol, options['protocol-file']);
  // --keys 2 (instruction level, no script): caller_two, a direct tail call on key 0 and one on key 1
  const caller = noScript(options.script) && (options.level ?? 'instruction') === 'instruction' && options.keys === '2' ? 'caller_two' : 'caller_d0';
  const where = `: the shape of ${ORACLE_6_1}'s ${caller} at its address, f1..f3 at its target1..3`;
  if (profile === '6.1') return `${profileBytes(profile)}${where} (byte for byte that image)`;
  if (profile === '5.5') return `${profileBytes(profile)}${where}; one poke site, poke->ip (tailcall_target here); no v5.5 image has been captured (the profile is checked against docs/kernel-facts.md's tables)`;
  const rfc = protocol === 'rfc' ? "; the RFC's own JIT also emitted add rsp,0 (7 bytes) between the two sites, not modelled" : '';
  return `${profileBytes(profile)}${where}; both poke sites, their addresses and contents, are those of the 6.1 image${rfc}`;
}

/**
 * Which kernel's bytes each model of this repository runs on (their header comments), for the
 * `bytes:` line: every check has one.
 */
const MODEL_BYTES: Record<string, (options: Record<string, string>, protocol: string) => string> = {
  'tailcall-poke': (o, p) => tailCallerBytes(p, o),
  'tailcall-load-race': (o, p) => tailCallerBytes(p, o),
  // the caller is emitted for the kernel of --desc-update (v5.10 by default)
  'tailcall-batch': (o) => tailCallerBytes(o['desc-update'] ?? 'v5.10', {}),
  'tailcall-hierarchy': (o) => `${profileBytes(o.profile ?? '?')}, for the --graph program (no captured image of it)`,
  dispatcher: () => `linux 6.1 x86-64 (${ORACLE_6_1}'s target1..3; dispatcher image and trampoline addresses illustrative)`,
  'tailcall-cached-target': () =>
    `${profileBytes('6.12')} (plain indirect jump): the RFC's emit_bpf_tail_call_indirect and a direct site; programs at ${ORACLE_6_1}'s target1..3, struct offsets its caller_ind's, callers' addresses illustrative`,
  'sleepable-tailcall': () =>
    `${profileBytes(SLEEPABLE_PROFILE)} (as Debian's 6.12 captures): the direct caller at ${ORACLE_6_1}'s caller_d0 address, programs at its target1..3; the indirect caller's address illustrative, struct offsets the 6.1 oracle's`,
  'poke-track-uaf': () => 'no machine code: the tracking list and the lifetimes of bpf_prog_aux (v5.5 and v5.10 to v5.13) as steps (src/arraymap/poke_track.ts); no byte is executed',
  'arm64-poke': () => "arm64 A64 words (nop, b, bl) encoded by pokecheck's aarch64_insn_gen_branch_imm (src/jit/arm64/insn.ts); addresses illustrative",
  'mmap-freeze': () => 'no machine code: the syscalls on a BPF_F_MMAPABLE array map (freeze, mmap, mprotect, munmap, fork, update) as steps on map->frozen, writecnt and the mappings\' flags (src/arraymap/map_mmap.ts)',
  'recursion-detect': () => 'no machine code: the arm64 get/put sequences (ldrb/add/strb, ldr) as steps on the bytes of active[] (src/recursion/schemes.ts)',
};

/**
 * What a model assumes about the kernel around it that its verdicts depend on, where a reader
 * could take it for checked.
 */
const MODEL_ASSUMES: Record<string, string> = {
  // The caller is loaded (JIT fixup, bpf_prog_kallsyms_add) before the search starts and never
  // released, so is_bpf_text_address() always knows it.
  'tailcall-poke':
    'the caller is in kallsyms throughout (no load or unload window), so bpf_arch_text_poke never returns -EINVAL and a protocol\'s handling of -EINVAL (v5.10: skipped, not BUG) is never exercised; that window is tailcall-load-race\'s',
  // the same world (models/tailcall-common.ts)
  'tailcall-batch':
    'the caller is in kallsyms throughout (no load or unload window), so bpf_arch_text_poke never returns -EINVAL and a --desc-update\'s handling of -EINVAL (v5.10: skipped, not BUG) is never exercised; that window is tailcall-load-race\'s',
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
export function fullOptions(def: ModelDefinition | undefined, options: Record<string, string>, protocol?: string): Record<string, string> {
  const all: Record<string, string> = {};
  for (const o of def?.options ?? []) if (!o.protocols || protocol === undefined || o.protocols.includes(protocol)) all[o.name] = o.default;
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
  const full = fullOptions(def, options, m.protocol);
  const bytes = own.bytes ?? MODEL_BYTES[m.model]?.({ ...full, ...m.config }, m.protocol);
  const summary = def?.protocols.find((p) => p.name === m.protocol)?.summary;
  const steps = own.steps ?? (PROTOCOL_MODELS.has(m.model) ? protocolSteps(m.protocol) : undefined);
  const assumes = MODEL_ASSUMES[m.model];
  const scope = own.scope ?? scopeText(m.cpus, full, limit, symmetry);
  return {
    tool: toolIdentity(),
    configuration: { model: m.model, protocol: m.protocol, cpus: m.cpus, options: full },
    ...(summary !== undefined ? { protocol: { name: m.protocol, summary } } : {}),
    ...(steps ? { steps } : {}),
    ...(bytes ? { bytes } : {}),
    ...(assumes ? { assumes } : {}),
    scope: assumes ? `${scope}; assumes ${assumes}` : scope,
  };
}
