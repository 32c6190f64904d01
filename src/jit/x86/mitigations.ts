/**
 * Which `ret` and indirect-jump encodings (and call-depth accounting) the
 * x86-64 BPF JIT emits, decided from what a running kernel says about its CPU:
 * the lines of /sys/devices/system/cpu/vulnerabilities/*, the CPU family, and
 * the kernel version. The kernel decides from feature bits that its boot-time
 * mitigation selection (arch/x86/kernel/cpu/bugs.c) sets; the vulnerability
 * lines are that selection's own report, so the bits are read back from them:
 *
 * - X86_FEATURE_RETPOLINE / RETPOLINE_LFENCE: the spectre_v2 mode (its first
 *   field: "Mitigation: Retpolines", "Mitigation: LFENCE", "… IBRS + Retpolines").
 * - X86_FEATURE_RETHUNK and `x86_return_thunk`, set by, in the kernel's order
 *   (a later one overrides an earlier one, as `set_return_thunk()` does):
 *     retbleed "Mitigation: untrained return thunk" -> retbleed_return_thunk,
 *     retbleed "Mitigation: Stuffing"               -> call_depth_return_thunk (+ CALL_DEPTH),
 *     spec_rstack_overflow "… Safe RET …"           -> srso_alias_return_thunk on family 0x19,
 *                                                      srso_return_thunk otherwise,
 *     indirect_target_selection
 *       "Mitigation: Aligned branch/return thunks"  -> its_return_thunk, and without
 *                                                      retpolines X86_FEATURE_INDIRECT_THUNK_ITS,
 *       "Mitigation: Retpolines, Stuffing RSB"      -> call_depth_return_thunk (+ CALL_DEPTH).
 *   ITS: "x86/its: Add support for ITS-safe return thunk", "x86/its: Enable
 *   Indirect Target Selection mitigation", "x86/its: Add support for RSB stuffing
 *   mitigation" (v6.15, backported to 6.12.y, 6.6.y, 6.1.y, 5.15.y, 5.10.y);
 *   its_apply_mitigation() in bugs.c. SRSO: fb3bd914b3ec "x86/srso: Add a
 *   Speculative RAS Overflow mitigation" (v6.5; srso_alias_* for Zen 3/4, family 0x19).
 *   Call depth: "x86/retbleed: Add SKL return thunk" and "x86/bpf: Emit call
 *   depth accounting if required" (both v6.2, the call-depth tracking series).
 * - emit_indirect_jump(): INDIRECT_THUNK_ITS -> `jmp __x86_indirect_its_thunk_rcx`;
 *   else RETPOLINE_LFENCE -> `lfence; jmp *%rcx`; else RETPOLINE -> `jmp
 *   __x86_indirect_thunk_rcx`, or with CALL_DEPTH `jmp __x86_indirect_jump_thunk_rcx`
 *   (the call-depth series' jump thunks, v6.2); else `jmp *%rcx` (+ `int3`, profile's choice).
 * - emit_return(): RETHUNK -> `jmp x86_return_thunk`; else `ret` (+ `int3` with SLS).
 *
 * Nothing here looks at a JIT image: a fixture's bytes are what this decision is
 * checked against.
 */
import type { IndirectJump } from './config.js';

/** What a kernel says about the CPU it runs on (a fixture's `guest_cpu`), and its version. */
export interface CpuReport {
  /** `[major, minor]` of the running kernel */
  kernel: [number, number];
  vendor?: string;
  /** `cpu family` from /proc/cpuinfo (decimal) */
  family?: number;
  spectre_v2?: string | null;
  retbleed?: string | null;
  spec_rstack_overflow?: string | null;
  indirect_target_selection?: string | null;
}

/** Names of the kernel's return thunks (as in kallsyms). */
export type ReturnThunk =
  | 'retbleed_return_thunk'
  | 'call_depth_return_thunk'
  | 'srso_return_thunk'
  | 'srso_alias_return_thunk'
  | 'its_return_thunk';

