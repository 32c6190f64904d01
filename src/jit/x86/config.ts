/**
 * What a JIT run depends on besides the program: the kernel profile, the
 * mitigation choices that change the bytes, and kernel addresses/offsets.
 * Defaults per profile and the reasons for them are in docs/jit.md.
 */
import { type Profile, getProfile } from './profile.js';
import { K8_NOP5_ATOMIC, NOP5 } from './x86.js';

/**
 * How `emit_indirect_jump` jumps through rcx (rax in 5.5):
 * - `retpoline`: `jmp rel32` to `__x86_indirect_thunk_rcx` (5.5: the inline
 *   17-byte `RETPOLINE_RAX_BPF_JIT` sequence instead)
 * - `retpoline-lfence`: `lfence; jmp *%rcx`
 * - `plain`: `jmp *%rcx`, plus `int3` when `int3_after_indirect_jump`
 * - `its-thunk`: `jmp rel32` to `__x86_indirect_its_thunk_rcx` (X86_FEATURE_INDIRECT_THUNK_ITS:
 *   the ITS mitigation on a CPU without retpolines, e.g. with eIBRS)
 */
export type IndirectJump = 'retpoline' | 'retpoline-lfence' | 'plain' | 'its-thunk';
/** `ret` (+ `int3` when `sls`) or `jmp rel32` to the return thunk (X86_FEATURE_RETHUNK). */
export type ReturnKind = 'ret' | 'thunk';
/** Which 5-byte atomic nop the JIT emits (Nop5Kind): see JitConfig.nop5. */
export type Nop5Kind = 'p6' | 'k8';

export interface JitConfig {
  profile: Profile;
  indirect_jump: IndirectJump;
  /**
   * `ideal_nops[NOP_ATOMIC5]`, the nop5 of the prologue and of the tail-call target site:
   * `p6` (`0f 1f 44 00 00`, the only one from v5.15) or `k8` (`66 66 66 66 90`, kernels
   * before v5.15 on the CPUs arch_init_ideal_nops() gives k8_nops: src/jit/x86/ideal_nops.ts)
   */
  nop5: Nop5Kind;
  /** `cc` after a plain `jmp *%rcx` (CONFIG_RETPOLINE || CONFIG_SLS; kernels from v6.2 on) */
  int3_after_indirect_jump: boolean;
  return_kind: ReturnKind;
  /** which thunk a `retpoline`/`its-thunk` indirect jump goes to, for the record */
  indirect_thunk_name?: string;
  /** which thunk `x86_return_thunk` is (`its_return_thunk`, …), for the record; the address is in KernelSymbols */
  return_thunk_name?: string;
  /** X86_FEATURE_CALL_DEPTH (retbleed=stuff, v6.2+): `sarq $5, %gs:call_depth` before each call */
  call_depth: boolean;
  /** CONFIG_SLS: `int3` after `ret` */
  sls: boolean;
  /** 6.2+: BPF_X shifts as shlx/shrx/sarx when the CPU has BMI2 */
  bmi2: boolean;
  /** largest positive rel8 a jump may use: 127, or 123 since "bpf, x64: Fix a jit convergence issue" */
  imm8_jmp_max: number;
  /** emit_mov_imm64 uses a sign-extended `mov r64, imm32` for values that fit s32 */
  mov_imm64_simm32: boolean;
}

export type JitConfigOverrides = Partial<Omit<JitConfig, 'profile'>>;

