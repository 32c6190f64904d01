/**
 * A CPU running XDP through the BPF dispatcher (docs/kernel-facts.md section
 * 6), as an xstate machine: `bpf_prog_run_xdp` (BH disabled, so an RCU
 * reader) reads the device's program and calls
 * `bpf_dispatcher_xdp_func(ctx, insnsi, prog->bpf_func)`, whose static call
 * goes through the trampoline `__SCT__bpf_dispatcher_xdp_call`: `jmp` to a
 * half of the dispatcher image or to `bpf_dispatcher_nop_func`. In the image
 * the CPU executes the binary search on rdx = bpf_func one compare at a time
 * and leaves it by `je` to the program or by the indirect jump through rdx;
 * the program returns to bpf_dispatcher_xdp_func's caller.
 *
 * States with meta `fetch` are stepped by an event the model derives from
 * the bytes there (the trampoline's jmp, the image at `off`). Context:
 * `prog` = the program whose bpf_func is in rdx, `half`/`off` = where in the
 * image, `target` = the program the CPU ended up in.
 */
import { assign, setup, type AnyStateMachine, type EventObject } from 'xstate';

export function dispatcherCpuEvents(progs: number, offsets: readonly number[]): EventObject[] {
  const evs: EventObject[] = [];
  for (let k = 1; k <= progs; k++) evs.push({ type: 'ENTER', prog: k } as EventObject);
  evs.push({ type: 'EXEC_JMP_HALF', half: 0 } as EventObject, { type: 'EXEC_JMP_HALF', half: 1 } as EventObject, { type: 'EXEC_JMP_NOP_FUNC' });
  for (const off of offsets) evs.push({ type: 'EXEC_NEXT', off } as EventObject);
  for (let k = 1; k <= progs; k++) evs.push({ type: 'EXEC_JMP_PROG', prog: k } as EventObject);
  evs.push({ type: 'RETURN' });
  return evs;
}

type Ctx = { prog: number; half: number; off: number; target: number };
type Ev = { type: string; prog?: number; half?: number; off?: number };

export const dispatcherCpuMachine: AnyStateMachine = setup({
  types: { context: {} as Ctx, events: {} as Ev },
}).createMachine({
  id: 'cpu',
  initial: 'idle',
  context: { prog: 0, half: 0, off: 0, target: 0 },
  states: {
    idle: {
      meta: { doc: 'bpf_prog_run_xdp: local_bh_disable (RCU reader); prog = dev->xdp_prog; calls bpf_dispatcher_xdp_func(ctx, insnsi, prog->bpf_func)' },
      on: { ENTER: { target: 'tramp', actions: assign({ prog: ({ event }) => event.prog ?? 0 }) } },
    },
    tramp: {
      tags: ['reader'],
      meta: { fetch: 'tramp' },
      on: {
        EXEC_JMP_HALF: { target: 'image', actions: assign({ half: ({ event }) => event.half ?? 0, off: 0 }) },
        EXEC_JMP_NOP_FUNC: 'nop_func',
      },
    },
    image: {
      tags: ['reader', 'in_image'],
      meta: { fetch: 'image' },
      on: {
        EXEC_NEXT: { target: 'image', actions: assign({ off: ({ event }) => event.off ?? 0 }) },
        EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ target: ({ event }) => event.prog ?? 0, half: 0, off: 0 }) },
      },
    },
    nop_func: {
      tags: ['reader'],
      meta: { doc: 'bpf_dispatcher_nop_func: calls bpf_func indirectly' },
      on: { EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ target: ({ event }) => event.prog ?? 0 }) } },
    },
    in_prog: {
      tags: ['reader', 'in_prog'],
      meta: { doc: 'the XDP program returns; local_bh_enable (leaves the read-side section)' },
      on: { RETURN: { target: 'idle', actions: assign({ prog: 0, target: 0 }) } },
    },
  },
}) as unknown as AnyStateMachine;
