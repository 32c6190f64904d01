/**
 * The CPU executor of a direct tail call (docs/reference-verdicts.md section 1), as
 * an xstate machine: the specification of what one CPU does, one atomic step
 * per transition.
 *
 * A CPU never reads a flag to decide what to do at a poke site: a state whose
 * meta has `fetch: <site>` is stepped by an EXEC_* event that the model
 * derives by decoding the bytes currently at that site (see
 * models/tailcall-poke.ts). States tagged `reader` are inside an RCU
 * read-side critical section.
 */
import { assign, setup } from 'xstate';

export type CpuEvent =
  | { type: 'ENTER' }
  | { type: 'UNWIND' }
  | { type: 'RETURN' }
  | { type: 'EXEC_NOP' }
  | { type: 'EXEC_JMP_OUT' }
  | { type: 'EXEC_JMP_PROG'; prog: number };

/** The finite event alphabet for `progs` tail-call targets (f1..f<progs>). */
export function cpuEvents(progs: number): CpuEvent[] {
  const evs: CpuEvent[] = [{ type: 'ENTER' }, { type: 'UNWIND' }, { type: 'RETURN' }, { type: 'EXEC_NOP' }, { type: 'EXEC_JMP_OUT' }];
  for (let k = 1; k <= progs; k++) evs.push({ type: 'EXEC_JMP_PROG', prog: k });
  return evs;
}

export const tailCallCpuMachine = setup({
  types: { context: {} as { prog: number }, events: {} as CpuEvent },
}).createMachine({
  id: 'cpu',
  initial: 'idle',
  context: { prog: 0 },
  states: {
    idle: {
      meta: { step: 'ENTER', doc: 'enters the caller (rcu_read_lock)' },
      on: { ENTER: 'bypass' },
    },
    bypass: {
      tags: ['reader'],
      meta: { fetch: 'tailcall_bypass', doc: 'executes the bypass site' },
      on: {
        EXEC_JMP_OUT: { target: 'idle', meta: { doc: 'jumps to out and leaves the caller (rcu_read_unlock)' } },
        EXEC_NOP: { target: 'unwind', meta: { doc: 'falls through into the unwind' } },
      },
    },
    unwind: {
      tags: ['reader'],
      meta: { step: 'UNWIND', doc: 'unwinds its frame (pops callee-saved registers and the tail-call counter slot)' },
      on: { UNWIND: 'target' },
    },
    target: {
      tags: ['reader', 'unwound'],
      meta: { fetch: 'tailcall_target', doc: 'executes the target site' },
      on: {
        EXEC_NOP: { target: 'fell_through', meta: { doc: 'falls through to out on an unwound frame' } },
        EXEC_JMP_PROG: {
          target: 'in_prog',
          actions: assign({ prog: ({ event }) => event.prog }),
          meta: { doc: 'tail-calls the target program' },
        },
      },
    },
    in_prog: {
      tags: ['reader', 'in_prog'],
      meta: { step: 'RETURN', doc: 'the tail-called program returns; leaves the caller (rcu_read_unlock)' },
      on: { RETURN: { target: 'idle', actions: assign({ prog: 0 }) } },
    },
    fell_through: {
      tags: ['reader', 'P1'],
      meta: { doc: 'runs out: on an unwound frame (stack and registers corrupt); stuck here' },
    },
  },
});
