/**
 * A tail-call hierarchy given as a call graph, turned into the BPF program a
 * user would load and JIT-compiled by src/jit for one kernel profile.
 *
 * Graph: `main: sub, sub; sub: tail` -- clauses `NAME: item, item, ...`,
 * the first named `main`. An item is `NAME` (a BPF-to-BPF call), `NAME*K`
 * (K calls in a bounded loop) or `tail` (bpf_tail_call(ctx, &jmp_table, 0),
 * a direct tail call: constant map and key). Subprograms may not recurse
 * (the verifier forbids it). Every function is, in BPF:
 *
 *   r6 = r1                                  ; keep ctx
 *   NAME:    r1 = r6; call NAME
 *   NAME*K:  r7 = K; L: r1 = r6; call NAME; r7 += -1; if r7 != 0 goto L
 *   tail:    r1 = r6; r2 = &jmp_table (ld_imm64); r3 = 0; call bpf_tail_call
 *   r0 = 0; exit
 *
 * The slot jmp_table[0] holds main itself (or nothing), so every tail call
 * re-enters main: the shape of the selftests tailcall_bpf2bpf_hierarchy_*
 * (116e04ba1459) and of Leon Hwang's "2+4+8+...+2^33" example.
 */
import {
  BPF_ADD, BPF_ALU64, BPF_CALL, BPF_DW, BPF_EXIT, BPF_FUNC_tail_call, BPF_IMM, BPF_JMP, BPF_JNE, BPF_K, BPF_LD, BPF_MOV,
  BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_FD, BPF_X, type BpfInsn,
} from '../jit/bpf.js';
import { defaultJitConfig } from '../jit/x86/config.js';
import { jit_function } from '../jit/x86/do_jit.js';
import { makeEnv } from '../jit/x86/env.js';
import { analyzeProgram, jitFunctions } from '../jit/x86/program.js';
import type { BpfJitPokeDescriptor } from '../jit/x86/tailcall.js';

export class GraphError extends Error {}

export type GraphItem = { kind: 'call'; callee: string; times: number; loop: boolean } | { kind: 'tail' };

export interface CallGraph {
  /** function names, main first, in program order */
  names: string[];
  bodies: Map<string, GraphItem[]>;
}

export const DEFAULT_GRAPH = 'main: sub, sub; sub: tail';
export const TAIL_CALL_MAP = 'jmp_table';
const MAP_ID = 1;
/** A kernel address for jmp_table (its ld_imm64). */
export const MAP_ADDRESS = 0xff11000012345000n;

