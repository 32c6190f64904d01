/**
 * Model `mmap-freeze`: a memory-mappable BPF array map (BPF_F_MMAPABLE)
 * against BPF_MAP_FREEZE (issue 19, part 1). Versions and what each changed:
 * src/arraymap/map_mmap.ts; docs/models.md#mmap-freeze has the verdicts.
 *
 * Commits modelled (protocols, each adding to the one before):
 *   fc9702273e2e  v5.5   mmap() support for BPF_MAP_TYPE_ARRAY, writecnt under freeze_mutex
 *   1f6cb19be2e2  v5.7   read-only mappings lose VM_MAYWRITE; writecnt counts VM_MAYWRITE
 *   dfeb376dd4cb  v5.7   no writable mmap of a BPF_F_RDONLY_PROG map (-EACCES)
 *   353050be4c19  v5.16  syscall writes counted in an atomic writecnt (CVE-2021-4001)
 *   bc27c52eea18  v6.14  (+98671a0fd1f1) writecnt bumped before map_mmap, freeze_mutex dropped for it
 *
 * Actors:
 * - `thread` x N (`--cpus`): user-space threads. From between calls, a
 *   thread starts any syscall on the map while the budget of `--ops`
 *   syscalls (all threads together) lasts: BPF_MAP_FREEZE (lock; check
 *   writecnt and frozen; set frozen and return), mmap(MAP_SHARED) read-only
 *   or writable (lock; bpf_map_mmap's body; since bc27c52eea18 the body is
 *   two steps, the second outside the mutex and possibly failing),
 *   BPF_MAP_UPDATE_ELEM (since 353050be4c19 bpf_map_write_active_inc; the
 *   permission check; the write and return), and on a live mapping
 *   mprotect(PROT_READ) / mprotect(PROT_READ|PROT_WRITE), munmap (vm_ops
 *   close) and fork (the mapping duplicated, vm_ops open). The last four run
 *   with the mm's mmap_lock held for writing, so each is one step; close and
 *   open take freeze_mutex (before 353050be4c19) when they count.
 * - `prog` (with `--prog rw` only): a BPF program writing the map. Freeze
 *   only removes FMODE_CAN_WRITE from the syscall side (map_get_sys_perms);
 *   it does not restrict programs: only BPF_F_RDONLY_PROG does, at
 *   verification. The step records that a program wrote after the freeze
 *   returned; no property forbids it, because the kernel does not promise it.
 *
 * Shared state: map->frozen, map->writecnt, freeze_mutex (held by the
 * thread whose state is tagged `mutex`), and up to two mappings, each free,
 * being mapped, or live with its VM_WRITE / VM_MAYWRITE.
 *
 * Properties:
 * - F1: once BPF_MAP_FREEZE has returned 0, no mapping of the map has
 *   VM_WRITE (none exists, and mmap, mprotect and fork cannot make one).
 * - F2: once BPF_MAP_FREEZE has returned 0, no syscall write that reaches
 *   its permission check afterwards succeeds. (A write already past its
 *   check may still complete: 353050be4c19's message says that pending
 *   updates complete before the freeze's guarantee is given; R1 is what the
 *   verifier relies on.)
 * - W1: whenever no thread is inside a syscall (so freeze_mutex is free),
 *   writecnt equals the number of mappings that can write, now or after an
 *   mprotect: those with VM_MAYWRITE.
 * - W2: a freeze that fails with -EBUSY fails for a reason that holds when
 *   it decides: the map is frozen, a mapping has VM_MAYWRITE, or a syscall
 *   write or a writable mmap is in progress.
 * - R1 (`--prog rdonly`): whenever the verifier's bpf_map_is_rdonly() holds
 *   (BPF_F_RDONLY_PROG and frozen, and since 353050be4c19 writecnt == 0), no
 *   syscall write is past its permission check and no mapping has
 *   VM_MAYWRITE: the map's contents are the constants the verifier reads.
 *
 * Abstracted: map contents (only whether a write can happen); VMA splitting
 * (mprotect and munmap act on a whole mapping; Jann Horn's split scenario
 * drives writecnt negative the same way munmap after mprotect does); page
 * pins that outlive a mapping (dfeb376dd4cb's motivation) are not modelled,
 * so dfeb376dd4cb changes no verdict here; mprotect calls that change
 * nothing (same protection, or PROT_WRITE without VM_MAYWRITE, which fails
 * with -EACCES) are not taken; before bc27c52eea18 a failing
 * map->ops->map_mmap changes nothing the properties read, so only
 * bc27c52eea18's mmap may fail; the other map commands (delete, batch ops)
 * count and check as update does; memory is sequentially consistent.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import { checkableModel, defineLayout, type Property } from '../src/model/index.js';
import { actorPart, nextStepText, stateLine } from '../src/model/state-text.js';
import { MMAP_FREEZE_PROTOCOLS, PROT_NAMES, mmapThreadEvents, mmapThreadMachine, type MmapFreezeProtocol } from '../src/arraymap/map_mmap.js';
import type { EventObject } from 'xstate';

const M = 'mmap-freeze';
/** Mappings the model keeps (slots). */
export const MMAP_FREEZE_VMAS = 2;
export const MMAP_FREEZE_PROG_MODES = ['rdonly', 'rw'] as const;
export type ProgMode = (typeof MMAP_FREEZE_PROG_MODES)[number];

