/** The typed model layer (src/model/): packing, actions, and a model's fast paths agreeing with its definition. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import { checkExpandAgrees, checkViolationsAgree, defineActions, defineLayout, GracePeriod, LayoutError, type TypedModel } from '../src/model/index.js';

describe('defineLayout', () => {
  it('packs shared fields in declaration order without straddling a word', () => {
    const L = defineLayout({ shared: { a: 12, b: 8, c: 4, d: 16, e: [2, 3] } });
    expect([L.shared.a, L.shared.b, L.shared.c, L.shared.d].map((f) => [f.word, f.shift])).toEqual([[0, 0], [0, 12], [0, 20], [1, 0]]);
    // d (16 bits) fills word 1 to bit 16, then e[0..2] follow it
    expect(L.shared.e.fields.map((f) => [f.word, f.shift])).toEqual([[1, 16], [1, 18], [1, 20]]);
    expect(L.width).toBe(2);
  });
  it('keeps every field independent of the others (random values round-trip)', () => {
    const L = defineLayout({ shared: { a: 3, b: 17, c: 32, d: [5, 4] }, cpus: { count: 5, bits: 16, fields: { q: 6, m: [1, 3], r: 7 } } });
    const fields = [L.shared.a, L.shared.b, L.shared.c, ...L.shared.d.fields];
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: fields.length, maxLength: fields.length }), fc.array(fc.nat(), { minLength: 25, maxLength: 25 }), (vs, cs) => {
        const s = new Int32Array(L.width);
        fields.forEach((f, i) => f.set(s, vs[i]));
        const cpuFields = [L.cpu.q, ...L.cpu.m.fields, L.cpu.r];
        for (let i = 0; i < 5; i++) cpuFields.forEach((f, j) => f.set(s, i, cs[i * 5 + j]));
        fields.forEach((f, i) => expect(f.get(s)).toBe(vs[i] & f.max));
        for (let i = 0; i < 5; i++) cpuFields.forEach((f, j) => expect(f.get(s, i)).toBe(cs[i * 5 + j] & f.mask));
      }),
    );
  });
  it('puts the CPU records after the shared words and says which bits each CPU owns', () => {
    const L = defineLayout({ shared: { x: 8 }, cpus: { count: 3, bits: 16, fields: { q: 4, sync: 1 } } });
    expect(L.width).toBe(1 + 2);
    expect(Array.from(L.cpuOwned(0))).toEqual([0, 0xffff, 0]);
    expect(Array.from(L.cpuOwned(1))).toEqual([0, 0xffff0000 | 0, 0]);
    expect(Array.from(L.cpuOwned(2))).toEqual([0, 0, 0xffff]);
    const s = new Int32Array(L.width);
    expect(L.cpu.sync.any(s)).toBe(false);
    L.cpu.sync.set(s, 2, 1);
    expect(L.cpu.sync.any(s)).toBe(true);
  });
  it('builds a record field by field with `with` (what `of` reads back), leaving the other fields alone', () => {
    const L = defineLayout({ shared: {}, cpus: { count: 2, bits: 32, fields: { q: 4, m: [1, 3], buf: 16 } } });
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), (r, q, buf) => {
        const rec = L.cpu.buf.with(L.cpu.q.with(r, q), buf);
        expect(L.cpu.q.of(rec)).toBe(q & 0xf);
        expect(L.cpu.buf.of(rec)).toBe(buf & 0xffff);
        for (const f of L.cpu.m.fields) expect(f.of(rec)).toBe(f.of(r));
      }),
    );
  });
  it('refuses a record that does not fit and a field wider than a word', () => {
    expect(() => defineLayout({ shared: {}, cpus: { count: 2, bits: 8, fields: { q: 6, m: [1, 3] } } })).toThrow(LayoutError);
    expect(() => defineLayout({ shared: { a: 33 } })).toThrow(LayoutError);
  });
});

describe('GracePeriod', () => {
  const L = defineLayout({ shared: {}, cpus: { count: 2, bits: 16, fields: { q: 2, sync: 1, holds: [1, 2], other: 3 } } });
  const reader = [false, true, true, false];
  const rec = (q: number, other: number) => L.cpu.other.with(L.cpu.holds.fields[1].with(L.cpu.sync.with(L.cpu.q.with(0, q), 1), 1), other);
  it('by default clears every field but the state when a CPU leaves the read side', () => {
    const gp = new GracePeriod(L, L.cpu.q, reader);
    expect(gp.moved(rec(1, 5), 1, 0)).toBe(L.cpu.q.with(0, 0));
    expect(gp.moved(rec(1, 5), 1, 2)).toBe(rec(2, 5));
  });
  it('with marks given, clears only the marks (a record that holds more keeps it)', () => {
    const gp = new GracePeriod(L, L.cpu.q, reader, [L.cpu.sync, L.cpu.holds]);
    expect(gp.moved(rec(1, 5), 1, 3)).toBe(L.cpu.other.with(L.cpu.q.with(0, 3), 5));
    expect(gp.moved(rec(1, 5), 1, 2)).toBe(rec(2, 5));
    expect(gp.moved(rec(3, 5), 3, 0)).toBe(rec(0, 5)); // not a reader before: nothing to leave
  });
});

describe('defineLayout: 64-bit values, byte areas and actor records', () => {
  it('gives u64 values and byte areas whole words of their own, after the bit fields', () => {
    const L = defineLayout({ shared: { phase: 2, count: 8, regs: ['u64', 2], rip: 'u64', cf: 1, stack: { bytes: 8 } } });
    expect([L.shared.regs.fields[0].word, L.shared.regs.fields[1].word, L.shared.rip.word]).toEqual([1, 3, 5]);
    expect([L.shared.cf.word, L.shared.cf.shift, L.shared.stack.word]).toEqual([7, 0, 8]);
    expect(L.width).toBe(10);
    const s = new Int32Array(L.width);
    L.shared.regs.set(s, 1, 0xffffc90000003ff8n);
    L.shared.rip.set(s, 0x8000000000000001n);
    L.shared.count.set(s, 200);
    L.shared.stack.write(s, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(L.shared.regs.get(s, 1)).toBe(0xffffc90000003ff8n);
    expect(L.shared.regs.get(s, 0)).toBe(0n);
    expect(L.shared.rip.get(s)).toBe(0x8000000000000001n);
    expect(L.shared.count.get(s)).toBe(200);
    expect(Array.from(L.shared.stack.read(s))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // a byte area read from a state that is a view into a larger buffer reads that state's bytes
    const big = new Int32Array(3 * L.width);
    big.set(s, L.width);
    expect(Array.from(L.shared.stack.read(big.subarray(L.width, 2 * L.width)))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => L.shared.stack.write(s, new Uint8Array(4))).toThrow(LayoutError);
    expect(() => defineLayout({ shared: { stack: { bytes: 6 } } })).toThrow(LayoutError);
  });
  it('packs records of several words after the shared words, fields never straddling a word', () => {
    const L = defineLayout({ shared: { active: 32, old: 8 }, records: { count: 4, words: 2, fields: { q: 8, flags: [1, 4], w9: 32 } } });
    expect(L.width).toBe(2 + 4 * 2);
    expect([L.record.q.word, L.record.q.shift, L.record.flags.fields[3].shift, L.record.w9.word, L.record.w9.shift]).toEqual([0, 0, 11, 1, 0]);
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 24, maxLength: 24 }), (vs) => {
        const s = new Int32Array(L.width);
        const fields = [L.record.q, ...L.record.flags.fields, L.record.w9];
        for (let r = 0; r < 4; r++) fields.forEach((f, j) => f.set(s, r, vs[r * 6 + j]));
        for (let r = 0; r < 4; r++) fields.forEach((f, j) => expect(f.get(s, r)).toBe(vs[r * 6 + j] & f.mask));
        expect(s[0] | s[1]).toBe(0);
      }),
    );
    expect(() => defineLayout({ shared: {}, records: { count: 2, words: 1, fields: { a: 20, b: 20 } } })).toThrow(LayoutError);
  });
  it('sorts a range of records as words (the symmetry of interchangeable actors among others)', () => {
    const L = defineLayout({ shared: { x: 8 }, records: { count: 4, words: 2, fields: { q: 8, w9: 32 } } });
    const s = new Int32Array(L.width);
    [[3, 1], [2, 7], [2, -1], [0, 0]].forEach(([q, w], r) => {
      L.record.q.set(s, r, q);
      L.record.w9.set(s, r, w);
    });
    L.records!.sort(s, 0, 3);
    // records 0..2 in order (q, then w9 as a signed word); record 3 untouched
    expect([0, 1, 2, 3].map((r) => [L.record.q.get(s, r), L.record.w9.get(s, r)])).toEqual([[2, -1], [2, 7], [3, 1], [0, 0]]);
    expect(() => L.records!.sort(s, 2, 3)).toThrow(LayoutError);
  });
});

describe('defineActions', () => {
  it('numbers kinds consecutively and decodes back', () => {
    const A = defineActions({ cpu: 3, updater: 1, rcu: 2 });
    expect(A.code('cpu', 2)).toBe(2);
    expect(A.code('updater')).toBe(3);
    expect(A.code('rcu', 1)).toBe(5);
    expect(A.decode(4)).toEqual({ actor: 'rcu', i: 0 });
    expect([0, 3, 5].map((c) => A.label(c))).toEqual(['cpu0', 'updater', 'rcu1']);
    expect(() => A.code('cpu', 3)).toThrow();
  });
});

/** Every reachable state of a small configuration, by a plain breadth-first search. */
function reachable(m: TypedModel, limit = 200_000): Int32Array[] {
  const sys = m.system;
  const init = new Int32Array(sys.width);
  sys.initial(init);
  const seen = new Set([init.join(',')]);
  const queue = [init];
  const next = new Int32Array(sys.width);
  for (let h = 0; h < queue.length && queue.length < limit; h++) {
    sys.expand(queue[h], next, () => {
      const k = next.join(',');
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(next.slice());
      }
    });
  }
  return queue;
}

