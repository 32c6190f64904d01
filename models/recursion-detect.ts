/**
 * Model `recursion-detect`: the per-CPU recursion counter of a BPF program
 * (`prog->active`) under every interleaving of the contexts of one CPU
 * (docs/kernel-facts.md section 7; docs/reference-verdicts.md section 4).
 *
 * Actors, all on one CPU (the counter is per-CPU, so other CPUs never touch
 * it): `--tasks` tasks at level 0 (normal), the softirq (1), the hardirq (2)
 * and the NMI (3) context. Each runs the program through
 * `bpf_prog_get_recursion_context` / `bpf_prog_put_recursion_context` at the
 * instruction level (src/recursion/schemes.ts) and, while in the program,
 * may enter it again from inside (real recursion) up to `--depth` frames.
 *
 * Who runs: the highest interrupt level that is inside its handler, else the
 * current task. An interrupt of level L arrives at any instruction boundary
 * while every context of level >= L is idle, and runs to completion before
 * the interrupted context resumes (contexts nest). With two or more tasks,
 * the current task may be switched for another at any instruction boundary
 * outside preempt_disable() and while no interrupt is active: a BPF program
 * entered through the trampoline runs under rcu_read_lock_dont_migrate(),
 * which is preemptible with CONFIG_PREEMPT_RCU (the point the bpf-ci
 * reviewer raised on the first posting); migration stays disabled, so the
 * task stays on this CPU.
 *
 * The old scheme runs as a ghost next to the new one: its atomic
 * `this_cpu_inc_return(*active)` happens at the new scheme's store of the
 * increment and its verdict is that the count is then 1; `this_cpu_dec` at
 * the put's store. R1 compares the two verdicts at every entry; R2 asks that
 * when no context is inside get/program/put, every byte of active[] (and
 * the old counter) is zero.
 *
 * Verdicts: arm64-u8 holds; arm64-u8-v1 (no preempt_disable) breaks R1 and
 * R2 with two tasks (a lost update in the put); u32-rmw holds too, because
 * an interrupting context finishes its get and put before the interrupted
 * one stores its word (docs/models.md, recursion-detect explains why this
 * differs from what the issue expected).
 *
 * Written on the typed model layer (src/model/): active[] and the old
 * counter are shared fields, each context a two-word record (its machine
 * state, its verdicts, and its scratch register w9); the actors are the
 * tasks, the interrupt contexts and the scheduler; R1 and R2 are predicates.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import type { PropertySpec } from '../src/concurrency/system.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { checkableModel, defineLayout, type Property } from '../src/model/index.js';
import { actorPart, stateLine } from '../src/model/state-text.js';
import { CONTEXT_EVENTS, recursionContextMachine } from '../src/recursion/context-machine.js';
import { RECURSION_SCHEMES, bitOf, byteOf, withByte, type RecursionInsn } from '../src/recursion/schemes.js';

export const RECURSION_PROPERTIES: readonly PropertySpec[] = [
  { id: 'R1', description: 'at every entry the new scheme gives the verdict of the old one (this_cpu_inc_return(*active) == 1)', checked: true },
  { id: 'R2', description: 'when every context has left the program, every active[] byte and the old counter are zero', checked: true },
];

const LEVEL_NAMES = ['normal', 'softirq', 'hardirq', 'NMI'];
/** An illustrative per-CPU address of prog->active on this CPU. */
const ACTIVE_ADDR = '0xffff00007fbc2e40';

/**
 * The state: active[0..3] as one 32-bit word (little-endian: byte i is
 * active[i]) and the old scheme's counter; per context (tasks first, then
 * softirq, hardirq, NMI) its machine state, the old and the new scheme's
 * verdict at its entry, whether they ever disagreed (R1), whether it is the
 * current task, and its scratch register w9.
 */
function recursionLayout(contexts: number) {
  return defineLayout({
    shared: { active: 32, oldActive: 8 },
    records: { count: contexts, words: 2, fields: { q: 8, oldVerdict: 1, newVerdict: 1, mismatch: 1, current: 1, w9: 32 } },
  });
}

