/**
 * Every number of CPUs, by a checked cutoff (docs/proofs.md has the argument).
 *
 * In a reader model CPUs only read shared state, and the other actors wait
 * on them only through "every CPU that was a reader has left". Then a
 * violating run with N CPUs projects onto a violating run with just the CPUs
 * the property names: make every other CPU idle (its record as in the initial
 * state) in every state of the run and drop its steps. So the search at a
 * few CPUs decides every N.
 *
 * The conditions are not declared by the model; they are checked here, on
 * every transition the search explores, at M = k + 1 CPUs (k: the most CPUs
 * one property names), so that there is always a CPU to drop:
 *   C1  a CPU's move changes only its own record: idling CPU j before and
 *       after j's move gives the same state;
 *   C2  every other move survives the dropping of any CPU j with the same
 *       effect on everything else: idle_j(t) is a successor of idle_j(s) by
 *       the same action (a guard that counts readers, or waits for "some
 *       CPU", or a CPU that reads another's record fails this);
 *   C3  the initial state has every CPU idle, and idling a CPU never creates
 *       a violation;
 *   C4  a state violating a property that names c CPUs still violates it
 *       when all but some c CPUs are idled.
 * Each projected run starts at the initial state (C3), so its states are
 * reachable and the conditions checked on reachable states apply to it at
 * every step. What is not checked but assumed: the model is uniform in N
 * (the same per-CPU code for every count of CPUs, as the typed layer's CPU
 * records are), so conditions seen at M CPUs are those at any N; the search
 * therefore also runs at M + 1 and both must pass. Updaters are not readers:
 * their number stays the configuration's.
 */
import type { CheckableModel } from '../concurrency/model.js';
import type { SuccessorSink, TransitionSystem } from '../concurrency/system.js';
import type { TypedModel } from '../model/define.js';
import { runCheck, type CheckOptions, type CheckResult } from './result.js';
import { StateStore } from '../concurrency/state-store.js';

export type CutoffCondition = 'C1' | 'C2' | 'C3' | 'C4';

export interface CutoffFailure {
  condition: CutoffCondition;
  /** One line: what failed, where (the state's summary, the action). */
  detail: string;
}

export interface CutoffOutcome {
  /** k: the most CPUs one property names. */
  k: number;
  /** The CPU counts searched with the conditions checked. */
  searched: number[];
  /** Transitions on which the conditions were checked. */
  transitionsChecked: number;
  /** The first failed condition, or null when all held on every transition. */
  failure: CutoffFailure | null;
  /** The results of the searches at M = k + 1 and M + 1 (the first is the verdict). */
  results: CheckResult[];
}

/** Why a model cannot be given the every-N claim at all (before any search), or null. */
export function cutoffIneligible(m: CheckableModel): string | null {
  const t = m as Partial<TypedModel>;
  if (!t.parts || !t.layout || !t.actions) return 'the model is not written on the typed model layer (src/model)';
  if (!t.layout.cpus || t.layout.cpuCount < 1) return 'the model has no CPU records';
  if (!t.actions.kinds.some((k) => k.actor === 'cpu')) return "the model has no 'cpu' steps";
  const unnamed = t.parts.properties.filter((p) => p.cpus === undefined).map((p) => p.id);
  if (unnamed.length) return `properties ${unnamed.join(', ')} do not say how many CPUs they name`;
  return null;
}

/** The most CPUs one property of `m` names. */
export function cutoffK(m: TypedModel): number {
  return Math.max(0, ...m.parts.properties.map((p) => p.cpus ?? 0));
}

/** A reusable list of successors: their actions, and their states back to back. */
class Successors {
  n = 0;
  acts = new Int32Array(64);
  words: Int32Array;
  scratch: Int32Array;
  constructor(private width: number) {
    this.words = new Int32Array(64 * Math.max(1, width));
    this.scratch = new Int32Array(width);
  }
  /** This list, for states of `width` words. */
  sized(width: number): Successors {
    if (width !== this.width) {
      this.width = width;
      this.words = new Int32Array(64 * Math.max(1, width));
      this.scratch = new Int32Array(width);
    }
    return this;
  }
}

