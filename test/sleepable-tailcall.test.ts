/**
 * sleepable-tailcall (issue 15): 0f0c332992b8 "bpf: Allow sleepable programs
 * to use tail calls" (merge b18a761ca0f6, 2026-01-30) against the kernel
 * facts it rests on (docs/sleepable-tailcall-sources.md):
 *
 * - the owner check (`__bpf_prog_map_compatible`, kernel/bpf/core.c): the
 *   first program checked creates `map->owner`; since 0f0c332992b8 a later
 *   program must have the owner's `sleepable` flag, or
 *   `prog_fd_array_get_ptr` fails with -EINVAL;
 * - `__bpf_prog_put_noref`: a sleepable program is freed after
 *   `call_rcu_tasks_trace`, any other after `call_rcu`;
 * - `bpf_arch_poke_desc_update` (4b7de801606e, v6.7+): a removal pokes the
 *   bypass to `jmp out`, calls `synchronize_rcu()` if that wrote, then pokes
 *   the target to nop5;
 * - `synchronize_rcu()` waits for `rcu_read_lock()` readers; a task in a
 *   sleepable program holds only `rcu_read_lock_trace()`, and with PREEMPT_RCU
 *   (or PREEMPT_COUNT) the tick reports a quiescent state wherever it is not
 *   in `rcu_read_lock()` and preemption is on, so it does not hold the grace
 *   period up; without PREEMPT_COUNT its running CPU does, until it sleeps;
 * - a tasks-trace grace period waits for trace readers and, being SRCU-fast
 *   (c27cea4416a3), contains a full `synchronize_rcu()`
 *   (`rcu_trace_implies_rcu_gp()`).
 *
 * From these the expected verdicts follow (and the search must find them):
 * allowlist-only lets a non-sleepable caller enter a sleepable callee inside
 * rcu_read_lock() (S1) and lets call_rcu free a non-sleepable callee under a
 * preemptible sleepable task (P2, full only); 0f0c332992b8 removes both, but
 * under full preemption the removal's synchronize_rcu() does not wait for a
 * sleepable task between the bypass and the target site, which then executes
 * the target's nop5 on an unwound frame (P1) — the nop, unwind, nop state
 * that the kernel's own comment says the wait is there to prevent;
 * waiting with synchronize_rcu_tasks_trace() there holds.
 */
import { describe, expect, it } from 'vitest';
import { replayPrinted } from './helpers/replay.js';
import { buildSleepableTailcall, sleepableTailcall } from '../models/sleepable-tailcall.js';
import { __bpf_prog_map_compatible, prog_fd_array_get_ptr_ret, type BpfMapWithOwner } from '../src/arraymap/map_owner.js';
import { runCheck, type CheckResult } from '../src/check/result.js';
import { explore } from '../src/concurrency/explorer.js';
import { freeFlavour, holdsClassic, holdsUp } from '../src/concurrency/rcu-flavours.js';
import { defaultJitConfig } from '../src/jit/x86/config.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { emit_bpf_tail_call_indirect } from '../src/jit/x86/tailcall.js';
import { tail_call_path } from '../src/jit/x86/tailcall_cached.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { EINVAL } from '../src/poke/errno.js';
import { cli } from './helpers/cli.js';

describe('the owner check (__bpf_prog_map_compatible)', () => {
  it('the first program creates the owner; before 0f0c332992b8 any sleepable flag is accepted after it', () => {
    const map: BpfMapWithOwner = { owner: null };
    expect(__bpf_prog_map_compatible(map, { sleepable: true }, 'allowlist-only')).toBe(true);
    expect(map.owner).toEqual({ sleepable: true });
    expect(__bpf_prog_map_compatible(map, { sleepable: false }, 'allowlist-only')).toBe(true);
  });
  it('since 0f0c332992b8 a program with the other flag is refused: prog_fd_array_get_ptr returns -EINVAL', () => {
    const map: BpfMapWithOwner = { owner: null };
    expect(prog_fd_array_get_ptr_ret(map, { sleepable: true }, '0f0c332992b8')).toBe(0);
    expect(prog_fd_array_get_ptr_ret(map, { sleepable: false }, '0f0c332992b8')).toBe(-EINVAL);
    expect(prog_fd_array_get_ptr_ret(map, { sleepable: true }, '0f0c332992b8')).toBe(0);
  });
});

