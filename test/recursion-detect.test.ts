/**
 * recursion-detect: the instruction lists against the code of
 * docs/kernel-facts.md section 7 (v3 of the arm64 patch: preempt_disable;
 * active[rctx]++; one 32-bit load; preempt_enable; == BIT(rctx * 8)), and
 * the verdicts. arm64-u8 must agree with the old scheme and return every
 * byte to zero (facts section 7, "Agreement of the two schemes": contexts
 * nest, and preempt_disable excludes preemption between ++ and the load).
 * The first posting, without preempt_disable, does not under
 * CONFIG_PREEMPT_RCU (the bpf-ci review: two tasks on one CPU): its shortest
 * counterexample is the reviewer's "neither program runs" schedule. A 32-bit
 * read-modify-write inside the same preempt_disable is kept correct by the
 * same nesting argument (condition (iii): an interrupting context restores
 * what it changed before the interrupted one resumes).
 */
import { describe, expect, it } from 'vitest';
import { buildRecursionDetect } from '../models/recursion-detect.js';
import { explore } from '../src/concurrency/explorer.js';
import { actorMachines } from '../src/graph/actors.js';
import type { TypedModel } from '../src/model/index.js';
import { RECURSION_SCHEMES, bitOf, byteOf, withByte } from '../src/recursion/schemes.js';
import { cli } from './helpers/cli.js';

describe('get/put as instructions (facts section 7)', () => {
  it('arm64-u8: preempt_disable; ldrb/add/strb; one 32-bit load; preempt_enable; compare', () => {
    const s = RECURSION_SCHEMES['arm64-u8'];
    expect(s.get.map((i) => i.op)).toEqual(['preempt_disable', 'load', 'add', 'store', 'check_load', 'preempt_enable', 'check']);
    expect(s.get.filter((i) => 'width' in i).map((i) => ('width' in i ? i.width : 0))).toEqual([1, 1, 1]);
    expect(s.put.map((i) => i.op)).toEqual(['preempt_disable', 'load', 'sub', 'store', 'preempt_enable']);
  });
  it('u32-rmw: the same with 32-bit load, add BIT(rctx*8), store', () => {
    const s = RECURSION_SCHEMES['u32-rmw'];
    expect(s.get.filter((i) => 'width' in i).map((i) => ('width' in i ? i.width : 0))).toEqual([4, 4, 4]);
    expect(s.get[2].asm).toMatch(/BIT\(rctx\*8\)/);
  });
  it('the v1 posting has no preempt_disable', () => {
    const s = RECURSION_SCHEMES['arm64-u8-v1'];
    expect([...s.get, ...s.put].some((i) => i.op === 'preempt_disable')).toBe(false);
  });
  it('active[] is little-endian in the word: BIT(rctx*8) is byte rctx == 1', () => {
    expect(bitOf(0)).toBe(1);
    expect(bitOf(3)).toBe(0x1000000);
    expect(byteOf(withByte(0, 2, 1), 2)).toBe(1);
    expect(withByte(0, 2, 1)).toBe(bitOf(2));
  });
});

describe('recursion-detect verdicts', () => {
  for (const tasks of ['1', '2']) {
    it(`arm64-u8 holds with ${tasks} task(s), softirq, hardirq and NMI (exit 0)`, async () => {
      const r = await cli('check', 'recursion-detect', '--protocol', 'arm64-u8', '--cpus', '1', '--tasks', tasks);
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS \(R1 holds, R2 holds\)/);
    });
  }
  it('u32-rmw holds as well with one task: interrupts nest (exit 0)', async () => {
    const r = await cli('check', 'recursion-detect', '--protocol', 'u32-rmw', '--cpus', '1', '--tasks', '1');
    expect(r.code).toBe(0);
  });
  it('the v1 posting holds with one task (only interrupts, which nest)', async () => {
    const r = await cli('check', 'recursion-detect', '--protocol', 'arm64-u8-v1', '--cpus', '1', '--tasks', '1');
    expect(r.code).toBe(0);
  });
  it('the v1 posting with two tasks: the reviewer\'s schedule, and a lost update that leaves a counter non-zero (exit 1)', async () => {
    const r = await cli('check', 'recursion-detect', '--protocol', 'arm64-u8-v1', '--cpus', '1', '--tasks', '2');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/R1 violated, R2 violated/);
    const text = r.out.join('\n');
    // R1: a task preempted between its increment and its load sees 2 and skips the program; the old scheme runs it
    expect(text).toMatch(/scheduler: preempts task\d and runs task\d/);
    expect(text).toMatch(/recursion: skips the program \(misses\+\+\); the old scheme runs it \(THEY DISAGREE\)/);
    // R2 ends with every context out of the program and active[0] not zero
    const r2 = text.slice(text.indexOf('Counterexample for R2'));
    expect(r2).toMatch(/final state: task0: not in the program[^;]*; task1: not in the program[^;]*; softirq: not in the program; hardirq: not in the program; NMI: not in the program/);
    expect(r2).toMatch(/active\[\] = \{(?!0, 0, 0, 0\})/);
  });
  it('the search is complete and reproducible', () => {
    const a = explore(buildRecursionDetect({ protocol: 'arm64-u8', cpus: 1, options: { tasks: '1', depth: '1' } }).system);
    const b = explore(buildRecursionDetect({ protocol: 'arm64-u8', cpus: 1, options: { tasks: '1', depth: '1' } }).system);
    expect(a.complete).toBe(true);
    expect(a.states).toBe(b.states);
  });
  it('contexts nest: any interrupt may arrive over a task, nothing over the NMI (typed actions)', () => {
    const m = buildRecursionDetect({ protocol: 'arm64-u8', cpus: 1, options: { tasks: '2' } }) as TypedModel;
    expect(m.actions.kinds.map((k) => [k.actor, k.count])).toEqual([['task', 2], ['interrupt', 3], ['scheduler', 2]]);
    expect(actorMachines(m).map((a) => a.name)).toEqual(['context']);
    const s = new Int32Array(m.system.width);
    m.system.initial(s);
    const next = new Int32Array(m.system.width);
    const succ = (from: Int32Array): { who: string; state: Int32Array }[] => {
      const out: { who: string; state: Int32Array }[] = [];
      m.system.expand(from, next, (a) => out.push({ who: m.describe(from, next, a).actor, state: next.slice() }));
      return out;
    };
    const first = succ(s);
    // task0 is current; task1 could be switched in; softirq, hardirq and NMI may each arrive
    expect(first.map((x) => x.who)).toEqual(['task0', 'softirq', 'hardirq', 'NMI', 'scheduler']);
    const nmi = first.find((x) => x.who === 'NMI')!.state;
    // inside the NMI handler only the NMI runs: no interrupt arrives and no task is switched
    expect(succ(nmi).map((x) => x.who)).toEqual(['NMI']);
  });
  it('bad input is exit 2', async () => {
    for (const args of [['--cpus', '2'], ['--cpus', '1', '--tasks', '4'], ['--cpus', '1', '--depth', '0'], ['--cpus', '1', '--protocol', 'x86']]) {
      const r = await cli('check', 'recursion-detect', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