/** A mapping slot: free, being mapped by an mmap in progress, or live. */
const FREE = 0;
const RESERVED = 1;
const LIVE = 2;
/** writecnt is stored with this offset (it goes negative in fc9702273e2e). */
const WC_OFFSET = 8;

const ERRNO: Record<number, string> = { 0: '0', [-1]: '-EPERM', [-13]: '-EACCES', [-16]: '-EBUSY', [-22]: '-EINVAL' };

export const MMAP_FREEZE_PROPERTIES = [
  { id: 'F1', description: 'once BPF_MAP_FREEZE has returned 0, no mapping of the map has VM_WRITE (mmap, mprotect and fork cannot make one)' },
  { id: 'F2', description: 'once BPF_MAP_FREEZE has returned 0, no syscall write that reaches its permission check afterwards succeeds' },
  { id: 'W1', description: 'whenever no thread is inside a syscall, writecnt equals the number of mappings with VM_MAYWRITE' },
  { id: 'W2', description: 'BPF_MAP_FREEZE fails with -EBUSY only for a reason that holds: frozen, a mapping with VM_MAYWRITE, or a write or writable mmap in progress' },
  { id: 'R1', description: "whenever bpf_map_is_rdonly() holds, no syscall write is past its permission check and no mapping has VM_MAYWRITE" },
] as const;

function parseConfig(cfg: ModelConfig) {
  if (!(cfg.protocol in MMAP_FREEZE_PROTOCOLS)) throw new ModelConfigError(`${M}: unknown protocol '${cfg.protocol}' (protocols: ${Object.keys(MMAP_FREEZE_PROTOCOLS).join(', ')})`);
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 3) throw new ModelConfigError(`${M}: --cpus (the user threads) must be 1..3, got ${cfg.cpus}`);
  const opsText = cfg.options.ops ?? '5';
  const ops = Number(opsText);
  if (!/^[1-7]$/.test(opsText)) throw new ModelConfigError(`${M}: --ops (the syscalls all threads start together) must be 1..7, got '${opsText}'`);
  const prog = (cfg.options.prog ?? 'rdonly') as ProgMode;
  if (!MMAP_FREEZE_PROG_MODES.includes(prog)) throw new ModelConfigError(`${M}: --prog must be rdonly or rw, got '${cfg.options.prog}'`);
  const protocol = cfg.protocol as MmapFreezeProtocol;
  return { protocol, spec: MMAP_FREEZE_PROTOCOLS[protocol], ops, prog };
}

function mmapFreezeLayout(N: number) {
  return defineLayout({
    shared: { frozen: 1, frozenRet: 1, progWrote: 1, writecnt: 4, ops: 3, vmaState: [2, MMAP_FREEZE_VMAS], vmWrite: [1, MMAP_FREEZE_VMAS], vmMaywrite: [1, MMAP_FREEZE_VMAS] },
    cpus: { count: N, bits: 16, fields: { q: 6, vma: 2, late: 1, unfounded: 1 } },
  });
}