export function buildRecursionDetect(cfg: ModelConfig): CheckableModel {
  const scheme = RECURSION_SCHEMES[cfg.protocol];
  if (!scheme) throw new ModelConfigError(`recursion-detect: unknown protocol '${cfg.protocol}'`);
  if (cfg.cpus !== 1) throw new ModelConfigError('recursion-detect: the counter is per-CPU; the model is one CPU (--cpus 1) with --tasks tasks and three interrupt contexts');
  const T = Number(cfg.options.tasks ?? '1');
  const D = Number(cfg.options.depth ?? '2');
  if (!Number.isInteger(T) || T < 1 || T > 3) throw new ModelConfigError(`recursion-detect: --tasks must be 1..3, got '${cfg.options.tasks}'`);
  if (!Number.isInteger(D) || D < 1 || D > 3) throw new ModelConfigError(`recursion-detect: --depth must be 1..3, got '${cfg.options.depth}'`);

  // ---- the world: one context's machine -----------------------------------------------------
  const m = compileMachine(recursionContextMachine(scheme, D), CONTEXT_EVENTS);
  if (m.names.length > 256) throw new Error('recursion-detect: machine too large to pack');
  const E = m.events.length;
  const EV = { enter: m.eventIndex('ENTER'), step: m.eventIndex('STEP'), ok: m.eventIndex('OK'), recursion: m.eventIndex('RECURSION'), ret: m.eventIndex('RETURN') };
  const insnOf = m.meta.map((x) => x.insn as RecursionInsn | undefined);
  const phaseOf = m.meta.map((x) => x.phase as string | undefined);
  const preemptOff = m.meta.map((x) => x.preempt_off === true);
  const busy = m.tags.map((t) => t.has('busy'));
  const depthOf = m.contexts.map((c) => Number(c.depth));

  /** Contexts: tasks 0..T-1, then softirq, hardirq, NMI. */
  const A = T + 3;
  const rctxOf = (a: number): number => (a < T ? 0 : a - T + 1);
  const actorName = (a: number): string => (a < T ? (T === 1 ? 'task' : `task${a}`) : LEVEL_NAMES[a - T + 1]);

  // ---- the state ---------------------------------------------------------------------------
  const L = recursionLayout(A);
  const { active, oldActive } = L.shared;
  const { q, oldVerdict, newVerdict, mismatch, current, w9 } = L.record;

  /** The context that executes now: the highest interrupt level inside its handler, else the current task. */
  const running = (s: Int32Array): number => {
    for (let a = A - 1; a >= T; a--) if (busy[q.get(s, a)]) return a;
    for (let a = 0; a < T; a++) if (current.get(s, a)) return a;
    throw new Error('recursion-detect: no current task');
  };
  /** The highest interrupt level inside its handler (0: none). */
  const topLevel = (s: Int32Array): number => {
    for (let a = A - 1; a >= T; a--) if (busy[q.get(s, a)]) return rctxOf(a);
    return 0;
  };

  // ---- the actors --------------------------------------------------------------------------
  /** Context a executes its next instruction of get/put in `next`; returns its machine's event. The old scheme runs as a ghost at the stores. */
  const execute = (next: Int32Array, a: number): number => {
    const qq = q.get(next, a);
    const insn = insnOf[qq];
    if (!insn) return phaseOf[qq] === 'body' ? EV.ret : EV.enter;
    const rctx = rctxOf(a);
    const word = active.get(next) >>> 0;
    const r9 = w9.get(next, a) >>> 0;
    switch (insn.op) {
      case 'preempt_disable':
      case 'preempt_enable':
        return EV.step;
      case 'load':
        w9.set(next, a, insn.width === 1 ? byteOf(word, rctx) : word);
        return EV.step;
      case 'add':
      case 'sub': {
        const d = insn.width === 1 ? 1 : bitOf(rctx);
        const v = insn.op === 'add' ? r9 + d : r9 - d;
        w9.set(next, a, insn.width === 1 ? v & 0xff : v);
        return EV.step;
      }
      case 'store':
        active.set(next, insn.width === 1 ? withByte(word, rctx, r9) : r9);
        w9.set(next, a, 0); // w9 is dead from here on
        if (phaseOf[qq] === 'get') {
          oldActive.set(next, oldActive.get(next) + 1); // this_cpu_inc_return(*active)
          oldVerdict.set(next, a, oldActive.get(next) === 1 ? 1 : 0);
        } else {
          oldActive.set(next, oldActive.get(next) - 1); // this_cpu_dec(*active)
        }
        return EV.step;
      case 'check_load':
        newVerdict.set(next, a, word === bitOf(rctx) ? 1 : 0);
        return EV.step;
      case 'check': {
        const ok = newVerdict.get(next, a) === 1;
        if (ok !== (oldVerdict.get(next, a) === 1)) mismatch.set(next, a, 1);
        newVerdict.set(next, a, 0);
        oldVerdict.set(next, a, 0);
        return ok ? EV.ok : EV.recursion;
      }
    }
  };

  /** Context a's machine moves on event e in `next`; false if it has no such move. */
  const move = (next: Int32Array, a: number, e: number): boolean => {
    const nq = m.next[q.get(next, a) * E + e];
    if (nq < 0) return false;
    q.set(next, a, nq);
    return true;
  };

  /** The running context a steps: in the program's body it may return or enter the program again (two successors), else it executes its next instruction. */
  const runStep = (s: Int32Array, next: Int32Array, a: number, emit: () => void): boolean => {
    if (phaseOf[q.get(s, a)] !== 'body') return move(next, a, execute(next, a));
    if (move(next, a, EV.ret)) emit();
    return move(next, a, EV.enter);
  };

  /** Task i steps if it is the one running. */
  const taskStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => running(s) === i && runStep(s, next, i, emit);

  /** Interrupt context i (softirq, hardirq, NMI) steps if it is running, or arrives and enters the program if its level is above every active one. */
  const interruptStep = (s: Int32Array, next: Int32Array, i: number, emit: () => void): boolean => {
    const a = T + i;
    if (running(s) === a) return runStep(s, next, a, emit);
    return i + 1 > topLevel(s) && move(next, a, EV.enter);
  };

  /** The scheduler switches to task t: no interrupt active, the current task preemptible (outside preempt_disable). */
  const schedulerStep = (s: Int32Array, next: Int32Array, t: number): boolean => {
    if (T === 1 || topLevel(s) !== 0) return false;
    const r = running(s);
    if (t === r || preemptOff[q.get(s, r)]) return false;
    current.set(next, r, 0);
    current.set(next, t, 1);
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const someContext = (pred: (s: Int32Array, a: number) => boolean) => (s: Int32Array): boolean => {
    for (let a = 0; a < A; a++) if (pred(s, a)) return true;
    return false;
  };
  const anyBusy = someContext((s, a) => busy[q.get(s, a)]);
  const properties: Property[] = [
    { ...RECURSION_PROPERTIES[0], violated: someContext((s, a) => mismatch.get(s, a) === 1) },
    { ...RECURSION_PROPERTIES[1], violated: (s) => !anyBusy(s) && (active.get(s) !== 0 || oldActive.get(s) !== 0) },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const stateText = (s: Int32Array, a: number): string => {
    const qq = q.get(s, a);
    const cur = a < T && T > 1 && current.get(s, a) ? '*' : '';
    return `${actorName(a)}${cur}=${m.values[qq]}${depthOf[qq] > 1 ? `(depth ${depthOf[qq]})` : ''}`;
  };
  const insnText = (insn: RecursionInsn, rctx: number): string =>
    `${insn.asm.replace('BIT(rctx*8)', `0x${bitOf(rctx).toString(16)}`).replace(/\brctx\b/, `#${rctx}`)}    ; ${insn.doc}`;
  const describeContext = (before: Int32Array, after: Int32Array, a: number): string => {
    const qq = q.get(before, a);
    const nq = q.get(after, a);
    const rctx = rctxOf(a);
    const insn = insnOf[qq];
    let text: string;
    if (!insn) {
      if (phaseOf[qq] === 'body' && m.values[nq] === 'put_0') text = 'the program returns: bpf_prog_put_recursion_context()';
      else if (phaseOf[qq] === 'body') text = `the program calls a function this program is attached to: bpf_prog_get_recursion_context() again (rctx=${rctx})`;
      else if (a >= T) text = `interrupts ${actorName(running(before))}; the ${LEVEL_NAMES[rctx]} handler runs the program: bpf_prog_get_recursion_context() (rctx=${rctx})`;
      else text = `calls the traced function: bpf_prog_get_recursion_context() (rctx=${rctx})`;
    } else {
      text = insnText(insn, rctx);
      if (insn.op === 'load' || insn.op === 'add' || insn.op === 'sub') text += ` -> w9 = 0x${(w9.get(after, a) >>> 0).toString(16)}`;
      if (insn.op === 'store' && phaseOf[qq] === 'get') text += ` (old scheme: this_cpu_inc_return = ${oldActive.get(after)})`;
      if (insn.op === 'check_load') text += ` -> val = 0x${(active.get(before) >>> 0).toString(16).padStart(8, '0')}`;
      if (insn.op === 'check') {
        const ok = newVerdict.get(before, a) === 1;
        const old = oldVerdict.get(before, a) === 1;
        text += ` -> ${ok ? 'runs the program' : 'recursion: skips the program (misses++)'}; the old scheme ${old ? 'runs it' : 'reports recursion'}${ok !== old ? ' (THEY DISAGREE)' : ''}`;
      }
    }
    return `${text} -> ${m.values[nq]}`;
  };

  return checkableModel({
    model: 'recursion-detect',
    protocol: cfg.protocol,
    cpus: 1,
    config: { tasks: String(T), depth: String(D) },
    layout: L,
    initial(s) {
      for (let a = 0; a < A; a++) q.set(s, a, m.initial);
      current.set(s, 0, 1);
    },
    steps: [
      { actor: 'task', count: T, next: taskStep },
      { actor: 'interrupt', count: 3, next: interruptStep },
      { actor: 'scheduler', count: T, next: schedulerStep },
    ],
    properties,
    // tasks are interchangeable; the interrupt contexts are not (each has its level)
    symmetry: (s) => {
      if (T > 1) L.records!.sort(s, 0, T);
    },
    parallel: true,
    describe(before, after, a) {
      if (a.actor === 'scheduler') return { actor: 'scheduler', action: `preempts ${actorName(running(before))} and runs ${actorName(a.i)} (CONFIG_PREEMPT_RCU)` };
      const ctx = a.actor === 'task' ? a.i : T + a.i;
      return { actor: actorName(ctx), action: describeContext(before, after, ctx) };
    },
    sites(s) {
      const w = active.get(s) >>> 0;
      const bytes = [0, 1, 2, 3].map((i) => byteOf(w, i));
      return [{ name: 'this_cpu_ptr(prog->active)', address: ACTIVE_ADDR, bytes: hexBytes(bytes), disasm: `active[] = {${bytes.join(', ')}}; old counter = ${oldActive.get(s)}` }];
    },
    summary: (s) =>
      stateLine(
        Array.from({ length: A }, (_, a) => {
          const qq = q.get(s, a);
          const insn = insnOf[qq];
          const text = insn ? `next ${insnText(insn, rctxOf(a)).replace(/\s+;\s+(.*)$/, ' ($1)')}` : m.values[qq] === 'idle' ? 'not in the program' : phaseOf[qq] === 'body' ? 'runs the program' : m.values[qq];
          return actorPart(actorName(a), text, [a < T && T > 1 && current.get(s, a) ? 'the task on the CPU' : '', depthOf[qq] > 1 ? `depth ${depthOf[qq]}` : '']);
        }),
      ),
    actorMachines: () => [
      { name: 'context', title: `one context running get/program/put, ${cfg.protocol} (src/recursion/context-machine.ts)`, machine: recursionContextMachine(scheme, D), events: CONTEXT_EVENTS },
    ],
  });
}

export const recursionDetect: ModelDefinition = {
  name: 'recursion-detect',
  summary: "a BPF program's per-CPU recursion counter under nested contexts (normal < softirq < hardirq < NMI) and preempted tasks, the new arm64 scheme against the old atomic one",
  protocols: Object.values(RECURSION_SCHEMES).map((s) => ({ name: s.name, summary: s.summary })),
  defaultProtocol: 'arm64-u8',
  defaultCpus: 1,
  options: [
    { name: 'tasks', default: '1', description: 'tasks at level 0 sharing the CPU (2 or more: they preempt one another, CONFIG_PREEMPT_RCU)' },
    { name: 'depth', default: '2', description: 'frames one context may nest by entering the program from inside it (real recursion)' },
  ],
  reference: [
    { protocol: 'arm64-u8', cpus: 1, options: { tasks: '1' }, expected: 'holds' },
    { protocol: 'arm64-u8', cpus: 1, options: { tasks: '2' }, expected: 'holds' },
    // facts section 7, condition (iii): an interrupting context undoes its change before the
    // interrupted one resumes, so a whole-word read-modify-write loses nothing either
    { protocol: 'u32-rmw', cpus: 1, options: { tasks: '2' }, expected: 'holds' },
    { protocol: 'arm64-u8-v1', cpus: 1, options: { tasks: '2' }, expected: 'violated', expectedViolated: ['R1', 'R2'] },
  ],
  build: buildRecursionDetect,
};
