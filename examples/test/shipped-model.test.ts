/**
 * A model pokecheck ships, checked through the library as a user's suite
 * would. The expected verdicts are the kernel's, from pokecheck's
 * docs/reference-verdicts.md section 1: the v5.10 protocol (ebf7d1f508a7)
 * holds; the same without its synchronize_rcu() ("no-sync") lets a CPU
 * between the bypass and the target run the target's nop on an unwound
 * frame, P1 and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, CheckInputError, findModel, models, type CheckResult } from 'pokecheck';
import { expectHolds, expectViolated } from 'pokecheck/testing';

describe('tailcall-poke through the library', () => {
  it('is in the registry with the protocols the docs name', () => {
    expect(models.map((m) => m.name)).toContain('tailcall-poke');
    expect(findModel('tailcall-poke')?.protocols.map((p) => p.name)).toEqual(expect.arrayContaining(['v5.10', 'no-sync']));
  });

  it('v5.10 holds at 2 CPUs after a complete search', () => {
    const r = expectHolds('tailcall-poke', { protocol: 'v5.10', cpus: 2 });
    expect(r.limit).toBeNull();
    expect(r.properties.map((p) => `${p.id} ${p.status}`)).toEqual(['P1 holds', 'P2 holds', 'P3 holds', 'P4 holds']);
  });

  it('no-sync violates P1 at 2 CPUs: a CPU executes the target nop after the unwind', () => {
    const r = expectViolated('tailcall-poke', ['P1'], { protocol: 'no-sync', cpus: 2 });
    const last = r.counterexample!.steps.at(-1)!;
    expect(last.actor).toMatch(/^cpu\d$/);
    expect(last.action).toMatch(/^executes nopl .* at tailcall_target /);
    const target = last.sites.find((s) => s.name === 'tailcall_target')!;
    expect(target.bytes).toBe('0f 1f 44 00 00'); // the 5-byte nop
  });

  it('returns what `pokecheck check --json` writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pokecheck-example-'));
    try {
      const out = join(dir, 'r.json');
      const cli = spawnSync('npx', ['--no-install', 'pokecheck', 'check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', '2', '--quiet', '--json', out], { encoding: 'utf8' });
      expect(cli.status, cli.stderr).toBe(1); // 1: violated
      const fromCli = JSON.parse(readFileSync(out, 'utf8')) as CheckResult;
      const fromApi = check('tailcall-poke', { protocol: 'no-sync', cpus: 2 });
      const timeless = (r: CheckResult) => ({ ...r, seconds: 0, memoryMB: 0 });
      expect(timeless(fromApi)).toEqual(timeless(fromCli));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns bad input into a CheckInputError with a one-line message', () => {
    expect(() => check('tailcall-pokes')).toThrow(CheckInputError);
    expect(() => check('tailcall-poke', { protocol: 'v5.11' })).toThrow(/^unknown protocol 'v5.11' for tailcall-poke \(protocols: .*\)$/);
    expect(() => check('tailcall-poke', { cpus: 0 })).toThrow(/^cpus must be a whole number between 1 and 64, got 0$/);
    expect(() => check('tailcall-poke', { options: { level: 'bits' } })).toThrow(/^option level of tailcall-poke must be one of instruction, byte, got 'bits'$/);
  });
});
