/**
 * User space that may do anything with XDP: whenever the updater is between
 * two calls it may attach any program of the pool f1..fK that is not
 * attached (on a device of its own), detach any attached one, or replace an
 * attached one by one that is not, forever. Each call is the XDP attach
 * path's `dev_xdp_install` and `bpf_dispatcher_change_prog(d, from, to)`
 * (bpf_dispatcher.ts, changeProgSteps), so the map of what the dispatcher
 * holds and which half is in use is computed, as in the kernel, by running
 * the calls on a sequential `struct bpf_dispatcher`.
 *
 * Addresses: a program is its image's address (the dispatcher compares
 * bpf_func and nothing else), and a detached program may be freed and its
 * bpf_prog_pack chunk handed to a later load; attaching fK again covers both
 * the same program and a new one at fK's address.
 *
 * The machine: one `user_space` state per state of the sequential dispatcher
 * (the attached set and d->image_off, which is dead and kept at 0 while
 * nothing is attached: the next update then writes half 0 whatever it says),
 * whose USER events are the calls; each leads to the call's steps, which end
 * in the `user_space` state of the dispatcher they leave.
 */
import { createMachine, type EventObject } from 'xstate';
import { changeProgSteps, type DispatcherImage, type DispatcherOp, type DispatcherProtocol, type DispatcherStepMeta } from './bpf_dispatcher.js';

const pname = (k: number): string => (k ? `f${k}` : 'NULL');

/** Every call user space can make over programs f1..f`progs`: attach, detach, replace. */
export function dispatcherUserOps(progs: number): DispatcherOp[] {
  const out: DispatcherOp[] = [];
  for (let k = 1; k <= progs; k++) out.push({ from: 0, to: k });
  for (let j = 1; j <= progs; j++) out.push({ from: j, to: 0 });
  for (let j = 1; j <= progs; j++) for (let k = 1; k <= progs; k++) if (j !== k) out.push({ from: j, to: k });
  return out;
}

export function dispatcherUserOpText({ from, to }: DispatcherOp): string {
  if (!from) return `attach ${pname(to)} (XDP on dev${to})`;
  if (!to) return `detach ${pname(from)} (from dev${from})`;
  return `replace ${pname(from)} by ${pname(to)} (on dev${from})`;
}

export const dispatcherUserEvent = ({ from, to }: DispatcherOp): EventObject => ({ type: 'USER', from, to }) as EventObject;

export function dispatcherAnyOpsEvents(progs: number): EventObject[] {
  return [{ type: 'STEP' }, { type: 'GP_DONE' }, ...dispatcherUserOps(progs).map(dispatcherUserEvent)];
}

export interface DispatcherAnyOps {
  /** The updater machine (xstate). */
  machine: ReturnType<typeof createMachine>;
  /** Every image an update can write, once per (half, programs). */
  images: DispatcherImage[];
  /** The calls, by index (a step's opIndex). */
  ops: DispatcherOp[];
}

/** The updater of every sequence of XDP attach / detach / replace over f1..f`progs` (bpf_func[k - 1]: fk's address). */
export function dispatcherAnyOps(progs: number, protocol: DispatcherProtocol, image: bigint, bpf_func: readonly bigint[]): DispatcherAnyOps {
  const ops = dispatcherUserOps(progs);
  const images: DispatcherImage[] = [];
  const imageIndex = (img: DispatcherImage): number => {
    const i = images.findIndex((x) => x.half === img.half && x.progs.join() === img.progs.join());
    return i >= 0 ? i : images.push(img) - 1;
  };
  /** A sequential dispatcher state (one device per program: each attached program has one user). */
  const key = (mask: number, off: number): string => `user_space(attached={${[1, 2, 3].filter((k) => mask & (1 << (k - 1))).map(pname).join(',')}},image_off=0x${(mask ? off : 0).toString(16)})`;
  const states: Record<string, object> = {};
  const todo: [number, number][] = [[0, 0]];
  const seen = new Set<string>();
  while (todo.length) {
    const [mask, off] = todo.shift()!;
    const here = key(mask, off);
    if (seen.has(here)) continue;
    seen.add(here);
    const on: object[] = [];
    ops.forEach((op, o) => {
      if (op.from && !(mask & (1 << (op.from - 1)))) return; // not attached
      if (op.to && mask & (1 << (op.to - 1))) return; // already attached (one device each)
      const d = {
        progs: [1, 2, 3].filter((k) => mask & (1 << (k - 1))).map((prog) => ({ prog, users: 1 })),
        image_off: off,
      };
      const steps = changeProgSteps(d, op, o, protocol, image, bpf_func, imageIndex);
      const nmask = d.progs.reduce((m, p) => m | (1 << (p.prog - 1)), 0);
      const after = key(nmask, d.image_off);
      if (!seen.has(after)) todo.push([nmask, d.image_off]);
      const name = (j: number): string => `${here}/${dispatcherUserOpText(op).split(' (')[0].replace(/ /g, '_')}/${j}_${steps[j].op}`;
      steps.forEach((st, j) => {
        states[name(j)] = { meta: { step: st }, on: { [st.op === 'sync_wait' ? 'GP_DONE' : 'STEP']: j + 1 < steps.length ? name(j + 1) : after } };
      });
      on.push({ guard: ({ event }: { event: { from: number; to: number } }) => event.from === op.from && event.to === op.to, target: name(0) });
    });
    states[here] = { meta: { step: { op: 'choose', doc: 'user space chooses its next XDP call' } satisfies DispatcherStepMeta }, on: { USER: on } };
  }
  const machine = createMachine({ id: 'updater', initial: key(0, 0), states } as never);
  return { machine, images, ops };
}
