/**
 * One move of an actor through its compiled machine's table, for a model's
 * `expand`: a missing move is a bug in the model (its events and its
 * machine disagree), reported with the actor, the state and the event.
 */
import type { CompiledMachine } from './compile.js';

export function moveOrThrow(m: CompiledMachine, q: number, e: number, who: string): number {
  const nq = e < 0 ? -1 : m.next[q * m.events.length + e];
  if (nq < 0) throw new Error(`${who} in ${m.names[q]} has no move for ${e < 0 ? 'no event' : m.eventNames[e]}`);
  return nq;
}
