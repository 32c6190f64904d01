/**
 * Sampling: random schedules drawn by fast-check over a model's enabled moves
 * (src/check/schedule.ts), every property checked after every step. Where the
 * exhaustive search (src/check/result.ts) cannot go (64 CPUs, the byte level
 * at 8 CPUs, a long script) a sample still finds the races that are likely
 * enough; what it cannot do is say that a property holds, so a sample that
 * finds nothing has its own verdict, `sampled`, and never `holds`.
 *
 * A violation is shrunk by fast-check (shorter schedules, smaller choices),
 * replayed through the model's `expand` into a concrete trace, its cycles cut
 * (a state visited twice), and printed like an exhaustive counterexample
 * (src/check/format.ts). fast-check's seed and counterexample path reproduce
 * it: `sample({ seed, path })` replays that schedule without searching.
 */
import fc from 'fast-check';
import type { CheckableModel, SiteView } from '../concurrency/model.js';
import { counterexampleOf, type Counterexample } from './result.js';
import { DEFAULT_SCHEDULER, SchedulePlayer, withoutCycles, type Schedule, type SchedulerKind } from './schedule.js';

export { DEFAULT_SCHEDULER, SchedulePlayer, SCHEDULERS, type Played, type Schedule, type SchedulerKind } from './schedule.js';

export const DEFAULT_RUNS = 1000;
export const DEFAULT_STEPS = 200;
export const DEFAULT_SHRINK_SECONDS = 10;
/** How often (out of 8) a biased choice stays with the previous step's actor. */
const STAY_WEIGHT = 6;
const MAX_CHOICE = 0x3fffffff;

export interface ScheduleOptions {
  /** Most steps in one schedule (default 200). */
  steps?: number;
  /** How choices are read and drawn (default biased). */
  scheduler?: SchedulerKind;
}

/**
 * The fast-check arbitrary of schedules of at most `steps` steps. A schedule
 * is a list of choices read against the enabled moves (SchedulePlayer), so
 * fast-check's shrinking (fewer and smaller choices) gives shorter schedules
 * of moves that are still enabled.
 */
export function schedules(opts: ScheduleOptions = {}): fc.Arbitrary<number[]> {
  const steps = opts.steps ?? DEFAULT_STEPS;
  const scheduler = opts.scheduler ?? DEFAULT_SCHEDULER;
  const any = fc.noBias(fc.nat({ max: MAX_CHOICE }));
  // The unmappers let a choice shrink without fast-check's context (after a trim, below).
  const parity = (bit: number) => (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_CHOICE || (v & 1) !== bit) throw new Error('not a choice of this kind');
    return v;
  };
  const choice =
    scheduler === 'uniform'
      ? any
      : fc.oneof(
          { weight: STAY_WEIGHT, arbitrary: any.map((c) => (c & ~1) | 1, parity(1)) },
          { weight: 8 - STAY_WEIGHT, arbitrary: any.map((c) => c & ~1, parity(0)) },
        );
  return fc.array(choice, { maxLength: steps, size: 'max' });
}

/**
 * Schedules of one model, shrunk first in the model's own terms, then by
 * fast-check's array shrinking:
 *  - the cut after the first violating step (the choices after it play no
 *    part, and fast-check would spend most of its shrinking taking them out
 *    a chunk at a time);
 *  - the same steps, taken with the smallest choices that take them;
 *  - steps left out, the others kept as the same actions (fast-check's own
 *    removal of a choice shifts what every later choice means, and so stops
 *    at schedules that a deletion here still shortens): every step of one
 *    action number (an actor that plays no part), then runs of steps, halves
 *    first, down to single steps;
 *  - each step moved before the steps just before it that have higher action
 *    numbers (so that a race one actor wins late is tried won early, after
 *    which the violation often comes sooner and the cut above shortens it;
 *    each such move lowers the number of out-of-order pairs, so these moves
 *    cannot go round in circles).
 * All are deterministic, so fast-check's path replays them.
 */
