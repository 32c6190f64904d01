/**
 * The capture tool's transcript -> fixture writer, run on transcripts that
 * were really captured (QEMU TCG; Debian 12's linux-image-6.1.0-56-amd64,
 * and its linux-image-6.12.100+deb12-amd64, which has IBT and the v6.12
 * tail_call_cnt_ptr layout) and committed under
 * test/fixtures/capture-transcripts/. No QEMU, network or ../shared needed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseFixture } from '../src/jit/oracle/fixture.js';
import { countTailCalls, findSites } from '../scripts/capture/sites.js';
import { crc32, parseTranscript, TranscriptError } from '../scripts/capture/transcript.js';
import { buildFixtures, objdumpAvailable, writeFixtures, type BuildResult, type HostInfo } from '../scripts/capture/writer.js';

/** What differs between the two captured kernels. */
interface Kernel {
  dir: string;
  release: string;
  deb: string;
  /** X86_TAIL_CALL_OFFSET: 11 (v5.18-v6.11 without IBT), 16 (v6.12 with IBT: 12 + ENDBR) */
  tco: number;
  ibt: boolean;
  /** where the entry's tcc instruction sits (after nop5, and an ENDBR with IBT) */
  at: number;
  mainEntry: RegExp;
  subEntry: RegExp;
  subEntryBytes: string;
  /** the unwinding before a direct jump of caller_regs */
  regsUnwind: string[];
  indRegsUnwind: string[];
}

const KERNELS: Kernel[] = [
  {
    dir: 'linux-6.1.0-56-amd64',
    release: '6.1.0-56-amd64',
    deb: '6.1.192-2',
    tco: 11,
    ibt: false,
    at: 5,
    mainEntry: /^xor eax,eax/,
    subEntry: /^nop2/,
    subEntryBytes: '6690',
    regsUnwind: ['pop r15', 'pop r14', 'pop r13', 'pop rbx', 'pop rax'],
    indRegsUnwind: ['pop r13', 'pop rbx', 'pop rax', 'add rsp, 8'],
  },
  {
    dir: 'linux-6.12.100+deb12-amd64',
    release: '6.12.100+deb12-amd64',
    deb: '6.12.100-1~deb12u1',
    tco: 16,
    ibt: true,
    at: 9,
    mainEntry: /^xor rax,rax/,
    subEntry: /^nop3/,
    subEntryBytes: '0f1f00',
    regsUnwind: ['add qword [rax], 1', 'pop r15', 'pop r14', 'pop r13', 'pop rbx', 'pop rax', 'pop rax'],
    indRegsUnwind: ['add qword [rax], 1', 'pop r13', 'pop rbx', 'pop rax', 'pop rax', 'add rsp, 8'],
  },
];
const CONFIGS = ['default', 'nomitigations', 'rethunk'] as const;
const CASES = KERNELS.flatMap((k) => CONFIGS.map((config) => ({ k, config, name: `${k.dir} ${config}` })));
const transcripts = (k: Kernel) => join('test', 'fixtures', 'capture-transcripts', k.dir);
const ORACLE = join('test', 'fixtures', 'oracle', 'linux-6.1.0-56-amd64', 'default');

/** The top-level keys of every shared oracle fixture (../shared/oracle, schema bpf-jit-oracle/1). */
const ORACLE_TOP_KEYS = [
  'schema', 'kernel_version', 'kernel_build', 'kernel_debian_package_version', 'kernel_image', 'kernel_image_sha256',
  'config', 'guest_cmdline', 'qemu', 'guest_cpu', 'sysctl', 'x86_tail_call_offset', 'max_tail_call_cnt', 'program',
  'program_kind', 'program_description', 'step', 'step_description', 'map_state', 'prog_id', 'tag', 'image_address',
  'image_len', 'bytes', 'functions', 'xlated_len', 'xlated', 'line_info_insn_off', 'jited_line_info', 'targets',
  'tail_call_sites', 'test_run', 'diff_vs_previous_snapshot', 'disassembly_file',
];