/** A TransitionSystem that checks C1-C4 on every state it expands and every transition out of it. */
export class CheckedCutoffSystem implements TransitionSystem {
  readonly width: number;
  readonly properties;
  readonly parallel = false;
  readonly canonicalize?: (s: Int32Array) => void;
  failure: CutoffFailure | null = null;
  transitionsChecked = 0;
  private readonly inner: TransitionSystem;
  private readonly idleRecord: number[];
  private readonly cpuBase: number;
  private readonly owned: Int32Array[];

  constructor(private readonly m: TypedModel) {
    this.inner = m.system;
    this.width = this.inner.width;
    this.properties = this.inner.properties;
    if (this.inner.canonicalize) this.canonicalize = (s) => this.inner.canonicalize!(s);
    const init = new Int32Array(this.width);
    this.inner.initial(init);
    const cpus = m.layout.cpus!;
    this.idleRecord = Array.from({ length: m.layout.cpuCount }, (_, i) => cpus.get(init, i));
    this.cpuBase = m.actions.base('cpu' as never);
    this.owned = Array.from({ length: m.layout.cpuCount }, (_, i) => m.layout.cpuOwned(i));
    // C3: every CPU idle in the initial state, all alike (so that any of them may be dropped)
    if (this.idleRecord.some((r) => r !== this.idleRecord[0])) this.fail('C3', 'the CPUs do not start in the same record', init);
  }

  initial(out: Int32Array): void {
    this.inner.initial(out);
  }

  violations(s: Int32Array): number {
    return this.inner.violations(s);
  }

  private fail(condition: CutoffCondition, what: string, s: Int32Array): void {
    this.failure ??= { condition, detail: `${what}, in state ${this.m.summary(s)}` };
  }

  private idle(s: Int32Array, j: number, out: Int32Array = new Int32Array(this.width)): Int32Array {
    out.set(s);
    this.m.layout.cpus!.set(out, j, this.idleRecord[j]);
    return out;
  }

  /** Successors of s, collected into a flat buffer: actions in `acts`, the states back to back in `words`. */
  private collect(s: Int32Array, into: Successors): void {
    const w = this.width;
    into.n = 0;
    const next = into.scratch;
    this.inner.expand(s, next, (a) => {
      if ((into.n + 1) * w > into.words.length) {
        const grown = new Int32Array(into.words.length * 2);
        grown.set(into.words);
        into.words = grown;
        const acts = new Int32Array(into.acts.length * 2);
        acts.set(into.acts);
        into.acts = acts;
      }
      into.acts[into.n] = a;
      const words = into.words;
      const at = into.n * w;
      for (let k = 0; k < w; k++) words[at + k] = next[k];
      into.n++;
    });
  }

  private readonly own = new Successors(0);
  private readonly ofIdled = new Successors(0);
  private sj: Int32Array = new Int32Array(0);
  private tj: Int32Array = new Int32Array(0);

  expand(s: Int32Array, next: Int32Array, sink: SuccessorSink): void {
    const own = this.own.sized(this.width);
    this.collect(s, own);
    if (this.failure === null) this.check(s, own);
    const w = this.width;
    const words = own.words;
    for (let i = 0; i < own.n; i++) {
      const at = i * w;
      for (let k = 0; k < w; k++) next[k] = words[at + k];
      sink(own.acts[i]);
    }
  }

