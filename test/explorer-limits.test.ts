/**
 * Search limits through the command line (in-process `main`): a search cut
 * short is `incomplete` with exit code 3, never `holds`; the symmetry flags;
 * the progress line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/io.js';
import { progressLine, progressPrinter, rateText } from '../src/cli/progress.js';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import { explore } from '../src/concurrency/explorer.js';
import { runCheck } from '../src/check/result.js';
import { summaryLine } from '../src/check/format.js';

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The scenario these figures were taken with (without --script, tailcall-poke explores every sequence of operations). */
const SCENARIO = 'install f1; update f2; remove; install f3';

describe('--max-states and --max-memory', () => {
  it('--max-states below the state count: INCOMPLETE, exit 3, every unviolated property incomplete, nothing holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-limits-'));
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '4', '--no-symmetry', '--max-states', '5000', '--json', join(dir, 'r.json'));
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE/);
    expect(r.out[0]).not.toMatch(/holds/);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(j.verdict).toBe('incomplete');
    expect(j.limit).toBe('max-states');
    expect(j.properties.map((p: { status: string }) => p.status)).toEqual(['incomplete', 'incomplete', 'incomplete', 'incomplete']);
    // The limit bounds what is stored (one expansion's successors may pass it).
    expect(j.states).toBeGreaterThan(5000);
    expect(j.states).toBeLessThan(5100);
  });

  it('--max-states under symmetry too', async () => {
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'rfc', '--cpus', '4', '--max-states', '500');
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE/);
  });

  it('--max-states at or above the state count lets the search finish: v5.10 at 2 CPUs has 936 states and holds', async () => {
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '2', '--no-symmetry', '--max-states', '936');
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/HOLDS \(.*\); 936 states/);
  });

  it('--max-memory: INCOMPLETE, exit 3, and the visited set stopped before it grew past the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-limits-'));
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'rfc', '--cpus', '4', '--no-symmetry', '--max-memory', '2', '--json', join(dir, 'r.json'));
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE/);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(j.limit).toBe('max-memory');
    expect(j.memoryMB).toBeLessThanOrEqual(2);
    expect(j.states).toBeLessThan(174187);
  });

  it('a violation found before a limit is still reported (violated, exit 1), with its counterexample', async () => {
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'no-sync', '--cpus', '4', '--no-symmetry', '--max-states', '100000');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/P1 violated/);
    expect(r.out[0]).not.toMatch(/P2 holds/);
  });

  it('a limit that is not a whole number is bad input (exit 2)', async () => {
    expect((await run('check', 'tailcall-poke', '--script', SCENARIO, '--max-states', 'lots')).code).toBe(2);
    expect((await run('check', 'tailcall-poke', '--script', SCENARIO, '--max-memory', '0')).code).toBe(2);
  });

  it('--store js and --store wasm: the same search; any other --store is bad input (exit 2, one line)', async () => {
    const js = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '4', '--no-symmetry', '--store', 'js');
    const wasm = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '4', '--no-symmetry', '--store', 'wasm');
    expect(js.code).toBe(0);
    expect(wasm.code).toBe(0);
    const counts = (l: string) => l.replace(/, [0-9.]+ s.*/, '');
    expect(counts(js.out[0])).toBe(counts(wasm.out[0]));
    expect(js.out[0]).toMatch(/HOLDS .*; 65424 states, 308869 transitions/);
    const bad = await run('check', 'tailcall-poke', '--script', SCENARIO, '--store', 'rocks');
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual([expect.stringMatching(/--store must be wasm or js, got 'rocks'/)]);
  });

  it('a WebAssembly visited set that would pass its capacity stops the search first: store-full, incomplete, nothing holds', () => {
    const m = buildTailcallPoke({ protocol: 'rfc', cpus: 5, options: {} });
    const r = explore(m.system, { symmetry: false, storeCapacityBytes: 16 * 2 ** 20 });
    expect(r.complete).toBe(false);
    expect(r.limit).toBe('store-full');
    expect(r.storeBytes).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(r.states).toBeLessThan(2_204_269);
    const c = runCheck(m, { symmetry: false, storeCapacityBytes: 16 * 2 ** 20 });
    expect(c.verdict).toBe('incomplete');
    expect(c.properties.filter((p) => p.status === 'holds')).toEqual([]);
    expect(c.properties.some((p) => p.status === 'incomplete')).toBe(true);
    expect(summaryLine(c)).toMatch(/INCOMPLETE .*stopped: the visited set reached its 4 GiB WebAssembly memory \(--store js has no such cap\), search incomplete$/);
  });

  it('the explorer itself: complete only without a limit', () => {
    const sys = buildTailcallPoke({ protocol: 'v5.10', cpus: 3, options: {} }).system;
    expect(explore(sys, {}).complete).toBe(true);
    const cut = explore(sys, { maxStates: 100 });
    expect(cut.complete).toBe(false);
    expect(cut.limit).toBe('max-states');
  });
});

describe('symmetry flags', () => {
  it('symmetry reduction is the default for check; --no-symmetry explores every state', async () => {
    const on = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '3');
    expect(on.out[0]).toMatch(/symmetry reduced/);
    const off = await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'v5.10', '--cpus', '3', '--no-symmetry');
    expect(off.out[0]).toMatch(/HOLDS \(.*\); 7362 states/);
    expect(off.out[0]).not.toMatch(/symmetry/);
  });

  it('--symmetry with --no-symmetry is bad input', async () => {
    const r = await run('check', 'tailcall-poke', '--script', SCENARIO, '--symmetry', '--no-symmetry');
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/exclude each other/);
  });
});

describe('progress line', () => {
  it('shows states, states/s, queue, depth, memory and time, redrawn in place, and is erased at the end', () => {
    const writes: string[] = [];
    const p = progressPrinter((s) => writes.push(s));
    p.update({ states: 1_000_000, transitions: 5_000_000, queue: 250_000, depth: 31, seconds: 1, memoryMB: 64 });
    p.update({ states: 2_500_000, transitions: 9_000_000, queue: 400_000, depth: 33, seconds: 2, memoryMB: 128 });
    p.done();
    expect(writes[0]).toBe('\r\x1b[K1,000,000 states  1.00 M states/s  queue 250,000  depth 31  64 MB  1.0 s');
    expect(writes[1]).toMatch(/^\r\x1b\[K2,500,000 states {2}1\.50 M states\/s {2}queue 400,000 {2}depth 33 {2}128 MB {2}2\.0 s$/);
    expect(writes[2]).toBe('\r\x1b[K');
    expect(rateText(950)).toBe('950');
    expect(rateText(12_345)).toBe('12.3 k');
    expect(progressLine({ states: 0, transitions: 0, queue: 0, depth: 0, seconds: 0, memoryMB: 0 }, 0)).toMatch(/^0 states/);
  });

  it('is not drawn when the output is not a terminal', async () => {
    const calls: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (calls.push(String(s)), true)) as typeof process.stderr.write;
    try {
      await run('check', 'tailcall-poke', '--script', SCENARIO, '--protocol', 'rfc', '--cpus', '4', '--no-symmetry');
    } finally {
      process.stderr.write = orig;
    }
    expect(calls.filter((c) => c.includes('states/s'))).toEqual([]);
  });
});
