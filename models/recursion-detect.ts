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
 * Packed state: w0 = active[0..3] (one 32-bit word, little-endian: byte i
 * is active[i]); w1 = the old scheme's counter; then two words per context:
 * [machine state (8) | old verdict (bit 8) | new verdict (9) | R1 mismatch
 * (10) | current task (11)] and the scratch register w9.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { CONTEXT_EVENTS, recursionContextMachine } from '../src/recursion/context-machine.js';
import { RECURSION_SCHEMES, bitOf, byteOf, withByte, type RecursionInsn } from '../src/recursion/schemes.js';
import { hexBytes } from '../src/jit/x86/x86.js';
import { sortRecords } from '../src/concurrency/records.js';

export const RECURSION_PROPERTIES: readonly PropertySpec[] = [
  { id: 'R1', description: 'at every entry the new scheme gives the verdict of the old one (this_cpu_inc_return(*active) == 1)', checked: true },
  { id: 'R2', description: 'when every context has left the program, every active[] byte and the old counter are zero', checked: true },
];

const LEVEL_NAMES = ['normal', 'softirq', 'hardirq', 'NMI'];
/** An illustrative per-CPU address of prog->active on this CPU. */
const ACTIVE_ADDR = '0xffff00007fbc2e40';

const OLD_V = 1 << 8;
const NEW_V = 1 << 9;
const MISMATCH = 1 << 10;
const CURRENT = 1 << 11;
const Q = 0xff;

