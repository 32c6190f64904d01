/**
 * User space that may do anything: an updater that, whenever it is between
 * two system calls, may update key 0 with any program it holds an fd of,
 * delete key 0, close a program's fd, or load a program, forever. Programs
 * come from a pool f1..fK of image addresses: a load takes a freed one, so
 * the new program's image is where the freed one was (bpf_prog_pack hands
 * freed chunks of its packs to later loads, kernel/bpf/core.c), and an `old`
 * address in a later poke may now name a newer program (ABA).
 *
 * The machine is the script machine's map operations (updater.ts,
 * mapOpStates) hung off one state, `user_space`, whose events are the
 * operations; which of them are enabled (the fd is held, the image is free)
 * is the model's to decide from the shared state, and a put's last reference
 * is decided at run time ('if-unreferenced': no fd and no map slot holds it).
 */
import { createMachine, type EventObject } from 'xstate';
import type { PokeProtocol } from './poke_desc_update.js';
import { mapOpStates, updaterEvents, type StateConfig, type UpdaterStepMeta } from './updater.js';

/** A system call of user space; `key` (default 0) is the prog array's key an update or delete names. */
export type UserOp = { op: 'update'; prog: number; key?: number } | { op: 'delete'; key?: number } | { op: 'close'; prog: number } | { op: 'load'; prog: number };

/** The key a map operation names (0 unless given). */
export const userOpKey = (o: UserOp): number => (o.op === 'update' || o.op === 'delete' ? (o.key ?? 0) : 0);

/** The operations over keys 0..keys-1 (default: key 0 alone, the operations and order of one key unchanged). */
export function userOps(progs: number, keys = 1): UserOp[] {
  const out: UserOp[] = [];
  for (let key = 0; key < keys; key++) {
    for (let k = 1; k <= progs; k++) out.push(key ? { op: 'update', prog: k, key } : { op: 'update', prog: k });
    out.push(key ? { op: 'delete', key } : { op: 'delete' });
  }
  for (let k = 1; k <= progs; k++) out.push({ op: 'close', prog: k });
  for (let k = 1; k <= progs; k++) out.push({ op: 'load', prog: k });
  return out;
}

export function userOpEvent(o: UserOp): EventObject {
  const key = userOpKey(o);
  const e = o.op === 'delete' ? { type: 'USER', op: 'delete', prog: 0 } : { type: 'USER', op: o.op, prog: o.prog };
  return (key ? { ...e, key } : e) as EventObject;
}

export function userOpText(o: UserOp, key = userOpKey(o)): string {
  switch (o.op) {
    case 'update':
      return `bpf(BPF_MAP_UPDATE_ELEM, prog_array, key ${key}, fd of f${o.prog})`;
    case 'delete':
      return `bpf(BPF_MAP_DELETE_ELEM, prog_array, key ${key})`;
    case 'close':
      return `close(fd of f${o.prog}): user space drops its reference`;
    case 'load':
      return `bpf(BPF_PROG_LOAD) = f${o.prog}, its image at the freed f${o.prog}'s address (bpf_prog_pack reuses the chunk)`;
  }
}

export function anyOpsEvents(progs: number, keys = 1): EventObject[] {
  return [...updaterEvents(progs), ...userOps(progs, keys).map(userOpEvent)];
}

/** The updater of every sequence of map operations over keys 0..keys-1 (default: key 0) and programs f1..f`progs`, under `protocol`. */
export function anyOpsUpdaterMachine(progs: number, protocol: PokeProtocol, keys = 1) {
  const states: Record<string, StateConfig> = {};
  const on: Record<string, unknown[]> = { USER: [] };
  for (const o of userOps(progs, keys)) {
    const ev = userOpEvent(o) as EventObject & { op: string; prog: number; key?: number };
    const key = userOpKey(o);
    const guard = ({ event }: { event: { op: string; prog: number; key?: number } }) => event.op === ev.op && event.prog === ev.prog && (event.key ?? 0) === key;
    if (o.op === 'update' || o.op === 'delete') {
      const base = `${o.op === 'update' ? `update_f${o.prog}` : 'delete'}${key ? `@${key}` : ''}`;
      mapOpStates(states, { op: o.op, key, prog: o.op === 'update' ? o.prog : 0 }, 0, base, progs, protocol, 'user_space', () => 'if-unreferenced');
      on.USER.push({ guard, target: `${base}/xchg` });
    } else {
      on.USER.push({ guard, target: 'user_space' });
    }
  }
  states.user_space = {
    meta: { step: { op: 'choose', doc: 'user space chooses its next system call' } satisfies UpdaterStepMeta },
    on,
  };
  states.bug = {
    type: 'final',
    tags: ['P4'],
    meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies UpdaterStepMeta },
  };
  return createMachine({ id: 'updater', initial: 'user_space', states } as never);
}
