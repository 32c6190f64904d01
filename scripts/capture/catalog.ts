/**
 * What each capture program (scripts/capture/progs/*.bpf.c) is, and what
 * its test run must return for a given jmp_table. Programs not listed here
 * (a user's own) still get fixtures; their expected_retval is then null.
 */

export interface ProgramInfo {
  description: string;
  /** the tail calls in program order: a constant key, or 'mark' (skb->mark, 0 in test_run) */
  keys: (number | 'mark')[];
  fallThrough: number;
  /** what the program returns when a tail call to a target returning r happens */
  viaTarget?: (r: number) => number;
  viaTargetNote?: string;
}

export const PROGRAMS: Record<string, ProgramInfo> = {
  target1: { description: 'tail-call target, returns 1, stack 0', keys: [], fallThrough: 1 },
  target2: { description: 'tail-call target, returns 2, stack 0', keys: [], fallThrough: 2 },
  target3: { description: 'tail-call target, returns 3, stack 32 bytes', keys: [], fallThrough: 3 },
  caller_d0: { description: 'bpf_tail_call(skb, &jmp_table, 0); return 100;  stack 0, no callee-saved regs', keys: [0], fallThrough: 100 },
  caller_sd8: { description: 'stack depth 8 (one volatile u64), direct tail call key 0, fall-through 100', keys: [0], fallThrough: 100 },
  caller_sd64: { description: 'stack depth 64 (volatile u64[8]), direct tail call key 0, fall-through 100', keys: [0], fallThrough: 100 },
  caller_two: { description: 'two direct sites: key 0 then key 1, fall-through 101', keys: [0, 1], fallThrough: 101 },
  caller_ind: {
    description: 'indirect tail call, key = skb->mark (0 at run time, unknown to the verifier), fall-through 102',
    keys: ['mark'],
    fallThrough: 102,
  },
  caller_regs: {
    description: 'callee-saved r6-r9 (rbx, r13, r14, r15) live across a direct tail call (key 0); the site pops them before the jump; fall-through 103',
    keys: [0],
    fallThrough: 103,
  },
  caller_sub: {
    description:
      'direct tail call (key 0) inside a BPF-to-BPF subprogram sub_tail (prologue nop2; keeps ctx in rbx); main returns sub_tail()+100, fall-through 104',
    keys: [0],
    fallThrough: 104,
    viaTarget: (r) => r + 100,
    viaTargetNote: '+100 added by the main program after the subprogram returns',
  },
  caller_ind_regs: {
    description: 'indirect tail call (key = skb->mark) with rbx and r13 live across it and an 8-byte stack, fall-through 105',
    keys: ['mark'],
    fallThrough: 105,
  },
  caller_prepop: {
    description:
      'two direct sites (keys 0 and 1), loaded while jmp_table[0] and jmp_table[1] are already populated: the JIT-end fixup (bpf_tail_call_direct_fixup) installs both before the program is published; fall-through 106',
    keys: [0, 1],
    fallThrough: 106,
  },
};

/** Expected test_run result from the map state (slot -> target name) and the targets' return values. */
export function expectedRun(
  prog: string,
  slots: Map<number, string>,
  targetReturns: Map<string, number>,
): { expected: number | null; explainedBy: string } {
  const info = PROGRAMS[prog];
  if (!info) return { expected: null, explainedBy: 'unknown (program not in the capture catalog)' };
  for (const [i, k] of info.keys.entries()) {
    const key = k === 'mark' ? 0 : k;
    const t = slots.get(key);
    if (t === undefined) continue;
    const via = i > 0 ? ` (via key ${key})` : '';
    const r = targetReturns.get(t);
    if (r === undefined) return { expected: null, explainedBy: `${t}${via} (return value unknown)` };
    return info.viaTarget
      ? { expected: info.viaTarget(r), explainedBy: `${t}${via} (${info.viaTargetNote ?? 'adjusted'})` }
      : { expected: r, explainedBy: `${t}${via}` };
  }
  return { expected: info.fallThrough, explainedBy: info.keys.length === 0 ? prog : 'fall-through' };
}
