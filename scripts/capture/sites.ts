/**
 * Finds the tail-call sequences in a live x86-64 BPF JIT image, so that the
 * fixture can name each site's offsets and the current state of its two
 * patchable 5-byte slots. This reads what the kernel emitted; it does not
 * emit anything.
 *
 * Recognised layouts (docs/kernel-facts.md §0.2, §1.4, §1.5), with or
 * without IBT, with retpoline / lfence / plain indirect jumps:
 * - "v5.10-6.11": the counter is a dword in the `push rax` slot,
 *   loaded, compared, incremented and stored before the bypass;
 * - "v6.12+": the slot holds tail_call_cnt_ptr; `cmpq $33, (%rax)`,
 *   and the increment `addq $1, (%rax)` comes after the bypass.
 * Anything else (v5.5's single-slot layout, other architectures) is not
 * recognised: the writer then records no sites and warns.
 */

export interface Pop {
  bytes: number[];
  text: string;
}

export interface SlotState {
  /** image offset */
  offset: number;
  bytes: Uint8Array;
  state: 'jmp' | 'nop5';
  rel32?: number;
}

export type Layout = 'v5.10-6.11' | 'v6.12+';

export interface DirectSite {
  kind: 'direct';
  layout: Layout;
  tccCheckOffset: number;
  tccOff: number;
  /** the counter limit compared against (33 since v5.17) */
  maxTailCallCnt: number;
  jaeOutOffset: number;
  bypass: SlotState;
  between: Uint8Array;
  betweenDecoded: string[];
  poke: SlotState;
  outOffset: number;
}

export interface IndirectJump {
  form: 'jmp rel32 to thunk' | 'jmp *%rcx; int3' | 'jmp *%rcx' | 'lfence; jmp *%rcx; int3' | 'lfence; jmp *%rcx';
  offset: number;
  bytes: Uint8Array;
  rel32?: number;
}

export interface IndirectSite {
  kind: 'indirect';
  layout: Layout;
  indexCheckOffset: number;
  offsetofMaxEntries: number;
  tccCheckOffset: number;
  tccOff: number;
  maxTailCallCnt: number;
  jaeOutOffset: number;
  offsetofPtrs: number;
  offsetofBpfFunc: number;
  addRcxTailCallOffset: number;
  between: Uint8Array;
  betweenDecoded: string[];
  jump: IndirectJump;
  outOffset: number;
  sequenceOffset: number;
  sequenceBytes: Uint8Array;
}

export type Site = DirectSite | IndirectSite;

const NOP5 = [0x0f, 0x1f, 0x44, 0x00, 0x00];
/**
 * Before v5.15 ("x86: Remove dynamic NOP selection") the JIT copied
 * ideal_nops[NOP_ATOMIC5], chosen at boot by CPU vendor and family: P6 NOPs
 * (NOP5 above) on Intel and on AMD family > 0xf, the K8 atomic NOP5 on older
 * AMD family numbers (QEMU's TCG `max` reports AuthenticAMD family 6). Seen in
 * the 5.10 captures.
 */
const K8_NOP5_ATOMIC = [0x66, 0x66, 0x66, 0x66, 0x90];

function u8(b: Uint8Array, i: number): number {
  return i < b.length ? b[i] : -1;
}
function s8(b: Uint8Array, i: number): number {
  const v = b[i];
  return v >= 0x80 ? v - 0x100 : v;
}
function s32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) | 0;
}
function u32(b: Uint8Array, i: number): number {
  return s32(b, i) >>> 0;
}
function match(b: Uint8Array, i: number, pat: readonly number[]): boolean {
  if (i + pat.length > b.length) return false;
  for (let k = 0; k < pat.length; k++) if (b[i + k] !== pat[k]) return false;
  return true;
}

/** A 5-byte patch slot: `e9 rel32` or the kernel's nop5. */
function slot(b: Uint8Array, i: number): SlotState | null {
  if (i + 5 > b.length) return null;
  if (match(b, i, NOP5) || match(b, i, K8_NOP5_ATOMIC)) return { offset: i, bytes: b.slice(i, i + 5), state: 'nop5' };
  if (b[i] === 0xe9) return { offset: i, bytes: b.slice(i, i + 5), state: 'jmp', rel32: s32(b, i + 1) };
  return null;
}

/**
 * The unwinding before the jump: (v6.12+ only) `addq $1, (%rax)`, callee-saved
 * pops (r12, r15, r14, r13, rbx in some suffix of that order), `pop rax`
 * (v5.10-6.11: the counter slot; v6.12+: two of them, tail_call_cnt_ptr then the
 * counter or inherited pointer), and `add rsp, imm32` when the stack depth
 * is non-zero.
 */
