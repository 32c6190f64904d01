/**
 * Model `arm64-poke`: one arm64 BPF patch site, N CPUs executing it, one
 * patcher attaching and detaching (docs/kernel-facts.md section 5;
 * docs/reference-verdicts.md section 3 for P5).
 *
 * arm64 pokes a live instruction with `aarch64_insn_patch_text_nosync`: one
 * aligned 32-bit store and an icache flush, no int3, no IPI, no
 * stop_machine. That is enough because (1) an A64 instruction is one
 * aligned word, so one single-copy-atomic store replaces it whole, and (2)
 * ARMv8 ARM B2.6.5 ("Concurrent modification and execution of
 * instructions") promises that a CPU executing the word while it is
 * overwritten executes either the old or the new instruction, provided both
 * are B, BL, NOP, BKPT, SVC, HVC or SMC (`aarch64_insn_hotpatch_safe`).
 * x86 has neither: a poked instruction is 5 bytes at any alignment (it may
 * straddle a fetch block or a cache line), no store writes 5 bytes
 * atomically, and the SDM (Vol. 3A "Handling Self- and Cross-Modifying
 * Code") guarantees nothing to a CPU that is not serialized; so x86 writes
 * int3 over the first byte, syncs every CPU, writes the tail, syncs, writes
 * the first byte (`text_poke_bp`, facts section 4).
 *
 * The model is at the byte level: the site is 4 bytes in memory, each
 * store step writes what it writes, and a CPU fetches the site as one
 * aligned word (`--fetch word`, the architecture) or byte by byte
 * (`--fetch byte`, no fetch atomicity: the x86 assumption). Protocols:
 * `nosync` (the kernel: one 32-bit store) and `byte-copy` (the same poke
 * written a byte at a time). P5 holds only for nosync with word fetch; each
 * of the other combinations prints the torn word a CPU executes. `--level
 * insn` is the instruction-level abstraction (the site holds one
 * instruction; a poke and a fetch are one step each), allowed only with
 * nosync and word fetch.
 *
 * P5 is judged per fetch: the executed word must be a content the site
 * settled on between the fetch's first byte and its execution (before or
 * after a completed poke), or the new word of the poke in flight.
 *
 * Addresses are illustrative (an image in the arm64 BPF region, BTI on so
 * POKE_OFFSET = 2); the freplace targets sit at +0x1000 and +0x3000 from the
 * site and the trampolines at +0x2000 and +0x4000, so `b fext1` is the
 * facts doc's `b .+0x1000` = `00 04 00 14`.
 *
 * Written on the typed model layer (src/model/): the state is the layout
 * below, the actors are the CPUs and the patcher, P5 is a predicate.
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { BytesInterner } from '../src/concurrency/interner.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type StateGroup } from '../src/concurrency/model.js';
import type { PropertySpec } from '../src/concurrency/system.js';
import { AARCH64_BTI_C, AARCH64_INSN_SIZE, AARCH64_NOP, AARCH64_PACIASP, a64Bytes, a64Word, decodeA64 } from '../src/jit/arm64/insn.js';
import { hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { checkableModel, defineLayout, type Property } from '../src/model/index.js';
import { actorPart, nextStepText, stateLine } from '../src/model/state-text.js';
import { ARM64_PATCH_METHODS, POKE_OFFSET, bpf_arch_text_poke_plan, doStore, patchStores, type Arm64PatchMethod } from '../src/poke/aarch64_patch.js';
import { ARM64_CPU_EVENTS, PATCHER_EVENTS, arm64CpuMachine, arm64PatcherMachine, type Arm64Fetch, type Arm64Poke, type PatcherStepMeta } from '../src/poke/arm64-actors.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';

export const ARM64_IMAGE = 0xffff80008f3a0000n;
/** The start of the image (facts section 5 prologue with BTI and PAC): bti c; mov x9, x30; nop; paciasp; stp; mov; stp; mov. */
const PROLOGUE = [AARCH64_BTI_C, 0xaa1e03e9, AARCH64_NOP, AARCH64_PACIASP, 0xa9bf7bfd, 0x910003fd, 0xa9bf6bff, 0x910003fa];
export const ARM64_SITE = ARM64_IMAGE + BigInt(POKE_OFFSET * AARCH64_INSN_SIZE);
export const ARM64_TARGETS: Readonly<Record<string, bigint>> = {
  fext1: ARM64_SITE + 0x1000n,
  tramp1: ARM64_SITE + 0x2000n,
  fext2: ARM64_SITE + 0x3000n,
  tramp2: ARM64_SITE + 0x4000n,
};
export const ARM64_DEFAULT_SCRIPT = 'b fext1; nop; bl tramp1; nop';

