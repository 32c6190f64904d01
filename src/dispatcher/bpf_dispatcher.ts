/**
 * `bpf_dispatcher_change_prog(d, from, to)` (kernel/bpf/dispatcher.c;
 * docs/kernel-facts.md section 6), run sequentially to give the updater's
 * ordered list of atomic steps, for each protocol version:
 *
 * - `v6.1` (c86df29d11df, static_call): under d->mutex, remove `from`, add
 *   `to`; if anything changed, `bpf_dispatcher_update(d, prev_num_progs)`:
 *   noff = prev_num_progs ? image_off ^ (PAGE_SIZE / 2) : 0; if programs
 *   remain, build the image for `image + noff` in rw_image and
 *   `bpf_arch_text_copy` it over that half; `__BPF_DISPATCHER_UPDATE(d, new
 *   ?: bpf_dispatcher_nop_func)` (`__static_call_update`: one text poke of
 *   the static call trampoline); if new, image_off = noff.
 * - `v6.2` (4121d4481b72, Jiri Olsa): the same with `synchronize_rcu()`
 *   after the static call update, "so that every CPU still running the old
 *   half of the image has left it".
 *
 * Each program runs on its own device (the dispatcher is shared by all
 * devices). Before the dispatcher changes, the driver installs the program on the
 * device (`dev_xdp_install`: `bpf_op(dev, &xdp)`, then
 * `bpf_prog_change_xdp(old, new)`), so a CPU may already run the new
 * program through the old image (the image's fallback jump handles it).
 */
import { createMachine, type EventObject } from 'xstate';
import { arch_prepare_bpf_dispatcher, BPF_DISPATCHER_HALF, BPF_DISPATCHER_MAX } from '../jit/x86/dispatcher.js';
import type { JitEnv } from '../jit/x86/env.js';
import { hexAddr } from '../jit/x86/x86.js';

export type DispatcherProtocol = 'v6.1' | 'v6.2';
export const DISPATCHER_PROTOCOLS: Record<DispatcherProtocol, string> = {
  'v6.1': 'c86df29d11df (v6.1, static_call): write the inactive half, switch the static call to it; no grace period before the half can be rewritten (so since the dispatcher\'s first version, 75ccbef6369e, v5.6, until v6.2)',
  'v6.2': '4121d4481b72 (v6.2): the same, then synchronize_rcu() so that CPUs in the old half leave it before a later update rewrites it',
};

/** One `bpf_dispatcher_change_prog` call as the XDP attach path makes it; programs are 1-based, 0 is NULL. */
export interface DispatcherOp {
  readonly from: number;
  readonly to: number;
}

export class DispatcherScriptError extends Error {}

/**
 * Parses `attach f1; attach f2; replace f1 f3; detach f2`: each program runs
 * on its own device; `attach fK` installs fK on a new device, `replace fJ
 * fK` replaces fJ on its device, `detach fJ` removes it.
 */
export function parseDispatcherScript(text: string): DispatcherOp[] {
  const ops: DispatcherOp[] = [];
  const installed = new Set<number>();
  const prog = (s: string): number => Number(s.slice(1));
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(?:attach (f[1-7])|replace (f[1-7]) (f[1-7])|detach (f[1-7]))$/.exec(part);
    if (!m) throw new DispatcherScriptError(`bad script operation '${part}' (expected attach fN, replace fN fM, detach fN)`);
    const from = m[1] ? 0 : prog(m[2] ?? m[4]);
    const to = m[1] ? prog(m[1]) : m[3] ? prog(m[3]) : 0;
    if (from && !installed.has(from)) throw new DispatcherScriptError(`'${part}': f${from} is not attached`);
    if (to && installed.has(to)) throw new DispatcherScriptError(`'${part}': f${to} is already attached`);
    installed.delete(from);
    if (to) installed.add(to);
    ops.push({ from, to });
  }
  if (ops.length === 0) throw new DispatcherScriptError('empty script');
  return ops;
}

/** Where the static call goes: `bpf_dispatcher_nop_func` or one half of the image. */
export type CallTarget = 'nop_func' | 0 | 1;

export type DispatcherStepMeta =
  /** the driver installs `to` in place of `from` on that device (either may be NULL) */
  | { op: 'install'; opIndex: number; from: number; to: number; doc: string }
  | { op: 'copy_begin'; opIndex: number; half: 0 | 1; doc: string }
  | { op: 'copy_end'; opIndex: number; half: 0 | 1; image: number; doc: string }
  | { op: 'static_call'; opIndex: number; target: CallTarget; doc: string }
  | { op: 'sync_start'; opIndex: number; doc: string }
  | { op: 'sync_wait'; opIndex: number; doc: string }
  | { op: 'done'; doc: string }
  /** user space between two XDP attach / detach / replace calls (src/dispatcher/user-space.ts) */
  | { op: 'choose'; doc: string };

/** An image the updater writes: which half, for which programs, and its bytes. */
export interface DispatcherImage {
  readonly half: 0 | 1;
  readonly progs: readonly number[];
  readonly bytes: readonly number[];
}

export interface DispatcherPlan {
  steps: DispatcherStepMeta[];
  images: DispatcherImage[];
}

const pname = (k: number): string => (k ? `f${k}` : 'NULL');

/** The sequential `struct bpf_dispatcher` an update reads and changes: progs[] (prog + users), image_off. */
export interface DispatcherState {
  progs: { prog: number; users: number }[];
  image_off: number;
}

