/**
 * dispatcher: the emitted binary search against docs/kernel-facts.md
 * section 6 (`48 81 fa <imm32>` cmp, `7f rel8` / `0f 8f rel32` jg to a
 * 16-byte aligned upper half, leaves `cmp; 0f 84 rel32; ff e2`), the update
 * steps of v6.1 and v6.2, and the verdicts: v6.1 violated by two quick
 * updates (the race 4121d4481b72 fixed), v6.2 holds.
 */
import { describe, expect, it } from 'vitest';
import { DISPATCHER_DEFAULT_SCRIPT, DISPATCHER_IMAGE, buildDispatcher } from '../models/dispatcher.js';
import { TARGET_ADDRESSES } from '../models/tailcall-common.js';
import { compileMachine, eventName } from '../src/concurrency/compile.js';
import { dispatcherAnyOps, dispatcherAnyOpsEvents, dispatcherUserEvent } from '../src/dispatcher/user-space.js';
import { explore } from '../src/concurrency/explorer.js';
import { replay } from '../src/concurrency/trace.js';
import { parseDispatcherScript, planDispatcherUpdates, type DispatcherStepMeta } from '../src/dispatcher/bpf_dispatcher.js';
import { defaultJitConfig } from '../src/jit/x86/config.js';
import { disasm } from '../src/jit/x86/decode.js';
import { arch_prepare_bpf_dispatcher, dispatcher_exec } from '../src/jit/x86/dispatcher.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { hexBytes, le32 } from '../src/jit/x86/x86.js';
import { cli } from './helpers/cli.js';

const I = 0xffffffffc0001000n;
const F = [0xffffffffc0000654n, 0xffffffffc000069cn, 0xffffffffc00006e0n];
const plain = makeEnv({ cfg: defaultJitConfig('6.1', { indirect_jump: 'plain', int3_after_indirect_jump: false }) });
/** `48 81 fa <imm32>`: cmp $addr,%rdx with the address's low 32 bits (sign-extended by the CPU). */
const cmp = (a: bigint): number[] => [0x48, 0x81, 0xfa, ...le32(Number(BigInt.asIntN(32, a)))];
/** `0f 84 rel32` at offset `at` of the image to `a`. */
const je = (at: number, a: bigint): number[] => [0x0f, 0x84, ...le32(Number(a - (I + BigInt(at) + 6n)))];
const NOP8 = [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00];

describe('emit_bpf_dispatcher bytes (facts section 6)', () => {
  it('one program: cmp, je to it, jmp *%rdx', () => {
    const b = arch_prepare_bpf_dispatcher(I, [F[0]], plain);
    expect(hexBytes(b)).toBe(hexBytes([...cmp(F[0]), ...je(7, F[0]), 0xff, 0xe2]));
    expect(hexBytes(b.slice(0, 7))).toBe('48 81 fa 54 06 00 c0');
  });
  it('two programs: cmp with the lower one, jg rel8 over the lower leaf to a 16-byte aligned upper leaf', () => {
    const b = arch_prepare_bpf_dispatcher(I, [F[1], F[0]], plain);
    const lower = [...cmp(F[0]), ...je(9 + 7, F[0]), 0xff, 0xe2]; // 15 bytes at 9..23
    const expected = [...cmp(F[0]), 0x7f, 32 - 9, ...lower, ...NOP8, ...cmp(F[1]), ...je(32 + 7, F[1]), 0xff, 0xe2];
    expect(hexBytes(b)).toBe(hexBytes(expected));
  });
  it('seven programs: the root pivots on the fourth with a near jg (0f 8f rel32) to an aligned node', () => {
    const progs = Array.from({ length: 7 }, (_, i) => 0xffffffffc0000400n + BigInt(i * 0x80));
    const b = arch_prepare_bpf_dispatcher(I, progs, plain);
    expect(hexBytes(b.slice(0, 9))).toBe(hexBytes([...cmp(progs[3]), 0x0f, 0x8f]));
    const jgTarget = 13 + (b[9] | (b[10] << 8) | (b[11] << 16) | (b[12] << 24));
    expect(jgTarget % 16).toBe(0);
    expect(hexBytes(b.slice(jgTarget, jgTarget + 3))).toBe('48 81 fa');
    expect(() => disasm(b, I)).not.toThrow();
  });
  it('the fallback per mitigation: lfence; jmp *%rdx, or jmp to __x86_indirect_thunk_rdx', () => {
    const lf = arch_prepare_bpf_dispatcher(I, [F[0]], makeEnv({ cfg: defaultJitConfig('6.1', { indirect_jump: 'retpoline-lfence' }) }));
    expect(hexBytes(lf.slice(13))).toBe('0f ae e8 ff e2');
    const thunk = 0xffffffff82003c40n;
    const rp = arch_prepare_bpf_dispatcher(I, [F[0]], makeEnv({ cfg: defaultJitConfig('6.1'), values: new Map([['__x86_indirect_thunk_rdx', thunk]]) }));
    expect(hexBytes(rp.slice(13))).toBe(hexBytes([0xe9, ...le32(Number(thunk - (I + 18n)))]));
  });
  it('executing the image sends every attached rdx to its program by je, and any other rdx through the fallback', () => {
    const progs = Array.from({ length: 7 }, (_, i) => 0xffffffffc0000400n + BigInt(i * 0x80));
    const b = arch_prepare_bpf_dispatcher(I, progs, plain);
    const run = (rdx: bigint) => {
      let off = 0;
      for (let n = 0; n < 16; n++) {
        const st = dispatcher_exec(b, I, off, rdx, plain);
        if (st.kind !== 'next') return st;
        off = st.off;
      }
      throw new Error('no way out');
    };
    for (const p of progs) expect(run(p)).toMatchObject({ kind: 'direct', target: p });
    expect(run(0xffffffffc0000410n)).toMatchObject({ kind: 'indirect', target: 0xffffffffc0000410n });
  });
});

