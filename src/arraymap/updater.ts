/**
 * The updater: a user thread running a script of prog-array operations, as
 * an xstate machine generated from the script and the protocol's step list
 * (poke_desc_update.ts). One state per atomic kernel step:
 *
 *   xchg (bpf_fd_array_map_update_elem / fd_array_map_delete_elem, under
 *   poke_mutex) -> each step of bpf_arch_poke_desc_update -> bpf_prog_put(old)
 *
 * `synchronize_rcu()` is two states: the grace period starts (the model notes
 * which CPUs are readers) and it returns (enabled once they all have left).
 * The machine's events carry what the kernel step returned (the old pointer
 * of the xchg, the poke's return value), so guards such as `BUG_ON(ret < 0)`
 * and `if (!ret) synchronize_rcu()` are evaluated by xstate itself.
 */
import { createMachine, type EventObject } from 'xstate';
import { EBUSY, EINVAL, ERANGE } from '../poke/errno.js';
import { bugOn, type PokeProtocol, type PokeStep, type StepSource, type SymAddr } from './poke_desc_update.js';

export interface ScriptOp {
  /** `update` writes `prog` into `key` (install when the slot is empty); `delete` empties it. */
  readonly op: 'update' | 'delete';
  readonly key: number;
  /** 1-based program number (f1, f2, ...) for `update`. */
  readonly prog: number;
}

export const DEFAULT_SCRIPT = 'install f1; update f2; remove; install f3';

export class ScriptError extends Error {}

/** Parses `install f1; update f2; remove; install f3` (key 0; `remove`/`delete` take an optional key: `remove 1`, `install f2@1`). */
export function parseScript(text: string): ScriptOp[] {
  const ops: ScriptOp[] = [];
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(install|update|remove|delete)(?:\s+(?:f(\d+)(?:@(\d+))?|(\d+)))?$/.exec(part);
    if (!m) throw new ScriptError(`bad script operation '${part}' (expected install fN, update fN, remove)`);
    const [, verb, prog, keyAt, keyAlone] = m;
    if (verb === 'install' || verb === 'update') {
      if (!prog || keyAlone) throw new ScriptError(`'${part}': ${verb} needs a program, e.g. ${verb} f1`);
      const k = Number(prog);
      if (k < 1 || k > 7) throw new ScriptError(`'${part}': programs are f1..f7`);
      ops.push({ op: 'update', key: keyAt ? Number(keyAt) : 0, prog: k });
    } else {
      if (prog) throw new ScriptError(`'${part}': ${verb} takes a key, not a program`);
      ops.push({ op: 'delete', key: keyAlone ? Number(keyAlone) : 0, prog: 0 });
    }
  }
  if (ops.length === 0) throw new ScriptError('empty script');
  return ops;
}

export function scriptText(ops: readonly ScriptOp[]): string {
  return ops.map((o) => (o.op === 'update' ? `update f${o.prog}${o.key ? `@${o.key}` : ''}` : `remove${o.key ? ` ${o.key}` : ''}`)).join('; ');
}

export function scriptPrograms(ops: readonly ScriptOp[]): number {
  return Math.max(0, ...ops.map((o) => o.prog));
}

/** A resolved address in a step's meta: NULL, the out label, or program k's tail-call entry. */
export type ResolvedAddr = 'NULL' | 'bypass_addr' | 'current' | `f${number}+off`;

export type UpdaterStepMeta =
  | { op: 'get_ptr'; opIndex: number; key: number; new_prog: number; doc: string }
  | { op: 'xchg'; opIndex: number; key: number; new_prog: number; doc: string }
  | { op: 'poke'; opIndex: number; key: number; step: PokeStep; old_prog: number; new_prog: number; old_addr: ResolvedAddr; new_addr: ResolvedAddr; doc: string; source?: StepSource }
  | { op: 'sync_start'; opIndex: number; old_prog?: number; doc: string; source?: StepSource }
  | { op: 'sync_wait'; opIndex: number; old_prog?: number; doc: string; source?: StepSource }
  | { op: 'put'; opIndex: number; prog: number; last_ref: boolean | 'if-unreferenced'; doc: string }
  | { op: 'choose'; doc: string }
  | { op: 'done'; doc: string }
  | { op: 'bug'; doc: string };

