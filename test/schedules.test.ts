/**
 * Random schedules (fast-check commands, which shrink) over the tailcall-poke
 * model's own steps: one command per actor step (a CPU, the updater, the RCU
 * free of a program). v5.10 must never break P1-P4; for no-sync a P1
 * violation must be found, shrink to a short schedule, and replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import type { CheckableModel } from '../src/concurrency/model.js';

const CPUS = 2;
const PROGS = 3;

interface Real {
  model: CheckableModel;
  state: Int32Array;
  trace: string[];
}

/** Takes the step of actor `action` from the current state, if it is enabled. */
function step(real: Real, action: number): boolean {
  const next = new Int32Array(real.model.system.width);
  let taken: Int32Array | null = null;
  real.model.system.expand(real.state, next, (a) => {
    if (a === action && !taken) taken = next.slice();
  });
  if (!taken) return false;
  const d = real.model.describe(real.state, taken, action);
  real.trace.push(`${d.actor}: ${d.action}`);
  real.state = taken;
  return true;
}

/** `count` consecutive steps of one actor (a disabled step is skipped: the actor waits). */
class ActorSteps implements fc.Command<object, Real> {
  constructor(
    readonly action: number,
    readonly count: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(_m: object, real: Real): void {
    for (let i = 0; i < this.count; i++) {
      step(real, this.action);
      const v = real.model.system.violations(real.state);
      const props = real.model.system.properties;
      const broken = props.filter((p, j) => p.checked && v & (1 << j)).map((p) => p.id);
      if (broken.length) throw new Error(`${broken.join(', ')} violated after:\n${real.trace.join('\n')}`);
    }
  }
  toString(): string {
    const who = this.action < CPUS ? `cpu${this.action}` : this.action === CPUS ? 'updater' : `rcu_free_f${this.action - CPUS}`;
    return `${who} x${this.count}`;
  }
}

const commands = [
  ...Array.from({ length: CPUS }, (_, i) => fc.integer({ min: 1, max: 4 }).map((n) => new ActorSteps(i, n))),
  fc.integer({ min: 1, max: 8 }).map((n) => new ActorSteps(CPUS, n)),
  fc.integer({ min: 1, max: PROGS }).map((k) => new ActorSteps(CPUS + k, 1)),
];

const models = new Map<string, CheckableModel>();
function modelFor(protocol: string): CheckableModel {
  let m = models.get(protocol);
  if (!m) models.set(protocol, (m = buildTailcallPoke({ protocol, cpus: CPUS, options: { script: 'install f1; update f2; remove; install f3' } })));
  return m;
}

function property(protocol: string) {
  return fc.property(fc.commands(commands, { maxCommands: 40 }), (cmds) => {
    const model = modelFor(protocol);
    const state = new Int32Array(model.system.width);
    model.system.initial(state);
    fc.modelRun(() => ({ model: {}, real: { model, state, trace: [] } }), cmds);
  });
}

describe('random schedules of CPU and updater steps', () => {
  it('v5.10 never breaks P1-P4', () => {
    fc.assert(property('v5.10'), { numRuns: 300, seed: 4242 });
  });

  it('no-sync: a P1 violation is found and shrinks to a short replayable schedule', () => {
    const out = fc.check(property('no-sync'), { numRuns: 3000, seed: 7 });
    expect(out.failed).toBe(true);
    // fast-check hands back its wrappers around our commands (`.cmd`); only the ones that ran count.
    const shrunk = [...(out.counterexample![0] as Iterable<{ cmd: ActorSteps; hasRan: boolean }>)].filter((w) => w.hasRan).map((w) => w.cmd);
    expect(shrunk.length).toBeGreaterThan(0);
    const error = String((out.errorInstance as Error).message);
    expect(error).toMatch(/^P1 violated/);
    // The breadth-first shortest P1 schedule has 13 steps; the shrunk one is about as short.
    const steps = shrunk.reduce((n, c) => n + c.count, 0);
    expect(steps).toBeLessThanOrEqual(20);
    // Replay: the shrunk schedule, run on a fresh model, violates P1 at its end.
    const model = modelFor('no-sync');
    const real: Real = { model, state: new Int32Array(model.system.width), trace: [] };
    model.system.initial(real.state);
    for (const c of shrunk) for (let i = 0; i < c.count; i++) step(real, c.action);
    expect(model.system.violations(real.state) & 1).toBe(1);
  });
});
