/**
 * arm64 text poking (docs/kernel-facts.md section 5): `bpf_arch_text_poke`
 * of arch/arm64/net/bpf_jit_comp.c and `aarch64_insn_patch_text_nosync` of
 * arch/arm64/kernel/patching.c.
 *
 * `aarch64_insn_patch_text_nosync(addr, insn)` rejects a misaligned address
 * (-EINVAL), writes the word with `aarch64_insn_write` (through the
 * FIX_TEXT_POKE0 alias, `copy_to_kernel_nofault` of 4 bytes: with
 * HAVE_EFFICIENT_UNALIGNED_ACCESS that is its u32 loop, one 32-bit store) and
 * flushes the icache for those 4 bytes. No stop_machine, no IPI: ARMv8 ARM
 * B2.6.5 lets another CPU execute the word while it is overwritten and
 * promises it sees the old or the new instruction when both are in the
 * `aarch64_insn_hotpatch_safe` set (B, BL, NOP, ...).
 *
 * Here the store is a list of store steps so that a model can interleave
 * CPU fetches with them: `nosync` is the kernel's single aligned 32-bit
 * store; `byte-copy` is what the write would be if it were done a byte at a
 * time (a byte-wise memcpy), which the architecture promises nothing about.
 *
 * Not modelled: the PLT at the end of the image used for targets beyond
 * +-128 MiB (the entry's `ldr x10, target; br x10`); a target out of `b`
 * range makes `gen_branch_or_nop` fail here (-EFAULT).
 */
import { AARCH64_INSN_SIZE, AARCH64_NOP, a64Bytes, a64Word, aarch64_insn_gen_branch_imm } from '../jit/arm64/insn.js';
import { EINVAL } from './errno.js';
import type { BpfKallsyms, TextMemory } from './text.js';

export const EFAULT = 14;
export const ENOTSUPP = 524;

/** BTI_INSNS + 1 with CONFIG_ARM64_BTI_KERNEL: `bti c; mov x9, x30; nop` (the nop is the patch site). */
export const POKE_OFFSET = 2;

export type Arm64PokeType = 'BPF_MOD_CALL' | 'BPF_MOD_JUMP';

/** `gen_branch_or_nop`: nop for NULL, else `bl` (BPF_MOD_CALL) or `b` (BPF_MOD_JUMP); null on failure. */
export function gen_branch_or_nop(type: Arm64PokeType, ip: bigint, addr: bigint | null): number | null {
  if (addr === null) return AARCH64_NOP;
  return aarch64_insn_gen_branch_imm(ip, addr, type === 'BPF_MOD_CALL' ? 'AARCH64_INSN_BRANCH_LINK' : 'AARCH64_INSN_BRANCH_NOLINK');
}

export type Arm64PatchMethod = 'nosync' | 'byte-copy';
export const ARM64_PATCH_METHODS: readonly Arm64PatchMethod[] = ['nosync', 'byte-copy'];

/** One store of `len` bytes at `offset` into the 4-byte word. */
export interface StoreStep {
  readonly offset: number;
  readonly len: 1 | 4;
  readonly doc: string;
}

/** The stores that write a new instruction word, per method, in program order. */
export function patchStores(method: Arm64PatchMethod): StoreStep[] {
  if (method === 'nosync') {
    return [{ offset: 0, len: 4, doc: 'aarch64_insn_patch_text_nosync: aarch64_insn_write: one aligned 32-bit store (str w), then flush the icache line' }];
  }
  return [0, 1, 2, 3].map((i) => ({ offset: i, len: 1, doc: `byte-wise copy: byte ${i} = new[${i}] (strb)` }));
}

/** What `bpf_arch_text_poke` decides before it writes: the site, the old and new words, or an error. */
export type PokePlan = { ret: number } | { ret: 0; ip: bigint; old_insn: number; new_insn: number; write: boolean };

/**
 * The checks of arm64 `bpf_arch_text_poke(ip, type, old_addr, new_addr)`
 * up to the write: -ENOTSUPP outside BPF text; at a program's entry (offset
 * 0) the site is `image + POKE_OFFSET * 4`; -EFAULT if an instruction cannot
 * be generated; nothing to write when old == new; under text_mutex, -EFAULT
 * when the current word is not `old_insn` (x86 returns -EBUSY there).
 */
export function bpf_arch_text_poke_plan(
  text: TextMemory,
  kallsyms: BpfKallsyms,
  ip: bigint,
  type: Arm64PokeType,
  old_addr: bigint | null,
  new_addr: bigint | null,
): PokePlan {
  if (!kallsyms.is_bpf_text_address(ip)) return { ret: -ENOTSUPP };
  const site = text.regionAt(ip).start === ip ? ip + BigInt(POKE_OFFSET * AARCH64_INSN_SIZE) : ip;
  const old_insn = gen_branch_or_nop(type, site, old_addr);
  const new_insn = gen_branch_or_nop(type, site, new_addr);
  if (old_insn === null || new_insn === null) return { ret: -EFAULT };
  if (old_insn === new_insn) return { ret: 0, ip: site, old_insn, new_insn, write: false };
  if (a64Word(text.read(site, AARCH64_INSN_SIZE)) !== old_insn) return { ret: -EFAULT };
  return { ret: 0, ip: site, old_insn, new_insn, write: true };
}

/** Performs one store step of writing `insn` at `ip`. */
export function doStore(text: TextMemory, ip: bigint, insn: number, step: StoreStep): void {
  if ((ip & 3n) !== 0n) throw new RangeError('A64 instructions must be word aligned');
  text.write(ip + BigInt(step.offset), a64Bytes(insn).slice(step.offset, step.offset + step.len));
}

/** Sequential `bpf_arch_text_poke` (nothing runs concurrently): the plan, then every store. */
export function bpf_arch_text_poke(
  text: TextMemory,
  kallsyms: BpfKallsyms,
  ip: bigint,
  type: Arm64PokeType,
  old_addr: bigint | null,
  new_addr: bigint | null,
  method: Arm64PatchMethod = 'nosync',
): number {
  const plan = bpf_arch_text_poke_plan(text, kallsyms, ip, type, old_addr, new_addr);
  if ('write' in plan && plan.write) for (const step of patchStores(method)) doStore(text, plan.ip, plan.new_insn, step);
  return plan.ret;
}

export function arm64ErrnoName(ret: number): string {
  if (ret === -EFAULT) return '-EFAULT';
  if (ret === -ENOTSUPP) return '-ENOTSUPP';
  if (ret === -EINVAL) return '-EINVAL';
  return String(ret);
}
