/**
 * Loader and validator for JIT oracle fixtures (schema `bpf-jit-oracle/1`,
 * described in test/fixtures/oracle/README.md). Only the fields the JIT
 * needs are typed; a malformed file raises a FixtureError whose message is
 * one line naming the file and the field.
 */
import { readFileSync } from 'node:fs';

export const FIXTURE_SCHEMA = 'bpf-jit-oracle/1';

export class FixtureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FixtureError';
  }
}

export interface FixtureTarget {
  name: string;
  image_address: bigint;
  tail_call_entry?: bigint;
}

export interface FixtureFunction {
  name: string;
  address: bigint;
  offset_in_bytes: number;
  len: number;
  bytes: Uint8Array;
}

export interface FixtureSite {
  kind: 'direct' | 'indirect';
  tcc_check_offset: number;
  out_offset: number;
  function_index: number;
  bypass?: { address: bigint; offset: number };
  poke?: { address: bigint; offset: number };
  /** every other field of the site object, as in the file */
  raw: Record<string, unknown>;
}

export interface Fixture {
  file: string;
  program: string;
  step: string;
  image_address: bigint;
  bytes: Uint8Array;
  xlated: Uint8Array;
  functions: FixtureFunction[];
  /** key -> target program name */
  map_state: Map<number, string>;
  targets: Map<string, FixtureTarget>;
  tail_call_sites: FixtureSite[];
  x86_tail_call_offset?: number;
  max_tail_call_cnt?: number;
  /** the whole parsed JSON, for fields this loader does not type */
  raw: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/** Field readers that throw a one-line FixtureError naming the file and field path. */
class Reader {
  constructor(readonly file: string) {}
  fail(path: string, what: string): never {
    throw new FixtureError(`${this.file}: ${path}: ${what}`);
  }
  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'expected an object');
    return v as Obj;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'expected an array');
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }
  int(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(path, 'expected an integer');
    return v;
  }
  addr(v: unknown, path: string): bigint {
    const s = this.str(v, path);
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(s)) this.fail(path, `expected a 0x-prefixed 64-bit address, got '${s}'`);
    return BigInt(s);
  }
  hex(v: unknown, path: string): Uint8Array {
    const s = this.str(v, path);
    if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) this.fail(path, 'expected an even-length hex string');
    return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
}

/** Validate a parsed fixture object. */
export function parseFixture(json: unknown, file: string): Fixture {
  const r = new Reader(file);
  const o = r.obj(json, '(top)');
  if (o.schema !== FIXTURE_SCHEMA) r.fail('schema', `expected '${FIXTURE_SCHEMA}', got ${JSON.stringify(o.schema)}`);
  const image_address = r.addr(o.image_address, 'image_address');
  const bytes = r.hex(o.bytes, 'bytes');
  if (o.image_len !== undefined && r.int(o.image_len, 'image_len') !== bytes.length) {
    r.fail('image_len', `${String(o.image_len)} but bytes has ${bytes.length}`);
  }
  const xlated = r.hex(o.xlated, 'xlated');
  if (xlated.length % 8 !== 0) r.fail('xlated', 'length is not a multiple of 8 bytes');
  const functions = r.arr(o.functions, 'functions').map((f, i) => {
    const p = `functions[${i}]`;
    const fo = r.obj(f, p);
    const fn: FixtureFunction = {
      name: r.str(fo.name, `${p}.name`),
      address: r.addr(fo.address, `${p}.address`),
      offset_in_bytes: r.int(fo.offset_in_bytes, `${p}.offset_in_bytes`),
      len: r.int(fo.len, `${p}.len`),
      bytes: r.hex(fo.bytes, `${p}.bytes`),
    };
    if (fn.offset_in_bytes + fn.len > bytes.length) r.fail(p, 'extends past the image');
    return fn;
  });
  if (functions.length === 0) r.fail('functions', 'empty');
  const map_state = new Map<number, string>();
  for (const [k, v] of Object.entries(r.obj(o.map_state ?? {}, 'map_state'))) {
    if (!/^\d+$/.test(k)) r.fail(`map_state.${k}`, 'key is not a non-negative integer');
    map_state.set(Number(k), r.str(r.obj(v, `map_state.${k}`).prog, `map_state.${k}.prog`));
  }
  const targets = new Map<string, FixtureTarget>();
  for (const [name, v] of Object.entries(r.obj(o.targets ?? {}, 'targets'))) {
    const t = r.obj(v, `targets.${name}`);
    const ft: FixtureTarget = { name, image_address: r.addr(t.image_address, `targets.${name}.image_address`) };
    if (t.tail_call_entry !== undefined) ft.tail_call_entry = r.addr(t.tail_call_entry, `targets.${name}.tail_call_entry`);
    targets.set(name, ft);
  }
  for (const [k, name] of map_state) {
    if (!targets.has(name)) r.fail(`map_state.${k}`, `program '${name}' is not among targets`);
  }
  const tail_call_sites = r.arr(o.tail_call_sites ?? [], 'tail_call_sites').map((s, i) => parseSite(r, s, i));
  const fx: Fixture = {
    file,
    program: r.str(o.program, 'program'),
    step: r.str(o.step, 'step'),
    image_address,
    bytes,
    xlated,
    functions,
    map_state,
    targets,
    tail_call_sites,
    raw: o,
  };
  if (o.x86_tail_call_offset !== undefined) fx.x86_tail_call_offset = r.int(o.x86_tail_call_offset, 'x86_tail_call_offset');
  if (o.max_tail_call_cnt !== undefined) fx.max_tail_call_cnt = r.int(o.max_tail_call_cnt, 'max_tail_call_cnt');
  return fx;
}

function parseSite(r: Reader, s: unknown, i: number): FixtureSite {
  const p = `tail_call_sites[${i}]`;
  const so = r.obj(s, p);
  const kind = r.str(so.kind, `${p}.kind`);
  if (kind !== 'direct' && kind !== 'indirect') r.fail(`${p}.kind`, `expected 'direct' or 'indirect', got '${kind}'`);
  const site: FixtureSite = {
    kind,
    tcc_check_offset: r.int(so.tcc_check_offset, `${p}.tcc_check_offset`),
    out_offset: r.int(so.out_offset, `${p}.out_offset`),
    function_index: so.function_index === undefined ? 0 : r.int(so.function_index, `${p}.function_index`),
    raw: so,
  };
  if (kind === 'direct') {
    for (const which of ['bypass', 'poke'] as const) {
      const w = r.obj(so[which], `${p}.${which}`);
      site[which] = { address: r.addr(w.address, `${p}.${which}.address`), offset: r.int(w.offset, `${p}.${which}.offset`) };
    }
  }
  return site;
}

/** Read and validate a fixture file. */
export function loadFixture(file: string): Fixture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FixtureError(`${file}: cannot read: ${(e as Error).message.split('\n')[0]}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FixtureError(`${file}: not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseFixture(json, file);
}
