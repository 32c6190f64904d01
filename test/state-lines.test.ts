/**
 * State lines (a model's `summary`: the CLI's "final state", the report's step panels, SARIF's
 * thread-flow states) say what each actor is doing in kernel terms, never the name of a compiled
 * machine state (`updater=op2_delete/old_f2/bpf_prog_put`, `patcher=poke0/check`, `s5_copy_begin`).
 */
import { describe, expect, it } from 'vitest';
import { MODELS, findModel } from '../models/index.js';
import { runCheck } from '../src/check/result.js';
import { updaterStateText } from '../src/model/state-text.js';

/** Names of compiled machine states and the old `key=value` actor tokens. */
const INTERNAL = [/\bop\d+_/, /\bold_f\d/, /_poke_tailcall/, /\bpoke\d+\//, /\bs\d+_[a-z]/, /\b(cpu|task|thread|updater|patcher|loader)\d*=/, /\[gp\b/, /\bf\d:(live|dying|freed)/, /\b(get|put)_\d\b/, /\bin_prog\(/, /\bfell_through\b/, /\buser_space\b/];

/** Summaries along a few pseudo-random walks from the initial state (every successor's line, 60 steps deep). */
function walkLines(def: (typeof MODELS)[number], ref: (typeof MODELS)[number]['reference'][number]): string[] {
  const m = def.build({ protocol: ref.protocol, cpus: Math.min(ref.cpus, 2), options: ref.options ?? {} });
  const w = m.system.width;
  const lines: string[] = [];
  let seed = 7;
  for (let walk = 0; walk < 4; walk++) {
    let s = new Int32Array(w);
    m.system.initial(s);
    lines.push(m.summary(s));
    for (let d = 0; d < 60; d++) {
      const succ: Int32Array[] = [];
      const next = new Int32Array(w);
      m.system.expand(s, next, () => succ.push(next.slice()));
      if (!succ.length) break;
      for (const x of succ) lines.push(m.summary(x));
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s = succ[seed % succ.length];
    }
  }
  return lines;
}

describe('state lines in kernel terms', () => {
  for (const def of MODELS) {
    for (const ref of def.reference.filter((r) => !r.every)) {
      it(`${def.name} --protocol ${ref.protocol} ${JSON.stringify(ref.options ?? {})}: no internal state names`, () => {
        for (const line of walkLines(def, ref)) for (const re of INTERNAL) expect(line, line).not.toMatch(re);
      });
    }
  }

  it("tailcall-poke no-sync: the counterexample ends with the remove's pokes done and bpf_prog_put(old) next, a CPU run out on an unwound frame", () => {
    // ebf7d1f508a7's remove without the synchronize_rcu(): fd_array_map_delete_elem's xchg, the bypass back
    // to the jump out, the target back to the nop, then bpf_prog_put(old) (map_fd_put_ptr)
    const r = runCheck(findModel('tailcall-poke')!.build({ protocol: 'no-sync', cpus: 2, options: {} }));
    const last = r.counterexamples[0].steps.at(-1)!.state;
    expect(last).toMatch(/^site C; ptrs\[0\]=NULL; /);
    expect(last).toMatch(/cpu\d: fell through the target nop on an unwound frame/);
    expect(last).toMatch(/updater: map_delete_elem\(key 0\), old f1: next bpf_prog_put\(f1\)$/);
    const states = r.counterexamples[0].steps.map((s) => s.state);
    expect(states).toContainEqual(expect.stringMatching(/updater: map_delete_elem\(key 0\), old f1: next bpf_arch_text_poke\(tailcall_bypass, nop -> jmp out\)$/));
    expect(states).toContainEqual(expect.stringMatching(/updater: map_delete_elem\(key 0\), old f1: next bpf_arch_text_poke\(tailcall_target, jmp f1 -> nop\)$/));
  });

  it('names a poke by what it leaves at the site, and a step inside a byte-level poke', () => {
    const poke = {
      op: 'poke',
      opIndex: 1,
      key: 0,
      step: { kind: 'poke', site: 'tailcall_target', old_addr: 'old', new_addr: 'new', via: 'bpf_arch_text_poke' },
      old_prog: 1,
      new_prog: 2,
      old_addr: 'f1+off',
      new_addr: 'f2+off',
      doc: '',
    } as const;
    expect(updaterStateText('op1_update_f2/old_f1/0_poke_tailcall_target', poke as never)).toBe('map_update_elem(key 0, f2), old f1: next bpf_arch_text_poke(tailcall_target, jmp f1 -> jmp f2)');
    expect(updaterStateText('op1_update_f2/old_f1/0_poke_tailcall_target', poke as never, undefined, { inPoke: 'next write 2 of 6: x' })).toBe(
      'map_update_elem(key 0, f2), old f1: in bpf_arch_text_poke(tailcall_target, jmp f1 -> jmp f2), next write 2 of 6: x',
    );
    expect(updaterStateText('delete/old_f0/1_synchronize_rcu/wait', { op: 'sync_wait', opIndex: 0, old_prog: 0, doc: '' })).toBe('map_delete_elem(key 0), old NULL: in synchronize_rcu(), waiting for the readers it started with');
  });
});