describe('RCU flavours', () => {
  const nonSleepable = { inSection: true, trace: false, asleep: false };
  const running = { inSection: true, trace: true, asleep: false };
  const asleep = { inSection: true, trace: true, asleep: true };
  it('rcu_read_lock() holds up synchronize_rcu() under both preemption models', () => {
    expect(holdsClassic(nonSleepable, 'none')).toBe(true);
    expect(holdsClassic(nonSleepable, 'full')).toBe(true);
  });
  it('a sleepable task holds it up only without preemption and while it runs', () => {
    expect(holdsClassic(running, 'none')).toBe(true);
    expect(holdsClassic(asleep, 'none')).toBe(false);
    expect(holdsClassic(running, 'full')).toBe(false);
  });
  it('a tasks-trace grace period waits for trace readers, asleep or not, and for classic readers (rcu_trace_implies_rcu_gp)', () => {
    for (const p of ['none', 'full'] as const) {
      expect(holdsUp(asleep, 'rcu_tasks_trace', p)).toBe(true);
      expect(holdsUp(running, 'rcu_tasks_trace', p)).toBe(true);
      expect(holdsUp(nonSleepable, 'rcu_tasks_trace', p)).toBe(true);
      expect(holdsUp({ inSection: false, trace: false, asleep: false }, 'rcu_tasks_trace', p)).toBe(false);
    }
  });
  it('__bpf_prog_put_noref picks the flavour by the freed program: call_rcu_tasks_trace if sleepable', () => {
    expect(freeFlavour(true)).toBe('rcu_tasks_trace');
    expect(freeFlavour(false)).toBe('rcu');
  });
});

describe("mainline's indirect tail call (emit_bpf_tail_call_indirect, E3)", () => {
  const ip = 0xffffffffc0000800n;
  const env = makeEnv({ cfg: defaultJitConfig('6.12-ibt', { indirect_jump: 'plain' }), layout: { bpf_array_max_entries: 36, bpf_array_ptrs: 272, bpf_prog_bpf_func: 48 } });
  const bytes = emit_bpf_tail_call_indirect(ip, [], 0, env);
  it('bound check cmp [rsi + max_entries], edx; jbe out (39 56 24; 76), then the slot load at ptrs (272)', () => {
    expect(hexBytes(bytes.slice(0, 6))).toBe('89 d2 39 56 24 76');
    expect(hexBytes(bytes)).toContain('48 8b 8c d6 10 01 00 00');
  });
  it('reads back as: load ptrs[key], test, je out, ..., load prog->bpf_func, add X86_TAIL_CALL_OFFSET (16 with IBT), jmp *%rcx', () => {
    const ops = tail_call_path(bytes, ip)
      .map((s) => s.op.op)
      .filter((o) => o !== 'local');
    expect(ops).toEqual(['bound', 'jbe_out', 'jae_out', 'load_slot', 'test_rcx', 'je_out', 'load_bpf_func', 'add_rcx', 'jmp_rcx']);
    expect(hexBytes(bytes)).toContain('48 8b 49 30 48 83 c1 10 ff e1');
  });
});


const build = (protocol: string, cpus: number, options: Record<string, string>) => buildSleepableTailcall({ protocol, cpus, options });
const statuses = (r: CheckResult): string => r.properties.map((p) => `${p.id} ${p.status}`).join(', ');

