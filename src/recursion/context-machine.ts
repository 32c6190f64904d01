/**
 * One execution context of one CPU (a task, the softirq, the hardirq or the
 * NMI context) running a BPF program through a recursion-checking entry
 * (`__bpf_prog_enter_recur` / `__bpf_trace_run`), as an xstate machine
 * generated from a scheme's instruction lists (schemes.ts):
 *
 *   idle --ENTER--> get_0 .. get_n (STEP each; the last step is the check:
 *   OK -> body, RECURSION -> put_0: the program is skipped, the put still
 *   runs) ; body --RETURN--> put_0 .. put_m --> idle (or back to the
 *   caller's body after a nested entry); body --ENTER--> get_0 one frame
 *   deeper (the program calls something that is traced by itself), up to
 *   `maxDepth` frames.
 *
 * Context `depth` counts the frames (1 = the outermost). Meta `insn` is the
 * step a state executes next; `preempt_off` marks states inside
 * preempt_disable(), where a task cannot be switched out.
 */
import { assign, setup, type AnyStateMachine, type EventObject } from 'xstate';
import type { RecursionInsn, RecursionScheme } from './schemes.js';

export const CONTEXT_EVENTS: readonly EventObject[] = ['ENTER', 'STEP', 'OK', 'RECURSION', 'RETURN'].map((type) => ({ type }));

function preemptOff(list: readonly RecursionInsn[], k: number): boolean {
  let n = 0;
  for (let i = 0; i < k; i++) {
    if (list[i].op === 'preempt_disable') n++;
    if (list[i].op === 'preempt_enable') n--;
  }
  return n > 0;
}

export function recursionContextMachine(scheme: RecursionScheme, maxDepth: number): AnyStateMachine {
  type Ctx = { depth: number };
  const states: Record<string, object> = {};
  const getName = (k: number): string => `get_${k}`;
  const putName = (k: number): string => `put_${k}`;
  states.idle = {
    meta: { doc: 'not in the program' },
    on: { ENTER: { target: getName(0), actions: 'push' } },
  };
  scheme.get.forEach((insn, k) => {
    const base = { tags: ['busy'], meta: { insn, phase: 'get', preempt_off: preemptOff(scheme.get, k) } };
    if (insn.op === 'check') {
      if (k !== scheme.get.length - 1) throw new Error(`${scheme.name}: the check must be the last step of get`);
      states[getName(k)] = { ...base, on: { OK: 'body', RECURSION: putName(0) } };
    } else {
      states[getName(k)] = { ...base, on: { STEP: getName(k + 1) } };
    }
  });
  states.body = {
    tags: ['busy'],
    meta: { phase: 'body', preempt_off: false, doc: 'runs the BPF program' },
    on: {
      RETURN: putName(0),
      ENTER: { guard: 'canNest', target: getName(0), actions: 'push' },
    },
  };
  scheme.put.forEach((insn, k) => {
    const last = k === scheme.put.length - 1;
    states[putName(k)] = {
      tags: ['busy'],
      meta: { insn, phase: 'put', preempt_off: preemptOff(scheme.put, k) },
      on: { STEP: last ? [{ guard: 'outermost', target: 'idle', actions: 'pop' }, { target: 'body', actions: 'pop' }] : putName(k + 1) },
    };
  });
  return setup({
    types: { context: {} as Ctx, events: {} as { type: string } },
    actions: { push: assign({ depth: ({ context }) => context.depth + 1 }), pop: assign({ depth: ({ context }) => context.depth - 1 }) },
    guards: { canNest: ({ context }) => context.depth < maxDepth, outermost: ({ context }) => context.depth === 1 },
  }).createMachine({ id: 'context', initial: 'idle', context: { depth: 0 }, states } as never) as unknown as AnyStateMachine;
}
