/**
 * The decoder against objdump's own listings of the real images (the .dis
 * files beside each oracle fixture), plus encoders against the byte values of
 * docs/kernel-facts.md and bad input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeInsn, disasm } from '../src/jit/x86/decode.js';
import { loadFixture } from '../src/jit/oracle/fixture.js';
import * as x86 from '../src/jit/x86/x86.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/oracle/linux-6.1.0-56-amd64/default');
const bytesOf = (h: string) => h.split(' ').map((b) => parseInt(b, 16));

/** objdump lines `addr:\tbytes\ttext` (continuation lines carry no text), symbol annotations removed. */
function parseDis(text: string): { address: bigint; len: number; text: string }[] {
  const out: { address: bigint; len: number; text: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+):\t([0-9a-f ]+?)\s*(?:\t(.*))?$/.exec(line);
    if (!m) continue;
    const n = m[2].trim().split(' ').length;
    if (m[3] === undefined) out[out.length - 1].len += n;
    else out.push({ address: BigInt('0x' + m[1]), len: n, text: m[3].replace(/\s+<[^>]*>$/, '').trimEnd() });
  }
  return out;
}

describe('decoder vs objdump listings of every oracle image', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  it('all 43 oracle images are here (5 callers x 8 steps, 3 targets)', () => expect(files.length).toBe(43));
  for (const f of files) {
    it(f.replace('.json', ''), () => {
      const fx = loadFixture(join(DIR, f));
      const expected = parseDis(readFileSync(join(DIR, f.replace('.json', '.dis')), 'utf8'));
      expect(expected.length).toBeGreaterThan(5);
      const ours = disasm(fx.bytes, fx.image_address).map((i, k, all) => ({
        address: fx.image_address + BigInt(all.slice(0, k).reduce((s, x) => s + x.len, 0)),
        len: i.len,
        text: i.text,
      }));
      expect(ours).toEqual(expected);
    });
  }
});

describe('decodeInsn', () => {
  const ip = 0xffffffffc0000a00n;
  it('classifies the poke-site instructions and computes absolute targets', () => {
    expect(decodeInsn(x86.NOP5, ip)).toEqual({ len: 5, kind: 'nop', text: 'nopl   0x0(%rax,%rax,1)' });
    expect(decodeInsn(x86.NOP2, ip)).toEqual({ len: 2, kind: 'nop', text: 'xchg   %ax,%ax' });
    expect(decodeInsn([0xcc], ip)).toEqual({ len: 1, kind: 'int3', text: 'int3' });
    expect(decodeInsn([0xc3, 0xcc], ip)).toEqual({ len: 1, kind: 'ret', text: 'ret' });
    // caller_two b_install_t1: e9 53 fc ff ff at 0xffffffffc0000a07 -> 0xffffffffc000065f
    expect(decodeInsn(bytesOf('e9 53 fc ff ff'), 0xffffffffc0000a07n)).toEqual({
      len: 5, kind: 'jmp', target: 0xffffffffc000065fn, text: 'jmp    0xffffffffc000065f',
    });
    expect(decodeInsn(bytesOf('e8 00 00 00 00'), ip)).toMatchObject({ kind: 'call', target: ip + 5n });
    expect(decodeInsn(bytesOf('eb fe'), ip)).toMatchObject({ kind: 'jmp', len: 2, target: ip });
    expect(decodeInsn(bytesOf('73 15'), ip)).toMatchObject({ kind: 'jcc', len: 2, target: ip + 0x17n, text: 'jae    0xffffffffc0000a17' });
    expect(decodeInsn(bytesOf('0f 83 00 01 00 00'), ip)).toMatchObject({ kind: 'jcc', target: ip + 0x106n });
    expect(decodeInsn(bytesOf('ff e1'), ip)).toEqual({ len: 2, kind: 'other', text: 'jmp    *%rcx' });
    expect(decodeInsn(bytesOf('f3 0f 1e fa'), ip)).toEqual({ len: 4, kind: 'nop', text: 'endbr64' });
  });

  it('decodes only the first instruction of a longer buffer', () => {
    expect(decodeInsn(bytesOf('58 0f 1f 44 00 00'), ip)).toEqual({ len: 1, kind: 'other', text: 'pop    %rax' });
  });

  it('rejects unknown and truncated bytes naming bytes and address', () => {
    expect(() => decodeInsn(bytesOf('0f 0b'), ip)).toThrow(DecodeError);
    expect(() => decodeInsn(bytesOf('0f 0b'), ip)).toThrow('cannot decode 0f 0b at 0xffffffffc0000a00');
    expect(() => decodeInsn(bytesOf('0f 1f 44 00'), ip)).toThrow(/^cannot decode 0f 1f 44 00 at 0xffffffffc0000a00 \(truncated\)$/);
    expect(() => decodeInsn(bytesOf('e9 00 00'), ip)).toThrow(/cannot decode e9 00 00 at .*truncated/);
    expect(() => decodeInsn([], ip)).toThrow(DecodeError);
    expect(() => decodeInsn([0xf4], ip)).toThrow('cannot decode f4 at 0xffffffffc0000a00'); // hlt: not a JIT instruction
    expect(() => disasm(bytesOf('90 90 0f 0b'), ip)).toThrow('cannot decode 0f 0b at 0xffffffffc0000a02');
  });
});

