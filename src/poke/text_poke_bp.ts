/**
 * `text_poke_bp` (arch/x86/kernel/alternative.c; `smp_text_poke_single`
 * since 9586ae48e785, v6.16): how the kernel rewrites a live multi-byte
 * instruction so that no CPU ever executes a mix of old and new bytes
 * (docs/kernel-facts.md section 4).
 *
 * `text_poke_bp(addr, opcode, len, emulate)` = `__smp_text_poke_batch_add`
 * + `smp_text_poke_batch_finish`, whose steps are, for one entry:
 *
 *   0. text_poke_array_refs := 1 on every CPU (the entry becomes visible to
 *      the int3 handler);
 *   1. text_poke(addr, INT3, 1); sync
 *   2. text_poke(addr + 1, opcode + 1, len - 1); sync   (len > 1)
 *   3. text_poke(addr, opcode[0], 1); sync               (opcode[0] != INT3)
 *   4. drop the refs and wait until no int3 handler still uses the entry.
 *
 * A *sync* is `smp_text_poke_sync_each_cpu()` = `on_each_cpu(do_sync_core,
 * NULL, 1)`: an IPI to every CPU, which each CPU takes at an instruction
 * boundary and answers with `sync_core()` (serializing); the call returns
 * when every CPU has done so. The int3 handler
 * (`smp_text_poke_int3_handler`, `poke_int3_handler` before v6.16) emulates
 * the NEW instruction.
 *
 * Each step below is one atomic step of a model; `text_poke` of the tail
 * bytes is a copy through a temporary mapping, modelled here as one step per
 * byte (the copy is not atomic, and the protocol must not need it to be).
 *
 * `memcpy` is the broken alternative: the bytes written one by one over live
 * text, no int3, no sync.
 */
import { decodeInsn, type Insn } from '../jit/x86/decode.js';
import { NOP5, X86_PATCH_SIZE, hexAddr, hexBytes } from '../jit/x86/x86.js';
import type { TextMemory } from './text.js';

export const INT3_INSN_OPCODE = 0xcc;
export const INT3_INSN_SIZE = 1;

export type TextPokeBpStep =
  /** step 0: the entry is published and `text_poke_array_refs` set on every CPU */
  | { readonly op: 'refs_set'; readonly doc: string }
  /** `text_poke(addr + offset, byte, 1)`: `byte` is int3 or the new opcode's byte at `offset` */
  | { readonly op: 'write'; readonly offset: number; readonly byte: 'int3' | 'new'; readonly doc: string }
  /** `smp_text_poke_sync_each_cpu()` sends its IPI to every CPU ... */
  | { readonly op: 'sync'; readonly doc: string }
  /** ... and returns once every CPU has taken it at an instruction boundary and serialized */
  | { readonly op: 'sync_wait'; readonly doc: string }
  /** step 4: the refs are dropped; waits until no CPU is inside the int3 handler for this entry */
  | { readonly op: 'refs_drop'; readonly doc: string };

export type PokeMethod = 'text_poke_bp' | 'memcpy';
export const POKE_METHODS: readonly PokeMethod[] = ['text_poke_bp', 'memcpy'];

const SYNC: TextPokeBpStep[] = [
  { op: 'sync', doc: 'smp_text_poke_sync_each_cpu(): IPI to every CPU (on_each_cpu(do_sync_core, NULL, 1))' },
  { op: 'sync_wait', doc: 'smp_text_poke_sync_each_cpu() returns: every CPU took the IPI at an instruction boundary and serialized' },
];

const write = (offset: number, byte: 'int3' | 'new', what: string): TextPokeBpStep => ({
  op: 'write',
  offset,
  byte,
  doc: `text_poke(addr${offset ? ` + ${offset}` : ''}, ${what}, 1)`,
});

/**
 * The ordered steps of `text_poke_bp` for one entry of `len` bytes whose new
 * first byte is not int3 (always so for the 5-byte jmp/nop5 of BPF pokes).
 */
