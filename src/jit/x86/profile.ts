/**
 * Kernel profiles: which x86-64 tail-call layout the JIT emits
 * (docs/kernel-facts.md §0.2, §1.1, §1.2).
 *
 * - `5.5`     layout v5.5 (v5.5–v5.9): fixed 25-byte prologue, one poke site, MAX_TAIL_CALL_CNT 32 (`ja`).
 * - `5.10`    layout v5.10-6.11 as v5.10 was released: MAX_TAIL_CALL_CNT 32 (`cmp eax, 0x20; ja`) until
 *             ebf7f6f0a6cd (v5.17); a BPF-to-BPF call loads the counter slot at `rbp - (S + 8)`, not
 *             rounded, until ff672c67ee76 (v5.19; 5.10.y took it in June 2022); no SLS `int3`s
 *             (CONFIG_SLS is e463a09af2f0, v5.17; 5.10.y took it in July 2022); the indirect tail call ends in the inline `RETPOLINE_RCX_BPF_JIT`
 *             (or `jmp *%rcx`). Checked against those sources for what tailcall-hierarchy emits
 *             (prologue, BPF-to-BPF call, direct tail call, exit); no v5.10 image has been captured.
 * - `5.10.y`  layout v5.10-6.11 as late 5.10.y stable kernels emit it (5.10.133 on; Debian 11's 5.10.262
 *             captured): MAX 32 with `ja` still, but the counter offset rounded (ff672c67ee76's backport,
 *             June 2022) and the indirect tail call through `emit_indirect_jump` (the July 2022 retbleed
 *             backport: `__x86_indirect_thunk_rcx`, return thunks). No SLS `int3`: the backport made it
 *             CONFIG_SLS's choice, and Debian 11 builds without it (see docs/jit.md).
 * - `6.1`     layout v5.10-6.11 (as of v5.17): counter in the `push rax` slot, 33 (`jae`), offset 11.
 * - `6.1-ibt` the same with ENDBR at the entry and at the tail-call landing: offset 15.
 * - `6.12`    layout v6.12+: `tail_call_cnt_ptr`, offset 12.
 * - `6.12-ibt` v6.12+ with ENDBR: offset 16.
 */

export type ProfileName = '5.5' | '5.10' | '5.10.y' | '6.1' | '6.1-ibt' | '6.12' | '6.12-ibt';
export const PROFILE_NAMES: readonly ProfileName[] = ['5.5', '5.10', '5.10.y', '6.1', '6.1-ibt', '6.12', '6.12-ibt'];
export const DEFAULT_PROFILE: ProfileName = '6.1';

/**
 * The three x86-64 tail-call layouts, named for the kernels that emit them:
 * - `v5.5`: fixed 25-byte prologue, the counter at rbp-548, one poke site
 *   (428d5df1fa4f; v5.5-v5.9);
 * - `v5.10-6.11`: variable prologue, the counter in the `push rax` slot,
 *   two poke sites (ebf7d1f508a7, e411901c0b77);
 * - `v6.12+`: the counter behind `tail_call_cnt_ptr` (116e04ba1459).
 */
export type X86TailCallLayout = 'v5.5' | 'v5.10-6.11' | 'v6.12+';

export interface Profile {
  name: ProfileName;
  layout: X86TailCallLayout;
  ibt: boolean;
  /** X86_TAIL_CALL_OFFSET: from bpf_func to where a tail call lands */
  tail_call_offset: number;
  max_tail_call_cnt: number;
  /**
   * A BPF-to-BPF call of a tail-calling function loads the counter slot from
   * `rbp - round_up(S, 8) - 8` (ff672c67ee76, v5.19), not from `rbp - (S + 8)`
   * (v5.10 to v5.18: a byte of the BPF stack when S is not a multiple of 8).
   */
  call_tcc_off_rounded: boolean;
  /** CONFIG_SLS exists (e463a09af2f0, v5.17): by default `int3` follows `ret` and `jmp *%rcx`. */
  sls: boolean;
  /**
   * The indirect tail call jumps through the inline `RETPOLINE_<reg>_BPF_JIT()`
   * sequence (v5.5: rax, v5.10: rcx) rather than `emit_indirect_jump`.
   */
  inline_retpoline: boolean;
  /**
   * BPF_MUL goes through `mul r11` with rax/rdx saved around it (v5.10 and 5.10.y, as
   * Debian's 5.10.262 emits), not `imul` (the 6.1 and 6.12 captures). Which release
   * changed it is not pinned here (between v5.10 and v6.1).
   */
  mul_via_rax: boolean;
}

const PROFILES: Record<ProfileName, Profile> = {
  '5.5': { name: '5.5', layout: 'v5.5', ibt: false, tail_call_offset: 25, max_tail_call_cnt: 32, call_tcc_off_rounded: true, sls: false, inline_retpoline: true, mul_via_rax: true },
  '5.10': { name: '5.10', layout: 'v5.10-6.11', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 32, call_tcc_off_rounded: false, sls: false, inline_retpoline: true, mul_via_rax: true },
  '5.10.y': { name: '5.10.y', layout: 'v5.10-6.11', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 32, call_tcc_off_rounded: true, sls: false, inline_retpoline: false, mul_via_rax: true },
  '6.1': { name: '6.1', layout: 'v5.10-6.11', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 33, call_tcc_off_rounded: true, sls: true, inline_retpoline: false, mul_via_rax: false },
  '6.1-ibt': { name: '6.1-ibt', layout: 'v5.10-6.11', ibt: true, tail_call_offset: 15, max_tail_call_cnt: 33, call_tcc_off_rounded: true, sls: true, inline_retpoline: false, mul_via_rax: false },
  '6.12': { name: '6.12', layout: 'v6.12+', ibt: false, tail_call_offset: 12, max_tail_call_cnt: 33, call_tcc_off_rounded: true, sls: true, inline_retpoline: false, mul_via_rax: false },
  '6.12-ibt': { name: '6.12-ibt', layout: 'v6.12+', ibt: true, tail_call_offset: 16, max_tail_call_cnt: 33, call_tcc_off_rounded: true, sls: true, inline_retpoline: false, mul_via_rax: false },
};

/** The profile of that name; an unknown name throws a one-line error listing the known ones. */
export function getProfile(name: string = DEFAULT_PROFILE): Profile {
  const p = (PROFILES as Record<string, Profile | undefined>)[name];
  if (p === undefined) throw new RangeError(`unknown kernel profile '${name}' (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}

/**
 * How many tail calls one chain may make: MAX_TAIL_CALL_CNT + 1 with the `ja` test of
 * MAX 32 (v5.5 to v5.16: `if (tcc > 32) goto out; tcc++`), MAX_TAIL_CALL_CNT with the
 * `jae` test of MAX 33 (ebf7f6f0a6cd, v5.17). 33 either way: that commit's message
 * says it "does not change the current limit 33".
 */
export function tail_call_limit(p: Profile): number {
  return p.max_tail_call_cnt === 32 ? p.max_tail_call_cnt + 1 : p.max_tail_call_cnt;
}

/** X86_TAIL_CALL_OFFSET of a profile (11 for '6.1'). */
export function X86_TAIL_CALL_OFFSET(profile: string = DEFAULT_PROFILE): number {
  return getProfile(profile).tail_call_offset;
}