const CALLERS_EARLY = ['caller_d0', 'caller_ind', 'caller_ind_regs', 'caller_regs', 'caller_sd64', 'caller_sd8', 'caller_sub', 'caller_two'];
const STEPS = [
  'a_initial', 'b_install_t1', 'c_replace_t2', 'd_delete', 'e_reinstall_t1', 'f_replace_t3', 'g_delete',
  'h_install_key1_t2', 'i_install_t1', 'j_load_prepop', 'k_replace_t3', 'l_delete', 'm_delete_key1',
];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function readTranscript(k: Kernel, config: string): { text: string; host: HostInfo } {
  const dir = join(transcripts(k), config);
  return {
    text: readFileSync(join(dir, 'transcript.txt'), 'utf8'),
    host: JSON.parse(readFileSync(join(dir, 'host.json'), 'utf8')) as HostInfo,
  };
}

const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const le32 = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) | 0;

describe('capture transcript parser', () => {
  const { text } = readTranscript(KERNELS[0], 'default');

  it('checks every record against its crc and rejects a garbled line', () => {
    const t = parseTranscript(text);
    expect(t.status).toBe('ok');
    expect(t.errors).toEqual([]);
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes(' snap step=b_install_t1 prog=caller_d0 '));
    const bad = [...lines];
    bad[i] = bad[i].replace('jited=0f1f44', 'jited=0f1f45');
    expect(() => parseTranscript(bad.join('\n'))).toThrow(/crc mismatch/);
  });

  it('rejects a transcript the guest did not finish', () => {
    const cut = text.split('\n').filter((l) => !l.startsWith('POKECAP end ')).join('\n');
    expect(() => parseTranscript(cut)).toThrow(TranscriptError);
    expect(() => parseTranscript('kernel noise only\n')).toThrow(/not a capture transcript/);
  });

  it('ignores console noise and carriage returns around records', () => {
    const noisy = text.split('\n').map((l, n) => (n % 7 === 0 ? `[    1.0] noise\r\n${l}\r` : l)).join('\n');
    expect(parseTranscript(noisy).snapshots.length).toBe(parseTranscript(text).snapshots.length);
  });

  it('uses the same CRC-32 as the guest loader', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });
});

