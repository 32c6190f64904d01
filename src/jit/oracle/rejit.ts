/**
 * Re-JIT a fixture: from its `xlated` program, function addresses, target
 * addresses and map state to the image the kernel should hold now.
 *
 * Kernel addresses the fixture does not record (map addresses always, the
 * helper base or a thunk when no metadata gives it) are recovered from the
 * fixture's own image: a first JIT with placeholders tells where each such
 * value sits, it is read there, and every other use of the same value must
 * agree. Those bytes therefore match by construction; `recovered` lists them.
 */
import { type BpfInsn, parseInsns } from '../bpf.js';
import { type JitOutput, jit_function } from '../x86/do_jit.js';
import { nop5Of } from '../x86/config.js';
import { type JitEnv, type Reloc, lookupSymbol, setSymbol } from '../x86/env.js';
import { type Fixture, FixtureError } from './fixture.js';
import { fixtureConfig } from './fixture-config.js';
import { analyzeProgram, jitFunctions } from '../x86/program.js';
import { type BpfJitPokeDescriptor, bpf_tail_call_direct_fixup } from '../x86/tailcall.js';
import { hexAddr, read_s32, read_u64 } from '../bytes.js';

export interface RejitFunction {
  name: string;
  address: bigint;
  output: JitOutput;
}

export interface RejitResult {
  bytes: Uint8Array;
  functions: RejitFunction[];
  pokes: BpfJitPokeDescriptor[];
  env: JitEnv;
  /** where the configuration came from */
  notes: string[];
  /** values read back from the fixture's image, with the places they occupy */
  recovered: { sym: string; value: bigint; at: bigint[] }[];
}

const PLACEHOLDER_MAP = 0xffff888000000000n;

function placeholder(base: bigint) {
  return (sym: string): bigint => {
    const m = /^(?:map|map_value|btf_id):(-?\d+)$/.exec(sym);
    if (m) return PLACEHOLDER_MAP + BigInt(Number(m[1]) & 0xffff) * 0x100000n;
    return base - 0x1000000n; // any kernel-text-like target within rel32 reach
  };
}

function readField(fx: Fixture, r: Reloc): bigint {
  const fn = fx.functions.find((f) => r.at >= f.address && r.at < f.address + BigInt(f.len));
  if (!fn) throw new FixtureError(`${fx.file}: ${r.sym} at ${hexAddr(r.at)} lies in no function of the fixture`);
  const off = fn.offset_in_bytes + Number(r.at - fn.address) + r.field;
  const n = r.kind === 'imm64' ? 8 : 4;
  if (off + n > fx.bytes.length) throw new FixtureError(`${fx.file}: image too short to hold ${r.sym} at ${hexAddr(r.at)}`);
  if (r.kind === 'imm64') return read_u64(fx.bytes, off) - r.addend;
  // rel32: target = end of instruction + rel32 (5 bytes for e8/e9; 9 for the call-depth `sarq`)
  const v = BigInt.asUintN(64, r.at + BigInt(r.insn_len ?? 5) + BigInt(read_s32(fx.bytes, off))) - r.addend;
  // a %gs-relative per-cpu address wraps like the kernel's 32-bit displacement does
  return r.sym === 'call_depth_percpu' ? BigInt.asUintN(32, v) : v;
}

function jitAll(fx: Fixture, funcs: ReturnType<typeof jitFunctions>['funcs'], env: JitEnv): RejitFunction[] {
  return funcs.map((f, i) => ({ name: fx.functions[i].name, address: fx.functions[i].address, output: jit_function(f, fx.functions[i].address, env) }));
}

export function rejitFixture(fx: Fixture): RejitResult {
  const { env, notes, candidates } = fixtureConfig(fx);
  const insns: BpfInsn[] = parseInsns(fx.xlated);
  const kinds = fx.raw.tail_call_sites !== undefined ? fx.tail_call_sites.map((s) => s.kind) : undefined;
  const prog = analyzeProgram(insns, env.cfg.profile, kinds);
  if (prog.funcs.length !== fx.functions.length) {
    throw new FixtureError(`${fx.file}: xlated has ${prog.funcs.length} functions, functions[] lists ${fx.functions.length}`);
  }
  const mapIds = new Set(prog.tail_calls.filter((t) => t.kind === 'direct').map((t) => t.map_id));
  if (mapIds.size > 1) throw new FixtureError(`${fx.file}: direct tail calls use ${mapIds.size} maps; map_state names only one`);
  const build = () => jitFunctions(prog, (f) => fx.functions[f].address, (id) => `map:${id}`);

  // pass 1: placeholders for whatever the fixture does not record
  const relocs: Reloc[] = [];
  jitAll(fx, build().funcs, { ...env, relocs, placeholder: placeholder(fx.image_address) });
  const recovered: RejitResult['recovered'] = [];
  for (const sym of new Set(relocs.map((r) => r.sym))) {
    if (lookupSymbol(env, sym) !== undefined) continue;
    const uses = relocs.filter((r) => r.sym === sym);
    const values = uses.map((r) => readField(fx, r));
    const bad = values.findIndex((v) => v !== values[0]);
    if (bad >= 0) {
      throw new FixtureError(`${fx.file}: ${sym} reads ${hexAddr(values[0])} at ${hexAddr(uses[0].at)} but ${hexAddr(values[bad])} at ${hexAddr(uses[bad].at)}`);
    }
    const allowed = candidates.get(sym);
    if (allowed && !allowed.includes(values[0])) {
      throw new FixtureError(`${fx.file}: ${sym} reads ${hexAddr(values[0])} from the image, which is none of ${allowed.map(hexAddr).join(', ')} (kallsyms)`);
    }
    setSymbol(env, sym, values[0]);
    recovered.push({ sym, value: values[0], at: uses.map((r) => r.at) });
  }

  // pass 2: the real image, then the JIT-end fixup against the map state
  const { funcs, pokes } = build();
  env.relocs = [];
  const functions = jitAll(fx, funcs, env);
  const end = Math.max(...functions.map((f, i) => fx.functions[i].offset_in_bytes + f.output.image.length));
  const bytes = new Uint8Array(end);
  const lookup = (_map: string, key: number): bigint | undefined => {
    const name = fx.map_state.get(key);
    return name === undefined ? undefined : fx.targets.get(name)!.image_address;
  };
  functions.forEach((f, i) => {
    bpf_tail_call_direct_fixup(f.output.image, f.address, pokes, lookup, nop5Of(env.cfg));
    bytes.set(f.output.image, fx.functions[i].offset_in_bytes);
  });
  return { bytes, functions, pokes, env, notes, recovered };
}