  private check(s: Int32Array, succ: Successors): void {
    const n = this.m.layout.cpuCount;
    const w = this.width;
    const v = this.inner.violations(s);
    const props = this.m.parts.properties;
    const idled = this.ofIdled.sized(w);
    if (this.sj.length !== w) {
      this.sj = new Int32Array(w);
      this.tj = new Int32Array(w);
    }
    const { sj, tj } = this;
    const cpus = this.m.layout.cpus!;
    for (let j = 0; j < n; j++) {
      if (cpus.get(s, j) === this.idleRecord[j]) {
        // CPU j is idle: idle_j(s) = s, so C2 and C3 hold for it by identity; only C1 is left
        for (let x = 0; x < succ.n; x++) {
          if (succ.acts[x] !== this.cpuBase + j) continue;
          const at = x * w;
          const own = this.owned[j];
          for (let k = 0; k < w; k++) {
            if ((s[k] ^ succ.words[at + k]) & ~own[k]) return this.fail('C1', `cpu${j}'s move (${this.m.describe(s, succ.words.slice(at, at + w), succ.acts[x]).action}) writes outside its own record`, s);
          }
        }
        this.transitionsChecked += succ.n;
        continue;
      }
      for (let k = 0; k < w; k++) sj[k] = s[k];
      cpus.set(sj, j, this.idleRecord[j]);
      // C3: idling a CPU never creates a violation
      const vj = this.inner.violations(sj);
      if (vj & ~v) return this.fail('C3', `idling cpu${j} creates a violation of ${props.find((_, i) => vj & ~v & (1 << i))?.id}`, s);
      this.collect(sj, idled);
      for (let x = 0; x < succ.n; x++) {
        this.transitionsChecked++;
        const a = succ.acts[x];
        const at = x * w;
        const sw = succ.words;
        if (a === this.cpuBase + j) {
          // C1: CPU j's own move changes nothing but its record
          const own = this.owned[j];
          for (let k = 0; k < w; k++) {
            if ((s[k] ^ sw[at + k]) & ~own[k]) return this.fail('C1', `cpu${j}'s move (${this.m.describe(s, sw.slice(at, at + w), a).action}) writes outside its own record`, s);
          }
          continue;
        }
        // C2: the move is still possible, with the same effect, when CPU j is dropped
        for (let k = 0; k < w; k++) tj[k] = sw[at + k];
        cpus.set(tj, j, this.idleRecord[j]);
        let found = false;
        for (let y = 0; y < idled.n && !found; y++) {
          if (idled.acts[y] !== a) continue;
          const base = y * w;
          let k = 0;
          while (k < w && idled.words[base + k] === tj[k]) k++;
          found = k === w;
        }
        if (!found) {
          const d = this.m.describe(s, sw.slice(at, at + w), a);
          return this.fail('C2', `${d.actor}'s move (${d.action}) is not possible, or not the same, once cpu${j} is idle`, s);
        }
      }
    }
    // C4: a violated property still is once the CPUs it does not name are idled
    for (let p = 0; p < props.length; p++) {
      if (!(v & (1 << p))) continue;
      const c = props[p].cpus ?? n;
      if (!this.someSubsetKeeps(s, p, c)) return this.fail('C4', `${props[p].id} is violated, but by no ${c} CPU(s) alone`, s);
    }
  }

  /** Whether idling every CPU outside some set of c CPUs keeps property p violated. */
  private someSubsetKeeps(s: Int32Array, p: number, c: number): boolean {
    const n = this.m.layout.cpuCount;
    const keep = (mask: number): boolean => {
      const x = s.slice();
      for (let j = 0; j < n; j++) if (!(mask & (1 << j))) this.idle(x, j, x);
      return (this.inner.violations(x) & (1 << p)) !== 0;
    };
    for (let mask = 0; mask < 1 << n; mask++) {
      let bits = 0;
      for (let j = 0; j < n; j++) if (mask & (1 << j)) bits++;
      if (bits === c && keep(mask)) return true;
    }
    return false;
  }
}

/**
 * Every state reachable in `m`, by a plain breadth-first search (for the small systems of the
 * embedding check), in a StateStore; one per orbit when the model reduces interchangeable CPUs (the
 * moves of a permuted state are the permuted moves, which the symmetry reduction of every search
 * already relies on, so checking one state of an orbit checks them all).
 */
function reachableStates(m: TypedModel, limit: number): StateStore | null {
  const sys = m.system;
  const w = sys.width;
  const store = new StateStore(w);
  const init = new Int32Array(w);
  sys.initial(init);
  store.insert(init, 0, -1, -1);
  const s = new Int32Array(w);
  const next = new Int32Array(w);
  const canon = sys.canonicalize;
  for (let h = 0; h < store.size; h++) {
    if (store.size > limit) return null;
    store.read(h, s);
    sys.expand(s, next, () => {
      if (canon) canon(next);
      store.insert(next, 0, h, 0);
    });
  }
  return store;
}

