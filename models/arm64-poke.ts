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
 * Packed state: w0 = patcher state (8 bits) | site content id (8);
 * one 16-bit field per CPU: executor state (4) | index of the settled
 * content at its fetch's first byte (4) | id of the bytes fetched so far (8).
 */
import { compileMachine } from '../src/concurrency/compile.js';
import { CpuFields } from '../src/concurrency/cpu-fields.js';
import { moveOrThrow } from '../src/concurrency/machine-step.js';
import { ModelConfigError, type CheckableModel, type ModelConfig, type ModelDefinition, type SiteView, type StepView } from '../src/concurrency/model.js';
import type { PropertySpec, TransitionSystem } from '../src/concurrency/system.js';
import { AARCH64_BTI_C, AARCH64_INSN_SIZE, AARCH64_NOP, AARCH64_PACIASP, a64Bytes, a64Word, decodeA64 } from '../src/jit/arm64/insn.js';
import { hexAddr, hexBytes } from '../src/jit/x86/x86.js';
import { ARM64_PATCH_METHODS, POKE_OFFSET, bpf_arch_text_poke_plan, doStore, patchStores, type Arm64PatchMethod } from '../src/poke/aarch64_patch.js';
import { ARM64_CPU_EVENTS, PATCHER_EVENTS, arm64CpuMachine, arm64PatcherMachine, type Arm64Fetch, type Arm64Poke, type PatcherStepMeta } from '../src/poke/arm64-actors.js';
import { BpfKallsyms, TextMemory } from '../src/poke/text.js';
import { BytesInterner } from '../src/concurrency/interner.js';

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

  const cpu = compileMachine(arm64CpuMachine(fetch), ARM64_CPU_EVENTS);
  const pat = compileMachine(arm64PatcherMachine(pokes, method), PATCHER_EVENTS);
  if (cpu.names.length > 16 || pat.names.length > 256) throw new Error('arm64-poke: machine too large to pack');
  const ev = (name: string): number => cpu.eventIndex(name);
  const cpuStep = cpu.meta.map((m) => (typeof m.step === 'string' ? cpu.eventIndex(m.step) : -1));
  const cpuFetches = cpu.meta.map((m) => m.fetch === 'site');
  const cpuGot = cpu.contexts.map((c) => Number(c.got));
  const cpuTorn = cpu.tags.map((t) => t.has('P5'));
  const patMeta = pat.meta.map((m) => m.step as PatcherStepMeta);
  const stores = patchStores(method);

  // ---- site contents (words) and fetched prefixes, numbered --------------------------------
  const contents = new BytesInterner(256, 'arm64-poke: site contents');
  const prefixes = new BytesInterner(256, 'arm64-poke: fetched prefixes');
  prefixes.intern([]);
  const intern = (w: number): number => contents.intern(a64Bytes(w));
  const wordOf = (c: number): number => a64Word(contents.bytes(c));
  const initialContent = intern(settled[0]);

  /** Completed pokes, and whether a poke is in flight (its check done, its stores not all done). */
  const progress = (u: number): { done: number; inFlight: boolean } => {
    const m = patMeta[u];
    if (m.op === 'done') return { done: pokes.length, inFlight: false };
    return { done: m.poke, inFlight: m.op === 'store' };
  };
  const legit = (start: number, u: number, w: number): boolean => {
    const { done, inFlight } = progress(u);
    for (let j = start; j <= done + (inFlight ? 1 : 0); j++) if (settled[j] === w) return true;
    return false;
  };
  const execEvent = (w: number, ok: boolean): number => {
    if (!ok) return ev('TORN');
    const k = decodeA64(w, ARM64_SITE).kind;
    if (k === 'nop') return ev('EXEC_NOP');
    if (k === 'b') return ev('EXEC_B');
    if (k === 'bl') return ev('EXEC_BL');
    throw new Error(`arm64-poke: the site settled on ${decodeA64(w, ARM64_SITE).text}`);
  };

  // ---- the patcher's steps on the site, memoised by (patcher state, content) ---------------
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

  // ---- packing -------------------------------------------------------------------------------
  const fields = new CpuFields(N, 1, 16);
  const Q = 0xf;
  const startOf = (f: number): number => (f >>> 4) & 0xf;
  const prefixOf = (f: number): number => (f >>> 8) & 0xff;
  const field = (q: number, start: number, prefix: number): number => q | (start << 4) | (prefix << 8);
  const patOf = (s: Int32Array): number => s[0] & 0xff;
  const contentOf = (s: Int32Array): number => (s[0] >>> 8) & 0xff;
  const scratch: number[] = new Array(N).fill(0);

  /** A fetching CPU's next field and event in state s. */
  const fetchStep = (s: Int32Array, f: number): { f: number; ev: number } => {
    const q = f & Q;
    const u = patOf(s);
    const bytes = contents.bytes(contentOf(s));
    const got = cpuGot[q];
    const start = got === 0 ? progress(u).done : startOf(f);
    if (fetch === 'word') {
      const w = wordOf(contentOf(s));
      return { f: field(0, 0, 0), ev: execEvent(w, legit(start, u, w)) };
    }
    const prefix = [...prefixes.bytes(prefixOf(f)), bytes[got]];
    if (got < AARCH64_INSN_SIZE - 1) return { f: field(0, start, prefixes.intern(prefix)), ev: ev('FETCH_BYTE') };
    const w = a64Word(prefix);
    return { f: field(0, 0, 0), ev: execEvent(w, legit(start, u, w)) };
  };

  const system: TransitionSystem = {
    width: 1 + fields.words,
    properties: ARM64_PROPERTIES,
    initial(out) {
      out.fill(0);
      out[0] = pat.initial | (initialContent << 8);
      for (let i = 0; i < N; i++) fields.set(out, i, field(cpu.initial, 0, 0));
    },
    expand(s, next, sink) {
      for (let i = 0; i < N; i++) {
        const f = fields.get(s, i);
        const q = f & Q;
        let nf: number;
        let e: number;
        if (cpuFetches[q]) {
          const r = fetchStep(s, f);
          nf = r.f;
          e = r.ev;
        } else {
          e = cpuStep[q];
          nf = 0;
          if (e < 0) continue;
        }
        const nq = moveOrThrow(cpu, q, e, `arm64-poke: cpu${i}`);
        next.set(s);
        fields.set(next, i, nf | nq);
        sink(i);
      }
      const u = patOf(s);
      const m = patMeta[u];
      if (m.op === 'done') return;
      const c = contentOf(s);
      let nc = c;
      let e = pat.eventIndex('STEP');
      if (m.op === 'check') e = pat.eventIndex(checkWrites(m.poke, c) ? 'WRITE' : 'NO_WRITE');
      else nc = storeResult(m.poke, m.store, c);
      next.set(s);
      next[0] = moveOrThrow(pat, u, e, 'arm64-poke: patcher') | (nc << 8);
      sink(N);
    },
    violations(s) {
      for (let i = 0; i < N; i++) if (cpuTorn[fields.get(s, i) & Q]) return 1;
      return 0;
    },
    canonicalize(s) {
      fields.canonicalize(s, scratch);
    },
  };

  const wordText = (w: number): string => `${decodeA64(w, ARM64_SITE).text} [${hexBytes(a64Bytes(w))}]`;
  return {
    model: 'arm64-poke',
    protocol: cfg.protocol,
    cpus: N,
    config: { level, fetch, script },
    system,
    describe(before, after, action): StepView {
      if (action < N) {
        const f = fields.get(before, action);
        const q = f & Q;
        const nq = fields.get(after, action) & Q;
        if (!cpuFetches[q]) return { actor: `cpu${action}`, action: `${String(cpu.meta[q].doc)} -> ${cpu.values[nq]}` };
        const got = cpuGot[q];
        const bytes = contents.bytes(contentOf(before));
        if (cpu.values[nq] === 'fetch') {
          return { actor: `cpu${action}`, action: `fetches byte ${got} of the patch site: ${hexBytes([bytes[got]])}` };
        }
        const w = fetch === 'word' ? wordOf(contentOf(before)) : a64Word([...prefixes.bytes(prefixOf(f)), bytes[got]]);
        const how = fetch === 'word' ? `fetches the word at the patch site ${hexAddr(ARM64_SITE)}` : `fetches byte ${got} (${hexBytes([bytes[got]])}) and executes what it fetched`;
        const verdict = cpuTorn[nq] ? ': neither the old nor the new instruction (torn)' : '';
        return { actor: `cpu${action}`, action: `${how}: ${wordText(w)}${verdict} -> ${cpu.values[nq]}` };
      }
      const m = patMeta[patOf(before)];
      let text = m.doc;
      if (m.op === 'check') text += checkWrites(m.poke, contentOf(before)) ? ' yes: writes' : ' nothing to write';
      return { actor: 'patcher', action: text };
    },
    sites(s): SiteView[] {
      const w = wordOf(contentOf(s));
      return [{ name: 'patch_site', address: hexAddr(ARM64_SITE), bytes: hexBytes(a64Bytes(w)), disasm: decodeA64(w, ARM64_SITE).text }];
    },
    summary(s): string {
      const cpus = Array.from({ length: N }, (_, i) => {
        const f = fields.get(s, i);
        const q = f & Q;
        const partial = cpuFetches[q] && cpuGot[q] > 0 ? `[fetched ${prefixes.hex(prefixOf(f))}]` : '';
        return `cpu${i}=${cpu.names[q]}${partial}`;
      });
      return `${cpus.join(' ')} patcher=${pat.names[patOf(s)]}`;
    },
  };
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
  ],
  build: buildArm64Poke,
};