export function buildMmapFreeze(cfg: ModelConfig): CheckableModel {
  const { protocol, spec, ops: OPS, prog } = parseConfig(cfg);
  const N = cfg.cpus;
  const V = MMAP_FREEZE_VMAS;
  const rdonlyProg = prog === 'rdonly';

  // ---- the thread machine, compiled --------------------------------------------------------------
  const events = mmapThreadEvents(V);
  const th = compileMachine(mmapThreadMachine(spec), events);
  const L = mmapFreezeLayout(N);
  if (th.names.length > L.cpu.q.mask) throw new Error(`${M}: machine too large to pack`);
  const ev = (name: string): number => th.eventIndex(name);
  const op = th.meta.map((m) => String(m.op ?? ''));
  const isIdle = th.values.map((v) => v === 'idle');
  const holdsMutex = th.tags.map((t) => t.has('mutex'));
  const inSyscall = th.tags.map((t) => t.has('in_syscall'));
  const writePending = th.tags.map((t) => t.has('write_pending'));
  const wOf = th.contexts.map((c) => Number(c.w));
  /** A syscall write in progress (past bpf_map_write_active_inc, or past its check), or a writable mmap past its check. */
  const writerInFlight = th.tags.map((t, q) => t.has('write_counted') || t.has('write_pending') || (th.values[q] === 'mmap_map' && wOf[q] === 1));
  const evRet = (err: number): number => ev(`RET(err=${err})`);
  const EV = {
    FREEZE: ev('FREEZE'),
    MMAP: [ev('MMAP(w=0)'), ev('MMAP(w=1)')],
    UPDATE: ev('UPDATE'),
    MPROTECT: (v: number, w: number) => ev(`MPROTECT(vma=${v},w=${w})`),
    MUNMAP: (v: number) => ev(`MUNMAP(vma=${v})`),
    FORK: (v: number) => ev(`FORK(vma=${v})`),
    LOCK: ev('LOCK'),
    INC: ev('INC'),
    PASS: ev('PASS'),
  };

  // ---- the state -----------------------------------------------------------------------------
  const { frozen, frozenRet, progWrote, writecnt, ops, vmaState, vmWrite, vmMaywrite } = L.shared;
  const { q, vma, late, unfounded } = L.cpu;
  const wc = (s: Int32Array): number => writecnt.get(s) - WC_OFFSET;
  const setWc = (next: Int32Array, v: number): void => {
    if (v < -WC_OFFSET || v > WC_OFFSET - 1) throw new Error(`${M}: writecnt ${v} out of the packed range`);
    writecnt.set(next, v + WC_OFFSET);
  };
  const mutexHeld = (s: Int32Array): boolean => {
    for (let i = 0; i < N; i++) if (holdsMutex[q.get(s, i)]) return true;
    return false;
  };
  /** The vm_flags bit that this version's bpf_map_mmap_open/close count. */
  const counted = (s: Int32Array, v: number): boolean => (spec.counts === 'VM_WRITE' ? vmWrite.get(s, v) : vmMaywrite.get(s, v)) === 1;
  const freeSlot = (s: Int32Array): number => {
    for (let v = 0; v < V; v++) if (vmaState.get(s, v) === FREE) return v;
    return -1;
  };
  const liveMaywrite = (s: Int32Array): number => {
    let n = 0;
    for (let v = 0; v < V; v++) if (vmaState.get(s, v) === LIVE && vmMaywrite.get(s, v)) n++;
    return n;
  };
  /** W2's reasons for -EBUSY, as facts of the state (not the version's bookkeeping). */
  const busyReason = (s: Int32Array): boolean => {
    if (frozen.get(s) || liveMaywrite(s) > 0) return true;
    for (let i = 0; i < N; i++) if (writerInFlight[q.get(s, i)]) return true;
    return false;
  };
  /** The verifier's bpf_map_is_rdonly(map) in this version. */
  const isRdonly = (s: Int32Array): boolean => rdonlyProg && frozen.get(s) === 1 && (!spec.writeActive || wc(s) === 0);

  // ---- the actors ----------------------------------------------------------------------------
  const move = (next: Int32Array, i: number, qq: number, e: number): void => q.set(next, i, moveOrThrow(th, qq, e, `${M}: thread${i}`));

  /** Thread i: starts a syscall (a choice among every one it can start), or takes its syscall's next step. */
  const threadStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => {
    const qq = q.get(s, i);
    if (isIdle[qq]) {
      const left = ops.get(s);
      if (left === 0) return false;
      const start = (e: number): void => {
        ops.set(next, left - 1);
        move(next, i, qq, e);
      };
      start(EV.FREEZE);
      emit();
      const slot = freeSlot(s);
      if (slot >= 0) {
        for (const w of [0, 1]) {
          start(EV.MMAP[w]);
          vmaState.set(next, slot, RESERVED);
          vma.set(next, i, slot);
          emit();
        }
      }
      start(EV.UPDATE);
      emit();
      const mutexFree = !mutexHeld(s);
      for (let v = 0; v < V; v++) {
        if (vmaState.get(s, v) !== LIVE) continue;
        // mprotect: only calls that change the mapping
        if (vmWrite.get(s, v)) {
          start(EV.MPROTECT(v, 0));
          vmWrite.set(next, v, 0);
          emit();
        } else if (vmMaywrite.get(s, v)) {
          start(EV.MPROTECT(v, 1));
          vmWrite.set(next, v, 1);
          emit();
        }
        // munmap: vm_ops->close; before 353050be4c19 it takes freeze_mutex when it counts
        const c = counted(s, v);
        if (!c || spec.writeActive || mutexFree) {
          start(EV.MUNMAP(v));
          if (c) setWc(next, wc(s) - 1);
          vmaState.set(next, v, FREE);
          vmWrite.set(next, v, 0);
          vmMaywrite.set(next, v, 0);
          emit();
        }
        // fork: dup_mmap copies the mapping, then vm_ops->open
        if (slot >= 0 && (!c || spec.writeActive || mutexFree)) {
          start(EV.FORK(v));
          vmaState.set(next, slot, LIVE);
          vmWrite.set(next, slot, vmWrite.get(s, v));
          vmMaywrite.set(next, slot, vmMaywrite.get(s, v));
          if (c) setWc(next, wc(s) + 1);
          emit();
        }
      }
      return false;
    }
    const w = wOf[qq];
    const slot = vma.get(s, i);
    switch (op[qq]) {
      case 'lock':
        if (mutexHeld(s)) return false;
        move(next, i, qq, EV.LOCK);
        return true;
      case 'freeze_check':
        if (wc(s) !== 0 || frozen.get(s)) {
          unfounded.set(next, i, busyReason(s) ? 0 : 1);
          move(next, i, qq, evRet(-16));
        } else {
          move(next, i, qq, EV.PASS);
        }
        return true;
      case 'freeze_set':
        frozen.set(next, 1);
        frozenRet.set(next, 1);
        move(next, i, qq, evRet(0));
        return true;
      case 'mmap_body':
      case 'mmap_check': {
        const err = w && frozen.get(s) ? -1 : w && rdonlyProg && spec.rdonlyProgEacces ? -13 : 0;
        if (err) {
          vmaState.set(next, slot, FREE);
          vma.set(next, i, 0);
          move(next, i, qq, evRet(err));
          return true;
        }
        if (op[qq] === 'mmap_check') {
          // bc27c52eea18: counted now, the mapping comes after the unlock
          if (w) setWc(next, wc(s) + 1);
          move(next, i, qq, EV.PASS);
          return true;
        }
        vmaState.set(next, slot, LIVE);
        vmWrite.set(next, slot, w);
        vmMaywrite.set(next, slot, w || !spec.clearsMaywrite ? 1 : 0);
        if ((spec.counts === 'VM_WRITE' ? w : w || !spec.clearsMaywrite ? 1 : 0) === 1) setWc(next, wc(s) + 1);
        vma.set(next, i, 0);
        move(next, i, qq, evRet(0));
        return true;
      }
      case 'mmap_map': {
        // map->ops->map_mmap succeeds: the mapping is live (VM_MAYWRITE cleared unless VM_WRITE)
        vmaState.set(next, slot, LIVE);
        vmWrite.set(next, slot, w);
        vmMaywrite.set(next, slot, w);
        vma.set(next, i, 0);
        move(next, i, qq, evRet(0));
        emit();
        // or it fails: the count taken back
        vmaState.set(next, slot, FREE);
        if (w) setWc(next, wc(s) - 1);
        vma.set(next, i, 0);
        move(next, i, qq, evRet(-22));
        emit();
        return false;
      }
      case 'update_inc':
        setWc(next, wc(s) + 1);
        move(next, i, qq, EV.INC);
        return true;
      case 'update_check':
        if (frozen.get(s)) {
          if (spec.writeActive) setWc(next, wc(s) - 1);
          move(next, i, qq, evRet(-1));
        } else {
          late.set(next, i, frozenRet.get(s));
          move(next, i, qq, EV.PASS);
        }
        return true;
      case 'update_write':
        if (spec.writeActive) setWc(next, wc(s) - 1);
        late.set(next, i, 0);
        move(next, i, qq, evRet(0));
        return true;
      default:
        throw new Error(`${M}: thread${i} in ${th.names[qq]} has no step`);
    }
  };

  /** The BPF program (`--prog rw`): writes the map; what matters is whether it can after a freeze. */
  const progStep = (s: Int32Array, next: Int32Array): boolean => {
    if (!frozenRet.get(s) || progWrote.get(s)) return false;
    progWrote.set(next, 1);
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someThread = (pred: (i: number) => boolean): boolean => {
    for (let i = 0; i < N; i++) if (pred(i)) return true;
    return false;
  };
  const properties: Property[] = [
    {
      ...MMAP_FREEZE_PROPERTIES[0],
      violated: (s) => {
        if (!frozenRet.get(s)) return false;
        for (let v = 0; v < V; v++) if (vmaState.get(s, v) === LIVE && vmWrite.get(s, v)) return true;
        return false;
      },
    },
    { ...MMAP_FREEZE_PROPERTIES[1], violated: (s) => someThread((i) => writePending[q.get(s, i)] && late.get(s, i) === 1) },
    { ...MMAP_FREEZE_PROPERTIES[2], violated: (s) => !someThread((i) => inSyscall[q.get(s, i)]) && wc(s) !== liveMaywrite(s) },
    { ...MMAP_FREEZE_PROPERTIES[3], violated: (s) => someThread((i) => unfounded.get(s, i) === 1) },
    {
      ...MMAP_FREEZE_PROPERTIES[4],
      checked: rdonlyProg,
      violated: (s) => isRdonly(s) && (liveMaywrite(s) > 0 || someThread((i) => writePending[q.get(s, i)])),
    },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const vmaText = (s: Int32Array, v: number): string => {
    const st = vmaState.get(s, v);
    if (st === FREE) return `vma${v}=-`;
    if (st === RESERVED) return `vma${v}=(being mapped)`;
    const flags = [vmWrite.get(s, v) ? 'VM_WRITE' : '', vmMaywrite.get(s, v) ? 'VM_MAYWRITE' : ''].filter(Boolean).join('|');
    return `vma${v}=${flags || 'read-only'}`;
  };
  const flagsText = (s: Int32Array, v: number): string => vmaText(s, v).replace(/^vma\d=/, '');
  const describeThread = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    const wcText = wc(after) !== wc(before) ? ` (writecnt ${wc(before)} -> ${wc(after)})` : '';
    if (isIdle[qq]) {
      // which syscall it started: compare the mappings and the new state
      const v0 = th.values[nq];
      if (v0 === 'freeze_lock') return 'bpf(BPF_MAP_FREEZE) starts';
      if (v0 === 'mmap_lock') return `mmap(MAP_SHARED, ${PROT_NAMES[wOf[nq]]}) starts (into vma${vma.get(after, i)})`;
      if (v0 === 'update_inc' || v0 === 'update_check') return 'bpf(BPF_MAP_UPDATE_ELEM) starts';
      for (let v = 0; v < V; v++) {
        const sb = vmaState.get(before, v);
        const sa = vmaState.get(after, v);
        if (sb === LIVE && sa === FREE) return `munmap(vma${v}): bpf_map_mmap_close${counted(before, v) ? `: ${spec.counts} set, writecnt--` : `: ${spec.counts} clear, not counted`}${wcText}`;
        if (sb === FREE && sa === LIVE) {
          const from = Array.from({ length: V }, (_, u) => u).find((u) => u !== v && vmaState.get(before, u) === LIVE && vmWrite.get(before, u) === vmWrite.get(after, v) && vmMaywrite.get(before, u) === vmMaywrite.get(after, v));
          return `fork(): dup_mmap copies vma${from} (${flagsText(after, v)}) to vma${v}; bpf_map_mmap_open${counted(after, v) ? ': writecnt++' : `: ${spec.counts} clear, not counted`}${wcText}`;
        }
        if (sb === LIVE && vmWrite.get(before, v) !== vmWrite.get(after, v)) {
          return vmWrite.get(after, v)
            ? `mprotect(vma${v}, PROT_READ|PROT_WRITE): VM_MAYWRITE is set, so VM_WRITE is granted; no vm_ops callback, writecnt stays ${wc(after)}`
            : `mprotect(vma${v}, PROT_READ): VM_WRITE cleared, VM_MAYWRITE ${vmMaywrite.get(after, v) ? 'kept' : 'clear'}; writecnt stays ${wc(after)}`;
        }
      }
      return String(th.meta[qq].doc);
    }
    const slot = vma.get(before, i);
    const ret = th.values[nq] === 'idle' ? ` -> returns ${ERRNO[Number(/err=(-?\d+)/.exec(eventOf(before, after, i))?.[1] ?? 0)]}` : '';
    switch (op[qq]) {
      case 'lock':
        return `${String(th.meta[qq].doc)}`;
      case 'freeze_check': {
        if (th.values[nq] === 'idle') {
          const why = frozen.get(before) ? 'already frozen' : `writecnt = ${wc(before)}`;
          const holds = busyReason(before) ? '' : ' (NO writable mapping and no write in progress: the count is stale)';
          return `map_freeze: ${why} -> -EBUSY${holds}; mutex_unlock`;
        }
        return `map_freeze: writecnt = 0 and not frozen`;
      }
      case 'freeze_set':
        return 'map_freeze: WRITE_ONCE(map->frozen, true); mutex_unlock -> returns 0';
      case 'mmap_body':
      case 'mmap_check': {
        const prot = PROT_NAMES[wOf[qq]];
        if (th.values[nq] === 'idle' && vmaState.get(after, slot) === FREE) {
          return `bpf_map_mmap(${prot}): ${frozen.get(before) ? 'map->frozen' : 'BPF_F_RDONLY_PROG'}${ret}; mutex_unlock`;
        }
        if (op[qq] === 'mmap_check') return `bpf_map_mmap(${prot}): checks pass${wOf[qq] ? '; bpf_map_write_active_inc' : ''}; mutex_unlock${wcText}`;
        return `bpf_map_mmap(${prot}) under freeze_mutex: vma${slot} = ${flagsText(after, slot)}; map_mmap() = 0${wcText}; mutex_unlock -> returns 0`;
      }
      case 'mmap_map':
        return vmaState.get(after, slot) === LIVE
          ? `bpf_map_mmap: map->ops->map_mmap() = 0: vma${slot} = ${flagsText(after, slot)} -> returns 0`
          : `bpf_map_mmap: map->ops->map_mmap() fails${wOf[qq] ? '; bpf_map_write_active_dec' : ''}${wcText} -> returns -EINVAL`;
      case 'update_inc':
        return `map_update_elem: bpf_map_write_active_inc${wcText}`;
      case 'update_check':
        return th.values[nq] === 'idle'
          ? `map_update_elem: map->frozen, no FMODE_CAN_WRITE${spec.writeActive ? '; bpf_map_write_active_dec' : ''}${wcText} -> returns -EPERM`
          : 'map_update_elem: not frozen, FMODE_CAN_WRITE: permission granted';
      case 'update_write':
        return `map_update_elem: copy_from_user, map->ops->map_update_elem() writes the value${spec.writeActive ? '; bpf_map_write_active_dec' : ''}${wcText} -> returns 0${frozenRet.get(before) ? ' (after BPF_MAP_FREEZE returned 0)' : ''}`;
      default:
        return String(th.meta[qq].doc);
    }
  };
  /** The event thread i's machine took from `before` to `after` (for its return value). */
  const eventOf = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    for (let e = 0; e < events.length; e++) if (th.next[qq * events.length + e] === nq && th.eventNames[e].startsWith('RET')) return th.eventNames[e];
    return '';
  };

  return checkableModel({
    model: M,
    protocol,
    cpus: N,
    config: { ops: String(OPS), prog },
    layout: L,
    initial(s) {
      setWc(s, 0);
      ops.set(s, OPS);
      for (let i = 0; i < N; i++) q.set(s, i, th.initial);
    },
    steps: [
      { actor: 'thread', count: N, next: threadStep },
      { actor: 'prog', count: rdonlyProg ? 0 : 1, next: progStep },
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'thread') return { actor: `thread${a.i}`, action: describeThread(before, after, a.i) };
      return 'the BPF program writes the map value (freeze does not restrict programs; only BPF_F_RDONLY_PROG does)';
    },
    sites: () => [],
    summary(s) {
      const threads = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const marks = [holdsMutex[qq] ? 'holds freeze_mutex' : '', late.get(s, i) ? 'checked after freeze' : '', unfounded.get(s, i) ? 'EBUSY unfounded' : ''];
        return actorPart(`thread${i}`, th.values[qq] === 'idle' ? 'between system calls' : nextStepText(th, qq), marks);
      });
      const vmas = Array.from({ length: V }, (_, v) => vmaText(s, v));
      const extra = [frozenRet.get(s) ? 'BPF_MAP_FREEZE returned 0' : '', progWrote.get(s) ? 'the program wrote after the freeze' : ''];
      return stateLine([`map->frozen=${frozen.get(s) ? 'true' : 'false'}`, `map->writecnt=${wc(s)}`, ...vmas, ...threads, `${ops.get(s)} system call${ops.get(s) === 1 ? '' : 's'} left to start`, ...extra]);
    },
    actorMachines() {
      const bad = new Set<string>();
      const formatEvent = (e: EventObject): string => {
        const p = e as EventObject & { w?: number; vma?: number; err?: number };
        if (p.type === 'RET') return ERRNO[p.err ?? 0] ?? String(p.err);
        if (p.type === 'MMAP') return PROT_NAMES[p.w ?? 0];
        if (p.type === 'MPROTECT') return `vma${p.vma}:${PROT_NAMES[p.w ?? 0]}`;
        if (p.type === 'MUNMAP' || p.type === 'FORK') return `vma${p.vma}`;
        return '';
      };
      return [{ name: 'thread', title: `User-space thread's syscalls on the map, ${protocol} (src/arraymap/map_mmap.ts)`, machine: mmapThreadMachine(spec), events, violationTags: bad, formatEvent }];
    },
  });
}