describe('encoders (bytes from docs/kernel-facts.md §1.1, §1.2, §1.4)', () => {
  it('constants', () => {
    expect(x86.X86_PATCH_SIZE).toBe(5);
    expect([...x86.NOP5]).toEqual(bytesOf('0f 1f 44 00 00'));
    expect([...x86.NOP2]).toEqual(bytesOf('66 90'));
    expect(x86.INT3).toBe(0xcc);
  });

  it('the instructions around a tail call', () => {
    expect(x86.emit_mov_eax_rbp_disp32(-0xc)).toEqual(bytesOf('8b 85 f4 ff ff ff'));
    expect(x86.emit_cmp_eax_imm8(0x21)).toEqual(bytesOf('83 f8 21'));
    expect(x86.emit_jae_rel8(0x1c)).toEqual(bytesOf('73 1c'));
    expect(x86.emit_add_eax_1()).toEqual(bytesOf('83 c0 01'));
    expect(x86.emit_mov_rbp_disp32_eax(-0x224)).toEqual(bytesOf('89 85 dc fd ff ff'));
    expect(x86.emit_jmp_rel32(0x0e)).toEqual(bytesOf('e9 0e 00 00 00'));
    expect(x86.emit_call_rel32(-1)).toEqual(bytesOf('e8 ff ff ff ff'));
    expect(x86.emit_sub_rsp_imm32(8)).toEqual(bytesOf('48 81 ec 08 00 00 00'));
    expect(x86.emit_add_rsp_imm32(8)).toEqual(bytesOf('48 81 c4 08 00 00 00'));
    const push = (['rax', 'rbx', 'r13', 'r14', 'r15'] as const).map((r) => x86.emit_push(r));
    const pop = (['rax', 'rbx', 'r13', 'r14', 'r15'] as const).map((r) => x86.emit_pop(r));
    expect(push.flat()).toEqual(bytesOf('50 53 41 55 41 56 41 57'));
    expect(pop.flat()).toEqual(bytesOf('58 5b 41 5d 41 5e 41 5f'));
    expect([...x86.emit_leave(), ...x86.emit_ret(), ...x86.emit_int3(), ...x86.emit_nop5(), ...x86.emit_nop2()]).toEqual(
      bytesOf('c9 c3 cc 0f 1f 44 00 00 66 90'),
    );
  });

  it('out-of-range operands throw instead of wrapping', () => {
    expect(() => x86.emit_jae_rel8(128)).toThrow(RangeError);
    expect(() => x86.emit_cmp_eax_imm8(-129)).toThrow(RangeError);
    expect(() => x86.emit_jmp_rel32(0x80000000)).toThrow(RangeError);
  });

  it('emit_patch: rel32 from ip + 5, -ERANGE as undefined', () => {
    // §1.4 example: target site at 0x…10058, jmp to 0xffffffffc002000c is e9 af ff 00 00
    expect(x86.emit_patch(0xffffffffc0010058n, 0xffffffffc002000cn, 0xe9)).toEqual(bytesOf('e9 af ff 00 00'));
    expect(x86.emit_patch(0x1000n, 0x1005n, 0xe8)).toEqual(bytesOf('e8 00 00 00 00'));
    expect(x86.emit_patch(0n, 5n + 0x7fffffffn, 0xe9)).toEqual(bytesOf('e9 ff ff ff 7f'));
    expect(x86.emit_patch(0n, 5n + 0x80000000n, 0xe9)).toBeUndefined();
    expect(x86.emit_patch(0x100000000n, 0x100000005n - 0x80000000n, 0xe9)).toEqual(bytesOf('e9 00 00 00 80'));
    expect(x86.emit_patch(0x100000000n, 0x100000004n - 0x80000000n, 0xe9)).toBeUndefined();
  });
});
