/**
 * Byte-level poking (docs/reference-verdicts.md section 3, docs/kernel-facts.md 4):
 * text_poke_bp's steps, the int3 emulation, and `tailcall-poke --level byte`.
 * Expected bytes come from the real kernel's images (test/fixtures/oracle);
 * expected verdicts from the reference: text_poke_bp holds, memcpy breaks P5.
 */
import { describe, expect, it } from 'vitest';
import { tailcallPoke } from '../models/tailcall-poke.js';
import { buildTailcallPokeByte } from '../models/tailcall-poke-byte.js';
import { explore } from '../src/concurrency/explorer.js';
import type { CpuField } from '../src/model/index.js';
import { runCheck } from '../src/check/result.js';
import { ModelConfigError } from '../src/concurrency/model.js';
import { TextMemory } from '../src/poke/text.js';
import { memcpy_poke_steps, smp_text_poke_int3_emulate, text_poke_bp, text_poke_bp_steps, TextPokeBug } from '../src/poke/text_poke_bp.js';
import { cli } from './helpers/cli.js';
import { loadOracle, unhex } from './helpers/oracle.js';

const initial = loadOracle('caller_d0', 'a_initial');
const installed = loadOracle('caller_d0', 'b_install_t1');
const BYPASS = BigInt(initial.tail_call_sites[0].bypass!.address);
const TARGET = BigInt(initial.tail_call_sites[0].poke!.address);
const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
/** Every 5-byte instruction the real kernel had at caller_d0's two sites over the oracle's steps. */
const KERNEL_SITE_BYTES = new Set(
  ['a_initial', 'b_install_t1', 'c_replace_t2', 'd_delete', 'e_reinstall_t1', 'f_replace_t3'].flatMap((step) => {
    const f = loadOracle('caller_d0', step);
    return [f.tail_call_sites[0].bypass!.bytes, f.tail_call_sites[0].poke!.bytes].map((b) => hex(unhex(b)));
  }),
);

describe('text_poke_bp as the kernel orders it (docs/kernel-facts.md 4)', () => {
  it('int3 at byte 0, sync, bytes 1..4, sync, byte 0, sync, then the refs drop', () => {
    const order = text_poke_bp_steps(5).map((s) => (s.op === 'write' ? `${s.byte}@${s.offset}` : s.op));
    expect(order).toEqual([
      'refs_set',
      'int3@0', 'sync', 'sync_wait',
      'new@1', 'new@2', 'new@3', 'new@4', 'sync', 'sync_wait',
      'new@0', 'sync', 'sync_wait',
      'refs_drop',
    ]);
  });

  it('memcpy writes bytes 0..4 in order with no int3 and no sync', () => {
    expect(memcpy_poke_steps(5).map((s) => (s.op === 'write' ? `${s.byte}@${s.offset}` : s.op))).toEqual(['new@0', 'new@1', 'new@2', 'new@3', 'new@4']);
  });

  it('sequentially leaves the new bytes the real kernel had (nop5 -> jmp target1), syncing three times', () => {
    const text = new TextMemory();
    text.map('caller_d0', BigInt(initial.image_address), unhex(initial.bytes));
    let syncs = 0;
    text_poke_bp(text, TARGET, unhex(installed.tail_call_sites[0].poke!.bytes), () => syncs++);
    expect(hex(text.read(TARGET, 5))).toBe(hex(unhex(installed.tail_call_sites[0].poke!.bytes)));
    expect(syncs).toBe(3);
  });

  it('the int3 handler emulates the NEW instruction: a jmp goes to its target, nop5 to addr + 5', () => {
    const jmp = unhex(installed.tail_call_sites[0].poke!.bytes);
    expect(smp_text_poke_int3_emulate(TARGET, jmp)).toBe(BigInt(installed.tail_call_sites[0].poke!.jump_target!));
    expect(smp_text_poke_int3_emulate(BYPASS, [0x0f, 0x1f, 0x44, 0x00, 0x00])).toBe(BYPASS + 5n);
  });

  it('refuses a 5-byte nop other than x86_nops[5] (the kernel BUGs in __smp_text_poke_batch_add)', () => {
    expect(() => smp_text_poke_int3_emulate(TARGET, [0x66, 0x0f, 0x1f, 0x40, 0x00])).toThrow(TextPokeBug);
  });
});