/**
 * C2 and C3 the other way: adding an idle CPU changes nothing. For every
 * reachable state s of `small` (n CPUs) and `big` = the same model with n + 1,
 * embed(s) (the same fields, the new CPU idle) has exactly the moves of s,
 * with the same effects, plus the new CPU's own. A guard that counts CPUs or
 * waits for "some CPU" (the new idle CPU would satisfy it) fails here; so
 * does a model whose shared state depends on the number of CPUs. Then the
 * searches at n + 1 CPUs with one kept idle are the searches at n CPUs.
 */
export function checkEmbedding(small: TypedModel, big: TypedModel, limit = 8_000_000): { failure: CutoffFailure | null; transitions: number } {
  const states = reachableStates(small, limit);
  if (!states) return { failure: { condition: 'C2', detail: `the embedding check's ${small.cpus}-CPU system has more than ${limit} states` }, transitions: 0 };
  const n = small.layout.cpuCount;
  const initBig = new Int32Array(big.system.width);
  big.system.initial(initBig);
  const idle = big.layout.cpus!.get(initBig, n);
  const sharedOf = (L: TypedModel['layout']) => Object.values(L.shared).flatMap((f) => ('fields' in f ? [...f.fields] : [f]));
  const fs = sharedOf(small.layout);
  const fb = sharedOf(big.layout);
  if (fs.length !== fb.length || fs.some((f, i) => f.name !== fb[i].name)) return { failure: { condition: 'C2', detail: 'the shared fields differ between the CPU counts' }, transitions: 0 };
  const embed = (s: Int32Array): Int32Array => {
    const e = new Int32Array(big.system.width);
    fs.forEach((f, i) => fb[i].set(e, f.get(s)));
    for (let i = 0; i < n; i++) big.layout.cpus!.set(e, i, small.layout.cpus!.get(s, i));
    big.layout.cpus!.set(e, n, idle);
    return e;
  };
  const label = (m: TypedModel, a: number): string => {
    const d = m.actions.decode(a);
    return `${d.actor}#${d.i}`;
  };
  /** small's action code as big's (the same actor and index; the codes differ with the CPU count) */
  const bigAction = (a: number): number => {
    const d = small.actions.decode(a);
    return big.actions.base(d.actor as never) + d.i;
  };
  let transitions = 0;
  const wS = small.system.width;
  const wB = big.system.width;
  const next = new Int32Array(wS);
  const nextBig = new Int32Array(wB);
  const init = new Int32Array(wS);
  small.system.initial(init);
  if (embed(init).join(',') !== initBig.join(',')) return { failure: { condition: 'C3', detail: 'the initial state with one more CPU is not the initial state plus an idle CPU' }, transitions };
  const s = new Int32Array(wS);
  const newCpu = big.actions.base('cpu' as never) + n;
  let gotActs: number[] = [];
  let gotWords: Int32Array[] = [];
  for (let h = 0; h < states.size; h++) {
    states.read(h, s);
    gotActs = [];
    gotWords = [];
    big.system.expand(embed(s), nextBig, (a) => {
      if (a !== newCpu) {
        gotActs.push(a);
        gotWords.push(nextBig.slice());
      }
    });
    const used = new Uint8Array(gotActs.length);
    let missing: string | null = null;
    let wanted = 0;
    small.system.expand(s, next, (a) => {
      wanted++;
      if (missing !== null) return;
      const ab = bigAction(a);
      const e = embed(next);
      for (let y = 0; y < gotActs.length; y++) {
        if (used[y] || gotActs[y] !== ab) continue;
        let k = 0;
        while (k < wB && gotWords[y][k] === e[k]) k++;
        if (k === wB) {
          used[y] = 1;
          return;
        }
      }
      missing = label(small, a);
    });
    transitions += wanted;
    const extra = used.findIndex((u) => !u);
    if (missing !== null || extra >= 0) {
      const what = missing === null ? `${label(big, gotActs[extra]).replace('#', ' ')} can move only because an idle CPU was added` : `${(missing as string).replace('#', ' ')} cannot move once an idle CPU is added`;
      return { failure: { condition: 'C2', detail: `${what}, in state ${small.summary(s)}` }, transitions };
    }
  }
  return { failure: null, transitions };
}

/**
 * The every-N check: searches `build(M)` and `build(M + 1)` with C1-C4 checked
 * on every transition. The first search's verdict is the claim for every N
 * when no condition failed; otherwise the outcome says which failed, and the
 * results stand only for the CPU counts searched.
 */
