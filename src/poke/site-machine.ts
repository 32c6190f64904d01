/**
 * The direct tail-call poke site as the RFC's state matrix sees it: the pair
 * (bypass, target) in one of the states A-D (docs/reference-verdicts.md section 1),
 * as an xstate machine. Its events are the instructions the pokes leave at
 * each site, derived by decoding the bytes after each write.
 *
 * | state | bypass  | target | |
 * | A     | nop     | nop    | forbidden |
 * | B     | nop     | jmp f  | installed |
 * | C     | jmp out | nop    | empty (start) |
 * | D     | jmp out | jmp f  | changing |
 */
import { assign, setup } from 'xstate';

export type SiteEvent =
  | { type: 'BYPASS_NOP' }
  | { type: 'BYPASS_JMP_OUT' }
  | { type: 'TARGET_NOP' }
  | { type: 'TARGET_JMP'; prog: number };

export function siteEvents(progs: number): SiteEvent[] {
  const evs: SiteEvent[] = [{ type: 'BYPASS_NOP' }, { type: 'BYPASS_JMP_OUT' }, { type: 'TARGET_NOP' }];
  for (let k = 1; k <= progs; k++) evs.push({ type: 'TARGET_JMP', prog: k });
  return evs;
}

export const pokeSiteMachine = setup({
  types: { context: {} as { target: number }, events: {} as SiteEvent },
  actions: {
    jmpTo: assign({ target: ({ event }) => (event.type === 'TARGET_JMP' ? event.prog : 0) }),
    noJmp: assign({ target: 0 }),
  },
}).createMachine({
  id: 'poke_site',
  initial: 'C',
  context: { target: 0 },
  states: {
    A: {
      tags: ['forbidden'],
      meta: { bypass: 'nop', target: 'nop', doc: 'forbidden: a CPU unwinds, then falls through to out' },
      on: { BYPASS_JMP_OUT: 'C', TARGET_JMP: { target: 'B', actions: 'jmpTo' } },
    },
    B: {
      meta: { bypass: 'nop', target: 'jmp', doc: 'installed' },
      on: { BYPASS_JMP_OUT: 'D', TARGET_NOP: { target: 'A', actions: 'noJmp' }, TARGET_JMP: { target: 'B', actions: 'jmpTo' } },
    },
    C: {
      meta: { bypass: 'jmp out', target: 'nop', doc: 'empty slot' },
      on: { BYPASS_NOP: 'A', TARGET_JMP: { target: 'D', actions: 'jmpTo' } },
    },
    D: {
      meta: { bypass: 'jmp out', target: 'jmp', doc: 'changing: entry skips the unwind' },
      on: { BYPASS_NOP: 'B', TARGET_NOP: { target: 'C', actions: 'noJmp' }, TARGET_JMP: { target: 'D', actions: 'jmpTo' } },
    },
  },
});
