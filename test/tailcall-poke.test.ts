/** The tailcall-poke model through the command line: verdicts, exit codes, outputs. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import { explore } from '../src/concurrency/explorer.js';
import { cli } from './helpers/cli.js';

const NOP5 = '0f 1f 44 00 00';

describe('expected verdicts (docs/reference-verdicts.md section 1) at N = 2, 3, 4', () => {
  for (const cpus of ['2', '3', '4']) {
    for (const protocol of ['v5.10', 'rfc']) {
      it(`${protocol} holds at ${cpus} CPUs (exit 0)`, async () => {
        const r = await cli('check', 'tailcall-poke', '--protocol', protocol, '--cpus', cpus);
        expect(r.code).toBe(0);
        expect(r.out[0]).toMatch(/HOLDS/);
        expect(r.out[0]).toMatch(/P1 holds, P2 holds, P3 holds/);
      });
    }
    it(`no-sync violates P1 at ${cpus} CPUs (exit 1), the CPU executing the target's nop5`, async () => {
      const r = await cli('check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', cpus);
      expect(r.code).toBe(1);
      expect(r.out[0]).toMatch(/VIOLATED \(P1 violated/);
      const text = r.out.join('\n');
      const steps = text.split('\n').filter((l) => /^\s+\d+\. /.test(l));
      const last = steps[steps.length - 1];
      expect(last).toMatch(new RegExp(`cpu\\d: executes nopl .*\\[${NOP5}\\] at tailcall_target .* -> fell_through`));
    });
    it(`bypass-first violates P1 and P3 at ${cpus} CPUs (exit 1)`, async () => {
      const r = await cli('check', 'tailcall-poke', '--protocol', 'bypass-first', '--cpus', cpus);
      expect(r.code).toBe(1);
      expect(r.out[0]).toMatch(/P1 violated/);
      expect(r.out[0]).toMatch(/P3 violated/);
      // The P1 counterexample ends with a CPU executing nop5 at the target site.
      expect(r.out.join('\n')).toMatch(new RegExp(`executes nopl .*\\[${NOP5}\\] at tailcall_target`));
    });
  }
});

describe('the search', () => {
  it('gives the same state count from run to run', () => {
    const a = explore(buildTailcallPoke({ protocol: 'v5.10', cpus: 3, options: { script: 'install f1; update f2; remove; install f3' } }).system);
    const b = explore(buildTailcallPoke({ protocol: 'v5.10', cpus: 3, options: { script: 'install f1; update f2; remove; install f3' } }).system);
    expect(a.complete).toBe(true);
    expect(a.states).toBe(b.states);
    expect(a.transitions).toBe(b.transitions);
  });

  it('keeps the A-D site machine in step with the decoded bytes in every reachable state', () => {
    const m = buildTailcallPoke({ protocol: 'bypass-first', cpus: 2, options: { script: 'install f1; update f2; remove; install f3' } });
    const r = explore(m.system);
    const s = new Int32Array(m.system.width);
    const seen = new Set<string>();
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      const [bypass, target] = m.sites(s);
      const bypassJmp = bypass.bytes.startsWith('e9');
      const targetJmp = target.bytes.startsWith('e9');
      expect(bypassJmp || bypass.bytes === NOP5).toBe(true);
      expect(targetJmp || target.bytes === NOP5).toBe(true);
      const expected = bypassJmp ? (targetJmp ? 'D' : 'C') : targetJmp ? 'B' : 'A';
      const site = /^site ([A-D]);/.exec(m.summary(s))![1];
      expect(site).toBe(expected);
      seen.add(site);
    }
    expect([...seen].sort()).toEqual(['A', 'B', 'C', 'D']);
  });
});

describe('command line', () => {
  it('check --all exits 0 with every verdict as expected', async () => {
    const r = await cli('check', '--all');
    expect(r.code).toBe(0);
    expect(r.out[r.out.length - 1]).toMatch(/^(\d+) of \1 verdicts as expected$/);
  });

  it('rejects an unknown model, protocol or flag with one line and exit 2', async () => {
    for (const argv of [
      ['check', 'no-such-model'],
      ['check', 'tailcall-poke', '--protocol', 'v9'],
      ['check', 'tailcall-poke', '--frobnicate'],
      ['check', 'tailcall-poke', '--cpus', 'two'],
      ['check', 'tailcall-poke', '--script', 'install g1'],
      ['frob'],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^pokecheck: /);
      expect(r.out).toHaveLength(0);
    }
  });

  it('--json writes the documented schema, --md a proof report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-'));
    const r = await cli('check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', '2', '--json', join(dir, 'r.json'), '--md', join(dir, 'r.md'));
    expect(r.code).toBe(1);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    expect(j).toMatchObject({ model: 'tailcall-poke', protocol: 'no-sync', cpus: 2, verdict: 'violated' });
    expect(j.properties.map((p: { id: string }) => p.id)).toEqual(['P1', 'P2', 'P3', 'P4']);
    expect(j.properties[0]).toMatchObject({ id: 'P1', status: 'violated' });
    expect(typeof j.states).toBe('number');
    expect(typeof j.transitions).toBe('number');
    expect(typeof j.seconds).toBe('number');
    expect(j.counterexample.property).toBe('P1');
    const last = j.counterexample.steps[j.counterexample.steps.length - 1];
    expect(last.actor).toMatch(/^cpu\d$/);
    expect(last.sites.map((s: { name: string }) => s.name)).toEqual(['tailcall_bypass', 'tailcall_target']);
    for (const step of j.counterexample.steps) {
      for (const site of step.sites) {
        expect(site.bytes).toMatch(/^[0-9a-f]{2}( [0-9a-f]{2}){4}$/);
        expect(site.address).toMatch(/^0x[0-9a-f]{16}$/);
        expect(site.disasm.length).toBeGreaterThan(0);
      }
    }
    const md = readFileSync(join(dir, 'r.md'), 'utf8');
    expect(md).toMatch(/\*\*Verdict: violated\*\*/);
    expect(md).toMatch(/## Counterexample: P1/);
  });

  it('a search cut short by --max-states says incomplete (exit 3), never holds', async () => {
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '4', '--max-states', '2000');
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/INCOMPLETE/);
    expect(r.out[0]).not.toMatch(/holds/);
  });
});