describe('tailcall-poke on the layer', () => {
  for (const [protocol, options] of [
    ['v5.10', { script: 'install f1; update f2; remove; install f3' }],
    ['no-sync', { script: 'install f1; update f2; remove; install f3' }],
    ['v5.10', {}],
    ['bypass-first', { progs: '2' }],
  ] as const) {
    it(`${protocol} ${JSON.stringify(options)}: the hand-tuned expand gives the steps' successors and actions in every reachable state (N=2)`, () => {
      const m = buildTailcallPoke({ protocol, cpus: 2, options }) as TypedModel;
      expect(m.parts.expandFast).toBeDefined();
      const states = reachable(m, 60_000);
      expect(states.length).toBeGreaterThan(100);
      for (const s of states) expect(checkExpandAgrees(m, s)).toBe(true);
    });
  }
  for (const protocol of ['v5.10', 'no-sync', 'bypass-first', 'rfc']) {
    it(`${protocol}: the fused violations agree with the property predicates in every reachable state (N=2)`, () => {
      const m = buildTailcallPoke({ protocol, cpus: 2, options: {} }) as TypedModel;
      const states = reachable(m);
      expect(states.length).toBeGreaterThan(100);
      for (const s of states) expect(checkViolationsAgree(m.parts, s)).toBe(true);
    });
  }
  it('describes steps through typed actions', () => {
    const m = buildTailcallPoke({ protocol: 'v5.10', cpus: 2, options: { script: 'install f1; update f2; remove; install f3' } }) as TypedModel;
    expect(m.actions.kinds.map((k) => [k.actor, k.count])).toEqual([['cpu', 2], ['updater', 1], ['rcu', 3]]);
    const s = new Int32Array(m.system.width);
    m.system.initial(s);
    const next = new Int32Array(m.system.width);
    const acts: string[] = [];
    m.system.expand(s, next, (a) => acts.push(m.describe(s, next, a).actor));
    expect(acts).toEqual(['cpu0', 'cpu1', 'updater']);
  });
  it('prints an RCU free as the rcu actor, as the hand-packed model did (not rcu0, rcu1, ...)', () => {
    const m = buildTailcallPoke({ protocol: 'v5.10', cpus: 1, options: {} }) as TypedModel;
    const next = new Int32Array(m.system.width);
    const frees = reachable(m).flatMap((s) => {
      const out: { actor: string; action: string }[] = [];
      m.system.expand(s, next, (a) => {
        if (m.actions.decode(a).actor === 'rcu') out.push(m.describe(s, next, a));
      });
      return out;
    });
    expect(frees.length).toBeGreaterThan(0);
    for (const f of frees) expect(f).toMatchObject({ actor: 'rcu', action: expect.stringMatching(/^grace period over: frees f[123]$/) });
  });
});
