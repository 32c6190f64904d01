/**
 * `tailcall-hierarchy` (116e04ba1459, docs/kernel-facts.md 3d): one entry
 * into main, subprograms that tail-call main again, run on the JIT's bytes.
 * Expected: v5.10 (counter by value) exceeds MAX_TAIL_CALL_CNT = 33; v6.12
 * (tail_call_cnt_ptr) never does. The instruction texts expected in the
 * executed code are the facts doc's listings (sections 1.2, 1.4, 1.6).
 */
import { describe, expect, it } from 'vitest';
import { buildTailcallHierarchy, LOOP_GRAPH, runLengths, SUBPROGS_GRAPH } from '../models/tailcall-hierarchy.js';
import { runCheck } from '../src/check/result.js';
import { explore } from '../src/concurrency/explorer.js';
import { X86Machine, RAX, RSP, type X86State } from '../src/exec/x86-interp.js';
import { parseGraph, GraphError } from '../src/hierarchy/program.js';
import { cli } from './helpers/cli.js';

const MAX_TAIL_CALL_CNT = 33;

describe('tailcall-hierarchy --protocol v5.10 (counter by value through bpf2bpf calls)', () => {
  it('is violated: the 34th tail call of one entry, with the count and the call path printed (exit 1)', async () => {
    const r = await cli('check', 'tailcall-hierarchy', '--protocol', 'v5.10');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/S4 violated/);
    const steps = r.out.filter((l) => /^\s+\d+\. /.test(l));
    expect(steps[steps.length - 1]).toMatch(new RegExp(`TAIL CALL #${MAX_TAIL_CALL_CNT + 1} into main`));
    const final = r.out.find((l) => l.includes('final state'))!;
    expect(final).toMatch(new RegExp(`tail calls so far: ${MAX_TAIL_CALL_CNT + 1}`));
    expect(final).toMatch(/call path: main \(-call #1-> sub => main\) x\d+ -call #2-> sub => main/);
    // The counter handling executed is the v5.10-6.11 layout's (facts 1.2, 1.4, 1.6), as v5.10 emitted it:
    // MAX_TAIL_CALL_CNT 32 and ja (ebf7d1f508a7; 33 and jae only from ebf7f6f0a6cd, v5.17).
    const text = steps.join('\n');
    for (const insn of ['xor %eax,%eax; push %rbp; mov %rsp,%rbp; push %rax', 'mov -0x8(%rbp),%rax; call', 'mov -0x4(%rbp),%eax; cmp $0x20,%eax; ja ', 'add $0x1,%eax; mov %eax,-0x4(%rbp)']) {
      expect(text).toContain(insn);
    }
    expect(text).not.toContain('jae');
    expect(r.out.some((l) => /^bytes: .*profile 5\.10/.test(l))).toBe(true);
  });

  it("lets one chain make exactly 33 tail calls: v5.10's MAX 32 with ja is the same limit (ebf7f6f0a6cd)", () => {
    const m = buildTailcallHierarchy({ protocol: 'v5.10', cpus: 1, options: { graph: 'main: tail' } });
    const r = explore(m.system);
    expect(r.complete).toBe(true);
    const s = new Int32Array(m.system.width);
    const ends: string[] = [];
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      const sum = m.summary(s);
      if (sum.startsWith('main has returned')) ends.push(sum);
    }
    expect(ends.some((e) => new RegExp(`tail calls so far: ${MAX_TAIL_CALL_CNT} .*jmp_table\\[0\\]=main`).test(e))).toBe(true);
    expect(ends.every((e) => !/tail calls so far: 34/.test(e))).toBe(true);
  });

  for (const graph of [LOOP_GRAPH, SUBPROGS_GRAPH]) {
    it(`is violated for "${graph}"`, () => {
      const r = runCheck(buildTailcallHierarchy({ protocol: 'v5.10', cpus: 1, options: { graph } }));
      expect(r.verdict).toBe('violated');
      expect(r.counterexample!.steps.at(-1)!.state).toMatch(/tail calls so far: 34/);
    });
  }

  it('holds for a plain chain (main tail-calls itself): the per-chain limit works', () => {
    expect(runCheck(buildTailcallHierarchy({ protocol: 'v5.10', cpus: 1, options: { graph: 'main: tail' } })).verdict).toBe('holds');
  });
});

