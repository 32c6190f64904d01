/**
 * The prog array's owner and `__bpf_prog_map_compatible()` (kernel/bpf/core.c),
 * reduced to what decides whether sleepable and non-sleepable programs may
 * share one prog array.
 *
 * The first program checked against a map (the caller at load, through
 * `bpf_check_tail_call`, or the first program inserted, through
 * `prog_fd_array_get_ptr`) creates `map->owner` from its own attributes;
 * every later program must match it, or the load / `bpf_map_update_elem`
 * fails with -EINVAL.
 *
 * - `allowlist-only`: the owner has no `sleepable` field. This is a kernel
 *   with only the verifier half of 0f0c332992b8 (BPF_MAP_TYPE_PROG_ARRAY on
 *   the sleepable allowlist), as in Jiri Olsa's first test patch: a
 *   sleepable and a non-sleepable program may share a prog array.
 * - `0f0c332992b8` ("bpf: Allow sleepable programs to use tail calls",
 *   merge b18a761ca0f6, 2026-01-30): `bpf_map_owner` gains `sleepable`,
 *   recorded from `fp->sleepable` and compared like `type` and `jited`.
 *
 * Program type, `jited`, `xdp_has_frags`, the expected attach type and the
 * cgroup storage cookies are equal for every program here (one program type,
 * all JIT-compiled) and are left out.
 */
import { EINVAL } from '../poke/errno.js';

export type OwnerCheck = 'allowlist-only' | '0f0c332992b8';

export interface BpfMapOwner {
  sleepable: boolean;
}

export interface BpfMapWithOwner {
  owner: BpfMapOwner | null;
}

/** `__bpf_prog_map_compatible(map, fp)`: creates the owner on first use, else compares. */
export function __bpf_prog_map_compatible(map: BpfMapWithOwner, fp: { sleepable: boolean }, check: OwnerCheck): boolean {
  if (!map.owner) {
    map.owner = { sleepable: fp.sleepable };
    return true;
  }
  return check === 'allowlist-only' || map.owner.sleepable === fp.sleepable;
}

/** What `prog_fd_array_get_ptr` makes of an incompatible program: the update fails with -EINVAL. */
export function prog_fd_array_get_ptr_ret(map: BpfMapWithOwner, fp: { sleepable: boolean }, check: OwnerCheck): number {
  return __bpf_prog_map_compatible(map, fp, check) ? 0 : -EINVAL;
}
