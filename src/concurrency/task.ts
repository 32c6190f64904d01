/**
 * A task running a BPF program that tail-calls, sleepable or not, as an
 * xstate machine (the specification of what one task does, one atomic step
 * per transition). Used by models/sleepable-tailcall.ts.
 *
 * The task enters the caller the way the kernel enters it: a non-sleepable
 * program inside `rcu_read_lock()` (`__bpf_prog_enter`), a sleepable one
 * inside `rcu_read_lock_trace()` + `migrate_disable()`
 * (`__bpf_prog_enter_sleepable`, the uprobe.s path). Which one is decided
 * by the caller's `sleepable` flag, given with ENTER (context `trace`). The
 * section lasts until the task leaves, whatever program it tail-calls into
 * (a tail call does not change the entry's lock).
 *
 * Then the caller's tail call, of one of two kinds:
 * - `direct`: the JIT's two patch sites. At `bypass` and `target` the task
 *   executes what the bytes there decode to (events EXEC_*, derived by the
 *   model from the site's current bytes); between them it unwinds its frame.
 *   The target's nop5 on an unwound frame is `fell_through` (P1).
 * - `indirect`: `mov rcx, [rsi + rdx*8 + ptrs]` (LOADED, the value the model
 *   reads from ptrs[key]), then the rest up to `jmp *%rcx`, which reads
 *   `prog->bpf_func` and jumps (EXEC_JMP_PROG), or leaves through `out` when
 *   the slot was empty (EXEC_OUT).
 *
 * In a program (`in_prog`) the task may return (leaves its read-side
 * section) or, in a sleepable program entered sleepably, call a helper that
 * sleeps (`asleep`, then WAKE). Which internal steps a state offers is its
 * meta `steps`; the model enables SLEEP only where the program may sleep.
 * The caller's own helper calls before the tail call are not modelled (they
 * end before the tail call's window opens).
 */
import { assign, setup, type AnyStateMachine, type EventObject } from 'xstate';

export type TailCallKind = 'direct' | 'indirect';
export const TAIL_CALL_KINDS: readonly TailCallKind[] = ['direct', 'indirect'];

/** The finite event alphabet for programs f1..f<progs>. */
export function taskEvents(progs: number): EventObject[] {
  const evs: EventObject[] = [{ type: 'ENTER', trace: 0 } as EventObject, { type: 'ENTER', trace: 1 } as EventObject];
  evs.push({ type: 'UNWIND' }, { type: 'RETURN' }, { type: 'SLEEP' }, { type: 'WAKE' });
  evs.push({ type: 'EXEC_NOP' }, { type: 'EXEC_JMP_OUT' }, { type: 'EXEC_OUT' });
  for (let k = 1; k <= progs; k++) evs.push({ type: 'EXEC_JMP_PROG', prog: k } as EventObject);
  for (let k = 0; k <= progs; k++) evs.push({ type: 'LOADED', val: k } as EventObject);
  return evs;
}

type Ev = { type: string; trace?: number; prog?: number; val?: number };
type Ctx = { trace: number; prog: number; val: number };

const leave = assign({ trace: 0, prog: 0, val: 0 });

export function taskMachine(kind: TailCallKind): AnyStateMachine {
  const common = {
    in_prog: {
      tags: ['reader', 'in_prog'],
      meta: { steps: ['RETURN', 'SLEEP'], doc: 'runs the tail-called program' },
      on: {
        RETURN: { target: 'idle', actions: leave, meta: { doc: 'the program returns; the task leaves its read-side section' } },
        SLEEP: { target: 'asleep', meta: { doc: 'calls a helper that sleeps (the task leaves its CPU)' } },
      },
    },
    asleep: {
      tags: ['reader', 'in_prog', 'asleep'],
      meta: { steps: ['WAKE'], doc: 'sleeps in a helper of the program' },
      on: { WAKE: { target: 'in_prog', meta: { doc: 'wakes up and runs on' } } },
    },
  };
  const direct = {
    bypass: {
      tags: ['reader'],
      meta: { fetch: 'tailcall_bypass', doc: 'executes the bypass site' },
      on: {
        EXEC_JMP_OUT: { target: 'idle', actions: leave, meta: { doc: 'jumps to out and leaves the caller' } },
        EXEC_NOP: { target: 'unwind', meta: { doc: 'falls through into the unwind' } },
      },
    },
    unwind: {
      tags: ['reader'],
      meta: { steps: ['UNWIND'], doc: 'unwinds its frame (counter increment, pops of the counter slots)' },
      on: { UNWIND: 'target' },
    },
    target: {
      tags: ['reader', 'unwound'],
      meta: { fetch: 'tailcall_target', doc: 'executes the target site' },
      on: {
        EXEC_NOP: { target: 'fell_through', meta: { doc: 'falls through to out on an unwound frame' } },
        EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ prog: ({ event }: { event: Ev }) => event.prog ?? 0 }), meta: { doc: 'tail-calls the target program' } },
      },
    },
    fell_through: {
      tags: ['reader', 'P1'],
      meta: { steps: [], doc: 'runs out on an unwound frame (stack and registers corrupt); stuck here' },
    },
  };
  const indirect = {
    load: {
      tags: ['reader'],
      meta: { exec: 'load', doc: 'reads ptrs[key]' },
      on: { LOADED: { target: 'loaded', actions: assign({ val: ({ event }: { event: Ev }) => event.val ?? 0 }) } },
    },
    loaded: {
      tags: ['reader'],
      meta: { exec: 'jump', doc: 'unwinds, reads prog->bpf_func and jumps' },
      on: {
        EXEC_OUT: { target: 'idle', actions: leave },
        EXEC_JMP_PROG: { target: 'in_prog', actions: assign({ val: 0, prog: ({ event }: { event: Ev }) => event.prog ?? 0 }) },
      },
    },
  };
  return setup({ types: { context: {} as Ctx, events: {} as Ev } }).createMachine({
    id: `task-${kind}`,
    initial: 'idle',
    context: { trace: 0, prog: 0, val: 0 },
    states: {
      idle: {
        meta: { enter: true, doc: 'enters the caller' },
        on: { ENTER: { target: kind === 'direct' ? 'bypass' : 'load', actions: assign({ trace: ({ event }: { event: Ev }) => event.trace ?? 0 }) } },
      },
      ...(kind === 'direct' ? direct : indirect),
      ...common,
    },
  } as never) as unknown as AnyStateMachine;
}
