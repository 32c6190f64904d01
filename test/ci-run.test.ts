/**
 * What a CI job needs of a run: a signal or --time-limit ends the search the
 * way a limit does (verdict incomplete, what was found kept, every output
 * written, exit 3 or 1), in every search engine; --expect pins an outcome;
 * results describe what they prove; a heartbeat for logs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { findModel } from '../models/index.js';
import { runCheck } from '../src/check/result.js';
import { matchesExpectation } from '../src/check/reference.js';
import { exitCodeOfAll } from '../src/cli/check-cmd.js';
import { explore } from '../src/concurrency/explorer.js';
import { STOP_INTERRUPTED, STOP_TIME_LIMIT } from '../src/concurrency/search-stop.js';
import { sarifLog } from '../src/report/sarif.js';
import { VERSION } from '../src/version.js';
import { cli } from './helpers/cli.js';

const MAIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const tmp = (): string => mkdtempSync(join(tmpdir(), 'pokecheck-ci-'));
const cell = (v: number): Int32Array => {
  const c = new Int32Array(new SharedArrayBuffer(4));
  c[0] = v;
  return c;
};
const model = (protocol: string, cpus: number) => findModel('tailcall-poke')!.build({ protocol, cpus, options: {} });
const origin = (protocol: string, cpus: number) => ({ model: 'tailcall-poke', config: { protocol, cpus, options: {} } });

/** Runs the built CLI, sends `signal` once the first heartbeat shows the search running. */
function runAndSignal(args: string[], signal: NodeJS.Signals): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args, '--progress', '--progress-every', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && /states/.test(err)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('the engines stop on the stop cell and the deadline, as on a limit', () => {
  it('explore: a set cell is "interrupted", a passed deadline "time-limit"; neither is complete, nothing holds', () => {
    const sys = model('v5.10', 3).system;
    const a = explore(sys, { stop: cell(STOP_INTERRUPTED) });
    expect(a.limit).toBe('interrupted');
    expect(a.complete).toBe(false);
    const b = explore(sys, { stop: cell(STOP_TIME_LIMIT) });
    expect(b.limit).toBe('time-limit');
    const c = explore(sys, { deadline: Date.now() - 1 });
    expect(c.limit).toBe('time-limit');
    expect(explore(sys, { stop: cell(0), deadline: Date.now() + 600_000 }).complete).toBe(true);
  });

  it('runCheck: an interrupted check is incomplete, but a violation found before the stop is still reported with its counterexample', () => {
    // no-sync's P1 violation is found in the first batch (its counterexample is 13 steps; see models' tests).
    const r = runCheck(model('no-sync', 3), { stop: cell(STOP_INTERRUPTED) });
    expect(r.limit).toBe('interrupted');
    expect(['violated', 'incomplete']).toContain(r.verdict);
    expect(r.properties.some((p) => p.status === 'holds')).toBe(false);
    const full = runCheck(model('v5.10', 3), { stop: cell(STOP_INTERRUPTED) });
    expect(full.verdict).toBe('incomplete');
    expect(full.properties.every((p) => p.status === 'incomplete')).toBe(true);
  });

  it('the pipelined and the parallel search stop on the cell too', () => {
    for (const opts of [{ pipeline: true }, { workers: 2 }]) {
      const r = runCheck(model('v5.10', 4), { ...opts, symmetry: false, origin: origin('v5.10', 4), stop: cell(STOP_TIME_LIMIT) });
      expect(r.limit, JSON.stringify(opts)).toBe('time-limit');
      expect(r.verdict).toBe('incomplete');
      const i = runCheck(model('v5.10', 4), { ...opts, symmetry: false, origin: origin('v5.10', 4), stop: cell(STOP_INTERRUPTED) });
      expect(i.limit).toBe('interrupted');
    }
  });
});

