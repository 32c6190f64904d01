/**
 * poke-track-uaf: a program's aux must leave the prog array's tracking list
 * before it is freed (every map update walks the list in
 * prog_array_map_poke_run). Expected verdicts from the kernel's history:
 * - da765a2f5993 is violated: a2ea07465c8d's own message says its verifier
 *   error path (release_maps) dropped the map references without
 *   untracking, a use-after-free;
 * - a2ea07465c8d holds: release_maps calls __bpf_free_used_maps, which
 *   calls map_poke_untrack before bpf_map_put;
 * - v5.10-subprog is violated: jit_subprogs tracked each function's aux
 *   (func[i]->aux) and untracked prog->aux, the release untracked only
 *   prog->aux, and prog_array_map_poke_run read the freed func[i]->aux
 *   (the KASAN report in f263a81451c1's message,
 *   20210707223848.14580-2-john.fastabend@gmail.com);
 * - f263a81451c1 holds: the functions share prog->aux's poke_tab and only
 *   prog->aux is tracked.
 */
import { describe, expect, it } from 'vitest';
import { pokeTrackUaf } from '../models/poke-track-uaf.js';
import { runCheck } from '../src/check/result.js';
import { cli } from './helpers/cli.js';

describe('poke-track-uaf verdicts', () => {
  it('da765a2f5993: verification fails after map_poke_track, the aux is freed while listed, the next map update reads it (exit 1)', async () => {
    const r = await cli('check', 'poke-track-uaf', '--protocol', 'da765a2f5993', '--cpus', '1');
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toMatch(/map_poke_track\(map, prog->aux\)[\s\S]*verification fails[\s\S]*no untrack[\s\S]*freed[\s\S]*reads prog->aux->poke_tab \(USE AFTER FREE\)/);
  });
  it('a2ea07465c8d: the error path untracks first (exit 0)', async () => {
    const r = await cli('check', 'poke-track-uaf', '--protocol', 'a2ea07465c8d', '--cpus', '1');
    expect(r.code).toBe(0);
  });
  it('v5.10-subprog: the subprogram aux stays listed after the release and is read freed (exit 1)', async () => {
    const r = await cli('check', 'poke-track-uaf', '--protocol', 'v5.10-subprog', '--cpus', '1');
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/map_poke_track\(map, func\[1\]->aux\)[\s\S]*map_poke_untrack\(map, prog->aux\)[\s\S]*reads func\[1\]->aux->poke_tab \(USE AFTER FREE\)/);
  });
  it('f263a81451c1: only the main aux is tracked (exit 0)', async () => {
    const r = await cli('check', 'poke-track-uaf', '--protocol', 'f263a81451c1', '--cpus', '1');
    expect(r.code).toBe(0);
  });
  it('the reference checks give their expected verdicts', () => {
    for (const ref of pokeTrackUaf.reference) {
      const r = runCheck(pokeTrackUaf.build({ protocol: ref.protocol, cpus: ref.cpus, options: {} }));
      expect(r.verdict).toBe(ref.expected);
    }
  });
  it('bad input is exit 2', async () => {
    for (const args of [['--protocol', 'v5.9'], ['--cpus', '2']]) {
      const r = await cli('check', 'poke-track-uaf', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
