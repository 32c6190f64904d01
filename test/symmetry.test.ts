/**
 * Symmetry reduction on tailcall-poke: the same verdicts with and without it,
 * for every protocol at N = 2..4, and counterexamples that replay as concrete
 * schedules of the full (unreduced) model.
 */
import { describe, expect, it } from 'vitest';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import { runCheck } from '../src/check/result.js';
import { explore } from '../src/concurrency/explorer.js';
import { replay } from '../src/concurrency/trace.js';
import type { TransitionSystem } from '../src/concurrency/system.js';

const PROTOCOLS = ['v5.10', 'rfc', 'no-sync', 'bypass-first'];
const build = (protocol: string, cpus: number) => buildTailcallPoke({ protocol, cpus, options: { script: 'install f1; update f2; remove; install f3' } });

/** Every (action, successor) of `s`, computed without the explorer. */
function successors(sys: TransitionSystem, s: Int32Array): { action: number; next: Int32Array }[] {
  const out: { action: number; next: Int32Array }[] = [];
  const next = new Int32Array(sys.width);
  sys.expand(s, next, (action) => out.push({ action, next: next.slice() }));
  return out;
}

const same = (a: Int32Array, b: Int32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

describe('verdicts with and without symmetry reduction', () => {
  for (const protocol of PROTOCOLS) {
    for (const cpus of [2, 3, 4]) {
      it(`${protocol} at ${cpus} CPUs: same verdict, same property statuses, same shortest counterexample lengths, fewer states`, () => {
        const full = runCheck(build(protocol, cpus), { symmetry: false });
        const reduced = runCheck(build(protocol, cpus), { symmetry: true });
        expect(reduced.symmetry).toBe(true);
        expect(reduced.verdict).toBe(full.verdict);
        expect(reduced.properties).toEqual(full.properties);
        expect(reduced.counterexamples.map((c) => [c.property, c.steps.length])).toEqual(full.counterexamples.map((c) => [c.property, c.steps.length]));
        expect(reduced.states).toBeLessThan(full.states);
        // An orbit holds at most N! states.
        let fact = 1;
        for (let k = 2; k <= cpus; k++) fact *= k;
        expect(reduced.states * fact).toBeGreaterThanOrEqual(full.states);
      });
    }
  }

  it('the verdicts of docs/reference-verdicts.md section 1 hold under reduction too', () => {
    const v = (p: string) => runCheck(build(p, 3), { symmetry: true });
    expect(v('v5.10').verdict).toBe('holds');
    expect(v('rfc').verdict).toBe('holds');
    expect(v('no-sync').properties.find((p) => p.id === 'P1')!.status).toBe('violated');
    const bf = v('bypass-first');
    expect(bf.properties.filter((p) => p.status === 'violated').map((p) => p.id)).toEqual(['P1', 'P3']);
  });
});

describe('counterexamples found under symmetry are concrete schedules', () => {
  for (const protocol of ['no-sync', 'bypass-first']) {
    for (const cpus of [2, 3, 4]) {
      it(`${protocol} at ${cpus} CPUs: each step is a real successor of the previous concrete state, and the last state violates`, () => {
        const m = build(protocol, cpus);
        const sys = m.system;
        const r = explore(sys, { symmetry: true });
        const found = r.firstViolation.map((idx, i) => ({ idx, i })).filter((x) => x.idx >= 0);
        expect(found.length).toBeGreaterThan(0);
        for (const { idx, i } of found) {
          const t = replay(sys, r.store, idx, true);
          const init = new Int32Array(sys.width);
          sys.initial(init);
          expect(same(t.initial, init)).toBe(true);
          let cur = init;
          for (const step of t.steps) {
            expect(same(step.before, cur)).toBe(true);
            // The step is the model's own move from the concrete state (no canonicalisation involved).
            expect(successors(sys, cur).some((s) => s.action === step.action && same(s.next, step.after))).toBe(true);
            cur = step.after;
          }
          expect(sys.violations(cur) & (1 << i)).not.toBe(0);
          // Shortest: the unreduced search finds a counterexample of the same length.
          const plain = explore(sys, {});
          let depth = 0;
          for (let k = plain.firstViolation[i]; k > 0; k = plain.store.parent(k)) depth++;
          expect(t.steps.length).toBe(depth);
        }
      });
    }
  }

  it('the printed schedule under symmetry names CPUs and bytes like the unreduced one', () => {
    const reduced = runCheck(build('no-sync', 3), { symmetry: true });
    const cx = reduced.counterexample!;
    expect(cx.property).toBe('P1');
    const last = cx.steps[cx.steps.length - 1];
    expect(last.actor).toMatch(/^cpu[0-2]$/);
    expect(last.action).toMatch(/executes nopl .*\[0f 1f 44 00 00\] at tailcall_target/);
  });
});

describe('canonicalize', () => {
  it('maps every state of an orbit to one representative and keeps violations', () => {
    const sys = build('bypass-first', 3).system;
    const r = explore(sys, {});
    const s = new Int32Array(sys.width);
    const c = new Int32Array(sys.width);
    const reps = new Set<string>();
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      c.set(s);
      sys.canonicalize!(c);
      expect(sys.violations(c)).toBe(sys.violations(s));
      const again = c.slice();
      sys.canonicalize!(again);
      expect(same(again, c)).toBe(true);
      reps.add(Array.from(c).join(','));
    }
    expect(reps.size).toBe(explore(sys, { symmetry: true }).states);
  });
});
