/**
 * arm64-poke: A64 words against kernel-poke-facts.md section 5 (llvm-mc:
 * `b .+0x1000` = 00 04 00 14, `bl .+0x1000` = 00 04 00 94, the prologue
 * words), arm64 bpf_arch_text_poke, and the model's verdicts: P5 holds for
 * the kernel's single 32-bit store with word fetch (ARMv8 ARM B2.6.5), and
 * fails for a byte-wise write or a byte-wise fetch (the architecture
 * promises nothing there).
 */
import { describe, expect, it } from 'vitest';
import { ARM64_IMAGE, ARM64_SITE, ARM64_TARGETS, buildArm64Poke, parseArm64Script } from '../models/arm64-poke.js';
import { explore } from '../src/concurrency/explorer.js';
import { AARCH64_NOP, a64Bytes, a64Word, aarch64_insn_gen_branch_imm, aarch64_insn_hotpatch_safe, decodeA64 } from '../src/jit/arm64/insn.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { EFAULT, ENOTSUPP, POKE_OFFSET, bpf_arch_text_poke, patchStores } from '../src/poke/aarch64_patch.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { cli } from './helpers/cli.js';

const hex = (w: number): string => hexBytes(a64Bytes(w));

describe('A64 words (facts section 5)', () => {
  const pc = 0xffff800080001000n;
  it('b .+0x1000 is 00 04 00 14 and bl .+0x1000 is 00 04 00 94', () => {
    expect(hex(aarch64_insn_gen_branch_imm(pc, pc + 0x1000n, 'AARCH64_INSN_BRANCH_NOLINK')!)).toBe('00 04 00 14');
    expect(hex(aarch64_insn_gen_branch_imm(pc, pc + 0x1000n, 'AARCH64_INSN_BRANCH_LINK')!)).toBe('00 04 00 94');
  });
  it('nop is d503201f', () => {
    expect(hex(AARCH64_NOP)).toBe('1f 20 03 d5');
    expect(decodeA64(AARCH64_NOP, pc).kind).toBe('nop');
  });
  it('decodes the prologue words of the facts table', () => {
    expect(decodeA64(0xd503245f, pc).text).toBe('bti    c');
    expect(decodeA64(0xd503249f, pc).text).toBe('bti    j');
    expect(decodeA64(0xd503233f, pc).text).toBe('paciasp');
  });
  it('branches round-trip backwards and forwards, and stop at +-128 MiB', () => {
    for (const d of [-0x8000000n, -4n, 4n, 0x1000n, 0x7fffffcn]) {
      const w = aarch64_insn_gen_branch_imm(pc, pc + d, 'AARCH64_INSN_BRANCH_NOLINK')!;
      expect(decodeA64(w, pc).target).toBe(pc + d);
    }
    expect(aarch64_insn_gen_branch_imm(pc, pc + 0x8000000n, 'AARCH64_INSN_BRANCH_NOLINK')).toBeNull();
    expect(aarch64_insn_gen_branch_imm(pc, pc - 0x8000004n, 'AARCH64_INSN_BRANCH_NOLINK')).toBeNull();
    expect(aarch64_insn_gen_branch_imm(pc, pc + 2n, 'AARCH64_INSN_BRANCH_NOLINK')).toBeNull();
  });
  it('B, BL and NOP are hotpatch-safe; a torn mix of nop and b is not even a branch', () => {
    const b = aarch64_insn_gen_branch_imm(pc, pc + 0x1000n, 'AARCH64_INSN_BRANCH_NOLINK')!;
    expect(aarch64_insn_hotpatch_safe(b) && aarch64_insn_hotpatch_safe(AARCH64_NOP)).toBe(true);
    const torn = a64Word([0x00, 0x20, 0x03, 0xd5]); // b's first byte over the nop
    expect(aarch64_insn_hotpatch_safe(torn)).toBe(false);
    expect(decodeA64(torn, pc).text).toBe('.inst  0xd5032000');
  });
});

