/**
 * tailcall-cached-target: the RFC's static-path bytes against
 * docs/kernel-facts.md 3e (`81 fa <imm32>` cmp edx,max_entries where the
 * dynamic path has `3b 56 <off>`, jbe -> jae, the slot load at ptrs +
 * max_entries*8, no `prog->bpf_func` load and no `add rcx, OFF`), and the
 * verdicts: with both exchanges and the pokes under poke_mutex (the RFC) no
 * CPU jumps to a freed program and the cache always matches ptrs[key] when
 * the mutex is free; with the cache exchange outside the mutex two updaters
 * leave a stale cached target behind.
 */
import { describe, expect, it } from 'vitest';
import { CACHED_DEFAULT_UPDATERS, buildTailcallCachedTarget } from '../models/tailcall-cached-target.js';
import { runCheck } from '../src/check/result.js';
import { explore } from '../src/concurrency/explorer.js';
import { replay } from '../src/concurrency/trace.js';
import { DYING } from '../src/model/index.js';
import { emit_bpf_tail_call_indirect_rfc2026, rfc2026Env, tail_call_path } from '../src/jit/x86/tailcall_cached.js';
import { hexBytes, le32 } from '../src/jit/x86/x86.js';
import { cli } from './helpers/cli.js';

const IP = 0xffffffffc0000b40n;
const PTRS = 272; // offsetof(struct bpf_array, ptrs) in the 6.1 oracle's caller_ind fixture
const MAX_ENTRIES_OFF = 36;

describe("the RFC's indirect tail call (facts 3e)", () => {
  const st = emit_bpf_tail_call_indirect_rfc2026(IP, [], 0, { max_entries: 4, dyn_array: false });
  const dyn = emit_bpf_tail_call_indirect_rfc2026(IP, [], 0, { max_entries: 4, dyn_array: true });
  it('static: cmp edx, imm32 (81 fa) with max_entries, then jae', () => {
    expect(hexBytes(st.slice(0, 8))).toBe('89 d2 81 fa 04 00 00 00');
    expect(st[8]).toBe(0x73);
  });
  it('dynamic: cmp edx, [rsi + max_entries] (3b 56 <off>), then jae', () => {
    expect(hexBytes(dyn.slice(0, 6))).toBe(hexBytes([0x89, 0xd2, 0x3b, 0x56, MAX_ENTRIES_OFF, 0x73]));
  });
  it('static: the load is ptrs + max_entries * 8; dynamic: ptrs', () => {
    expect(hexBytes(st)).toContain(hexBytes([0x48, 0x8b, 0x8c, 0xd6, ...le32(PTRS + 4 * 8)]));
    expect(hexBytes(dyn)).toContain(hexBytes([0x48, 0x8b, 0x8c, 0xd6, ...le32(PTRS)]));
  });
  it('static: no prog->bpf_func load and no add rcx, X86_TAIL_CALL_OFFSET; dynamic keeps both', () => {
    const off = rfc2026Env().cfg.profile.tail_call_offset;
    expect(off).toBe(12); // v6.12+ without IBT
    expect(hexBytes(st)).not.toMatch(/48 8b 49|48 83 c1/);
    expect(hexBytes(dyn)).toContain(hexBytes([0x48, 0x8b, 0x49, 48, 0x48, 0x83, 0xc1, off]));
  });
  it('both end in jmp *%rcx, and every jae/je goes to out', () => {
    for (const b of [st, dyn]) {
      const path = tail_call_path(b, IP);
      expect(path[path.length - 1].insn.text).toMatch(/^jmp +\*%rcx/);
      const out = IP + BigInt(b.length);
      for (const s of path) if (s.op.op === 'jae_out' || s.op.op === 'je_out') expect(s.insn.target).toBe(out);
    }
  });
  it('read back, the static path loads slot max_entries + index and jumps to what it loaded', () => {
    const ops = tail_call_path(st, IP).map((s) => s.op.op);
    expect(ops.filter((o) => o !== 'local')).toEqual(['bound', 'jae_out', 'jae_out', 'load_slot', 'test_rcx', 'je_out', 'jmp_rcx']);
    const opsDyn = tail_call_path(dyn, IP).map((s) => s.op.op).filter((o) => o !== 'local');
    expect(opsDyn).toEqual(['bound', 'jae_out', 'jae_out', 'load_slot', 'test_rcx', 'je_out', 'load_bpf_func', 'add_rcx', 'jmp_rcx']);
  });
});

