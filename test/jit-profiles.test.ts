/**
 * The layouts no real capture covers (5.5, 6.12, IBT) and the mitigation
 * variants, against the byte tables of docs/kernel-facts.md (§1.2 prologues,
 * §1.3 IBT, §1.4 direct, §1.5 indirect; example struct offsets 0x24/0xd0/0x30).
 */
import { describe, expect, it } from 'vitest';
import { jit_tail_caller } from '../src/jit/x86/caller.js';
import { defaultJitConfig, describeConfig } from '../src/jit/x86/config.js';
import { disasm } from '../src/jit/x86/decode.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { X86_TAIL_CALL_OFFSET } from '../src/jit/x86/profile.js';
import { emit_prologue, push_callee_regs } from '../src/jit/x86/prologue.js';
import {
  bpf_tail_call_direct_fixup, emit_bpf_tail_call_direct, emit_bpf_tail_call_indirect, new_poke_descriptor,
} from '../src/jit/x86/tailcall.js';
import { hexBytes } from '../src/jit/x86/x86.js';

const hex = (s: string) => s.replace(/\s+/g, ' ').trim();
const LAYOUT = { bpf_array_max_entries: 0x24, bpf_array_ptrs: 0xd0, bpf_prog_bpf_func: 0x30 };
const env = (profile: string, o = {}) => makeEnv({ cfg: defaultJitConfig(profile, o), layout: LAYOUT });
const IP = 0xffffffffc0010040n;

describe('X86_TAIL_CALL_OFFSET per profile (§0.2, §1.1)', () => {
  it('5.5: 25, 6.1: 11, 6.1-ibt: 15, 6.12: 12, 6.12-ibt: 16', () => {
    expect(['5.5', '6.1', '6.1-ibt', '6.12', '6.12-ibt'].map((p) => X86_TAIL_CALL_OFFSET(p))).toEqual([25, 11, 15, 12, 16]);
    expect(X86_TAIL_CALL_OFFSET()).toBe(11);
    expect(() => X86_TAIL_CALL_OFFSET('4.19')).toThrow(/unknown kernel profile '4.19'/);
  });
});

describe('v6.12+ layout (profile 6.12), §1.2 and §1.4 tables', () => {
  it('prologue, main program, S = 0, no callee-saved registers', () => {
    const b = emit_prologue(0, false, true, false, env('6.12'));
    expect(hexBytes(b)).toBe(hex('0f 1f 44 00 00 48 31 c0 55 48 89 e5 48 83 f8 21 77 06 50 48 89 e0 eb 01 50 50'));
  });
  it('prologue, S = 8, rbx', () => {
    const b = [...emit_prologue(8, false, true, false, env('6.12')), ...push_callee_regs(['rbx'])];
    expect(hexBytes(b)).toBe(hex('0f 1f 44 00 00 48 31 c0 55 48 89 e5 48 81 ec 08 00 00 00 48 83 f8 21 77 06 50 48 89 e0 eb 01 50 50 53'));
  });
  it('subprogram and unreachable-tail-call prologues', () => {
    expect(hexBytes(emit_prologue(0, false, true, true, env('6.12')))).toBe(hex('0f 1f 44 00 00 0f 1f 00 55 48 89 e5 50 50'));
    expect(hexBytes(emit_prologue(0, false, false, false, env('6.12')))).toBe(hex('0f 1f 44 00 00 0f 1f 00 55 48 89 e5'));
  });
  it('direct tail call, S = 0: state C bytes and descriptor', () => {
    const poke = new_poke_descriptor('jmp_table', 0, 0);
    const b = emit_bpf_tail_call_direct(poke, IP, [], 0, env('6.12'));
    expect(hexBytes(b)).toBe(hex('48 8b 85 f0 ff ff ff 48 83 38 21 73 10 e9 0b 00 00 00 48 83 00 01 58 58 0f 1f 44 00 00'));
    expect([poke.tailcall_bypass - IP, poke.tailcall_target - IP, poke.bypass_addr - IP, poke.adj_off]).toEqual([0x0dn, 0x18n, 0x1dn, 12]);
  });
  it('state B after the fixup: bypass nop5, target e9 af ff 00 00 to 0xffffffffc002000c (§1.4 state table)', () => {
    const poke = new_poke_descriptor('jmp_table', 0, 0);
    const img = Uint8Array.from(emit_bpf_tail_call_direct(poke, IP, [], 0, env('6.12')));
    bpf_tail_call_direct_fixup(img, IP, [poke], () => 0xffffffffc0020000n);
    expect(hexBytes(img.subarray(0x0d, 0x12))).toBe('0f 1f 44 00 00');
    expect(hexBytes(img.subarray(0x18, 0x1d))).toBe('e9 af ff 00 00');
    expect(poke.tailcall_target_stable).toBe(true);
  });
  it('direct tail call, S = 8, rbx', () => {
    const b = emit_bpf_tail_call_direct(new_poke_descriptor('m', 0, 0), IP, ['rbx'], 8, env('6.12'));
    expect(hexBytes(b)).toBe(hex('48 8b 85 e8 ff ff ff 48 83 38 21 73 18 e9 13 00 00 00 48 83 00 01 5b 58 58 48 81 c4 08 00 00 00 0f 1f 44 00 00'));
  });
  it('indirect tail call, S = 8, rbx, plain jmp *%rcx (§1.5)', () => {
    const b = emit_bpf_tail_call_indirect(IP, ['rbx'], 8, env('6.12', { indirect_jump: 'plain', int3_after_indirect_jump: false }));
    expect(hexBytes(b)).toBe(
      hex(`89 d2 39 56 24 76 32 48 8b 85 e8 ff ff ff 48 83 38 21 73 25 48 8b 8c d6 d0 00 00 00 48 85 c9 74 18
           48 83 00 01 5b 58 58 48 81 c4 08 00 00 00 48 8b 49 30 48 83 c1 0c ff e1`),
    );
  });
});

