/**
 * How a model's state line (`summary`: the CLI's "final state", the report's
 * step panels, SARIF's thread-flow state) names what each actor is doing: in
 * kernel terms, never the name of a compiled machine state.
 *
 * A state line is the shared state, then one part per actor, `actor: text`,
 * joined by `; `, e.g.
 *
 *   site C; ptrs[0]=NULL; f1 live, fd open; cpu0: fell through the target nop
 *   on an unwound frame; updater: map_delete_elem(key 0), old f1: next bpf_prog_put(f1)
 *
 * - the updater of a prog array (src/arraymap/updater.ts, user-space.ts): the
 *   map operation it is in (`map_update_elem(key 0, f2)`, `map_delete_elem(key 0)`),
 *   the old value once its xchg is done, and the kernel step it takes next;
 * - a CPU or task running the direct tail call (src/concurrency/cpu.ts,
 *   task.ts): where it is in the caller's code;
 * - any other actor: the kernel step it takes next, from its machine's `doc`.
 */
import type { ResolvedAddr, ScriptOp, UpdaterStepMeta } from '../arraymap/updater.js';
import type { CompiledMachine } from '../concurrency/compile.js';

/** A state line from its parts (empty parts left out). */
export function stateLine(parts: readonly string[]): string {
  return parts.filter(Boolean).join('; ');
}

/** What a poke's address puts at the site: NULL the 5-byte nop, bypass_addr the jump out, f2+off a jump into f2. */
function insnAt(a: ResolvedAddr): string {
  if (a === 'NULL') return 'nop';
  if (a === 'bypass_addr') return 'jmp out';
  if (a === 'current') return 'whatever it holds';
  return `jmp ${a.replace(/\+off$/, '')}`;
}

const progText = (k: number): string => (k ? `f${k}` : 'NULL');

/**
 * The updater in state `name` (meta `m`), e.g. `map_update_elem(key 0, f2), old f1: next
 * bpf_arch_text_poke(tailcall_target, jmp f1 -> jmp f2)`. `ops` is the script, when there is one
 * (it gives an operation's key); user space doing any operation uses key 0. `inPoke`: the updater is
 * inside that poke (the byte level writes it in several steps), and what it does next there; `next`:
 * the model's own next step (e.g. the mutex_lock a model adds around the xchg).
 */
export function updaterStateText(name: string, m: UpdaterStepMeta, ops?: readonly ScriptOp[], opts: { inPoke?: string; next?: string } = {}): string {
  const inPoke = opts.inPoke;
  if (m.op === 'choose') return 'user space, between two system calls';
  if (m.op === 'done') return 'done: no map operation left';
  if (m.op === 'bug') return 'BUG_ON: a poke found bytes it did not expect; the kernel oopsed';
  const op = /^(?:op\d+_)?(?:update_f(\d+)|(delete))(?:\/old_f(\d+))?/.exec(name);
  const key = ops?.[m.opIndex]?.key ?? ('key' in m ? m.key : 0);
  const call = !op ? 'a map operation' : op[2] ? `map_delete_elem(key ${key})` : `map_update_elem(key ${key}, f${op[1]})`;
  const old = op?.[3] !== undefined ? `, old ${progText(Number(op[3]))}` : '';
  let next: string;
  switch (m.op) {
    case 'get_ptr':
      next = `next prog_fd_array_get_ptr(f${m.new_prog}): may the map take it?`;
      break;
    case 'xchg':
      next = `next old = xchg(&ptrs[${key}], ${progText(m.new_prog)})`;
      break;
    case 'poke':
      next = `${inPoke ? 'in' : 'next'} ${m.step.via}(${m.step.site}, ${insnAt(m.old_addr)} -> ${insnAt(m.new_addr)})${inPoke ? `, ${inPoke}` : ''}`;
      break;
    case 'sync_start':
      next = 'next synchronize_rcu()';
      break;
    case 'sync_wait':
      next = 'in synchronize_rcu(), waiting for the readers it started with';
      break;
    case 'put':
      next = `next bpf_prog_put(f${m.prog})`;
      break;
  }
  return `${call}${old}: ${opts.next ?? next}`;
}

/**
 * A CPU (or task) of the direct tail call, by its machine state's value and context
 * (src/concurrency/cpu.ts, task.ts): e.g. `at tailcall_target on an unwound frame`.
 */
export function tailcallCpuText(value: string, ctx: Readonly<Record<string, unknown>>): string {
  const prog = Number(ctx.prog ?? 0);
  const val = Number(ctx.val ?? 0);
  switch (value) {
    case 'idle':
      return 'outside the caller';
    case 'bypass':
      return 'in the caller, at tailcall_bypass';
    case 'unwind':
      return 'ran the bypass nop, unwinding its frame';
    case 'target':
      return 'at tailcall_target on an unwound frame';
    case 'fell_through':
      return 'fell through the target nop on an unwound frame';
    case 'in_prog':
      return `in ${progText(prog)}, tail-called`;
    case 'asleep':
      return `in ${progText(prog)}, tail-called, asleep in a helper`;
    case 'load':
      return 'in the caller, at the indirect tail call: next reads ptrs[0]';
    case 'loaded':
      return `read ptrs[0] = ${progText(val)}: next unwinds and jumps`;
    default:
      return value;
  }
}

/** Any actor: the kernel step it takes next, from its machine state's meta (`doc`, or `step.doc`). */
export function nextStepText(m: CompiledMachine, q: number): string {
  const meta = m.meta[q] as { doc?: unknown; step?: { doc?: unknown } };
  const doc = typeof meta.step === 'object' && meta.step && typeof meta.step.doc === 'string' ? meta.step.doc : typeof meta.doc === 'string' ? meta.doc : null;
  return doc === null ? m.values[q] : `next ${doc}`;
}

/** `cpu0: text (mark, mark)`. */
export function actorPart(actor: string, text: string, marks: readonly string[] = []): string {
  const m = marks.filter(Boolean);
  return `${actor}: ${text}${m.length ? ` (${m.join(', ')})` : ''}`;
}

/** A CPU's marks that are RCU's: `synchronize_rcu() waits for it` (it was a reader when the grace period started). */
export const GP_WAITS = 'synchronize_rcu() waits for it';

/** Program k's life (LIFE_NAMES order: live, dying, freed), and user space's fd of it when the model tracks it. */
export function progLifeText(k: number, life: number, fd?: boolean): string {
  const l = life === 0 ? 'live' : life === 1 ? 'put, freed after a grace period' : 'freed';
  return `f${k} ${l}${fd === undefined ? '' : fd ? ', fd open' : ', fd closed'}`;
}
