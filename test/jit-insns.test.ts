/**
 * Single BPF instructions through do_jit, for the instruction classes the
 * real images do not exercise. Expected bytes are hand-encoded from the
 * Intel encoding of what the kernel's bpf_jit_comp.c emits for each case
 * (registers: R0 rax, R1 rdi, R2 rsi, R3 rdx, R4 rcx, R5 r8, R6 rbx, R7 r13,
 * R8 r14, R9 r15, R10 rbp, AUX r11); expected text is what GNU objdump 2.40
 * prints for those bytes. Neither is produced by our code.
 */
import { describe, expect, it } from 'vitest';
import type { BpfInsn } from '../src/jit/bpf.js';
import { defaultJitConfig } from '../src/jit/x86/config.js';
import { disasm } from '../src/jit/x86/decode.js';
import { jit_function } from '../src/jit/x86/do_jit.js';
import { makeEnv } from '../src/jit/x86/env.js';

const I = (code: number, dst_reg: number, src_reg: number, off: number, imm: number): BpfInsn => ({ code, dst_reg, src_reg, off, imm });
const EXIT = I(0x95, 0, 0, 0, 0);
const hex = (s: string) => s.split(' ').map((b) => parseInt(b, 16));
const ADDR = 0xffffffffc0001000n;

/** Bytes of instruction 0 of [insn, exit] compiled alone. */
function one(insn: BpfInsn, profile = '6.1', stack_depth = 0): number[] {
  const env = makeEnv({ cfg: defaultJitConfig(profile), syms: { bpf_call_base: 0xffffffff81000000n } });
  const out = jit_function({ insns: [insn, EXIT], stack_depth, tail_call_reachable: false, is_subprog: false, pokes: [] }, ADDR, env);
  return Array.from(out.image.subarray(out.addrs[0], out.addrs[1]));
}

