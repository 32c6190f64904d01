/**
 * Kernel profiles: which x86-64 tail-call layout the JIT emits
 * (kernel-poke-facts.md §0.2, §1.1, §1.2).
 *
 * - `5.5`     E1, v5.5–v5.9: fixed 25-byte prologue, one poke site, MAX_TAIL_CALL_CNT 32 (`ja`).
 * - `6.1`     E2, v5.17–v6.11: counter in the `push rax` slot, 33 (`jae`), offset 11.
 * - `6.1-ibt` the same with ENDBR at the entry and at the tail-call landing: offset 15.
 * - `6.12`    E3, v6.12+: `tail_call_cnt_ptr`, offset 12.
 * - `6.12-ibt` E3 with ENDBR: offset 16.
 */

export type ProfileName = '5.5' | '6.1' | '6.1-ibt' | '6.12' | '6.12-ibt';
export const PROFILE_NAMES: readonly ProfileName[] = ['5.5', '6.1', '6.1-ibt', '6.12', '6.12-ibt'];
export const DEFAULT_PROFILE: ProfileName = '6.1';

export interface Profile {
  name: ProfileName;
  /** E1 = fixed prologue (v5.5), E2 = tcc in rax slot (v5.10–v6.11), E3 = tcc_ptr (v6.12+) */
  layout: 'E1' | 'E2' | 'E3';
  ibt: boolean;
  /** X86_TAIL_CALL_OFFSET: from bpf_func to where a tail call lands */
  tail_call_offset: number;
  max_tail_call_cnt: number;
}

const PROFILES: Record<ProfileName, Profile> = {
  '5.5': { name: '5.5', layout: 'E1', ibt: false, tail_call_offset: 25, max_tail_call_cnt: 32 },
  '6.1': { name: '6.1', layout: 'E2', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 33 },
  '6.1-ibt': { name: '6.1-ibt', layout: 'E2', ibt: true, tail_call_offset: 15, max_tail_call_cnt: 33 },
  '6.12': { name: '6.12', layout: 'E3', ibt: false, tail_call_offset: 12, max_tail_call_cnt: 33 },
  '6.12-ibt': { name: '6.12-ibt', layout: 'E3', ibt: true, tail_call_offset: 16, max_tail_call_cnt: 33 },
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