export function parseGraph(text: string): CallGraph {
  const names: string[] = [];
  const bodies = new Map<string, GraphItem[]>();
  for (const raw of text.split(';')) {
    const clause = raw.trim();
    if (!clause) continue;
    const m = /^([a-z_][a-z0-9_]*)\s*:\s*(.+)$/i.exec(clause);
    if (!m) throw new GraphError(`bad clause '${clause}' (expected NAME: item, item, ... e.g. main: sub, sub)`);
    const [, name, list] = m;
    if (bodies.has(name)) throw new GraphError(`function '${name}' is defined twice`);
    const items = list.split(',').map((s): GraphItem => {
      const it = s.trim();
      if (it === 'tail') return { kind: 'tail' };
      const c = /^([a-z_][a-z0-9_]*)(?:\s*\*\s*(\d+))?$/i.exec(it);
      if (!c || c[1] === 'tail') throw new GraphError(`bad item '${it}' in ${name} (expected NAME, NAME*K or tail)`);
      const times = c[2] === undefined ? 1 : Number(c[2]);
      if (times < 1 || times > 64) throw new GraphError(`'${it}': a loop runs 1..64 times`);
      return { kind: 'call', callee: c[1], times, loop: c[2] !== undefined };
    });
    names.push(name);
    bodies.set(name, items);
  }
  if (names[0] !== 'main') throw new GraphError('the first clause must be main');
  for (const [name, items] of bodies) {
    for (const it of items) {
      if (it.kind !== 'call') continue;
      if (!bodies.has(it.callee)) throw new GraphError(`${name} calls '${it.callee}', which is not defined`);
      if (it.callee === 'main') throw new GraphError(`${name} calls main: only a tail call may enter main`);
    }
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (f: string): void => {
    if (done.has(f)) return;
    if (visiting.has(f)) throw new GraphError(`${f} calls itself (through the graph): BPF subprograms may not recurse`);
    visiting.add(f);
    for (const it of bodies.get(f)!) if (it.kind === 'call') visit(it.callee);
    visiting.delete(f);
    done.add(f);
  };
  visit('main');
  const unused = names.filter((n) => !done.has(n));
  if (unused.length) throw new GraphError(`${unused.join(', ')} ${unused.length > 1 ? 'are' : 'is'} never called`);
  if (![...bodies.values()].some((b) => b.some((it) => it.kind === 'tail'))) throw new GraphError('nothing tail-calls: the graph needs a tail item');
  return { names, bodies };
}

const insn = (code: number, dst_reg: number, src_reg: number, off: number, imm: number): BpfInsn => ({ code, dst_reg, src_reg, off, imm });

/** The BPF instructions of the whole program (main first), pseudo calls in dump form (off = relative offset). */
export function graphProgram(g: CallGraph): BpfInsn[] {
  const starts = new Map<string, number>();
  const out: BpfInsn[] = [];
  const calls: { at: number; callee: string }[] = [];
  for (const name of g.names) {
    starts.set(name, out.length);
    out.push(insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0)); // r6 = r1
    for (const it of g.bodies.get(name)!) {
      if (it.kind === 'tail') {
        out.push(insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0));
        out.push(insn(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, MAP_ID), insn(0, 0, 0, 0, 0));
        out.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
        out.push(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call));
        continue;
      }
      const call = (): void => {
        out.push(insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0));
        calls.push({ at: out.length, callee: it.callee });
        out.push(insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
      };
      if (!it.loop) {
        call();
        continue;
      }
      out.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, 7, 0, 0, it.times)); // r7 = K
      const loop = out.length;
      call();
      out.push(insn(BPF_ALU64 | BPF_ADD | BPF_K, 7, 0, 0, -1)); // r7 += -1
      out.push(insn(BPF_JMP | BPF_JNE | BPF_K, 7, 0, loop - (out.length + 1), 0)); // if r7 != 0 goto loop
    }
    out.push(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }
  for (const c of calls) {
    const target = starts.get(c.callee)!;
    out[c.at] = { ...out[c.at], off: target - c.at - 1, imm: g.names.indexOf(c.callee) };
  }
  return out;
}

export interface JittedFunction {
  name: string;
  address: bigint;
  bytes: Uint8Array;
}

export interface JittedGraph {
  funcs: JittedFunction[];
  /** the program's poke table: one direct tail call per `tail` item */
  pokes: BpfJitPokeDescriptor[];
  /** X86_TAIL_CALL_OFFSET of the profile */
  tail_call_offset: number;
  max_tail_call_cnt: number;
}

/** JIT-compiles the graph's program with `profile` (e.g. '5.10', '6.12'), function k at base + k * spacing. */
export function jitGraph(g: CallGraph, profile: string, base: bigint, spacing = 0x400n): JittedGraph {
  const env = makeEnv({ cfg: defaultJitConfig(profile), values: new Map([[`map:${MAP_ID}`, MAP_ADDRESS]]) });
  const prog = analyzeProgram(graphProgram(g), env.cfg.profile);
  if (prog.tail_calls.some((t) => t.kind !== 'direct')) throw new GraphError('every tail call of the graph should be direct');
  const address = (f: number): bigint => base + BigInt(f) * spacing;
  const { funcs, pokes } = jitFunctions(prog, address, () => TAIL_CALL_MAP);
  const out = funcs.map((f, i) => {
    const bytes = jit_function(f, address(i), env).image;
    if (BigInt(bytes.length) > spacing) throw new GraphError(`${g.names[i]} is ${bytes.length} bytes, more than the ${spacing} between functions`);
    return { name: g.names[i], address: address(i), bytes };
  });
  return { funcs: out, pokes, tail_call_offset: env.cfg.profile.tail_call_offset, max_tail_call_cnt: env.cfg.profile.max_tail_call_cnt };
}
