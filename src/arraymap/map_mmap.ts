/**
 * Memory-mapped BPF array maps (BPF_F_MMAPABLE) against BPF_MAP_FREEZE:
 * what kernel/bpf/syscall.c does in each version that changed it, and a
 * user-space thread's syscalls as an xstate machine (models/mmap-freeze.ts
 * runs N of them against one map).
 *
 * The versions (each one adds to the one before; hashes checked against the
 * commits and their stable backports, docs/models.md#mmap-freeze):
 * - fc9702273e2e "bpf: Add mmap() support for BPF_MAP_TYPE_ARRAY" (v5.5):
 *   bpf_map_mmap and map_freeze both take map->freeze_mutex; a mapping with
 *   VM_WRITE is counted in map->writecnt by bpf_map_mmap and by the
 *   vm_ops open/close callbacks (each under the mutex); a read-only mapping
 *   keeps VM_MAYWRITE. map_freeze fails with -EBUSY while writecnt != 0 or
 *   when already frozen. BPF_MAP_UPDATE_ELEM checks map_get_sys_perms
 *   (no FMODE_CAN_WRITE once frozen) and is not counted.
 * - 1f6cb19be2e2 "bpf: Prevent re-mmap()'ing BPF map as writable for
 *   initially r/o mapping" (v5.7; in 5.6.y): a read-only mapping loses
 *   VM_MAYWRITE, so mprotect cannot make it writable, and mmap/open/close
 *   count VM_MAYWRITE instead of VM_WRITE (Jann Horn's review: mprotect can
 *   flip VM_WRITE off, and close then never decrements).
 * - dfeb376dd4cb "bpf: Prevent mmap()'ing read-only maps as writable"
 *   (v5.7): a writable mmap of a BPF_F_RDONLY_PROG map fails with -EACCES.
 * - 353050be4c19 "bpf: Fix toctou on read-only map's constant scalar
 *   tracking" (v5.16, CVE-2021-4001): writecnt becomes an atomic64 changed
 *   by bpf_map_write_active_inc/dec without the mutex; every syscall-side
 *   update/delete counts itself from before its permission check to its end,
 *   so map_freeze fails with -EBUSY while one runs, and the verifier's
 *   bpf_map_is_rdonly requires frozen && writecnt == 0.
 * - bc27c52eea18 "bpf: avoid holding freeze_mutex during mmap operation"
 *   with 98671a0fd1f1 "bpf: unify VM_WRITE vs VM_MAYWRITE use in BPF map
 *   mmaping logic" (v6.14): bpf_map_mmap holds the mutex only for its checks
 *   and counts a writable mapping there, before the mapping exists; if
 *   map->ops->map_mmap then fails it takes the count back. open/close still
 *   count VM_MAYWRITE.
 */
import { assign, setup, type AnyStateMachine, type EventObject } from 'xstate';

export type MmapFreezeProtocol = 'fc9702273e2e' | '1f6cb19be2e2' | 'dfeb376dd4cb' | '353050be4c19' | 'bc27c52eea18';

export interface MmapFreezeSpec {
  summary: string;
  /** Which vm_flags bit bpf_map_mmap_open/close (and bpf_map_mmap) count in writecnt. */
  counts: 'VM_WRITE' | 'VM_MAYWRITE';
  /** bpf_map_mmap clears VM_MAYWRITE on a mapping without VM_WRITE. */
  clearsMaywrite: boolean;
  /** bpf_map_mmap refuses a writable mapping of a BPF_F_RDONLY_PROG map (-EACCES). */
  rdonlyProgEacces: boolean;
  /** writecnt is the atomic bpf_map_write_active count: syscall writes count themselves, open/close need no mutex, bpf_map_is_rdonly needs writecnt == 0. */
  writeActive: boolean;
  /** bpf_map_mmap counts a writable mapping under the mutex before map->ops->map_mmap and drops the mutex for it. */
  countBeforeMmap: boolean;
}

