/**
 * The explorer's visited sets, StateStore (TypeScript) and WasmStateStore
 * (WebAssembly), against a plain Map as the model of what they must do, and
 * WasmStateStore against StateStore: the same inserts give the same indices.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashWords, StateStore } from '../src/concurrency/state-store.js';
import type { VisitedSet } from '../src/concurrency/visited-set.js';
import { explore } from '../src/concurrency/explorer.js';
import { findModel } from '../models/index.js';
import { WasmStateStore } from '../src/concurrency/wasm/wasm-state-store.js';

const IMPLEMENTATIONS: [string, (w: number, initialCapacity: number) => VisitedSet][] = [
  ['StateStore', (w, c) => new StateStore(w, c)],
  ['WasmStateStore', (w, c) => new WasmStateStore(w, c)],
  // Its arrays past 2 GiB, where a byte offset no longer fits a signed 32-bit integer (a bug once:
  // v5.10 at 7 CPUs stored duplicates once the table had moved up there).
  ['WasmStateStore above 2 GiB', (w, c) => new WasmStateStore(w, c, undefined, 2 ** 31 + 4096)],
];

const key = (a: Int32Array | number[]): string => Array.from(a).join(',');

/** States of `width` words drawn from a small domain, so that repeats are common. */
const statesOf = (width: number, max: number) =>
  fc.array(fc.array(fc.integer({ min: -3, max: 3 }).map((x) => (x === 3 ? 0x7fffffff : x === -3 ? -0x80000000 : x)), { minLength: width, maxLength: width }), {
    maxLength: max,
  });