function pops(b: Uint8Array, i: number, layout: Layout): { end: number; decoded: string[] } | null {
  const decoded: string[] = [];
  let p = i;
  if (layout === 'v6.12+') {
    if (!match(b, p, [0x48, 0x83, 0x00, 0x01])) return null;
    decoded.push('add qword [rax], 1');
    p += 4;
  }
  for (;;) {
    if (u8(b, p) === 0x5b) {
      decoded.push('pop rbx');
      p += 1;
    } else if (u8(b, p) === 0x41 && [0x5c, 0x5d, 0x5e, 0x5f].includes(u8(b, p + 1))) {
      decoded.push(`pop r${12 + (b[p + 1] - 0x5c)}`);
      p += 2;
    } else break;
  }
  for (let k = 0; k < (layout === 'v6.12+' ? 2 : 1); k++) {
    if (u8(b, p) !== 0x58) return null;
    decoded.push('pop rax');
    p += 1;
  }
  if (match(b, p, [0x48, 0x81, 0xc4])) {
    decoded.push(`add rsp, ${u32(b, p + 3)}`);
    p += 7;
  }
  return { end: p, decoded };
}

/**
 * v5.10-6.11 counter check: `mov eax, [rbp+d32]; cmp eax, imm8; jae/ja rel8;
 * add eax, 1; mov [rbp+d32], eax` (26 bytes).
 */
interface Counter {
  layout: Layout;
  /** bytes of the check, up to the jcc's end (v5.10-6.11: including the increment) */
  len: number;
  tccOff: number;
  max: number;
  jaeTarget: number;
}

function counter(b: Uint8Array, i: number): Counter | null {
  return counter_v5_10(b, i) ?? counter_v6_12(b, i);
}

/** v6.12+: `mov rax, [rbp+d32]; cmpq $imm8, (%rax); jae rel8` (13 bytes). */
function counter_v6_12(b: Uint8Array, i: number): Counter | null {
  if (!match(b, i, [0x48, 0x8b, 0x85])) return null;
  const d = s32(b, i + 3);
  if (!match(b, i + 7, [0x48, 0x83, 0x38])) return null;
  const max = b[i + 10];
  if (u8(b, i + 11) !== 0x73) return null;
  return { layout: 'v6.12+', len: 13, tccOff: d, max, jaeTarget: i + 13 + s8(b, i + 12) };
}

function counter_v5_10(b: Uint8Array, i: number): Counter | null {
  if (!match(b, i, [0x8b, 0x85])) return null;
  const d = s32(b, i + 2);
  if (!match(b, i + 6, [0x83, 0xf8])) return null;
  const max = b[i + 8];
  const jcc = u8(b, i + 9);
  if (jcc !== 0x73 && jcc !== 0x77) return null;
  const jaeTarget = i + 11 + s8(b, i + 10);
  if (!match(b, i + 11, [0x83, 0xc0, 0x01, 0x89, 0x85])) return null;
  if (s32(b, i + 16) !== d) return null;
  return { layout: 'v5.10-6.11', len: 20, tccOff: d, max, jaeTarget };
}

function directAt(b: Uint8Array, i: number): DirectSite | null {
  const c = counter(b, i);
  if (!c) return null;
  const bypassAt = i + c.len;
  const bypass = slot(b, bypassAt);
  if (!bypass) return null;
  const pp = pops(b, bypassAt + 5, c.layout);
  if (!pp) return null;
  const poke = slot(b, pp.end);
  if (!poke) return null;
  const out = pp.end + 5;
  if (c.jaeTarget !== out) return null;
  if (bypass.state === 'jmp' && bypassAt + 5 + (bypass.rel32 ?? 0) !== out) return null;
  return {
    kind: 'direct',
    layout: c.layout,
    tccCheckOffset: i,
    tccOff: c.tccOff,
    maxTailCallCnt: c.max,
    jaeOutOffset: c.jaeTarget,
    bypass,
    between: b.slice(bypassAt + 5, pp.end),
    betweenDecoded: pp.decoded,
    poke,
    outOffset: out,
  };
}

function indirectJump(b: Uint8Array, i: number): IndirectJump | null {
  if (u8(b, i) === 0xe9 && i + 5 <= b.length) {
    return { form: 'jmp rel32 to thunk', offset: i, bytes: b.slice(i, i + 5), rel32: s32(b, i + 1) };
  }
  let p = i;
  let lfence = false;
  if (match(b, p, [0x0f, 0xae, 0xe8])) {
    lfence = true;
    p += 3;
  }
  if (!match(b, p, [0xff, 0xe1])) return null;
  p += 2;
  const int3 = u8(b, p) === 0xcc;
  if (int3) p += 1;
  const form = lfence ? (int3 ? 'lfence; jmp *%rcx; int3' : 'lfence; jmp *%rcx') : int3 ? 'jmp *%rcx; int3' : 'jmp *%rcx';
  return { form, offset: i, bytes: b.slice(i, p) };
}