export const ARM64_PROPERTIES: readonly PropertySpec[] = [
  { id: 'P5', description: 'every instruction a CPU executes at the patch site is exactly the old or the new instruction (never a torn word)', checked: true },
];

/**
 * Parses `b fext1; nop; bl tramp1; nop`: each item is what the site becomes;
 * each change is one `bpf_arch_text_poke` (nop <-> b is BPF_MOD_JUMP, nop
 * <-> bl is BPF_MOD_CALL; b <-> bl directly is not one call).
 */
export function parseArm64Script(text: string): Arm64Poke[] {
  const pokes: Arm64Poke[] = [];
  let cur: { insn: 'nop' | 'b' | 'bl'; target: string | null } = { insn: 'nop', target: null };
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(nop|b|bl)(?:\s+(\w+))?$/.exec(part);
    if (!m || (m[1] === 'nop') !== (m[2] === undefined)) throw new ModelConfigError(`arm64-poke: bad script item '${part}' (expected nop, b <target> or bl <target>)`);
    const insn = m[1] as 'nop' | 'b' | 'bl';
    const target = m[2] ?? null;
    if (target !== null && ARM64_TARGETS[target] === undefined) throw new ModelConfigError(`arm64-poke: unknown target '${target}' (targets: ${Object.keys(ARM64_TARGETS).join(', ')})`);
    if (insn !== 'nop' && cur.insn !== 'nop' && insn !== cur.insn) throw new ModelConfigError(`arm64-poke: '${cur.insn} -> ${insn}' is not one bpf_arch_text_poke (go through nop)`);
    const branch = insn === 'nop' ? cur.insn : insn;
    if (branch !== 'nop') pokes.push({ type: branch === 'bl' ? 'BPF_MOD_CALL' : 'BPF_MOD_JUMP', old_target: cur.target, new_target: target });
    cur = { insn, target };
  }
  if (pokes.length === 0) throw new ModelConfigError('arm64-poke: the script pokes nothing');
  if (pokes.length > 14) throw new ModelConfigError('arm64-poke: at most 14 pokes');
  return pokes;
}

function arm64World(): { text: TextMemory; kallsyms: BpfKallsyms } {
  const text = new TextMemory();
  text.map('prog', ARM64_IMAGE, PROLOGUE.flatMap(a64Bytes));
  const kallsyms = new BpfKallsyms();
  kallsyms.bpf_prog_kallsyms_add('prog', ARM64_IMAGE, PROLOGUE.length * AARCH64_INSN_SIZE);
  return { text, kallsyms };
}

/** What a sequential run of the script leaves at the site after each poke: settled[0] is the initial nop. */
export function settledWords(pokes: readonly Arm64Poke[]): number[] {
  const { text, kallsyms } = arm64World();
  const addr = (t: string | null): bigint | null => (t === null ? null : ARM64_TARGETS[t]);
  const out = [a64Word(text.read(ARM64_SITE, AARCH64_INSN_SIZE))];
  for (const p of pokes) {
    const plan = bpf_arch_text_poke_plan(text, kallsyms, ARM64_IMAGE, p.type, addr(p.old_target), addr(p.new_target));
    if (plan.ret !== 0) throw new ModelConfigError(`arm64-poke: the script's poke ${p.type} ${p.old_target} -> ${p.new_target} fails on its own (${plan.ret})`);
    if ('write' in plan && plan.write) doStore(text, plan.ip, plan.new_insn, { offset: 0, len: 4, doc: '' });
    out.push(a64Word(text.read(ARM64_SITE, AARCH64_INSN_SIZE)));
  }
  return out;
}