describe.each(CASES)('capture writer, $name', ({ k, config }) => {
  let result: BuildResult;
  let out: string;
  let files: Map<string, Json>;
  const fx = (prog: string, step: string): Json => {
    const f = files.get(`${prog}__${step}.json`);
    if (!f) throw new Error(`no fixture ${prog}__${step}.json`);
    return f;
  };

  beforeAll(() => {
    const { text, host } = readTranscript(k, config);
    result = buildFixtures(parseTranscript(text), host, {
      transcriptLabel: join(transcripts(k), config, 'transcript.txt'),
      disassemble: false,
    });
    out = mkdtempSync(join(tmpdir(), 'capture-writer-'));
    const dir = writeFixtures(result, out);
    expect(dir).toBe(join(out, k.dir, config));
    files = new Map(readdirSync(dir).map((n) => [n, JSON.parse(readFileSync(join(dir, n), 'utf8')) as Json]));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes one fixture per program and step, without warnings', () => {
    expect(result.warnings).toEqual([]);
    const want = [
      ...['target1', 'target2', 'target3'].map((p) => `${p}__load.json`),
      ...CALLERS_EARLY.flatMap((p) => STEPS.map((s) => `${p}__${s}.json`)),
      ...STEPS.slice(STEPS.indexOf('j_load_prepop')).map((s) => `caller_prepop__${s}.json`),
    ].sort();
    expect([...files.keys()].sort()).toEqual(want);
  });

  it('has the shared oracle schema: the same top-level keys (plus `capture`) and nesting, accepted by the JIT fixture loader', () => {
    for (const [name, f] of files) {
      expect(Object.keys(f), name).toEqual([...ORACLE_TOP_KEYS, 'capture']);
      expect(f.schema).toBe('bpf-jit-oracle/1');
      expect(f.config).toBe(config);
      expect(f.kernel_version).toBe(k.release);
      expect(f.kernel_debian_package_version).toBe(k.deb);
      expect(f.kernel_image_sha256).toMatch(/^[0-9a-f]{64}$/);
      // the shared oracle's keys first, then every other vulnerabilities/* line of the guest, then bugs
      const keys = Object.keys(f.guest_cpu);
      expect(keys.slice(0, 6)).toEqual(['vendor', 'model', 'spectre_v2', 'retbleed', 'spec_rstack_overflow', 'indirect_target_selection']);
      expect(keys.slice(6, -1)).toEqual([...keys.slice(6, -1)].sort());
      expect(keys).toEqual(expect.arrayContaining(['meltdown', 'spectre_v1', 'mds', 'l1tf']));
      expect(keys.at(-1)).toBe('bugs');
      expect(f.sysctl['sysctl.net.core.bpf_jit_harden']).toBe('0');
      expect(f.sysctl['sysctl.net.core.bpf_jit_enable']).toBe('1');
      expect(f.x86_tail_call_offset).toBe(k.tco);
      expect(f.max_tail_call_cnt).toBe(33);
      for (const fn of f.functions) {
        expect(Object.keys(fn)).toEqual(['index', 'name', 'ksym', 'address', 'offset_in_bytes', 'len', 'bytes', 'prologue']);
        expect(Object.keys(fn.prologue)).toEqual(['bytes', 'tail_call_entry', `at_offset_${k.at}`]);
      }
      expect(Object.keys(f.test_run)).toEqual(['retval', 'expected_retval', 'explained_by']);
      expect(Object.keys(f.diff_vs_previous_snapshot)).toEqual(['previous_step', 'ranges']);
      const parsed = parseFixture(f, name);
      expect(parsed.program).toBe(f.program);
      expect(parsed.tail_call_sites.length).toBe(f.tail_call_sites.length);
    }
  });

  it('keeps the bytes consistent: image = functions concatenated, lengths, addresses', () => {
    for (const [name, f] of files) {
      expect(f.bytes.length / 2, name).toBe(f.image_len);
      expect(f.functions.map((x: Json) => x.bytes).join('')).toBe(f.bytes);
      expect(f.functions[0].address).toBe(f.image_address);
      expect(f.xlated.length / 2).toBe(f.xlated_len);
      expect(f.jited_line_info.length).toBe(f.line_info_insn_off.length);
      // Every tail call in the xlated program was found in the image.
      expect(f.tail_call_sites.length, name).toBe(countTailCalls(hexBytes(f.xlated)));
      for (const fn of f.functions) {
        expect(BigInt(fn.prologue.tail_call_entry) - BigInt(fn.address)).toBe(BigInt(k.tco));
        expect(fn.prologue.bytes).toBe(fn.bytes.slice(0, 2 * k.tco));
        // With IBT the tail-call landing is an ENDBR too.
        if (k.ibt) expect(fn.bytes.slice(0, 8) + fn.bytes.slice(2 * k.tco, 2 * k.tco + 8)).toBe('f30f1efa'.repeat(2));
      }
    }
  });

  it('matches the fixtures committed under test/fixtures/captured (the writer is deterministic)', () => {
    for (const [name, f] of files) {
      const committed = JSON.parse(readFileSync(join('test', 'fixtures', 'captured', k.dir, config, name), 'utf8')) as Json;
      expect({ ...f, disassembly_file: null }, name).toEqual({ ...committed, disassembly_file: null });
    }
  });

  it('test_run explains every return value from the map state', () => {
    for (const [name, f] of files) {
      expect(f.test_run.retval, name).toBe(f.test_run.expected_retval);
    }
    expect(fx('caller_d0', 'b_install_t1').test_run.explained_by).toBe('target1');
    expect(fx('caller_sub', 'f_replace_t3').test_run.retval).toBe(103);
    expect(fx('caller_two', 'h_install_key1_t2').test_run).toEqual({ retval: 2, expected_retval: 2, explained_by: 'target2 (via key 1)' });
    expect(fx('caller_ind', 'a_initial').test_run.explained_by).toBe('fall-through');
  });

  it('direct sites: install, replace and delete change only the two 5-byte slots, as the kernel protocol says', () => {
    for (const prog of ['caller_d0', 'caller_sd8', 'caller_sd64', 'caller_regs', 'caller_sub']) {
      const a = fx(prog, 'a_initial');
      const [site] = a.tail_call_sites;
      expect(a.tail_call_sites).toHaveLength(1);
      expect(site.kind).toBe('direct');
      // Initial: bypass jumps to out, target slot is nop5.
      expect(site.bypass.state).toBe('jmp');
      expect(site.bypass.jumps_to_out_label).toBe(true);
      expect(site.poke).toMatchObject({ bytes: '0f1f440000', state: 'nop5' });
      expect(site.poke.offset + 5).toBe(site.out_offset);
      const slots = (r: Json) => r.offset >= site.bypass.offset && r.offset + r.old.length / 2 <= site.bypass.offset + 5 || (r.offset >= site.poke.offset && r.offset + r.old.length / 2 <= site.poke.offset + 5);
      for (const step of STEPS.slice(1)) {
        for (const r of fx(prog, step).diff_vs_previous_snapshot.ranges) expect(slots(r), `${prog}/${step}`).toBe(true);
        expect(fx(prog, step).diff_vs_previous_snapshot.previous_step).toBe(STEPS[STEPS.indexOf(step) - 1]);
      }
      // Install: bypass -> nop5, target -> jmp target1 + 11.
      const b = fx(prog, 'b_install_t1').tail_call_sites[0];
      expect(b.bypass).toMatchObject({ bytes: '0f1f440000', state: 'nop5' });
      expect(b.poke).toMatchObject({ state: 'jmp', target_program: 'target1', target_is_image_plus_tail_call_offset: true });
      const t1 = fx(prog, 'b_install_t1').targets.target1;
      expect(b.poke.jump_target).toBe(t1.tail_call_entry);
      expect(BigInt(b.poke.address) + 5n + BigInt(b.poke.rel32)).toBe(BigInt(t1.tail_call_entry));
      // Replace: only the target slot's rel32 changes.
      const c = fx(prog, 'c_replace_t2');
      expect(c.tail_call_sites[0].poke.target_program).toBe('target2');
      expect(c.tail_call_sites[0].bypass.state).toBe('nop5');
      for (const r of c.diff_vs_previous_snapshot.ranges) expect(r.offset).toBeGreaterThan(site.poke.offset);
      // Delete: back to exactly the initial bytes.
      expect(fx(prog, 'd_delete').bytes).toBe(a.bytes);
      expect(fx(prog, 'g_delete').bytes).toBe(a.bytes);
      // Key 1 is not this program's key.
      expect(fx(prog, 'h_install_key1_t2').diff_vs_previous_snapshot.ranges).toEqual([]);
    }
  });

  it('the diff bytes are exactly the bytes of the two snapshots', () => {
    for (const [name, f] of files) {
      const prev = f.diff_vs_previous_snapshot.previous_step;
      if (prev === null) continue;
      const before = hexBytes(fx(f.program, prev).bytes);
      const after = hexBytes(f.bytes);
      for (const r of f.diff_vs_previous_snapshot.ranges) {
        expect(Buffer.from(before.slice(r.offset, r.offset + r.old.length / 2)).toString('hex'), name).toBe(r.old);
        expect(Buffer.from(after.slice(r.offset, r.offset + r.new.length / 2)).toString('hex'), name).toBe(r.new);
      }
      const patched = Uint8Array.from(before);
      for (const r of f.diff_vs_previous_snapshot.ranges) patched.set(hexBytes(r.new), r.offset);
      expect(Buffer.from(patched).toString('hex'), name).toBe(f.bytes);
    }
  });

  it('callee-saved r6-r9 live across a direct tail call: pushed in rbx, r13, r14, r15 order, popped in reverse before the jump', () => {
    const f = fx('caller_regs', 'a_initial');
    // After the counter slot(s): push rbx, r13, r14, r15.
    expect(f.bytes).toContain('50' + '53' + '4155' + '4156' + '4157');
    expect(f.tail_call_sites[0].between_decoded).toEqual(k.regsUnwind);
  });

  it('a direct tail call inside a BPF-to-BPF subprogram: nop2 prologue, site addresses in the subprogram', () => {
    const f = fx('caller_sub', 'b_install_t1');
    expect(f.functions.map((x: Json) => x.name)).toEqual(['caller_sub', 'sub_tail']);
    expect(f.functions[0].prologue[`at_offset_${k.at}`]).toMatch(k.mainEntry);
    expect(f.functions[1].prologue[`at_offset_${k.at}`]).toMatch(k.subEntry);
    expect(f.functions[1].bytes.slice(2 * k.at, 2 * k.at + k.subEntryBytes.length)).toBe(k.subEntryBytes);
    const [site] = f.tail_call_sites;
    expect(site).toMatchObject({ function: 'sub_tail', function_index: 1 });
    const sub = f.functions[1];
    expect(BigInt(site.poke.address)).toBe(BigInt(sub.address) + BigInt(site.poke.offset - sub.offset_in_bytes));
    for (const r of f.diff_vs_previous_snapshot.ranges) {
      expect(BigInt(r.address)).toBe(BigInt(sub.address) + BigInt(r.offset - sub.offset_in_bytes));
    }
  });

  it('a program loaded while its slots are populated starts installed (JIT-end fixup)', () => {
    const j = fx('caller_prepop', 'j_load_prepop');
    expect(j.diff_vs_previous_snapshot).toEqual({ previous_step: null, ranges: [] });
    expect(j.map_state['0'].prog).toBe('target1');
    expect(j.map_state['1'].prog).toBe('target2');
    expect(j.tail_call_sites.map((s: Json) => [s.bypass.state, s.poke.state, s.poke.target_program])).toEqual([
      ['nop5', 'jmp', 'target1'],
      ['nop5', 'jmp', 'target2'],
    ]);
    expect(j.test_run.retval).toBe(1);
    // Its code is caller_two's apart from the return value and the poke displacements.
    const two = fx('caller_two', 'j_load_prepop');
    expect(j.tail_call_sites.map((s: Json) => s.poke.offset)).toEqual(two.tail_call_sites.map((s: Json) => s.poke.offset));
    const m = fx('caller_prepop', 'm_delete_key1');
    expect(m.tail_call_sites.map((s: Json) => [s.bypass.state, s.poke.state])).toEqual([
      ['jmp', 'nop5'],
      ['jmp', 'nop5'],
    ]);
  });

  it('indirect tail calls are never poked; the jump form follows the mitigations', () => {
    for (const prog of ['caller_ind', 'caller_ind_regs']) {
      const a = fx(prog, 'a_initial');
      expect(a.tail_call_sites).toHaveLength(1);
      const s = a.tail_call_sites[0];
      expect(s.kind).toBe('indirect');
      expect(s.add_rcx_tail_call_offset).toBe(k.tco);
      expect(s.offsetof_bpf_prog_bpf_func).toBe(48);
      for (const step of STEPS.slice(1)) expect(fx(prog, step).bytes).toBe(a.bytes);
      if (config === 'nomitigations') {
        expect(s.indirect_jump).toEqual({ form: 'jmp *%rcx; int3', target: null, target_symbol: null });
        expect(s.indirect_jump_bytes).toBe('ffe1cc');
      } else {
        expect(s.indirect_jump).toMatchObject({ form: 'jmp rel32 to thunk', target_symbol: '__x86_indirect_thunk_rcx' });
        const jb = hexBytes(s.indirect_jump_bytes);
        const at = BigInt(a.image_address) + BigInt(s.out_offset - 5);
        expect(BigInt.asUintN(64, at + 5n + BigInt(le32(jb, 1)))).toBe(BigInt(s.indirect_jump.target));
      }
    }
    expect(fx('caller_ind_regs', 'a_initial').tail_call_sites[0].between_decoded).toEqual(k.indRegsUnwind);
  });

  it('records the configuration: cmdline, CPU, return form', () => {
    const f = fx('caller_d0', 'a_initial');
    const ret = f.capture.mitigations.return;
    if (config === 'rethunk') {
      expect(f.qemu).toContain('-cpu EPYC');
      expect(ret).toMatchObject({ form: 'jmp rel32 to return thunk', target_symbol: 'srso_return_thunk' });
      expect(f.bytes.endsWith('c9e9' + f.bytes.slice(-8))).toBe(true);
    } else {
      expect(ret).toMatchObject({ form: 'ret; int3', bytes: 'c3cc' });
      expect(f.bytes.endsWith('c9c3cc')).toBe(true);
    }
    expect(f.guest_cmdline.includes('mitigations=off')).toBe(config === 'nomitigations');
    expect(f.capture.mitigations.ibt).toBe(k.ibt);
    expect(f.capture.transcript).toBe(join(transcripts(k), config, 'transcript.txt'));
  });

  // Only the 6.1 default capture is the shared oracle's configuration; the others are not compared with it.
  const oracleConfig = k.dir === 'linux-6.1.0-56-amd64' && config === 'default';
  if (oracleConfig && !existsSync(ORACLE)) throw new Error(`the in-repo oracle copy is missing: ${ORACLE}`);
  if (oracleConfig) it('reproduces the shared oracle shapes byte for byte, up to addresses', () => {
    // Mask what depends on where things were loaded: the map address (movabs
    // rsi, imm64) and the rel32 of every jump to another image or a thunk.
    const mask = (f: Json): string => {
      const b = hexBytes(f.bytes);
      for (let i = 0; i + 10 <= b.length; i++) if (b[i] === 0x48 && b[i + 1] === 0xbe) b.fill(0, i + 2, i + 10);
      for (const s of f.tail_call_sites) {
        for (const k of ['bypass', 'poke']) if (s[k]?.state === 'jmp') b.fill(0, s[k].offset + 1, s[k].offset + 5);
        if (s.kind === 'indirect' && s.indirect_jump.form === 'jmp rel32 to thunk') b.fill(0, s.out_offset - 4, s.out_offset);
      }
      return Buffer.from(b).toString('hex');
    };
    let compared = 0;
    for (const name of readdirSync(ORACLE).filter((n) => n.endsWith('.json'))) {
      const theirs = JSON.parse(readFileSync(join(ORACLE, name), 'utf8')) as Json;
      const ours = fx(theirs.program, theirs.step);
      expect(mask(ours), name).toBe(mask(theirs));
      expect(ours.xlated, name).toBe(theirs.xlated);
      expect(ours.tail_call_sites.map((s: Json) => [s.kind, s.tcc_check_offset, s.out_offset, s.bypass?.state, s.poke?.state, s.poke?.target_program])).toEqual(
        theirs.tail_call_sites.map((s: Json) => [s.kind, s.tcc_check_offset, s.out_offset, s.bypass?.state, s.poke?.state, s.poke?.target_program]),
      );
      expect(ours.test_run.retval).toBe(theirs.test_run.retval);
      expect(ours.diff_vs_previous_snapshot.ranges.map((r: Json) => r.offset)).toEqual(theirs.diff_vs_previous_snapshot.ranges.map((r: Json) => r.offset));
      compared++;
    }
    expect(compared).toBe(43);
  });
});