describe('SIGTERM, SIGINT and --time-limit on the command line', () => {
  it('SIGTERM mid-search: exit 3, INCOMPLETE printed, --json, --md and --junit written with incomplete', async () => {
    const d = tmp();
    const r = await runAndSignal(['check', 'tailcall-poke', '--cpus', '8', '--no-symmetry', '--json', join(d, 'r.json'), '--md', join(d, 'r.md'), '--junit', join(d, 'j.xml')], 'SIGTERM');
    expect(r.code, r.err).toBe(3);
    expect(r.out.split('\n')[0]).toMatch(/INCOMPLETE .*stopped by a signal/);
    expect(r.err).toMatch(/SIGTERM: stopping the search/);
    expect(r.err).not.toMatch(/^\s+at /m);
    const j = JSON.parse(readFileSync(join(d, 'r.json'), 'utf8'));
    expect(j.verdict).toBe('incomplete');
    expect(j.limit).toBe('interrupted');
    expect(j.states).toBeGreaterThan(0);
    expect(readFileSync(join(d, 'r.md'), 'utf8')).toMatch(/\*\*Verdict: incomplete\*\*/);
    const x = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(join(d, 'j.xml'), 'utf8'));
    expect(Number(x.testsuites['@_failures'])).toBeGreaterThan(0);
    expect(readFileSync(join(d, 'j.xml'), 'utf8')).toMatch(/name="limit" value="interrupted"/);
  }, 60_000);

  it('SIGINT after a violation was found: exit 1, the violation and its counterexample kept', async () => {
    const d = tmp();
    // the scenario (one script): its P1 violation is found within the first second
    const r = await runAndSignal(['check', 'tailcall-poke', '--protocol', 'no-sync', '--script', 'install f1; update f2; remove; install f3', '--cpus', '8', '--no-symmetry', '--json', join(d, 'r.json')], 'SIGINT');
    expect(r.code, r.err).toBe(1);
    const j = JSON.parse(readFileSync(join(d, 'r.json'), 'utf8'));
    expect(j.verdict).toBe('violated');
    expect(j.limit).toBe('interrupted');
    expect(j.properties.find((p: { id: string }) => p.id === 'P1').status).toBe('violated');
    expect(j.properties.filter((p: { status: string }) => p.status === 'incomplete').length).toBeGreaterThan(0);
    expect(j.counterexamples[0].property).toBe('P1');
  }, 60_000);

  it('--time-limit: INCOMPLETE after about that long, exit 3, outputs written', async () => {
    const d = tmp();
    const t0 = Date.now();
    const r = await cli('check', 'tailcall-poke', '--cpus', '8', '--no-symmetry', '--time-limit', '1', '--json', join(d, 'r.json'), '--sarif', join(d, 'r.sarif'));
    expect(r.code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.out[0]).toMatch(/INCOMPLETE .*stopped by --time-limit/);
    expect(JSON.parse(readFileSync(join(d, 'r.json'), 'utf8')).limit).toBe('time-limit');
    expect(JSON.parse(readFileSync(join(d, 'r.sarif'), 'utf8')).version).toBe('2.1.0');
  }, 60_000);

  it('check --all --time-limit: every check still listed and in JUnit, cut-short ones incomplete, exit 3', async () => {
    const d = tmp();
    const r = await cli('check', '--all', '--no-symmetry', '--time-limit', '1', '--junit', join(d, 'j.xml'));
    const x = readFileSync(join(d, 'j.xml'), 'utf8');
    const suites = (x.match(/<testsuite /g) ?? []).length;
    expect(r.out.at(-1)).toMatch(new RegExp(`of ${suites} verdicts as expected`));
    // The reference checks without symmetry take several seconds in all; those after the deadline stop at once.
    expect(r.code).toBe(3);
    expect(x).toMatch(/name="limit" value="time-limit"/);
  }, 120_000);
});

describe('check --all exit code of a search cut short after a violation', () => {
  // tailcall-batch v5.6 violates P6 at depth 1 and P8 at depth 7 (docs/reference-verdicts.md); stopped after 3 states, it has only P6.
  const def = findModel('tailcall-batch')!;
  const check = def.reference.find((c) => c.protocol === 'v5.6' && !c.options)!;
  const r = runCheck(def.build({ protocol: check.protocol, cpus: check.cpus, options: {} }), { maxStates: 3 });
  it('is 3 (cut short) where the kernel says violated, and 1 (definite) where it says holds', () => {
    expect(r.verdict).toBe('violated');
    expect(r.limit).toBe('max-states');
    expect(matchesExpectation(check, r)).toBe(false);
    expect(exitCodeOfAll([{ model: def.name, check, result: r, ok: false }])).toBe(3);
    expect(exitCodeOfAll([{ model: def.name, check: { ...check, expected: 'holds', expectedViolated: undefined }, result: r, ok: false }])).toBe(1);
  });
});