export const MMAP_FREEZE_PROTOCOLS: Record<MmapFreezeProtocol, MmapFreezeSpec> = {
  fc9702273e2e: {
    summary: 'v5.5, "bpf: Add mmap() support for BPF_MAP_TYPE_ARRAY": writecnt counts VM_WRITE mappings under freeze_mutex; a read-only mapping keeps VM_MAYWRITE',
    counts: 'VM_WRITE',
    clearsMaywrite: false,
    rdonlyProgEacces: false,
    writeActive: false,
    countBeforeMmap: false,
  },
  '1f6cb19be2e2': {
    summary: 'v5.7, "bpf: Prevent re-mmap()\'ing BPF map as writable for initially r/o mapping": read-only mappings lose VM_MAYWRITE; writecnt counts VM_MAYWRITE',
    counts: 'VM_MAYWRITE',
    clearsMaywrite: true,
    rdonlyProgEacces: false,
    writeActive: false,
    countBeforeMmap: false,
  },
  dfeb376dd4cb: {
    summary: 'v5.7, "bpf: Prevent mmap()\'ing read-only maps as writable": and a writable mmap of a BPF_F_RDONLY_PROG map is -EACCES',
    counts: 'VM_MAYWRITE',
    clearsMaywrite: true,
    rdonlyProgEacces: true,
    writeActive: false,
    countBeforeMmap: false,
  },
  '353050be4c19': {
    summary: 'v5.16, "bpf: Fix toctou on read-only map\'s constant scalar tracking": syscall writes count in an atomic writecnt (bpf_map_write_active); bpf_map_is_rdonly needs writecnt == 0',
    counts: 'VM_MAYWRITE',
    clearsMaywrite: true,
    rdonlyProgEacces: true,
    writeActive: true,
    countBeforeMmap: false,
  },
  bc27c52eea18: {
    summary: 'v6.14, "bpf: avoid holding freeze_mutex during mmap operation" (+98671a0fd1f1): a writable mmap is counted under the mutex before map_mmap, and uncounted if map_mmap fails',
    counts: 'VM_MAYWRITE',
    clearsMaywrite: true,
    rdonlyProgEacces: true,
    writeActive: true,
    countBeforeMmap: true,
  },
};

/** mmap's prot: PROT_READ or PROT_READ|PROT_WRITE (always MAP_SHARED: bpf_map_mmap refuses anything else). */
export const PROT_NAMES = ['PROT_READ', 'PROT_READ|PROT_WRITE'] as const;

/**
 * The thread's events. From `idle` a thread starts one syscall: FREEZE, MMAP(w), UPDATE, or one of
 * the one-step calls on mapping `vma` (MPROTECT(vma, w), MUNMAP(vma), FORK(vma): each runs under the
 * mm's mmap_lock, so it is one step). The others are a syscall's steps and their outcomes.
 */
export function mmapThreadEvents(vmas: number): EventObject[] {
  const evs: EventObject[] = [{ type: 'FREEZE' }, { type: 'MMAP', w: 0 } as EventObject, { type: 'MMAP', w: 1 } as EventObject, { type: 'UPDATE' }];
  for (let v = 0; v < vmas; v++) {
    evs.push({ type: 'MPROTECT', vma: v, w: 0 } as EventObject, { type: 'MPROTECT', vma: v, w: 1 } as EventObject, { type: 'MUNMAP', vma: v } as EventObject, { type: 'FORK', vma: v } as EventObject);
  }
  evs.push(
    { type: 'LOCK' },
    { type: 'INC' },
    { type: 'RET', err: 0 } as EventObject,
    { type: 'RET', err: -1 } as EventObject, // -EPERM
    { type: 'RET', err: -13 } as EventObject, // -EACCES
    { type: 'RET', err: -16 } as EventObject, // -EBUSY
    { type: 'RET', err: -22 } as EventObject, // -EINVAL (map->ops->map_mmap failed)
    { type: 'PASS' },
  );
  return evs;
}

type Ctx = { w: number };
type Ev = { type: string; w?: number; vma?: number; err?: number };

/**
 * One user-space thread, as the syscalls of `spec` run it. States tagged `mutex` hold
 * map->freeze_mutex; `in_syscall` are inside a syscall (a thread that is not is between calls);
 * `write_pending` is an update past its permission check that has not yet written and returned;
 * meta `op` names the kernel step each state's move takes (the model performs it).
 */
