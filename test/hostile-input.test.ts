/**
 * Hostile and careless input, as a new user or a CI job gives it: every row
 * is a command line, the exit code it must give and the first line it must
 * print on stderr. None may print a stack trace or an internal error (exit
 * 70 is for pokecheck's own bugs); bad input is exit 2 with one line. Then a
 * fast-check fuzz of the --script parsers: arbitrary text either builds a
 * model or is a one-line configuration error, never anything else.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findModel, MODELS } from '../models/index.js';
import { parseScript, ScriptError } from '../src/arraymap/updater.js';
import { buildModel } from '../src/check/reference.js';
import { ModelConfigError } from '../src/concurrency/model.js';
import { cli } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pokecheck-hostile-'));
const FILE = join(tmp, 'a-file.txt');
writeFileSync(FILE, 'not a folder\n');
const DIR = join(tmp, 'a-dir');
mkdirSync(DIR);
const BAD_JSON = join(tmp, 'bad.json');
writeFileSync(BAD_JSON, '{ "schema": ');
const HOST_JSON = 'test/fixtures/capture-transcripts/linux-6.1.0-56-amd64/default/host.json';
const long = (ops: string, n: number): string => Array.from({ length: n }, () => ops).join('; ');

/** [command line, exit code, first stderr line]. */
type Row = [string[], number, RegExp];