function indirectAt(b: Uint8Array, i: number): IndirectSite | null {
  // mov edx, edx; cmp [rsi+d8], edx; jbe out
  if (!match(b, i, [0x89, 0xd2, 0x39, 0x56])) return null;
  const maxEntriesOff = b[i + 4];
  if (u8(b, i + 5) !== 0x76) return null;
  const jbeTarget = i + 7 + s8(b, i + 6);
  const c = counter(b, i + 7);
  if (!c) return null;
  let p = i + 7 + c.len;
  // mov rcx, [rsi + rdx*8 + d32]; test rcx, rcx; je out
  if (!match(b, p, [0x48, 0x8b, 0x8c, 0xd6])) return null;
  const ptrsOff = s32(b, p + 4);
  p += 8;
  if (!match(b, p, [0x48, 0x85, 0xc9, 0x74])) return null;
  const jeTarget = p + 5 + s8(b, p + 4);
  p += 5;
  const pp = pops(b, p, c.layout);
  if (!pp) return null;
  const between = b.slice(p, pp.end);
  p = pp.end;
  // mov rcx, [rcx + d8]; add rcx, imm8
  if (!match(b, p, [0x48, 0x8b, 0x49])) return null;
  const bpfFuncOff = b[p + 3];
  if (!match(b, p + 4, [0x48, 0x83, 0xc1])) return null;
  const addRcx = b[p + 7];
  p += 8;
  const jump = indirectJump(b, p);
  if (!jump) return null;
  const out = p + jump.bytes.length;
  if (jbeTarget !== out || c.jaeTarget !== out || jeTarget !== out) return null;
  return {
    kind: 'indirect',
    layout: c.layout,
    indexCheckOffset: i,
    offsetofMaxEntries: maxEntriesOff,
    tccCheckOffset: i + 7,
    tccOff: c.tccOff,
    maxTailCallCnt: c.max,
    jaeOutOffset: c.jaeTarget,
    offsetofPtrs: ptrsOff,
    offsetofBpfFunc: bpfFuncOff,
    addRcxTailCallOffset: addRcx,
    between,
    betweenDecoded: pp.decoded,
    jump,
    outOffset: out,
    sequenceOffset: i,
    sequenceBytes: b.slice(i, out),
  };
}

/**
 * All tail-call sites in one function's bytes, offsets relative to `bytes`.
 * A candidate must match the whole sequence, with every short jump landing
 * on the sequence's end, so a stray `8b 85` inside an immediate does not
 * match.
 */
export function findSites(bytes: Uint8Array): Site[] {
  const out: Site[] = [];
  for (let i = 0; i < bytes.length; ) {
    const s = indirectAt(bytes, i) ?? directAt(bytes, i);
    if (s) {
      out.push(s);
      i = s.outOffset;
    } else i++;
  }
  return out;
}

/** Number of tail-call instructions in xlated BPF (`call 12`, as the kernel dumps both kinds). */
export function countTailCalls(xlated: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 8 <= xlated.length; i += 8) {
    const code = xlated[i];
    const srcReg = xlated[i + 1] >> 4;
    const imm = s32(xlated, i + 4);
    if (code === 0x85 && srcReg === 0 && imm === 12) n++;
  }
  return n;
}

export type PrologueEntry = 'xor eax,eax' | 'nop2' | 'xor rax,rax' | 'nop3' | 'unknown';

/** What follows the entry nop5 (after an ENDBR, if any). */
export function prologueEntry(bytes: Uint8Array): { endbr: boolean; at: number; what: PrologueEntry } {
  const endbr = match(bytes, 0, [0xf3, 0x0f, 0x1e, 0xfa]) || match(bytes, 0, [0x66, 0x0f, 0x1f, 0x00]);
  const at = (endbr ? 4 : 0) + 5;
  let what: PrologueEntry = 'unknown';
  if (match(bytes, at, [0x31, 0xc0])) what = 'xor eax,eax';
  else if (match(bytes, at, [0x66, 0x90])) what = 'nop2';
  else if (match(bytes, at, [0x48, 0x31, 0xc0])) what = 'xor rax,rax';
  else if (match(bytes, at, [0x0f, 0x1f, 0x00])) what = 'nop3';
  return { endbr, at, what };
}

export interface ReturnForm {
  form: 'ret; int3' | 'ret' | 'jmp rel32 to return thunk' | 'unknown';
  /** image offset of the return instruction */
  offset: number;
  bytes: Uint8Array;
  rel32?: number;
}

/** How the function's (single, final) epilogue returns: it ends with `leave` then the return. */
export function returnForm(fn: Uint8Array): ReturnForm {
  const n = fn.length;
  if (n >= 3 && fn[n - 3] === 0xc9 && fn[n - 2] === 0xc3 && fn[n - 1] === 0xcc) return { form: 'ret; int3', offset: n - 2, bytes: fn.slice(n - 2) };
  if (n >= 2 && fn[n - 2] === 0xc9 && fn[n - 1] === 0xc3) return { form: 'ret', offset: n - 1, bytes: fn.slice(n - 1) };
  if (n >= 6 && fn[n - 6] === 0xc9 && fn[n - 5] === 0xe9) return { form: 'jmp rel32 to return thunk', offset: n - 5, bytes: fn.slice(n - 5), rel32: s32(fn, n - 4) };
  return { form: 'unknown', offset: n, bytes: new Uint8Array(0) };
}