export function runCutoffCheck(build: (cpus: number) => CheckableModel, opts: CheckOptions = {}): CutoffOutcome {
  const probe = build(1);
  const why = cutoffIneligible(probe);
  if (why) throw new Error(`no every-N claim: ${why}`);
  const k = cutoffK(probe as TypedModel);
  const counts = [k + 1, k + 2];
  const results: CheckResult[] = [];
  let failure: CutoffFailure | null = null;
  let checked = 0;
  // idle = absent: the k-CPU system is the (k+1)-CPU system with one CPU kept idle, and so on up
  for (let n = Math.max(1, k); n < counts[counts.length - 1] && !failure; n++) {
    const e = checkEmbedding(build(n) as TypedModel, build(n + 1) as TypedModel);
    checked += e.transitions;
    failure = e.failure;
  }
  for (const M of counts) {
    const m = build(M) as TypedModel;
    const sys = new CheckedCutoffSystem(m);
    // one thread: the checks run inside expand
    results.push(runCheck({ ...m, system: sys, describe: m.describe, sites: m.sites, summary: m.summary, group: m.group }, { ...opts, workers: 1, pipeline: false, origin: undefined }));
    checked += sys.transitionsChecked;
    failure ??= sys.failure;
  }
  return { k, searched: counts, transitionsChecked: checked, failure, results };
}

/**
 * The every-N check as one CheckResult: the verdict of the search at M = k + 1,
 * with `scope` and `cutoff` saying what it covers. Holds: for every N >= 1.
 * Violated: for every N >= c, c the fewest CPUs a violated property names
 * (C4 checked that c suffice). A failed condition: no every-N claim, the
 * scope says the CPU counts searched and which condition failed.
 */
export function cutoffResult(build: (cpus: number) => CheckableModel, opts: CheckOptions = {}): CheckResult {
  const o = runCutoffCheck(build, opts);
  const r = o.results[0];
  const second = o.results[1];
  const probe = build(1) as TypedModel;
  const violated = r.properties.filter((p) => p.status === 'violated').map((p) => p.id);
  const named = (id: string): number => probe.parts.properties.find((p) => p.id === id)?.cpus ?? r.cpus;
  const fromCpus = violated.length ? Math.max(1, Math.min(...violated.map(named))) : 1;
  const agree = second.verdict === r.verdict;
  const checkedText = `cutoff k=${o.k}: searched N=${o.searched.join(' and ')} with C1-C4 checked on ${o.transitionsChecked} transitions`;
  let scope: string;
  if (o.failure) scope = `N=${o.searched.join(' and ')} only: no every-N claim, condition ${o.failure.condition} failed: ${o.failure.detail}`;
  else if (!agree) scope = `N=${o.searched.join(' and ')} only: no every-N claim, the searches at N=${o.searched.join(' and ')} disagree (${r.verdict} vs ${second.verdict})`;
  else if (r.verdict === 'holds') scope = `every number of CPUs (${checkedText})`;
  else if (r.verdict === 'violated') scope = `every number of CPUs N >= ${fromCpus} (${checkedText})`;
  else scope = `N=${o.searched.join(' and ')}: search incomplete, nothing claimed`;
  // What else the claim is about: the model's configuration (its map operations: a script, or every
  // sequence; its level; its protocol source), as the summary line's brackets give it.
  const config = Object.entries(r.config).map(([k, v]) => `${k}: ${v}`).join('; ');
  if (config) scope += `; for ${config}`;
  if (r.about?.assumes) scope += `; assumes ${r.about.assumes}`;
  const claimed = !o.failure && agree && r.verdict !== 'incomplete';
  return {
    ...r,
    states: o.results.reduce((a, x) => a + x.states, 0),
    transitions: o.results.reduce((a, x) => a + x.transitions, 0),
    seconds: o.results.reduce((a, x) => a + x.seconds, 0),
    scope,
    about: r.about ? { ...r.about, scope } : r.about,
    cutoff: { k: o.k, searched: o.searched, transitionsChecked: o.transitionsChecked, failure: claimed ? null : (o.failure ?? { condition: 'agreement', detail: scope }), fromCpus: claimed ? fromCpus : r.cpus },
  };
}