const CASES: [string, BpfInsn, string, string[]][] = [
  ['r1 += r2', I(0x0f, 1, 2, 0, 0), '48 01 f7', ['add    %rsi,%rdi']],
  ['w1 += w2', I(0x0c, 1, 2, 0, 0), '01 f7', ['add    %esi,%edi']],
  ['r7 -= r8', I(0x1f, 7, 8, 0, 0), '4d 29 f5', ['sub    %r14,%r13']],
  ['r1 += 5', I(0x07, 1, 0, 0, 5), '48 83 c7 05', ['add    $0x5,%rdi']],
  ['r0 += 1000 (short rax form)', I(0x07, 0, 0, 0, 1000), '48 05 e8 03 00 00', ['add    $0x3e8,%rax']],
  ['r1 &= 0x10000', I(0x57, 1, 0, 0, 0x10000), '48 81 e7 00 00 01 00', ['and    $0x10000,%rdi']],
  ['w0 = -1', I(0xb4, 0, 0, 0, -1), 'b8 ff ff ff ff', ['mov    $0xffffffff,%eax']],
  ['r0 = -1', I(0xb7, 0, 0, 0, -1), '48 c7 c0 ff ff ff ff', ['mov    $0xffffffffffffffff,%rax']],
  ['r5 = 0', I(0xb7, 5, 0, 0, 0), '45 31 c0', ['xor    %r8d,%r8d']],
  ['r7 = 7', I(0xb7, 7, 0, 0, 7), '41 bd 07 00 00 00', ['mov    $0x7,%r13d']],
  ['r1 = r6', I(0xbf, 1, 6, 0, 0), '48 89 df', ['mov    %rbx,%rdi']],
  ['w1 = w7', I(0xbc, 1, 7, 0, 0), '44 89 ef', ['mov    %r13d,%edi']],
  ['r1 = -r1', I(0x87, 1, 0, 0, 0), '48 f7 df', ['neg    %rdi']],
  ['r1 *= r2', I(0x2f, 1, 2, 0, 0), '48 0f af fe', ['imul   %rsi,%rdi']],
  ['r1 *= 10', I(0x27, 1, 0, 0, 10), '48 6b ff 0a', ['imul   $0xa,%rdi,%rdi']],
  ['r1 /= r2', I(0x3f, 1, 2, 0, 0), '50 52 48 89 f8 31 d2 48 f7 f6 48 89 c7 5a 58',
    ['push   %rax', 'push   %rdx', 'mov    %rdi,%rax', 'xor    %edx,%edx', 'div    %rsi', 'mov    %rax,%rdi', 'pop    %rdx', 'pop    %rax']],
  ['w1 %= 3', I(0x94, 1, 0, 0, 3), '50 52 49 c7 c3 03 00 00 00 89 f8 31 d2 41 f7 f3 89 d7 5a 58',
    ['push   %rax', 'push   %rdx', 'mov    $0x3,%r11', 'mov    %edi,%eax', 'xor    %edx,%edx', 'div    %r11d', 'mov    %edx,%edi', 'pop    %rdx', 'pop    %rax']],
  ['r1 <<= 3', I(0x67, 1, 0, 0, 3), '48 c1 e7 03', ['shl    $0x3,%rdi']],
  ['r1 >>= 1', I(0x77, 1, 0, 0, 1), '48 d1 ef', ['shr    %rdi']],
  ['r1 s>>= r2 (6.1: via cl)', I(0xcf, 1, 2, 0, 0), '51 48 89 f1 48 d3 ff 59', ['push   %rcx', 'mov    %rsi,%rcx', 'sar    %cl,%rdi', 'pop    %rcx']],
  ['r1 = be16 r1', I(0xdc, 1, 0, 0, 16), '66 c1 cf 08 0f b7 ff', ['ror    $0x8,%di', 'movzwl %di,%edi']],
  ['r1 = be32 r1', I(0xdc, 1, 0, 0, 32), '0f cf', ['bswap  %edi']],
  ['r1 = be64 r1', I(0xdc, 1, 0, 0, 64), '48 0f cf', ['bswap  %rdi']],
  ['r1 = le16 r1', I(0xd4, 1, 0, 0, 16), '0f b7 ff', ['movzwl %di,%edi']],
  ['r1 = le32 r1', I(0xd4, 1, 0, 0, 32), '89 ff', ['mov    %edi,%edi']],
  ['r0 = *(u8 *)(r1 + 2)', I(0x71, 0, 1, 2, 0), '48 0f b6 47 02', ['movzbq 0x2(%rdi),%rax']],
  ['r0 = *(u16 *)(r1 + 2)', I(0x69, 0, 1, 2, 0), '48 0f b7 47 02', ['movzwq 0x2(%rdi),%rax']],
  ['r0 = *(u32 *)(r1 + 2)', I(0x61, 0, 1, 2, 0), '8b 47 02', ['mov    0x2(%rdi),%eax']],
  ['r7 = *(u64 *)(r10 - 8)', I(0x79, 7, 10, -8, 0), '4c 8b 6d f8', ['mov    -0x8(%rbp),%r13']],
  ['*(u8 *)(r10 - 1) = r2', I(0x73, 10, 2, -1, 0), '40 88 75 ff', ['mov    %sil,-0x1(%rbp)']],
  ['*(u16 *)(r10 - 2) = r3', I(0x6b, 10, 3, -2, 0), '66 89 55 fe', ['mov    %dx,-0x2(%rbp)']],
  ['*(u32 *)(r10 - 300) = r0', I(0x63, 10, 0, -300, 0), '89 85 d4 fe ff ff', ['mov    %eax,-0x12c(%rbp)']],
  ['*(u64 *)(r10 - 8) = 5', I(0x7a, 10, 0, -8, 5), '48 c7 45 f8 05 00 00 00', ['movq   $0x5,-0x8(%rbp)']],
  ['*(u8 *)(r1 + 0) = 7', I(0x72, 1, 0, 0, 7), 'c6 47 00 07', ['movb   $0x7,0x0(%rdi)']],
  ['*(u16 *)(r7 + 4) = 0x1234', I(0x6a, 7, 0, 4, 0x1234), '66 41 c7 45 04 34 12', ['movw   $0x1234,0x4(%r13)']],
  ['lock *(u64 *)(r1 + 8) += r2', I(0xdb, 1, 2, 8, 0x00), 'f0 48 01 77 08', ['lock add %rsi,0x8(%rdi)']],
  ['r2 = atomic_fetch_add((u32 *)(r1 + 8), r2)', I(0xc3, 1, 2, 8, 0x01), 'f0 0f c1 77 08', ['lock xadd %esi,0x8(%rdi)']],
  ['r2 = xchg((u64 *)(r1 + 8), r2)', I(0xdb, 1, 2, 8, 0xe1), 'f0 48 87 77 08', ['lock xchg %rsi,0x8(%rdi)']],
  ['r0 = cmpxchg((u64 *)(r1 + 8), r0, r2)', I(0xdb, 1, 2, 8, 0xf1), 'f0 48 0f b1 77 08', ['lock cmpxchg %rsi,0x8(%rdi)']],
  ['speculation barrier', I(0xc2, 0, 0, 0, 0), '0f ae e8', ['lfence']],
];

