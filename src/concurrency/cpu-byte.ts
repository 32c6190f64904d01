/**
 * A CPU's instruction fetch at the byte level, as an xstate machine: what
 * happens between two instruction boundaries when the instruction lies in
 * text that another CPU may be rewriting (docs/reference-verdicts.md section 3).
 *
 * Each byte read is its own step, so reads interleave with writes. The
 * machine does not hold the bytes: the model keeps the bytes fetched so far
 * (interned) next to this machine's state and derives each event by decoding
 * them with `decodeInsn`:
 *
 * - FETCH_MORE: the bytes so far are the start of an instruction; read the next one.
 * - EXEC: the bytes form one whole instruction that is exactly one of the
 *   site's instructions (an old or a new one); the CPU executes it (the
 *   executor machine, cpu.ts, takes the matching EXEC_* event).
 * - TORN: the bytes form an instruction that is none of them, or do not
 *   decode (#UD): property P5 is violated and the CPU stops here.
 * - INT3: the first byte is int3 (text_poke_bp's guard): the CPU traps.
 * - EMULATE: `smp_text_poke_int3_handler` finds the entry for this address
 *   and emulates the NEW instruction.
 * - NOT_OURS: no text_poke_bp entry claims the int3: a stray breakpoint
 *   (the kernel dies in do_int3); P5 is violated.
 * - IPI: at an instruction boundary the CPU takes text_poke_bp's sync IPI
 *   and serializes (`do_sync_core`). A CPU in the middle of an instruction,
 *   or inside the int3 handler, takes it only once it is back at a boundary.
 */
import { createMachine, type EventObject } from 'xstate';

export type FetchEvent = 'FETCH_MORE' | 'EXEC' | 'TORN' | 'INT3' | 'EMULATE' | 'NOT_OURS' | 'IPI';

export const FETCH_EVENTS: readonly EventObject[] = (['FETCH_MORE', 'EXEC', 'TORN', 'INT3', 'EMULATE', 'NOT_OURS', 'IPI'] as const).map((type) => ({ type }));

export const byteFetchMachine = createMachine({
  id: 'fetch',
  initial: 'boundary',
  states: {
    boundary: {
      tags: ['boundary'],
      meta: { doc: 'at an instruction boundary' },
      on: { FETCH_MORE: 'fetching', EXEC: 'boundary', TORN: 'torn', INT3: 'int3_handler', IPI: 'boundary' },
    },
    fetching: {
      meta: { doc: 'in the middle of fetching an instruction' },
      on: { FETCH_MORE: 'fetching', EXEC: 'boundary', TORN: 'torn' },
    },
    int3_handler: {
      meta: { doc: 'trapped on int3: in smp_text_poke_int3_handler' },
      on: { EMULATE: 'boundary', NOT_OURS: 'torn' },
    },
    torn: {
      type: 'final',
      tags: ['P5'],
      meta: { doc: 'executed bytes that are neither the old nor the new instruction; stuck here' },
    },
  },
});
