/**
 * tailcall-batch: loops over every entry of a prog array, one element (and
 * one prog_array_map_poke_run) at a time. Expected verdicts from the
 * kernel's history (src/arraymap/batch.ts, docs/reference-verdicts.md):
 * - v5.6 (aa2e93b8e58e and its leak fix): P6 violated, because an -ENOMEM
 *   from the allocations before the loop returns without writing
 *   batch.count (06e5c999f102's message: "the value of uattr->batch.count
 *   will be incorrect"); P8 violated, because the loop has no cond_resched()
 *   (75134f16e7dd's message: syzbot's soft lockups in batch ops);
 * - 75134f16e7dd: cond_resched() after every element, P8 holds, P6 still
 *   violated; 06e5c999f102: count zeroed first, everything holds;
 * - da765a2f5993 (the clear): P8 violated, the RCU stall of 4406942e65ca's
 *   message (poke_run per entry, no cond_resched()); 4406942e65ca holds;
 * - the update protocols keep tailcall-poke's verdicts: no-sync violates P1
 *   (a delete), bypass-first P1 and P3 (an install).
 */
import { describe, expect, it } from 'vitest';
import { replayPrinted } from './helpers/replay.js';
import { buildTailcallBatch, tailcallBatch, tailcallBatchLayout } from '../models/tailcall-batch.js';
import { BATCH_LOOPS, batchEvents, batchMachine } from '../src/arraymap/batch.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { runCheck, type CheckResult } from '../src/check/result.js';
import { cli } from './helpers/cli.js';

const build = (protocol: string, cpus: number, options: Record<string, string> = {}) => buildTailcallBatch({ protocol, cpus, options });
const violatedIds = (r: CheckResult): string[] => r.properties.filter((p) => p.status === 'violated').map((p) => p.id);


describe('tailcall-batch reference verdicts', () => {
  const exact: Record<string, string[]> = {
    'v5.6 {}': ['P6', 'P8'],
    'v5.6 {"op":"delete"}': ['P6', 'P8'],
    '75134f16e7dd {}': ['P6'],
    '06e5c999f102 {}': [],
    '06e5c999f102 {"op":"delete"}': [],
    'da765a2f5993 {}': ['P8'],
    '4406942e65ca {}': [],
    '06e5c999f102 {"op":"delete","desc-update":"no-sync"}': ['P1'],
    '06e5c999f102 {"desc-update":"bypass-first"}': ['P1', 'P3'],
  };
  for (const ref of tailcallBatch.reference) {
    const key = `${ref.protocol} ${JSON.stringify(ref.options ?? {})}`;
    it(`${key} N=${ref.cpus}: ${ref.expected}${exact[key]?.length ? ` (${exact[key].join(', ')})` : ''}, counterexamples replayed`, () => {
      const m = build(ref.protocol, ref.cpus, ref.options);
      const r = runCheck(m);
      expect(r.verdict).toBe(ref.expected);
      expect(violatedIds(r)).toEqual(exact[key]);
      for (const id of violatedIds(r)) replayPrinted(m, r, id);
      expect(r.properties.find((p) => p.id === 'P6')!.status).toBe(BATCH_LOOPS[ref.protocol].kind === 'clear' ? 'not-checked' : exact[key].includes('P6') ? 'violated' : 'holds');
    });
  }
});

