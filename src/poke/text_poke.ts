/**
 * `__bpf_arch_text_poke` and `bpf_arch_text_poke` (arch/x86/net/bpf_jit_comp.c),
 * at the instruction level: the 5-byte write itself is one atomic step here
 * (what `text_poke_bp` guarantees to every CPU; the byte-level model replaces
 * it with the real int3 protocol).
 */
import { emit_patch, NOP5, X86_PATCH_SIZE } from '../jit/x86/x86.js';
import { EBUSY, EINVAL, ERANGE } from './errno.js';
import type { BpfKallsyms, TextMemory } from './text.js';

export type BpfTextPokeType = 'BPF_MOD_CALL' | 'BPF_MOD_JUMP';

/** NULL for an address is `null`: the instruction is then the 5-byte nop. */
export type PokeAddr = bigint | null;

/**
 * The 5 bytes `__bpf_arch_text_poke` expects or writes at `ip` for `addr`:
 * nop5 for NULL, else `call`/`jmp rel32`. `undefined` when rel32 does not
 * fit (the kernel's -ERANGE from `emit_patch`).
 */
export function poke_insn(ip: bigint, t: BpfTextPokeType, addr: PokeAddr): number[] | undefined {
  if (addr === null) return [...NOP5];
  return emit_patch(ip, addr, t === 'BPF_MOD_CALL' ? 0xe8 : 0xe9);
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Returns -ERANGE if an address is out of rel32 range, -EBUSY if the bytes at
 * `ip` are not the expected old instruction (nothing written), 1 if they are
 * already the new instruction (nothing written), 0 after writing the new one.
 */
export function __bpf_arch_text_poke(text: TextMemory, ip: bigint, t: BpfTextPokeType, old_addr: PokeAddr, new_addr: PokeAddr): number {
  const old_insn = poke_insn(ip, t, old_addr);
  const new_insn = poke_insn(ip, t, new_addr);
  if (!old_insn || !new_insn) return -ERANGE;
  // mutex_lock(&text_mutex) is implicit: a poke is one atomic step.
  const cur = text.read(ip, X86_PATCH_SIZE);
  if (!same(cur, old_insn)) return -EBUSY;
  if (same(cur, new_insn)) return 1;
  text.write(ip, new_insn);
  return 0;
}

/** The public wrapper: -EINVAL unless `ip` is kernel or (kallsyms-registered) BPF text. */
export function bpf_arch_text_poke(
  text: TextMemory,
  kallsyms: BpfKallsyms,
  ip: bigint,
  t: BpfTextPokeType,
  old_addr: PokeAddr,
  new_addr: PokeAddr,
): number {
  if (!kallsyms.is_bpf_text_address(ip)) return -EINVAL;
  // No ENDBR adjustment: tail-call sites are never a program's entry.
  return __bpf_arch_text_poke(text, ip, t, old_addr, new_addr);
}

export { EBUSY, EINVAL, ERANGE };
