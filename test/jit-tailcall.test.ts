/**
 * Our 6.1 direct tail-call emission against the real kernel's images
 * (test/fixtures/oracle, copied from the shared oracle). Expected bytes
 * always come from the fixture files; ours from src/jit.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jit_tail_caller, X86_TAIL_CALL_OFFSET } from '../src/jit/x86/caller.js';
import type { Fixture } from '../src/jit/oracle/fixture.js';
import { rejitFixture } from '../src/jit/oracle/rejit.js';
import { bpf_tail_call_direct_fixup, emit_bpf_tail_call_direct, new_poke_descriptor } from '../src/jit/x86/tailcall.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { SHAPES, lookupIn, programFixtures } from './helpers/tail-callers.js';

const fixtures = (program: string, dir = DIR): Fixture[] => programFixtures(dir, program);

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/oracle/linux-6.1.0-56-amd64/default');
const CAPTURED_612 = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/captured/linux-6.12.100+deb12-amd64/default');
const STEPS = ['a_initial', 'b_install_t1', 'c_replace_t2', 'd_delete', 'e_reinstall_t1', 'f_replace_t3', 'g_delete', 'h_install_key1_t2'];



const hex = (b: ArrayLike<number>) => hexBytes(b);

describe('direct tail-call section vs the 6.1 oracle', () => {
  for (const [program, shape] of Object.entries(SHAPES)) {
    const fxs = fixtures(program);

    it(`${program}: a fixture for every step`, () => {
      expect(fxs.map((f) => f.step)).toEqual(STEPS);
    });

    for (const fx of fxs) {
      it(`${program} ${fx.step}: every site, counter check to out:`, () => {
        const sites = fx.tail_call_sites.filter((s) => s.kind === 'direct');
        expect(sites).toHaveLength(shape.sites);
        sites.forEach((site, key) => {
          const ip = fx.image_address + BigInt(site.tcc_check_offset);
          const poke = new_poke_descriptor('jmp_table', key, 0);
          const section = Uint8Array.from(emit_bpf_tail_call_direct(poke, ip, shape.callee_regs, shape.stack_depth));
          // the descriptor addresses the kernel used
          expect(poke.tailcall_bypass).toBe(site.bypass!.address);
          expect(poke.tailcall_target).toBe(site.poke!.address);
          expect(poke.bypass_addr).toBe(fx.image_address + BigInt(site.out_offset));
          expect(poke.adj_off).toBe(fx.x86_tail_call_offset);
          // state from the map, as the JIT-end fixup would install it
          bpf_tail_call_direct_fixup(section, ip, [poke], lookupIn(fx));
          expect(hex(section)).toBe(hex(fx.bytes.subarray(site.tcc_check_offset, site.out_offset)));
        });
      });
    }
  }

  it('the installed state jumps to each target at its recorded tail_call_entry', () => {
    const fx = fixtures('caller_d0').find((f) => f.step === 'b_install_t1')!;
    const t1 = fx.targets.get('target1')!;
    expect(t1.image_address + BigInt(X86_TAIL_CALL_OFFSET('6.1'))).toBe(t1.tail_call_entry);
  });
});

describe('jit_tail_caller: whole images', () => {
  // The map address loaded by ld_imm64 is not recorded in the fixture JSON (the
  // xlated dump carries the map id instead); it is the one value here taken from
  // the fixture's own bytes, via DEFAULT_MAP_ADDRESS (0xff1100001ff8d200).
  for (const program of ['caller_d0', 'caller_two']) {
    for (const fx of fixtures(program)) {
      it(`${program} ${fx.step}: the whole image`, () => {
        const img = jit_tail_caller(SHAPES[program], fx.image_address);
        expect(img.pokes.every((p) => !p.tailcall_target_stable)).toBe(true);
        bpf_tail_call_direct_fixup(img.bytes, img.address, img.pokes, lookupIn(fx));
        expect(hex(img.bytes)).toBe(hex(fx.bytes));
        expect(img.tail_call_entry).toBe(BigInt((fx.raw.functions as { prologue: { tail_call_entry: string } }[])[0].prologue.tail_call_entry));
      });
    }
  }

  it('initial images are in state C at every site', () => {
    const fx = fixtures('caller_two').find((f) => f.step === 'a_initial')!;
    const img = jit_tail_caller(SHAPES.caller_two, fx.image_address);
    expect(hex(img.bytes)).toBe(hex(fx.bytes));
    expect(img.pokes.map((p) => p.tail_call.key)).toEqual([0, 1]);
    expect(img.pokes.map((p) => p.insn_idx)).toEqual([4, 9]); // the `call bpf_tail_call` slots of its xlated
  });

  it('rejects bad shapes with one-line errors', () => {
    expect(() => jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 0 }, 0xffffffffc0000000n)).toThrow(/sites/);
    expect(() => jit_tail_caller({ stack_depth: 513, callee_regs: [], sites: 1 }, 0xffffffffc0000000n)).toThrow(/stack depth/);
    expect(() => jit_tail_caller({ stack_depth: 0, callee_regs: ['r12' as 'rbx'], sites: 1 }, 0xffffffffc0000000n)).toThrow(/callee-saved/);
  });
});

describe('jit_tail_caller for 6.12 with IBT: whole images captured from a 6.12 kernel', () => {
  // As above, the map address is the one value taken from the fixture's bytes (via rejitFixture's recovery).
  for (const program of ['caller_d0', 'caller_two']) {
    const fxs = fixtures(program, CAPTURED_612);
    it(`${program}: captures present`, () => expect(fxs.length).toBeGreaterThanOrEqual(8));
    for (const fx of fxs) {
      it(`${program} ${fx.step}`, () => {
        const map = rejitFixture(fx).recovered.find((r) => r.sym === 'map:1')!.value;
        const img = jit_tail_caller({ ...SHAPES[program], map_address: map }, fx.image_address, '6.12-ibt');
        bpf_tail_call_direct_fixup(img.bytes, img.address, img.pokes, lookupIn(fx));
        expect(hex(img.bytes)).toBe(hex(fx.bytes));
        expect(img.tail_call_entry - img.address).toBe(16n);
        const sites = fx.tail_call_sites.filter((s) => s.kind === 'direct');
        expect(img.pokes.map((p) => [p.tailcall_bypass, p.tailcall_target])).toEqual(sites.map((s) => [s.bypass!.address, s.poke!.address]));
      });
    }
  }
});
