/**
 * `tailcall-load-race`: the BUG_ON race of v5.5 to v6.6 fixed by 4b7de801606e
 * (docs/kernel-facts.md 3c and its errata). Expected verdicts: v5.5 (one site)
 * and v5.10 violated (a poke skipped with -EINVAL before bpf_prog_kallsyms_add,
 * a later poke -EBUSY -> BUG_ON), v6.7 holds. Expected bytes come from the real kernel's caller_d0 images.
 */
import { describe, expect, it } from 'vitest';
import { buildTailcallLoadRace } from '../models/tailcall-load-race.js';
import { runCheck } from '../src/check/result.js';
import { progLoadEvents, progLoadMachine } from '../src/arraymap/prog_load.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { explore } from '../src/concurrency/explorer.js';
import type { Field } from '../src/model/index.js';
import { cli } from './helpers/cli.js';
import { loadOracle, unhex } from './helpers/oracle.js';

const hex = (s: string): string => unhex(s).map((b) => b.toString(16).padStart(2, '0')).join(' ');
const installed = loadOracle('caller_d0', 'b_install_t1');

describe('tailcall-load-race --protocol v5.10', () => {
  for (const cpus of ['2', '3']) {
    it(`is violated at ${cpus} CPUs: -EINVAL skipped before kallsyms_add, then -EBUSY reaches BUG_ON (exit 1)`, async () => {
      const r = await cli('check', 'tailcall-load-race', '--protocol', 'v5.10', '--cpus', cpus);
      expect(r.code).toBe(1);
      expect(r.out[0]).toMatch(/P4 violated/);
      expect(r.out[0]).toMatch(/S2 violated/);
      const text = r.out.join('\n');
      const p4 = text.slice(text.indexOf('Counterexample for P4'));
      const steps = p4.split('\n').filter((l) => /^\s+\d+\. /.test(l));
      const skipped = steps.findIndex((l) => /bpf_arch_text_poke\(.*\) = -EINVAL .*tolerated/.test(l));
      const ksym = steps.findIndex((l) => /bpf_prog_kallsyms_add/.test(l));
      const stable = steps.findIndex((l) => /tailcall_target_stable, true/.test(l));
      expect(stable).toBeGreaterThanOrEqual(0);
      expect(skipped).toBeGreaterThan(stable);
      expect(ksym).toBeGreaterThan(skipped);
      expect(steps[steps.length - 1]).toMatch(/= -EBUSY -> BUG_ON\(ret < 0 && ret != -EINVAL\)/);
    });
  }
});

describe('tailcall-load-race --protocol v5.5 (one site, poke->ip: da765a2f5993, 428d5df1fa4f)', () => {
  for (const cpus of ['2', '3']) {
    it(`is violated at ${cpus} CPUs the same way: the v5.5 walk let -EINVAL through too (exit 1)`, async () => {
      const r = await cli('check', 'tailcall-load-race', '--protocol', 'v5.5', '--cpus', cpus);
      expect(r.code).toBe(1);
      expect(r.out[0]).toMatch(/P4 violated, S2 violated/);
      const text = r.out.join('\n');
      const p4 = text.slice(text.indexOf('Counterexample for P4'));
      const steps = p4.split('\n').filter((l) => /^\s+\d+\. /.test(l));
      const skipped = steps.findIndex((l) => /bpf_arch_text_poke\(tailcall_target, .*\) = -EINVAL .*tolerated/.test(l));
      expect(skipped).toBeGreaterThanOrEqual(0);
      expect(steps.findIndex((l) => /bpf_prog_kallsyms_add/.test(l))).toBeGreaterThan(skipped);
      // an update finds nop5 where it expects the jump the skipped install should have written
      expect(steps[steps.length - 1]).toMatch(/bpf_arch_text_poke\(tailcall_target, BPF_MOD_JUMP, f1\+off, f\d\+off\) = -EBUSY -> BUG_ON\(ret < 0 && ret != -EINVAL\)/);
      expect(text).not.toMatch(/tailcall_bypass/); // no bypass site in the v5.5 layout, no bypass poke
      expect(r.out.some((l) => /^bytes: x86-64 bytes of linux v5\.5, layout v5\.5, .*profile 5\.5/.test(l))).toBe(true);
    });
  }

  it('runs on the v5.5 layout: one site, nop5 or jmp fK+25 (adj_off = PROLOGUE_SIZE, facts 0.2), also after the fixup', () => {
    const m = buildTailcallLoadRace({ protocol: 'v5.5', cpus: 3, options: {} });
    // every reachable state, past the violations (the search would stop once P4 and S2 have one)
    const r = explore({ ...m.system, violations: () => 0 });
    expect(r.complete).toBe(true);
    const s = new Int32Array(m.system.width);
    const seen = new Set<string>();
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      const sites = m.sites(s);
      expect(sites.map((x) => x.name)).toEqual(['tailcall_target']);
      seen.add(sites[0].disasm.replace(/\s+/g, ' '));
    }
    // f1, f2 at the oracle's target1, target2 (0xffffffffc0000654, 0xffffffffc000069c) + 25
    expect([...seen].sort()).toEqual(['jmp 0xffffffffc000066d', 'jmp 0xffffffffc00006b5', 'nopl 0x0(%rax,%rax,1)']);
  });
});