describe('site recogniser on its own', () => {
  it('does not take a lone counter check for a site', () => {
    // mov eax,[rbp-4]; cmp eax,33; jae +0x14 ... without the rest of the sequence
    const b = hexBytes('8b85fcffffff83f821731483c0018985fcffffff90909090');
    expect(findSites(b)).toEqual([]);
  });
});

describe.runIf(objdumpAvailable())('disassembly files', () => {
  it('annotates jumps with the guest kernel symbols', () => {
    const { text, host } = readTranscript(KERNELS[0], 'default');
    const r = buildFixtures(parseTranscript(text), host, { disassemble: true });
    const f = r.fixtures.find((x) => x.file === 'caller_ind__a_initial.json');
    expect(f?.dis).toMatch(/jmp\s+0xffffffff81e015a0\s+<__x86_indirect_thunk_rcx>/);
    expect(f?.json.disassembly_file).toBe('caller_ind__a_initial.dis');
  });
});

/** Captures made with `capture.sh --cpu`: layout `<kernel>/<cpu>/<config>/`, no `.dis`. */
describe('capture writer, the CPU matrix (--cpu)', () => {
  const root = join('test', 'fixtures', 'capture-transcripts');
  const runs = readdirSync(root)
    .flatMap((k) => readdirSync(join(root, k)).map((c) => [k, c]))
    .filter(([k, c]) => existsSync(join(root, k, c)) && !existsSync(join(root, k, c, 'host.json')))
    .flatMap(([k, c]) => readdirSync(join(root, k, c)).map((cfg) => [k, c, cfg]));
  it('every kernel of the matrix has all six CPU models', () => {
    for (const k of ['linux-6.1.0-56-amd64', 'linux-6.12.118+deb12-amd64', 'linux-5.10.0-46-amd64']) {
      expect(new Set(runs.filter((r) => r[0] === k).map((r) => r[1]))).toEqual(
        new Set(['Cascadelake-Server', 'EPYC-Milan', 'EPYC-Rome', 'Icelake-Server', 'Skylake-Client', 'max']),
      );
    }
  });
  for (const [k, cpu, cfg] of runs) {
    it(`${k} ${cpu} ${cfg}: reproduces the committed fixtures, with the CPU model, family and every vulnerabilities line`, () => {
      const dir = join(root, k, cpu, cfg);
      const host = JSON.parse(readFileSync(join(dir, 'host.json'), 'utf8')) as HostInfo;
      expect([host.cpu_model, host.layout, host.config]).toEqual([cpu, 'per-cpu', cfg]);
      const result = buildFixtures(parseTranscript(readFileSync(join(dir, 'transcript.txt'), 'utf8')), host, {
        transcriptLabel: join(dir, 'transcript.txt'),
        disassemble: false,
      });
      expect(result.warnings).toEqual([]);
      expect(result.subdir).toBe(join(cpu, cfg));
      expect(result.fixtures).toHaveLength(111);
      for (const f of result.fixtures) {
        const committed = JSON.parse(readFileSync(join('test', 'fixtures', 'captured', k, cpu, cfg, f.file), 'utf8')) as Json;
        expect(f.json, f.file).toEqual(committed);
      }
      const g = result.fixtures[0].json.guest_cpu as Record<string, string>;
      expect(Object.keys(g).slice(0, 3)).toEqual(['vendor', 'family', 'model']);
      expect(g.family).toMatch(/^\d+$/);
      expect(result.fixtures[0].json.qemu).toContain(`-cpu ${cpu} `);
    });
  }
});