export const POKE_RETURNS: readonly number[] = [0, 1, -EBUSY, -EINVAL, -ERANGE];

/**
 * Options of the generated updater:
 * - `ownerCheck`: each update first runs `prog_fd_array_get_ptr`, whose
 *   `bpf_prog_map_compatible(map, prog)` may refuse the program: event
 *   `COMPAT(ok=0)`, the update fails with -EINVAL and the map is untouched
 *   (map_owner.ts says when). Without it every update goes straight to the xchg.
 */
export interface UpdaterOptions {
  ownerCheck?: boolean;
}

export function updaterEvents(progs: number, opts: UpdaterOptions = {}): EventObject[] {
  const evs: EventObject[] = [{ type: 'STEP' }, { type: 'GP_DONE' }];
  for (let k = 0; k <= progs; k++) evs.push({ type: 'XCHG_OLD', old: k } as EventObject);
  for (const r of POKE_RETURNS) evs.push({ type: 'RET', ret: r } as EventObject);
  if (opts.ownerCheck) evs.push({ type: 'COMPAT', ok: 0 } as EventObject, { type: 'COMPAT', ok: 1 } as EventObject);
  return evs;
}

function resolve(a: SymAddr | 'current', old: number, new_: number): ResolvedAddr {
  if (a === 'old') return old ? `f${old}+off` : 'NULL';
  if (a === 'new') return new_ ? `f${new_}+off` : 'NULL';
  return a;
}

export type StateConfig = Record<string, unknown>;

/**
 * The states of one map operation `o` (named from `base`): the xchg under
 * poke_mutex, then for each old value the protocol's steps and
 * `bpf_prog_put(old)`, then `after`. `lastRef(old)` says whether that put
 * drops the last reference: true/false when the caller knows (a script),
 * 'if-unreferenced' when the model decides at run time (any sequence).
 */
export function mapOpStates(
  states: Record<string, StateConfig>,
  o: ScriptOp,
  i: number,
  base: string,
  progs: number,
  protocol: PokeProtocol,
  after: string,
  lastRef: (old: number) => boolean | 'if-unreferenced',
): void {
  const xchgOn: Record<string, unknown>[] = [];
  for (let old = 0; old <= progs; old++) {
    const steps = protocol.steps(old !== 0, o.prog !== 0);
    const prefix = `${base}/old_f${old}`;
    const names = steps.map((s, j) => `${prefix}/${j}_${s.kind === 'poke' ? `poke_${s.site}` : 'synchronize_rcu'}`);
    const putName = `${prefix}/bpf_prog_put`;
    const afterSteps = old ? putName : after;
    const nameAt = (j: number): string => (j < steps.length ? names[j] : afterSteps);
    xchgOn.push({ guard: ({ event }: { event: { old: number } }) => event.old === old, target: nameAt(0) });
    steps.forEach((s, j) => {
      if (s.kind === 'poke') {
        const meta: UpdaterStepMeta = {
          op: 'poke',
          opIndex: i,
          key: o.key,
          step: s,
          old_prog: old,
          new_prog: o.prog,
          old_addr: resolve(s.old_addr, old, o.prog),
          new_addr: resolve(s.new_addr, old, o.prog),
          doc: `bpf_arch_poke_desc_update: ${s.via}(${s.site}${o.key ? ` of key ${o.key}` : ''}, BPF_MOD_JUMP, ${resolve(s.old_addr, old, o.prog)}, ${resolve(s.new_addr, old, o.prog)})`,
          source: s.source,
        };
        const next = steps[j + 1];
        const skipSync = next && next.kind === 'synchronize_rcu' && next.only_if_previous_wrote;
        states[names[j]] = {
          meta: { step: meta },
          on: {
            RET: [
              { guard: ({ event }: { event: { ret: number } }) => bugOn(s, event.ret), target: 'bug' },
              ...(skipSync ? [{ guard: ({ event }: { event: { ret: number } }) => event.ret !== 0, target: nameAt(j + 2) }] : []),
              { target: nameAt(j + 1) },
            ],
          },
        };
      } else {
        const wait = `${names[j]}/wait`;
        states[names[j]] = {
          meta: { step: { op: 'sync_start', opIndex: i, old_prog: old, doc: 'synchronize_rcu(): a grace period starts', source: s.source } satisfies UpdaterStepMeta },
          on: { STEP: wait },
        };
        states[wait] = {
          meta: { step: { op: 'sync_wait', opIndex: i, old_prog: old, doc: 'synchronize_rcu() returns: every CPU that was a reader at its start has left', source: s.source } satisfies UpdaterStepMeta },
          on: { GP_DONE: nameAt(j + 1) },
        };
      }
    });
    if (old) {
      const last_ref = lastRef(old);
      states[putName] = {
        meta: {
          step: {
            op: 'put',
            opIndex: i,
            prog: old,
            last_ref,
            doc: `bpf_prog_put(f${old})${last_ref === true ? ': last reference; freed after a grace period' : ''}`,
          } satisfies UpdaterStepMeta,
        },
        on: { STEP: after },
      };
    }
  }
  states[`${base}/xchg`] = {
    meta: {
      step: {
        op: 'xchg',
        opIndex: i,
        key: o.key,
        new_prog: o.prog,
        doc: o.op === 'update' ? `bpf_fd_array_map_update_elem: old = xchg(&ptrs[${o.key}], f${o.prog})` : `fd_array_map_delete_elem: old = xchg(&ptrs[${o.key}], NULL)`,
      } satisfies UpdaterStepMeta,
    },
    on: { XCHG_OLD: xchgOn },
  };
}

