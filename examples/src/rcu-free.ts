/**
 * rcu-free: a writer replaces an RCU-protected pointer and frees the object
 * it replaced, while N reader CPUs use whatever the pointer gives them.
 * It is the update pattern of the kernel's Documentation/RCU/whatisRCU.rst:
 * publish the new object with rcu_assign_pointer(), wait for a grace period
 * with synchronize_rcu(), then kfree() the old one. docs/adding-a-model.md
 * in pokecheck builds this file step by step.
 *
 * The world: two objects, A (published at the start) and B (its
 * replacement), and the global pointer `gp`.
 *
 * A reader CPU, forever:
 *   rcu_read_lock(); p = rcu_dereference(gp);    -- holds p
 *   ... uses *p ...; rcu_read_unlock();          -- idle again
 *
 * The writer, once, in one of three orders (the protocols):
 *   sync        rcu_assign_pointer(gp, B); synchronize_rcu(); kfree(A);
 *   no-sync     rcu_assign_pointer(gp, B); kfree(A);
 *   free-first  kfree(A); rcu_assign_pointer(gp, B);
 *
 * The properties and the verdicts they must get, from first principles:
 *   P1  no object is freed while a reader holds a pointer to it.
 *   P2  gp never points to a freed object.
 * - sync holds both. A reader can hold A only if it loaded gp before the
 *   writer's rcu_assign_pointer. synchronize_rcu starts after that, so such
 *   a reader is inside its read-side section when the grace period starts,
 *   and synchronize_rcu does not return until it has left it; readers that
 *   enter later load B, which is never freed. So kfree(A) finds no reader
 *   holding A (P1), and gp already points to B when A is freed (P2). This
 *   does not depend on the number of CPUs (`cpus: 'every'` checks that).
 * - no-sync violates P1 and only P1, with any number of CPUs from one: one
 *   reader loads A, the writer publishes B and frees A at once, and the
 *   reader still holds A. gp points to B before A is freed, so P2 holds.
 * - free-first violates P1 and P2: after kfree(A), gp still points to A (P2),
 *   and a reader that loaded A before it holds freed memory (P1).
 *
 * What the model leaves out: the search interleaves whole steps on one
 * sequentially consistent memory. rcu_assign_pointer's release ordering and
 * rcu_dereference's dependency ordering, which make that true of real
 * hardware, are assumed, not checked.
 */

import { checkableModel, defineLayout, GracePeriod, type CheckableModel, type ModelConfig, type ModelDefinition, type Property } from 'pokecheck';

const A = 0;
const B = 1;
const OBJECT = ['A', 'B'];

/** A reader CPU's states: idle, or inside rcu_read_lock() holding a pointer. */
const IDLE = 0;
const HOLDS = 1;

/** The writer's steps, each one atomic step of the search. synchronize_rcu() is two: it starts a grace period, then returns once that is over. */
type WriterStep = 'rcu_assign_pointer' | 'synchronize_rcu:start' | 'synchronize_rcu:wait' | 'kfree';

const PROTOCOLS: Record<string, { summary: string; steps: WriterStep[] }> = {
  sync: { summary: 'rcu_assign_pointer(gp, B); synchronize_rcu(); kfree(A)', steps: ['rcu_assign_pointer', 'synchronize_rcu:start', 'synchronize_rcu:wait', 'kfree'] },
  'no-sync': { summary: 'rcu_assign_pointer(gp, B); kfree(A) (broken: no grace period)', steps: ['rcu_assign_pointer', 'kfree'] },
  'free-first': { summary: 'kfree(A); rcu_assign_pointer(gp, B) (broken: frees what gp still points to)', steps: ['kfree', 'rcu_assign_pointer'] },
};

