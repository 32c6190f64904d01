/**
 * The graphs: the A-D protocol picture (docs/reference-verdicts.md section 1: the
 * RFC's state matrix and each protocol's poke order), the actors' machines,
 * and a counterexample's lanes, laid out by Graphviz (WASM) and read back from
 * the SVG as a person would see them.
 */
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { tailcallPoke } from '../models/tailcall-poke.js';
import { runCheck } from '../src/check/result.js';
import { actorMachines } from '../src/graph/actors.js';
import { renderSvg } from '../src/graph/graphviz.js';
import { lanesDot, lanesOf } from '../src/graph/lanes.js';
import { machineGraph, shortestPaths } from '../src/graph/machine.js';
import { collapseLabels, protocolDot, protocolGraph } from '../src/graph/protocol.js';
import { findModel } from '../models/index.js';
import { inlineSvg } from '../src/graph/svg.js';
import { eventName } from '../src/concurrency/compile.js';
import { cli } from './helpers/cli.js';

const model = (protocol: string, cpus = 2) => tailcallPoke.build({ protocol, cpus, options: {} });
const edgeSet = (p: ReturnType<typeof protocolGraph>): string[] => p.edges.map((e) => `${e.from}->${e.to}`).sort();

interface SvgG {
  '@_id'?: string;
  '@_class'?: string;
  title?: string;
  text?: SvgText | SvgText[];
  g?: SvgG | SvgG[];
  polygon?: { '@_points': string } | { '@_points': string }[];
  path?: { '@_d': string } | { '@_d': string }[];
}
type SvgText = string | { '#text'?: string; '@_x': string; '@_y': string };

/** Every <g> of an SVG document, depth first. */
function groups(svg: string): SvgG[] {
  const doc = new XMLParser({ ignoreAttributes: false, textNodeName: '#text' }).parse(svg);
  const out: SvgG[] = [];
  const walk = (g: SvgG | SvgG[] | undefined): void => {
    if (!g) return;
    for (const x of Array.isArray(g) ? g : [g]) {
      out.push(x);
      walk(x.g);
    }
  };
  walk(doc.svg.g);
  return out;
}

/** The first polygon or path under a node (a node with a tooltip wraps its shape in <g><a>). */
function shapeOf(x: unknown): { '@_points'?: string; '@_d'?: string } | undefined {
  if (!x || typeof x !== 'object') return undefined;
  if (Array.isArray(x)) return x.map(shapeOf).find(Boolean);
  const o = x as Record<string, unknown>;
  const direct = [o.polygon, o.path].flat().find(Boolean);
  if (direct) return direct as { '@_points'?: string; '@_d'?: string };
  return shapeOf(o.g) ?? shapeOf(o.a);
}

/** The centre x, y of a Graphviz node's shape (its polygon's or path's points). */
function centre(g: SvgG): { x: number; y: number } {
  const shape = shapeOf(g)!;
  const nums = (shape['@_points'] ?? shape['@_d'] ?? '').match(/-?\d+(\.\d+)?/g)!.map(Number);
  const xs = nums.filter((_, i) => i % 2 === 0);
  const ys = nums.filter((_, i) => i % 2 === 1);
  return { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 };
}