/**
 * One `bpf_dispatcher_change_prog(d, from, to)` call as the XDP attach path
 * makes it (operation `opIndex`), run on the sequential dispatcher `d` (which
 * it changes): its atomic steps, starting with the driver's install. `image`
 * numbers an image the update writes (its half, its programs, its bytes).
 */
export function changeProgSteps(
  d: DispatcherState,
  { from, to }: DispatcherOp,
  opIndex: number,
  protocol: DispatcherProtocol,
  image: bigint,
  bpf_func: readonly bigint[],
  imageIndex: (img: DispatcherImage) => number,
  env?: JitEnv,
): DispatcherStepMeta[] {
  const steps: DispatcherStepMeta[] = [];
  const i = opIndex;
  const progs = d.progs;
  const dev = `dev${from || to}`;
  steps.push({ op: 'install', opIndex: i, from, to, doc: `dev_xdp_install(${dev}): the driver installs ${pname(to)} (${dev}->xdp_prog = ${pname(to)})` });
  const prev_num_progs = progs.length;
  let changed = false;
  // bpf_dispatcher_remove_prog(d, from)
  const e = progs.findIndex((p) => p.prog === from);
  if (from && e >= 0 && --progs[e].users === 0) {
    progs.splice(e, 1);
    changed = true;
  }
  // bpf_dispatcher_add_prog(d, to)
  if (to) {
    const f = progs.find((p) => p.prog === to);
    if (f) f.users++;
    else {
      if (progs.length >= BPF_DISPATCHER_MAX) throw new DispatcherScriptError('the dispatcher is full');
      progs.push({ prog: to, users: 1 });
      changed = true;
    }
  }
  if (!changed) return steps;
  const head = `bpf_dispatcher_change_prog(d, ${pname(from)}, ${pname(to)}): mutex_lock(&d->mutex); bpf_dispatcher_update(d, prev_num_progs=${prev_num_progs})`;
  const noff = prev_num_progs ? d.image_off ^ BPF_DISPATCHER_HALF : 0;
  const half = (noff ? 1 : 0) as 0 | 1;
  const at = image + BigInt(noff);
  const hasNew = progs.length > 0;
  if (hasNew) {
    const sorted = progs.map((p) => p.prog).sort((a, b) => a - b);
    const bytes = arch_prepare_bpf_dispatcher(at, sorted.map((k) => bpf_func[k - 1]), env);
    const img = imageIndex({ half, progs: sorted, bytes });
    const copy = `bpf_arch_text_copy(image + 0x${noff.toString(16)}, rw_image + 0x${noff.toString(16)}, PAGE_SIZE / 2)`;
    steps.push({ op: 'copy_begin', opIndex: i, half, doc: `${head}: noff = 0x${noff.toString(16)}; image for {${sorted.map(pname).join(', ')}} built in rw_image; ${copy} starts writing ${hexAddr(at)}` });
    steps.push({ op: 'copy_end', opIndex: i, half, image: img, doc: `${copy} done` });
  }
  const target: CallTarget = hasNew ? half : 'nop_func';
  const call = `__BPF_DISPATCHER_UPDATE(d, ${hasNew ? `image + 0x${noff.toString(16)}` : 'bpf_dispatcher_nop_func'}): __static_call_update pokes the trampoline`;
  const unlock = `${hasNew ? `d->image_off = 0x${noff.toString(16)}; ` : ''}mutex_unlock(&d->mutex)`;
  if (protocol === 'v6.2') {
    steps.push({ op: 'static_call', opIndex: i, target, doc: hasNew ? call : `${head}: no programs left; ${call}` });
    steps.push({ op: 'sync_start', opIndex: i, doc: 'synchronize_rcu(): a grace period starts' });
    steps.push({ op: 'sync_wait', opIndex: i, doc: `synchronize_rcu() returns: every CPU that was a reader at its start has left; ${unlock}` });
  } else {
    steps.push({ op: 'static_call', opIndex: i, target, doc: `${hasNew ? call : `${head}: no programs left; ${call}`}; ${unlock}` });
  }
  if (hasNew) d.image_off = noff;
  return steps;
}

/**
 * Runs the script on a sequential `struct bpf_dispatcher` and returns the
 * updater's atomic steps. `bpf_func[k - 1]` is program k's address; `image`
 * is d->image (page aligned).
 */
export function planDispatcherUpdates(
  ops: readonly DispatcherOp[],
  protocol: DispatcherProtocol,
  image: bigint,
  bpf_func: readonly bigint[],
  env?: JitEnv,
): DispatcherPlan {
  const d: DispatcherState = { progs: [], image_off: 0 };
  const steps: DispatcherStepMeta[] = [];
  const images: DispatcherImage[] = [];
  ops.forEach((op, i) => {
    steps.push(...changeProgSteps(d, op, i, protocol, image, bpf_func, (img) => images.push(img) - 1, env));
  });
  steps.push({ op: 'done', doc: 'the script is done' });
  return { steps, images };
}

export const UPDATER_EVENTS: readonly EventObject[] = [{ type: 'STEP' }, { type: 'GP_DONE' }];

/** The updater as an xstate machine: one state per step of the plan, in order. */
export function dispatcherUpdaterMachine(plan: DispatcherPlan) {
  const name = (j: number): string => `s${j}_${plan.steps[j].op}`;
  const states: Record<string, object> = {};
  plan.steps.forEach((st, j) => {
    if (st.op === 'done') states[name(j)] = { type: 'final', meta: { step: st } };
    else states[name(j)] = { meta: { step: st }, on: { [st.op === 'sync_wait' ? 'GP_DONE' : 'STEP']: name(j + 1) } };
  });
  return createMachine({ id: 'updater', initial: name(0), states } as never);
}