describe('tailcall-batch counterexamples', () => {
  it('v5.6: an -ENOMEM before the loop leaves batch.count at the 3 elements asked for, none applied (P6, one step)', () => {
    const r = runCheck(build('v5.6', 2));
    const ce = r.counterexamples.find((c) => c.property === 'P6')!;
    expect(ce.steps.map((s) => `${s.actor}: ${s.action}`)).toEqual(['batch: generic_map_update_batch: the allocation of the key and value buffers fails: return -ENOMEM']);
    expect(ce.steps.at(-1)!.state).toMatch(/batch\.count=3 applied=000/);
  });

  it('06e5c999f102: the same -ENOMEM reports 0 (put_user(0) came first)', () => {
    const m = build('06e5c999f102', 1);
    const sys = m.system;
    let s = new Int32Array(sys.width);
    sys.initial(s);
    const next = new Int32Array(sys.width);
    for (const want of ['put_user(0, &uattr->batch.count)', 'fails: return -ENOMEM']) {
      let found: Int32Array | undefined;
      sys.expand(s, next, (a) => {
        if (m.describe(s, next, a).action.includes(want)) found = next.slice();
      });
      expect(found, want).toBeDefined();
      s = found!;
    }
    expect(m.summary(s)).toMatch(/batch\.count=0 applied=000/);
  });

  it('da765a2f5993: the clear deletes key 0 (v5.10: bypass, synchronize_rcu, target), then keys 1 and 2 with no rescheduling point between them (P8)', () => {
    const r = runCheck(build('da765a2f5993', 2));
    const ce = r.counterexamples.find((c) => c.property === 'P8')!;
    expect(ce.steps.map((s) => s.actor)).toEqual(Array(8).fill('clear'));
    const text = ce.steps.map((s) => s.action);
    expect(text[0]).toBe('fd_array_map_delete_elem: old = xchg(&ptrs[0], NULL) -> old = f1');
    expect(text[1]).toMatch(/^bpf_arch_poke_desc_update: bpf_arch_text_poke\(tailcall_bypass, BPF_MOD_JUMP, NULL, bypass_addr\) = 0$/);
    expect(text[3]).toMatch(/^synchronize_rcu\(\) returns/);
    expect(text[5]).toMatch(/^bpf_prog_put\(f1\): the last reference; f1 is freed after a grace period/);
    expect(text[6]).toMatch(/^fd_array_map_delete_elem\(key 1\)/);
    expect(text[7]).toMatch(/^fd_array_map_delete_elem\(key 2\).*\[element 2 in a row without a rescheduling point: more than K = 1\]$/);
    expect(ce.steps[1].source?.file).toMatch(/protocols\/v5\.10\.c$/);
  });

  it('P8 counts the sleep in synchronize_rcu() as a rescheduling point: the old clear needs two entries after key 0 to exceed K = 1, and K + 2 after it in general', () => {
    const p8 = (options: Record<string, string>) => runCheck(build('da765a2f5993', 1, { script: 'none', ...options })).properties.find((p) => p.id === 'P8')!.status;
    expect(p8({ entries: '2' })).toBe('holds');
    expect(p8({ entries: '3' })).toBe('violated');
    expect(p8({ entries: '3', 'resched-bound': '2' })).toBe('holds');
    expect(p8({ entries: '4', 'resched-bound': '2' })).toBe('violated');
    // the update batch's install of key 0 does not sleep: two elements in a row already
    const upd = runCheck(build('v5.6', 1, { script: 'none', entries: '2' }));
    expect(upd.properties.find((p) => p.id === 'P8')!.status).toBe('violated');
    // and the fixed clear holds at every size
    for (const entries of ['1', '2', '3', '4']) expect(runCheck(build('4406942e65ca', 1, { script: 'none', entries })).verdict).toBe('holds');
  });

  it('a delete batch whose key 0 a concurrent delete emptied breaks at element 0 with -ENOENT and reports count 0 (P6 holds with it)', () => {
    const m = build('06e5c999f102', 1, { op: 'delete', script: 'remove' });
    const r = runCheck(m, { stopAtFirstViolation: false });
    expect(r.verdict).toBe('holds');
    // the schedule: the updater's delete first, then the batch's
    const sys = m.system;
    let s = new Int32Array(sys.width);
    sys.initial(s);
    const next = new Int32Array(sys.width);
    const take = (pred: (actor: string, action: string) => boolean): void => {
      let found: Int32Array | undefined;
      sys.expand(s, next, (a) => {
        const d = m.describe(s, next, a);
        if (!found && pred(d.actor, d.action)) found = next.slice();
      });
      expect(found).toBeDefined();
      s = found!;
    };
    for (let i = 0; i < 12 && !/updater: done/.test(m.summary(s)); i++) take((actor) => actor === 'updater' || actor === 'rcu');
    take((_, a) => a.includes('put_user'));
    take((_, a) => a.includes('allocation') && a.includes('succeeds'));
    take((_, a) => a.includes('copy_from_user(keys[0])') && a.includes('succeeds'));
    take((_, a) => a.includes('xchg(&ptrs[0], NULL) -> old = NULL'));
    for (let i = 0; i < 6 && !/batch: next [^;]*copy_to_user\(&uattr->batch\.count/.test(m.summary(s)); i++) take((actor) => actor === 'batch');
    expect(m.summary(s)).toMatch(/batch: next [^;]*copy_to_user\(&uattr->batch\.count, &cp\) with cp = 0/);
    take((_, a) => a.includes('copy_to_user'));
    expect(m.summary(s)).toMatch(/batch\.count=0 applied=000; .*batch: the system call returned/);
  });

  it('P7 says when the bytes and ptrs[0] disagree with poke_mutex free', () => {
    const m = build('06e5c999f102', 1, { script: 'none' });
    const sys = m.system;
    const s = new Int32Array(sys.width);
    sys.initial(s);
    const p7 = 1 << sys.properties.findIndex((p) => p.id === 'P7');
    expect(sys.violations(s) & p7).toBe(0);
    // walk the batch to its xchg on key 0: ptrs[0] = f1 under the mutex, bytes unchanged
    let half: Int32Array | undefined;
    const next = new Int32Array(sys.width);
    let cur = s;
    for (let i = 0; i < 4 && !half; i++) {
      let step: Int32Array | undefined;
      sys.expand(cur, next, (a) => {
        const d = m.describe(cur, next, a);
        if (d.actor === 'batch' && !d.action.includes('fails') && !d.action.includes('faults')) step = next.slice();
      });
      cur = step!;
      if (/ptrs=\[f1,/.test(m.summary(cur))) half = cur;
    }
    expect(half).toBeDefined();
    expect(sys.violations(half!) & p7).toBe(0); // inside poke_mutex: not a violation
    // the same state with the batch thread moved on to element 1 (the mutex dropped) without its pokes
    const bm = compileMachine(batchMachine(BATCH_LOOPS['06e5c999f102'], 'update', 3, 1, 1, PROTOCOLS['v5.10']), batchEvents(1));
    const dropped = half!.slice();
    tailcallBatchLayout(1, 3, 1).shared.batch.set(dropped, bm.stateIndex('e1/copy'));
    expect(m.summary(dropped)).toMatch(/batch: next generic_map_update_batch: copy_from_user\(keys\[1\], values\[1\]\)/);
    expect(sys.violations(dropped) & p7).not.toBe(0);
  });
});

describe('tailcall-batch on the command line', () => {
  it('check --protocol da765a2f5993 exits 1 with the P8 counterexample; 4406942e65ca exits 0', async () => {
    const bad = await cli('check', 'tailcall-batch', '--protocol', 'da765a2f5993', '--cpus', '2');
    expect(bad.code).toBe(1);
    expect(bad.out[0]).toMatch(/VIOLATED \(P1 holds, P2 holds, P3 holds, P4 holds, P6 not-checked, P7 holds, P8 violated\)/);
    const good = await cli('check', 'tailcall-batch', '--protocol', '4406942e65ca', '--cpus', '2');
    expect(good.code).toBe(0);
  });
  it('bad input is exit 2 with one line', async () => {
    for (const args of [
      ['--protocol', 'da765a2f5993', '--op', 'update'],
      ['--op', 'lookup'],
      ['--entries', '9'],
      ['--resched-bound', 'x'],
      ['--desc-update', 'v4.0'],
      ['--script', 'update f1'],
      ['--script', 'remove 1'],
      ['--script', 'update f2; remove; update f3; remove; update f2'],
      ['--protocol', 'v5.5'],
    ]) {
      const r = await cli('check', 'tailcall-batch', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toHaveLength(1);
    }
  });
});

describe('what a check of the clear says it covers', () => {
  it('the scope lists --op only for the batch loops (the clear deletes every entry; --op is refused there)', async () => {
    const clear = await cli('check', 'tailcall-batch', '--protocol', '4406942e65ca', '--cpus', '2');
    const scope = clear.out.find((l) => l.startsWith('scope:'));
    expect(scope).toBeDefined();
    expect(scope).not.toContain('--op');
    const batch = await cli('check', 'tailcall-batch', '--protocol', '06e5c999f102', '--cpus', '2');
    expect(batch.out.find((l) => l.startsWith('scope:'))).toContain('--op update');
  });
});
