/** The typed model layer (src/model/): packing, actions, and a model's fast paths agreeing with its definition. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTailcallPoke } from '../models/tailcall-poke.js';
import { checkViolationsAgree, defineActions, defineLayout, LayoutError, type TypedModel } from '../src/model/index.js';

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
  it('refuses a record that does not fit and a field wider than a word', () => {
    expect(() => defineLayout({ shared: {}, cpus: { count: 2, bits: 8, fields: { q: 6, m: [1, 3] } } })).toThrow(LayoutError);
    expect(() => defineLayout({ shared: { a: 33 } })).toThrow(LayoutError);
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
  for (const protocol of ['v5.10', 'no-sync', 'bypass-first', 'rfc']) {
    it(`${protocol}: the fused violations agree with the property predicates in every reachable state (N=2)`, () => {
      const m = buildTailcallPoke({ protocol, cpus: 2, options: {} }) as TypedModel;
      const states = reachable(m);
      expect(states.length).toBeGreaterThan(100);
      for (const s of states) expect(checkViolationsAgree(m.parts, s)).toBe(true);
    });
  }
  it('describes steps through typed actions', () => {
    const m = buildTailcallPoke({ protocol: 'v5.10', cpus: 2, options: {} }) as TypedModel;
    expect(m.actions.kinds.map((k) => [k.actor, k.count])).toEqual([['cpu', 2], ['updater', 1], ['rcu', 3]]);
    const s = new Int32Array(m.system.width);
    m.system.initial(s);
    const next = new Int32Array(m.system.width);
    const acts: string[] = [];
    m.system.expand(s, next, (a) => acts.push(m.describe(s, next, a).actor));
    expect(acts).toEqual(['cpu0', 'cpu1', 'updater']);
  });
});
