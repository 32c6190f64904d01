/**
 * Turns a capture transcript (pokecap-transcript/1) plus the host's notes
 * (host.json, pokecap-host/1) into fixture files of schema
 * `bpf-jit-oracle/1`, the schema of ../shared/oracle: one
 * `<program>__<step>.json` per snapshot, and a `.dis` beside it when GNU
 * objdump is available.
 *
 * Every field is computed from what the guest read back; nothing is assumed
 * about addresses. Offsets inside a fixture (`tail_call_sites[].*offset*`,
 * `diff_vs_previous_snapshot.ranges[].offset`) are offsets into the
 * fixture's `bytes` (all functions concatenated, main first), as in the
 * shared fixtures; `functions[].offset_in_bytes` maps them to a function.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expectedRun, PROGRAMS } from './catalog.js';
import { countTailCalls, findSites, prologueEntry, returnForm, type IndirectSite, type Site } from './sites.js';
import type { KernelSymbol, Snapshot, Transcript } from './transcript.js';

export const FIXTURE_SCHEMA = 'bpf-jit-oracle/1';

/** What only the host knows (scripts/capture/capture.sh writes it as host.json). */
export interface HostInfo {
  format?: string;
  config: string;
  /** QEMU's -cpu (capture.sh --cpu); absent in host.json files written before --cpu existed */
  cpu_model?: string;
  /** `per-cpu`: fixtures go to linux-<release>/<cpu_model>/<config>/; `legacy` (or absent): linux-<release>/<config>/ */
  layout?: string;
  kernel_image?: string;
  kernel_image_sha256?: string;
  kernel_package?: string;
  kernel_package_version?: string;
  qemu?: string;
  qemu_version?: string;
  guest_cmdline_requested?: string;
  wall_seconds?: number;
  captured_at?: string;
}

export interface WriterOptions {
  /** a path to name in each fixture's `capture.transcript` (e.g. relative to the repo) */
  transcriptLabel?: string;
  /** write .dis files with objdump (default: when objdump is found) */
  disassemble?: boolean;
}

export interface BuiltFixture {
  /** file name without directory: `<program>__<step>.json` */
  file: string;
  json: Record<string, unknown>;
  /** content of the `.dis` file, if disassembly was requested and possible */
  dis?: string;
}

