/**
 * Model `tailcall-load-race`: the v5.10 BUG_ON race between loading a
 * tail-calling program and updating its prog array, fixed by 4b7de801606e
 * "bpf: Fix prog_array_map_poke_run map poke update" (Jiri Olsa, Linux 6.7;
 * docs/reference-verdicts.md section 2, docs/kernel-facts.md 1.7, 1.8, 2.2, 3c).
 *
 * Actors:
 * - cpu0 loads and then releases the caller (src/arraymap/prog_load.ts):
 *   `prog_array_map_poke_track`; `bpf_tail_call_direct_fixup` under
 *   poke_mutex (reads ptrs[0]; if set, C -> D -> B through
 *   `__bpf_arch_text_poke`; sets `tailcall_target_stable`); only then
 *   `bpf_prog_kallsyms_add`. Release: `bpf_prog_kallsyms_del_all`, then
 *   `prog_array_map_poke_untrack`.
 * - cpu1..cpuN-1 each run the map script (src/arraymap/updater.ts, the
 *   protocol's step list): `mutex_lock(poke_mutex)` (a step enabled only
 *   while the mutex is free), `xchg`, `prog_array_map_poke_run` (which pokes
 *   only a tracked descriptor whose `tailcall_target_stable` is set; the
 *   tracking list and the flag only change under poke_mutex, so the walk is
 *   decided at the xchg), `mutex_unlock`, `bpf_prog_put(old)`.
 *
 * `--protocol v5.10`: the pokes go through `bpf_arch_text_poke`, which
 * returns -EINVAL while `is_bpf_text_address` does not know the image (before
 * kallsyms_add, after kallsyms_del), and the caller tolerates it:
 * `BUG_ON(ret < 0 && ret != -EINVAL)`. `--protocol v6.7`:
 * `bpf_arch_poke_desc_update` through `__bpf_arch_text_poke`, `BUG_ON(ret < 0)`.
 * Both are PROTOCOLS[...] in src/arraymap/poke_desc_update.ts.
 *
 * Properties:
 * - P4: no BUG_ON fires (every poke returns what its caller accepts);
 * - S2 (facts 8): whenever poke_mutex is free, a tracked descriptor whose
 *   tailcall_target_stable is set has the bytes that encode ptrs[0]
 *   (empty: bypass `jmp out`, target nop5; f: bypass nop5, target `jmp f+11`).
 *
 * Abstracted: no CPU executes the caller (the race is between the loader and
 * the updaters; tailcall-poke covers executors), so synchronize_rcu() returns
 * at once and program lifetimes are not tracked; a poke is one atomic step.
 *
 * Packed state (Int32 words):
 *   w0: loader state (8 bits) | tracked (1) | stable (1) | in kallsyms (1) | ptrs[0] (4)
 *   w1: bypass content id (8) | target content id (8)
 *   w2..: one 16-bit field per updater: its machine state (12) | holds poke_mutex (1) | xchg done (1) | descriptor in the walk (1)
 */