export const mmapFreeze: ModelDefinition = {
  name: M,
  summary: 'memory-mapped BPF array maps against BPF_MAP_FREEZE: user threads calling freeze, mmap, mprotect, munmap, fork and map updates (fc9702273e2e and its fixes)',
  protocols: (Object.keys(MMAP_FREEZE_PROTOCOLS) as MmapFreezeProtocol[]).map((p) => ({ name: p, summary: MMAP_FREEZE_PROTOCOLS[p].summary })),
  defaultProtocol: 'bc27c52eea18',
  defaultCpus: 2,
  options: [
    { name: 'ops', default: '5', description: 'how many syscalls the threads start, all together (1..7): the bound of the search' },
    { name: 'prog', values: MMAP_FREEZE_PROG_MODES, default: 'rdonly', description: 'rdonly: the map is BPF_F_RDONLY_PROG (programs cannot write it; R1 checked); rw: a BPF program writes it, freeze or not' },
  ],
  // Expected verdicts, from the commits' messages (docs/reference-verdicts.md):
  // - fc9702273e2e: 1f6cb19be2e2 (Jann Horn's report): a read-only mapping keeps VM_MAYWRITE, so
  //   mprotect makes it writable after a freeze (F1), and mprotect can clear VM_WRITE so that close
  //   never decrements writecnt (W1, and a freeze then fails -EBUSY for nothing: W2). R1: the frozen
  //   map keeps a VM_MAYWRITE mapping the verifier does not know about.
  // - 1f6cb19be2e2, dfeb376dd4cb: the mappings are right; R1 still falls to CVE-2021-4001 (an update
  //   past its permission check when the freeze returns; 353050be4c19's message).
  // - 353050be4c19, bc27c52eea18: hold.
  reference: [
    { protocol: 'fc9702273e2e', cpus: 2, expected: 'violated', expectedViolated: ['F1', 'W1', 'W2', 'R1'] },
    { protocol: 'fc9702273e2e', cpus: 2, options: { prog: 'rw' }, expected: 'violated', expectedViolated: ['F1', 'W1', 'W2'] },
    { protocol: '1f6cb19be2e2', cpus: 2, expected: 'violated', expectedViolated: ['R1'] },
    { protocol: '1f6cb19be2e2', cpus: 3, options: { ops: '6', prog: 'rw' }, expected: 'holds' },
    { protocol: 'dfeb376dd4cb', cpus: 2, expected: 'violated', expectedViolated: ['R1'] },
    { protocol: '353050be4c19', cpus: 3, options: { ops: '6', prog: 'rdonly' }, expected: 'holds' },
    { protocol: '353050be4c19', cpus: 3, options: { ops: '6', prog: 'rw' }, expected: 'holds' },
    { protocol: 'bc27c52eea18', cpus: 3, options: { ops: '6', prog: 'rdonly' }, expected: 'holds' },
    { protocol: 'bc27c52eea18', cpus: 3, options: { ops: '6', prog: 'rw' }, expected: 'holds' },
  ],
  build: buildMmapFreeze,
};
