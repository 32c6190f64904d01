/**
 * Kernel profiles: which x86-64 tail-call layout the JIT emits
 * (docs/kernel-facts.md §0.2, §1.1, §1.2).
 *
 * - `5.5`     layout v5.5 (v5.5–v5.9): fixed 25-byte prologue, one poke site, MAX_TAIL_CALL_CNT 32 (`ja`).
 * - `6.1`     layout v5.10-6.11 (as of v5.17): counter in the `push rax` slot, 33 (`jae`), offset 11.
 * - `6.1-ibt` the same with ENDBR at the entry and at the tail-call landing: offset 15.
 * - `6.12`    layout v6.12+: `tail_call_cnt_ptr`, offset 12.
 * - `6.12-ibt` v6.12+ with ENDBR: offset 16.
 */

export type ProfileName = '5.5' | '6.1' | '6.1-ibt' | '6.12' | '6.12-ibt';
export const PROFILE_NAMES: readonly ProfileName[] = ['5.5', '6.1', '6.1-ibt', '6.12', '6.12-ibt'];
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
}

const PROFILES: Record<ProfileName, Profile> = {
  '5.5': { name: '5.5', layout: 'v5.5', ibt: false, tail_call_offset: 25, max_tail_call_cnt: 32 },
  '6.1': { name: '6.1', layout: 'v5.10-6.11', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 33 },
  '6.1-ibt': { name: '6.1-ibt', layout: 'v5.10-6.11', ibt: true, tail_call_offset: 15, max_tail_call_cnt: 33 },
  '6.12': { name: '6.12', layout: 'v6.12+', ibt: false, tail_call_offset: 12, max_tail_call_cnt: 33 },
  '6.12-ibt': { name: '6.12-ibt', layout: 'v6.12+', ibt: true, tail_call_offset: 16, max_tail_call_cnt: 33 },
};

/** The profile of that name; an unknown name throws a one-line error listing the known ones. */
export function getProfile(name: string = DEFAULT_PROFILE): Profile {
  const p = (PROFILES as Record<string, Profile | undefined>)[name];
  if (p === undefined) throw new RangeError(`unknown kernel profile '${name}' (known: ${PROFILE_NAMES.join(', ')})`);
  return p;
}

/** X86_TAIL_CALL_OFFSET of a profile (11 for '6.1'). */
export function X86_TAIL_CALL_OFFSET(profile: string = DEFAULT_PROFILE): number {
  return getProfile(profile).tail_call_offset;
}
