/**
 * The named encoders the tail-call emitters and prologues are written with,
 * each against the bytes and objdump text of docs/kernel-facts.md §1.2, §1.4
 * and §1.5 (the
 * v6.12+ and v5.10-6.11 tables, S = 8, offsets 0x24/0xd0/0x30; the v5.5
 * register history) and of §3e (the 2026 RFC's compares); and the one
 * little-endian helper (src/jit/bytes.ts) on values whose bytes are known.
 */
import { describe, expect, it } from 'vitest';
import { le32, le64, leN, read_s16, read_s32, read_u16, read_u32, read_u64 } from '../src/jit/bytes.js';
import { decodeInsn } from '../src/jit/x86/decode.js';
import * as x86 from '../src/jit/x86/x86.js';

const bytesOf = (h: string): number[] => h.split(' ').map((b) => parseInt(b, 16));
const text = (b: number[]): string => decodeInsn(b, 0x1000n).text;

describe('tail-call and prologue encoders (facts §1.2, §1.4, §1.5, §3e)', () => {
  const cases: [string, number[], string, string][] = [
    ['mov rax, [rbp-0x18]', x86.emit_mov_rax_rbp_disp32(-0x18), '48 8b 85 e8 ff ff ff', 'mov    -0x18(%rbp),%rax'],
    ['cmp qword [rax], 33', x86.emit_cmp_qword_rax_imm8(0x21), '48 83 38 21', 'cmpq   $0x21,(%rax)'],
    ['add qword [rax], 1', x86.emit_add_qword_rax_1(), '48 83 00 01', 'addq   $0x1,(%rax)'],
    ['mov edx, edx', x86.emit_mov_edx_edx(), '89 d2', 'mov    %edx,%edx'],
    ['cmp [rsi+0x24], edx', x86.emit_cmp_rsi_disp8_edx(0x24), '39 56 24', 'cmp    %edx,0x24(%rsi)'],
    ['mov rcx, ptrs[rdx]', x86.emit_mov_reg_rsi_rdx8_disp32('rcx', 0xd0), '48 8b 8c d6 d0 00 00 00', 'mov    0xd0(%rsi,%rdx,8),%rcx'],
    ['test rcx, rcx', x86.emit_test_reg('rcx'), '48 85 c9', 'test   %rcx,%rcx'],
    ['mov rcx, [rcx+0x30]', x86.emit_mov_reg_reg_disp8('rcx', 0x30), '48 8b 49 30', 'mov    0x30(%rcx),%rcx'],
    ['add rcx, 0xc', x86.emit_add_reg_imm8('rcx', 0x0c), '48 83 c1 0c', 'add    $0xc,%rcx'],
    ['jmp *rcx', x86.emit_jmp_reg('rcx'), 'ff e1', 'jmp    *%rcx'],
    ['lfence', x86.emit_lfence(), '0f ae e8', 'lfence'],
    // the prologues (facts §1.2)
    ['mov rbp, rsp', x86.emit_mov_rbp_rsp(), '48 89 e5', 'mov    %rsp,%rbp'],
    ['xor eax, eax', x86.emit_xor_eax_eax(), '31 c0', 'xor    %eax,%eax'],
    ['xor rax, rax', x86.emit_xor_rax_rax(), '48 31 c0', 'xor    %rax,%rax'],
    ['cmp rax, 33', x86.emit_cmp_rax_imm8(0x21), '48 83 f8 21', 'cmp    $0x21,%rax'],
    ['mov rax, rsp', x86.emit_mov_rax_rsp(), '48 89 e0', 'mov    %rsp,%rax'],
    ['push $0', x86.emit_push_imm8(0), '6a 00', 'push   $0x0'],
    // v5.5 loaded the target into rax (facts §1.5, register history)
    ['mov rax, [rax+0x30]', x86.emit_mov_reg_reg_disp8('rax', 0x30), '48 8b 40 30', 'mov    0x30(%rax),%rax'],
    ['add rax, 0x19', x86.emit_add_reg_imm8('rax', 0x19), '48 83 c0 19', 'add    $0x19,%rax'],
    // the 2026 RFC's static and dynamic bound checks (facts §3e)
    ['cmp edx, imm32', x86.emit_cmp_edx_imm32(4), '81 fa 04 00 00 00', 'cmp    $0x4,%edx'],
    ['cmp edx, [rsi+0x24]', x86.emit_cmp_edx_rsi_disp8(0x24), '3b 56 24', 'cmp    0x24(%rsi),%edx'],
  ];
  for (const [name, bytes, hex, asm] of cases) {
    it(name, () => {
      expect(bytes).toEqual(bytesOf(hex));
      expect(text(bytes)).toBe(asm);
    });
  }

  it('jcc rel8 for the conditions the tail calls use', () => {
    expect(x86.emit_jcc_rel8(x86.X86_JBE, 0x34)).toEqual(bytesOf('76 34'));
    expect(x86.emit_jcc_rel8(x86.X86_JAE, 0x29)).toEqual(bytesOf('73 29'));
    expect(x86.emit_jcc_rel8(x86.X86_JE, 0x13)).toEqual(bytesOf('74 13'));
    expect(x86.emit_jcc_rel8(x86.X86_JA, 0x0e)).toEqual(bytesOf('77 0e'));
    expect(x86.emit_jmp_rel8(1)).toEqual(bytesOf('eb 01'));
  });

  it('refuses what it cannot encode, naming the value', () => {
    expect(() => x86.emit_jcc_rel8(x86.X86_JAE, 128)).toThrow('imm8 out of range: 128');
    expect(() => x86.emit_jcc_rel8(0xe9, 0)).toThrow(RangeError);
    expect(() => x86.emit_cmp_qword_rax_imm8(200)).toThrow(RangeError);
    expect(() => x86.emit_mov_reg_reg_disp8('rdx' as 'rcx', 0)).toThrow('not a tail-call target register: rdx');
    expect(x86.is_imm8(-128) && x86.is_imm8(127) && !x86.is_imm8(128) && !x86.is_imm8(-129) && !x86.is_imm8(1.5)).toBe(true);
  });
});

describe('the little-endian helper (src/jit/bytes.ts)', () => {
  it('writes and reads back known values', () => {
    expect(le32(-0x224)).toEqual(bytesOf('dc fd ff ff')); // facts §1.4, v5.5: mov -0x224(%rbp),%eax
    expect(le32(0xd503201f)).toEqual(bytesOf('1f 20 03 d5')); // the A64 nop, facts §5
    expect(leN(0x1234, 2)).toEqual(bytesOf('34 12'));
    expect(leN(-1, 1)).toEqual([0xff]);
    expect(le64(0xffffffffc0020000n)).toEqual(bytesOf('00 00 02 c0 ff ff ff ff'));
    const b = bytesOf('dc fd ff ff 1f 20 03 d5');
    expect(read_s32(b, 0)).toBe(-0x224);
    expect(read_u32(b, 4)).toBe(0xd503201f);
    expect(read_u16(b, 4)).toBe(0x201f);
    expect(read_s16(b, 0)).toBe(-0x224);
    expect(read_u64(le64(0xffffffffc0020000n), 0)).toBe(0xffffffffc0020000n);
  });

  it('refuses a value that does not fit 32 bits', () => {
    expect(() => le32(0x100000000)).toThrow('imm32 out of range: 4294967296');
    expect(() => le32(-0x80000001)).toThrow(RangeError);
  });
});
