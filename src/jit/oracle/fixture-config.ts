/**
 * The JIT configuration and kernel addresses a fixture implies, with a note
 * saying where each came from. Sources, best first:
 *   1. an explicit `jit_config` / `kernel_symbols` / `struct_offsets` object;
 *   2. the `ret` / indirect-jump encodings and call-depth accounting: decided from
 *      `guest_cpu` (the guest's vulnerability lines, CPU family) and the kernel
 *      version, as the kernel decides them from its feature bits
 *      (src/jit/x86/mitigations.ts); never from the image's own jumps, nor from
 *      what the capture tool observed in them (`capture.mitigations.*.form`);
 *   3. thunk addresses: the guest's kallsyms (`capture.mitigations.thunk_symbols`,
 *      `kernel_symbols`); struct offsets from the oracle's per-site `offsetof_*`;
 *   4. the profile's defaults (docs/jit.md) when there is no vulnerability line.
 * Values no source gives (map addresses always; helper base, thunks when
 * missing) are recovered from the image later (rejit.ts) and reported.
 */
import { type JitConfigOverrides, type KernelLayout, type KernelSymbols, defaultJitConfig } from '../x86/config.js';
import { type CpuReport, selectMitigations } from '../x86/mitigations.js';
import type { JitEnv } from '../x86/env.js';
import { type Fixture, FixtureError } from './fixture.js';
import { type ProfileName, PROFILE_NAMES } from '../x86/profile.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const addr = (v: unknown): bigint | undefined => (typeof v === 'string' && /^0x[0-9a-f]{1,16}$/i.test(v) ? BigInt(v) : undefined);

export interface FixtureConfig {
  env: JitEnv;
  /** one entry per derived item: `indirect=retpoline via __x86_indirect_thunk_rcx (guest_cpu; …)` */
  notes: string[];
  /** symbols whose address is read from the image but must be one of these (kallsyms) */
  candidates: Map<string, bigint[]>;
}

function profileOf(fx: Fixture, explicit: Obj | undefined, ibtHint: boolean | undefined): [ProfileName, string] {
  const p = explicit?.profile;
  if (p !== undefined) {
    if (typeof p !== 'string' || !(PROFILE_NAMES as readonly string[]).includes(p)) {
      throw new FixtureError(`${fx.file}: jit_config.profile: unknown profile ${JSON.stringify(p)}`);
    }
    return [p as ProfileName, 'jit_config'];
  }
  const kv = fx.raw.kernel_version;
  const m = typeof kv === 'string' ? /^(\d+)\.(\d+)/.exec(kv) : null;
  if (!m) throw new FixtureError(`${fx.file}: kernel_version: cannot tell the kernel profile (no jit_config.profile either)`);
  const v = Number(m[1]) * 1000 + Number(m[2]);
  const ibt = ibtHint ?? (fx.x86_tail_call_offset === 15 || fx.x86_tail_call_offset === 16);
  let name: ProfileName;
  if (v >= 5005 && v < 5010) name = '5.5';
  else if (v >= 5017 && v < 6012) name = ibt ? '6.1-ibt' : '6.1';
  else if (v >= 6012) name = ibt ? '6.12-ibt' : '6.12';
  else throw new FixtureError(`${fx.file}: kernel_version ${String(kv)} has no profile (5.5-5.9, 5.17-6.11, 6.12+)`);
  return [name, 'kernel_version'];
}

/** The kernel's name for each thunk address the JIT can emit a jump to. */
const INDIRECT_THUNK = '__x86_indirect_thunk_rcx';

/** What the fixture's `guest_cpu` and `kernel_version` say, for selectMitigations(); undefined without a spectre_v2 line. */
export function cpuReport(fx: Fixture): CpuReport | undefined {
  const g = obj(fx.raw.guest_cpu);
  if (!g || typeof g.spectre_v2 !== 'string') return undefined;
  const m = /^(\d+)\.(\d+)/.exec(String(fx.raw.kernel_version ?? ''));
  const line = (k: string): string | null => (typeof g[k] === 'string' ? (g[k] as string) : null);
  const fam = typeof g.family === 'string' && /^\d+$/.test(g.family) ? Number(g.family) : typeof g.family === 'number' ? g.family : undefined;
  return {
    kernel: m ? [Number(m[1]), Number(m[2])] : [0, 0],
    ...(typeof g.vendor === 'string' ? { vendor: g.vendor } : {}),
    ...(fam !== undefined ? { family: fam } : {}),
    spectre_v2: line('spectre_v2'),
    retbleed: line('retbleed'),
    spec_rstack_overflow: line('spec_rstack_overflow'),
    indirect_target_selection: line('indirect_target_selection'),
  };
}