describe('v5.10-6.11 layout (profile 6.1), tables of §1.4 and §1.5', () => {
  it('direct, S = 8, rbx: bypass at +0x14, target at +0x22, out at +0x27', () => {
    const poke = new_poke_descriptor('m', 0, 0);
    const b = emit_bpf_tail_call_direct(poke, IP, ['rbx'], 8, env('6.1'));
    expect(hexBytes(b)).toBe(hex('8b 85 f4 ff ff ff 83 f8 21 73 1c 83 c0 01 89 85 f4 ff ff ff e9 0e 00 00 00 5b 58 48 81 c4 08 00 00 00 0f 1f 44 00 00'));
    expect([poke.tailcall_bypass - IP, poke.tailcall_target - IP, poke.bypass_addr - IP]).toEqual([0x14n, 0x22n, 0x27n]);
  });
  it('indirect, S = 8, rbx, plain: counted before the NULL check', () => {
    const b = emit_bpf_tail_call_indirect(IP, ['rbx'], 8, env('6.1', { indirect_jump: 'plain', int3_after_indirect_jump: false }));
    expect(hexBytes(b)).toBe(
      hex(`89 d2 39 56 24 76 34 8b 85 f4 ff ff ff 83 f8 21 73 29 83 c0 01 89 85 f4 ff ff ff 48 8b 8c d6 d0 00 00 00
           48 85 c9 74 13 5b 58 48 81 c4 08 00 00 00 48 8b 49 30 48 83 c1 0b ff e1`),
    );
  });
  it('emit_indirect_jump variants (§1.5): lfence; jmp *%rcx', () => {
    const b = emit_bpf_tail_call_indirect(IP, [], 0, env('6.1', { indirect_jump: 'retpoline-lfence' }));
    expect(hexBytes(b.slice(-5))).toBe('0f ae e8 ff e1');
  });
  it('retpoline without a thunk address is a one-line error', () => {
    expect(() => emit_bpf_tail_call_indirect(IP, [], 0, env('6.1'))).toThrow('no address for indirect_thunk');
  });
});

describe('IBT (§1.3): ENDBR at bpf_func and at bpf_func + X86_TAIL_CALL_OFFSET', () => {
  for (const [profile, off] of [['6.1-ibt', 15], ['6.12-ibt', 16]] as const) {
    it(profile, () => {
      const img = jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 1 }, 0xffffffffc0000000n, profile);
      expect(hexBytes(img.bytes.subarray(0, 4))).toBe('f3 0f 1e fa');
      expect(hexBytes(img.bytes.subarray(off, off + 4))).toBe('f3 0f 1e fa');
      expect(img.tail_call_entry - img.address).toBe(BigInt(off));
      expect(img.pokes[0].adj_off).toBe(off);
    });
  }
});

describe('v5.5 layout (profile 5.5): fixed 25-byte prologue, one poke site (§1.2, §1.4)', () => {
  const img = jit_tail_caller({ stack_depth: 0, callee_regs: [], sites: 1 }, 0xffffffffc0000000n, '5.5');
  it('prologue', () => {
    expect(hexBytes(img.bytes.subarray(0, 25))).toBe(hex('0f 1f 44 00 00 55 48 89 e5 48 81 ec 00 02 00 00 53 41 55 41 56 41 57 6a 00'));
  });
  it('the direct tail call: counter at rbp-548, ja, then the single nop5 site', () => {
    const site = img.pokes[0].tailcall_target - img.address;
    const seq = img.bytes.subarray(Number(site) - 20, Number(site) + 5);
    expect(hexBytes(seq)).toBe(hex('8b 85 dc fd ff ff 83 f8 20 77 0e 83 c0 01 89 85 dc fd ff ff 0f 1f 44 00 00'));
    expect(img.pokes[0].tailcall_bypass).toBe(0n);
    expect(img.pokes[0].adj_off).toBe(25);
  });
  it('the whole image decodes', () => {
    expect(disasm(img.bytes, img.address).at(-1)!.text).toBe('ret');
  });
});

describe('configuration record', () => {
  it('names the profile and mitigations', () => {
    expect(describeConfig(defaultJitConfig('6.1'))).toBe('profile=6.1 indirect=retpoline return=ret+int3 jmp8<=127');
    expect(describeConfig(defaultJitConfig('6.12', { indirect_jump: 'plain', return_kind: 'thunk' }))).toBe(
      'profile=6.12 indirect=plain+int3 return=return-thunk bmi2 jmp8<=123 imm64-simm32',
    );
    expect(() => defaultJitConfig('6.1', { indirect_jump: 'ibrs' as 'plain' })).toThrow(/unknown indirect jump mitigation 'ibrs'/);
  });
});
