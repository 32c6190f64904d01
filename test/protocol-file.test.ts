/**
 * Protocol files in kernel C (docs/protocol-files.md), used as a kernel
 * engineer would: copy a shipped file, change it, check it with
 * --protocol-file. Expected verdicts come from the kernel's history
 * (docs/kernel-facts.md section 8.5 and docs/reference-verdicts.md: dropping the synchronize_rcu() or
 * swapping the install order must expose state A; 4b7de801606e: v5.10's
 * tolerated -EINVAL is a BUG_ON under load), not from pokecheck's output.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CACHED_PROTOCOLS } from '../src/arraymap/cached_target.js';
import { PROTOCOLS, type DescUpdateStep, type PokeStep } from '../src/arraymap/poke_desc_update.js';
import { resultMarkdown } from '../src/check/markdown.js';
import type { CheckResult } from '../src/check/result.js';
import { traceView } from '../src/report/html-trace.js';
import { loadProtocol, parseProtocol, ProtocolError, SHIPPED_PROTOCOLS, shippedProtocol, shippedProtocolPath } from '../src/protocol/index.js';
import { cli } from './helpers/cli.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'pokecheck-protocol-'));

/** A copy of shipped protocol `name` in a fresh folder, edited by `edit`. */
function userCopy(name: string, edit: (text: string) => string = (t) => t, as = 'mine.c'): { path: string; text: string } {
  const path = join(tmp(), as);
  copyFileSync(shippedProtocolPath(name), path);
  const text = edit(readFileSync(path, 'utf8'));
  writeFileSync(path, text);
  return { path, text };
}

/** 1-based line of the first line of `text` that contains `needle` after line `from`. */
function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  for (let i = from; i < lines.length; i++) if (lines[i].includes(needle)) return i + 1;
  throw new Error(`'${needle}' not found`);
}

async function checkJson(...args: string[]): Promise<{ code: number; out: string[]; err: string[]; json: CheckResult }> {
  const json = join(tmp(), 'r.json');
  const r = await cli('check', ...args, '--json', json);
  return { ...r, json: JSON.parse(readFileSync(json, 'utf8')) as CheckResult };
}

// ---- the shipped files are the former TypeScript tables -----------------------------------------

/** The step tables as poke_desc_update.ts wrote them in TypeScript before the C files (commit e85772d). */
const poke = (site: PokeStep['site'], old_addr: PokeStep['old_addr'], new_addr: PokeStep['new_addr'], via: PokeStep['via'] = '__bpf_arch_text_poke', bug_on: PokeStep['bug_on'] = 'ret < 0'): PokeStep => ({
  kind: 'poke',
  site,
  old_addr,
  new_addr,
  via,
  bug_on,
});
const sync: DescUpdateStep = { kind: 'synchronize_rcu', only_if_previous_wrote: true };
function merged(via: PokeStep['via'], bug_on: PokeStep['bug_on'], withSync: boolean, bypassFirst = false) {
  return (has_old: boolean, has_new: boolean): DescUpdateStep[] => {
    if (has_new) {
      const target = poke('tailcall_target', 'old', 'new', via, bug_on);
      if (has_old) return [target];
      const bypass = poke('tailcall_bypass', 'bypass_addr', 'NULL', via, bug_on);
      return bypassFirst ? [bypass, target] : [target, bypass];
    }
    return [poke('tailcall_bypass', has_old ? 'NULL' : 'bypass_addr', 'bypass_addr', via, bug_on), ...(withSync ? [sync] : []), poke('tailcall_target', 'old', 'NULL', via, bug_on)];
  };
}
const FORMER: Record<string, { checks_old_bytes: boolean; steps: (o: boolean, n: boolean) => DescUpdateStep[] }> = {
  rfc: {
    checks_old_bytes: false,
    steps: (has_old, has_new) =>
      has_new
        ? [poke('tailcall_target', 'current', 'new', '__bpf_arch_text_poke', 'never'), ...(has_old ? [] : [poke('tailcall_bypass', 'current', 'NULL', '__bpf_arch_text_poke', 'never')])]
        : [poke('tailcall_bypass', 'current', 'bypass_addr', '__bpf_arch_text_poke', 'never')],
  },
  'v5.10': { checks_old_bytes: true, steps: merged('bpf_arch_text_poke', 'ret < 0 && ret != -EINVAL', true) },
  'v6.7': { checks_old_bytes: true, steps: merged('__bpf_arch_text_poke', 'ret < 0', true) },
  'no-sync': { checks_old_bytes: true, steps: merged('bpf_arch_text_poke', 'ret < 0 && ret != -EINVAL', false) },
  'bypass-first': { checks_old_bytes: true, steps: merged('bpf_arch_text_poke', 'ret < 0 && ret != -EINVAL', true, true) },
};