describe('single instructions (6.1)', () => {
  for (const [name, insn, bytes, text] of CASES) {
    it(name, () => {
      const ours = one(insn);
      expect(ours).toEqual(hex(bytes));
      expect(disasm(ours, 0n).map((i) => i.text)).toEqual(text);
    });
  }
});

describe('differences between profiles', () => {
  it('6.12 shifts by a register with BMI2 sarx', () => {
    const ours = one(I(0xcf, 1, 2, 0, 0), '6.12');
    expect(ours).toEqual(hex('c4 e2 ca f7 ff'));
    expect(disasm(ours, 0n)[0].text).toBe('sarx   %rsi,%rdi,%rdi');
  });

  it('cpu v4 instructions exist only in 6.12', () => {
    const movsx = I(0xbf, 1, 2, 8, 0); // r1 = (s8) r2
    expect(one(movsx, '6.12')).toEqual(hex('48 0f be fe'));
    expect(() => one(movsx, '6.1')).toThrow(/movsx \(cpu v4\) is not in profile 6.1/);
  });

  it('a helper call is call rel32 to __bpf_call_base + imm', () => {
    // base 0xffffffff81000000 + 0x1000 = 0xffffffff81001000; the call sits at ADDR + 11 (after nop5, nop2, push rbp, mov rbp,rsp)
    const ours = one(I(0x85, 0, 0, 0, 0x1000));
    const rel = Number(BigInt.asIntN(32, 0xffffffff81001000n - (ADDR + 11n + 5n)));
    expect(ours).toEqual([0xe8, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff]);
    expect(disasm(ours, ADDR + 11n)[0]).toMatchObject({ kind: 'call', target: 0xffffffff81001000n });
  });
});

describe('jump sizes converge over passes', () => {
  /** `if r1 == 0 goto +n` over n instructions `w0 = 1` (5 bytes each), then exit. */
  function jumpOver(n: number, profile: string): number[] {
    const insns = [I(0x15, 1, 0, n, 0), ...Array.from({ length: n }, () => I(0xb4, 0, 0, 0, 1)), EXIT];
    const env = makeEnv({ cfg: defaultJitConfig(profile) });
    const out = jit_function({ insns, stack_depth: 0, tail_call_reachable: false, is_subprog: false, pokes: [] }, ADDR, env);
    return Array.from(out.image.subarray(out.addrs[0], out.addrs[1]));
  }

  it('a short forward jump becomes rel8 (test rdi,rdi; je +100)', () => {
    expect(jumpOver(20, '6.1')).toEqual(hex('48 85 ff 74 64'));
  });
  it('a long one stays rel32 (je +150)', () => {
    expect(jumpOver(30, '6.1')).toEqual(hex('48 85 ff 0f 84 96 00 00 00'));
  });
  it('125 bytes: rel8 in 6.1 (limit 127), rel32 in 6.12 (limit 123)', () => {
    expect(jumpOver(25, '6.1')).toEqual(hex('48 85 ff 74 7d'));
    expect(jumpOver(25, '6.12')).toEqual(hex('48 85 ff 0f 84 7d 00 00 00'));
  });
  it('a second exit jumps back to the first one', () => {
    // if r1 == 0 goto +1; exit; exit  -> the last exit is jmp rel8 back to the epilogue
    const insns = [I(0x15, 1, 0, 1, 0), EXIT, EXIT];
    const env = makeEnv({ cfg: defaultJitConfig('6.1') });
    const out = jit_function({ insns, stack_depth: 0, tail_call_reachable: false, is_subprog: false, pokes: [] }, ADDR, env);
    const code = Array.from(out.image.subarray(out.addrs[0]));
    // test rdi,rdi; je +3 (over leave; ret; int3); leave; ret; int3; jmp -5 (back to leave)
    expect(code).toEqual(hex('48 85 ff 74 03 c9 c3 cc eb fb'));
  });
});