class ModelSchedules extends fc.Arbitrary<number[]> {
  private readonly player: SchedulePlayer;
  constructor(
    private readonly m: CheckableModel,
    scheduler: SchedulerKind,
    private readonly inner: fc.Arbitrary<number[]>,
  ) {
    super();
    this.player = new SchedulePlayer(m, scheduler);
  }
  /** Gives a schedule the text fast-check prints for it: the actors of its steps, and what it violates. */
  private named(v: fc.Value<number[]>): fc.Value<number[]> {
    const s = v.value_;
    Object.defineProperty(s, fc.toStringMethod, {
      enumerable: false,
      value: () => {
        const t = this.player.trace(s);
        const actors = t.steps.map((st) => this.m.describe(st.before, st.after, st.action).actor);
        const bad = this.m.system.properties.filter((_, i) => t.violations & (1 << i)).map((p) => p.id);
        return `schedule of ${actors.length} steps (${actors.join(', ')})${bad.length ? ` violating ${bad.join(', ')}` : ''}`;
      },
    });
    return new fc.Value(s, v.context);
  }
  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<number[]> {
    return this.named(this.inner.generate(mrng, biasFactor));
  }
  canShrinkWithoutContext(value: unknown): value is number[] {
    return this.inner.canShrinkWithoutContext(value);
  }
  shrink(value: number[], context: unknown): fc.Stream<fc.Value<number[]>> {
    const p = this.player.play(value);
    if (p.steps < value.length) return fc.Stream.of(this.named(new fc.Value(value.slice(0, p.steps), undefined)));
    return fc
      .stream(this.deletions(value, p.violations !== 0))
      .join(this.inner.shrink(value, context))
      .map((v) => this.named(v));
  }
  private *deletions(value: number[], violating: boolean): IterableIterator<fc.Value<number[]>> {
    if (!violating) return;
    const actions = this.player.actions(value);
    const n = actions.length;
    const tried = new Set<string>();
    const candidate = (kept: number[]): fc.Value<number[]> | null => {
      const k = kept.join(',');
      if (kept.length === n || tried.has(k)) return null;
      tried.add(k);
      const s = this.player.scheduleOf(kept);
      return s ? new fc.Value(s, undefined) : null;
    };
    // The same steps with the smallest choices that take them (fast-check's
    // shrinking of each choice towards 0 then has little left to try).
    const same = this.player.scheduleOf(actions);
    if (same && same.some((c, i) => c !== value[i])) yield new fc.Value(same, undefined);
    // Every step of one action number (an actor that plays no part, e.g. another CPU).
    for (const a of [...new Set(actions)].sort((x, y) => y - x)) {
      const c = candidate(actions.filter((x) => x !== a));
      if (c) yield c;
    }
    // Runs of steps, halves first, then single steps, from the end.
    for (let size = n >> 1; size >= 1; size >>= 1) {
      for (let i = n - size; i >= 0; i -= size) {
        const c = candidate([...actions.slice(0, i), ...actions.slice(i + size)]);
        if (c) yield c;
      }
    }
    for (let i = 1; i < n; i++) {
      let j = i;
      while (j > 0 && actions[j - 1] > actions[i]) j--;
      if (j === i) continue;
      const s = this.player.scheduleOf([...actions.slice(0, j), actions[i], ...actions.slice(j, i), ...actions.slice(i + 1)]);
      if (s) yield new fc.Value(s, undefined);
    }
  }
}

/** `schedules`, for one model: its shrinking starts in the model's own terms (ModelSchedules). */
export function modelSchedules(m: CheckableModel, opts: ScheduleOptions = {}): fc.Arbitrary<number[]> {
  const scheduler = opts.scheduler ?? DEFAULT_SCHEDULER;
  return new ModelSchedules(m, scheduler, schedules({ ...opts, scheduler }));
}

/** The counterexamples of `schedule` (one per property its last state violates, cycles cut), or none. */
export function counterexamplesOf(m: CheckableModel, schedule: Schedule, opts: ScheduleOptions = {}): Counterexample[] {
  const played = new SchedulePlayer(m, opts.scheduler ?? DEFAULT_SCHEDULER).trace(schedule);
  if (!played.violations) return [];
  const t = withoutCycles(played);
  return m.system.properties.flatMap((_, i) => (played.violations & (1 << i) ? [counterexampleOf(m, i, t)] : []));
}

export interface SampleOptions extends ScheduleOptions {
  /** Schedules to try (default 1000). */
  runs?: number;
  /** fast-check's seed (default: a random one, reported). */
  seed?: number;
  /** fast-check's counterexample path: with `seed`, replays that schedule (no search, no further shrinking). */
  path?: string;
  /** Stop drawing after this many milliseconds (the result says it was interrupted). */
  timeLimitMs?: number;
  /** Most seconds spent shrinking a violation (default 10); the result says whether it was cut short. */
  shrinkSeconds?: number;
  /** Called with every state the drawn schedules reach (not those of shrinking). */
  observe?: (state: Int32Array) => void;
}

export type SampleVerdict = 'violated' | 'sampled';
export type SampledStatus = 'violated' | 'not-found' | 'not-checked';

export interface SampleResult {
  model: string;
  protocol: string;
  cpus: number;
  config: Record<string, string>;
  /** `sampled`: no violation in the schedules drawn, which proves nothing. */
  verdict: SampleVerdict;
  properties: { id: string; description: string; status: SampledStatus }[];
  scheduler: SchedulerKind;
  seed: number;
  /** fast-check's path of the shrunk counterexample (`--seed X --replay PATH`), or null. */
  path: string | null;
  /** True when `path` was given: one schedule replayed, nothing searched. */
  replay: boolean;
  /** Schedules asked for, and at most how many steps each. */
  maxRuns: number;
  maxSteps: number;
  /** Schedules run up to and including the first that violated (all of them if none did). */
  runs: number;
  /** Steps taken by those runs (not counting shrinking). */
  steps: number;
  /** Seconds to the first violating schedule (before shrinking), or null. */
  secondsToFirst: number | null;
  /** Steps of the first violating schedule, before shrinking, or null. */
  firstLength: number | null;
  /** Successful shrinks fast-check made. */
  shrinks: number;
  /** The shrink budget ran out (the counterexample is a real one, maybe not the shortest fast-check would find). */
  shrinkCut: boolean;
  /** The time limit stopped the drawing before `maxRuns`. */
  interrupted: boolean;
  seconds: number;
  /** The shrunk schedule (choices), for the record. */
  schedule: number[] | null;
  counterexample: Counterexample | null;
  /** One per property the shrunk schedule's last state violates. */
  counterexamples: Counterexample[];
}