/** A step as the updater resolves it: 'old' with no old program is NULL, as is 'new' with no new one. */
function resolved(s: DescUpdateStep, has_old: boolean, has_new: boolean): unknown {
  if (s.kind === 'synchronize_rcu') return { kind: s.kind, only_if_previous_wrote: s.only_if_previous_wrote };
  const r = (a: PokeStep['old_addr']) => (a === 'old' && !has_old) || (a === 'new' && !has_new) ? 'NULL' : a;
  return { kind: s.kind, site: s.site, old_addr: r(s.old_addr), new_addr: r(s.new_addr), via: s.via, bug_on: s.bug_on };
}

describe('the shipped protocols/*.c compile to the step lists the TypeScript tables gave', () => {
  for (const [name, former] of Object.entries(FORMER)) {
    it(`${name}`, () => {
      const p = PROTOCOLS[name];
      expect(p.checks_old_bytes).toBe(former.checks_old_bytes);
      for (const o of [false, true]) {
        for (const n of [false, true]) {
          expect(p.steps(o, n).map((s) => resolved(s, o, n))).toEqual(former.steps(o, n).map((s) => resolved(s, o, n)));
          // every step names the line of its call in the shipped file
          for (const s of p.steps(o, n)) {
            expect(s.source?.file).toBe(`protocols/${name}.c`);
            const line = readFileSync(shippedProtocolPath(name), 'utf8').split('\n')[s.source!.line - 1];
            expect(line.slice(s.source!.column - 1)).toMatch(s.kind === 'poke' ? /^_*bpf_arch_text_poke\(/ : /^synchronize_rcu\(\)/);
          }
        }
      }
    });
  }
  it('rfc-2026 and unlocked: the lock, xchg, cache write, v6.7 pokes, unlock and put in the order cached_target.ts had', () => {
    const v67 = FORMER['v6.7'].steps;
    for (const [name, outside] of [['rfc-2026', false], ['unlocked', true]] as const) {
      for (const o of [false, true]) {
        for (const n of [false, true]) {
          const chain = CACHED_PROTOCOLS[name].chain(o, n);
          const shape = chain.map((c) => (c.op === 'desc' ? resolved(c.step, o, n) : c.op === 'cache' ? `cache outside=${c.outside_mutex}` : c.op));
          const desc = v67(o, n).map((s) => resolved(s, o, n));
          const expected = outside ? [...desc, 'unlock', 'cache outside=true', ...(o ? ['put'] : [])] : ['cache outside=false', ...desc, 'unlock', ...(o ? ['put'] : [])];
          expect(shape).toEqual(expected);
        }
      }
      expect(CACHED_PROTOCOLS[name].lockSource(true)?.text).toBe('mutex_lock(&array->aux->poke_mutex)');
      expect(CACHED_PROTOCOLS[name].xchgSource(true)?.text).toBe('xchg(&array->ptrs[key], new)');
    }
  });
  it('every shipped file is in protocols/, found from the sources and from the build (dist/)', async () => {
    for (const name of SHIPPED_PROTOCOLS) expect(existsSync(shippedProtocolPath(name))).toBe(true);
    const built = (await import('../dist/src/protocol/shipped.js' as string)) as { shippedProtocolPath(n: string): string };
    expect(built.shippedProtocolPath('v6.7')).toBe(shippedProtocolPath('v6.7'));
  });
  it('pokecheck list shows the file of each shipped protocol', async () => {
    const r = await cli('list');
    for (const name of SHIPPED_PROTOCOLS) expect(r.out).toContain(`      file: ${shippedProtocolPath(name)}`);
  });
});

// ---- a user's changed copy ----------------------------------------------------------------------

describe('a copy of v6.7.c, changed as a user would, checked with --protocol-file', () => {
  it('unchanged, it holds like --protocol v6.7 does in tailcall-load-race (4b7de801606e), with the same counts', async () => {
    const { path } = userCopy('v6.7');
    const mine = await cli('check', 'tailcall-load-race', '--protocol-file', path, '--cpus', '2');
    const shipped = await cli('check', 'tailcall-load-race', '--protocol', 'v6.7', '--cpus', '2');
    expect(mine.code).toBe(0);
    const counts = (l: string) => /HOLDS.*; \d+ states, \d+ transitions, depth \d+/.exec(l)?.[0];
    expect(counts(mine.out[0])).toBe(counts(shipped.out[0]));
    expect(mine.out[0]).toContain(`--protocol-file ${path}`);
  });

  it('without its synchronize_rcu(): P1 violated, and the counterexample points at the lines of the pokes', async () => {
    const { path, text } = userCopy('v6.7', (t) => t.replace(/\t\tif \(!ret\)\n\t\t\tsynchronize_rcu\(\);\n/, ''));
    expect(text).not.toContain('synchronize_rcu();');
    const r = await checkJson('tailcall-poke', '--protocol-file', path, '--cpus', '2');
    expect(r.code).toBe(1);
    const p1 = r.json.counterexamples.find((c) => c.property === 'P1')!;
    expect(p1).toBeDefined();
    const updater = p1.steps.filter((s) => s.actor === 'updater' && s.source);
    expect(updater.length).toBeGreaterThan(0);
    for (const s of updater) expect(s.source!.file).toBe(path);
    // the delete: its bypass poke (to jmp out) and then, with no grace period in between, its target poke (to nop)
    const del = lineOf(text, '} else {');
    const bypassDel = lineOf(text, '__bpf_arch_text_poke(poke->tailcall_bypass', del);
    const targetDel = lineOf(text, '__bpf_arch_text_poke(poke->tailcall_target', del);
    const lines = updater.map((s) => s.source!.line);
    expect(lines).toContain(bypassDel);
    expect(lines[lines.length - 1]).toBe(targetDel);
    expect(updater[updater.length - 1].action).toMatch(/__bpf_arch_text_poke\(tailcall_target, BPF_MOD_JUMP, f\d\+off, NULL\) = 0$/);
    // the text output names the lines the same way, before the unchanged action text
    expect(r.out.join('\n')).toContain(`updater: ${path}:${targetDel} bpf_arch_poke_desc_update: __bpf_arch_text_poke(tailcall_target, BPF_MOD_JUMP, f`);
    // ... and so do the Markdown and the HTML report's trace
    expect(resultMarkdown(r.json)).toContain(`| updater | ${path}:${targetDel} bpf_arch_poke_desc_update: __bpf_arch_text_poke(tailcall_target`);
    expect(traceView(p1, 'p1', undefined, 'x')).toContain(`<span class="source mono">${path}:${targetDel}</span> <span class="action">bpf_arch_poke_desc_update: __bpf_arch_text_poke(tailcall_target`);
  });

  it('searched on two worker threads, which read the file themselves: the counts of one thread', async () => {
    const { path } = userCopy('v6.7', (t) => t.replace(/\t\tif \(!ret\)\n\t\t\tsynchronize_rcu\(\);\n/, ''));
    const one = await cli('check', 'tailcall-poke', '--protocol-file', path, '--cpus', '3', '--no-symmetry');
    const two = await cli('check', 'tailcall-poke', '--protocol-file', path, '--cpus', '3', '--no-symmetry', '--workers', '2');
    const counts = (l: string) => /VIOLATED.*; \d+ states, \d+ transitions, depth \d+/.exec(l)?.[0];
    expect(two.code).toBe(1);
    expect(two.out[0]).toContain('2 workers');
    expect(counts(two.out[0])).toBe(counts(one.out[0]));
  });

  it('with its two install pokes swapped: P1 and P3 violated', async () => {
    const { path, text } = userCopy('v6.7', (t) => {
      const target = '\t\tret = __bpf_arch_text_poke(poke->tailcall_target,\n\t\t\t\t\t   BPF_MOD_JUMP, old_addr, new_addr);\n\t\tBUG_ON(ret < 0);\n';
      const start = t.indexOf('\t\t/* ... and only on an install, then open the bypass. */');
      const end = t.indexOf('\t} else {');
      expect(t).toContain(target);
      expect(start).toBeGreaterThan(0);
      const bypass = t.slice(start, end);
      return t.replace(target + bypass, bypass + target);
    });
    expect(lineOf(text, 'poke->tailcall_bypass,')).toBeLessThan(lineOf(text, 'poke->tailcall_target,'));
    const r = await checkJson('tailcall-poke', '--protocol-file', path, '--cpus', '2');
    expect(r.code).toBe(1);
    const violated = r.json.properties.filter((p) => p.status === 'violated').map((p) => p.id);
    expect(violated).toEqual(expect.arrayContaining(['P1', 'P3']));
    const p3 = r.json.counterexamples.find((c) => c.property === 'P3')!;
    const last = p3.steps[p3.steps.length - 1];
    expect(last.source).toEqual({ file: path, line: lineOf(text, '__bpf_arch_text_poke(poke->tailcall_bypass'), column: expect.any(Number) });
  });

  it('v5.10.c copied, at --level byte: the same verdict and counts as --protocol v5.10', async () => {
    const { path } = userCopy('v5.10');
    const mine = await cli('check', 'tailcall-poke', '--level', 'byte', '--protocol-file', path, '--cpus', '2');
    const shipped = await cli('check', 'tailcall-poke', '--level', 'byte', '--protocol', 'v5.10', '--cpus', '2');
    expect(mine.code).toBe(0);
    const tail = (l: string) => l.slice(l.indexOf(': HOLDS')).replace(/\d+\.\d+ s/, '');
    expect(tail(mine.out[0])).toBe(tail(shipped.out[0]));
    const graph = await cli('graph', 'tailcall-poke', '--protocol-file', path, '--kind', 'updater', '--format', 'dot');
    expect(graph.code).toBe(0);
  });

  it("BUG_ON(ret != 0 && ret != 1) is v6.7's BUG_ON(ret < 0) on every value a poke returns: the same counts", async () => {
    const { path } = userCopy('v6.7', (t) => t.replaceAll('BUG_ON(ret < 0);', 'BUG_ON(ret != 0 && ret != 1);'));
    expect(PROTOCOLS['v6.7'].steps(false, true).map((s) => s.kind === 'poke' && s.bug_on)).toEqual(['ret < 0', 'ret < 0']);
    expect(loadProtocol(path).pokeProtocol().steps(false, true).map((s) => s.kind === 'poke' && s.bug_on)).toEqual(['ret < 0', 'ret < 0']);
    const mine = await cli('check', 'tailcall-load-race', '--protocol-file', path, '--cpus', '3');
    const shipped = await cli('check', 'tailcall-load-race', '--protocol', 'v6.7', '--cpus', '3');
    expect(mine.code).toBe(0);
    const counts = (l: string) => /HOLDS.*; \d+ states, \d+ transitions, depth \d+/.exec(l)?.[0];
    expect(counts(mine.out[0])).toBe(counts(shipped.out[0]));
  });

  it('any other BUG_ON oopses on exactly the returns it holds for: v5.10.c with BUG_ON(ret == -EBUSY) still hits the -EBUSY of 4b7de801606e', async () => {
    const { path } = userCopy('v5.10', (t) => t.replaceAll('BUG_ON(ret < 0 && ret != -EINVAL);', 'BUG_ON(ret == -EBUSY);'));
    expect(loadProtocol(path).pokeProtocol().steps(true, true)).toMatchObject([{ bug_on: 'ret == -EBUSY', bug_rets: [-16] }]);
    const r = await checkJson('tailcall-load-race', '--protocol-file', path, '--cpus', '2');
    expect(r.code).toBe(1);
    const p4 = r.json.counterexamples.find((c) => c.property === 'P4')!;
    expect(p4.steps[p4.steps.length - 1].action).toMatch(/= -EBUSY -> BUG_ON\(ret == -EBUSY\)$/);
  });

  it('v5.10.c copied: tailcall-load-race finds the BUG_ON of 4b7de801606e (P4, S2), at the lines of the file', async () => {
    const { path, text } = userCopy('v5.10');
    const r = await checkJson('tailcall-load-race', '--protocol-file', path, '--cpus', '2');
    expect(r.code).toBe(1);
    expect(r.json.properties.filter((p) => p.status === 'violated').map((p) => p.id)).toEqual(['P4', 'S2']);
    const p4 = r.json.counterexamples.find((c) => c.property === 'P4')!;
    const bug = p4.steps[p4.steps.length - 1];
    expect(bug.action).toMatch(/-EBUSY -> BUG_ON\(ret < 0 && ret != -EINVAL\)$/);
    expect(text.split('\n')[bug.source!.line - 1]).toMatch(/bpf_arch_text_poke\(poke->tailcall_/);
  });

  it('tailcall-cached-target: v6.7.c alone (its bpf_arch_poke_desc_update in the map update of rfc-2026.c) gives the counts of --protocol rfc-2026', async () => {
    const { path } = userCopy('v6.7');
    const mine = await cli('check', 'tailcall-cached-target', '--protocol-file', path, '--cpus', '1');
    const shipped = await cli('check', 'tailcall-cached-target', '--protocol', 'rfc-2026', '--cpus', '1');
    expect(mine.code).toBe(0);
    expect((await cli('graph', 'tailcall-cached-target', '--protocol-file', path, '--kind', 'updaterA', '--format', 'dot')).code).toBe(0);
    const counts = (l: string) => /HOLDS.*; \d+ states, \d+ transitions, depth \d+/.exec(l)?.[0];
    expect(counts(mine.out[0])).toBe(counts(shipped.out[0]));
  });

  it('tailcall-cached-target: a file with only the map update functions (bpf_arch_poke_desc_update taken from rfc-2026.c), the cache write after mutex_unlock: the same counts and violations as the unlocked protocol (P2, C1)', async () => {
    const dir = tmp();
    const path = join(dir, 'late-cache.c');
    const full = readFileSync(shippedProtocolPath('unlocked'), 'utf8');
    const update = full.slice(full.indexOf('long bpf_fd_array_map_update_elem'), full.indexOf('/* As in v6.7.c'));
    // prog_array_map_poke_run of rfc-2026.c writes the cache too: take the one of unlocked.c as well
    const pokeRun = full.slice(full.indexOf('static void prog_array_map_poke_run'), full.indexOf('long bpf_fd_array_map_update_elem'));
    const helper = full.slice(full.indexOf('static void bpf_tail_call_target_update'), full.indexOf('static void prog_array_map_poke_run'));
    writeFileSync(path, helper + pokeRun + update);
    const mine = await cli('check', 'tailcall-cached-target', '--protocol-file', path, '--cpus', '1');
    const shipped = await cli('check', 'tailcall-cached-target', '--protocol', 'unlocked', '--cpus', '1');
    expect(mine.code).toBe(1);
    expect(mine.out[0]).toMatch(/P2 violated, C1 violated/);
    const counts = (l: string) => /; \d+ states, \d+ transitions, depth \d+/.exec(l)?.[0];
    expect(counts(mine.out[0])).toBe(counts(shipped.out[0]));
    expect(mine.out.join('\n')).toMatch(new RegExp(`updater[AB]: ${path.replace(/[.]/g, '\\.')}:\\d+ bpf_tail_call_target_update: xchg`));
  });
});

// ---- bad files ------------------------------------------------------------------------------------

describe('a file pokecheck cannot take is one line FILE:LINE:COL, exit 2', () => {
  const DESC = 'void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke, struct bpf_prog *new, struct bpf_prog *old)\n';
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['a syntax error (a missing ;)', DESC + '{\n\tint ret = 0\n\tBUG_ON(ret < 0);\n}\n', /:3:13: expected ';' after '0'/],
    ['an unknown function', DESC + '{\n\ttext_poke_bp(poke->tailcall_target);\n}\n', /:3:2: unknown function 'text_poke_bp'/],
    ['a call with the wrong number of arguments', DESC + '{\n\t__bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP, NULL);\n}\n', /:3:2: __bpf_arch_text_poke takes 4 arguments .*, got 3/],
    ['a missing function', 'void bpf_arch_poke_desc_updat(struct bpf_jit_poke_descriptor *poke, struct bpf_prog *new, struct bpf_prog *old)\n{\n}\n', /:1:1: no function bpf_arch_poke_desc_update/],
    ['an empty file', '', /:1:1: the file is empty/],
    ['a binary file', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]), /:1:8: not a text file/],
    ['bytes that are not UTF-8', new Uint8Array([0x76, 0x6f, 0x69, 0x64, 0xff, 0xfe]), /:1:1: not a text file/],
    ['a loop (outside the subset)', DESC + '{\n\tfor (;;)\n\t\tsynchronize_rcu();\n}\n', /:3:2: 'for' is outside the subset/],
    ['a NULL dereference on a delete', DESC + '{\n\t__bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP, NULL, (u8 *)new->bpf_func + poke->adj_off);\n}\n', /:3:72: NULL dereference on a delete.*: 'new' is NULL here/],
    ['a BUG_ON on an earlier poke', DESC + '{\n\tint ret = __bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP, NULL, NULL);\n\t__bpf_arch_text_poke(poke->tailcall_bypass, BPF_MOD_JUMP, NULL, NULL);\n\tBUG_ON(ret < 0);\n}\n', /:5:2: BUG_ON on a poke's return must come right after that poke/],
    ['an if on a poke\'s return other than the grace period', DESC + '{\n\tint ret = __bpf_arch_text_poke(poke->tailcall_target, BPF_MOD_JUMP, NULL, NULL);\n\tif (ret < 0)\n\t\treturn;\n}\n', /:4:2: pokecheck's updater branches on a poke's return only as/],
  ];
  for (const [what, content, message] of cases) {
    it(what, async () => {
      const path = join(tmp(), 'bad.c');
      writeFileSync(path, content);
      const r = await cli('check', 'tailcall-poke', '--protocol-file', path);
      expect(r.code).toBe(2);
      expect(r.out).toEqual([]);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).not.toContain('\n');
      expect(r.err[0]).toMatch(new RegExp(`^pokecheck: ${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
      expect(r.err[0]).toMatch(message);
    });
  }
  it('a file that does not exist', async () => {
    const r = await cli('check', 'tailcall-load-race', '--protocol-file', '/nonexistent/mine.c');
    expect([r.code, r.err]).toEqual([2, ['pokecheck: /nonexistent/mine.c:1:1: no such file']]);
  });
  it('--protocol and --protocol-file together', async () => {
    const { path } = userCopy('v6.7');
    const r = await cli('check', 'tailcall-poke', '--protocol', 'v5.10', '--protocol-file', path);
    expect([r.code, r.err]).toEqual([2, ['pokecheck: --protocol and --protocol-file exclude each other']]);
  });
  it('a file for the cached target without any function it runs', async () => {
    const path = join(tmp(), 'none.c');
    writeFileSync(path, 'static void helper(void)\n{\n}\n');
    const r = await cli('check', 'tailcall-cached-target', '--protocol-file', path);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/none\.c:1:1: no function bpf_fd_array_map_update_elem or bpf_arch_poke_desc_update/);
  });
});

// ---- the parser never fails any other way -----------------------------------------------------------

describe('fuzz: whatever the text, parsing and compiling a protocol file throws ProtocolError or nothing', () => {
  const compileAll = (text: string): void => {
    const f = parseProtocol(text, 'fuzz.c');
    if (f.has('bpf_arch_poke_desc_update')) f.pokeProtocol();
    f.cachedProtocol(shippedProtocol('rfc-2026'));
  };
  const onlyProtocolErrors = (text: string): boolean => {
    try {
      compileAll(text);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      expect(e.message).toMatch(/^fuzz\.c:\d+:\d+: \S/);
      expect(e.message).not.toContain('\n');
    }
    return true;
  };
  const v67 = readFileSync(shippedProtocolPath('v6.7'), 'utf8');
  const tokens = ['void', 'int', 'u8', '*', 'struct', 'bpf_prog', 'poke', '->', 'tailcall_target', 'tailcall_bypass', 'bypass_addr', 'adj_off', 'new', 'old', 'ret', '(', ')', '{', '}', ';', ',', '=', '==', '!', '&&', '||', '?', ':', '<', '-', '+', 'EINVAL', 'NULL', '0', '1', 'if', 'else', 'return', '__bpf_arch_text_poke', 'BPF_MOD_JUMP', 'BUG_ON', 'synchronize_rcu', 'bpf_arch_poke_desc_update', 'xchg', '&', 'array', 'ptrs', '[', ']', 'key', 'mutex_lock', 'bpf_prog_put', '/*', '*/', '"', '#', '\0'];

  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyProtocolErrors), { numRuns: 400 });
  });
  it('token soup', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }).map((t) => t.join(' ')), onlyProtocolErrors), { numRuns: 600 });
  });
  it('v6.7.c with characters deleted, inserted or swapped', () => {
    const edits = fc.array(fc.tuple(fc.nat(v67.length - 1), fc.nat(20), fc.constantFrom('', ';', '(', ')', '{', '}', '!', 'x', '0', '*', ' ', '\n')), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(edits, (es) => {
        let t = v67;
        for (const [at, len, ins] of es) t = t.slice(0, at) + ins + t.slice(Math.min(t.length, at + len));
        return onlyProtocolErrors(t);
      }),
      { numRuns: 600 },
    );
  });
  it('deep nesting is an error, not a stack overflow', () => {
    expect(() => compileAll(`void bpf_arch_poke_desc_update(struct bpf_jit_poke_descriptor *poke, struct bpf_prog *new, struct bpf_prog *old) { ${'('.repeat(5000)}`)).toThrow(ProtocolError);
    expect(() => compileAll(`void f(void) { ${'{'.repeat(5000)}`)).toThrow(ProtocolError);
    expect(() => compileAll(`void f(void) { ${'!'.repeat(50000)}x; }`)).toThrow(ProtocolError);
  });
  it('loadProtocol reads the same as parseProtocol', () => {
    const { path } = userCopy('v6.7');
    expect(loadProtocol(path).pokeProtocol().steps(true, false).length).toBe(3);
  });
});
