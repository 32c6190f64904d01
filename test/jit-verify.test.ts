/**
 * The JIT against every real image we have: the shared oracle (copied into
 * test/fixtures/oracle) and the QEMU captures (test/fixtures/captured), and
 * the `jit verify` / `jit emit` commands on good and bad input.
 *
 * Values taken from a fixture's own bytes: only map addresses (the xlated
 * dump replaces them with map ids and nothing else records them). The test
 * checks that nothing else is ever read back.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../src/jit/oracle/fixture.js';
import { rejitFixture } from '../src/jit/oracle/rejit.js';
import { jitEmitCommand, jitVerifyCommand } from '../src/jit/oracle/verify.js';
import { hexBytes } from '../src/jit/x86/x86.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ORACLE = join(HERE, 'fixtures/oracle/linux-6.1.0-56-amd64/default');
const CAPTURED = join(HERE, 'fixtures/captured');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? jsonFiles(p) : n.endsWith('.json') ? [p] : [];
    });
}

function run(cmd: typeof jitVerifyCommand, args: string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = cmd(args, (l) => lines.push(l));
  return { code, lines };
}

describe('every oracle image is reproduced from its xlated program', () => {
  const files = jsonFiles(ORACLE);
  it('43 oracle fixtures', () => expect(files).toHaveLength(43));
  for (const f of files) {
    it(f.split('/').pop()!, () => {
      const fx = loadFixture(f);
      const r = rejitFixture(fx);
      expect(hexBytes(r.bytes)).toBe(hexBytes(fx.bytes));
      // only map addresses come from the image, 8 bytes per ld_imm64
      for (const x of r.recovered) expect(x.sym).toMatch(/^map:\d+$/);
      expect(r.notes[0]).toBe('profile=6.1 (kernel_version)');
    });
  }
});

/** Directories that directly hold fixtures. */
function fixtureDirs(dir: string): string[] {
  const here = readdirSync(dir).some((n) => n.endsWith('.json'));
  const subs = readdirSync(dir)
    .sort()
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .flatMap((n) => fixtureDirs(join(dir, n)));
  return here ? [dir, ...subs] : subs;
}

describe('every captured image is reproduced (all kernels, CPU models and configurations the capture recorded)', () => {
  const dirs = fixtureDirs(CAPTURED);
  it('captures are present: the 6 legacy directories and the CPU matrix', () => expect(dirs.length).toBeGreaterThanOrEqual(6 + 24));
  for (const d of dirs) {
    // one test per capture directory (kernel / CPU model / config), every fixture in it
    it(d.slice(CAPTURED.length + 1), () => {
      const files = jsonFiles(d).filter((f) => dirname(f) === d);
      expect(files.length).toBe(111);
      for (const f of files) {
        const fx = loadFixture(f);
        const r = rejitFixture(fx);
        expect(hexBytes(r.bytes), f).toBe(hexBytes(fx.bytes));
        // Map addresses, and the SRSO return thunk where the fixture does not record the CPU family
        // that picks srso_return_thunk or srso_alias_return_thunk (then checked against kallsyms in rejit).
        const familyless = (fx.raw.guest_cpu as { family?: string }).family === undefined;
        const allowed = familyless && r.env.cfg.return_thunk_name?.includes('|') ? /^(map:\d+|return_thunk)$/ : /^map:\d+$/;
        for (const x of r.recovered) expect(x.sym, f).toMatch(allowed);
      }
    });
  }
});