/**
 * Builds the updater machine for `script` under `protocol`. A program's
 * reference from the user (its fd) is held until its last use in the
 * script, so the put of an old program drops the last reference iff the
 * script never installs it again.
 */
export function updaterMachine(script: readonly ScriptOp[], protocol: PokeProtocol, opts: UpdaterOptions = {}) {
  const progs = scriptPrograms(script);
  const states: Record<string, StateConfig> = {};
  const usedLater = (prog: number, i: number): boolean => script.slice(i + 1).some((o) => o.prog === prog);
  const opName = (i: number): string => {
    const o = script[i];
    return o.op === 'update' ? `op${i}_update_f${o.prog}` : `op${i}_delete`;
  };
  const checks = (i: number): boolean => opts.ownerCheck === true && script[i].op === 'update';
  const opStart = (i: number): string => (i < script.length ? `${opName(i)}/${checks(i) ? 'get_ptr' : 'xchg'}` : 'done');
  script.forEach((o, i) => {
    const base = opName(i);
    mapOpStates(states, o, i, base, progs, protocol, opStart(i + 1), (old) => !usedLater(old, i) && old !== o.prog);
    if (checks(i)) {
      states[`${base}/get_ptr`] = {
        meta: {
          step: {
            op: 'get_ptr',
            opIndex: i,
            key: o.key,
            new_prog: o.prog,
            doc: `prog_fd_array_get_ptr: bpf_prog_map_compatible(map, f${o.prog})`,
          } satisfies UpdaterStepMeta,
        },
        on: {
          COMPAT: [
            { guard: ({ event }: { event: { ok: number } }) => event.ok === 1, target: `${base}/xchg` },
            { target: opStart(i + 1) },
          ],
        },
      };
    }
  });
  states.done = { type: 'final', meta: { step: { op: 'done', doc: 'the script is done' } satisfies UpdaterStepMeta } };
  states.bug = {
    type: 'final',
    tags: ['P4'],
    meta: { step: { op: 'bug', doc: 'BUG_ON: a poke found unexpected bytes; the kernel oopses' } satisfies UpdaterStepMeta },
  };
  return createMachine({ id: 'updater', initial: opStart(0), states } as never);
}