describe('report under a time limit', () => {
  it('writes every file with the cut-short checks incomplete, exit 3', async () => {
    const d = join(tmp(), 'report');
    const r = await cli('report', '--out', d, '--no-symmetry', '--time-limit', '1', '--sarif-root', 'ci.yml');
    expect(r.code).toBe(3);
    const results = JSON.parse(readFileSync(join(d, 'results.json'), 'utf8')) as { verdict: string; limit: string | null; ok: boolean }[];
    expect(results.some((x) => x.limit === 'time-limit' && x.verdict === 'incomplete')).toBe(true);
    // not as expected only where the search was cut short (incomplete, or stopped after some of the expected violations)
    expect(results.filter((x) => !x.ok).every((x) => x.verdict === 'incomplete' || x.limit === 'time-limit')).toBe(true);
    for (const f of ['index.html', 'summary.md', 'junit.xml', 'results.sarif']) expect(readFileSync(join(d, f), 'utf8').length).toBeGreaterThan(100);
  }, 120_000);
});

describe('--expect pins the outcome of one check', () => {
  it('a known-bad protocol pinned as violated:P1 passes (exit 0, JUnit without failures); pinned as holds it fails', async () => {
    const d = tmp();
    // no-sync: v5.10 without the synchronize_rcu() ebf7d1f508a7 puts between the two pokes of a removal: P1 is violated.
    const ok = await cli('check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', '2', '--expect', 'violated:P1', '--junit', join(d, 'ok.xml'));
    expect(ok.code).toBe(0);
    expect(ok.out.at(-1)).toBe('as expected (--expect violated:P1)');
    expect(readFileSync(join(d, 'ok.xml'), 'utf8')).toMatch(/<testsuites [^>]*failures="0"/);
    const bad = await cli('check', 'tailcall-poke', '--protocol', 'no-sync', '--cpus', '2', '--expect', 'holds', '--junit', join(d, 'bad.xml'));
    expect(bad.code).toBe(1);
    expect(bad.out.at(-1)).toMatch(/^NOT as expected: --expect holds, found violated \(P1\)/);
    expect(readFileSync(join(d, 'bad.xml'), 'utf8')).not.toMatch(/<testsuites [^>]*failures="0"/);
  });

  it('a holding protocol expected violated fails; incomplete can be expected of a cut-short search', async () => {
    expect((await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '2', '--expect', 'violated:P1')).code).toBe(1);
    expect((await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '2', '--expect', 'violated')).code).toBe(1);
    expect((await cli('check', 'tailcall-poke', '--cpus', '3', '--max-states', '100', '--expect', 'incomplete')).code).toBe(0);
    expect((await cli('check', 'tailcall-poke', '--cpus', '3', '--max-states', '100', '--expect', 'holds')).code).toBe(1);
  });
});