/** The state: the patcher's machine state and the site's content (an id); per CPU its executor state, the settled content its fetch started at (an index into the script's words) and the bytes fetched so far (an id). */
function arm64PokeLayout(N: number) {
  return defineLayout({
    shared: { patcher: 8, content: 8 },
    cpus: { count: N, bits: 16, fields: { q: 4, start: 4, prefix: 8 } },
  });
}

export function buildArm64Poke(cfg: ModelConfig): CheckableModel {
  const method = cfg.protocol as Arm64PatchMethod;
  if (!ARM64_PATCH_METHODS.includes(method)) throw new ModelConfigError(`arm64-poke: unknown protocol '${cfg.protocol}'`);
  const level = cfg.options.level ?? 'byte';
  const fetch = (cfg.options.fetch ?? 'word') as Arm64Fetch;
  if (level !== 'byte' && level !== 'insn') throw new ModelConfigError(`arm64-poke: --level must be insn or byte, got '${level}'`);
  if (fetch !== 'word' && fetch !== 'byte') throw new ModelConfigError(`arm64-poke: --fetch must be word or byte, got '${fetch}'`);
  if (level === 'insn' && (method !== 'nosync' || fetch !== 'word')) {
    throw new ModelConfigError('arm64-poke: --level insn means one atomic store and one atomic fetch (nosync, --fetch word); use --level byte');
  }
  const N = cfg.cpus;
  if (!Number.isInteger(N) || N < 1 || N > 8) throw new ModelConfigError(`arm64-poke: --cpus must be 1..8, got ${cfg.cpus}`);
  const script = cfg.options.script ?? ARM64_DEFAULT_SCRIPT;
  const pokes = parseArm64Script(script);
  const settled = settledWords(pokes);
  const { text: baseText, kallsyms } = arm64World();

  // ---- the world: the actors' machines, the site's contents --------------------------------
  const cpu = compileMachine(arm64CpuMachine(fetch), ARM64_CPU_EVENTS);
  const pat = compileMachine(arm64PatcherMachine(pokes, method), PATCHER_EVENTS);
  if (cpu.names.length > 16 || pat.names.length > 256) throw new Error('arm64-poke: machine too large to pack');
  const EV = { torn: cpu.eventIndex('TORN'), nop: cpu.eventIndex('EXEC_NOP'), b: cpu.eventIndex('EXEC_B'), bl: cpu.eventIndex('EXEC_BL'), fetchByte: cpu.eventIndex('FETCH_BYTE') };
  const PAT = { step: pat.eventIndex('STEP'), write: pat.eventIndex('WRITE'), noWrite: pat.eventIndex('NO_WRITE') };
  const cpuInternal = cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1));
  const cpuFetches = cpu.meta.map((m) => m.fetch === 'site');
  const cpuGot = cpu.contexts.map((c) => Number(c.got));
  const cpuTorn = cpu.tags.map((t) => t.has('P5'));
  const patMeta = pat.meta.map((m) => m.step as PatcherStepMeta);
  const stores = patchStores(method);

  /** Site contents (words) and fetched prefixes, numbered. */
  const contents = new BytesInterner(256, 'arm64-poke: site contents');
  const prefixes = new BytesInterner(256, 'arm64-poke: fetched prefixes');
  prefixes.intern([]);
  const intern = (w: number): number => contents.intern(a64Bytes(w));
  const wordOf = (c: number): number => a64Word(contents.bytes(c));
  const initialContent = intern(settled[0]);

  /** Per patcher state: how many pokes are complete, and whether one is in flight (its check done, its stores not all done). */
  const pokesDone = patMeta.map((m) => (m.op === 'done' ? pokes.length : m.poke));
  const pokeInFlight = patMeta.map((m) => m.op === 'store');
  /** Whether word w is one the site settled on from settled[start] on, or the new word of the poke in flight (P5). */
  const legit = (start: number, u: number, w: number): boolean => {
    const last = pokesDone[u] + (pokeInFlight[u] ? 1 : 0);
    for (let j = start; j <= last; j++) if (settled[j] === w) return true;
    return false;
  };
  const execEvent = (w: number, ok: boolean): number => {
    if (!ok) return EV.torn;
    const k = decodeA64(w, ARM64_SITE).kind;
    if (k === 'nop') return EV.nop;
    if (k === 'b') return EV.b;
    if (k === 'bl') return EV.bl;
    throw new Error(`arm64-poke: the site settled on ${decodeA64(w, ARM64_SITE).text}`);
  };

  /** The patcher's steps on the site, through the real bpf_arch_text_poke plan and stores, memoised by (poke, store, content). */
  const siteText = (c: number): TextMemory => {
    const t = baseText.clone();
    t.write(ARM64_SITE, contents.bytes(c));
    return t;
  };
  const addr = (t: string | null): bigint | null => (t === null ? null : ARM64_TARGETS[t]);
  const checkCache = new Map<number, boolean>();
  const checkWrites = (i: number, c: number): boolean => {
    const key = i * 256 + c;
    let w = checkCache.get(key);
    if (w === undefined) {
      const p = pokes[i];
      const plan = bpf_arch_text_poke_plan(siteText(c), kallsyms, ARM64_IMAGE, p.type, addr(p.old_target), addr(p.new_target));
      w = plan.ret === 0 && 'write' in plan && plan.write;
      checkCache.set(key, w);
    }
    return w;
  };
  const storeCache = new Map<number, number>();
  const storeResult = (i: number, k: number, c: number): number => {
    const key = (i * 8 + k) * 256 + c;
    let r = storeCache.get(key);
    if (r === undefined) {
      const t = siteText(c);
      doStore(t, ARM64_SITE, settled[i + 1], stores[k]);
      r = intern(a64Word(t.read(ARM64_SITE, AARCH64_INSN_SIZE)));
      storeCache.set(key, r);
    }
    return r;
  };

  // ---- the state ---------------------------------------------------------------------------
  const L = arm64PokeLayout(N);
  const { patcher, content } = L.shared;
  const { q, start, prefix } = L.cpu;

  // ---- the actors --------------------------------------------------------------------------
  /** The word CPU i executes after fetching byte `got` of content c (byte fetch: the prefix it holds and that byte). */
  const fetchedWord = (s: Int32Array, i: number, got: number, c: number): number => (fetch === 'word' ? wordOf(c) : a64Word([...prefixes.bytes(prefix.get(s, i)), contents.bytes(c)[got]]));

  /** CPU i fetches (the word, or its next byte) and executes what it fetched once it has it all; writes its record's start and prefix into `next`, returns its machine's event. */
  const fetchStep = (s: Int32Array, next: Int32Array, i: number, qq: number): number => {
    const u = patcher.get(s);
    const c = content.get(s);
    const got = cpuGot[qq];
    const from = got === 0 ? pokesDone[u] : start.get(s, i);
    if (fetch === 'byte' && got < AARCH64_INSN_SIZE - 1) {
      start.set(next, i, from);
      prefix.set(next, i, prefixes.intern([...prefixes.bytes(prefix.get(s, i)), contents.bytes(c)[got]]));
      return EV.fetchByte;
    }
    const w = fetchedWord(s, i, got, c);
    start.set(next, i, 0);
    prefix.set(next, i, 0);
    return execEvent(w, legit(from, u, w));
  };

  /** CPU i's next step: a fetch at the patch site, or its machine's own step (branch taken, returns). */
  const cpuStep = (s: Int32Array, next: Int32Array, i: number): boolean => {
    const qq = q.get(s, i);
    let e: number;
    if (cpuFetches[qq]) e = fetchStep(s, next, i, qq);
    else {
      e = cpuInternal[qq];
      if (e < 0) return false;
      start.set(next, i, 0);
      prefix.set(next, i, 0);
    }
    q.set(next, i, moveOrThrow(cpu, qq, e, `arm64-poke: cpu${i}`));
    return true;
  };

  /** The patcher's next step: a poke's check (does bpf_arch_text_poke write?) or one of its stores. */
  const patcherStep = (s: Int32Array, next: Int32Array): boolean => {
    const u = patcher.get(s);
    const m = patMeta[u];
    if (m.op === 'done') return false;
    const c = content.get(s);
    let e = PAT.step;
    if (m.op === 'check') e = checkWrites(m.poke, c) ? PAT.write : PAT.noWrite;
    else content.set(next, storeResult(m.poke, m.store, c));
    patcher.set(next, moveOrThrow(pat, u, e, 'arm64-poke: patcher'));
    return true;
  };

  // ---- the property --------------------------------------------------------------------------
  const properties: Property[] = [
    {
      ...ARM64_PROPERTIES[0],
      cpus: 1, // a torn fetch is one CPU's
      violated(s) {
        for (let i = 0; i < N; i++) if (cpuTorn[q.get(s, i)]) return true;
        return false;
      },
    },
  ];

  // ---- printing ------------------------------------------------------------------------------
  const wordText = (w: number): string => `${decodeA64(w, ARM64_SITE).text} [${hexBytes(a64Bytes(w))}]`;
  const describeCpu = (before: Int32Array, after: Int32Array, i: number): string => {
    const qq = q.get(before, i);
    const nq = q.get(after, i);
    if (!cpuFetches[qq]) return `${String(cpu.meta[qq].doc)} -> ${cpu.values[nq]}`;
    const got = cpuGot[qq];
    const c = content.get(before);
    const byte = hexBytes([contents.bytes(c)[got]]);
    if (cpu.values[nq] === 'fetch') return `fetches byte ${got} of the patch site: ${byte}`;
    const how = fetch === 'word' ? `fetches the word at the patch site ${hexAddr(ARM64_SITE)}` : `fetches byte ${got} (${byte}) and executes what it fetched`;
    const verdict = cpuTorn[nq] ? ': neither the old nor the new instruction (torn)' : '';
    return `${how}: ${wordText(fetchedWord(before, i, got, c))}${verdict} -> ${cpu.values[nq]}`;
  };
  const describePatcher = (before: Int32Array): string => {
    const m = patMeta[patcher.get(before)];
    if (m.op !== 'check') return m.doc;
    return `${m.doc}${checkWrites(m.poke, content.get(before)) ? ' yes: writes' : ' nothing to write'}`;
  };

  /** The picture's groups: the instruction the site holds (named by the script's targets), or a torn word between two of them. */
  const settledName = settled.map((w, j) => {
    const d = decodeA64(w, ARM64_SITE);
    const t = j > 0 ? pokes[j - 1].new_target : null;
    return d.kind === 'nop' || !t ? d.text : `${d.kind} ${t}`;
  });
  const group = (s: Int32Array): StateGroup => {
    const w = wordOf(content.get(s));
    const j = settled.indexOf(w);
    const bytes = hexBytes(a64Bytes(w));
    if (j >= 0) return { name: settledName[j], doc: `patch_site holds ${decodeA64(w, ARM64_SITE).text.replace(/\s+/g, ' ')} [${bytes}]`, forbidden: false };
    const m = patMeta[patcher.get(s)];
    const from = m.op === 'store' ? settledName[m.poke] : '?';
    const to = m.op === 'store' ? settledName[m.poke + 1] : '?';
    return { name: `${from} → ${to}`, doc: `patch_site mid-${method}: a torn word, neither the old nor the new instruction`, forbidden: false };
  };

  return checkableModel({
    model: 'arm64-poke',
    protocol: cfg.protocol,
    cpus: N,
    config: { level, fetch, script },
    layout: L,
    initial(s) {
      patcher.set(s, pat.initial);
      content.set(s, initialContent);
      for (let i = 0; i < N; i++) q.set(s, i, cpu.initial);
    },
    steps: [
      { actor: 'cpu', count: N, next: cpuStep },
      { actor: 'patcher', next: patcherStep },
    ],
    properties,
    symmetry: 'cpus',
    describe(before, after, a) {
      if (a.actor === 'cpu') return { actor: `cpu${a.i}`, action: describeCpu(before, after, a.i) };
      return describePatcher(before);
    },
    sites(s) {
      const w = wordOf(content.get(s));
      return [{ name: 'patch_site', address: hexAddr(ARM64_SITE), bytes: hexBytes(a64Bytes(w)), disasm: decodeA64(w, ARM64_SITE).text }];
    },
    group,
    summary(s) {
      const cpus = Array.from({ length: N }, (_, i) => {
        const qq = q.get(s, i);
        const v = cpu.values[qq];
        const text = v === 'fetch' ? 'at the patch site, fetching it' : v === 'torn' ? 'executed a torn word; stuck' : nextStepText(cpu, qq);
        return actorPart(`cpu${i}`, text, [cpuFetches[qq] && cpuGot[qq] > 0 ? `fetched ${prefixes.hex(prefix.get(s, i))} so far` : '']);
      });
      return stateLine([...cpus, actorPart('patcher', nextStepText(pat, patcher.get(s)))]);
    },
    actorMachines() {
      const bad = new Set(properties.map((p) => p.id));
      return [
        { name: 'cpu', title: 'CPU fetching the patch site (src/poke/arm64-actors.ts)', machine: arm64CpuMachine(fetch), events: ARM64_CPU_EVENTS, violationTags: bad },
        { name: 'patcher', title: `bpf_arch_text_poke calls, ${cfg.protocol} (src/poke/arm64-actors.ts)`, machine: arm64PatcherMachine(pokes, method), events: PATCHER_EVENTS },
      ];
    },
  });
}

