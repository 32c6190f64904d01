/**
 * A protocol file of the user's own (protocols/delete-without-sync.c), checked
 * through the library for every number of CPUs and every sequence of map
 * operations, as a reviewer would before answering on the list. The verdicts
 * are argued in the file's header: without the grace period a CPU between the
 * bypass and the target falls through (P1); the shipped v6.7 holds.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { check, loadProtocol, ProtocolError, shippedProtocolPath } from 'pokecheck';

const mine = fileURLToPath(new URL('../protocols/delete-without-sync.c', import.meta.url));

describe('a protocol file through the library', () => {
  it('parses into the atomic steps of the update: a delete is two pokes and no grace period', () => {
    const p = loadProtocol(mine).pokeProtocol();
    expect(p.steps(true, false).map((st) => st.kind)).toEqual(['poke', 'poke']);
    // the shipped v6.7 waits between them
    expect(loadProtocol(shippedProtocolPath('v6.7')).pokeProtocol().steps(true, false).map((st) => st.kind)).toEqual(['poke', 'synchronize_rcu', 'poke']);
  });

  it('is violated (P1) for every number of CPUs, with the counterexample pointing at its lines', () => {
    const r = check('tailcall-poke', { cpus: 'every', options: { 'protocol-file': mine } });
    expect(r.verdict).toBe('violated');
    expect(r.properties.filter((p) => p.status === 'violated').map((p) => p.id)).toEqual(['P1']);
    expect(r.scope).toMatch(/^every number of CPUs N >= 1/);
    const lines = r.counterexample!.steps.flatMap((s) => (s.source ? [s.source.line] : []));
    expect(lines.length).toBeGreaterThan(0);
    expect(r.counterexample!.steps.every((s) => !s.source || s.source.file.endsWith('delete-without-sync.c'))).toBe(true);
  });

  it('the shipped v6.7 file holds for every number of CPUs', () => {
    const r = check('tailcall-poke', { cpus: 'every', options: { 'protocol-file': shippedProtocolPath('v6.7') } });
    expect(r.verdict).toBe('holds');
  });

  it('a file that is not C of the subset is a one-line ProtocolError naming FILE:LINE:COL', () => {
    expect(() => loadProtocol(fileURLToPath(new URL('../package.json', import.meta.url)))).toThrow(ProtocolError);
    try {
      loadProtocol(fileURLToPath(new URL('../package.json', import.meta.url)));
    } catch (e) {
      expect(String((e as Error).message)).toMatch(/package\.json:\d+:\d+: /);
      expect(String((e as Error).message)).not.toContain('\n');
    }
  });
});
