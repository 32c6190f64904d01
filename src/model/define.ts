/**
 * A model as its parts, and the TransitionSystem made of them.
 *
 * A model is written as (compare stateright's `Model`): a layout of named
 * fields (layout.ts), its initial state, its steps (each kind of actor and
 * what one of its moves does to the state), its properties (each a predicate
 * on a state), and how to print a state and a step in kernel terms. The
 * checker (src/concurrency/explorer.ts and src/check) is separate and sees
 * only the TransitionSystem that `checkableModel` builds.
 *
 * Steps run in declaration order, and within a kind for i = 0..count-1; the
 * action code of a successor is its kind's base + i (actions.ts), so the
 * order of steps is the order of the search and of its counterexamples.
 * Before a step is called, `next` holds a copy of the state; the step writes
 * its successor there and returns true, or returns false when it is not
 * enabled. A step with several successors (a choice) writes one, calls
 * `emit()`, which hands it to the search and restores `next` to the state,
 * and so on; it then returns false.
 */
import type { ActorMachine, CheckableModel, SiteView, StateGroup, StepView } from '../concurrency/model.js';
import type { PropertySpec, SuccessorSink, TransitionSystem } from '../concurrency/system.js';
import { defineActions, type Action, type Actions } from './actions.js';
import type { Layout } from './layout.js';