export const arm64Poke: ModelDefinition = {
  name: 'arm64-poke',
  summary: 'one arm64 BPF patch site (nop <-> b/bl), N CPUs fetching and executing it, one patcher calling bpf_arch_text_poke',
  protocols: [
    { name: 'nosync', summary: 'aarch64_insn_patch_text_nosync: the new word written with one aligned 32-bit store, then an icache flush; no int3, no IPI' },
    { name: 'byte-copy', summary: 'broken: the same poke written a byte at a time (a byte-wise memcpy over live text)' },
  ],
  defaultProtocol: 'nosync',
  defaultCpus: 2,
  options: [
    { name: 'level', values: ['byte', 'insn'], default: 'byte', description: 'byte: the site is 4 bytes in memory and every store and fetch acts on bytes; insn: one instruction, atomic poke and fetch' },
    { name: 'fetch', values: ['word', 'byte'], default: 'word', description: 'how a CPU fetches the site: word (one aligned 32-bit fetch, the architecture) or byte (one byte at a time, no fetch atomicity)' },
    { name: 'script', default: ARM64_DEFAULT_SCRIPT, description: 'what the site becomes, poke by poke, e.g. "b fext1; nop; bl tramp1; nop"' },
  ],
  reference: [
    { protocol: 'nosync', cpus: 2, options: { level: 'byte' }, expected: 'holds' },
    { protocol: 'nosync', cpus: 3, options: { level: 'byte' }, expected: 'holds' },
    { protocol: 'byte-copy', cpus: 1, options: { level: 'byte' }, expected: 'violated', expectedViolated: ['P5'] },
    { protocol: 'nosync', cpus: 1, options: { level: 'byte', fetch: 'byte' }, expected: 'violated', expectedViolated: ['P5'] },
    // every number of CPUs, by the checked cutoff (docs/proofs.md)
    { protocol: 'nosync', cpus: 2, every: true, options: { level: 'byte' }, expected: 'holds' },
    { protocol: 'byte-copy', cpus: 2, every: true, options: { level: 'byte' }, expected: 'violated', expectedViolated: ['P5'] },
  ],
  build: buildArm64Poke,
};