export function mmapThreadMachine(spec: MmapFreezeSpec): AnyStateMachine {
  /** Every return ends the syscall: back to `idle`, forgetting mmap's prot. */
  const toIdle = { target: 'idle', actions: 'forgetProt' } as const;
  const update: Record<string, unknown> = spec.writeActive
    ? {
        update_inc: { tags: ['in_syscall'], meta: { op: 'update_inc', doc: 'map_update_elem: bpf_map_write_active_inc(map)' }, on: { INC: 'update_check' } },
        update_check: {
          tags: ['in_syscall', 'write_counted'],
          meta: { op: 'update_check', doc: 'map_update_elem: map_get_sys_perms(map, f) & FMODE_CAN_WRITE?' },
          on: { PASS: 'update_write', RET: toIdle },
        },
        update_write: {
          tags: ['in_syscall', 'write_counted', 'write_pending'],
          meta: { op: 'update_write', doc: 'map_update_elem: copies the value from user space, map->ops->map_update_elem(); bpf_map_write_active_dec(map); returns 0' },
          on: { RET: toIdle },
        },
      }
    : {
        update_check: {
          tags: ['in_syscall'],
          meta: { op: 'update_check', doc: 'map_update_elem: map_get_sys_perms(map, f) & FMODE_CAN_WRITE?' },
          on: { PASS: 'update_write', RET: toIdle },
        },
        update_write: {
          tags: ['in_syscall', 'write_pending'],
          meta: { op: 'update_write', doc: 'map_update_elem: copies the value from user space, map->ops->map_update_elem(); returns 0' },
          on: { RET: toIdle },
        },
      };
  const mmap: Record<string, unknown> = spec.countBeforeMmap
    ? {
        mmap_check: {
          tags: ['in_syscall', 'mutex'],
          meta: { op: 'mmap_check', doc: 'bpf_map_mmap: checks frozen (and BPF_F_RDONLY_PROG) for VM_WRITE; bpf_map_write_active_inc if VM_WRITE; mutex_unlock' },
          on: { PASS: 'mmap_map', RET: toIdle },
        },
        mmap_map: {
          tags: ['in_syscall'],
          meta: { op: 'mmap_map', doc: 'bpf_map_mmap: vm_ops, clears VM_MAYWRITE unless VM_WRITE; map->ops->map_mmap() (on failure bpf_map_write_active_dec if VM_WRITE)' },
          on: { RET: toIdle },
        },
      }
    : {
        mmap_check: {
          tags: ['in_syscall', 'mutex'],
          meta: {
            op: 'mmap_body',
            doc: 'bpf_map_mmap under freeze_mutex: checks frozen for VM_WRITE; sets vm_ops and flags; map->ops->map_mmap(); counts the mapping in writecnt; mutex_unlock',
          },
          on: { RET: toIdle },
        },
      };
  return setup({ types: { context: {} as Ctx, events: {} as Ev }, actions: { forgetProt: assign({ w: 0 }) } }).createMachine({
    id: 'thread',
    initial: 'idle',
    context: { w: 0 },
    states: {
      idle: {
        meta: { doc: 'between syscalls' },
        on: {
          FREEZE: 'freeze_lock',
          MMAP: { target: 'mmap_lock', actions: assign({ w: ({ event }) => event.w ?? 0 }) },
          UPDATE: spec.writeActive ? 'update_inc' : 'update_check',
          MPROTECT: 'idle',
          MUNMAP: 'idle',
          FORK: 'idle',
        },
      },
      freeze_lock: { tags: ['in_syscall'], meta: { op: 'lock', doc: 'map_freeze: mutex_lock(&map->freeze_mutex)' }, on: { LOCK: 'freeze_check' } },
      freeze_check: {
        tags: ['in_syscall', 'mutex'],
        meta: { op: 'freeze_check', doc: 'map_freeze: writecnt != 0 or frozen -> -EBUSY' },
        on: { PASS: 'freeze_set', RET: toIdle },
      },
      freeze_set: { tags: ['in_syscall', 'mutex'], meta: { op: 'freeze_set', doc: 'map_freeze: WRITE_ONCE(map->frozen, true); mutex_unlock; returns 0' }, on: { RET: toIdle } },
      mmap_lock: { tags: ['in_syscall'], meta: { op: 'lock', doc: 'bpf_map_mmap: mutex_lock(&map->freeze_mutex)' }, on: { LOCK: { target: 'mmap_check' } } },
      ...(mmap as {}),
      ...(update as {}),
    },
  }) as unknown as AnyStateMachine;
}
