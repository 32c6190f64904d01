/**
 * Profile 5.10: the v5.10-6.11 layout as v5.10 emitted it, for what
 * tailcall-hierarchy runs. The expected bytes come from the kernel:
 * - ff672c67ee76 "bpf, x86: Fix tail call count offset calculation on bpf2bpf
 *   call" (Jakub Sitnicki, v5.19; its 5.10.y backport is
 *   20220627111934.330367140@linuxfoundation.org) lists the JIT image of its
 *   `entry` before the fix: `sub rsp,0x8; push rax; ...; mov rax,QWORD PTR
 *   [rbp-0x9]` for a one-byte stack, where the counter is at rbp-0x10;
 * - v5.10's emit_bpf_tail_call_direct (ebf7d1f508a7): `cmp eax,
 *   MAX_TAIL_CALL_CNT` with MAX 32 and `ja` (ebf7f6f0a6cd made it 33 and `jae`
 *   in v5.17), the jump over add/mov/jmp/pops/pop rax/[add rsp]/nop5 (`off1 =
 *   20` plus the pops and 7 with a stack);
 * - no `int3` after `ret` before CONFIG_SLS (e463a09af2f0, v5.17);
 * - RETPOLINE_RCX_BPF_JIT (asm/nospec-branch.h, v5.10 to v5.16): `call do_rop;
 *   pause; lfence; jmp .-7; mov %rcx,(%rsp); ret`, or `jmp *%rcx`.
 */
import { describe, expect, it } from 'vitest';
import {
  BPF_ALU, BPF_ALU64, BPF_B, BPF_CALL, BPF_DW, BPF_EXIT, BPF_FUNC_tail_call, BPF_IMM, BPF_JMP, BPF_K, BPF_LD, BPF_MEM, BPF_MOV,
  BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_STX, type BpfInsn,
} from '../src/jit/bpf.js';
import { CALLER_ADDRESS, callerProfile } from '../models/tailcall-common.js';
import { jit_tail_caller } from '../src/jit/x86/caller.js';
import { defaultJitConfig, describeConfig } from '../src/jit/x86/config.js';
import { disasm } from '../src/jit/x86/decode.js';
import { jit_function } from '../src/jit/x86/do_jit.js';
import { makeEnv } from '../src/jit/x86/env.js';
import { getProfile, tail_call_limit } from '../src/jit/x86/profile.js';
import { analyzeProgram, jitFunctions } from '../src/jit/x86/program.js';
import { emit_bpf_tail_call_indirect } from '../src/jit/x86/tailcall.js';
import { hexBytes } from '../src/jit/x86/x86.js';

const hex = (s: string) => s.replace(/\s+/g, ' ').trim();
const insn = (code: number, dst_reg: number, src_reg: number, off: number, imm: number): BpfInsn => ({ code, dst_reg, src_reg, off, imm });
const BASE = 0xffffffffa0201788n; // the entry's address in ff672c67ee76's listing
const SUB = BASE + 0x50n;

/**
 * ff672c67ee76's example: `entry` keeps one byte on its stack and returns subprog_tail(skb), which
 * tail-calls through jmp_table[0] (bpf_tail_call_static: a direct tail call).
 */
function example(): BpfInsn[] {
  return [
    insn(BPF_ALU | BPF_MOV | BPF_K, 2, 0, 0, 0), // w2 = 0
    insn(BPF_STX | BPF_MEM | BPF_B, 10, 2, -1, 0), // *(u8 *)(r10 -1) = r2
    insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 1, 1), // call pc+1
    insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    // subprog_tail
    insn(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, 7), insn(0, 0, 0, 0, 0), // r2 = jmp_table
    insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0), // r3 = 0
    insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
    insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
    insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  ];
}

function jit(profile: string): { entry: Uint8Array; sub: Uint8Array } {
  const env = makeEnv({ cfg: defaultJitConfig(profile), values: new Map([['map:7', 0xff11000012345000n]]) });
  const prog = analyzeProgram(example(), env.cfg.profile);
  const addr = (f: number) => (f === 0 ? BASE : SUB);
  const { funcs } = jitFunctions(prog, addr, () => 'jmp_table');
  return { entry: jit_function(funcs[0], BASE, env).image, sub: jit_function(funcs[1], SUB, env).image };
}

const listing = (b: Uint8Array, ip: bigint) => disasm(b, ip).map((i) => i.text.replace(/\s+/g, ' '));

