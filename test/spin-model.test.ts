/**
 * The SPIN twin of `tailcall-poke` (bench/spin/tailcall-poke.pml) gives the
 * verdicts of docs/reference-verdicts.md section 1 at N = 2, and exactly the state
 * counts of the model (cross-checked against an independent breadth-first
 * search when the model was written). Skipped, with a message, when spin or gcc
 * is not installed (`apt-get install spin`).
 */
import { describe, expect, it } from 'vitest';
import { parsePan, runSpin, spinAvailable, type SpinProperty } from '../bench/spin.js';

const available = spinAvailable();
if (!available) {
  console.warn('test/spin-model.test.ts: SKIPPED, spin or gcc is not installed (apt-get install spin)');
}

/** Reachable states and edges+1 of the model at N = 2 (the whole space). */
const FULL_N2: Record<string, { states: number; transitions: number }> = {
  'v5.10': { states: 936, transitions: 2786 },
  rfc: { states: 1435, transitions: 4307 },
  'no-sync': { states: 1897, transitions: 5340 },
  'bypass-first': { states: 1366, transitions: 3817 },
};

const PROPS: SpinProperty[] = ['P1', 'P2', 'P3', 'P4'];
/** Small models: pan compiles 4x faster at -O0 and searches them in milliseconds. */
const FAST = { cpus: 2, optLevel: '-O0' } as const;

/** Checks each property alone; a property that holds was checked over the whole space. */
async function brokenProperties(protocol: string): Promise<string[]> {
  const runs = await Promise.all(PROPS.map((p) => runSpin({ protocol, ...FAST, properties: [p] })));
  const broken: string[] = [];
  for (const [i, r] of runs.entries()) {
    if (r.verdict === 'violated') {
      expect(r.violated, `${protocol} ${PROPS[i]}`).toBe(PROPS[i]);
      broken.push(PROPS[i]);
    } else {
      expect(r.verdict, `${protocol} ${PROPS[i]}`).toBe('holds');
      expect({ states: r.states, transitions: r.transitions }, `${protocol} ${PROPS[i]}`).toEqual(FULL_N2[protocol]);
    }
  }
  return broken;
}

describe.skipIf(!available)('SPIN tailcall-poke model, N = 2 (skipped when spin is not installed)', () => {
  it('v5.10 holds P1-P4 and explores the whole space (pan built as the benchmark builds it, -O2)', async () => {
    const r = await runSpin({ protocol: 'v5.10', cpus: 2 });
    expect(r.verdict).toBe('holds');
    expect(r.violated).toBeUndefined();
    expect({ states: r.states, transitions: r.transitions }).toEqual(FULL_N2['v5.10']);
    expect(r.tool).toBe('spin');
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.peakMemoryMB).toBeGreaterThan(0);
  });

  it('rfc holds P1-P4 and explores the whole space', async () => {
    const r = await runSpin({ protocol: 'rfc', ...FAST });
    expect(r.verdict).toBe('holds');
    expect({ states: r.states, transitions: r.transitions }).toEqual(FULL_N2.rfc);
  });

  it('no-sync violates P1, and only P1', async () => {
    const all = await runSpin({ protocol: 'no-sync', ...FAST });
    expect(all.verdict).toBe('violated');
    expect(all.violated).toBe('P1');
    expect(await brokenProperties('no-sync')).toEqual(['P1']);
  });

  it('bypass-first violates P1 and P3, and nothing else', async () => {
    const all = await runSpin({ protocol: 'bypass-first', ...FAST });
    expect(all.verdict).toBe('violated');
    // the text reaches state A (P3) before any CPU can fall through it (P1)
    expect(all.violated).toBe('P3');
    expect(await brokenProperties('bypass-first')).toEqual(['P1', 'P3']);
  });

  it('raises -m when pan says the search depth is too small, never reporting a truncated search', async () => {
    const r = await runSpin({ protocol: 'v5.10', ...FAST, maxDepth: 10 });
    expect(r.verdict).toBe('holds');
    expect(r.states).toBe(FULL_N2['v5.10'].states);
    expect(r.panRuns).toBeGreaterThan(1);
    expect(r.maxDepth).toBeGreaterThanOrEqual(r.depth ?? Infinity);
  });
});

describe('parsePan (no spin needed)', () => {
  it('reads a memory-bound stop as not complete', () => {
    const rep = parsePan('pan: reached -DMEMLIM bound\n\t1 bytes used\nWarning: Search not completed\nState-vector 0 byte, depth reached 0, errors: 0\n        0 states, stored\n');
    expect(rep.memLimitReached).toBe(true);
    expect(rep.notCompleted).toBe(true);
  });

  it('names the property of a failed assertion', () => {
    const rep = parsePan(
      'pan:1: assertion violated (P3_text_never_in_state_A|| !(((P==1)&&(T==0)))) (at depth 8)\nState-vector 28 byte, depth reached 8, errors: 1\n        9 states, stored\n       15 transitions (= stored+matched)\n',
    );
    expect(rep.violated).toBe('P3');
    expect(rep.errors).toBe(1);
    expect(rep.states).toBe(9);
    expect(rep.transitions).toBe(15);
    expect(rep.stateVectorBytes).toBe(28);
  });
});
