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
import { assign, setup, type AnyStateMachine } from 'xstate';

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

/**
 * The executor of a caller with a direct tail call on each of keys 0..keys-1, in order (the
 * oracle's `caller_two` for two keys): at site k's bypass, `jmp out` goes on to site k + 1's
 * bypass (the code after site k's target; after the last site the caller returns and leaves its
 * read-side section); a nop5 unwinds and executes site k's target, as in tailCallCpuMachine.
 * States and sites of key 0 keep that machine's names (`bypass`, `tailcall_bypass`, ...); key k > 0
 * appends `@k` (`bypass@1` fetches `tailcall_bypass@1`). One key gives tailCallCpuMachine itself.
 */
export function tailCallCpuMachineFor(keys: number): AnyStateMachine {
  if (keys === 1) return tailCallCpuMachine as never;
  const at = (k: number): string => (k ? `@${k}` : '');
  const states: Record<string, unknown> = {
    idle: { meta: { step: 'ENTER', doc: 'enters the caller (rcu_read_lock)' }, on: { ENTER: 'bypass' } },
  };
  for (let k = 0; k < keys; k++) {
    const last = k === keys - 1;
    states[`bypass${at(k)}`] = {
      tags: ['reader'],
      meta: { fetch: `tailcall_bypass${at(k)}`, doc: `executes the bypass site of key ${k}` },
      on: {
        EXEC_JMP_OUT: last
          ? { target: 'idle', meta: { doc: 'jumps to out and returns from the caller (rcu_read_unlock)' } }
          : { target: `bypass${at(k + 1)}`, meta: { doc: `jumps to out and goes on to the tail call on key ${k + 1}` } },
        EXEC_NOP: { target: `unwind${at(k)}`, meta: { doc: 'falls through into the unwind' } },
      },
    };
    states[`unwind${at(k)}`] = {
      tags: ['reader'],
      meta: { step: 'UNWIND', doc: 'unwinds its frame (pops callee-saved registers and the tail-call counter slot)' },
      on: { UNWIND: `target${at(k)}` },
    };
    states[`target${at(k)}`] = {
      tags: ['reader', 'unwound'],
      meta: { fetch: `tailcall_target${at(k)}`, doc: `executes the target site of key ${k}` },
      on: {
        EXEC_NOP: { target: 'fell_through', meta: { doc: 'falls through to out on an unwound frame' } },
        EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ prog: ({ event }) => event.prog }), meta: { doc: 'tail-calls the target program' } },
      },
    };
  }
  states.in_prog = {
    tags: ['reader', 'in_prog'],
    meta: { step: 'RETURN', doc: 'the tail-called program returns; leaves the caller (rcu_read_unlock)' },
    on: { RETURN: { target: 'idle', actions: assign({ prog: 0 }) } },
  };
  states.fell_through = { tags: ['reader', 'P1'], meta: { doc: 'runs out: on an unwound frame (stack and registers corrupt); stuck here' } };
  return setup({ types: { context: {} as { prog: number }, events: {} as CpuEvent } }).createMachine({ id: 'cpu', initial: 'idle', context: { prog: 0 }, states } as never) as never;
}