describe('bpf_dispatcher_change_prog steps', () => {
  const ops = parseDispatcherScript('attach f1; attach f2; replace f1 f3');
  it('alternates halves and, since v6.2, waits a grace period after each switch', () => {
    const v61 = planDispatcherUpdates(ops, 'v6.1', DISPATCHER_IMAGE, F);
    const v62 = planDispatcherUpdates(ops, 'v6.2', DISPATCHER_IMAGE, F);
    expect(v61.images.map((i) => i.half)).toEqual([0, 1, 0]);
    expect(v61.images.map((i) => i.progs)).toEqual([[1], [1, 2], [2, 3]]);
    const kinds = (p: typeof v61) => p.steps.map((s) => s.op).join(' ');
    expect(kinds(v61)).toBe('install copy_begin copy_end static_call '.repeat(3) + 'done');
    expect(kinds(v62)).toBe('install copy_begin copy_end static_call sync_start sync_wait '.repeat(3) + 'done');
  });
  it('an update from no programs writes half 0 whatever image_off is; one to no programs only switches to bpf_dispatcher_nop_func', () => {
    const p = planDispatcherUpdates(parseDispatcherScript('attach f1; attach f2; detach f1; detach f2; attach f3'), 'v6.1', DISPATCHER_IMAGE, F);
    expect(p.images.map((i) => i.half)).toEqual([0, 1, 0, 0]);
    expect(p.steps.filter((s) => s.op === 'static_call').map((s) => (s.op === 'static_call' ? s.target : ''))).toEqual([0, 1, 0, 'nop_func', 0]);
  });
  it('refuses scripts that do not match the devices', () => {
    expect(() => parseDispatcherScript('replace f1 f2')).toThrow(/not attached/);
    expect(() => parseDispatcherScript('attach f1; attach f1')).toThrow(/already attached/);
  });
});