export interface BuildResult {
  kernelRelease: string;
  config: string;
  /** directory under linux-<release>/: `<config>` or `<cpu_model>/<config>` */
  subdir: string;
  fixtures: BuiltFixture[];
  warnings: string[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const addr = (a: bigint): string => '0x' + a.toString(16);

/** Signed 32-bit displacement arithmetic on 64-bit addresses. */
function relTarget(siteAddress: bigint, insnLen: number, rel32: number): bigint {
  return BigInt.asUintN(64, siteAddress + BigInt(insnLen) + BigInt(rel32));
}

class Symbols {
  private readonly sorted: KernelSymbol[];
  private readonly all: KernelSymbol[];
  constructor(syms: KernelSymbol[]) {
    this.all = syms;
    // Text symbols only; __ksymtab_* entries and data are not jump targets.
    this.sorted = syms.filter((s) => /^[tT]$/.test(s.type)).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }
  exact(name: string): bigint | undefined {
    return this.sorted.find((s) => s.name === name)?.address;
  }
  /** Any symbol type: per-cpu variables such as pcpu_hot are type A/D, not text. */
  exactAnyType(name: string): bigint | undefined {
    return this.all.find((s) => s.name === name)?.address;
  }
  /** `name` or `name+0xoff` for an address within 4 KiB after a known symbol. */
  describe(a: bigint): string | undefined {
    let best: KernelSymbol | undefined;
    for (const s of this.sorted) {
      if (s.address <= a) best = s;
      else break;
    }
    if (!best) return undefined;
    const off = a - best.address;
    if (off > 4096n) return undefined;
    // Prefer a more specific alias at the same address (e.g. __x86_indirect_thunk_rcx over __indirect_thunk_start).
    const same = this.sorted.filter((s) => s.address === best!.address);
    const pick = same.find((s) => s.name.startsWith('__x86_') && !s.name.endsWith('_array')) ?? same[same.length - 1];
    return off === 0n ? pick.name : `${pick.name}+0x${off.toString(16)}`;
  }
}

interface FunctionInfo {
  index: number;
  name: string;
  ksym: string;
  address: bigint;
  offset: number;
  len: number;
  bytes: Uint8Array;
}

function functionsOf(s: Snapshot, syms: Symbols): FunctionInfo[] {
  const lens = s.funcLens.length > 0 ? s.funcLens : [s.jitedLen];
  const out: FunctionInfo[] = [];
  let off = 0;
  lens.forEach((len, i) => {
    const address = s.ksyms[i];
    const ksym = syms.describe(address) ?? `bpf_prog_${s.tag}_${i === 0 ? s.prog : `F${i}`}`;
    // bpf_prog_<tag>_<name>: the name is what follows the 16-hex-digit tag.
    const m = /^bpf_prog_[0-9a-f]{16}_(.+)$/.exec(ksym);
    out.push({ index: i, name: m ? m[1] : i === 0 ? s.prog : `func${i}`, ksym, address, offset: off, len, bytes: s.jited.slice(off, off + len) });
    off += len;
  });
  return out;
}

function metaGet(t: Transcript, key: string): string {
  return t.meta.get(key) ?? '';
}

/** Configuration-wide facts, read from all snapshots of one capture. */
interface ConfigFacts {
  tailCallOffset: number | null;
  tailCallOffsetEvidence: string;
  maxTailCallCnt: number | null;
  ibt: boolean;
  indirectJump: Record<string, unknown> | null;
  ret: Record<string, unknown> | null;
}

function configFacts(snaps: Snapshot[], syms: Symbols, targetImages: Map<string, bigint>): ConfigFacts {
  let tailCallOffset: number | null = null;
  let evidence = 'not observed';
  let maxCnt: number | null = null;
  let ibt = false;
  let indirectJump: Record<string, unknown> | null = null;
  let ret: Record<string, unknown> | null = null;
  for (const s of snaps) {
    for (const f of functionsOf(s, syms)) {
      if (prologueEntry(f.bytes).endbr) ibt = true;
      const r = returnForm(f.bytes);
      if (!ret && r.form !== 'unknown') {
        const o: Record<string, unknown> = { form: r.form, bytes: hex(r.bytes) };
        if (r.rel32 !== undefined) {
          const to = relTarget(f.address + BigInt(r.offset), 5, r.rel32);
          o.target = addr(to);
          o.target_symbol = syms.describe(to) ?? null;
        }
        o.seen_in = `${s.prog}/${f.name}`;
        ret = o;
      }
      for (const site of findSites(f.bytes)) {
        if (maxCnt === null) maxCnt = site.maxTailCallCnt;
        if (site.kind === 'indirect') {
          if (tailCallOffset === null) {
            tailCallOffset = site.addRcxTailCallOffset;
            evidence = `add rcx, ${site.addRcxTailCallOffset} in the indirect tail call of ${s.prog}`;
          }
          if (!indirectJump) indirectJump = indirectJumpJson(site, f.address, syms);
        } else if (tailCallOffset === null && site.poke.state === 'jmp') {
          const to = relTarget(f.address + BigInt(site.poke.offset), 5, site.poke.rel32 ?? 0);
          for (const [name, img] of targetImages) {
            const d = to - img;
            if (d >= 0n && d < 64n) {
              tailCallOffset = Number(d);
              evidence = `direct poke of ${s.prog} jumps to ${name}+${d}`;
            }
          }
        }
      }
    }
  }
  return { tailCallOffset, tailCallOffsetEvidence: evidence, maxTailCallCnt: maxCnt, ibt, indirectJump, ret };
}

function indirectJumpJson(site: IndirectSite, fnAddress: bigint, syms: Symbols): Record<string, unknown> {
  const j = site.jump;
  if (j.rel32 !== undefined) {
    const to = relTarget(fnAddress + BigInt(j.offset), 5, j.rel32);
    return { form: j.form, target: addr(to), target_symbol: syms.describe(to) ?? null };
  }
  return { form: j.form, target: null, target_symbol: null };
}

/**
 * Runs of differing bytes between two snapshots of one program. A run never
 * crosses a function boundary, and its address is in that function's own
 * allocation (subprograms are not contiguous with the main program).
 */
function diffRanges(prev: Uint8Array, cur: Uint8Array, fns: FunctionInfo[]): { offset: number; address: string; old: string; new: string }[] {
  const out: { offset: number; address: string; old: string; new: string }[] = [];
  const n = Math.max(prev.length, cur.length);
  const fnAt = (i: number) => fns.find((f) => i >= f.offset && i < f.offset + f.len) ?? fns[fns.length - 1];
  let i = 0;
  while (i < n) {
    if (prev[i] === cur[i]) {
      i++;
      continue;
    }
    const start = i;
    const f = fnAt(start);
    const end = f.offset + f.len > start ? f.offset + f.len : n;
    while (i < n && i < end && prev[i] !== cur[i]) i++;
    out.push({ offset: start, address: addr(f.address + BigInt(start - f.offset)), old: hex(prev.slice(start, i)), new: hex(cur.slice(start, i)) });
  }
  return out;
}

function describeStep(t: Transcript, step: string, prevSlots: Map<number, string>, slots: Map<number, string>): string {
  if (step === 'load') return 'right after loading targets.bpf.o (targets dumped once here)';
  const ops = t.ops.filter((o) => o.step === step);
  if (ops.length === 0) {
    const loaded = t.loads.filter((l) => l.step === step && l.prog).map((l) => l.prog);
    return slots.size === 0 ? `initial: jmp_table empty${loaded.length ? ` (callers just loaded: ${loaded.join(', ')})` : ''}` : 'no map operation';
  }
  const parts: string[] = [];
  for (const o of ops) {
    const err = o.err !== 0 ? ` [failed: err ${o.err}]` : '';
    if (o.op === 'update' && o.key !== undefined) {
      const old = prevSlots.get(o.key);
      const others = [...slots.keys()].filter((k) => k !== o.key);
      const rest = others.length === 0 ? '' : `; ${others.map((k) => `jmp_table[${k}] = ${slots.get(k)}`).join(', ')}`;
      parts.push(
        old === undefined
          ? `install: jmp_table[${o.key}] = ${o.prog} (NULL -> ${o.prog})${rest}${err}`
          : `replace: jmp_table[${o.key}] = ${o.prog} (${old} -> ${o.prog})${rest}${err}`,
      );
    } else if (o.op === 'delete' && o.key !== undefined) {
      const old = prevSlots.get(o.key);
      parts.push(`remove: delete jmp_table[${o.key}] (${old ?? 'NULL'} -> NULL)${err}`);
    } else if (o.op === 'load') {
      const loaded = t.loads.filter((l) => l.step === step && l.prog).map((l) => l.prog);
      const state = [...slots].map(([k, v]) => `jmp_table[${k}] = ${v}`).join(', ') || 'jmp_table empty';
      parts.push(
        `load ${loaded.join(', ') || '(nothing)'} while ${state}: the JIT-end fixup (bpf_tail_call_direct_fixup) installs populated slots before the program is published`,
      );
    }
  }
  return parts.join('; ');
}

function siteJson(site: Site, fn: FunctionInfo, syms: Symbols, targets: Map<string, { image: bigint }>, tco: number | null): Record<string, unknown> {
  const imgOff = (o: number) => fn.offset + o;
  const at = (o: number) => fn.address + BigInt(o);
  if (site.kind === 'direct') {
    const bypass: Record<string, unknown> = { address: addr(at(site.bypass.offset)), bytes: hex(site.bypass.bytes), state: site.bypass.state };
    if (site.bypass.state === 'jmp') {
      const to = relTarget(at(site.bypass.offset), 5, site.bypass.rel32 ?? 0);
      bypass.rel32 = site.bypass.rel32;
      bypass.jump_target = addr(to);
      bypass.jumps_to_out_label = to === at(site.outOffset);
    }
    bypass.offset = imgOff(site.bypass.offset);
    const poke: Record<string, unknown> = { address: addr(at(site.poke.offset)), bytes: hex(site.poke.bytes), state: site.poke.state };
    if (site.poke.state === 'jmp') {
      const to = relTarget(at(site.poke.offset), 5, site.poke.rel32 ?? 0);
      poke.rel32 = site.poke.rel32;
      poke.jump_target = addr(to);
      poke.offset = imgOff(site.poke.offset);
      poke.jump_target_symbol = syms.describe(to) ?? null;
      let prog: string | null = null;
      let plusOffset = false;
      for (const [name, t] of targets) {
        const d = to - t.image;
        if (d >= 0n && d < 64n) {
          prog = name;
          plusOffset = tco !== null && d === BigInt(tco);
        }
      }
      poke.target_program = prog;
      poke.target_is_image_plus_tail_call_offset = plusOffset;
    } else {
      poke.offset = imgOff(site.poke.offset);
    }
    return {
      tcc_check_offset: imgOff(site.tccCheckOffset),
      tcc_off: site.tccOff,
      jae_out_offset: imgOff(site.jaeOutOffset),
      kind: 'direct',
      bypass,
      between_bytes: hex(site.between),
      between_decoded: site.betweenDecoded,
      poke,
      out_offset: imgOff(site.outOffset),
      function: fn.name,
      function_index: fn.index,
    };
  }
  return {
    tcc_check_offset: imgOff(site.tccCheckOffset),
    tcc_off: site.tccOff,
    jae_out_offset: imgOff(site.jaeOutOffset),
    kind: 'indirect',
    index_check_offset: imgOff(site.indexCheckOffset),
    offsetof_bpf_array_max_entries: site.offsetofMaxEntries,
    offsetof_bpf_array_ptrs: site.offsetofPtrs,
    offsetof_bpf_prog_bpf_func: site.offsetofBpfFunc,
    add_rcx_tail_call_offset: site.addRcxTailCallOffset,
    indirect_jump_bytes: hex(site.jump.bytes),
    indirect_jump: indirectJumpJson(site, fn.address, syms),
    between_bytes: hex(site.between),
    between_decoded: site.betweenDecoded,
    out_offset: imgOff(site.outOffset),
    sequence_offset: imgOff(site.sequenceOffset),
    sequence_bytes: hex(site.sequenceBytes),
    function: fn.name,
    function_index: fn.index,
  };
}

const PROLOGUE_TEXT: Record<string, string> = {
  'xor eax,eax': 'xor eax,eax (main prog, tail_call_reachable: zero tail_call_cnt)',
  nop2: 'nop2 (not tail_call_reachable, or a subprog: tail_call_cnt arrives in rax)',
  'xor rax,rax': 'xor rax,rax (main prog, tail_call_reachable: zero tail_call_cnt)',
  nop3: 'nop3 (not tail_call_reachable, or a subprog)',
  unknown: 'unrecognised',
};

const CONFIG_TEXT: Record<string, string> = {
  default: 'default: -cpu max, no mitigation options on the command line',
  nomitigations: 'mitigations=off on the guest command line, -cpu max',
  rethunk: '-cpu EPYC (AMD Zen): retbleed/SRSO mitigations make returns jump to a return thunk',
};
/** The same, for captures made with `--cpu MODEL`. */
const CPU_CONFIG_TEXT: Record<string, string> = {
  default: 'no mitigation options on the command line: the kernel picks them from the CPU model',
  nomitigations: 'mitigations=off on the guest command line',
  'retbleed-stuff': 'retbleed=stuff on the guest command line (call-depth tracking)',
  eibrs: 'spectre_v2=eibrs on the guest command line',
  rethunk: 'no mitigation options on the command line (the old rethunk config, on the given CPU model)',
};
function configText(host: HostInfo): string {
  if (host.layout !== 'per-cpu' || host.cpu_model === undefined) return CONFIG_TEXT[host.config] ?? host.config;
  return `-cpu ${host.cpu_model}, ${CPU_CONFIG_TEXT[host.config] ?? host.config}`;
}

/** Build every fixture of one capture (pure: no file system access except objdump). */
export function buildFixtures(t: Transcript, host: HostInfo, opts: WriterOptions = {}): BuildResult {
  const warnings: string[] = [...t.errors.map((e) => `guest error: ${e}`)];
  if (t.status !== 'ok') warnings.push(`transcript ends with status=${t.status ?? '(none)'}`);
  const syms = new Symbols(t.ksyms);
  const release = metaGet(t, 'uname.release');
  if (!release) throw new Error('transcript has no uname.release');

  const idToName = new Map<number, string>();
  for (const l of t.loads) if (l.prog && l.id !== undefined) idToName.set(l.id, l.prog);
  for (const s of t.snapshots) idToName.set(s.id, s.prog);

  const targetSnaps = new Map<string, Snapshot>();
  for (const s of t.snapshots) if (s.role === 'target' && !targetSnaps.has(s.prog)) targetSnaps.set(s.prog, s);
  const targetImages = new Map<string, bigint>([...targetSnaps].map(([n, s]) => [n, s.ksyms[0]]));
  const facts = configFacts(t.snapshots, syms, targetImages);
  const tco = facts.tailCallOffset;

  const targetsJson: Record<string, unknown> = {};
  const targetReturns = new Map<string, number>();
  const targetsForSites = new Map<string, { image: bigint }>();
  for (const [name, s] of targetSnaps) {
    targetsJson[name] = {
      prog_id: s.id,
      tag: s.tag,
      image_address: addr(s.ksyms[0]),
      tail_call_entry: tco === null ? null : addr(s.ksyms[0] + BigInt(tco)),
      returns: s.runErr === 0 ? s.runRetval : null,
    };
    if (s.runErr === 0) targetReturns.set(name, s.runRetval);
    targetsForSites.set(name, { image: s.ksyms[0] });
  }

  const slotsAt = (step: string): Map<number, string> => {
    const m = new Map<number, string>();
    (t.mapStates.get(step) ?? []).forEach((id, k) => {
      if (id !== null) m.set(k, idToName.get(id) ?? `prog_id_${id}`);
    });
    return m;
  };

  const vuln = (k: string) => metaGet(t, `vuln.${k}`) || null;
  // The four lines the JIT's choices depend on first (as the shared oracle records them), then
  // every other /sys/devices/system/cpu/vulnerabilities/* line the guest has, sorted.
  const guestCpu: Record<string, string | null> = {
    vendor: metaGet(t, 'cpu.vendor'),
    ...(t.meta.has('cpu.family') ? { family: metaGet(t, 'cpu.family') } : {}),
    model: metaGet(t, 'cpu.model'),
    spectre_v2: vuln('spectre_v2'),
    retbleed: vuln('retbleed'),
    spec_rstack_overflow: vuln('spec_rstack_overflow'),
    indirect_target_selection: vuln('indirect_target_selection'),
  };
  for (const k of [...t.meta.keys()].filter((k) => k.startsWith('vuln.')).sort()) {
    const name = k.slice('vuln.'.length);
    if (!(name in guestCpu)) guestCpu[name] = metaGet(t, k);
  }
  guestCpu.bugs = metaGet(t, 'cpu.bugs');
  const sysctl: Record<string, string> = {};
  for (const [k, v] of t.sysctl) sysctl[`sysctl.${k}`] = v;
  const debVersion = host.kernel_package_version || /Debian (\S+)/.exec(metaGet(t, 'uname.version'))?.[1] || null;

  const disassemble = opts.disassemble ?? objdumpAvailable();
  const fixtures: BuiltFixture[] = [];
  const prevByProg = new Map<string, { step: string; bytes: Uint8Array }>();
  const stepOrder = t.steps;
  let prevSlots = new Map<number, string>();
  let lastStep: string | null = null;
  const stepDesc = new Map<string, string>();
  for (const step of stepOrder) {
    const slots = slotsAt(step);
    stepDesc.set(step, describeStep(t, step, lastStep === null ? new Map() : prevSlots, slots));
    if (t.mapStates.has(step)) {
      prevSlots = slots;
      lastStep = step;
    }
  }

  for (const s of t.snapshots) {
    const fns = functionsOf(s, syms);
    const slots = s.role === 'target' ? new Map<number, string>() : slotsAt(s.step);
    const mapState: Record<string, unknown> = {};
    for (const [k, v] of slots) {
      const id = (t.mapStates.get(s.step) ?? [])[k];
      mapState[String(k)] = { prog_id: id, prog: v };
    }
    const sites: Record<string, unknown>[] = [];
    const kinds = new Set<string>();
    for (const f of fns) {
      for (const site of findSites(f.bytes)) {
        sites.push(siteJson(site, f, syms, targetsForSites, tco));
        kinds.add(site.kind);
      }
    }
    const calls = countTailCalls(s.xlated);
    if (calls !== sites.length) {
      warnings.push(`${s.prog}__${s.step}: xlated has ${calls} tail calls but ${sites.length} sites were recognised in the image (unsupported JIT layout?)`);
    }
    const info = PROGRAMS[s.prog];
    const programKind =
      s.role === 'target'
        ? 'target'
        : kinds.size === 0
          ? 'unknown'
          : kinds.size === 2
            ? 'mixed (direct and indirect)'
            : [...kinds][0] === 'direct' && sites.length > 1
              ? `direct (${sites.length} sites: ${describeKeys(info)})`
              : [...kinds][0] + (fns.length > 1 ? ` (in subprogram ${fns.filter((f) => f.index > 0).map((f) => f.name).join(', ')})` : '');

    const run = s.role === 'target' ? { expected: info?.fallThrough ?? null, explainedBy: s.prog } : expectedRun(s.prog, slots, targetReturns);
    const prev = prevByProg.get(s.prog);
    const file = `${s.prog}__${s.step}.json`;
    const functions = fns.map((f) => {
      const o: Record<string, unknown> = {
        index: f.index,
        name: f.name,
        ksym: f.ksym,
        address: addr(f.address),
        offset_in_bytes: f.offset,
        len: f.len,
        bytes: hex(f.bytes),
      };
      const pe = prologueEntry(f.bytes);
      const plen = tco ?? pe.at + (pe.what === 'xor eax,eax' || pe.what === 'nop2' ? 2 : 3) + 4;
      o.prologue = {
        bytes: hex(f.bytes.slice(0, plen)),
        tail_call_entry: tco === null ? null : addr(f.address + BigInt(tco)),
        [`at_offset_${pe.at}`]: PROLOGUE_TEXT[pe.what],
      };
      return o;
    });

    const json: Record<string, unknown> = {
      schema: FIXTURE_SCHEMA,
      kernel_version: release,
      kernel_build: metaGet(t, 'proc.version'),
      kernel_debian_package_version: debVersion,
      kernel_image: host.kernel_image ?? null,
      kernel_image_sha256: host.kernel_image_sha256 ?? null,
      config: host.config,
      guest_cmdline: metaGet(t, 'proc.cmdline'),
      qemu: host.qemu ?? null,
      guest_cpu: guestCpu,
      sysctl,
      x86_tail_call_offset: tco,
      max_tail_call_cnt: facts.maxTailCallCnt,
      program: s.prog,
      program_kind: programKind,
      program_description: info?.description ?? '',
      step: s.step,
      step_description: stepDesc.get(s.step) ?? '',
      map_state: mapState,
      prog_id: s.id,
      tag: s.tag,
      image_address: addr(s.ksyms[0]),
      image_len: s.jitedLen,
      bytes: hex(s.jited),
      functions,
      xlated_len: s.xlatedLen,
      xlated: hex(s.xlated),
      line_info_insn_off: s.lineInsnOff,
      jited_line_info: s.jitedLine.map(addr),
      targets: targetsJson,
      tail_call_sites: sites,
      test_run: {
        retval: s.runErr === 0 ? s.runRetval : null,
        ...(s.runErr !== 0 ? { error: s.runErr } : {}),
        expected_retval: run.expected,
        explained_by: run.explainedBy,
      },
      diff_vs_previous_snapshot: {
        previous_step: prev ? prev.step : null,
        ranges: prev ? diffRanges(prev.bytes, s.jited, fns) : [],
      },
      disassembly_file: disassemble ? file.replace(/\.json$/, '.dis') : null,
      capture: {
        tool: 'pokecheck scripts/capture (transcript format pokecap-transcript/1)',
        transcript: opts.transcriptLabel ?? null,
        config_description: configText(host),
        qemu_version: host.qemu_version ?? null,
        captured_at: host.captured_at ?? null,
        kernel_package: host.kernel_package || null,
        mitigations: {
          indirect_jump: facts.indirectJump,
          return: facts.ret,
          ibt: facts.ibt,
          x86_tail_call_offset_evidence: facts.tailCallOffsetEvidence,
          thunk_symbols: thunkSymbols(syms),
        },
      },
    };
    if (s.runErr === 0 && run.expected !== null && run.expected !== s.runRetval) {
      warnings.push(`${s.prog}__${s.step}: test_run returned ${s.runRetval}, expected ${run.expected} (${run.explainedBy})`);
    }
    const built: BuiltFixture = { file, json };
    if (disassemble) built.dis = disassembly(json, fns, syms, host.config, release);
    fixtures.push(built);
    prevByProg.set(s.prog, { step: s.step, bytes: s.jited });
  }
  const subdir = host.layout === 'per-cpu' && host.cpu_model !== undefined ? join(host.cpu_model, host.config) : host.config;
  return { kernelRelease: release, config: host.config, subdir, fixtures, warnings };
}

function describeKeys(info: (typeof PROGRAMS)[string] | undefined): string {
  if (!info) return 'keys unknown';
  return info.keys.map((k) => (k === 'mark' ? 'key skb->mark' : `key ${k}`)).join(' and ');
}

function thunkSymbols(syms: Symbols): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const n of ['__x86_indirect_thunk_rcx', '__x86_return_thunk', 'srso_return_thunk', 'srso_alias_return_thunk', 'retbleed_return_thunk', 'its_return_thunk']) {
    const a = syms.exact(n);
    out[n] = a === undefined ? null : addr(a);
  }
  // Present only in kernels that have them (older fixtures keep the six keys above).
  for (const n of ['call_depth_return_thunk', '__x86_return_skl', '__x86_indirect_its_thunk_rcx', '__x86_indirect_jump_thunk_rcx', 'zen_untrain_ret', 'untrain_ret', 'pcpu_hot', '__x86_call_depth']) {
    const a = syms.exact(n) ?? syms.exactAnyType(n);
    if (a !== undefined) out[n] = addr(a);
  }
  return out;
}

