/**
 * Model `tailcall-load-race`: the BUG_ON race between loading a
 * tail-calling program and updating its prog array, fixed by 4b7de801606e
 * "bpf: Fix prog_array_map_poke_run map poke update" (Jiri Olsa, Linux 6.7;
 * docs/reference-verdicts.md section 2, docs/kernel-facts.md 1.7, 1.8, 2.2, 3c).
 * The race is in every kernel from v5.5 (da765a2f5993, one poke site) to
 * v6.6: `--protocol v5.5` is the one-site form of v5.5 to v5.9 (the caller
 * emitted with the 5.5 profile: the v5.5 layout, poke->ip alone, which the
 * fixup pokes alone), `--protocol v5.10` the two-site form of v5.10 to v6.6
 * (ebf7d1f508a7).
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
 * Written on the typed model layer (src/model/): the state is the layout
 * below; the actors are the loader (cpu0) and the updating CPUs; P4 and S2
 * are predicates.
 */
import { BPF_TAIL_CALL_DIRECT_FIXUP, progLoadEvents, progLoadMachine, type LoadStepMeta } from '../src/arraymap/prog_load.js';
import { POKE_RETURNS, scriptText, updaterEvents, updaterMachine, type UpdaterStepMeta } from '../src/arraymap/updater.js';
import { compileMachine } from '../src/concurrency/compile.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type ModelConfig, type ModelDefinition } from '../src/concurrency/model.js';
import type { PropertySpec } from '../src/concurrency/system.js';
import { PROTOCOLS } from '../src/arraymap/poke_desc_update.js';
import { decodeInsn, DecodeError } from '../src/jit/x86/decode.js';
import { NOP5, emit_jump } from '../src/jit/x86/x86.js';
import { EINVAL, errnoName } from '../src/poke/errno.js';
import { BpfKallsyms } from '../src/poke/text.js';
import { poke_insn } from '../src/poke/text_poke.js';
import { checkableModel, defineLayout, DecodedSites, type Property, type TypedModel } from '../src/model/index.js';
import { actorPart, nextStepText, stateLine, updaterStateText } from '../src/model/state-text.js';
import { progName, scratchPoke, siteDecls, SITES, tailcallConfig, updaterActor, updaterTables, protocolFileOption, shippedEntry, stepSource } from './tailcall-common.js';
import { callerProfile, tailcallPokeWorld } from './tailcall-common.js';

export const LOAD_RACE_SCRIPT = 'install f1; update f2; remove';
const PROTOCOL_NAMES = ['v5.5', 'v5.10', 'v6.7'];

export const LOAD_RACE_PROPERTIES: readonly Omit<PropertySpec, 'checked'>[] = [
  { id: 'P4', description: 'no BUG_ON fires: every poke returns what its caller accepts (v5.5 and v5.10 tolerate -EINVAL, v6.7 nothing below 0)' },
  { id: 'S2', description: 'whenever poke_mutex is free, a tracked, stable descriptor\'s bytes encode ptrs[0]' },
];

type PokeMeta = Extract<UpdaterStepMeta, { op: 'poke' }>;

/**
 * The state: the loader's state, the caller's descriptor flags (tracked in poke_progs,
 * tailcall_target_stable, known to kallsyms), ptrs[0], both sites' contents; per updating CPU
 * (cpu1..) its updater state, whether it holds poke_mutex, whether its xchg is done (it is in
 * prog_array_map_poke_run until the unlock), and whether that walk found the descriptor. The
 * record's fields are in the order of the hand-packed model this replaced (same sort under
 * symmetry, same counterexamples).
 */
function loadRaceLayout(U: number) {
  return defineLayout({
    shared: { loader: 8, tracked: 1, stable: 1, kallsyms: 1, slot: 4, bypass: 8, target: 8 },
    cpus: { count: U, bits: 16, fields: { state: 12, locked: 1, xchged: 1, walk: 1 } },
  });
}

