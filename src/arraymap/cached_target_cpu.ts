/**
 * A CPU taking the RFC's indirect tail call (src/jit/x86/tailcall_cached.ts), as
 * an xstate machine: it enters the caller (rcu_read_lock), runs the
 * sequence up to and including the load of the slot the bytes name (one
 * step: the only read of shared memory before the jump), then runs the rest
 * up to `jmp *%rcx` (one step) and lands in a program, or leaves through
 * `out` when the slot was empty. The model derives LOADED / EXEC_* from the
 * decoded sequence (`tail_call_path`) and the slot's current value.
 *
 * Context: `val` = what the load returned (0, or program k: its pointer on
 * the dynamic path, its cached tail-call entry on the static one), `prog` =
 * the program the CPU runs in.
 */
import { assign, setup, type AnyStateMachine, type EventObject } from 'xstate';

export function cachedCpuEvents(progs: number): EventObject[] {
  const evs: EventObject[] = [{ type: 'ENTER' }];
  for (let k = 0; k <= progs; k++) evs.push({ type: 'LOADED', val: k } as EventObject);
  evs.push({ type: 'EXEC_OUT' });
  for (let k = 1; k <= progs; k++) evs.push({ type: 'EXEC_JMP_PROG', prog: k } as EventObject);
  evs.push({ type: 'RETURN' });
  return evs;
}

type Ev = { type: string; val?: number; prog?: number };

export const cachedTargetCpuMachine: AnyStateMachine = setup({
  types: { context: {} as { val: number; prog: number }, events: {} as Ev },
}).createMachine({
  id: 'cpu',
  initial: 'idle',
  context: { val: 0, prog: 0 },
  states: {
    idle: {
      meta: { step: 'ENTER', doc: 'enters the caller (rcu_read_lock)' },
      on: { ENTER: 'caller' },
    },
    caller: {
      tags: ['reader'],
      meta: { exec: 'load' },
      on: { LOADED: { target: 'loaded', actions: assign({ val: ({ event }) => event.val ?? 0 }) } },
    },
    loaded: {
      tags: ['reader'],
      meta: { exec: 'jump' },
      on: {
        EXEC_OUT: { target: 'idle', actions: assign({ val: 0 }) },
        EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ val: 0, prog: ({ event }) => event.prog ?? 0 }) },
      },
    },
    in_prog: {
      tags: ['reader', 'in_prog'],
      meta: { step: 'RETURN', doc: 'the tail-called program returns; leaves the caller (rcu_read_unlock)' },
      on: { RETURN: { target: 'idle', actions: assign({ prog: 0 }) } },
    },
  },
}) as unknown as AnyStateMachine;