describe('tailcall-load-race --protocol v6.7', () => {
  for (const cpus of [2, 3]) {
    it(`holds at ${cpus} CPUs (complete search)`, () => {
      const r = runCheck(buildTailcallLoadRace({ protocol: 'v6.7', cpus, options: {} }));
      expect(r.verdict).toBe('holds');
      expect(r.properties.map((p) => `${p.id} ${p.status}`)).toEqual(['P4 holds', 'S2 holds']);
    });
  }

  it('is not vacuous: the fixup installs f1 under poke_mutex, leaving the bytes the real kernel had', () => {
    const m = buildTailcallLoadRace({ protocol: 'v6.7', cpus: 2, options: {} });
    const r = explore(m.system);
    expect(r.complete).toBe(true);
    const ld = compileMachine(progLoadMachine, progLoadEvents(2));
    const { loader, kallsyms, slot } = m.layout.shared as Record<string, Field>;
    const s = new Int32Array(m.system.width);
    let fixupInstalled = 0;
    let updateWhileUnknown = 0;
    for (let i = 0; i < r.states; i++) {
      r.store.read(i, s);
      const [bypass, target] = m.sites(s);
      // the loader about to set tailcall_target_stable, its fixup having read f1 in ptrs[0]
      if (ld.values[loader.get(s)] === 'stable' && ld.contexts[loader.get(s)].target === 1) {
        fixupInstalled++;
        expect(target.bytes).toBe(hex(installed.tail_call_sites[0].poke!.bytes));
        expect(bypass.bytes).toBe(hex(installed.tail_call_sites[0].bypass!.bytes));
      }
      if (kallsyms.get(s) === 0 && slot.get(s) === 1 && target.bytes === hex(installed.tail_call_sites[0].poke!.bytes)) updateWhileUnknown++;
    }
    expect(fixupInstalled).toBeGreaterThan(0);
    expect(updateWhileUnknown).toBeGreaterThan(0);
  });
});

describe('actors', () => {
  it('cpu0 loads, cpu1.. update: one loader step and one updater step each, and their machines to draw', async () => {
    const m = buildTailcallLoadRace({ protocol: 'v5.10', cpus: 3, options: {} });
    expect(m.actions.kinds.map((k) => [k.actor, k.count])).toEqual([['loader', 1], ['updater', 2]]);
    expect(m.actorMachines!().map((a) => a.name)).toEqual(['loader', 'updater']);
    const r = await cli('graph', 'tailcall-load-race', '--kind', 'loader', '--format', 'dot');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/kallsyms_add/);
  });
});

describe('bad input', () => {
  it('exit 2 for one CPU or a protocol the model does not have', async () => {
    for (const args of [['--cpus', '1'], ['--protocol', 'rfc']]) {
      const r = await cli('check', 'tailcall-load-race', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
