/** StateStore, the explorer's visited set, against a plain Map as the model of what it must do. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashWords, StateStore } from '../src/concurrency/state-store.js';

const key = (a: Int32Array | number[]): string => Array.from(a).join(',');

/** States of `width` words drawn from a small domain, so that repeats are common. */
const statesOf = (width: number, max: number) =>
  fc.array(fc.array(fc.integer({ min: -3, max: 3 }).map((x) => (x === 3 ? 0x7fffffff : x === -3 ? -0x80000000 : x)), { minLength: width, maxLength: width }), {
    maxLength: max,
  });

describe('StateStore against a Map', () => {
  it('insert: new states get consecutive indices, repeats return -1 - index; read, parent and action give back what was stored', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((w) => fc.tuple(fc.constant(w), statesOf(w, 400))),
        ([w, states]) => {
          const store = new StateStore(w, 16);
          const ref = new Map<string, number>();
          const parents: number[] = [];
          states.forEach((s, i) => {
            const buf = Int32Array.from([9, ...s]); // at offset 1
            const r = store.insert(buf, 1, i - 1, i % 7);
            const k = key(s);
            const known = ref.get(k);
            if (known === undefined) {
              expect(r).toBe(ref.size);
              ref.set(k, r);
              parents.push(i - 1);
            } else {
              expect(r).toBe(-1 - known);
            }
            expect(store.size).toBe(ref.size);
          });
          const out = new Int32Array(w);
          for (const [k, idx] of ref) {
            store.read(idx, out);
            expect(key(out)).toBe(k);
            expect(store.find(Int32Array.from(k.split(',').map(Number)))).toBe(idx);
            expect(store.parent(idx)).toBe(parents[idx]);
          }
          expect(store.find(Int32Array.from({ length: w }, () => 12345))).toBe(-1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('insertBatch gives exactly the results of inserting one by one, in order, duplicates within a batch included (hashed or not, with or without the recent-lookups cache)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(fc.constant(w), fc.array(statesOf(w, 300), { minLength: 1, maxLength: 6 }))),
        fc.boolean(),
        fc.boolean(),
        ([w, batches], hashed, recent) => {
          const one = new StateStore(w, 16);
          const batched = new StateStore(w, 16);
          for (const batch of batches) {
            const n = batch.length;
            const src = Int32Array.from(batch.flat());
            const parents = Int32Array.from(batch.map((_, j) => j * 3));
            const actions = Int32Array.from(batch.map((_, j) => j % 5));
            const out = new Int32Array(n);
            const hashes = Int32Array.from({ length: n }, (_, j) => (hashed ? hashWords(src, j * w, w) : 0));
            batched.insertBatch(src, n, parents, actions, hashes, out, hashed, recent);
            for (let j = 0; j < n; j++) expect(out[j]).toBe(one.insert(src, j * w, parents[j], actions[j]));
          }
          expect(batched.size).toBe(one.size);
          const a = new Int32Array(w);
          const b = new Int32Array(w);
          for (let i = 0; i < one.size; i++) {
            one.read(i, a);
            batched.read(i, b);
            expect(key(b)).toBe(key(a));
            expect(batched.parent(i)).toBe(one.parent(i));
            expect(batched.action(i)).toBe(one.action(i));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps every state through many doublings of its arrays and table', () => {
    const w = 3;
    const store = new StateStore(w, 16);
    const n = 50_000;
    const s = new Int32Array(w);
    for (let i = 0; i < n; i++) {
      s[0] = i;
      s[1] = i * 7919;
      s[2] = i & 3;
      expect(store.insert(s, 0, i - 1, 0)).toBe(i);
    }
    for (let i = 0; i < n; i += 97) {
      s[0] = i;
      s[1] = i * 7919;
      s[2] = i & 3;
      expect(store.insert(s, 0, 0, 0)).toBe(-1 - i);
    }
    expect(store.size).toBe(n);
    expect(store.bytesAfterGrowth).toBeGreaterThan(store.bytes);
    expect(store.headroom).toBeGreaterThan(0);
  });
});
