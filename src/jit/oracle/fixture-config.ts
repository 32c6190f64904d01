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
import { arch_init_ideal_nops } from '../x86/ideal_nops.js';
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
  else if (v === 5010) return profile5_10(fx, kv as string);
  else if (v >= 5017 && v < 6012) name = ibt ? '6.1-ibt' : '6.1';
  else if (v >= 6012) name = ibt ? '6.12-ibt' : '6.12';
  else throw new FixtureError(`${fx.file}: kernel_version ${String(kv)} has no profile (5.5-5.9, 5.10, 5.10.133+, 5.17-6.11, 6.12+)`);
  return [name, 'kernel_version'];
}

/**
 * The first 5.10.y sublevel profile `5.10.y` describes: the July 2022 retbleed backport
 * (the 5.10.133 review series, [PATCH 5.10 066/148] of 2022-07-23, took the JIT's
 * `emit_indirect_jump` and return thunks). The rounded counter offset (ff672c67ee76) came
 * to 5.10.y a month earlier, so every sublevel from this one has both.
 */
export const V5_10_Y_FIRST = 133;

/**
 * 5.10: v5.10 as released (`5.10`) or a late stable 5.10.y (`5.10.y`), by the stable
 * sublevel: from `kernel_debian_package_version` (Debian's kernel_version, 5.10.0-N-amd64,
 * names the ABI, not the sublevel), the `Debian 5.10.N-M` of `kernel_build`, or a
 * kernel_version that is itself 5.10.N.
 */
function profile5_10(fx: Fixture, kv: string): [ProfileName, string] {
  const pkg = fx.raw.kernel_debian_package_version;
  const build = fx.raw.kernel_build;
  let sub: number | undefined;
  let src = '';
  const m1 = typeof pkg === 'string' ? /^5\.10\.(\d+)/.exec(pkg) : null;
  const m2 = typeof build === 'string' ? /Debian 5\.10\.(\d+)/.exec(build) : null;
  const m3 = /^5\.10\.(\d+)$/.exec(kv) ?? /^5\.10\.([1-9]\d*)\b/.exec(kv);
  if (m1) [sub, src] = [Number(m1[1]), `kernel_debian_package_version ${String(pkg)}`];
  else if (m2) [sub, src] = [Number(m2[1]), 'kernel_build'];
  else if (m3) [sub, src] = [Number(m3[1]), 'kernel_version'];
  if (sub === undefined) {
    throw new FixtureError(`${fx.file}: kernel_version ${kv}: cannot tell the 5.10 stable sublevel (no kernel_debian_package_version, no 'Debian 5.10.N' in kernel_build)`);
  }
  if (sub === 0) return ['5.10', `${src}: v5.10 as released`];
  if (sub >= V5_10_Y_FIRST) return ['5.10.y', `${src}: 5.10.${sub} >= 5.10.${V5_10_Y_FIRST}, with the 2022 backports`];
  throw new FixtureError(
    `${fx.file}: kernel 5.10.${sub} has no profile: between v5.10 and 5.10.${V5_10_Y_FIRST} the stable backports (rounded counter offset, June 2022; retbleed, July 2022) arrived one by one`,
  );
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
  decideNops(fx, profile, ov, notes);
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

/** Profiles of kernels before v5.15, whose nop5 is `ideal_nops[NOP_ATOMIC5]` (src/jit/x86/ideal_nops.ts). */
const IDEAL_NOPS_PROFILES: readonly ProfileName[] = ['5.5', '5.10', '5.10.y'];

/** The nop5 of a pre-5.15 kernel, from guest_cpu's vendor, family and model (never from the image). */
function decideNops(fx: Fixture, profile: ProfileName, ov: JitConfigOverrides, notes: string[]): void {
  if (!IDEAL_NOPS_PROFILES.includes(profile)) return;
  const g = obj(fx.raw.guest_cpu);
  if (!g) {
    notes.push('nop5=p6 (no guest_cpu: the profile default; kernels before v5.15 chose it per CPU)');
    return;
  }
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
  const r = arch_init_ideal_nops({
    ...(typeof g.vendor === 'string' ? { vendor: g.vendor } : {}),
    ...(num(g.family) !== undefined ? { family: num(g.family) } : {}),
    ...(num(g.model_number) !== undefined ? { model_number: num(g.model_number) } : {}),
    ...(typeof g.model === 'string' ? { model_name: g.model } : {}),
  });
  if (typeof r === 'string') throw new FixtureError(`${fx.file}: guest_cpu: cannot tell the kernel's ideal nop5 (arch_init_ideal_nops): ${r}`);
  ov.nop5 = r.nop5;
  notes.push(`nop5=${r.nop5} (guest_cpu; arch_init_ideal_nops: ${r.reason})`);
}

function explicitOverrides(fx: Fixture, o: Obj): JitConfigOverrides {
  const ov: JitConfigOverrides = {};
  const keys: (keyof JitConfigOverrides)[] = [
    'indirect_jump', 'int3_after_indirect_jump', 'return_kind', 'nop5', 'sls', 'bmi2', 'imm8_jmp_max', 'mov_imm64_simm32', 'call_depth',
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