describe('the A-D picture of a protocol', () => {
  it('v5.10: install C->D->B, update B->B, remove B->D->C, and no A', async () => {
    for (const cpus of [2, 3]) {
      const p = protocolGraph(model('v5.10', cpus));
      expect(p.complete).toBe(true);
      expect(edgeSet(p)).toEqual(['B->B', 'B->D', 'C->D', 'D->B', 'D->C']);
      expect(p.groups.map((g) => g.name)).toEqual(['B', 'C', 'D']);
      expect(p.groups.find((g) => g.name === 'C')!.initial).toBe(true);
      expect(p.groups.reduce((n, g) => n + g.states, 0)).toBe(p.states);
    }
    const p = protocolGraph(model('v5.10'));
    const label = (from: string, to: string): string => p.edges.find((e) => e.from === from && e.to === to)!.labels.join(' | ');
    // Install: target nop -> jmp f, then bypass jmp out -> nop; remove: bypass back to jmp out, then target jmp -> nop.
    expect(label('C', 'D')).toMatch(/tailcall_target, BPF_MOD_JUMP, NULL, f1\+off/);
    expect(label('D', 'B')).toMatch(/tailcall_bypass, BPF_MOD_JUMP, bypass_addr, NULL/);
    expect(label('B', 'B')).toMatch(/tailcall_target, BPF_MOD_JUMP, f1\+off, f2\+off/);
    expect(label('B', 'D')).toMatch(/tailcall_bypass, BPF_MOD_JUMP, NULL, bypass_addr/);
    expect(label('D', 'C')).toMatch(/tailcall_target, BPF_MOD_JUMP, f2\+off, NULL/);
    // Laid out: the SVG has exactly the nodes B, C, D (plus the start point).
    const svg = await renderSvg(protocolDot(p).dot);
    const nodes = groups(svg).filter((g) => g['@_class'] === 'node').map((g) => g.title);
    expect(nodes.sort()).toEqual(['B', 'C', 'D', '__start']);
    expect(svg).not.toMatch(/FORBIDDEN/);
  });

  it('bypass-first: C->A (bypass first), A drawn as forbidden, every state in A violating P3', async () => {
    const p = protocolGraph(model('bypass-first'));
    expect(edgeSet(p)).toContain('C->A');
    expect(edgeSet(p)).toContain('A->B');
    const a = p.groups.find((g) => g.name === 'A')!;
    expect(a.forbidden).toBe(true);
    expect(a.violations.P3).toBe(a.states);
    const d = protocolDot(p);
    expect(d.dot).toMatch(/"A" \[label=<.*FORBIDDEN.*shape="doubleoctagon"/);
    const svg = await renderSvg(d.dot, d.engine);
    expect(svg).toMatch(/FORBIDDEN/);
  });

  it('v5.10 waits for a grace period in D (bypass jmp out, before the target goes back to nop); no-sync never does', async () => {
    // ebf7d1f508a7 (v5.10): a removal pokes the bypass to the jump out, synchronize_rcu(), then the target to nop.
    const v510 = protocolGraph(model('v5.10'));
    expect(v510.groups.filter((g) => g.waits.length).map((g) => g.name)).toEqual(['D']);
    expect(v510.groups.find((g) => g.name === 'D')!.waits).toEqual(['synchronize_rcu(): a grace period starts', 'synchronize_rcu() returns: every CPU that was a reader at its start has left']);
    const dot = protocolDot(v510).dot;
    expect(dot).toMatch(/"D" -> "D" \[label=<synchronize_rcu\(\): a grace period starts.*style="dashed"/);
    expect(dot).toMatch(/no\s*(\\l)?forbidden group is reachable/);
    const noSync = protocolGraph(model('no-sync'));
    expect(noSync.groups.every((g) => g.waits.length === 0)).toBe(true);
    // Same groups and edges: only the wait tells the two apart in the picture.
    expect(edgeSet(noSync)).toEqual(edgeSet(v510));
    const caption = protocolDot(noSync).dot.split('\n').find((l) => l.startsWith('  label='))!.replace(/\\l/g, ' ');
    expect(caption).not.toMatch(/no forbidden group is reachable/);
    expect(caption).toMatch(/yet P1 is violated/);
    // P1 is about a CPU's history: it breaks where a CPU that unwound under B executes the target nop, with the text back in C
    expect(noSync.groups.filter((g) => g.broken.P1).map((g) => g.name)).toEqual(['C']);
    expect(protocolDot(noSync).dot).toMatch(/P1 broken here: [\d,]+ steps/);
  });

  it('rfc: remove only pokes the bypass back (B->D), so the slot never returns to C after the first install', () => {
    const p = protocolGraph(model('rfc'));
    expect(edgeSet(p)).toEqual(['B->B', 'B->D', 'C->D', 'D->B', 'D->D']);
  });
});

describe('the A-D picture at the byte level', () => {
  const byte = (poke: string, cpus = 2) => tailcallPoke.build({ protocol: 'v5.10', cpus, options: { level: 'byte', poke } });

  it('text_poke_bp: every poke passes through int3 over its first byte, and the text never holds A', async () => {
    // text_poke_bp (arch/x86/kernel/alternative.c): int3 over byte 0, sync, bytes 1..4, sync, byte 0, sync.
    // v5.10 (ebf7d1f508a7): install pokes the target (C -> D), then the bypass (D -> B); remove the reverse.
    const p = protocolGraph(byte('text_poke_bp'));
    expect(p.complete).toBe(true);
    expect(p.groups.map((g) => g.name)).toEqual(['B', 'B→B', 'B→D', 'C', 'C→D', 'D', 'D→B', 'D→C']);
    expect(p.groups.reduce((n, g) => n + g.states, 0)).toBe(p.states);
    for (const g of p.groups.filter((x) => x.name.includes('→'))) expect(g.doc).toMatch(/mid-text_poke_bp: int3 over its first byte/);
    expect(p.groups.find((g) => g.name === 'C→D')!.doc).toMatch(/^tailcall_target/);
    expect(p.groups.find((g) => g.name === 'D→B')!.doc).toMatch(/^tailcall_bypass/);
    // A clean group is only left through its mid-poke group, whose first write is the int3 and whose last is byte 0.
    const label = (from: string, to: string): string => p.edges.find((e) => e.from === from && e.to === to)!.labels.join(' | ');
    for (const [a, b] of [['C', 'D'], ['D', 'B'], ['B', 'D'], ['D', 'C']]) {
      expect(edgeSet(p)).not.toContain(`${a}->${b}`);
      expect(label(a, `${a}→${b}`)).toMatch(/text_poke\(addr, INT3, 1\)/);
      expect(label(`${a}→${b}`, b)).toMatch(/text_poke\(addr, new\[0\], 1\)/);
    }
    expect(p.groups.flatMap((g) => Object.keys(g.broken))).toEqual([]);
    const d = protocolDot(p);
    expect(d.dot).toMatch(/rankdir=TB/);
    const svg = await renderSvg(d.dot, d.engine);
    expect(groups(svg).filter((g) => g['@_class'] === 'node').map((g) => g.title).sort()).toEqual(['B', 'B→B', 'B→D', 'C', 'C→D', 'D', 'D→B', 'D→C', '__start']);
  });

  it('memcpy: the mid-poke bytes are torn, and P5 breaks in the torn groups and in clean ones (a CPU fetched across a write)', () => {
    const p = protocolGraph(byte('memcpy'));
    const mid = p.groups.filter((g) => g.name.includes('→'));
    expect(mid.length).toBeGreaterThan(0);
    for (const g of mid) expect(g.doc).toMatch(/mid-memcpy: torn bytes/);
    expect(p.groups.some((g) => g.broken.P5 && g.name.includes('→'))).toBe(true);
    expect(p.groups.some((g) => g.broken.P5 && !g.name.includes('→'))).toBe(true);
    expect(p.groups.map((g) => g.name)).not.toContain('A');
  });

  it('arm64: nosync changes the word with one 32-bit store (no torn group); byte-copy passes through torn words', () => {
    // aarch64_insn_patch_text_nosync: one aligned str w (kernel-facts section 5); byte-copy is the broken variant.
    const arm = (protocol: string, cpus: number) => findModel('arm64-poke')!.build({ protocol, cpus, options: { level: 'byte' } });
    const ok = protocolGraph(arm('nosync', 2));
    expect(ok.groups.map((g) => g.name)).toEqual(['b fext1', 'bl tramp1', 'nop']);
    expect(edgeSet(ok)).toEqual(['b fext1->nop', 'bl tramp1->nop', 'nop->b fext1', 'nop->bl tramp1']);
    expect(ok.groups.flatMap((g) => Object.keys(g.broken))).toEqual([]);
    const bad = protocolGraph(arm('byte-copy', 1));
    expect(bad.groups.map((g) => g.name)).toEqual(['b fext1', 'b fext1 → nop', 'bl tramp1', 'bl tramp1 → nop', 'nop', 'nop → b fext1', 'nop → bl tramp1']);
    expect(bad.groups.filter((g) => g.name.includes('→')).every((g) => /torn word/.test(g.doc))).toBe(true);
    expect(bad.groups.filter((g) => g.broken.P5).map((g) => g.name).every((n) => n.includes('→'))).toBe(true);
  });

  it('collapses edge labels that differ only in small numbers', () => {
    expect(collapseLabels(['text_poke(addr + 1, new[1], 1)', 'text_poke(addr + 2, new[2], 1)', 'text_poke(addr + 3, new[3], 1)'])).toEqual(['text_poke(addr + {1..3}, new[{1..3}], 1)']);
    expect(collapseLabels(['poke(f1+off, f2+off)', 'poke(f3+off, f2+off)', 'other'])).toEqual(['poke(f{1,3}+off, f2+off)', 'other']);
    expect(collapseLabels(['jmp 0xffffffffc0000793', 'jmp 0xffffffffc0000794'])).toEqual(['jmp 0xffffffffc0000793', 'jmp 0xffffffffc0000794']);
  });
});

describe("actors' machines", () => {
  const actors = actorMachines(model('v5.10'));

  it('draws the CPU, the poke site and the updater from their xstate definitions', () => {
    expect(actors.map((a) => a.name)).toEqual(['cpu', 'site', 'updater']);
    const cpu = machineGraph(actors[0]);
    for (const s of ['idle', 'bypass', 'unwind', 'target', 'in_prog', 'fell_through']) expect(cpu.dot).toContain(`"${s}" [`);
    expect(cpu.dot).toMatch(/"target" -> "fell_through" \[label="EXEC_NOP"/);
  });

  it('gives the shortest event path to each poke-site state A-D, B through D rather than through A', () => {
    const site = actors[1];
    const best = shortestPaths(site);
    const path = (v: string): string[] => [...best.entries()].filter(([k]) => k === v).flatMap(([, s]) => s.map((x) => eventName(x.event)));
    expect(path('C')).toEqual([]);
    expect(path('A')).toEqual(['BYPASS_NOP']);
    expect(path('D')).toEqual(['TARGET_JMP(prog=1)']);
    expect(path('B')).toEqual(['TARGET_JMP(prog=1)', 'BYPASS_NOP']);
    const g = machineGraph(site);
    expect(g.dot).toContain('B: TARGET_JMP(prog=1) → BYPASS_NOP');
    expect(g.dot).toMatch(/"A" \[label=<.*shape="octagon"/);
  });

  it("labels the v5.10 updater's BUG_ON edges with the returns that reach them: -EINVAL is tolerated", async () => {
    const up = machineGraph(actors[2]);
    const toBug = up.dot.split('\n').filter((l) => /-> "bug <- /.test(l));
    expect(toBug.length).toBeGreaterThan(0);
    for (const l of toBug) {
      expect(l).toMatch(/label="RET -EBUSY,-ERANGE"/);
      expect(l).not.toMatch(/EINVAL/);
    }
    expect(up.engine).toBe('dot');
    const svg = await renderSvg(up.dot, up.engine);
    expect(groups(svg).filter((g) => g['@_class'] === 'node').length).toBe(up.nodes + 1);
  });
});

describe('a counterexample as lanes', () => {
  it('puts each step in its actor\'s lane, in order, with the bytes of each poke', async () => {
    const r = runCheck(model('no-sync', 3));
    const c = r.counterexamples[0];
    expect(lanesOf(c, 3).names).toEqual(['cpu0', 'cpu1', 'cpu2', 'updater']);
    const d = lanesDot(c, 3);
    const svg = await renderSvg(d.dot, d.engine);
    const gs = groups(svg);
    const head = new Map(gs.filter((g) => /^lane\d+$/.test(g['@_id'] ?? '')).map((g) => [['cpu0', 'cpu1', 'cpu2', 'updater'][Number(g['@_id']!.slice(4))], centre(g)]));
    expect([...head.keys()].sort()).toEqual(['cpu0', 'cpu1', 'cpu2', 'updater']);
    let lastY = -Infinity;
    c.steps.forEach((s, k) => {
      const g = gs.find((x) => x['@_id'] === `step${k + 1}`)!;
      const at = centre(g);
      expect(Math.abs(at.x - head.get(s.actor)!.x)).toBeLessThan(1);
      expect(at.y).toBeGreaterThan(lastY);
      lastY = at.y;
    });
    // Each poke shows the site's bytes; the last step is the violation.
    const pokes = c.steps.filter((s, k) => s.sites.some((x, i) => x.bytes !== (k ? c.steps[k - 1].sites : c.initial.sites)[i].bytes));
    expect(pokes.length).toBeGreaterThan(0);
    for (const s of pokes) expect(d.dot).toContain(s.sites.find((x) => x.name === 'tailcall_target' || x.name === 'tailcall_bypass')!.name);
    expect(d.dot).toContain('P1 violated');
    expect(d.dot).toMatch(/<font color="#b3261e"><b>0f<\/b><\/font>/);
  });

  it('gives each CPU one lane, named as it steps, and the other actors theirs', () => {
    const site = { name: 's', address: '0x0', bytes: '90', disasm: 'nop' };
    const step = (actor: string) => ({ actor, action: 'x', sites: [site], state: '' });
    const c = { property: 'P', description: 'd', initial: { sites: [site], state: '' }, steps: ['updater', 'cpu1 (map update)', 'cpu1 (map update)', 'rcu', 'cpu0 (load)'].map(step) };
    const l = lanesOf(c, 3);
    expect(l.names).toEqual(['cpu0 (load)', 'cpu1 (map update)', 'cpu2', 'updater', 'rcu']);
    expect(['cpu0 (load)', 'cpu1 (map update)', 'updater', 'rcu'].map(l.of)).toEqual([0, 1, 3, 4]);
    // A model whose actors are not CPUs gets no invented CPU lanes.
    expect(lanesOf({ ...c, steps: ['scheduler', 'task0', 'task1'].map(step) }, 1).names).toEqual(['scheduler', 'task0', 'task1']);
  });

  it('keeps ids unique when several SVGs share a page', async () => {
    const svg = await renderSvg('digraph { a [id="step1"]; b; a -> b }');
    const one = inlineSvg(svg, 'g1');
    expect(one.startsWith('<svg')).toBe(true);
    expect(one).toContain('id="g1-step1"');
    expect(one).not.toMatch(/id="(?!g1-)/);
  });
});

describe('pokecheck graph', () => {
  it('prints the protocol picture as DOT or SVG, an actor, or lanes', async () => {
    const dot = await cli('graph', 'tailcall-poke', '--protocol', 'v5.10', '--format', 'dot');
    expect(dot.code).toBe(0);
    expect(dot.out.join('\n')).toMatch(/^digraph "tailcall-poke v5.10"/);
    const svg = await cli('graph', 'tailcall-poke', '--protocol', 'bypass-first', '--cpus', '2');
    expect(svg.out.join('\n')).toMatch(/<svg[\s\S]*FORBIDDEN[\s\S]*<\/svg>$/);
    const cpu = await cli('graph', 'tailcall-poke', '--kind', 'site', '--format', 'dot');
    expect(cpu.out.join('\n')).toMatch(/^digraph "poke_site"/);
    const lanes = await cli('graph', 'tailcall-poke', '--kind', 'lanes', '--protocol', 'bypass-first', '--property', 'P3', '--format', 'dot');
    expect(lanes.out.join('\n')).toMatch(/^digraph "counterexample P3"/);
  });

  it('rejects bad input with one line and exit 2', async () => {
    for (const args of [
      ['graph'],
      ['graph', 'nope'],
      ['graph', 'tailcall-poke', '--kind', 'nope'],
      ['graph', 'tailcall-poke', '--format', 'png'],
      ['graph', 'tailcall-poke', '--protocol', 'v5.10', '--kind', 'lanes'],
      ['graph', 'tailcall-poke', '--property', 'P1'],
      ['graph', 'dispatcher'], // no A-D groups, so no protocol picture
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });
});