describe('tailcall-poke --level byte', () => {
  it('text_poke_bp: P1-P5 hold at 2 CPUs (complete search)', () => {
    const r = runCheck(tailcallPoke.build({ protocol: 'v5.10', cpus: 2, options: { level: 'byte' } }));
    expect(r.verdict).toBe('holds');
    expect(r.properties.map((p) => `${p.id} ${p.status}`)).toEqual(['P1 holds', 'P2 holds', 'P3 holds', 'P4 holds', 'P5 holds']);
    expect(r.config).toMatchObject({ level: 'byte', poke: 'text_poke_bp' });
  });

  it('memcpy: P5 is violated; the last step executes torn bytes that no kernel state ever had at the site', async () => {
    const r = await cli('check', 'tailcall-poke', '--level', 'byte', '--poke', 'memcpy', '--cpus', '2');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/P5 violated/);
    const steps = r.out.filter((l) => /^\s+\d+\. /.test(l));
    const last = steps[steps.length - 1];
    const m = /executes TORN bytes \[([0-9a-f ]+)\] = (.+): neither the old nor the new instruction/.exec(last);
    expect(m, last).not.toBeNull();
    const torn = m![1];
    expect(KERNEL_SITE_BYTES.has(torn)).toBe(false);
    expect(KERNEL_SITE_BYTES.size).toBeGreaterThanOrEqual(4);
    // What they decode to is printed: a jump somewhere else, another instruction, or why they do not decode.
    expect(m![2]).toMatch(/^(jmp|nop|not an instruction the JIT emits|\w+)/);
    // Some memcpy byte write precedes it; every instruction executed before it was a legitimate one.
    expect(steps.some((l) => /memcpy: byte \d = new\[\d\]/.test(l))).toBe(true);
    const execs = steps.map((l) => /executes (?:TORN bytes )?.*?\[([0-9a-f ]+)\]/.exec(l)?.[1]).filter((x): x is string => !!x);
    expect(execs.slice(0, -1).every((b) => KERNEL_SITE_BYTES.has(b))).toBe(true);
    expect(execs[execs.length - 1]).toBe(torn);
  });

  it('still finds the instruction-level bugs: no-sync breaks P1 through text_poke_bp (1 CPU)', () => {
    const r = runCheck(tailcallPoke.build({ protocol: 'no-sync', cpus: 1, options: { level: 'byte' } }));
    expect(r.properties.find((p) => p.id === 'P1')!.status).toBe('violated');
    expect(r.properties.find((p) => p.id === 'P5')!.status).toBe('holds');
  });

  it('a CPU at an instruction boundary with the sync IPI pending has two moves: its next step, and taking the IPI', () => {
    const m = buildTailcallPokeByte({ protocol: 'v5.10', cpus: 2, options: { level: 'byte' } });
    expect(m.actions.kinds.map((k) => [k.actor, k.count])).toEqual([['cpu', 2], ['updater', 1], ['rcu', 3]]);
    const ipi = m.layout.cpu.ipi as CpuField;
    const r = explore(m.system);
    expect(r.complete).toBe(true);
    const s = new Int32Array(m.system.width);
    const next = new Int32Array(m.system.width);
    let both = 0;
    for (let i = 0; i < r.states && both < 50; i++) {
      r.store.read(i, s);
      if (!ipi.get(s, 0)) continue;
      const moves: { taken: boolean; text: string }[] = [];
      m.system.expand(s, next, (code) => {
        const a = m.actions.decode(code);
        if (a.actor === 'cpu' && a.i === 0) moves.push({ taken: ipi.get(next, 0) === 0, text: m.describe(s, next, code).action });
      });
      if (moves.length < 2) continue;
      both++;
      expect(moves.map((x) => x.taken)).toEqual([false, true]);
      expect(moves[1].text).toMatch(/takes the text_poke_bp sync IPI at an instruction boundary/);
      expect(moves[0].text).not.toMatch(/IPI/);
    }
    expect(both).toBeGreaterThan(0);
  });

  it('hands out its actors\' machines: the executor, the byte fetch and the updater', () => {
    const m = buildTailcallPokeByte({ protocol: 'v5.10', cpus: 2, options: { level: 'byte', poke: 'memcpy' } });
    expect(m.actorMachines!().map((a) => a.name)).toEqual(['cpu', 'fetch', 'updater']);
  });

  it('rejects --poke at the instruction level, and unknown levels', () => {
    expect(() => tailcallPoke.build({ protocol: 'v5.10', cpus: 2, options: { poke: 'memcpy' } })).toThrow(ModelConfigError);
    expect(() => tailcallPoke.build({ protocol: 'v5.10', cpus: 2, options: { level: 'bits' } })).toThrow(ModelConfigError);
  });

  it('exit 2 for --poke without --level byte, one line on stderr', async () => {
    const r = await cli('check', 'tailcall-poke', '--poke', 'memcpy');
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
  });
});
