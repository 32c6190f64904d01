/**
 * tailcall-poke over two keys (`--keys 2`): the caller is the oracle's caller_two (a direct tail
 * call on key 0, then one on key 1), user space updates and deletes either key. Expected bytes
 * and addresses come from the oracle's fixture; expected verdicts from docs/reference-verdicts.md
 * section 1 (v5.10 holds; bypass-first leaves a site in state A, P3).
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findModel } from '../models/index.js';
import { tailcallPokeWorld } from '../models/tailcall-common.js';
import { loadFixture } from '../src/jit/oracle/fixture.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { DEFAULT_PROFILE } from '../src/jit/x86/profile.js';
import { runCheck } from '../src/check/result.js';
import type { TypedModel } from '../src/model/index.js';

const ORACLE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/oracle/linux-6.1.0-56-amd64/default');
const def = findModel('tailcall-poke')!;

/** Every state's summary, by a plain breadth-first search of a small configuration. */
function summaries(m: TypedModel): string[] {
  const w = m.system.width;
  const init = new Int32Array(w);
  m.system.initial(init);
  const seen = new Map([[init.join(','), init]]);
  const queue = [init];
  const next = new Int32Array(w);
  for (let h = 0; h < queue.length; h++) {
    m.system.expand(queue[h], next, () => {
      const k = next.join(',');
      if (!seen.has(k)) {
        const c = next.slice();
        seen.set(k, c);
        queue.push(c);
      }
    });
  }
  return queue.map((s) => m.summary(s));
}

describe('tailcall-poke --keys 2', () => {
  it("runs over caller_two's real image and both descriptors' sites", () => {
    const fx = loadFixture(join(ORACLE, 'caller_two__a_initial.json'));
    const world = tailcallPokeWorld(3, DEFAULT_PROFILE, 2); // the oracle's kernel, 6.1
    expect(world.caller.address).toBe(fx.image_address);
    expect(hexBytes(world.caller.bytes)).toBe(hexBytes(fx.bytes));
    const sites = fx.tail_call_sites.filter((s) => s.kind === 'direct');
    expect(world.caller.pokes.map((p) => [p.tailcall_bypass, p.tailcall_target])).toEqual(sites.map((s) => [s.bypass!.address, s.poke!.address]));
  });

  it('a CPU passes key 0 to reach key 1, and user space fills and empties either slot', () => {
    const m = def.build({ protocol: 'v5.10', cpus: 1, options: { keys: '2', progs: '2' } }) as TypedModel;
    const all = summaries(m);
    // key 0 empty (its bypass jumps out), key 1 installed: the CPU tail-calls through key 1's target
    expect(all.some((s) => /ptrs\[0\]=NULL; .*ptrs\[1\]=f\d; .*cpu0: at tailcall_target@1 on an unwound frame/.test(s))).toBe(true);
    expect(all.some((s) => /ptrs\[0\]=f\d; .*ptrs\[1\]=f\d;/.test(s))).toBe(true);
    expect(m.config['user-space']).toMatch(/over keys \{0, 1\} and programs \{f1, f2\}/);
  });

  it('v5.10 holds; bypass-first violates P1 and P3', () => {
    expect(runCheck(def.build({ protocol: 'v5.10', cpus: 1, options: { keys: '2' } })).verdict).toBe('holds');
    const r = runCheck(def.build({ protocol: 'bypass-first', cpus: 1, options: { keys: '2' } }));
    expect(r.properties.filter((p) => p.status === 'violated').map((p) => p.id)).toEqual(['P1', 'P3']);
  });

  it('refuses --keys with a script, out of range, or at the byte level, in one line', () => {
    expect(() => def.build({ protocol: 'v5.10', cpus: 1, options: { keys: '2', script: 'install f1' } })).toThrow(/--keys goes with every sequence/);
    expect(() => def.build({ protocol: 'v5.10', cpus: 1, options: { keys: '3' } })).toThrow(/--keys must be 1\.\.2, got '3'/);
    expect(() => def.build({ protocol: 'v5.10', cpus: 1, options: { keys: '2', level: 'byte' } })).toThrow(/--keys must be 1/);
  });
});