export function buildTailcallLoadRace(cfg: ModelConfig): TypedModel {
  const { protocol, script, progs: K } = tailcallConfig('tailcall-load-race', { ...cfg, options: { ...cfg.options, script: cfg.options.script ?? LOAD_RACE_SCRIPT } }, PROTOCOL_NAMES, 9, 15);
  const N = cfg.cpus;
  if (N < 2) throw new ModelConfigError('tailcall-load-race: --cpus must be at least 2 (cpu0 loads the caller, the others update the map)');
  const U = N - 1;

  // ---- the world: the caller's bytes, kallsyms without and with it, the actors' machines -----
  const world = tailcallPokeWorld(K, callerProfile(cfg.protocol, cfg.options['protocol-file']));
  const poke = world.caller.pokes[0];
  /** by the kallsyms field: the caller unknown to is_bpf_text_address (0), known (1) */
  const kallsymsOf = [new BpfKallsyms(), world.kallsyms];
  const ld = compileMachine(progLoadMachine, progLoadEvents(K));
  const up = compileMachine(updaterMachine(script, protocol), updaterEvents(K));
  if (ld.names.length > 256 || up.names.length >= 1 << 12) throw new Error('tailcall-load-race: machine too large to pack');
  const ldMeta = ld.meta.map((m) => m.step as LoadStepMeta);
  const ldHolds = ld.tags.map((t) => t.has('holds_poke_mutex'));
  const ldBug = ld.tags.map((t) => t.has('P4'));
  const ldSTEP = ld.eventIndex('STEP');
  /** v5.5's layout has no bypass site: its fixup is the target's poke alone. */
  const hasBypass = poke.tailcall_bypass !== 0n;
  const siteNames = hasBypass ? SITES : SITES.slice(1);
  const siteOf = (name: string): number => siteNames.indexOf(name);
  /** The loader's events, looked up once: what it read in ptrs[0], a fixup poke's return. */
  const ldReadPtrs = Array.from({ length: K + 1 }, (_, k) => ld.eventIndex(`READ_PTRS(prog=${k})`));
  const ldRetAt = POKE_RETURNS.map((r) => ld.eventIndex(`RET(ret=${r})`));
  /** The fixup's pokes as updater-style poke metas (old NULL, new = the target read under the mutex). */
  const ldPoke = ldMeta.map((m, l): PokeMeta | undefined =>
    m.op === 'fixup_poke'
      ? { op: 'poke', opIndex: -1, key: 0, step: BPF_TAIL_CALL_DIRECT_FIXUP[m.fixup!], old_prog: 0, new_prog: Number(ld.contexts[l].target), old_addr: 'NULL', new_addr: 'NULL', doc: m.doc }
      : undefined,
  );
  const upT = updaterTables(up);

  // ---- the sites and what ptrs[0] must look like ---------------------------------------------
  const sites = new DecodedSites('tailcall-load-race', siteDecls(world));
  const siteAddr = sites.sites.map((d) => d.address);
  /** enc(ptrs[0] = k): the content id each site must hold. */
  const encoding = Array.from({ length: K + 1 }, (_, k) => {
    const target = sites.intern(siteOf('tailcall_target'), k ? poke_insn(poke.tailcall_target, 'BPF_MOD_JUMP', world.progs[k - 1].bpf_func + BigInt(poke.adj_off))! : NOP5);
    return hasBypass ? [sites.intern(0, k ? NOP5 : emit_jump(siteAddr[0], poke.bypass_addr)), target] : [target];
  });

  // ---- the state -----------------------------------------------------------------------------
  const L = loadRaceLayout(U);
  const { loader, tracked, stable, kallsyms, slot } = L.shared;
  const content = hasBypass ? [L.shared.bypass, L.shared.target] : [L.shared.target];
  const { state, locked, xchged, walk } = L.cpu;
  const records = L.cpus!;
  /** Who holds poke_mutex: 0 the loader, i + 1 updater i, -1 nobody. */
  const mutexHolder = (s: Int32Array): number => {
    if (ldHolds[loader.get(s)]) return 0;
    for (let i = 0; i < U; i++) if (locked.get(s, i)) return i + 1;
    return -1;
  };

  /** A poke on content c with the caller known to kallsyms or not: its return and the content it leaves. Memoised per poking state (`who`: the loader's l, or K_LD + the updater's u). */
  const K_LD = ld.names.length;
  const pokeCache = new Map<number, { ret: number; content: number }>();
  const doPoke = (m: PokeMeta, who: number, c: number, ksym: number): { ret: number; content: number } => {
    const key = (who * 256 + c) * 2 + ksym;
    let r = pokeCache.get(key);
    if (r === undefined) {
      const st = siteOf(m.step.site);
      if (st < 0) throw new Error(`tailcall-load-race: ${m.step.site} is not a site of this layout`);
      const { ret, after } = scratchPoke(m, poke, siteAddr[st], sites.bytes(st, c), world.progs, kallsymsOf[ksym]);
      if (!POKE_RETURNS.includes(ret)) throw new Error(`tailcall-load-race: unexpected poke return ${ret}`);
      r = { ret, content: sites.intern(st, after) };
      pokeCache.set(key, r);
    }
    return r;
  };
  const pokeIn = (s: Int32Array, m: PokeMeta, who: number) => doPoke(m, who, content[siteOf(m.step.site)].get(s), kallsyms.get(s));
  /** Runs the poke `m` on the state in `next`; returns its value. */
  const applyPoke = (s: Int32Array, next: Int32Array, m: PokeMeta, who: number): number => {
    const { ret, content: c } = pokeIn(s, m, who);
    content[siteOf(m.step.site)].set(next, c);
    return ret;
  };

  // ---- the actors ----------------------------------------------------------------------------
  /** cpu0 runs the next step of loading, then releasing, the caller. */
  const loaderStep = (s: Int32Array, next: Int32Array): boolean => {
    const l = loader.get(s);
    const m = ldMeta[l];
    if (m.op === 'done' || m.op === 'bug') return false;
    if (m.lock && mutexHolder(s) >= 0) return false;
    let ev = ldSTEP;
    switch (m.op) {
      case 'track':
        tracked.set(next, 1);
        break;
      case 'fixup_lock':
        ev = ldReadPtrs[slot.get(s)];
        break;
      case 'fixup_poke':
        ev = ldRetAt[POKE_RETURNS.indexOf(applyPoke(s, next, ldPoke[l]!, l))];
        break;
      case 'stable':
        stable.set(next, 1);
        break;
      case 'kallsyms_add':
        kallsyms.set(next, 1);
        break;
      case 'kallsyms_del':
        kallsyms.set(next, 0);
        break;
      case 'untrack':
        tracked.set(next, 0);
        break;
      default:
        break;
    }
    let nl = moveOrThrow(ld, l, ev, 'tailcall-load-race: loader');
    // v5.5's bpf_tail_call_direct_fixup pokes poke->ip alone: no bypass poke follows the target's
    if (!hasBypass && ldMeta[nl].op === 'fixup_poke' && ldPoke[nl]!.step.site === 'tailcall_bypass') nl = moveOrThrow(ld, nl, ldRetAt[POKE_RETURNS.indexOf(0)], 'tailcall-load-race: loader');
    loader.set(next, nl);
    return true;
  };

  /** Drives an updater machine past the steps of bpf_arch_poke_desc_update when the walk finds no descriptor. */
  const skipWalk = (u: number): number => {
    for (;;) {
      const op = upT.meta[u].op;
      const ev = op === 'poke' ? upT.retEvent(1) : op === 'sync_start' ? upT.evSTEP : op === 'sync_wait' ? upT.evGP : -1;
      if (ev < 0) return u;
      u = moveOrThrow(up, u, ev, 'tailcall-load-race: updater');
    }
  };

  /** Updating CPU i + 1 runs the next step of its map script: mutex_lock, xchg and the walk, the walk's pokes, mutex_unlock, the put. */
  const updaterStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const g = records.get(s, i);
    const u = state.of(g);
    const m = upT.meta[u];
    if (xchged.of(g) && (m.op === 'xchg' || m.op === 'put' || m.op === 'done')) {
      records.set(next, i, state.with(0, u)); // mutex_unlock: prog_array_map_poke_run is over
      return true;
    }
    if (m.op === 'xchg' && !locked.of(g)) {
      if (mutexHolder(s) >= 0) return false;
      locked.set(next, i, 1); // mutex_lock
      return true;
    }
    let ev: number;
    switch (m.op) {
      case 'xchg': {
        // prog_array_map_poke_run: the tracking list and tailcall_target_stable only change under poke_mutex, so the walk is decided here
        const walks = tracked.get(s) === 1 && stable.get(s) === 1;
        slot.set(next, m.new_prog);
        let nu = moveOrThrow(up, u, upT.xchgEvent(slot.get(s)), 'tailcall-load-race: updater');
        if (!walks) nu = skipWalk(nu);
        records.set(next, i, walk.with(xchged.with(locked.with(state.with(0, nu), 1), 1), walks ? 1 : 0));
        return true;
      }
      case 'poke':
        ev = upT.retEvent(applyPoke(s, next, m, K_LD + u));
        break;
      case 'sync_start':
      case 'put':
        ev = upT.evSTEP;
        break;
      case 'sync_wait':
        ev = upT.evGP;
        break;
      default:
        return false;
    }
    state.set(next, i, moveOrThrow(up, u, ev, 'tailcall-load-race: updater'));
    return true;
  };

  // ---- the properties ------------------------------------------------------------------------
  const properties: Property[] = [
    {
      ...LOAD_RACE_PROPERTIES[0],
      violated: (s) => {
        if (ldBug[loader.get(s)]) return true;
        for (let i = 0; i < U; i++) if (upT.bug[state.get(s, i)]) return true;
        return false;
      },
    },
    {
      ...LOAD_RACE_PROPERTIES[1],
      violated: (s) => {
        if (mutexHolder(s) >= 0 || !tracked.get(s) || !stable.get(s)) return false;
        const enc = encoding[slot.get(s)];
        return content.some((c, st) => c.get(s) !== enc[st]);
      },
    },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const pokeText = (ret: number, m: PokeMeta, bug: boolean): string => {
    let t = ` = ${errnoName(ret)}`;
    if (ret === -EINVAL && !bug) t += ' (is_bpf_text_address: not in kallsyms; tolerated, the poke is skipped)';
    if (bug) t += ` -> BUG_ON(${m.step.bug_on})`;
    return t;
  };
  const insnText = (st: number, c: number): string => {
    try {
      return decodeInsn(sites.bytes(st, c), siteAddr[st]).text;
    } catch (e) {
      if (e instanceof DecodeError) return e.message;
      throw e;
    }
  };
  const describeLoader = (before: Int32Array, after: Int32Array): string => {
    const l = loader.get(before);
    const m = ldMeta[l];
    let text = m.doc;
    if (m.op === 'fixup_lock') text += ` = ${progName(slot.get(before))}${slot.get(before) ? '' : ': nothing to poke'}`;
    if (m.op === 'fixup_poke') {
      const pm = ldPoke[l]!;
      text = text.replace('target+off', `${progName(pm.new_prog)}+off`);
      text += pokeText(pokeIn(before, pm, l).ret, pm, ldBug[loader.get(after)]);
    }
    return text;
  };
  const describeUpdater = (before: Int32Array, after: Int32Array, i: number): string => {
    const g = records.get(before, i);
    const ng = records.get(after, i);
    const u = state.of(g);
    const m = upT.meta[u];
    if (xchged.of(g) && !xchged.of(ng)) return 'prog_array_map_poke_run done: mutex_unlock(&aux->poke_mutex)';
    if (!locked.of(g) && locked.of(ng)) return 'mutex_lock(&aux->poke_mutex)';
    let text = m.doc;
    if (m.op === 'xchg') {
      text += ` -> old = ${progName(slot.get(before))}`;
      text += walk.of(ng) ? '; prog_array_map_poke_run: the caller\'s descriptor is tracked and stable' : `; prog_array_map_poke_run: no tracked, stable descriptor on key 0 (${tracked.get(before) ? 'tailcall_target_stable not set yet' : 'the caller is not tracked'}): nothing poked`;
    }
    if (m.op === 'poke') text += pokeText(pokeIn(before, m, K_LD + u).ret, m, upT.bug[state.of(ng)]);
    return text;
  };

  return checkableModel({
    model: 'tailcall-load-race',
    protocol: protocol.name,
    cpus: N,
    config: { script: scriptText(script) },
    layout: L,
    initial(s) {
      loader.set(s, ld.initial);
      content.forEach((c, st) => c.set(s, sites.initial[st]));
      for (let i = 0; i < U; i++) state.set(s, i, up.initial);
    },
    steps: [
      { actor: 'loader', next: loaderStep },
      { actor: 'updater', count: U, next: updaterStep },
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'loader') return { actor: 'cpu0 (load)', action: describeLoader(before, after) };
      const m = upT.meta[state.get(before, a.i)];
      // the protocol's own steps name their line in a protocol file; the lock and unlock are the model's
      const own = locked.get(before, a.i) === locked.get(after, a.i) && xchged.get(before, a.i) === xchged.get(after, a.i);
      const source = own && (m.op === 'poke' || m.op === 'sync_start' || m.op === 'sync_wait') ? stepSource(m.source) : undefined;
      return { actor: `cpu${a.i + 1} (map update)`, action: describeUpdater(before, after, a.i), source };
    },
    sites: (s) => content.map((c, st) => ({ ...sites.view(st, c.get(s)), disasm: insnText(st, c.get(s)) })),
    summary(s) {
      const flags = [tracked.get(s) ? 'tracked' : 'untracked', stable.get(s) ? 'stable' : 'not stable', kallsyms.get(s) ? 'in kallsyms' : 'not in kallsyms'];
      const holder = mutexHolder(s);
      const ups = Array.from({ length: U }, (_, i) => {
        const g = records.get(s, i);
        const u = state.of(g);
        const m = upT.meta[u];
        // the walk is over (the machine may already be at the next operation's xchg): the unlock is the model's step
        if (xchged.of(g) && (m.op === 'xchg' || m.op === 'put' || m.op === 'done')) return actorPart(`cpu${i + 1} (map update)`, 'prog_array_map_poke_run done: next mutex_unlock(&aux->poke_mutex)');
        const next = m.op === 'xchg' && !locked.of(g) ? 'next mutex_lock(&aux->poke_mutex)' : undefined;
        return actorPart(`cpu${i + 1} (map update)`, updaterStateText(up.names[u], m, script, { next }));
      });
      return stateLine([`ptrs[0]=${progName(slot.get(s))}`, `the caller's poke descriptor ${flags.join(', ')}`, `poke_mutex ${holder < 0 ? 'free' : `held by cpu${holder}`}`, actorPart('cpu0 (load)', nextStepText(ld, loader.get(s))), ...ups]);
    },
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      return [
        { name: 'loader', title: 'cpu0 loading, then releasing, the tail-calling program (src/arraymap/prog_load.ts)', machine: progLoadMachine, events: progLoadEvents(K), violationTags: bad },
        updaterActor('updater', `Each map-updating CPU: "${scriptText(script)}" under ${cfg.protocol} (src/arraymap/updater.ts)`, script, protocol, K, bad),
      ];
    },
  });
}

