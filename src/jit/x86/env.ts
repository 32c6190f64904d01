/**
 * The environment a JIT run reads: configuration, kernel symbols and struct
 * layout, and (optionally) a log of every place where a kernel address went
 * into the code, so that a verifier can tell which bytes came from which
 * input (and recover an address from a real image when no other record of
 * it exists).
 */
import { type JitConfig, type KernelLayout, type KernelSymbols, defaultJitConfig } from './config.js';
import { hexAddr } from '../bytes.js';

/** A kernel address emitted into the code: a rel32 branch to `sym + addend`, or an imm64 of it. */
export interface Reloc {
  kind: 'rel32' | 'imm64';
  /** `indirect_thunk`, `its_indirect_thunk`, `return_thunk`, `call_depth_percpu`, `bpf_call_base`, `map:<id>`, `map_value:<id>`, `btf:<imm>` */
  sym: string;
  addend: bigint;
  /** address of the instruction's first byte */
  at: bigint;
  /** offset of the rel32/imm64 field inside the instruction */
  field: number;
  /** rel32: length of the instruction the displacement counts from (default 5: `call`/`jmp rel32`) */
  insn_len?: number;
}

export interface JitEnv {
  cfg: JitConfig;
  syms: KernelSymbols;
  /** values of `map:<id>`-style symbols (ld_imm64 of maps) */
  values: Map<string, bigint>;
  layout?: KernelLayout;
  /** when set, emitters append every kernel address they emit */
  relocs?: Reloc[];
  /** when set, an unknown symbol yields this function's placeholder instead of an error */
  placeholder?: (sym: string) => bigint;
}

export class MissingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingInputError';
  }
}

export function makeEnv(partial: Partial<JitEnv> = {}): JitEnv {
  return { cfg: partial.cfg ?? defaultJitConfig('6.1'), syms: partial.syms ?? {}, values: partial.values ?? new Map(), ...partial };
}

const SYMS: Record<string, keyof KernelSymbols> = {
  indirect_thunk: 'indirect_thunk',
  return_thunk: 'return_thunk',
  its_indirect_thunk: 'its_indirect_thunk',
  call_depth_percpu: 'call_depth_percpu',
  bpf_call_base: 'bpf_call_base',
};

/** The address of a symbol if the environment has it. */
export function lookupSymbol(env: JitEnv, sym: string): bigint | undefined {
  const key = SYMS[sym];
  return key !== undefined ? env.syms[key] : env.values.get(sym);
}

export function setSymbol(env: JitEnv, sym: string, v: bigint): void {
  const key = SYMS[sym];
  if (key !== undefined) env.syms[key] = v;
  else env.values.set(sym, v);
}

/** The address of a symbol, or a MissingInputError naming it. */
export function symbol(env: JitEnv, sym: string): bigint {
  const v = lookupSymbol(env, sym);
  if (v !== undefined) return v;
  if (env.placeholder) return env.placeholder(sym);
  throw new MissingInputError(`no address for ${sym}`);
}

/** Record an emitted kernel address. */
export function reloc(env: JitEnv, r: Reloc): void {
  env.relocs?.push(r);
}

export function describeReloc(r: Reloc): string {
  return `${r.sym}${r.addend ? `+${r.addend}` : ''} (${r.kind} at ${hexAddr(r.at)})`;
}

/** The struct layout, or a MissingInputError (only indirect tail calls need it). */
export function layoutOf(env: JitEnv): KernelLayout {
  if (!env.layout) throw new MissingInputError('indirect tail call needs offsetof(bpf_array, map.max_entries / ptrs) and offsetof(bpf_prog, bpf_func)');
  return env.layout;
}