export function text_poke_bp_steps(len: number = X86_PATCH_SIZE): TextPokeBpStep[] {
  if (!Number.isInteger(len) || len < 1 || len > X86_PATCH_SIZE) throw new RangeError(`text_poke_bp: length ${len} out of 1..${X86_PATCH_SIZE}`);
  const tail: TextPokeBpStep[] = [];
  for (let i = INT3_INSN_SIZE; i < len; i++) tail.push(write(i, 'new', `new[${i}]`));
  return [
    { op: 'refs_set', doc: 'smp_text_poke_batch_finish: text_poke_array_refs = 1 on every CPU (the entry is live for the int3 handler)' },
    write(0, 'int3', 'INT3'),
    ...SYNC,
    ...(len > INT3_INSN_SIZE ? [...tail, ...SYNC] : []),
    write(0, 'new', 'new[0]'),
    ...SYNC,
    { op: 'refs_drop', doc: 'smp_text_poke_batch_finish: drop text_poke_array_refs, wait for int3 handlers still using the entry' },
  ];
}

/** The broken alternative: `len` bytes copied one by one over live text, in address order. */
export function memcpy_poke_steps(len: number = X86_PATCH_SIZE): TextPokeBpStep[] {
  return Array.from({ length: len }, (_, i) => ({ op: 'write', offset: i, byte: 'new', doc: `memcpy: byte ${i} = new[${i}] (no int3, no sync)` }) as const);
}

export function pokeMethodSteps(method: PokeMethod, len: number = X86_PATCH_SIZE): TextPokeBpStep[] {
  return method === 'text_poke_bp' ? text_poke_bp_steps(len) : memcpy_poke_steps(len);
}

/** The byte a write step stores. */
export function writeByte(step: Extract<TextPokeBpStep, { op: 'write' }>, opcode: ArrayLike<number>): number {
  return step.byte === 'int3' ? INT3_INSN_OPCODE : opcode[step.offset];
}

export class TextPokeBug extends Error {}

/**
 * What `__smp_text_poke_batch_add` accepts as an entry and what the int3
 * handler will emulate: CALL/JMP rel32 (and JMP8), or a NOP only if it is
 * exactly `x86_nops[len]` (recorded as "JMP with displacement 0"); anything
 * else is a BUG in the kernel. Returns the decoded NEW instruction.
 */
export function text_poke_entry(addr: bigint, opcode: ArrayLike<number>): Insn {
  const insn = decodeInsn(opcode, addr);
  if (insn.len !== opcode.length) throw new TextPokeBug(`text_poke_bp: ${hexBytes(opcode)} at ${hexAddr(addr)} is not one instruction`);
  if (insn.kind === 'nop' && opcode.length === X86_PATCH_SIZE && hexBytes(opcode) === hexBytes(NOP5)) return insn;
  if (insn.kind === 'jmp' || insn.kind === 'call') return insn;
  throw new TextPokeBug(`text_poke_bp: cannot emulate ${insn.text} [${hexBytes(opcode)}] at ${hexAddr(addr)} (BUG)`);
}

/**
 * `smp_text_poke_int3_handler` for a CPU that trapped on the int3 at `addr`:
 * the address it continues at after emulating the new instruction (a nop5
 * emulates as a jump to addr + 5; a call also pushes addr + len, which the
 * caller models).
 */
export function smp_text_poke_int3_emulate(addr: bigint, opcode: ArrayLike<number>): bigint {
  const insn = text_poke_entry(addr, opcode);
  return insn.kind === 'nop' ? addr + BigInt(insn.len) : insn.target!;
}

/**
 * Sequential `text_poke_bp(addr, opcode, len)` on a TextMemory (nothing runs
 * concurrently, so a sync only calls `onSync`). The caller holds text_mutex.
 */
export function text_poke_bp(text: TextMemory, addr: bigint, opcode: ArrayLike<number>, onSync: () => void = () => {}): void {
  text_poke_entry(addr, opcode);
  for (const step of text_poke_bp_steps(opcode.length)) {
    if (step.op === 'write') text.write(addr + BigInt(step.offset), [writeByte(step, opcode)]);
    else if (step.op === 'sync') onSync();
  }
}