export interface Step<K extends string = string> {
  /** The kind of actor that takes it (`cpu`, `updater`, `rcu`, ...). */
  readonly actor: K;
  /** How many actors of the kind (default 1). */
  readonly count?: number;
  /**
   * Optional cheap precondition: when it is false, actor i has no move and `next` is not even
   * copied (for steps that are rarely enabled, such as an RCU free).
   */
  when?(s: Int32Array, i: number): boolean;
  /** Writes actor i's move from `s` into `next` (a copy of `s`); false if it has none. A step that calls `emit` must declare it (4 parameters). */
  next(s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean;
}

export interface Property {
  readonly id: string;
  readonly description: string;
  /** False when the protocol does not promise it (reported `not-checked`). Default true. */
  readonly checked?: boolean;
  /**
   * How many CPUs the property names (P1 "no CPU executes ..." names one; a property of the
   * shared state alone names none). The every-N cutoff (src/check/cutoff.ts) checks this claim on
   * every violating state it meets; a property without it gets no every-N claim.
   */
  readonly cpus?: number;
  violated(s: Int32Array): boolean;
}

export interface ModelParts<K extends string = string, L extends Layout = Layout> {
  readonly model: string;
  readonly protocol: string;
  readonly cpus: number;
  readonly config: Record<string, string>;
  readonly layout: L;
  initial(s: Int32Array): void;
  readonly steps: readonly Step<K>[];
  readonly properties: readonly Property[];
  /**
   * Optional fast path for the properties, one bit per property in order.
   * When given it must agree with `violated` on every state (tests check it
   * with `checkViolationsAgree`); use it only where a profile shows the
   * predicates matter.
   */
  violations?(s: Int32Array): number;
  /**
   * Optional hand-tuned `expand`, for a model whose search speed is benchmarked: it must give
   * exactly the successors and actions of `steps`, in order (tests check it with
   * `checkExpandAgrees` over every reachable state of small configurations). Say next to it
   * which profile asked for it.
   */
  expandFast?(s: Int32Array, next: Int32Array, sink: SuccessorSink): void;
  /** `cpus`: CPUs are interchangeable (their records are sorted); or a canonical form of the model's own. */
  readonly symmetry?: 'cpus' | ((s: Int32Array) => void);
  /** See TransitionSystem.parallel. */
  readonly parallel?: boolean;
  /** What actor `a.actor` number `a.i` did between `before` and `after`, in kernel terms. */
  describe(before: Int32Array, after: Int32Array, a: Action<K>): string | StepView;
  sites(s: Int32Array): SiteView[];
  summary(s: Int32Array): string;
  group?(s: Int32Array): StateGroup;
  /** The xstate machines of the actors, as compiled (for `pokecheck graph` and the report). */
  actorMachines?(): ActorMachine[];
}

/**
 * A model built from its parts: what the checker runs, plus the typed actions and the layout
 * (`L`, the model's own layout type, so that tests read its fields by name: `m.layout.cpu.q.get(s, i)`).
 */
export interface TypedModel<K extends string = string, L extends Layout = Layout> extends CheckableModel {
  readonly actions: Actions<K>;
  readonly layout: L;
  readonly parts: ModelParts<K, L>;
  /** The expansion made of the steps (the definition, whether or not a fast path is searched). */
  readonly stepsExpand: TransitionSystem['expand'];
}

/** States up to this many words are copied by unrolled statements in the step loops, wider ones by `set`. */
const UNROLL_WORDS = 64;

export function checkableModel<K extends string, L extends Layout>(parts: ModelParts<K, L>): TypedModel<K, L> {
  const counts: Record<string, number> = {};
  for (const st of parts.steps) {
    if (st.actor in counts) throw new Error(`${parts.model}: two steps for actor kind ${st.actor}`);
    counts[st.actor] = st.count ?? 1;
  }
  const actions = defineActions(counts) as unknown as Actions<K>;
  const layout = parts.layout;
  const width = layout.width;
  const steps = parts.steps;
  const stepCount = steps.map((st) => st.count ?? 1);
  const stepBase = steps.map((st) => actions.base(st.actor));
  const props = parts.properties;
  const nProps = props.length;
  if (nProps > 31) throw new Error(`${parts.model}: at most 31 properties`);
  const properties: PropertySpec[] = props.map((p) => ({ id: p.id, description: p.description, checked: p.checked !== false }));

  // The one emit function, over the expansion in progress (no closure per state).
  let curS: Int32Array = new Int32Array(width);
  let curNext: Int32Array = new Int32Array(width);
  let curSink: SuccessorSink = () => {};
  let curCode = 0;
  const copy = (from: Int32Array, to: Int32Array): void => {
    for (let k = 0; k < width; k++) to[k] = from[k];
  };
  const emit = (): void => {
    curSink(curCode);
    copy(curS, curNext);
  };

  /**
   * The search's inner loop over the steps. Each step gets a loop of its own, generated with its
   * count, action base and the state's width as constants, so that the call of its `next` has one
   * target. (Measured on tailcall-poke, this alone did not close the gap to the hand-packed model;
   * that model has a hand-tuned `expandFast`, see docs/performance.md.)
   */
  function stepLoop(f: Step<K>['next'], when: Step<K>['when'], n: number, base: number) {
    // the copy of the state is unrolled over its words up to UNROLL_WORDS (V8 leaves a function of a
    // thousand statements unoptimised: tailcall-hierarchy's 1060-word state), wider states use set();
    // a step that takes no `emit` needs no code set
    const copyCode = width <= UNROLL_WORDS ? Array.from({ length: width }, (_, k) => `next[${k}] = s[${k}];`).join(' ') : 'next.set(s);';
    const setCode = f.length >= 4 ? `setCode(${base} + i);` : '';
    const guard = when ? 'if (!when(s, i)) continue;' : '';
    return new Function('f', 'when', 'setCode', 'emit', `return function stepLoop(s, next, sink) {
      for (let i = 0; i < ${n}; i++) { ${guard} ${copyCode} ${setCode} if (f(s, next, i, emit)) sink(${base} + i); }
    }`)(f, when, (c: number) => (curCode = c), emit) as (s: Int32Array, next: Int32Array, sink: SuccessorSink) => void;
  }
  function expandOf(list: { next: Step<K>['next']; when: Step<K>['when']; count: number; base: number }[]) {
    const loops = list.map((st) => stepLoop(st.next, st.when, st.count, st.base));
    const body = loops.map((_, t) => `l${t}(s, next, sink);`).join(' ');
    const run = new Function(...loops.map((_, t) => `l${t}`), 'start', `return function expand(s, next, sink) { start(s, next, sink); ${body} }`)(...loops, (s: Int32Array, next: Int32Array, sink: SuccessorSink) => {
      curS = s;
      curNext = next;
      curSink = sink;
    });
    return run as TransitionSystem['expand'];
  }

  const canonical = parts.symmetry === 'cpus' ? (layout.cpus ? (s: Int32Array) => layout.cpus!.canonicalize(s) : undefined) : parts.symmetry;

  const system: TransitionSystem = {
    width,
    parallel: parts.parallel,
    properties,
    initial(out) {
      out.fill(0);
      parts.initial(out);
    },
    expand: parts.expandFast ? parts.expandFast : expandOf(steps.map((st, t) => ({ next: st.next, when: st.when, count: stepCount[t], base: stepBase[t] }))),
    violations:
      parts.violations ??
      ((s) => {
        let v = 0;
        for (let p = 0; p < nProps; p++) if (props[p].violated(s)) v |= 1 << p;
        return v;
      }),
    canonicalize: canonical,
  };

  const stepsExpand = expandOf(steps.map((st, t) => ({ next: st.next, when: st.when, count: stepCount[t], base: stepBase[t] })));
  return {
    stepsExpand,
    model: parts.model,
    protocol: parts.protocol,
    cpus: parts.cpus,
    config: parts.config,
    system,
    actions,
    layout,
    parts,
    describe(before, after, code): StepView {
      const a = actions.decode(code);
      const d = parts.describe(before, after, a);
      return typeof d === 'string' ? { actor: actions.label(code), action: d } : d;
    },
    sites: (s) => parts.sites(s),
    summary: (s) => parts.summary(s),
    group: parts.group ? (s) => parts.group!(s) : undefined,
    actorMachines: parts.actorMachines ? () => parts.actorMachines!() : undefined,
  };
}

/** For tests: the fast path `violations` agrees with the properties' predicates on `s`. */
export function checkViolationsAgree(parts: ModelParts, s: Int32Array): boolean {
  if (!parts.violations) return true;
  let v = 0;
  parts.properties.forEach((p, i) => {
    if (p.violated(s)) v |= 1 << i;
  });
  return v === parts.violations(s);
}

/** For tests: the fast path `expandFast` gives the successors and actions of the steps, in order, on `s`. */
export function checkExpandAgrees(m: TypedModel, s: Int32Array): boolean {
  if (!m.parts.expandFast) return true;
  const w = m.system.width;
  const next = new Int32Array(w);
  const a: string[] = [];
  const b: string[] = [];
  m.stepsExpand(s, next, (act) => a.push(`${act}:${next.join(',')}`));
  m.system.expand(s, next, (act) => b.push(`${act}:${next.join(',')}`));
  return a.join(' ') === b.join(' ');
}