const USAGE: Row[] = [
  [[], 2, /^usage: pokecheck <command>/],
  [['frobnicate'], 2, /^pokecheck: unknown command 'frobnicate'/],
  [['--frobnicate'], 2, /^pokecheck: unknown command '--frobnicate'/],
  [['check'], 2, /^pokecheck: check needs a model/],
  [['check', 'no-such-model'], 2, /^pokecheck: unknown model 'no-such-model' \(models: tailcall-poke/],
  [['check', 'tailcall-poke', 'extra'], 2, /^pokecheck: unexpected argument 'extra'/],
  [['check', 'tailcall-poke', '--no-such-flag'], 2, /^pokecheck: Unknown option '--no-such-flag'/],
  [['check', 'tailcall-poke', '-x'], 2, /^pokecheck: Unknown option '-x'/],
  [['check', 'tailcall-poke', '--protocol'], 2, /^pokecheck: Option '--protocol <value>' argument missing/],
  [['check', 'tailcall-poke', '--protocol', 'v9.99'], 2, /^pokecheck: unknown protocol 'v9.99' for tailcall-poke \(protocols: /],
  [['check', 'tailcall-poke', '--protocol', ''], 2, /^pokecheck: unknown protocol '' for tailcall-poke/],
  [['check', 'tailcall-poke', '--cpus', '0'], 2, /^pokecheck: --cpus must be between 1 and 64, got 0$/],
  [['check', 'tailcall-poke', '--cpus', '-1'], 2, /^pokecheck: --cpus takes a whole number, got '-1'$/],
  [['check', 'tailcall-poke', '--cpus=-1'], 2, /^pokecheck: --cpus takes a whole number, got '-1'$/],
  [['check', 'tailcall-poke', '--cpus', '65'], 2, /^pokecheck: --cpus must be between 1 and 64, got 65$/],
  [['check', 'tailcall-poke', '--cpus', 'two'], 2, /^pokecheck: --cpus takes a whole number, got 'two'$/],
  [['check', 'tailcall-poke', '--cpus', 'Every'], 2, /^pokecheck: --cpus takes a whole number, got 'Every'$/],
  [['check', 'recursion-detect', '--cpus', 'every'], 2, /^pokecheck: recursion-detect: --cpus every needs a reader model: /],
  [['check', 'tailcall-poke', '--cpus', '1.5'], 2, /^pokecheck: --cpus takes a whole number, got '1.5'$/],
  [['check', 'tailcall-poke', '--cpus', ''], 2, /^pokecheck: --cpus takes a whole number, got ''$/],
  [['check', 'tailcall-poke', '--cpus', '99999999999999999999999'], 2, /^pokecheck: --cpus must be between 1 and 64/],
  [['check', 'tailcall-poke', '--cpus', '65'], 2, /^pokecheck: --cpus must be between 1 and 64, got 65$/],
  [['check', 'tailcall-poke', '--level', 'byte', '--cpus', '9'], 2, /^pokecheck: tailcall-poke --level byte: --cpus must be 1\.\.8, got 9$/],
  [['check', 'arm64-poke', '--cpus', '9'], 2, /^pokecheck: arm64-poke: --cpus must be 1\.\.8, got 9$/],
  [['check', 'tailcall-hierarchy', '--cpus', '2'], 2, /^pokecheck: tailcall-hierarchy: --cpus must be 1 /],
  [['check', 'recursion-detect', '--cpus', '2'], 2, /^pokecheck: recursion-detect: the counter is per-CPU/],
  [['check', 'tailcall-poke', '--max-states', '0'], 2, /^pokecheck: --max-states must be between 1 and/],
  [['check', 'tailcall-poke', '--max-states', '-5'], 2, /^pokecheck: --max-states takes a whole number, got '-5'$/],
  [['check', 'tailcall-poke', '--max-states', '1e6'], 2, /^pokecheck: --max-states takes a whole number, got '1e6'$/],
  [['check', 'tailcall-poke', '--max-memory', '0'], 2, /^pokecheck: --max-memory must be between 1 and/],
  [['check', 'tailcall-poke', '--max-memory', 'lots'], 2, /^pokecheck: --max-memory takes a whole number/],
  [['check', 'tailcall-poke', '--time-limit', '0'], 2, /^pokecheck: --time-limit must be between 1 and/],
  [['check', 'tailcall-poke', '--time-limit', '-1'], 2, /^pokecheck: --time-limit takes a whole number, got '-1'$/],
  [['check', 'tailcall-poke', '--time-limit', '10s'], 2, /^pokecheck: --time-limit takes a whole number, got '10s'$/],
  [['check', 'tailcall-poke', '--workers', '0'], 2, /^pokecheck: --workers must be between 1 and 64/],
  [['check', 'tailcall-poke', '--workers', '65'], 2, /^pokecheck: --workers must be between 1 and 64/],
  [['check', 'tailcall-poke', '--store', 'disk'], 2, /^pokecheck: --store must be wasm or js, got 'disk'$/],
  [['check', 'tailcall-poke', '--pipeline', '--workers', '2'], 2, /^pokecheck: --pipeline and --workers exclude each other$/],
  [['check', 'tailcall-poke', '--pipeline', '--store', 'js'], 2, /^pokecheck: --pipeline keeps its states in WebAssembly memory/],
  [['check', 'tailcall-poke', '--symmetry', '--no-symmetry'], 2, /^pokecheck: --symmetry and --no-symmetry exclude each other$/],
  [['check', 'tailcall-poke', '--quiet', '--progress'], 2, /^pokecheck: --quiet and --progress exclude each other$/],
  [['check', 'tailcall-poke', '--progress-every', '0'], 2, /^pokecheck: --progress-every must be between 1 and/],
  [['check', 'tailcall-load-race', '--protocol', 'rfc'], 2, /^pokecheck: unknown protocol 'rfc' for tailcall-load-race \(protocols: v5.5, v5.10, v6.7\)$/],
  [['check', 'tailcall-hierarchy', '--symmetry'], 2, /^pokecheck: tailcall-hierarchy has no symmetry reduction \(--symmetry\)$/],
  [['check', 'tailcall-poke', '--expect', 'maybe'], 2, /^pokecheck: --expect takes holds, violated, violated:P1,P2 or incomplete, got 'maybe'$/],
  [['check', 'tailcall-poke', '--expect', ''], 2, /^pokecheck: --expect takes holds/],
  [['check', 'tailcall-poke', '--expect', 'violated:P9'], 2, /^pokecheck: --expect: unknown property 'P9' \(properties: P1, P2, P3, P4\)$/],
  [['check', 'tailcall-poke', '--expect', 'holds:P1'], 2, /^pokecheck: --expect holds takes no properties$/],
  [['check', 'tailcall-poke', '--expect', 'violated:'], 2, /^pokecheck: --expect: unknown property ''/],
  [['check', 'tailcall-poke', '--tasks', '2'], 2, /^pokecheck: --tasks is not an option of tailcall-poke$/],
  [['check', 'tailcall-poke', '--level', 'atom'], 2, /^pokecheck: --level must be one of instruction, byte, got 'atom'$/],
  [['check', 'tailcall-poke', '--poke', 'memset'], 2, /^pokecheck: --poke must be one of text_poke_bp, memcpy, got 'memset'$/],
  [['check', 'tailcall-poke', '--script', ''], 2, /^pokecheck: tailcall-poke: empty script$/],
  [['check', 'tailcall-poke', '--script', ';;;'], 2, /^pokecheck: tailcall-poke: empty script$/],
  [['check', 'tailcall-poke', '--script', 'install'], 2, /^pokecheck: tailcall-poke: 'install': install needs a program/],
  [['check', 'tailcall-poke', '--script', 'install f9'], 2, /^pokecheck: tailcall-poke: 'install f9': programs are f1\.\.f7$/],
  [['check', 'tailcall-poke', '--script', 'install f0'], 2, /^pokecheck: tailcall-poke: 'install f0': programs are f1\.\.f7$/],
  [['check', 'tailcall-poke', '--script', 'install f4'], 2, /^pokecheck: tailcall-poke: at most 3 programs/],
  [['check', 'tailcall-poke', '--script', 'install f1@2'], 2, /^pokecheck: tailcall-poke: the caller has one site, on key 0$/],
  [['check', 'tailcall-poke', '--script', 'remove f1'], 2, /^pokecheck: tailcall-poke: 'remove f1': remove takes a key/],
  [['check', 'tailcall-poke', '--script', 'drop table'], 2, /^pokecheck: tailcall-poke: bad script operation 'drop table'/],
  [['check', 'tailcall-poke', '--script', 'install f1\x07; rem\x1bove'], 2, /^pokecheck: tailcall-poke: bad script operation 'install f1\\x07'/],
  [['check', 'tailcall-poke', '--script', 'upd\nate f1'], 2, /^pokecheck: tailcall-poke: bad script operation 'upd\\nate f1'/],
  [['check', 'tailcall-poke', '--script', 'install f1; update f2; \u202eremove'], 2, /^pokecheck: tailcall-poke: bad script operation/],
  [['check', 'tailcall-poke', '--script', long('install f1; update f2; remove; install f3', 200)], 2, /^pokecheck: tailcall-poke: this configuration is too large for the model's packed state \(--script has 800 operations\)/],
  [['check', 'tailcall-poke', '--level', 'byte', '--script', long('install f1; update f2; remove; install f3', 200)], 2, /^pokecheck: tailcall-poke: this configuration is too large|^pokecheck: tailcall-poke/],
  [['check', 'dispatcher', '--script', long('attach f1; detach f1', 400)], 2, /^pokecheck: dispatcher: this configuration is too large for the model's packed state \(--script has 800 operations\)/],
  [['check', 'dispatcher', '--script', 'attach f9'], 2, /^pokecheck: dispatcher: bad script operation 'attach f9'/],
  [['check', 'arm64-poke', '--script', 'b'], 2, /^pokecheck: arm64-poke: bad script item 'b'/],
  [['check', 'arm64-poke', '--fetch', 'dword'], 2, /^pokecheck: --fetch must be one of word, byte, got 'dword'$/],
  [['check', 'recursion-detect', '--tasks', '-3'], 2, /^pokecheck: recursion-detect: --tasks must be 1\.\.3, got '-3'$/],
  [['check', 'recursion-detect', '--depth', '99999'], 2, /^pokecheck: recursion-detect: --depth must be 1\.\.3, got '99999'$/],
  [['check', 'tailcall-cached-target', '--updaters', '|||'], 2, /^pokecheck: tailcall-cached-target: --updaters takes two scripts separated by '\|', got 4$/],
  [['check', 'tailcall-hierarchy', '--graph', 'main: ;;;'], 2, /^pokecheck: tailcall-hierarchy: --graph: bad clause 'main:'/],
  [['check', 'tailcall-load-race', '--script', 'attach f1'], 2, /^pokecheck: tailcall-load-race: bad script operation 'attach f1'/],
  [['check', '--all', 'tailcall-poke'], 2, /^pokecheck: check --all takes no model$/],
  [['check', '--all', '--json', 'x.json'], 2, /^pokecheck: check --all runs every reference configuration/],
  [['check', '--all', '--json', ''], 2, /^pokecheck: check --all runs every reference configuration/],
  [['check', '--all', '--cpus', '2'], 2, /^pokecheck: check --all runs every reference configuration/],
  [['check', '--all', '--expect', 'holds'], 2, /^pokecheck: check --all runs every reference configuration/],
  [['check', '--all', '--script', 'install f1'], 2, /^pokecheck: --script is not an option of check --all$/],
  [['list', 'extra'], 2, /^pokecheck: list takes no arguments, got 'extra'$/],
  [['report', 'extra'], 2, /^pokecheck: unexpected argument 'extra'$/],
  [['report', '--workers', '0'], 2, /^pokecheck: --workers must be between 1 and 64/],
  [['report', '--json', 'x'], 2, /^pokecheck: Unknown option '--json'/],
  [['graph'], 2, /^pokecheck: graph needs a model/],
  [['graph', 'nope'], 2, /^pokecheck: unknown model 'nope'/],
  [['graph', 'tailcall-poke', '--cpus', '0'], 2, /^pokecheck: --cpus must be between 1 and 64, got 0$/],
  [['graph', 'tailcall-poke', '--kind', 'spaghetti'], 2, /^pokecheck: --kind spaghetti is not available for tailcall-poke/],
  [['graph', 'tailcall-poke', '--format', 'png'], 2, /^pokecheck: --format must be dot or svg, got 'png'$/],
  [['graph', 'tailcall-poke', '--property', 'P1'], 2, /^pokecheck: --property goes with --kind lanes$/],
  [['graph', 'tailcall-poke', '--protocol', 'v9'], 2, /^pokecheck: unknown protocol 'v9' for tailcall-poke/],
  [['graph', 'tailcall-poke', '--kind', 'lanes', '--cpus', '1', '--format', 'dot'], 2, /^pokecheck: no counterexample: tailcall-poke --protocol v5.10 --cpus 1 verdict holds$/],
  [['graph', 'tailcall-poke', '--tasks', '1'], 2, /^pokecheck: --tasks is not an option of tailcall-poke$/],
  [['jit'], 2, /^pokecheck: jit needs a command: verify or emit$/],
  [['jit', 'compile'], 2, /^pokecheck: unknown jit command 'compile'/],
  [['jit', 'emit'], 2, /^pokecheck: usage: jit emit --fixture FILE$/],
  [['jit', 'emit', '--fixture', '/no/such/fixture.json'], 2, /^pokecheck: \/no\/such\/fixture\.json: cannot read/],
  [['jit', 'emit', '--fixture', BAD_JSON], 2, /^pokecheck: .*bad\.json/],
  [['jit', 'verify', '/no/such/dir'], 2, /^pokecheck: \/no\/such\/dir: no such file or directory$/],
  [['jit', 'verify', HOST_JSON], 2, /^pokecheck: .*host\.json: schema: expected 'bpf-jit-oracle\/1'/],
  [['jit', 'verify', DIR], 2, /^pokecheck: .*a-dir: no fixture files$/],
];

/** Output paths: checked before any search, one line, exit 2. */
const OUTPUTS: Row[] = [
  [['check', 'tailcall-poke', '--json', ''], 2, /^pokecheck: --json needs a file name$/],
  [['check', 'tailcall-poke', '--md', ''], 2, /^pokecheck: --md needs a file name$/],
  [['check', 'tailcall-poke', '--junit', ''], 2, /^pokecheck: --junit needs a file name$/],
  [['check', 'tailcall-poke', '--sarif', ''], 2, /^pokecheck: --sarif needs a file name$/],
  [['check', 'tailcall-poke', '--json', DIR], 2, /^pokecheck: --json .*a-dir: cannot write: it is a folder$/],
  [['check', 'tailcall-poke', '--md', DIR], 2, /^pokecheck: --md .*a-dir: cannot write: it is a folder$/],
  [['check', 'tailcall-poke', '--junit', DIR], 2, /^pokecheck: --junit .*a-dir: cannot write: it is a folder$/],
  [['check', 'tailcall-poke', '--sarif', DIR], 2, /^pokecheck: --sarif .*a-dir: cannot write: it is a folder$/],
  [['check', 'tailcall-poke', '--json', join(FILE, 'r.json')], 2, /^pokecheck: --json .*a-file\.txt\/r\.json: cannot write: a part of the path is a file, not a folder$/],
  [['check', 'tailcall-poke', '--md', join(FILE, 'x', 'r.md')], 2, /^pokecheck: --md .*: cannot write: a part of the path is a file/],
  [['check', 'tailcall-poke', '--junit', join(FILE, 'j.xml')], 2, /^pokecheck: --junit .*: cannot write: a part of the path is a file/],
  [['check', 'tailcall-poke', '--sarif', join(FILE, 's.sarif')], 2, /^pokecheck: --sarif .*: cannot write: a part of the path is a file/],
  [['check', '--all', '--junit', join(FILE, 'j.xml')], 2, /^pokecheck: --junit .*: cannot write: a part of the path is a file/],
  [['check', '--all', '--sarif', DIR], 2, /^pokecheck: --sarif .*a-dir: cannot write: it is a folder$/],
  [['check', '--all', '--junit', ''], 2, /^pokecheck: --junit needs a file name$/],
  [['report', '--out', FILE], 2, /^pokecheck: --out .*a-file\.txt: cannot write there: it is a file, not a folder$/],
  [['report', '--out', join(FILE, 'sub')], 2, /^pokecheck: --out .*: cannot write there: /],
  [['report', '--out', ''], 2, /^pokecheck: --out needs a folder name$/],
  [['check', 'tailcall-poke', '--sarif-root', 'ci.yml'], 2, /^pokecheck: --sarif-root goes with --sarif$/],
  [['check', 'tailcall-poke', '--sarif', join(tmp, 's.sarif'), '--sarif-root', ''], 2, /^pokecheck: --sarif-root needs a path/],
  [['report', '--sarif-root', ''], 2, /^pokecheck: --sarif-root needs a path/],
];
// Writable when opened, full when written (Linux's /dev/full): still one line, after the search.
if (existsSync('/dev/full')) OUTPUTS.push([['check', 'tailcall-poke', '--cpus', '1', '--json', '/dev/full'], 2, /^pokecheck: --json \/dev\/full: cannot write: no space left on the device$/]);

/** Harmless commands that succeed. */
const FINE: Row[] = [
  [['--version'], 0, /^$/],
  [['version'], 0, /^$/],
  [['--help'], 0, /^$/],
  [['list'], 0, /^$/],
];

const noStack = (lines: string[]): void => {
  for (const l of lines) {
    expect(l).not.toMatch(/^\s+at\s/);
    expect(l).not.toMatch(/internal error|this is a bug in pokecheck/);
    expect(l).not.toMatch(/\x1b|\x07/); // control characters of the input are shown escaped
  }
};

describe('hostile input: one line, the right exit code, never a stack trace', () => {
  it('has at least 80 rows', () => expect(USAGE.length + OUTPUTS.length + FINE.length).toBeGreaterThanOrEqual(80));
  for (const [argv, code, first] of [...USAGE, ...OUTPUTS, ...FINE]) {
    const title = argv.map((a) => (a.length > 40 ? `${a.slice(0, 37)}...` : JSON.stringify(a))).join(' ');
    it(`${title || '(no arguments)'} -> ${code}`, async () => {
      const r = await cli(...argv);
      expect(r.code, r.err.join('\n')).toBe(code);
      noStack([...r.err, ...r.out]);
      expect(r.err[0] ?? '').toMatch(first);
      if (code === 2 && argv.length > 0) expect(r.err).toHaveLength(1);
    });
  }

  it('an output path that cannot be written fails before the search: nothing printed on stdout', async () => {
    const r = await cli('check', 'tailcall-poke', '--cpus', '8', '--no-symmetry', '--json', join(FILE, 'r.json'));
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
  });
});

describe('fuzz: arbitrary --script text never crashes', () => {
  const piece = fc.oneof(
    fc.constantFrom('install', 'update', 'remove', 'delete', 'attach', 'detach', 'replace', 'nop', 'b', 'bl', 'f1', 'f2', 'f3', 'f7', 'f9', 'f0', 'fext1', 'tramp1', '@1', '@0', '1', '0', ';', ';', ' ', '|', '\t', '\n', '\x00', 'é', '\u202e'),
    fc.string({ maxLength: 6 }),
  );
  const script = fc.oneof(fc.string({ maxLength: 40 }), fc.array(piece, { maxLength: 14 }).map((xs) => xs.join(' ')));

  it('the map-script parser: a list of operations or a ScriptError', () => {
    fc.assert(
      fc.property(script, (s) => {
        try {
          const ops = parseScript(s);
          expect(ops.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(ScriptError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every model with a script option: the model builds or the configuration is refused (exit 2), nothing else', () => {
    const withScript = MODELS.filter((m) => m.options.some((o) => o.name === 'script' || o.name === 'updaters'));
    expect(withScript.length).toBeGreaterThanOrEqual(4);
    fc.assert(
      fc.property(fc.constantFrom(...withScript.map((m) => m.name)), script, (name, s) => {
        const def = findModel(name)!;
        const opt = def.options.find((o) => o.name === 'script' || o.name === 'updaters')!.name;
        try {
          buildModel(def, def.defaultProtocol, 1, { [opt]: s });
        } catch (e) {
          expect(e, String(e)).toBeInstanceOf(ModelConfigError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('through the command line: exit 0, 1 or 3 for a script that parses, 2 with one line for one that does not', async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const r = await cli('check', 'tailcall-poke', '--cpus', '1', '--max-states', '200', '--quiet', '--script', s);
        expect([0, 1, 2, 3]).toContain(r.code);
        noStack([...r.err, ...r.out]);
        if (r.code === 2) expect(r.err).toHaveLength(1);
      }),
      { numRuns: 25 },
    );
  });
});

describe('our own bugs', () => {
  it('are exit 70 with one line naming the error, the version and "please report"; the stack only with POKECHECK_DEBUG', async () => {
    const { internalErrorLines } = await import('../src/cli/main.js');
    const saved = process.env.POKECHECK_DEBUG;
    delete process.env.POKECHECK_DEBUG;
    const lines = internalErrorLines(new TypeError('x is undefined'));
    expect(lines[0]).toBe('pokecheck: internal error: x is undefined');
    expect(lines[1]).toMatch(/^pokecheck: this is a bug in pokecheck \d+\.\d+\.\d+.*; please report it/);
    expect(lines).toHaveLength(2);
    process.env.POKECHECK_DEBUG = '1';
    expect(internalErrorLines(new Error('boom')).some((l) => /^\s+at /.test(l))).toBe(true);
    if (saved === undefined) delete process.env.POKECHECK_DEBUG;
    else process.env.POKECHECK_DEBUG = saved;
  });
});