/** The configuration a profile implies unless told otherwise. */
export function defaultJitConfig(profileName: string, overrides: JitConfigOverrides = {}): JitConfig {
  const profile = getProfile(profileName);
  const modern = profile.layout === 'v6.12+';
  const base: JitConfig = {
    profile,
    indirect_jump: 'retpoline',
    int3_after_indirect_jump: profile.sls, // 6.1: the 6.1.y LTS has it (captured with mitigations=off)
    return_kind: 'ret',
    nop5: 'p6',
    call_depth: false,
    sls: profile.sls,
    bmi2: modern,
    imm8_jmp_max: modern ? 123 : 127,
    mov_imm64_simm32: modern,
  };
  const cfg = { ...base, ...overrides };
  if (!['retpoline', 'retpoline-lfence', 'plain', 'its-thunk'].includes(cfg.indirect_jump)) {
    throw new RangeError(`unknown indirect jump mitigation '${cfg.indirect_jump}' (retpoline, retpoline-lfence, plain, its-thunk)`);
  }
  if (cfg.return_kind !== 'ret' && cfg.return_kind !== 'thunk') {
    throw new RangeError(`unknown return kind '${cfg.return_kind}' (ret, thunk)`);
  }
  if (cfg.nop5 !== 'p6' && cfg.nop5 !== 'k8') throw new RangeError(`unknown nop5 '${String(cfg.nop5)}' (p6, k8)`);
  if (cfg.nop5 === 'k8' && !['5.5', '5.10', '5.10.y'].includes(profile.name)) throw new RangeError(`nop5 'k8' needs a kernel before v5.15 (profile ${profile.name} has no dynamic NOP selection)`);
  if (cfg.imm8_jmp_max !== 127 && cfg.imm8_jmp_max !== 123) throw new RangeError(`imm8_jmp_max must be 127 or 123`);
  return cfg;
}

/** `ideal_nops[NOP_ATOMIC5]` of a configuration. */
export function nop5Of(cfg: JitConfig): readonly number[] {
  return cfg.nop5 === 'k8' ? K8_NOP5_ATOMIC : NOP5;
}

/** One line recording the configuration, e.g. for verify output and fixture metadata. */
export function describeConfig(cfg: JitConfig): string {
  const ind =
    cfg.indirect_jump === 'plain' && cfg.int3_after_indirect_jump
      ? 'plain+int3'
      : cfg.indirect_thunk_name !== undefined && (cfg.indirect_jump === 'retpoline' || cfg.indirect_jump === 'its-thunk')
        ? `${cfg.indirect_jump}:${cfg.indirect_thunk_name}`
        : cfg.indirect_jump;
  const ret = cfg.return_kind === 'thunk' ? (cfg.return_thunk_name ?? 'return-thunk') : cfg.sls ? 'ret+int3' : 'ret';
  const extra = [cfg.nop5 === 'k8' ? 'nop5=k8' : '', cfg.call_depth ? 'call-depth' : '', cfg.bmi2 ? 'bmi2' : '', `jmp8<=${cfg.imm8_jmp_max}`, cfg.mov_imm64_simm32 ? 'imm64-simm32' : '']
    .filter((s) => s !== '')
    .join(' ');
  return `profile=${cfg.profile.name} indirect=${ind} return=${ret} ${extra}`;
}

/** Struct offsets the indirect tail call reads (config and version dependent). */
export interface KernelLayout {
  bpf_array_max_entries: number;
  bpf_array_ptrs: number;
  bpf_prog_bpf_func: number;
}

/** Kernel text addresses the JIT emits rel32 branches to. */
export interface KernelSymbols {
  /** `__x86_indirect_thunk_rcx` (`__x86_indirect_thunk_rax` for 5.5 is never used: it inlines) */
  indirect_thunk?: bigint;
  /** `__x86_indirect_its_thunk_rcx` (indirect jump `its-thunk`) */
  its_indirect_thunk?: bigint;
  /** per-cpu address of `pcpu_hot.call_depth` (call-depth accounting; `pcpu_hot` + 16 on v6.2-v6.14) */
  call_depth_percpu?: bigint;
  /** `x86_return_thunk` (or `srso_return_thunk`, `its_return_thunk`: whichever the kernel selected) */
  return_thunk?: bigint;
  /** `__bpf_call_base`: helper calls go to `__bpf_call_base + imm` */
  bpf_call_base?: bigint;
}