describe('user space making any call (src/dispatcher/user-space.ts)', () => {
  const F = TARGET_ADDRESSES.slice(0, 3);
  it("each script is a path of its machine: the same steps and images as the script's plan", () => {
    for (const protocol of ['v6.1', 'v6.2'] as const) {
      const any = dispatcherAnyOps(3, protocol, DISPATCHER_IMAGE, F);
      const m = compileMachine(any.machine, dispatcherAnyOpsEvents(3));
      for (const script of [DISPATCHER_DEFAULT_SCRIPT, 'attach f1; detach f1; attach f2', 'attach f3; attach f1; attach f2; detach f1; replace f2 f1; detach f3; detach f1; attach f2']) {
        const ops = parseDispatcherScript(script);
        const plan = planDispatcherUpdates(ops, protocol, DISPATCHER_IMAGE, F);
        const walked: DispatcherStepMeta[] = [];
        const images: number[][] = [];
        let q = m.initial;
        for (const op of ops) {
          q = m.next[q * m.events.length + m.eventIndex(eventName(dispatcherUserEvent(op)))];
          expect(q).toBeGreaterThanOrEqual(0);
          for (let st = m.meta[q].step as DispatcherStepMeta; st.op !== 'choose'; st = m.meta[q].step as DispatcherStepMeta) {
            walked.push(st);
            if (st.op === 'copy_end') images.push([...any.images[st.image].bytes]);
            q = m.next[q * m.events.length + m.eventIndex(st.op === 'sync_wait' ? 'GP_DONE' : 'STEP')];
          }
        }
        const want = plan.steps.filter((x) => x.op !== 'done');
        expect(walked.map((x) => [x.op, x.doc])).toEqual(want.map((x) => [x.op, x.doc]));
        expect(images).toEqual(want.filter((x) => x.op === 'copy_end').map((x) => [...plan.images[(x as { image: number }).image].bytes]));
      }
      // one image per (half, programs): 7 sets of programs in either half
      expect(any.images.length).toBe(14);
      expect(new Set(any.images.map((x) => `${x.half}:${x.progs.join()}`)).size).toBe(14);
    }
  });
  it('offers only the calls that fit the devices: attach what is not attached, detach or replace what is', () => {
    const any = dispatcherAnyOps(3, 'v6.1', DISPATCHER_IMAGE, F);
    const m = compileMachine(any.machine, dispatcherAnyOpsEvents(3));
    const offered = (q: number) => any.ops.filter((op) => m.next[q * m.events.length + m.eventIndex(eventName(dispatcherUserEvent(op)))] >= 0).map((o) => `${o.from}>${o.to}`);
    expect(offered(m.initial)).toEqual(['0>1', '0>2', '0>3']);
    const all = m.values.map((v, q) => [v, q] as const).filter(([v, q]) => (m.meta[q].step as DispatcherStepMeta).op === 'choose' && v.startsWith('user_space(attached={f1,f2,f3}'));
    expect(all.length).toBeGreaterThan(0);
    for (const [, q] of all) expect(offered(q)).toEqual(['1>0', '2>0', '3>0']);
  });
});