import { BPF_TAIL_CALL_DIRECT_FIXUP, progLoadEvents, progLoadMachine, type LoadStepMeta } from '../src/arraymap/prog_load.js';
import type { BpfProg } from '../src/arraymap/prog.js';
import { POKE_RETURNS, scriptText, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import { decodeInsn, DecodeError } from '../src/jit/x86/decode.js';
import { NOP5, X86_PATCH_SIZE, emit_jump, hexAddr } from '../src/jit/x86/x86.js';
import { EINVAL } from '../src/poke/errno.js';
import { errnoName } from '../src/poke/errno.js';
import { BpfKallsyms } from '../src/poke/text.js';
import { poke_insn } from '../src/poke/text_poke.js';
import { scratchPoke, SITES, tailcallConfig, updaterTables } from './tailcall-common.js';
import { tailcallPokeWorld } from './tailcall-common.js';

export const LOAD_RACE_SCRIPT = 'install f1; update f2; remove';
const PROTOCOL_NAMES = ['v5.10', 'v6.7'];

export const LOAD_RACE_PROPERTIES: readonly Omit<PropertySpec, 'checked'>[] = [
  { id: 'P4', description: 'no BUG_ON fires: every poke returns what its caller accepts (v5.10 tolerates -EINVAL, v6.7 nothing below 0)' },
  { id: 'S2', description: 'whenever poke_mutex is free, a tracked, stable descriptor\'s bytes encode ptrs[0]' },
];

export function buildTailcallLoadRace(cfg: ModelConfig): CheckableModel {
  const { protocol, script, progs: K } = tailcallConfig('tailcall-load-race', { ...cfg, options: { script: cfg.options.script ?? LOAD_RACE_SCRIPT } }, PROTOCOL_NAMES, 9, 15);
  const N = cfg.cpus;
  if (N < 2) throw new ModelConfigError('tailcall-load-race: --cpus must be at least 2 (cpu0 loads the caller, the others update the map)');
  const U = N - 1;

  const world = tailcallPokeWorld(K);
  const poke = { ...world.caller.pokes[0] };
  const siteAddr = [poke.tailcall_bypass, poke.tailcall_target];
  const kallsyms = [new BpfKallsyms(), new BpfKallsyms()];
  kallsyms[1].bpf_prog_kallsyms_add('caller', world.caller.address, world.caller.bytes.length);

  const ld = compileMachine(progLoadMachine, progLoadEvents(K));
  const up = compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  if (ld.names.length > 256 || up.names.length >= 1 << 12) throw new Error('tailcall-load-race: machine too large to pack');
  const ldMeta = ld.meta.map((m) => m.step as LoadStepMeta);
  const ldHolds = ld.tags.map((t) => t.has('holds_poke_mutex'));
  const ldBug = ld.tags.map((t) => t.has('P4'));
  const LE = ld.events.length;
  const ldSTEP = ld.eventIndex('STEP');
  /** The fixup's pokes as updater-style poke metas (old NULL, new = the target read under the mutex). */
  const ldPoke = ldMeta.map((m, l): Extract<UpdaterStepMeta, { op: 'poke' }> | undefined =>
    m.op === 'fixup_poke'
      ? { op: 'poke', opIndex: -1, key: 0, step: BPF_TAIL_CALL_DIRECT_FIXUP[m.fixup!], old_prog: 0, new_prog: Number(ld.contexts[l].target), old_addr: 'NULL', new_addr: 'NULL', doc: m.doc }
      : undefined,
  );
  const { meta: upMeta, bug: upBug, evSTEP, evGP, evXchg, evRet, site: upSite } = updaterTables(up);
  const UE = up.events.length;

  // ---- site contents and what ptrs[0] must look like ----------------------------------------
  const contents = [0, 1].map((s) => new BytesInterner(256, `tailcall-load-race: ${SITES[s]} contents`));
  const initialContent = [0, 1].map((s) => contents[s].intern(world.text.read(siteAddr[s], X86_PATCH_SIZE)));
  /** enc(ptrs[0] = k): the content id each site must hold. */
  const encoding = Array.from({ length: K + 1 }, (_, k) => [
    contents[0].intern(k ? NOP5 : emit_jump(siteAddr[0], poke.bypass_addr)),
    contents[1].intern(k ? poke_insn(siteAddr[1], 'BPF_MOD_JUMP', world.progs[k - 1].bpf_func + BigInt(poke.adj_off))! : NOP5),
  ]);
  const pokeCache = new Map<string, { ret: number; content: number }>();
  const doPoke = (m: Extract<UpdaterStepMeta, { op: 'poke' }>, c: number, ksym: number): { ret: number; content: number } => {
    const key = `${m.step.site}|${m.step.old_addr}|${m.step.new_addr}|${m.step.via}|${m.old_prog}|${m.new_prog}|${c}|${ksym}`;
    let r = pokeCache.get(key);
    if (r === undefined) {
      const s = SITES.indexOf(m.step.site);
      const { ret, after } = scratchPoke(m, poke, siteAddr[s], contents[s].bytes(c), world.progs, kallsyms[ksym]);
      if (!POKE_RETURNS.includes(ret)) throw new Error(`tailcall-load-race: unexpected poke return ${ret}`);
      r = { ret, content: contents[s].intern(after) };
      pokeCache.set(key, r);
    }
    return r;
  };

  // ---- packing ----------------------------------------------------------------------------------
  const fields = new CpuFields(U, 2, 16);
  const U_MASK = 0xfff;
  const LOCKED = 1 << 12;
  const XCHGED = 1 << 13;
  const WALK = 1 << 14;
  const TRACKED = 1 << 8;
  const STABLE = 1 << 9;
  const KSYM = 1 << 10;
  const ldOf = (s: Int32Array): number => s[0] & 0xff;
  const slotOf = (s: Int32Array): number => (s[0] >>> 11) & 0xf;
  const setLd = (s: Int32Array, l: number): void => {
    s[0] = (s[0] & ~0xff) | l;
  };
  const setSlot = (s: Int32Array, k: number): void => {
    s[0] = (s[0] & ~(0xf << 11)) | (k << 11);
  };
  const contentOf = (s: Int32Array, site: number): number => (s[1] >>> (site * 8)) & 0xff;
  const setContent = (s: Int32Array, site: number, c: number): void => {
    s[1] = (s[1] & ~(0xff << (site * 8))) | (c << (site * 8));
  };
  const mutexHolder = (s: Int32Array): number => {
    if (ldHolds[ldOf(s)]) return 0;
    for (let i = 0; i < U; i++) if (fields.get(s, i) & LOCKED) return i + 1;
    return -1;
  };
  const scratch: number[] = new Array(U).fill(0);

  /** Runs the poke at site of `m` in `next`; returns its value. */
  const applyPoke = (s: Int32Array, next: Int32Array, m: Extract<UpdaterStepMeta, { op: 'poke' }>): number => {
    const st = SITES.indexOf(m.step.site);
    const { ret, content } = doPoke(m, contentOf(s, st), s[0] & KSYM ? 1 : 0);
    setContent(next, st, content);
    return ret;
  };

  const loaderStep = (s: Int32Array, next: Int32Array): boolean => {
    const l = ldOf(s);
    const m = ldMeta[l];
    if (m.op === 'done' || m.op === 'bug') return false;
    if (m.lock && mutexHolder(s) >= 0) return false;
    next.set(s);
    let ev = ldSTEP;
    switch (m.op) {
      case 'track':
        next[0] |= TRACKED;
        break;
      case 'fixup_lock':
        ev = ld.eventIndex(`READ_PTRS(prog=${slotOf(s)})`);
        break;
      case 'fixup_poke':
        ev = ld.eventIndex(`RET(ret=${applyPoke(s, next, ldPoke[l]!)})`);
        break;
      case 'stable':
        next[0] |= STABLE;
        break;
      case 'kallsyms_add':
        next[0] |= KSYM;
        break;
      case 'kallsyms_del':
        next[0] &= ~KSYM;
        break;
      case 'untrack':
        next[0] &= ~TRACKED;
        break;
      default:
        break;
    }
    const nl = ld.next[l * LE + ev];
    if (nl < 0) throw new Error(`tailcall-load-race: loader in ${ld.names[l]} has no move for ${ld.eventNames[ev]}`);
    setLd(next, nl);
    return true;
  };

  /** Drives an updater machine past the steps of bpf_arch_poke_desc_update when the walk finds no descriptor. */
  const skipWalk = (u: number): number => {
    for (;;) {
      const op = upMeta[u].op;
      const ev = op === 'poke' ? evRet(1) : op === 'sync_start' ? evSTEP : op === 'sync_wait' ? evGP : -1;
      if (ev < 0) return u;
      u = up.next[u * UE + ev];
    }
  };

  const updaterStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const g = fields.get(s, i);
    const u = g & U_MASK;
    const m = upMeta[u];
    let ng = g;
    next.set(s);
    if (g & XCHGED && (m.op === 'xchg' || m.op === 'put' || m.op === 'done')) {
      ng = g & ~(LOCKED | XCHGED | WALK); // mutex_unlock
    } else if (m.op === 'xchg' && !(g & LOCKED)) {
      if (mutexHolder(s) >= 0) return false;
      ng = g | LOCKED; // mutex_lock
    } else {
      let ev: number;
      switch (m.op) {
        case 'xchg': {
          const walk = (s[0] & TRACKED) !== 0 && (s[0] & STABLE) !== 0;
          setSlot(next, m.new_prog);
          let nu = up.next[u * UE + evXchg(slotOf(s))];
          if (!walk) nu = skipWalk(nu);
          fields.set(next, i, (nu | LOCKED | XCHGED | (walk ? WALK : 0)) >>> 0);
          return true;
        }
        case 'poke':
          ev = evRet(applyPoke(s, next, m));
          break;
        case 'sync_start':
        case 'put':
          ev = evSTEP;
          break;
        case 'sync_wait':
          ev = evGP;
          break;
        default:
          return false;
      }
      const nu = up.next[u * UE + ev];
      if (nu < 0) throw new Error(`tailcall-load-race: updater in ${up.names[u]} has no move for ${up.eventNames[ev]}`);
      ng = (g & ~U_MASK) | nu;
    }
    fields.set(next, i, ng);
    return true;
  };

  const system: TransitionSystem = {
    width: 2 + fields.words,
    properties: LOAD_RACE_PROPERTIES.map((p) => ({ ...p, checked: true })),
    initial(out) {
      out.fill(0);
      setLd(out, ld.initial);
      setContent(out, 0, initialContent[0]);
      setContent(out, 1, initialContent[1]);
      for (let i = 0; i < U; i++) fields.set(out, i, up.initial);
    },
    expand(s, next, sink) {
      if (loaderStep(s, next)) sink(0);
      for (let i = 0; i < U; i++) if (updaterStep(s, next, i)) sink(i + 1);
    },
    violations(s) {
      let v = ldBug[ldOf(s)] ? 1 : 0;
      for (let i = 0; i < U; i++) if (upBug[fields.get(s, i) & U_MASK]) v |= 1;
      if (mutexHolder(s) < 0 && s[0] & TRACKED && s[0] & STABLE) {
        const enc = encoding[slotOf(s)];
        if (contentOf(s, 0) !== enc[0] || contentOf(s, 1) !== enc[1]) v |= 2;
      }
      return v;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  // ---- printing ---------------------------------------------------------------------------------
  const progName = (k: number): string => (k ? `f${k}` : 'NULL');
  const pokeResult = (ret: number, m: Extract<UpdaterStepMeta, { op: 'poke' }>, bug: boolean): string => {
    let t = ` = ${errnoName(ret)}`;
    if (ret === -EINVAL && !bug) t += ' (is_bpf_text_address: not in kallsyms; tolerated, the poke is skipped)';
    if (bug) t += ` -> BUG_ON(${m.step.bug_on})`;
    return t;
  };
  const insnText = (st: number, c: number): string => {
    try {
      return decodeInsn(contents[st].bytes(c), siteAddr[st]).text;
    } catch (e) {
      if (e instanceof DecodeError) return e.message;
      throw e;
    }
  };

  return {
    model: 'tailcall-load-race',
    protocol: cfg.protocol,
    cpus: N,
    config: { script: scriptText(script) },
    system,
    describe(before, after, action): StepView {
      if (action === 0) {
        const l = ldOf(before);
        const m = ldMeta[l];
        let text = m.doc;
        if (m.op === 'fixup_lock') text += ` = ${progName(slotOf(before))}${slotOf(before) ? '' : ': nothing to poke'}`;
        if (m.op === 'fixup_poke') {
          const pm = ldPoke[l]!;
          text = text.replace('target+off', `${progName(pm.new_prog)}+off`);
          text += pokeResult(doPoke(pm, contentOf(before, SITES.indexOf(pm.step.site)), before[0] & KSYM ? 1 : 0).ret, pm, ldBug[ldOf(after)]);
        }
        return { actor: 'cpu0 (load)', action: text };
      }
      const g = fields.get(before, action - 1);
      const ng = fields.get(after, action - 1);
      const m = upMeta[g & U_MASK];
      let text: string;
      if (g & XCHGED && !(ng & XCHGED)) text = 'prog_array_map_poke_run done: mutex_unlock(&aux->poke_mutex)';
      else if (!(g & LOCKED) && ng & LOCKED) text = 'mutex_lock(&aux->poke_mutex)';
      else {
        text = m.doc;
        if (m.op === 'xchg') {
          text += ` -> old = ${progName(slotOf(before))}`;
          text += ng & WALK ? '; prog_array_map_poke_run: the caller\'s descriptor is tracked and stable' : `; prog_array_map_poke_run: no tracked, stable descriptor on key 0 (${before[0] & TRACKED ? 'tailcall_target_stable not set yet' : 'the caller is not tracked'}): nothing poked`;
        }
        if (m.op === 'poke') text += pokeResult(doPoke(m, contentOf(before, upSite[g & U_MASK]), before[0] & KSYM ? 1 : 0).ret, m, upBug[ng & U_MASK]);
      }
      return { actor: `cpu${action} (map update)`, action: text };
    },
    sites(s): SiteView[] {
      return [0, 1].map((st) => {
        const c = contentOf(s, st);
        return { name: SITES[st], address: hexAddr(siteAddr[st]), bytes: contents[st].hex(c), disasm: insnText(st, c) };
      });
    },
    summary(s): string {
      const flags = [s[0] & TRACKED ? 'tracked' : 'untracked', s[0] & STABLE ? 'stable' : 'not stable', s[0] & KSYM ? 'in kallsyms' : 'not in kallsyms'];
      const holder = mutexHolder(s);
      const ups = Array.from({ length: U }, (_, i) => `cpu${i + 1}=${up.names[fields.get(s, i) & U_MASK]}`);
      return `ptrs[0]=${progName(slotOf(s))} caller: ${flags.join(', ')}; poke_mutex ${holder < 0 ? 'free' : `held by cpu${holder}`}; cpu0=${ld.names[ldOf(s)]} ${ups.join(' ')}`;
    },
  };
}

export const tailcallLoadRace: ModelDefinition = {
  name: 'tailcall-load-race',
  summary: 'loading a tail-calling program (track, JIT fixup, kallsyms add; release) while other CPUs update its prog array: the BUG_ON fixed by 4b7de801606e',
  protocols: PROTOCOL_NAMES.map((p) => ({ name: p, summary: PROTOCOLS[p].summary })),
  defaultProtocol: 'v5.10',
  defaultCpus: 2,
  options: [{ name: 'script', default: LOAD_RACE_SCRIPT, description: 'the map operations each updating CPU runs' }],
  reference: [
    { protocol: 'v5.10', cpus: 2, expected: 'violated', expectedViolated: ['P4', 'S2'] },
    { protocol: 'v6.7', cpus: 2, expected: 'holds' },
    { protocol: 'v5.10', cpus: 3, expected: 'violated', expectedViolated: ['P4', 'S2'] },
    { protocol: 'v6.7', cpus: 3, expected: 'holds' },
  ],
  build: buildTailcallLoadRace,
};