export function fixtureConfig(fx: Fixture): FixtureConfig {
  const raw = fx.raw;
  const notes: string[] = [];
  const explicit = obj(raw.jit_config);
  const mit = obj(obj(raw.capture)?.mitigations);
  const sites = fx.tail_call_sites.map((s) => s.raw);
  const [profile, psrc] = profileOf(fx, explicit, typeof mit?.ibt === 'boolean' ? mit.ibt : undefined);
  notes.push(`profile=${profile} (${psrc})`);
  const ov: JitConfigOverrides = {};
  const syms: KernelSymbols = {};
  const candidates = new Map<string, bigint[]>();
  // kallsyms of the guest (read from /proc/kallsyms, not from the image)
  const kallsyms: Obj = {};
  // The shared oracle names the thunk each indirect site jumps to with its kallsyms address
  // (`indirect_jump.target_symbol` at `target`): used as a name -> address fact only, for
  // whichever thunk the decision below picks; the recorded form is not consulted.
  for (const s of sites) {
    const ij = obj(s.indirect_jump);
    if (typeof ij?.target_symbol === 'string' && addr(ij.target) !== undefined) kallsyms[ij.target_symbol] = ij.target;
  }
  Object.assign(kallsyms, obj(mit?.thunk_symbols) ?? {}, obj(raw.kernel_symbols) ?? {});
  const ksym = (name: string): bigint | undefined => addr(kallsyms[name]);

  // The encodings, decided from the CPU report as the kernel decides them from its
  // feature bits (src/jit/x86/mitigations.ts). The image's own jumps are never consulted.
  const report = cpuReport(fx);
  if (report) {
    const choice = selectMitigations(report);
    ov.indirect_jump = choice.indirect_jump;
    ov.call_depth = choice.call_depth;
    if (choice.rethunk) {
      ov.return_kind = 'thunk';
      const names = Array.isArray(choice.return_thunk) ? choice.return_thunk : [choice.return_thunk!];
      ov.return_thunk_name = names.join('|');
      if (names.length === 1) {
        const a = ksym(names[0]);
        if (a !== undefined) syms.return_thunk = a;
        notes.push(`return=${names[0]} (guest_cpu; address ${a !== undefined ? 'from kallsyms' : 'not in the fixture: read from the image'})`);
      } else {
        const known = names.map(ksym).filter((a): a is bigint => a !== undefined);
        if (known.length > 0) candidates.set('return_thunk', known);
        notes.push(`return=${names.join(' or ')} (guest_cpu; which one is not recorded: address read from the image${known.length ? ', checked against kallsyms' : ''})`);
      }
    } else {
      ov.return_kind = 'ret';
      notes.push(`return=ret (guest_cpu: no return thunk)`);
    }
    const thunkName = choice.indirect_thunk;
    if (thunkName !== undefined) ov.indirect_thunk_name = thunkName;
    const ta = thunkName !== undefined ? ksym(thunkName) : undefined;
    if (choice.indirect_jump === 'retpoline' && ta !== undefined) syms.indirect_thunk = ta;
    if (choice.indirect_jump === 'its-thunk' && ta !== undefined) syms.its_indirect_thunk = ta;
    notes.push(`indirect=${choice.indirect_jump}${thunkName ? ` via ${thunkName}` : ''} (guest_cpu${thunkName ? `; address ${ta !== undefined ? 'from kallsyms' : 'not in the fixture: read from the image'}` : ''})`);
    if (choice.call_depth) {
      // pcpu_hot.call_depth: offset 16 in struct pcpu_hot (v6.2-v6.14); __x86_call_depth from v6.15
      const cd = ksym('__x86_call_depth') ?? (ksym('pcpu_hot') !== undefined ? ksym('pcpu_hot')! + 16n : undefined);
      if (cd !== undefined) syms.call_depth_percpu = cd;
      notes.push(`call-depth accounting (guest_cpu; %gs:call_depth ${cd !== undefined ? 'from kallsyms' : 'not in the fixture: read from the image'})`);
    }
    notes.push(`why: ${choice.reasons.join('; ')}`);
  } else {
    notes.push('indirect/return: no guest_cpu vulnerability lines: the profile defaults (docs/jit.md)');
    const ta = ksym(INDIRECT_THUNK);
    if (ta !== undefined) syms.indirect_thunk = ta;
  }
  if (explicit) Object.assign(ov, explicitOverrides(fx, explicit));
  const cfg = defaultJitConfig(profile, ov);
  if (fx.x86_tail_call_offset !== undefined && fx.x86_tail_call_offset !== cfg.profile.tail_call_offset) {
    throw new FixtureError(`${fx.file}: x86_tail_call_offset ${fx.x86_tail_call_offset} contradicts profile ${profile} (${cfg.profile.tail_call_offset})`);
  }
  if (fx.max_tail_call_cnt !== undefined && fx.max_tail_call_cnt !== cfg.profile.max_tail_call_cnt) {
    throw new FixtureError(`${fx.file}: max_tail_call_cnt ${fx.max_tail_call_cnt} contradicts profile ${profile}`);
  }
  const call_base = addr(kallsyms.__bpf_call_base);
  if (call_base !== undefined) syms.bpf_call_base = call_base;
  return { env: { cfg, syms, values: new Map(), layout: layoutOf(fx, sites) }, notes, candidates };
}

function explicitOverrides(fx: Fixture, o: Obj): JitConfigOverrides {
  const ov: JitConfigOverrides = {};
  const keys: (keyof JitConfigOverrides)[] = [
    'indirect_jump', 'int3_after_indirect_jump', 'return_kind', 'sls', 'bmi2', 'imm8_jmp_max', 'mov_imm64_simm32', 'call_depth',
  ];
  for (const k of keys) if (o[k] !== undefined) (ov as Obj)[k] = o[k];
  for (const k of Object.keys(o)) {
    if (k !== 'profile' && !(keys as string[]).includes(k)) throw new FixtureError(`${fx.file}: jit_config.${k}: unknown setting`);
  }
  return ov;
}

function layoutOf(fx: Fixture, sites: Obj[]): KernelLayout | undefined {
  const so = obj(fx.raw.struct_offsets) ?? sites.find((s) => s.offsetof_bpf_array_ptrs !== undefined);
  if (!so) return undefined;
  const get = (k: string): number => {
    const v = so[k] ?? so[k.replace('offsetof_', '')];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new FixtureError(`${fx.file}: ${k}: expected an integer`);
    return v;
  };
  return {
    bpf_array_max_entries: get('offsetof_bpf_array_max_entries'),
    bpf_array_ptrs: get('offsetof_bpf_array_ptrs'),
    bpf_prog_bpf_func: get('offsetof_bpf_prog_bpf_func'),
  };
}