describe('tailcall-hierarchy --protocol v6.12 (tail_call_cnt_ptr)', () => {
  for (const graph of ['main: sub, sub; sub: tail', LOOP_GRAPH, SUBPROGS_GRAPH, 'main: a; a: b, b; b: tail']) {
    it(`holds for "${graph}" (complete search)`, () => {
      const r = runCheck(buildTailcallHierarchy({ protocol: 'v6.12', cpus: 1, options: { graph } }));
      expect(r.verdict).toBe('holds');
    });
  }

  it('lets one entry make exactly MAX_TAIL_CALL_CNT tail calls, through the v6.12+ code', () => {
    const m = buildTailcallHierarchy({ protocol: 'v6.12', cpus: 1, options: {} });
    const r = explore(m.system);
    expect(r.complete).toBe(true);
    const s = new Int32Array(m.system.width);
    const before = new Int32Array(m.system.width);
    const ends: string[] = [];
    const executed: string[] = [];
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      const sum = m.summary(s);
      if (sum.startsWith('main has returned')) ends.push(sum);
      if (i > 0) {
        r.store.read(r.store.parent(i), before);
        executed.push(m.describe(before, s, r.store.action(i)).action);
      }
    }
    // Both map choices run to the end: no tail call with an empty slot, exactly 33 with main in it.
    expect(ends).toHaveLength(2);
    expect(ends.some((e) => /tail calls so far: 0 .*jmp_table\[0\]=NULL/.test(e))).toBe(true);
    expect(ends.some((e) => new RegExp(`tail calls so far: ${MAX_TAIL_CALL_CNT} .*jmp_table\\[0\\]=main`).test(e))).toBe(true);
    // The v6.12+ prologue's count/pointer test and the increment through the pointer are what ran.
    const all = executed.join('\n');
    for (const insn of ['cmp $0x21,%rax; ja', 'mov %rsp,%rax', 'mov -0x10(%rbp),%rax; call', 'mov -0x10(%rbp),%rax; cmpq $0x21,(%rax); jae', 'addq $0x1,(%rax)']) {
      expect(all).toContain(insn);
    }
  });
});

describe('the x86 interpreter on the v6.12+ prologue test (facts 1.2)', () => {
  const run = (rax: bigint): bigint => {
    // cmp $0x21,%rax; ja +6  at 0x1000: a count (<= 33) falls through, a pointer (> 33) jumps
    const code = Uint8Array.from([0x48, 0x83, 0xf8, 0x21, 0x77, 0x06]);
    const x: X86State = { regs: new Array<bigint>(16).fill(0n), rip: 0x1000n, cf: false, zf: false, sf: false, of: false, stack: new Uint8Array(64), stackBase: 0x9000n };
    x.regs[RAX] = rax;
    x.regs[RSP] = 0x9000n;
    const m = new X86Machine(x, (a) => (a >= 0x1000n && a < 0x1006n ? code.subarray(Number(a - 0x1000n)) : undefined));
    m.step();
    m.step();
    return x.rip;
  };
  it('rax = 33 is a count, rax = a stack address is a pointer', () => {
    expect(run(33n)).toBe(0x1006n);
    expect(run(0xffffc90000003ff0n)).toBe(0x100cn);
  });
});

describe('graphs and bad input', () => {
  it('collapses repeated call-path segments', () => {
    expect(runLengths(['a', 'b', 'a', 'b', 'a', 'b', 'c'])).toEqual(['(a b) x3', 'c']);
  });

  it('rejects recursion, undefined callees and graphs without a tail call', () => {
    expect(() => parseGraph('main: sub; sub: sub, tail')).toThrow(GraphError);
    expect(() => parseGraph('main: nope')).toThrow(GraphError);
    expect(() => parseGraph('main: sub; sub: main')).toThrow(GraphError);
    expect(() => parseGraph('main: sub; sub: sub2; sub2: sub3')).toThrow(GraphError);
  });

  it('exit 2 for a bad graph or more than one CPU', async () => {
    for (const args of [['--graph', 'main: ;'], ['--cpus', '2']]) {
      const r = await cli('check', 'tailcall-hierarchy', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