let objdumpChecked: boolean | undefined;
export function objdumpAvailable(): boolean {
  if (objdumpChecked === undefined) {
    try {
      execFileSync('objdump', ['--version'], { stdio: 'ignore' });
      objdumpChecked = true;
    } catch {
      objdumpChecked = false;
    }
  }
  return objdumpChecked;
}

function disassembly(json: Record<string, unknown>, fns: FunctionInfo[], syms: Symbols, config: string, release: string): string {
  const run = json.test_run as { retval: number | null; expected_retval: number | null; explained_by: string };
  const lines: string[] = [
    `# ${String(json.program)}  step=${String(json.step)}  config=${config}  kernel=${release}`,
    `# ${String(json.step_description)}`,
    `# map: ${JSON.stringify(json.map_state)}`,
    `# test_run retval=${String(run.retval)} (expected ${String(run.expected_retval)}: ${run.explained_by})`,
    '# objdump -D -b binary -mi386:x86-64 --adjust-vma=<func address> (symbols added by scripts/capture/writer.ts)',
    '',
  ];
  const dir = mkdtempSync(join(tmpdir(), 'pokecap-dis-'));
  try {
    for (const f of fns) {
      const bin = join(dir, `f${f.index}.bin`);
      writeFileSync(bin, f.bytes);
      const outText = execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', `--adjust-vma=${addr(f.address)}`, bin], { encoding: 'utf8' });
      lines.push(`${addr(f.address)} <${f.ksym}>:  (func ${f.index}, ${f.len} bytes)`);
      for (const l of outText.split('\n')) {
        if (!/^\s*[0-9a-f]+:\t/.test(l)) continue;
        const m = /\b(?:j[a-z]+|call)\s+0x([0-9a-f]+)\s*$/.exec(l);
        let sym = '';
        if (m) {
          const d = syms.describe(BigInt('0x' + m[1]));
          if (d) sym = `    <${d}>`;
        }
        lines.push(l.replace(/^\s+/, '') + sym);
      }
      lines.push('');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

/** Write the fixtures of one capture under `outRoot/linux-<release>/<subdir>/`; returns that directory. */
export function writeFixtures(result: BuildResult, outRoot: string): string {
  const dir = join(outRoot, `linux-${result.kernelRelease}`, result.subdir);
  mkdirSync(dir, { recursive: true });
  for (const f of result.fixtures) {
    writeFileSync(join(dir, f.file), JSON.stringify(f.json, null, 1) + '\n');
    if (f.dis !== undefined) writeFileSync(join(dir, f.file.replace(/\.json$/, '.dis')), f.dis);
  }
  return dir;
}