describe('dispatcher verdicts (facts section 6, 4121d4481b72)', () => {
  // The scenario of the fix's commit message: two quick updates after a CPU entered half 0.
  const fixScript = ['--script', DISPATCHER_DEFAULT_SCRIPT];
  for (const cpus of ['1', '2']) {
    it(`v6.1 violates D1 at ${cpus} CPU(s): the second quick update rewrites the half a CPU is in (exit 1)`, async () => {
      const r = await cli('check', 'dispatcher', '--protocol', 'v6.1', '--cpus', cpus, ...fixScript);
      expect(r.code).toBe(1);
      expect(r.out[0]).toMatch(/D1 violated, D2 holds/);
      const steps = r.out.filter((l) => /^\s+\d+\. /.test(l));
      expect(steps[steps.length - 1]).toMatch(/bpf_arch_text_copy\(image \+ 0x0, .*starts writing 0xffffffffc0001000 while cpu\d is executing it/);
      expect(r.out.join('\n')).toMatch(/executes jmp +0xffffffffc0001000 \[e9 [0-9a-f ]+\] at __SCT__bpf_dispatcher_xdp_call/);
    });
  }
  for (const cpus of ['1', '2', '3']) {
    it(`v6.2 holds at ${cpus} CPU(s) (exit 0)`, async () => {
      const r = await cli('check', 'dispatcher', '--protocol', 'v6.2', '--cpus', cpus, ...fixScript);
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS \(D1 holds, D2 holds\)/);
    });
  }
  // Without --script: every sequence of attach / detach / replace over f1..f3, addresses reused.
  it('every sequence of calls: v6.1 violates D1 at 1 CPU, no longer than the fix\'s scenario (12 steps), v6.2 holds at 1 and 2 CPUs', async () => {
    const v61 = await cli('check', 'dispatcher', '--protocol', 'v6.1', '--cpus', '1');
    expect(v61.code).toBe(1);
    expect(v61.out[0]).toMatch(/\[user-space="every sequence of XDP attach \/ detach \/ replace over programs \{f1, f2, f3\} \(one device each, addresses reused\)"\]: VIOLATED \(D1 violated, D2 holds\)/);
    const n = Number(/D1 .*: (\d+) steps/.exec(v61.out.join('\n'))![1]);
    expect(n).toBeLessThanOrEqual(12);
    const steps = v61.out.filter((l) => /^\s+\d+\. /.test(l));
    expect(steps[steps.length - 1]).toMatch(/starts writing 0xffffffffc0001000 while cpu0 is executing it/);
    expect(steps.some((l) => /user space: (attach|detach|replace) f\d/.test(l))).toBe(true);
    for (const cpus of ['1', '2']) {
      const v62 = await cli('check', 'dispatcher', '--protocol', 'v6.2', '--cpus', cpus);
      expect(v62.code).toBe(0);
      expect(v62.out[0]).toMatch(/user-space="every sequence.*HOLDS \(D1 holds, D2 holds\)/);
    }
  });
  it('--cpus every: v6.2 holds for every number of CPUs and every sequence, v6.1 is violated from one CPU on (the checked cutoff, src/check/cutoff.ts)', async () => {
    const v62 = await cli('check', 'dispatcher', '--protocol', 'v6.2', '--cpus', 'every');
    expect(v62.code).toBe(0);
    expect(v62.out[0]).toMatch(/HOLDS for every number of CPUs \(D1 holds, D2 holds\).*scope: every number of CPUs \(cutoff k=1.*for user-space: every sequence of XDP attach \/ detach \/ replace over programs \{f1, f2, f3\}/);
    const v61 = await cli('check', 'dispatcher', '--protocol', 'v6.1', '--cpus', 'every', '--progs', '2');
    expect(v61.code).toBe(1);
    expect(v61.out[0]).toMatch(/VIOLATED for every number of CPUs N >= 1 \(D1 violated, D2 holds\).*over programs \{f1, f2\}/);
    const script = await cli('check', 'dispatcher', '--protocol', 'v6.1', '--cpus', 'every', ...fixScript);
    expect(script.out[0]).toMatch(/VIOLATED for every number of CPUs N >= 1 .*for script: attach f1; attach f2; replace f1 f3/);
  });
  it('detach to bpf_dispatcher_nop_func and attach again: v6.1 rewrites half 0 under a CPU, v6.2 does not', async () => {
    const script = ['--script', 'attach f1; detach f1; attach f2'];
    expect((await cli('check', 'dispatcher', '--protocol', 'v6.1', '--cpus', '1', ...script)).code).toBe(1);
    expect((await cli('check', 'dispatcher', '--protocol', 'v6.2', '--cpus', '2', ...script)).code).toBe(0);
  });
  it('bad input is exit 2', async () => {
    for (const args of [['--protocol', 'v6.0'], ['--script', 'replace f1 f2'], ['--script', 'attach f4'], ['--progs', '4'], ['--progs', '2', '--script', 'attach f1']]) {
      const r = await cli('check', 'dispatcher', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});

describe('the dispatcher model read through its layout and typed actions', () => {
  it("v6.1's shortest D1 trace ends with the updater starting bpf_arch_text_copy on the half a CPU is executing, which marks that CPU", () => {
    const m = buildDispatcher({ protocol: 'v6.1', cpus: 2, options: {} });
    const r = explore(m.system, { symmetry: true });
    const idx = r.firstViolation[0];
    expect(idx).toBeGreaterThanOrEqual(0);
    const t = replay(m.system, r.store, idx, true);
    const last = t.steps[t.steps.length - 1];
    expect(m.actions.decode(last.action)).toEqual({ actor: 'updater', i: 0 });
    const { clobbered } = m.layout.cpu;
    const marked = [0, 1].filter((i) => clobbered.get(last.after, i) === 1);
    expect(marked).toHaveLength(1);
    expect(clobbered.get(last.before, marked[0])).toBe(0);
    const half0 = (s: Int32Array) => m.sites(s).find((v) => v.address === '0xffffffffc0001000')!;
    expect(half0(last.before).disasm).toMatch(/^search over/);
    expect(half0(last.after).bytes).toBe('(being written)');
  });
  it('hands out its actors: only the v6.2 updater waits for a grace period (4121d4481b72)', () => {
    for (const [protocol, waits] of [['v6.1', false], ['v6.2', true]] as const) {
      const actors = buildDispatcher({ protocol, cpus: 1, options: {} }).actorMachines!();
      expect(actors.map((a) => a.name)).toEqual(['cpu', 'updater']);
      const states = JSON.stringify(actors[1].machine.config.states);
      expect(states.includes('GP_DONE')).toBe(waits);
    }
  });
});