describe('profile 5.10 (the v5.10-6.11 layout as v5.10 emitted it)', () => {
  it('is the v5.10-6.11 layout with MAX_TAIL_CALL_CNT 32, still 33 tail calls, no SLS', () => {
    const p = getProfile('5.10');
    expect(p).toMatchObject({ layout: 'v5.10-6.11', ibt: false, tail_call_offset: 11, max_tail_call_cnt: 32, call_tcc_off_rounded: false, sls: false });
    // ebf7f6f0a6cd: "it does not change the current limit 33"
    expect(tail_call_limit(p)).toBe(33);
    expect(tail_call_limit(getProfile('6.1'))).toBe(33);
    expect(describeConfig(defaultJitConfig('5.10'))).toMatch(/^profile=5\.10 indirect=retpoline return=ret /);
  });

  it("ff672c67ee76's entry before the fix: the counter reloaded from rbp-0x9 for a one-byte stack", () => {
    const { entry } = jit('5.10');
    const call = entry.length - 2 - 5; // call rel32; leave; ret
    const rel = Number(SUB - (BASE + BigInt(call) + 5n));
    const rel32 = hexBytes([rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff]);
    // nopl; xor eax,eax; push rbp; mov rbp,rsp; sub rsp,0x8; push rax; xor esi,esi; mov [rbp-0x1],sil;
    // mov rax,[rbp-0x9]; call; leave; ret (the commit message's listing, in bytes)
    expect(hexBytes(entry)).toBe(hex(`0f 1f 44 00 00 31 c0 55 48 89 e5 48 81 ec 08 00 00 00 50 31 f6 40 88 75 ff 48 8b 85 f7 ff ff ff e8 ${rel32} c9 c3`));
    expect(listing(entry, BASE)[8]).toBe('mov -0x9(%rbp),%rax');
  });

  it('6.1 (after ff672c67ee76): the same entry reloads the slot at rbp - round_up(1, 8) - 8 = rbp-0x10', () => {
    const { entry } = jit('6.1');
    expect(listing(entry, BASE)[8]).toBe('mov -0x10(%rbp),%rax');
    expect(hexBytes(entry.subarray(-3))).toBe('c9 c3 cc'); // leave; ret; int3 (SLS)
  });

  it("the direct tail call: v5.10's cmp eax,0x20; ja over 20 bytes (ebf7d1f508a7), 6.1's cmp eax,0x21; jae", () => {
    const tail = (profile: string) => {
      const { sub } = jit(profile);
      const at = hexBytes(sub).indexOf('8b 85 fc ff ff ff');
      return hexBytes(sub).slice(at, at + '8b 85 fc ff ff ff 83 f8 20 77 14 83 c0 01 89 85 fc ff ff ff e9 06 00 00 00 58 0f 1f 44 00 00'.length);
    };
    // mov eax,[rbp-4]; cmp eax,32; ja out; add eax,1; mov [rbp-4],eax; jmp out (bypass); pop rax; nop5 (target)
    expect(tail('5.10')).toBe('8b 85 fc ff ff ff 83 f8 20 77 14 83 c0 01 89 85 fc ff ff ff e9 06 00 00 00 58 0f 1f 44 00 00');
    expect(tail('6.1')).toBe('8b 85 fc ff ff ff 83 f8 21 73 14 83 c0 01 89 85 fc ff ff ff e9 06 00 00 00 58 0f 1f 44 00 00');
  });

  it('the indirect tail call ends in RETPOLINE_RCX_BPF_JIT, or jmp *%rcx without retpolines', () => {
    const layout = { bpf_array_max_entries: 0x24, bpf_array_ptrs: 0xd0, bpf_prog_bpf_func: 0x30 };
    const ret = emit_bpf_tail_call_indirect(0xffffffffc0010040n, [], 0, makeEnv({ cfg: defaultJitConfig('5.10'), layout }));
    expect(hexBytes(ret.slice(-17))).toBe(hex('e8 07 00 00 00 f3 90 0f ae e8 eb f9 48 89 0c 24 c3'));
    expect(hexBytes(ret.slice(-17 - 8, -17))).toBe(hex('48 8b 49 30 48 83 c1 0b')); // mov rcx,[rcx+0x30]; add rcx,11
    const plain = emit_bpf_tail_call_indirect(0xffffffffc0010040n, [], 0, makeEnv({ cfg: defaultJitConfig('5.10', { indirect_jump: 'plain' }), layout }));
    expect(hexBytes(plain.slice(-2))).toBe('ff e1');
    // the jumps to out land after the retpoline: jbe over the whole sequence (v5.10's OFFSET1)
    expect(ret[ret.indexOf(0x76) + 1]).toBe(ret.length - (ret.indexOf(0x76) + 2));
  });
});

describe('the tail-call models run v5.10 protocols on v5.10 bytes (models/tailcall-common.ts CALLER_PROFILES)', () => {
  it("caller_d0 as v5.10 emits it has the 6.1 image's two poke sites: same addresses, same bytes in state C", () => {
    expect(callerProfile('v5.10')).toBe('5.10');
    expect(callerProfile('no-sync')).toBe('5.10');
    expect(callerProfile('v6.7')).toBe('6.1');
    expect(callerProfile('v5.10', '/tmp/mine.c')).toBe('6.1');
    const shape = { stack_depth: 0, callee_regs: [], sites: 1 };
    const [a, b] = [jit_tail_caller(shape, CALLER_ADDRESS, '5.10'), jit_tail_caller(shape, CALLER_ADDRESS, '6.1')];
    const site = (img: typeof a, addr: bigint) => hexBytes(img.bytes.subarray(Number(addr - img.address), Number(addr - img.address) + 5));
    for (const k of ['tailcall_bypass', 'tailcall_target', 'bypass_addr', 'adj_off'] as const) expect(a.pokes[0][k]).toBe(b.pokes[0][k]);
    for (const k of ['tailcall_bypass', 'tailcall_target'] as const) expect(site(a, a.pokes[0][k])).toBe(site(b, b.pokes[0][k]));
    // where they differ: the counter check (cmp 0x20; ja vs cmp 0x21; jae) and the final ret (no int3 before v5.17)
    const diff = [...a.bytes].map((x, i) => (x === b.bytes[i] ? -1 : i)).filter((i) => i >= 0);
    const check = hexBytes(a.bytes).indexOf('83 f8 20 77') / 3;
    expect(diff.slice(0, 2)).toEqual([check + 2, check + 3]);
    expect(b.bytes.length - a.bytes.length).toBe(1);
    expect(hexBytes(a.bytes.subarray(-2))).toBe('c9 c3');
  });
});