describe('arm64 bpf_arch_text_poke', () => {
  const world = () => {
    const text = new TextMemory();
    text.map('prog', ARM64_IMAGE, [0xd503245f, 0xaa1e03e9, AARCH64_NOP, 0xd503233f].flatMap(a64Bytes));
    const ks = new BpfKallsyms();
    ks.bpf_prog_kallsyms_add('prog', ARM64_IMAGE, 16);
    return { text, ks };
  };
  it('at the entry pokes the nop at POKE_OFFSET, with one 32-bit store', () => {
    const { text, ks } = world();
    expect(POKE_OFFSET).toBe(2);
    expect(patchStores('nosync')).toEqual([expect.objectContaining({ offset: 0, len: 4 })]);
    expect(bpf_arch_text_poke(text, ks, ARM64_IMAGE, 'BPF_MOD_JUMP', null, ARM64_TARGETS.fext1)).toBe(0);
    expect(hexBytes(text.read(ARM64_IMAGE + 8n, 4))).toBe('00 04 00 14');
    expect(hexBytes(text.read(ARM64_IMAGE, 8))).toBe('5f 24 03 d5 e9 03 1e aa');
  });
  it('-EFAULT when the word is not the old instruction, -ENOTSUPP outside BPF text', () => {
    const { text, ks } = world();
    expect(bpf_arch_text_poke(text, ks, ARM64_IMAGE, 'BPF_MOD_JUMP', ARM64_TARGETS.fext1, null)).toBe(-EFAULT);
    expect(bpf_arch_text_poke(text, ks, 0xffff800090000000n, 'BPF_MOD_JUMP', null, ARM64_TARGETS.fext1)).toBe(-ENOTSUPP);
    expect(hexBytes(text.read(ARM64_SITE, 4))).toBe('1f 20 03 d5');
  });
  it('scripts: each change through nop is one poke; b -> bl directly is refused', () => {
    expect(parseArm64Script('b fext1; nop; bl tramp1; nop').map((p) => p.type)).toEqual(['BPF_MOD_JUMP', 'BPF_MOD_JUMP', 'BPF_MOD_CALL', 'BPF_MOD_CALL']);
    expect(() => parseArm64Script('b fext1; bl tramp1')).toThrow(/not one bpf_arch_text_poke/);
  });
});

describe('arm64-poke verdicts', () => {
  for (const cpus of ['2', '3']) {
    it(`nosync, --level byte, word fetch: P5 holds at ${cpus} CPUs (exit 0)`, async () => {
      const r = await cli('check', 'arm64-poke', '--level', 'byte', '--cpus', cpus);
      expect(r.code).toBe(0);
      expect(r.out[0]).toMatch(/HOLDS \(P5 holds\)/);
    });
  }
  it('byte-copy: a CPU executes a torn word (exit 1)', async () => {
    const r = await cli('check', 'arm64-poke', '--protocol', 'byte-copy', '--cpus', '1');
    expect(r.code).toBe(1);
    const text = r.out.join('\n');
    expect(text).toMatch(/byte-wise copy: byte 0 = new\[0\]/);
    expect(text).toMatch(/fetches the word at the patch site .*\.inst  0xd5032000 \[00 20 03 d5\]: neither the old nor the new instruction \(torn\)/);
  });
  it('byte fetch (no fetch atomicity, as on x86): even the single store tears (exit 1)', async () => {
    const r = await cli('check', 'arm64-poke', '--fetch', 'byte', '--cpus', '1');
    expect(r.code).toBe(1);
    // bytes 0..2 of the nop, then byte 3 of `b .+0x1000`: a branch somewhere else
    expect(r.out.join('\n')).toMatch(/executes what it fetched: b +0x[0-9a-f]+ \[1f 20 03 14\]: neither the old nor the new/);
  });
  it('the search is complete and reproducible', () => {
    const a = explore(buildArm64Poke({ protocol: 'nosync', cpus: 2, options: {} }).system);
    const b = explore(buildArm64Poke({ protocol: 'nosync', cpus: 2, options: {} }).system);
    expect(a.complete).toBe(true);
    expect(a.states).toBe(b.states);
  });
  it('bad input is exit 2 with one line', async () => {
    for (const args of [['--level', 'insn', '--protocol', 'byte-copy'], ['--script', 'b nowhere'], ['--fetch', 'dword'], ['--protocol', 'stop_machine']]) {
      const r = await cli('check', 'arm64-poke', ...args);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