export const tailcallLoadRace: ModelDefinition = {
  name: 'tailcall-load-race',
  summary: 'loading a tail-calling program (track, JIT fixup, kallsyms add; release) while other CPUs update its prog array: the BUG_ON of every kernel from v5.5 to v6.6, fixed by 4b7de801606e (v6.7)',
  protocols: PROTOCOL_NAMES.map((p) => shippedEntry(p, PROTOCOLS[p].summary)),
  defaultProtocol: 'v5.10',
  defaultCpus: 2,
  options: [{ name: 'script', default: LOAD_RACE_SCRIPT, description: 'the map operations each updating CPU runs' }, protocolFileOption(PROTOCOL_NAMES)],
  reference: [
    { protocol: 'v5.10', cpus: 2, expected: 'violated', expectedViolated: ['P4', 'S2'] },
    { protocol: 'v6.7', cpus: 2, expected: 'holds' },
    { protocol: 'v5.10', cpus: 3, expected: 'violated', expectedViolated: ['P4', 'S2'] },
    { protocol: 'v6.7', cpus: 3, expected: 'holds' },
    // the same race on v5.5's one site (da765a2f5993's walk tolerates -EINVAL alike; facts, errata)
    { protocol: 'v5.5', cpus: 2, expected: 'violated', expectedViolated: ['P4', 'S2'] },
    { protocol: 'v5.5', cpus: 3, expected: 'violated', expectedViolated: ['P4', 'S2'] },
  ],
  build: buildTailcallLoadRace,
};