export function buildRcuFree(cfg: ModelConfig): CheckableModel {
  const N = cfg.cpus;
  const steps = PROTOCOLS[cfg.protocol].steps;

  // ---- 1. the state ---------------------------------------------------------------------------
  // Shared: the writer's next step, where gp points, which objects are freed.
  // Per CPU: its state, the object it holds, its mark in a pending grace period.
  const layout = defineLayout({
    shared: { pc: 3, gp: 1, freed: [1, 2] },
    cpus: { count: N, bits: 8, fields: { state: 1, obj: 1, sync: 1 } },
  });
  const { pc, gp, freed } = layout.shared;
  const { state, obj, sync } = layout.cpu;
  // Readers are the CPUs in HOLDS: a grace period waits for those.
  const rcu = new GracePeriod(layout, state, [false, true]);

  // ---- 2. the actors --------------------------------------------------------------------------
  /** Reader CPU i takes its next step: enters and loads gp, or leaves. */
  const reader = (s: Int32Array, next: Int32Array, i: number): boolean => {
    if (state.get(s, i) === IDLE) {
      rcu.move(next, i, HOLDS); // rcu_read_lock()
      obj.set(next, i, gp.get(s)); // p = rcu_dereference(gp)
    } else {
      rcu.move(next, i, IDLE); // rcu_read_unlock(): ends its part in any pending grace period
    }
    return true;
  };

  /** The writer takes its next step, if it has one and it is enabled. */
  const writer = (s: Int32Array, next: Int32Array): boolean => {
    const step = steps[pc.get(s)];
    switch (step) {
      case undefined:
        return false; // done
      case 'rcu_assign_pointer':
        gp.set(next, B);
        break;
      case 'synchronize_rcu:start':
        rcu.start(next, sync);
        break;
      case 'synchronize_rcu:wait':
        if (rcu.pending(s, sync)) return false;
        break;
      case 'kfree':
        freed.set(next, A, 1);
        break;
    }
    pc.set(next, pc.get(s) + 1);
    return true;
  };

  // ---- 3. the properties ----------------------------------------------------------------------
  const properties: Property[] = [
    {
      id: 'P1',
      description: 'no object is freed while a reader holds a pointer to it',
      cpus: 1, // a violation needs one CPU: the reader that holds the freed object
      violated: (s) => {
        for (let i = 0; i < N; i++) if (state.get(s, i) === HOLDS && freed.get(s, obj.get(s, i))) return true;
        return false;
      },
    },
    { id: 'P2', description: 'gp never points to a freed object', cpus: 0, violated: (s) => freed.get(s, gp.get(s)) === 1 },
  ];

  // ---- 4. printing states and steps -----------------------------------------------------------
  const summary = (s: Int32Array): string => {
    const objects = OBJECT.map((name, k) => `${name}:${freed.get(s, k) ? 'freed' : 'live'}`);
    const cpus = Array.from({ length: N }, (_, i) => {
      const mark = sync.get(s, i) ? '[gp]' : '';
      return state.get(s, i) === HOLDS ? `cpu${i}=holds ${OBJECT[obj.get(s, i)]}${mark}` : `cpu${i}=idle`;
    });
    const writerAt = steps[pc.get(s)] ?? 'done';
    return `gp=${OBJECT[gp.get(s)]} ${objects.join(' ')} ${cpus.join(' ')} writer=${writerAt}`;
  };
  const describeReader = (before: Int32Array, i: number): string =>
    state.get(before, i) === IDLE ? `rcu_read_lock(); p = rcu_dereference(gp) -> ${OBJECT[gp.get(before)]}` : `uses ${OBJECT[obj.get(before, i)]}; rcu_read_unlock()`;
  const describeWriter = (before: Int32Array): string => {
    const step = steps[pc.get(before)];
    if (step === 'rcu_assign_pointer') return 'rcu_assign_pointer(gp, B)';
    if (step === 'synchronize_rcu:start') return `synchronize_rcu() starts a grace period${rcu.waitsText(before)}`;
    if (step === 'synchronize_rcu:wait') return 'synchronize_rcu() returns: the grace period is over';
    return 'kfree(A)';
  };

  // ---- 5. the model ---------------------------------------------------------------------------
  return checkableModel({
    model: 'rcu-free',
    protocol: cfg.protocol,
    cpus: N,
    config: {},
    layout,
    initial(s) {
      gp.set(s, A); // every other field starts at 0: pc at the first step, nothing freed, CPUs idle
    },
    steps: [
      { actor: 'cpu', count: N, next: reader },
      { actor: 'writer', next: writer },
    ],
    properties,
    symmetry: 'cpus', // the readers are interchangeable: a state is searched once per multiset of CPU records
    describe: (before, _after, a) => (a.actor === 'cpu' ? { actor: `cpu${a.i}`, action: describeReader(before, a.i) } : describeWriter(before)),
    sites: () => [], // no patched machine code in this model
    summary,
  });
}

// ---- 6. the definition: what check('rcu-free' ...) would find in a registry ----------------------
export const rcuFree: ModelDefinition = {
  name: 'rcu-free',
  summary: 'a writer replaces an RCU-protected pointer and frees the old object; N reader CPUs',
  protocols: Object.entries(PROTOCOLS).map(([name, p]) => ({ name, summary: p.summary })),
  defaultProtocol: 'sync',
  defaultCpus: 2,
  options: [],
  // The verdicts argued at the top of this file.
  reference: [
    { protocol: 'sync', cpus: 3, expected: 'holds' },
    { protocol: 'no-sync', cpus: 2, expected: 'violated', expectedViolated: ['P1'] },
    { protocol: 'free-first', cpus: 2, expected: 'violated', expectedViolated: ['P1', 'P2'] },
  ],
  build: buildRcuFree,
};
