/**
 * The JIT configuration and kernel addresses a fixture implies, with a note
 * saying where each came from. Sources, best first:
 *   1. an explicit `jit_config` / `kernel_symbols` / `struct_offsets` object;
 *   2. the capture tool's `capture.mitigations` (forms and kallsyms addresses);
 *   3. the oracle's per-site metadata (`tail_call_sites[].indirect_jump`,
 *      `offsetof_*`) and `guest_cpu` mitigation strings;
 *   4. the profile's defaults (docs/jit.md).
 * Values no source gives (map addresses always; helper base, thunks when
 * missing) are recovered from the image later (rejit.ts) and reported.
 */
import { type JitConfigOverrides, type KernelLayout, type KernelSymbols, defaultJitConfig } from '../x86/config.js';
import type { JitEnv } from '../x86/env.js';
import { type Fixture, FixtureError } from './fixture.js';
import { type ProfileName, PROFILE_NAMES } from '../x86/profile.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const addr = (v: unknown): bigint | undefined => (typeof v === 'string' && /^0x[0-9a-f]{1,16}$/i.test(v) ? BigInt(v) : undefined);

export interface FixtureConfig {
  env: JitEnv;
  /** one entry per derived item: `indirect=retpoline (capture.mitigations)` */
  notes: string[];
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

const INDIRECT_FORMS: Record<string, JitConfigOverrides> = {
  'jmp rel32 to thunk': { indirect_jump: 'retpoline' },
  'jmp *%rcx; int3': { indirect_jump: 'plain', int3_after_indirect_jump: true },
  'jmp *%rcx': { indirect_jump: 'plain', int3_after_indirect_jump: false },
  'lfence; jmp *%rcx': { indirect_jump: 'retpoline-lfence' },
};
const RETURN_FORMS: Record<string, JitConfigOverrides> = {
  'ret; int3': { return_kind: 'ret', sls: true },
  ret: { return_kind: 'ret', sls: false },
  'jmp rel32 to return thunk': { return_kind: 'thunk' },
};

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
  const kallsyms = { ...(obj(mit?.thunk_symbols) ?? {}), ...(obj(raw.kernel_symbols) ?? {}) };

  // indirect jumps
  const indObj = obj(mit?.indirect_jump) ?? sites.map((s) => obj(s.indirect_jump)).find((x) => x !== undefined);
  const form = indObj?.form;
  if (typeof form === 'string') {
    const o = INDIRECT_FORMS[form];
    if (!o) throw new FixtureError(`${fx.file}: indirect_jump.form: unknown form '${form}'`);
    Object.assign(ov, o);
    notes.push(`indirect=${form} (${mit?.indirect_jump ? 'capture.mitigations' : 'tail_call_sites'})`);
    syms.indirect_thunk = addr(indObj?.target) ?? addr(kallsyms.__x86_indirect_thunk_rcx);
  } else {
    const sv = obj(raw.guest_cpu)?.spectre_v2;
    if (typeof sv === 'string' && /Retpoline/i.test(sv)) {
      ov.indirect_jump = 'retpoline';
      notes.push('indirect=retpoline (guest_cpu.spectre_v2)');
    } else if (typeof sv === 'string') {
      ov.indirect_jump = 'plain';
      notes.push('indirect=plain (guest_cpu.spectre_v2)');
    }
    syms.indirect_thunk = addr(kallsyms.__x86_indirect_thunk_rcx);
  }

  // returns
  const retObj = obj(mit?.return);
  if (typeof retObj?.form === 'string') {
    const o = RETURN_FORMS[retObj.form];
    if (!o) throw new FixtureError(`${fx.file}: capture.mitigations.return.form: unknown form '${retObj.form}'`);
    Object.assign(ov, o);
    notes.push(`return=${retObj.form} (capture.mitigations)`);
    if (o.return_kind === 'thunk') {
      const name = retObj.target_symbol;
      syms.return_thunk = (typeof name === 'string' ? addr(kallsyms[name]) : undefined) ?? addr(retObj.target);
    }
  } else {
    const rb = `${String(obj(raw.guest_cpu)?.retbleed ?? '')} ${String(obj(raw.guest_cpu)?.spec_rstack_overflow ?? '')}`;
    if (/untrained return thunk|Safe RET|IBPB on VMEXIT only/i.test(rb)) {
      ov.return_kind = 'thunk';
      notes.push('return=thunk (guest_cpu.retbleed/spec_rstack_overflow)');
    }
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
  return { env: { cfg, syms, values: new Map(), layout: layoutOf(fx, sites) }, notes };
}

function explicitOverrides(fx: Fixture, o: Obj): JitConfigOverrides {
  const ov: JitConfigOverrides = {};
  const keys: (keyof JitConfigOverrides)[] = [
    'indirect_jump', 'int3_after_indirect_jump', 'return_kind', 'sls', 'bmi2', 'imm8_jmp_max', 'mov_imm64_simm32',
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