export interface MitigationChoice {
  indirect_jump: IndirectJump;
  /** the thunk a `retpoline` or `its-thunk` indirect jump goes to (kallsyms name) */
  indirect_thunk?: string;
  /** X86_FEATURE_RETHUNK: returns jump to `return_thunk` */
  rethunk: boolean;
  /**
   * the thunk `x86_return_thunk` points at; a list when the report cannot tell
   * which (SRSO without the CPU family): its address is then read from the image
   */
  return_thunk?: ReturnThunk | ReturnThunk[];
  /** X86_FEATURE_CALL_DEPTH: call-depth accounting before every BPF_CALL */
  call_depth: boolean;
  /** one line per decision, naming the report line it came from */
  reasons: string[];
}

/** The spectre_v2 mode: the line's first field ("Mitigation: Retpolines; STIBP: …" -> "Mitigation: Retpolines"). */
function spectreV2Mode(line: string): string {
  return line.split(/[;,]/)[0].trim();
}

export function selectMitigations(r: CpuReport): MitigationChoice {
  const reasons: string[] = [];
  const sv2 = r.spectre_v2 ?? undefined;
  let retpoline = false;
  let lfence = false;
  if (sv2 !== undefined) {
    const mode = spectreV2Mode(sv2);
    // "Mitigation: LFENCE", "… IBRS + LFENCE"; before v5.17 "Full AMD retpoline" was the lfence form
    lfence = /LFENCE|AMD retpoline/i.test(mode) && !/^Vulnerable/.test(mode);
    retpoline = lfence || (/retpoline/i.test(mode) && !/^Vulnerable/.test(mode));
    reasons.push(`spectre_v2 "${mode}": ${lfence ? 'RETPOLINE_LFENCE' : retpoline ? 'RETPOLINE' : 'no retpoline'}`);
  }
  let rethunk = false;
  let thunk: ReturnThunk | ReturnThunk[] | undefined;
  let callDepth = false;
  let itsThunk = false;
  const set = (t: ReturnThunk | ReturnThunk[], why: string) => {
    rethunk = true;
    thunk = t;
    reasons.push(`${why}: RETHUNK, x86_return_thunk=${Array.isArray(t) ? t.join('|') : t}`);
  };

  const rb = r.retbleed ?? '';
  if (/^Mitigation: untrained return thunk/i.test(rb)) set('retbleed_return_thunk', `retbleed "${rb}"`);
  else if (/^Mitigation: Stuffing/i.test(rb)) {
    set('call_depth_return_thunk', `retbleed "${rb}"`);
    callDepth = true;
  }

  const srso = r.spec_rstack_overflow ?? '';
  if (/Safe RET/i.test(srso)) {
    if (r.family === undefined) set(['srso_return_thunk', 'srso_alias_return_thunk'], `spec_rstack_overflow "${srso}" (cpu family not recorded: 0x19 takes the alias thunk)`);
    else set(r.family === 0x19 ? 'srso_alias_return_thunk' : 'srso_return_thunk', `spec_rstack_overflow "${srso}", family 0x${r.family.toString(16)}`);
  }

  const its = r.indirect_target_selection ?? '';
  if (/^Mitigation: Aligned branch\/return thunks/i.test(its)) {
    itsThunk = !retpoline;
    set('its_return_thunk', `indirect_target_selection "${its}"`);
    if (itsThunk) reasons.push('indirect_target_selection without retpolines: INDIRECT_THUNK_ITS');
  } else if (/^Mitigation: Retpolines, Stuffing RSB/i.test(its)) {
    set('call_depth_return_thunk', `indirect_target_selection "${its}"`);
    callDepth = true;
  }
  if (callDepth) reasons.push('CALL_DEPTH: call-depth accounting before each call');

  const indirect_jump: IndirectJump = itsThunk ? 'its-thunk' : lfence ? 'retpoline-lfence' : retpoline ? 'retpoline' : 'plain';
  const indirect_thunk =
    indirect_jump === 'its-thunk' ? '__x86_indirect_its_thunk_rcx' : indirect_jump === 'retpoline' ? (callDepth ? '__x86_indirect_jump_thunk_rcx' : '__x86_indirect_thunk_rcx') : undefined;
  return { indirect_jump, ...(indirect_thunk ? { indirect_thunk } : {}), rethunk, ...(thunk !== undefined ? { return_thunk: thunk } : {}), call_depth: callDepth, reasons };
}