/** Problems with the options of a sample (bad seed, malformed path): exit code 2 on the command line. */
export class SampleOptionError extends Error {}

const PATH_RE = /^\d+(:\d+)*$/;

export function sample(m: CheckableModel, opts: SampleOptions = {}): SampleResult {
  const scheduler = opts.scheduler ?? DEFAULT_SCHEDULER;
  const maxRuns = opts.runs ?? DEFAULT_RUNS;
  const maxSteps = opts.steps ?? DEFAULT_STEPS;
  if (opts.path !== undefined && !PATH_RE.test(opts.path)) throw new SampleOptionError(`a replay path is fast-check's counterexample path, numbers separated by ':' (e.g. 12:0:3), got '${opts.path}'`);
  if (opts.path !== undefined && opts.seed === undefined) throw new SampleOptionError('a replay path needs the seed it was found with');
  if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < -(2 ** 31) || opts.seed >= 2 ** 31)) throw new SampleOptionError(`a seed is a 32-bit integer, got ${opts.seed}`);
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const player = new SchedulePlayer(m, scheduler);
  const t0 = performance.now();
  let runs = 0;
  let steps = 0;
  let secondsToFirst: number | null = null;
  let firstLength: number | null = null;
  let shrinking = false;
  let shrinkStart = 0;
  let shrinkCut = false;
  const shrinkMs = (opts.shrinkSeconds ?? DEFAULT_SHRINK_SECONDS) * 1000;
  player.observe = opts.observe ?? null;
  const property = fc.property(modelSchedules(m, { steps: maxSteps, scheduler }), (s) => {
    if (shrinking) {
      // Past the budget, every further candidate is declined unplayed: the
      // counterexample stays the last one that really failed.
      if (shrinkCut || performance.now() - shrinkStart > shrinkMs) return (shrinkCut = true);
      return player.play(s).violations === 0;
    }
    // A replay plays the one schedule its path names, and nothing after it.
    if (opts.path !== undefined && runs > 0) return true;
    const p = player.play(s);
    runs++;
    steps += p.steps;
    if (p.violations === 0) return true;
    shrinking = true;
    shrinkStart = performance.now();
    player.observe = null;
    secondsToFirst = (performance.now() - t0) / 1000;
    firstLength = p.steps;
    return false;
  });
  let details: fc.RunDetails<[number[]]>;
  try {
    details = fc.check(property, {
      seed,
      numRuns: maxRuns,
      path: opts.path,
      endOnFailure: opts.path !== undefined,
      interruptAfterTimeLimit: opts.timeLimitMs,
    });
  } catch (e) {
    // fast-check walks the path through the runs and shrinks it generates: a path
    // from another seed, --steps, --scheduler or model leads nowhere.
    if (opts.path !== undefined && /replay/i.test((e as Error).message)) {
      throw new SampleOptionError(`the replay path ${opts.path} does not fit seed ${seed} with these options (same model, --steps and --scheduler as when it was found?)`);
    }
    throw e;
  }
  player.observe = null;
  const seconds = (performance.now() - t0) / 1000;
  const schedule = details.failed && details.counterexample ? details.counterexample[0] : null;
  const counterexamples = schedule ? counterexamplesOf(m, schedule, { scheduler }) : [];
  const violated = schedule ? player.play(schedule).violations : 0;
  const properties = m.system.properties.map((p, i) => ({
    id: p.id,
    description: p.description,
    status: (violated & (1 << i) ? 'violated' : p.checked ? 'not-found' : 'not-checked') as SampledStatus,
  }));
  return {
    model: m.model,
    protocol: m.protocol,
    cpus: m.cpus,
    config: m.config,
    verdict: violated ? 'violated' : 'sampled',
    properties,
    scheduler,
    seed: details.seed,
    path: schedule ? details.counterexamplePath : null,
    replay: opts.path !== undefined,
    maxRuns,
    maxSteps,
    runs,
    steps,
    secondsToFirst,
    firstLength,
    shrinks: details.numShrinks,
    shrinkCut,
    interrupted: details.interrupted,
    seconds,
    schedule,
    counterexample: counterexamples[0] ?? null,
    counterexamples,
  };
}

export type { Counterexample, SiteView };