describe('tailcall-cached-target verdicts (docs/reference-verdicts.md section 4)', () => {
  for (const cpus of ['1', '2']) {
    it(`rfc-2026 holds at ${cpus} CPU(s) (exit 0)`, async () => {
      const r = await cli('check', 'tailcall-cached-target', '--protocol', 'rfc-2026', '--cpus', cpus);
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS \(P2 holds, C1 holds, S2 holds, P4 holds\)/);
    });
  }
  it('rfc-2026 with removals (synchronize_rcu inside the pokes) holds', async () => {
    const r = await cli('check', 'tailcall-cached-target', '--protocol', 'rfc-2026', '--cpus', '1', '--updaters', 'update f1; remove | update f2; remove');
    expect(r.code).toBe(0);
  });
  it('unlocked: a CPU jumps to the cached entry of a freed program (exit 1); the pokes, still under the mutex, stay right', async () => {
    const r = await cli('check', 'tailcall-cached-target', '--protocol', 'unlocked', '--cpus', '1');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/P2 violated, C1 violated, S2 holds, P4 holds/);
    const text = r.out.join('\n');
    const p2 = text.slice(text.indexOf('Counterexample for P2'));
    expect(p2).toMatch(/xchg\(&ptrs\[max_entries \+ 0\], f\d->bpf_func \+ X86_TAIL_CALL_OFFSET\) \(outside poke_mutex\)/);
    expect(p2).toMatch(/mov 0x130\(%rsi,%rdx,8\),%rcx \[48 8b 8c d6 30 01 00 00\]: loads ptrs\[max_entries \+ 0\]/);
    expect(p2).toMatch(/rcu: grace period over: frees f\d/);
  });
  it('unlocked with the dynamic path: the stale cache is never read, so only C1 fails', async () => {
    const r = await cli('check', 'tailcall-cached-target', '--protocol', 'unlocked', '--cpus', '1', '--path', 'dynamic');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/P2 holds, C1 violated/);
  });
  it('--cpus every: rfc-2026 holds for every number of CPUs and every sequence, unlocked is violated from one CPU on (the checked cutoff, src/check/cutoff.ts)', async () => {
    const rfc = await cli('check', 'tailcall-cached-target', '--protocol', 'rfc-2026', '--cpus', 'every');
    expect(rfc.code).toBe(0);
    expect(rfc.out[0]).toMatch(/HOLDS for every number of CPUs .*scope: every number of CPUs \(cutoff k=1.*for user-space: every sequence of map operations by each of 2 updaters over keys \{0\} and programs \{f1, f2\} \(addresses reused\)/);
    // over {f1}: with {f1, f2} the embedding search of the cutoff outgrows its bound (docs/proofs.md)
    const unlocked = await cli('check', 'tailcall-cached-target', '--protocol', 'unlocked', '--cpus', 'every', '--progs', '1');
    expect(unlocked.code).toBe(1);
    expect(unlocked.out[0]).toMatch(/VIOLATED for every number of CPUs N >= 1 \(P2 violated, C1 violated, S2 holds, P4 holds\)/);
  });
  it('every sequence of operations: unlocked counterexamples are no longer than the fixed scenario\'s', () => {
    const lengths = (options: Record<string, string>) => {
      const r = runCheck(buildTailcallCachedTarget({ protocol: 'unlocked', cpus: 1, options }));
      return Object.fromEntries(r.counterexamples.map((c) => [c.property, c.steps.length]));
    };
    const fixed = lengths({ updaters: CACHED_DEFAULT_UPDATERS });
    const every = lengths({});
    expect(Object.keys(every).sort()).toEqual(['C1', 'P2']);
    for (const p of ['C1', 'P2']) expect(every[p]).toBeLessThanOrEqual(fixed[p]);
  });
  it('every sequence of operations: a program closed and freed is loaded again at its address (ABA), and installed again', () => {
    const m = buildTailcallCachedTarget({ protocol: 'rfc-2026', cpus: 1, options: { progs: '1' } });
    const sys = m.system;
    const init = new Int32Array(sys.width);
    sys.initial(init);
    // breadth-first, until user space loads f1 into its freed image and then installs it
    const seen = new Set([init.join()]);
    const queue: { s: Int32Array; loaded: boolean }[] = [{ s: init, loaded: false }];
    const next = new Int32Array(sys.width);
    let found = '';
    for (let h = 0; h < queue.length && !found; h++) {
      const { s, loaded } = queue[h];
      sys.expand(s, next, (a) => {
        const d = m.describe(s, next, a);
        const nowLoaded = loaded || /BPF_PROG_LOAD\) = f1, its image at the freed f1's address/.test(d.action);
        if (loaded && /xchg\(&ptrs\[0\], f1\)/.test(d.action)) found = d.action;
        const key = `${next.join()}:${nowLoaded}`;
        if (!seen.has(key)) {
          seen.add(key);
          queue.push({ s: next.slice(), loaded: nowLoaded });
        }
      });
    }
    expect(found).toMatch(/old = xchg\(&ptrs\[0\], f1\)/);
  });
  it('the search is complete and reproducible', () => {
    const a = explore(buildTailcallCachedTarget({ protocol: 'rfc-2026', cpus: 2, options: {} }).system);
    const b = explore(buildTailcallCachedTarget({ protocol: 'rfc-2026', cpus: 2, options: {} }).system);
    expect(a.complete).toBe(true);
    expect(a.states).toBe(b.states);
  });
  it('bad input is exit 2', async () => {
    for (const args of [['--updaters', 'update f1'], ['--updaters', 'update f1 | update f1'], ['--path', 'both'], ['--protocol', 'v6.7'], ['--progs', '0'], ['--progs', '2', '--updaters', 'update f1 | update f2']]) {
      const r = await cli('check', 'tailcall-cached-target', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});

describe('the tailcall-cached-target model read through its layout and typed actions', () => {
  it("unlocked: in the shortest P2 trace the CPU's load reads a stale cache entry, a program whose last reference is already gone", () => {
    const m = buildTailcallCachedTarget({ protocol: 'unlocked', cpus: 1, options: {} });
    const r = explore(m.system, { symmetry: true });
    expect(r.firstViolation[0]).toBeGreaterThanOrEqual(0);
    const t = replay(m.system, r.store, r.firstViolation[0], true);
    const cpuSteps = t.steps.filter((st) => m.actions.decode(st.action).actor === 'cpu');
    const load = cpuSteps[cpuSteps.length - 2]; // then the jump into the program that is freed
    const { slot, cache, life } = m.layout.shared;
    const k = cache.get(load.before);
    expect(k).toBeGreaterThan(0);
    expect(slot.get(load.before)).not.toBe(k);
    expect(life.get(load.before, k - 1)).toBe(DYING);
  });
  it('hands out its actors: the CPU and the two updaters', () => {
    const actors = buildTailcallCachedTarget({ protocol: 'rfc-2026', cpus: 1, options: {} }).actorMachines!();
    expect(actors.map((a) => a.name)).toEqual(['cpu', 'updaterA', 'updaterB']);
  });
});