describe('results describe themselves', () => {
  it('JSON, Markdown, text and JUnit name the tool, the configuration, the protocol steps, the bytes and the scope', async () => {
    const d = tmp();
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--cpus', '2', '--json', join(d, 'r.json'), '--md', join(d, 'r.md'), '--junit', join(d, 'j.xml'));
    expect(r.code).toBe(0);
    const a = JSON.parse(readFileSync(join(d, 'r.json'), 'utf8')).about;
    expect(a.tool.name).toBe('pokecheck');
    expect(a.tool.version).toBe(VERSION);
    expect(a.tool.commit === null || /^[0-9a-f]{7,40}(-dirty)?$/.test(a.tool.commit)).toBe(true);
    // Every option, the defaults too.
    // (no --script: every sequence of map operations over the pool f1..f3, no protocol file)
    expect(a.configuration).toEqual({ model: 'tailcall-poke', protocol: 'v5.10', cpus: 2, options: { script: '(none: every sequence)', progs: '3', keys: '1', 'protocol-file': 'none', level: 'instruction', poke: 'text_poke_bp' } });
    // v5.10 (ebf7d1f508a7): a removal pokes the bypass back to the jump out, synchronize_rcu(), then the target to a nop.
    const remove = a.steps.find((s: string) => s.startsWith('remove:'));
    expect(remove).toMatch(/tailcall_bypass, NULL -> bypass_addr.*synchronize_rcu\(\).*tailcall_target, old -> NULL/);
    // v5.10's protocol runs on v5.10's bytes (profile 5.10), whose two sites are the 6.1 oracle image's
    expect(a.bytes).toMatch(/^x86-64 bytes of linux v5\.10, layout v5\.10-6\.11, .*profile 5\.10.*linux-6\.1\.0-56-amd64's caller_d0/);
    expect(a.protocol.name).toBe('v5.10');
    expect(a.protocol.summary).toMatch(/ebf7d1f508a7/);
    expect(a.scope).toMatch(/every interleaving of 2 CPUs .*--level instruction.*complete reachable state space/);
    // The caller is always in kallsyms here, so bpf_arch_text_poke's -EINVAL (v5.10 tolerates it) never
    // happens: the holds says nothing about the load/unload window (tailcall-load-race's), and says so.
    expect(a.assumes).toMatch(/in kallsyms throughout.*-EINVAL.*tailcall-load-race/);
    expect(a.scope).toMatch(/; assumes the caller is in kallsyms throughout/);
    expect(r.out).toContain(`scope: ${a.scope}`);
    const md = readFileSync(join(d, 'r.md'), 'utf8');
    expect(md).toMatch(/## What this covers/);
    expect(md).toContain(a.bytes);
    const xml = readFileSync(join(d, 'j.xml'), 'utf8');
    expect(xml).toContain(`name="pokecheck.version" value="${VERSION}"`);
    expect(xml).toMatch(/name="scope" value="every interleaving/);
    expect(xml).toMatch(/name="protocol.steps"/);
  });

  it('no-sync is the v5.10 removal without the synchronize_rcu(); a cut-short search says it claims nothing', async () => {
    const no = runCheck(model('no-sync', 2), { origin: origin('no-sync', 2) });
    expect(no.about!.steps!.find((s) => s.startsWith('remove:'))).not.toMatch(/synchronize_rcu/);
    const cut = runCheck(model('v5.10', 3), { origin: origin('v5.10', 3), maxStates: 50 });
    expect(cut.about!.scope).toMatch(/cut short \(max-states\): nothing is claimed to hold/);
  });
});

describe("a step's source reaches SARIF", () => {
  it('a model whose describe() names a source line: the counterexample carries it, SARIF points there', () => {
    const m = model('no-sync', 2);
    // as a protocol file of the user's would (a shipped protocol's file is ours and never pointed at)
    const withSource = Object.create(m, {
      protocol: { value: 'mine.c' },
      describe: {
        value: (b: Int32Array, a: Int32Array, act: number) => {
          const v = m.describe(b, a, act);
          return v.actor === 'updater' ? { ...v, source: { file: 'mine.c', line: 7 } } : v;
        },
      },
    }) as typeof m;
    const r = runCheck(withSource, {});
    const c = r.counterexamples[0];
    expect(c.steps.some((s) => s.source?.file === 'mine.c')).toBe(true);
    const o = { model: 'tailcall-poke', check: { protocol: 'no-sync', cpus: 2, expected: 'violated' as const, expectedViolated: ['P1'] }, result: r, ok: true };
    const loc = sarifLog([o], { root: 'ci.yml' }).runs[0].results![0].locations![0].physicalLocation!;
    expect(loc.artifactLocation?.uri).toBe('mine.c');
    expect(loc.region?.startLine).toBe(7);
  });
});

describe('progress for logs', () => {
  it('--progress prints whole heartbeat lines on stderr, never a redraw', async () => {
    const r = await cli('check', 'tailcall-poke', '--cpus', '8', '--no-symmetry', '--time-limit', '3', '--progress', '--progress-every', '1');
    expect(r.code).toBe(3);
    const beats = r.err.filter((l) => /^pokecheck: [\d,]+ states +[\d.]+ [kM]? ?states\/s +queue [\d,]+ +depth \d+/.test(l));
    expect(beats.length).toBeGreaterThanOrEqual(1);
    for (const l of r.err) expect(l).not.toMatch(/\r|\x1b/);
  }, 60_000);
});