describe.each(IMPLEMENTATIONS)('%s against a Map', (_name, make) => {
  it('insert: new states get consecutive indices, repeats return -1 - index; read, parent and action give back what was stored', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((w) => fc.tuple(fc.constant(w), statesOf(w, 400))),
        ([w, states]) => {
          const store = make(w, 16);
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

  it('insertBatch gives exactly the results of StateStore.insert one by one, in order, duplicates within a batch included (hashed or not, with or without the recent-lookups cache)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(fc.constant(w), fc.array(statesOf(w, 300), { minLength: 1, maxLength: 6 }))),
        fc.boolean(),
        fc.boolean(),
        ([w, batches], hashed, recent) => {
          const one = new StateStore(w, 16);
          const batched = make(w, 16);
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
    const store = make(w, 16);
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
    expect(store.bytesFor(0)).toBe(store.bytes);
    expect(store.bytesFor(n)).toBeGreaterThan(store.bytes);
  });

  it('a batch much longer than the WebAssembly side takes at once (4096), with hashes crowded into the top of the table so that runs overflow its spare slots: the same results as one by one', () => {
    const w = 2;
    const n = 20_000;
    const src = new Int32Array(n * w);
    const hashes = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const s = j % 7000; // states repeat: 7000 distinct
      src[j * w] = s;
      src[j * w + 1] = -s;
      hashes[j] = (0xf0000000 + s * 0x8000) | 0; // the top 1/16 of hash space
    }
    const parents = Int32Array.from({ length: n }, (_, j) => j);
    const actions = Int32Array.from({ length: n }, (_, j) => j % 3);
    const out = new Int32Array(n);
    const store = make(w, 16);
    store.insertBatch(src, n, parents, actions, hashes, out, true, true);
    const one = new StateStore(w, 16);
    const one1 = new Int32Array(1);
    for (let j = 0; j < n; j++) {
      one.insertBatch(src.subarray(j * w, (j + 1) * w), 1, parents.subarray(j, j + 1), actions.subarray(j, j + 1), hashes.subarray(j, j + 1), one1, true, false);
      expect(out[j]).toBe(one1[0]);
    }
    expect(store.size).toBe(7000);
    const p = store.paths();
    expect(Array.from(p.parents)).toEqual(Array.from(one.paths().parents));
    expect(Array.from(p.words)).toEqual(Array.from(one.paths().words));
  });

  it('bytesFor: what the arrays will hold once grown for more states, so that a search can stop before passing a budget or the capacity', () => {
    const store = make(4, 16);
    expect(store.bytesFor(0)).toBe(store.bytes);
    expect(store.bytesFor(1 << 20)).toBeGreaterThan(store.bytes + (1 << 20) * 16);
    if (store.capacityBytes !== Infinity) expect(store.bytesFor(2 ** 29)).toBeGreaterThan(store.capacityBytes);
  });
});

describe('WasmStateStore', () => {
  it('runs the module assembled from state-store.wat as it is now (state-store-bytes.ts is not stale)', () => {
    const r = spawnSync(process.execPath, ['scripts/wasm/assemble.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('hashes exactly as hashWords (partitions and the TypeScript store rely on the same hash)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain((w) => fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: w, maxLength: w })), (words) => {
        const w = words.length;
        const src = Int32Array.from(words);
        const store = new WasmStateStore(w);
        const hashes = new Int32Array(1);
        store.insertBatch(src, 1, Int32Array.of(0), Int32Array.of(0), hashes, new Int32Array(1), false, true);
        expect(hashes[0]).toBe(hashWords(src, 0, w));
      }),
      { numRuns: 200 },
    );
  });

  it('a growth past its capacity (4 GiB unless told less) is refused with a one-line error, not a crash inside WebAssembly', () => {
    expect(new WasmStateStore(4).capacityBytes).toBe(4 * 2 ** 30);
    expect(new WasmStateStore(4, 16, 2 ** 40).capacityBytes).toBe(4 * 2 ** 30);
    const w = 4;
    const store = new WasmStateStore(w, 16, 32 * 2 ** 20);
    const s = new Int32Array(w);
    let err: unknown = null;
    let i = 0;
    try {
      for (; i < 4_000_000; i++) {
        s[0] = i;
        store.insert(s, 0, -1, 0);
      }
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/more than its WebAssembly memory may hold \(32 MiB\)$/);
    expect(store.bytes).toBeLessThanOrEqual(32 * 2 ** 20);
    expect(store.bytesFor(1)).toBeGreaterThan(store.capacityBytes);
    // What it holds is intact.
    const out = new Int32Array(w);
    store.read(i - 1, out);
    expect(out[0]).toBe(i - 1);
  });
});

describe('explore with either visited set', () => {
  // The same search, state for state: counts, depth, first violations (so the same counterexamples).
  const configs: [string, string, number, Record<string, string>][] = [
    ['tailcall-poke', 'v5.10', 4, { script: 'install f1; update f2; remove; install f3' }],
    ['tailcall-poke', 'bypass-first', 3, { script: 'install f1; update f2; remove; install f3' }],
    ['tailcall-poke', 'v5.10', 2, { level: 'byte', poke: 'memcpy', script: 'install f1; update f2; remove; install f3' }], // the scenario: without a script the byte level explores every sequence
    ['tailcall-load-race', 'v5.10', 2, {}],
  ];
  it.each(configs)('%s --protocol %s --cpus %i %j: --store js and --store wasm find the same states in the same order', (model, protocol, cpus, options) => {
    const sys = findModel(model)!.build({ protocol, cpus, options }).system;
    for (const symmetry of [false, 'auto'] as const) {
      const js = explore(sys, { store: 'js', symmetry });
      const wasm = explore(sys, { store: 'wasm', symmetry });
      expect(wasm.complete).toBe(js.complete);
      expect([wasm.states, wasm.transitions, wasm.depth]).toEqual([js.states, js.transitions, js.depth]);
      expect(wasm.firstViolation).toEqual(js.firstViolation);
      const a = js.store.paths();
      const b = wasm.store.paths();
      expect(b.parents).toEqual(a.parents);
      expect(b.actions).toEqual(a.actions);
      expect(b.words).toEqual(a.words);
    }
  });
});
