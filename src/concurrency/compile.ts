/**
 * Compiles an xstate v5 machine, once, into a transition table.
 *
 * The xstate machines are the specification of each actor (CPU, updater, poke
 * site), but calling `machine.transition` costs ~10^5 steps/s, far too slow
 * for the explorer's inner loop. So each machine is explored here over a
 * finite alphabet of events, breadth-first from its initial snapshot (the same
 * traversal @xstate/graph does, with one reused inert actor scope), and its
 * reachable snapshots are numbered. The explorer then steps an actor with
 * `next[state * events.length + event]` (-1: the event is not accepted).
 *
 * Guards and `assign` run here, through xstate itself; a machine's context
 * must stay finite over the alphabet, or compilation stops at `maxStates`.
 */
import { createEmptyActor, initialTransition, type AnyStateMachine, type EventObject } from 'xstate';

export interface CompiledMachine {
  readonly id: string;
  /** Readable name of each compiled state: the state value, plus context when not empty. */
  readonly names: readonly string[];
  /** The state value (e.g. `in_prog`) of each compiled state. */
  readonly values: readonly string[];
  readonly contexts: readonly Record<string, unknown>[];
  /** Merged `meta` of the active state nodes, per compiled state. */
  readonly meta: readonly Record<string, unknown>[];
  readonly tags: readonly ReadonlySet<string>[];
  readonly events: readonly EventObject[];
  /** Event type (+ parameters) names, in alphabet order. */
  readonly eventNames: readonly string[];
  /** next[state * events.length + event] = next state, or -1 when not accepted. */
  readonly next: Int32Array;
  readonly initial: 0;
  /** Index of an event by its name (see eventName). */
  eventIndex(name: string): number;
  /** Index of the first compiled state whose value is `value`. */
  stateIndex(value: string): number;
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** `TYPE` or `TYPE(k=v,...)` for an event with parameters. */
export function eventName(e: EventObject): string {
  const params = Object.keys(e)
    .filter((k) => k !== 'type')
    .sort()
    .map((k) => `${k}=${String((e as unknown as Record<string, unknown>)[k])}`);
  return params.length ? `${e.type}(${params.join(',')})` : e.type;
}

function valueName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, sub]) => `${k}.${valueName(sub)}`)
      .join('|');
  }
  return String(v);
}

type AnySnapshot = ReturnType<AnyStateMachine['transition']>;

export function compileMachine(machine: AnyStateMachine, events: readonly EventObject[], maxStates = 100_000): CompiledMachine {
  const empty = createEmptyActor();
  const scope = {
    self: empty,
    logger: () => {},
    id: '',
    sessionId: 'pokecheck-compile',
    defer: () => {},
    system: (empty as unknown as { system: unknown }).system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  } as unknown as Parameters<AnyStateMachine['transition']>[2];

  const [init] = initialTransition(machine);
  const snaps: AnySnapshot[] = [init as AnySnapshot];
  const keyOf = (s: AnySnapshot): string => `${canonical(s.value)}|${canonical(s.context ?? {})}`;
  const index = new Map<string, number>([[keyOf(init as AnySnapshot), 0]]);
  const rows: number[][] = [];
  for (let i = 0; i < snaps.length; i++) {
    const s = snaps[i];
    const row: number[] = [];
    for (const ev of events) {
      if (s.status !== 'active' || machine.getTransitionData(s as never, ev).length === 0) {
        row.push(-1);
        continue;
      }
      const n = machine.transition(s as never, ev, scope) as AnySnapshot;
      const k = keyOf(n);
      let j = index.get(k);
      if (j === undefined) {
        j = snaps.length;
        if (j >= maxStates) throw new Error(`machine ${machine.id}: more than ${maxStates} states; is its context finite?`);
        index.set(k, j);
        snaps.push(n);
      }
      row.push(j);
    }
    rows.push(row);
  }
  const E = events.length;
  const next = new Int32Array(snaps.length * E);
  rows.forEach((row, i) => row.forEach((j, e) => (next[i * E + e] = j)));
  const eventNames = events.map(eventName);
  const values = snaps.map((s) => valueName(s.value));
  const contexts = snaps.map((s) => ({ ...((s.context ?? {}) as Record<string, unknown>) }));
  const names = snaps.map((s, i) => {
    const c = contexts[i];
    const keys = Object.keys(c)
      .sort()
      .filter((k) => c[k] !== 0 && c[k] !== null && c[k] !== false); // unset context stays out of names
    return keys.length ? `${values[i]}(${keys.map((k) => `${k}=${String(c[k])}`).join(',')})` : values[i];
  });
  const meta = snaps.map((s) => Object.assign({}, ...Object.values((s.getMeta() ?? {}) as Record<string, object>)));
  const tags = snaps.map((s) => new Set<string>(s.tags as Set<string>));
  return {
    id: machine.id,
    names,
    values,
    contexts,
    meta,
    tags,
    events,
    eventNames,
    next,
    initial: 0,
    eventIndex(name: string): number {
      const i = eventNames.indexOf(name);
      if (i < 0) throw new Error(`machine ${machine.id}: no event ${name} in the alphabet`);
      return i;
    },
    stateIndex(value: string): number {
      const i = values.indexOf(value);
      if (i < 0) throw new Error(`machine ${machine.id}: no state ${value}`);
      return i;
    },
  };
}
