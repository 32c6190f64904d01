/**
 * Layout E2 (v5.10-6.11) on real v5.10 images: Debian 11's 5.10.262 captured under QEMU on six
 * CPU models, default mitigations and mitigations=off (test/fixtures/captured/linux-5.10.0-46-amd64).
 * Expected bytes and site addresses always come from the fixture files (the kernel's); ours from src/jit.
 *
 * - The direct tail-call section (counter check to `out:`) of every direct site, emitted with the
 *   profile the tail-call models use for their v5.10 protocols ('5.10', models/tailcall-common.ts
 *   CALLER_PROFILES) and with '5.10.y': the poke descriptor's bypass, target and out addresses are
 *   the kernel's, and the bytes too in the state the map held.
 * - The models' whole caller (jit_tail_caller, the image tailcall-poke and tailcall-load-race run on)
 *   on the mitigations=off captures, where v5.10 as released and 5.10.262 emit the same `ret`.
 * The nop5 is the one the fixture's CPU report implies (arch_init_ideal_nops: K8's on `max`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jit_tail_caller } from '../src/jit/x86/caller.js';
import { parseFixture } from '../src/jit/oracle/fixture.js';
import { arch_init_ideal_nops } from '../src/jit/x86/ideal_nops.js';
import { fixtureConfig } from '../src/jit/oracle/fixture-config.js';
import { rejitFixture } from '../src/jit/oracle/rejit.js';
import { defaultJitConfig, nop5Of } from '../src/jit/x86/config.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { bpf_tail_call_direct_fixup, emit_bpf_tail_call_direct, new_poke_descriptor } from '../src/jit/x86/tailcall.js';
import { CALLER_PROFILES } from '../models/tailcall-common.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { SHAPES, lookupIn, programFixtures as fixtures } from './helpers/tail-callers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/captured/linux-5.10.0-46-amd64');
const CPUS = ['Cascadelake-Server', 'EPYC-Milan', 'EPYC-Rome', 'Icelake-Server', 'Skylake-Client', 'max'];



it('the models emit their v5.10 protocols\' caller with profile 5.10', () => {
  expect(CALLER_PROFILES['v5.10']).toBe('5.10');
});

for (const cpu of CPUS) {
  for (const config of ['default', 'nomitigations']) {
    const dir = join(ROOT, cpu, config);
    describe(`5.10.262 ${cpu} ${config}: direct tail-call sites`, () => {
      for (const [program, shape] of Object.entries(SHAPES)) {
        const fxs = fixtures(dir, program);
        it(`${program}: captured at every step`, () => expect(fxs.length).toBeGreaterThanOrEqual(8));
        for (const fx of fxs) {
          it(`${program} ${fx.step}`, () => {
            expect(fx.raw.kernel_debian_package_version).toBe('5.10.262-1');
            const { env } = fixtureConfig(fx);
            expect(env.cfg.profile.name).toBe('5.10.y');
            const sites = fx.tail_call_sites.filter((s) => s.kind === 'direct');
            expect(sites).toHaveLength(shape.sites);
            for (const profile of ['5.10', '5.10.y']) {
              const cfg = defaultJitConfig(profile, { nop5: env.cfg.nop5 });
              sites.forEach((site, key) => {
                const ip = fx.image_address + BigInt(site.tcc_check_offset);
                const poke = new_poke_descriptor('jmp_table', key, 0);
                const section = Uint8Array.from(emit_bpf_tail_call_direct(poke, ip, shape.callee_regs, shape.stack_depth, makeEnv({ cfg })));
                expect(poke.tailcall_bypass, profile).toBe(site.bypass!.address);
                expect(poke.tailcall_target, profile).toBe(site.poke!.address);
                expect(poke.bypass_addr, profile).toBe(fx.image_address + BigInt(site.out_offset));
                expect(poke.adj_off).toBe(fx.x86_tail_call_offset);
                bpf_tail_call_direct_fixup(section, ip, [poke], lookupIn(fx), nop5Of(cfg));
                expect(hexBytes(section), profile).toBe(hexBytes(fx.bytes.subarray(site.tcc_check_offset, site.out_offset)));
              });
            }
          });
        }
      }
    });
  }
}

describe('the models\' v5.10 caller (jit_tail_caller, profile 5.10) is the kernel\'s whole image with mitigations=off', () => {
  for (const cpu of CPUS) {
    const dir = join(ROOT, cpu, 'nomitigations');
    for (const program of ['caller_d0', 'caller_two']) {
      it(`${cpu} ${program}: every step`, () => {
        const fxs = fixtures(dir, program);
        expect(fxs.length).toBeGreaterThanOrEqual(8);
        for (const fx of fxs) {
          // the map address is the one value read from the image (the xlated dump has the map id)
          const r = rejitFixture(fx);
          const map = r.recovered.find((x) => x.sym === 'map:1')!.value;
          const img = jit_tail_caller({ ...SHAPES[program], map_address: map }, fx.image_address, CALLER_PROFILES['v5.10'], { nop5: r.env.cfg.nop5 });
          bpf_tail_call_direct_fixup(img.bytes, img.address, img.pokes, lookupIn(fx), nop5Of(r.env.cfg));
          expect(hexBytes(img.bytes), fx.file).toBe(hexBytes(fx.bytes));
          const sites = fx.tail_call_sites.filter((s) => s.kind === 'direct');
          expect(img.pokes.map((p) => [p.tailcall_bypass, p.tailcall_target])).toEqual(sites.map((s) => [s.bypass!.address, s.poke!.address]));
          expect(img.tail_call_entry - img.address).toBe(11n);
        }
      });
    }
  }
});

describe('the nop5 is decided from the CPU report', () => {
  const nop = (cpu: string) => fixtureConfig(fixtures(join(ROOT, cpu, 'default'), 'caller_d0')[0]).env.cfg.nop5;
  it('K8_NOP5_ATOMIC on QEMU max (AuthenticAMD family 15), P6 on the others', () => {
    expect(CPUS.map(nop)).toEqual(['p6', 'p6', 'p6', 'p6', 'p6', 'k8']);
  });
});

describe('profile from the 5.10 stable sublevel (Debian\'s kernel_version names the ABI, not the sublevel)', () => {
  const base = () => JSON.parse(JSON.stringify(fixtures(join(ROOT, 'max', 'default'), 'caller_d0')[0].raw)) as Record<string, unknown>;
  const cfgOf = (raw: Record<string, unknown>) => fixtureConfig(parseFixture(raw, 'x.json'));
  it('5.10.262-1 -> 5.10.y; kernel_build alone is enough; 5.10.0 -> 5.10 as released', () => {
    expect(cfgOf(base()).notes[0]).toMatch(/^profile=5\.10\.y \(kernel_debian_package_version 5\.10\.262-1/);
    const b = base();
    delete b.kernel_debian_package_version;
    b.kernel_build = 'Linux version 5.10.0-46-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 5.10.262-1 (2026-01-01)';
    expect(cfgOf(b).env.cfg.profile.name).toBe('5.10.y');
    const c = base();
    delete c.kernel_debian_package_version;
    delete c.kernel_build;
    c.kernel_version = '5.10.0';
    expect(cfgOf(c).env.cfg.profile.name).toBe('5.10');
  });
  it('an unknown sublevel, or one between v5.10 and 5.10.133, is a one-line error', () => {
    const b = base();
    delete b.kernel_debian_package_version;
    delete b.kernel_build;
    expect(() => cfgOf(b)).toThrow(/^x\.json: kernel_version 5\.10\.0-46-amd64: cannot tell the 5\.10 stable sublevel/);
    const c = base();
    c.kernel_debian_package_version = '5.10.120-1';
    expect(() => cfgOf(c)).toThrow(/^x\.json: kernel 5\.10\.120 has no profile/);
  });
});

describe('arch_init_ideal_nops (v5.10 arch/x86/kernel/alternative.c)', () => {
  it('by vendor, family and model', () => {
    const k = (c: Parameters<typeof arch_init_ideal_nops>[0]) => {
      const r = arch_init_ideal_nops(c);
      return typeof r === 'string' ? 'unknown' : r.nop5;
    };
    expect(k({ vendor: 'GenuineIntel', family: 6, model_number: 0x17 })).toBe('k8'); // Penryn: the decoder quirk
    expect(k({ vendor: 'GenuineIntel', family: 6, model_number: 0x1c })).toBe('p6'); // an Atom, excluded
    expect(k({ vendor: 'GenuineIntel', family: 6, model_number: 0x30 })).toBe('p6');
    expect(k({ vendor: 'GenuineIntel', family: 6, model_number: 0x5e })).toBe('p6'); // Skylake
    expect(k({ vendor: 'GenuineIntel', family: 6, model_name: 'Intel Core Processor (Skylake)' })).toBe('p6');
    expect(k({ vendor: 'GenuineIntel', family: 6, model_name: 'Intel Core 2 Duo P9xxx (Penryn Class Core 2)' })).toBe('k8');
    expect(k({ vendor: 'GenuineIntel', family: 6, model_name: 'Some CPU' })).toBe('unknown');
    expect(k({ vendor: 'AuthenticAMD', family: 0xf })).toBe('k8');
    expect(k({ vendor: 'AuthenticAMD', family: 0x10 })).toBe('p6');
    expect(k({ vendor: 'HygonGenuine', family: 0x18 })).toBe('p6');
    expect(k({ vendor: 'CentaurHauls', family: 6 })).toBe('k8');
  });
  it('k8 is refused for kernels from v5.15 on', () => {
    expect(() => defaultJitConfig('6.1', { nop5: 'k8' })).toThrow(/before v5\.15/);
  });
});
