/**
 * Typed actions: which actor took a step, as the small integer the explorer
 * stores with each state and back. A model declares its kinds of actor in
 * order with how many of each; the codes are consecutive in that order
 * (`{ cpu: 3, updater: 1, rcu: 3 }`: cpu0..cpu2 are 0..2, the updater 3,
 * rcu frees 4..6).
 *
 *   const A = defineActions({ cpu: N, updater: 1, rcu: K });
 *   A.code('rcu', k - 1);           // the integer
 *   const a = A.decode(action);     // { actor: 'rcu', i: k - 1 }
 */
export type ActorCounts = Readonly<Record<string, number>>;

export interface Action<K extends string = string> {
  readonly actor: K;
  /** Which one of its kind (0-based). */
  readonly i: number;
}

export interface Actions<K extends string = string> {
  /** Kinds in code order, each with its first code and count. */
  readonly kinds: readonly { actor: K; base: number; count: number }[];
  /** Number of distinct codes. */
  readonly size: number;
  code(actor: K, i?: number): number;
  /** First code of a kind. */
  base(actor: K): number;
  decode(code: number): Action<K>;
  /** `cpu2`, or the kind's name alone when there is one of it (`updater`). */
  label(code: number): string;
}

export function defineActions<D extends ActorCounts>(counts: D): Actions<Extract<keyof D, string>> {
  type K = Extract<keyof D, string>;
  const kinds: { actor: K; base: number; count: number }[] = [];
  let next = 0;
  for (const [actor, count] of Object.entries(counts)) {
    if (!Number.isInteger(count) || count < 0) throw new Error(`actions: ${actor} count ${count}`);
    kinds.push({ actor: actor as K, base: next, count });
    next += count;
  }
  const byName = new Map(kinds.map((k) => [k.actor, k]));
  const decoded: Action<K>[] = [];
  for (const k of kinds) for (let i = 0; i < k.count; i++) decoded.push({ actor: k.actor, i });
  return {
    kinds,
    size: next,
    code(actor, i = 0) {
      const k = byName.get(actor);
      if (!k || i < 0 || i >= k.count) throw new Error(`actions: no ${actor} ${i}`);
      return k.base + i;
    },
    base(actor) {
      const k = byName.get(actor);
      if (!k) throw new Error(`actions: no kind ${actor}`);
      return k.base;
    },
    decode(code) {
      const a = decoded[code];
      if (!a) throw new Error(`actions: no action ${code}`);
      return a;
    },
    label(code) {
      const a = this.decode(code);
      return byName.get(a.actor)!.count === 1 ? a.actor : `${a.actor}${a.i}`;
    },
  };
}