export function buildRecursionDetect(cfg: ModelConfig): CheckableModel {
  const scheme = RECURSION_SCHEMES[cfg.protocol];
  if (!scheme) throw new ModelConfigError(`recursion-detect: unknown protocol '${cfg.protocol}'`);
  if (cfg.cpus !== 1) throw new ModelConfigError('recursion-detect: the counter is per-CPU; the model is one CPU (--cpus 1) with --tasks tasks and three interrupt contexts');
  const T = Number(cfg.options.tasks ?? '1');
  const D = Number(cfg.options.depth ?? '2');
  if (!Number.isInteger(T) || T < 1 || T > 3) throw new ModelConfigError(`recursion-detect: --tasks must be 1..3, got '${cfg.options.tasks}'`);
  if (!Number.isInteger(D) || D < 1 || D > 3) throw new ModelConfigError(`recursion-detect: --depth must be 1..3, got '${cfg.options.depth}'`);

  const m = compileMachine(recursionContextMachine(scheme, D), CONTEXT_EVENTS);
  if (m.names.length > 256) throw new Error('recursion-detect: machine too large to pack');
  const E = m.events.length;
  const EV = Object.fromEntries(['ENTER', 'STEP', 'OK', 'RECURSION', 'RETURN'].map((n) => [n, m.eventIndex(n)]));
  const insnOf = m.meta.map((x) => x.insn as RecursionInsn | undefined);
  const phaseOf = m.meta.map((x) => x.phase as string | undefined);
  const preemptOff = m.meta.map((x) => x.preempt_off === true);
  const busy = m.tags.map((t) => t.has('busy'));
  const depthOf = m.contexts.map((c) => Number(c.depth));

  const A = T + 3; // actors: tasks, softirq, hardirq, NMI
  const rctxOf = (a: number): number => (a < T ? 0 : a - T + 1);
  const actorName = (a: number): string => (a < T ? (T === 1 ? 'task' : `task${a}`) : LEVEL_NAMES[a - T + 1]);
  const base = 2;
  const ctl = (a: number): number => base + 2 * a;
  const reg = (a: number): number => base + 2 * a + 1;
  const width = base + 2 * A;

  /** The actor that executes now: the highest interrupt level inside its handler, else the current task. */
  const running = (s: Int32Array): number => {
    for (let a = A - 1; a >= T; a--) if (busy[s[ctl(a)] & Q]) return a;
    for (let a = 0; a < T; a++) if (s[ctl(a)] & CURRENT) return a;
    throw new Error('recursion-detect: no current task');
  };
  const topLevel = (s: Int32Array): number => {
    for (let a = A - 1; a >= T; a--) if (busy[s[ctl(a)] & Q]) return rctxOf(a);
    return 0;
  };

  /** Executes actor a's next step in `next` (a copy of the state); returns the machine event. */
  const execute = (next: Int32Array, a: number): number => {
    const c = next[ctl(a)];
    const q = c & Q;
    const insn = insnOf[q];
    if (!insn) return phaseOf[q] === 'body' ? EV.RETURN : EV.ENTER;
    const rctx = rctxOf(a);
    const word = next[0] >>> 0;
    const w9 = next[reg(a)] >>> 0;
    switch (insn.op) {
      case 'preempt_disable':
      case 'preempt_enable':
        return EV.STEP;
      case 'load':
        next[reg(a)] = insn.width === 1 ? byteOf(word, rctx) : word | 0;
        return EV.STEP;
      case 'add':
      case 'sub': {
        const d = insn.width === 1 ? 1 : bitOf(rctx);
        const v = insn.op === 'add' ? w9 + d : w9 - d;
        next[reg(a)] = insn.width === 1 ? v & 0xff : v | 0;
        return EV.STEP;
      }
      case 'store': {
        next[0] = (insn.width === 1 ? withByte(word, rctx, w9) : w9) | 0;
        next[reg(a)] = 0; // w9 is dead from here on
        if (phaseOf[q] === 'get') {
          next[1] = (next[1] + 1) & 0xff;
          next[ctl(a)] = next[1] === 1 ? c | OLD_V : c & ~OLD_V;
        } else {
          next[1] = (next[1] - 1) & 0xff;
        }
        return EV.STEP;
      }
      case 'check_load':
        next[ctl(a)] = word === bitOf(rctx) ? next[ctl(a)] | NEW_V : next[ctl(a)] & ~NEW_V;
        return EV.STEP;
      case 'check': {
        const ok = (c & NEW_V) !== 0;
        const old = (c & OLD_V) !== 0;
        next[ctl(a)] = (c & ~(NEW_V | OLD_V)) | (ok !== old ? MISMATCH : 0);
        return ok ? EV.OK : EV.RECURSION;
      }
    }
  };

  const step = (s: Int32Array, next: Int32Array, a: number, e: number): boolean => {
    const q = next[ctl(a)] & Q;
    const nq = m.next[q * E + e];
    if (nq < 0) return false;
    next[ctl(a)] = (next[ctl(a)] & ~Q) | nq;
    return true;
  };

  const system: TransitionSystem = {
    width,
    parallel: true,
    properties: RECURSION_PROPERTIES,
    initial(out) {
      out.fill(0);
      for (let a = 0; a < A; a++) out[ctl(a)] = m.initial | (a === 0 ? CURRENT : 0);
    },
    expand(s, next, sink) {
      // the running context executes its next instruction (or enters / returns)
      const r = running(s);
      const q = s[ctl(r)] & Q;
      const events = phaseOf[q] === 'body' ? [EV.RETURN, EV.ENTER] : [-1];
      for (const pick of events) {
        next.set(s);
        const e = pick < 0 ? execute(next, r) : pick;
        if (step(s, next, r, e)) sink(r);
      }
      // an interrupt of a higher level than every active one arrives and enters the program
      const top = topLevel(s);
      for (let a = T; a < A; a++) {
        if (rctxOf(a) <= top) continue;
        next.set(s);
        if (step(s, next, a, EV.ENTER)) sink(a);
      }
      // the scheduler switches tasks (no interrupt active, current task preemptible)
      if (T > 1 && top === 0 && !preemptOff[q]) {
        for (let t = 0; t < T; t++) {
          if (t === r) continue;
          next.set(s);
          next[ctl(r)] &= ~CURRENT;
          next[ctl(t)] |= CURRENT;
          sink(A + t);
        }
      }
    },
    violations(s) {
      let v = 0;
      let anyBusy = false;
      for (let a = 0; a < A; a++) {
        const c = s[ctl(a)];
        if (c & MISMATCH) v |= 1;
        if (busy[c & Q]) anyBusy = true;
      }
      if (!anyBusy && (s[0] !== 0 || s[1] !== 0)) v |= 2;
      return v;
    },
    canonicalize(s) {
      if (T > 1) sortRecords(s, base, T, 2);
    },
  };

  const stateText = (s: Int32Array, a: number): string => {
    const q = s[ctl(a)] & Q;
    const cur = a < T && T > 1 && s[ctl(a)] & CURRENT ? '*' : '';
    return `${actorName(a)}${cur}=${m.values[q]}${depthOf[q] > 1 ? `(depth ${depthOf[q]})` : ''}`;
  };
  const insnText = (insn: RecursionInsn, rctx: number): string =>
    `${insn.asm.replace('BIT(rctx*8)', `0x${bitOf(rctx).toString(16)}`).replace(/\brctx\b/, `#${rctx}`)}    ; ${insn.doc}`;

  return {
    model: 'recursion-detect',
    protocol: cfg.protocol,
    cpus: 1,
    config: { tasks: String(T), depth: String(D) },
    system,
    describe(before, after, action): StepView {
      if (action >= A) return { actor: 'scheduler', action: `preempts ${actorName(running(before))} and runs ${actorName(action - A)} (CONFIG_PREEMPT_RCU)` };
      const a = action;
      const q = before[ctl(a)] & Q;
      const nq = after[ctl(a)] & Q;
      const rctx = rctxOf(a);
      const insn = insnOf[q];
      let text: string;
      if (!insn) {
        if (phaseOf[q] === 'body' && m.values[nq] === 'put_0') text = 'the program returns: bpf_prog_put_recursion_context()';
        else if (phaseOf[q] === 'body') text = `the program calls a function this program is attached to: bpf_prog_get_recursion_context() again (rctx=${rctx})`;
        else if (a >= T) text = `interrupts ${actorName(running(before))}; the ${LEVEL_NAMES[rctx]} handler runs the program: bpf_prog_get_recursion_context() (rctx=${rctx})`;
        else text = `calls the traced function: bpf_prog_get_recursion_context() (rctx=${rctx})`;
      } else {
        text = insnText(insn, rctx);
        if (insn.op === 'load' || insn.op === 'add' || insn.op === 'sub') text += ` -> w9 = 0x${(after[reg(a)] >>> 0).toString(16)}`;
        if (insn.op === 'store' && phaseOf[q] === 'get') text += ` (old scheme: this_cpu_inc_return = ${after[1]})`;
        if (insn.op === 'check_load') text += ` -> val = 0x${(before[0] >>> 0).toString(16).padStart(8, '0')}`;
        if (insn.op === 'check') {
          const ok = (before[ctl(a)] & NEW_V) !== 0;
          const old = (before[ctl(a)] & OLD_V) !== 0;
          text += ` -> ${ok ? 'runs the program' : 'recursion: skips the program (misses++)'}; the old scheme ${old ? 'runs it' : 'reports recursion'}${ok !== old ? ' (THEY DISAGREE)' : ''}`;
        }
      }
      return { actor: actorName(a), action: `${text} -> ${m.values[nq]}` };
    },
    sites(s): SiteView[] {
      const w = s[0] >>> 0;
      const bytes = [0, 1, 2, 3].map((i) => byteOf(w, i));
      return [{ name: 'this_cpu_ptr(prog->active)', address: ACTIVE_ADDR, bytes: hexBytes(bytes), disasm: `active[] = {${bytes.join(', ')}}; old counter = ${s[1]}` }];
    },
    summary(s): string {
      return Array.from({ length: A }, (_, a) => stateText(s, a)).join(' ');
    },
  };
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
