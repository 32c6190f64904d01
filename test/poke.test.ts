import { describe, expect, it } from 'vitest';
import { __bpf_arch_text_poke, bpf_arch_text_poke, EBUSY, EINVAL, ERANGE } from '../src/poke/text_poke.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { loadOracle, unhex } from './helpers/oracle.js';

// caller_d0 in the real kernel: its target site and target1's tail-call entry (bpf_func + 11).
const initial = loadOracle('caller_d0', 'a_initial');
const installed = loadOracle('caller_d0', 'b_install_t1');
const T = BigInt(installed.tail_call_sites[0].poke!.address);
const TARGET1 = BigInt(installed.targets.target1.tail_call_entry);
const TARGET2 = BigInt(installed.targets.target2.tail_call_entry);

function textWithCaller(): TextMemory {
  const text = new TextMemory();
  text.map('caller_d0', BigInt(initial.image_address), unhex(initial.bytes));
  return text;
}

describe('__bpf_arch_text_poke (kernel return values)', () => {
  it('writes the jmp the real kernel wrote (0), and then reports it as already there (1)', () => {
    const text = textWithCaller();
    expect(__bpf_arch_text_poke(text, T, 'BPF_MOD_JUMP', null, TARGET1)).toBe(0);
    expect(Array.from(text.read(T, 5))).toEqual(unhex(installed.tail_call_sites[0].poke!.bytes));
    expect(__bpf_arch_text_poke(text, T, 'BPF_MOD_JUMP', null, TARGET1)).toBe(-EBUSY); // old nop no longer there
    expect(__bpf_arch_text_poke(text, T, 'BPF_MOD_JUMP', TARGET1, TARGET1)).toBe(1);
  });

  it('returns -EBUSY and writes nothing when the old instruction is not there', () => {
    const text = textWithCaller();
    const before = Array.from(text.read(T, 5));
    expect(__bpf_arch_text_poke(text, T, 'BPF_MOD_JUMP', TARGET2, TARGET1)).toBe(-EBUSY);
    expect(Array.from(text.read(T, 5))).toEqual(before);
  });

  it('returns -ERANGE when rel32 cannot reach', () => {
    const text = textWithCaller();
    expect(__bpf_arch_text_poke(text, T, 'BPF_MOD_JUMP', null, T + 0x1_0000_0000n)).toBe(-ERANGE);
  });

  it('bpf_arch_text_poke returns -EINVAL for text not in BPF kallsyms, then pokes once it is', () => {
    const text = textWithCaller();
    const ks = new BpfKallsyms();
    expect(bpf_arch_text_poke(text, ks, T, 'BPF_MOD_JUMP', null, TARGET1)).toBe(-EINVAL);
    expect(Array.from(text.read(T, 5))).toEqual(unhex(initial.tail_call_sites[0].poke!.bytes));
    ks.bpf_prog_kallsyms_add('caller_d0', BigInt(initial.image_address), unhex(initial.bytes).length);
    expect(bpf_arch_text_poke(text, ks, T, 'BPF_MOD_JUMP', null, TARGET1)).toBe(0);
    ks.bpf_prog_kallsyms_del('caller_d0');
    expect(bpf_arch_text_poke(text, ks, T, 'BPF_MOD_JUMP', TARGET1, null)).toBe(-EINVAL);
  });
});