describe('sleepable-tailcall verdicts', () => {
  it('allowlist-only, direct, no preemption: a non-sleepable caller enters a sleepable program inside rcu_read_lock() (S1); P1, P2 hold (exit 1)', async () => {
    const r = await cli('check', 'sleepable-tailcall', '--protocol', 'allowlist-only', '--cpus', '2', '--tailcall', 'direct', '--preempt', 'none');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/VIOLATED \(P1 holds, P2 holds, S1 violated, P4 holds\)/);
    const text = r.out.join('\n');
    expect(text).toMatch(/loads caller \(non-sleepable\), f1 \(sleepable\)/);
    expect(text).toMatch(/task0: enters the caller: rcu_read_lock\(\)/);
  });
  it('allowlist-only, direct, full preemption: S1, and P2 (call_rcu frees a non-sleepable callee under a sleepable task), and P1 (exit 1)', async () => {
    const r = await cli('check', 'sleepable-tailcall', '--protocol', 'allowlist-only', '--cpus', '2', '--tailcall', 'direct', '--preempt', 'full');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/VIOLATED \(P1 violated, P2 violated, S1 violated, P4 holds\)/);
    const p2 = r.out.join('\n').slice(r.out.join('\n').indexOf('Counterexample for P2'));
    expect(p2).toMatch(/__bpf_prog_put_noref: call_rcu \(f\d is non-sleepable\) \(no task holds it up\)/);
  });
  it('allowlist-only, indirect: S1 with or without preemption; P2 only with it (exit 1)', async () => {
    const none = await cli('check', 'sleepable-tailcall', '--protocol', 'allowlist-only', '--cpus', '2', '--tailcall', 'indirect', '--preempt', 'none');
    expect(none.out[0]).toMatch(/VIOLATED \(P1 holds, P2 holds, S1 violated, P4 holds\)/);
    const full = await cli('check', 'sleepable-tailcall', '--protocol', 'allowlist-only', '--cpus', '2', '--tailcall', 'indirect', '--preempt', 'full');
    expect(full.out[0]).toMatch(/VIOLATED \(P1 holds, P2 violated, S1 violated, P4 holds\)/);
    expect(full.out.join('\n')).toMatch(/mov 0x110\(%rsi,%rdx,8\),%rcx \[48 8b 8c d6 10 01 00 00\]: loads ptrs\[0\] = f1/);
  });
  it('0f0c332992b8 without preemption: holds, direct and indirect (exit 0)', async () => {
    for (const kind of ['direct', 'indirect']) {
      const r = await cli('check', 'sleepable-tailcall', '--protocol', '0f0c332992b8', '--cpus', '2', '--tailcall', kind, '--preempt', 'none');
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS \(P1 holds, P2 holds, S1 holds, P4 holds\)/);
    }
  });
  it('0f0c332992b8, indirect, full preemption: holds: the callee is sleepable and freed after a tasks-trace grace period (exit 0)', async () => {
    const r = await cli('check', 'sleepable-tailcall', '--protocol', '0f0c332992b8', '--cpus', '2', '--tailcall', 'indirect', '--preempt', 'full');
    expect(r.code).toBe(0);
  });
  it('0f0c332992b8, direct, full preemption: P1: the removal\'s synchronize_rcu() does not wait for a sleepable task in the unwind window (exit 1)', async () => {
    const r = await cli('check', 'sleepable-tailcall', '--protocol', '0f0c332992b8', '--cpus', '1', '--sleepable', 'caller,f1', '--script', 'install f1; remove', '--caller', 'rbx');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/VIOLATED \(P1 violated, P2 holds, S1 holds, P4 holds\)/);
    const text = r.out.join('\n');
    const order = [
      /task0: enters the sleepable caller: rcu_read_lock_trace\(\); migrate_disable\(\)/,
      /task0: executes nopl +0x0\(%rax,%rax,1\) \[0f 1f 44 00 00\] at tailcall_bypass/,
      /task0: executes addq \$0x1,\(%rax\) \[48 83 00 01\]; pop %rbx \[5b\]; pop %rax \[58\]; pop %rax \[58\]; add \$0x8,%rsp \[48 81 c4 08 00 00 00\]/,
      /updater: bpf_arch_poke_desc_update: __bpf_arch_text_poke\(tailcall_bypass, BPF_MOD_JUMP, NULL, bypass_addr\) = 0/,
      /updater: bpf_arch_poke_desc_update: synchronize_rcu\(\): a grace period starts \(no task holds it up\)/,
      /updater: bpf_arch_poke_desc_update: __bpf_arch_text_poke\(tailcall_target, BPF_MOD_JUMP, f1\+off, NULL\) = 0/,
      /task0: executes nopl +0x0\(%rax,%rax,1\) \[0f 1f 44 00 00\] at tailcall_target 0x[0-9a-f]+ -> fell_through/,
    ];
    let at = 0;
    for (const re of order) {
      const m = re.exec(text.slice(at));
      expect(m, String(re)).not.toBeNull();
      at += m!.index + m![0].length;
    }
  });
  it('the candidate fix (synchronize_rcu_tasks_trace() for a sleepable descriptor) holds under both preemption models (exit 0)', async () => {
    for (const preempt of ['none', 'full']) {
      const r = await cli('check', 'sleepable-tailcall', '--protocol', 'tasks-trace-sync', '--cpus', '3', '--preempt', preempt);
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS/);
    }
  });
  it('every counterexample of the violated configurations replays, step by step, through the model without symmetry', () => {
    const cases: [string, Record<string, string>, string[]][] = [
      ['allowlist-only', { tailcall: 'direct', preempt: 'full' }, ['P1', 'P2', 'S1']],
      ['allowlist-only', { tailcall: 'indirect', preempt: 'full' }, ['P2', 'S1']],
      ['0f0c332992b8', { tailcall: 'direct', preempt: 'full', caller: 'rbx' }, ['P1']],
    ];
    for (const [protocol, options, props] of cases) {
      const m = build(protocol, 2, options);
      const r = runCheck(m);
      for (const p of props) replayPrinted(build(protocol, 2, options), r, p);
      expect(statuses(r)).toMatch(new RegExp(props.map((p) => `${p} violated`).join('.*')));
    }
  });
  it('the registered reference checks give their expected verdicts', () => {
    for (const ref of sleepableTailcall.reference) {
      const r = runCheck(sleepableTailcall.build({ protocol: ref.protocol, cpus: ref.cpus, options: ref.options ?? {} }));
      expect(r.verdict, `${ref.protocol} ${JSON.stringify(ref.options)}`).toBe(ref.expected);
      for (const p of ref.expectedViolated ?? []) expect(r.properties.find((x) => x.id === p)?.status).toBe('violated');
    }
  });
  it('for every number of tasks (--cpus every: the cutoff conditions C1-C4 checked at 2 and 3 tasks): 0f0c332992b8 fails P1 with preemption, holds without; the fix holds', async () => {
    const full = await cli('check', 'sleepable-tailcall', '--protocol', '0f0c332992b8', '--cpus', 'every', '--preempt', 'full');
    expect(full.code).toBe(1);
    expect(full.out[0]).toMatch(/VIOLATED for every number of CPUs N >= 1 \(P1 violated, P2 holds, S1 holds, P4 holds\)/);
    const none = await cli('check', 'sleepable-tailcall', '--protocol', '0f0c332992b8', '--cpus', 'every', '--preempt', 'none');
    expect(none.code).toBe(0);
    expect(none.out[0]).toMatch(/HOLDS for every number of CPUs/);
    const fix = await cli('check', 'sleepable-tailcall', '--protocol', 'tasks-trace-sync', '--cpus', 'every', '--preempt', 'full');
    expect(fix.code).toBe(0);
    expect(fix.out[0]).toMatch(/HOLDS for every number of CPUs/);
  });
  it('the search is complete and reproducible; symmetry changes the count, not the verdict', () => {
    const a = explore(build('0f0c332992b8', 2, {}).system);
    const b = explore(build('0f0c332992b8', 2, {}).system);
    expect(a.complete).toBe(true);
    expect(a.states).toBe(b.states);
    const full = runCheck(build('0f0c332992b8', 2, {}), { symmetry: false });
    const sym = runCheck(build('0f0c332992b8', 2, {}));
    expect(full.verdict).toBe(sym.verdict);
    expect(statuses(full)).toBe(statuses(sym));
  });
  it('bad input is exit 2 with one line', async () => {
    for (const args of [
      ['--protocol', 'x'],
      ['--cpus', '5'],
      ['--preempt', 'voluntary'],
      ['--tailcall', 'both'],
      ['--sleepable', 'f9'],
      ['--script', 'install f1@1'],
      ['--caller', 'r12'],
      ['--tailcall', 'indirect', '--caller', 'rbx'],
    ]) {
      const r = await cli('check', 'sleepable-tailcall', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