describe('jit verify', () => {
  it('matches the whole oracle directory', () => {
    const { code, lines } = run(jitVerifyCommand, [ORACLE]);
    expect(lines.at(-1)).toBe('43 matched, 0 mismatched');
    expect(lines.filter((l) => l.startsWith('ok '))).toHaveLength(43);
    expect(code).toBe(0);
  });

  it('reports the first differing offset with both disassemblies, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitv-'));
    const fx = JSON.parse(readFileSync(join(ORACLE, 'caller_d0__b_install_t1.json'), 'utf8'));
    // the kernel's bypass (nop5 at +0x2c) replaced by a jmp: as if the install had not happened
    fx.bytes = fx.bytes.slice(0, 0x2c * 2) + 'e906000000' + fx.bytes.slice(0x31 * 2);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(fx));
    const { code, lines: all } = run(jitVerifyCommand, [join(ORACLE, 'caller_d0__a_initial.json'), join(dir, 'bad.json')]);
    expect(code).toBe(1);
    // one `# jit:` line first: the same configuration for both files
    expect(all[0]).toMatch(/^# jit: profile=6\.1 indirect=retpoline:__x86_indirect_thunk_rcx return=ret\+int3 /);
    expect(all.filter((l) => l.startsWith('# '))).toHaveLength(1);
    const lines = all.slice(1);
    expect(lines[0]).toMatch(/^ok /);
    expect(lines[1]).toMatch(/^MISMATCH .*bad\.json at \+0x2c \(0xffffffffc0000788;/);
    expect(lines[1]).toContain('ours 0f 1f 44 00 00  nopl   0x0(%rax,%rax,1) | kernel e9 06 00 00 00  jmp    0xffffffffc0000793');
    expect(lines.at(-1)).toBe('1 matched, 1 mismatched');
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"schema":', /not JSON/],
    ['wrong schema', JSON.stringify({ schema: 'other/1' }), /schema: expected 'bpf-jit-oracle\/1'/],
    ['odd hex', '', /bytes: expected an even-length hex string/],
  ];
  for (const [what, text, msg] of bad) {
    it(`bad input (${what}): one line, exit 2`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'jitv-'));
      let body = text;
      if (what === 'odd hex') {
        const fx = JSON.parse(readFileSync(join(ORACLE, 'caller_d0__a_initial.json'), 'utf8'));
        fx.bytes += 'f';
        body = JSON.stringify(fx);
      }
      writeFileSync(join(dir, 'x.json'), body);
      const { code, lines } = run(jitVerifyCommand, [join(dir, 'x.json')]);
      expect(code).toBe(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(msg);
    });
  }

  it('missing path, no arguments, unknown option: exit 2', () => {
    expect(run(jitVerifyCommand, ['/nonexistent/x.json'])).toEqual({ code: 2, lines: ['error: /nonexistent/x.json: no such file or directory'] });
    expect(run(jitVerifyCommand, []).code).toBe(2);
    expect(run(jitVerifyCommand, ['--frobnicate', ORACLE]).code).toBe(2);
  });

  it('a fixture whose profile contradicts its recorded tail-call offset: exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitv-'));
    const fx = JSON.parse(readFileSync(join(ORACLE, 'caller_d0__a_initial.json'), 'utf8'));
    fx.x86_tail_call_offset = 12;
    writeFileSync(join(dir, 'x.json'), JSON.stringify(fx));
    const { code, lines } = run(jitVerifyCommand, [join(dir, 'x.json')]);
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/x86_tail_call_offset 12 contradicts profile 6.1/);
  });
});

describe('jit emit', () => {
  it('prints the image with the poke sites marked, and says it equals the fixture', () => {
    const { code, lines } = run(jitEmitCommand, ['--fixture', join(ORACLE, 'caller_two__h_install_key1_t2.json')]);
    expect(code).toBe(0);
    const text = lines.join('\n');
    // from the fixture: key 1's bypass at 0xffffffffc0000a32 is a nop5, its target jumps to target2+11
    expect(text).toMatch(/ffffffffc0000a32:\t0f 1f 44 00 00 +\tnopl   0x0\(%rax,%rax,1\)    <- tailcall_bypass of poke 1 \(map:1 key 1\)/);
    expect(text).toMatch(/ffffffffc0000a39:\te9 69 fc ff ff +\tjmp    0xffffffffc00006a7    <- tailcall_target of poke 1/);
    expect(text).toContain('# map:1 = 0xff1100001ff8d200 read from the fixture');
    expect(lines.at(-1)).toBe('# equals the fixture image');
  });

  it('usage errors exit 2', () => {
    expect(run(jitEmitCommand, []).code).toBe(2);
    expect(run(jitEmitCommand, ['--fixture']).code).toBe(2);
    expect(run(jitEmitCommand, ['--fixture', '/nonexistent.json']).code).toBe(2);
  });
});
