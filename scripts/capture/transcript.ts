/**
 * Parser for the guest's capture transcript, format `pokecap-transcript/1`
 * (written by scripts/capture/loader/pokecap.c on the guest's second serial
 * port; described in docs/capture.md).
 *
 * Every record is one line: `POKECAP <kind> key=value ... crc=XXXXXXXX`,
 * where crc is the CRC-32 (IEEE) of the line before ` crc=`. Values are
 * percent-encoded where they hold spaces. Lines that do not start with
 * `POKECAP ` are ignored; a POKECAP line with a bad crc is an error.
 */

export const TRANSCRIPT_FORMAT = 'pokecap-transcript/1';

export class TranscriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TranscriptError';
  }
}

export interface Record_ {
  kind: string;
  fields: Map<string, string>;
  line: number;
}

export interface Snapshot {
  step: string;
  prog: string;
  role: 'target' | 'caller';
  id: number;
  type: number;
  tag: string;
  jitedLen: number;
  xlatedLen: number;
  ksyms: bigint[];
  funcLens: number[];
  lineInsnOff: number[];
  jitedLine: bigint[];
  funcInsnOff: number[];
  runErr: number;
  runRetval: number;
  jited: Uint8Array;
  xlated: Uint8Array;
  /** index in transcript order */
  seq: number;
}

export interface LoadRecord {
  step: string;
  object: string;
  prog?: string;
  id?: number;
  err: number;
  role?: 'target' | 'caller';
}

export interface OpRecord {
  step: string;
  op: 'update' | 'delete' | 'load';
  key?: number;
  prog?: string;
  err: number;
}

export interface KernelSymbol {
  address: bigint;
  type: string;
  name: string;
}

export interface Transcript {
  format: string;
  meta: Map<string, string>;
  sysctl: Map<string, string>;
  map?: { name: string; id: number; type: number; keySize: number; valueSize: number; maxEntries: number };
  loads: LoadRecord[];
  ops: OpRecord[];
  /** step -> slot prog ids (null = empty) */
  mapStates: Map<string, (number | null)[]>;
  snapshots: Snapshot[];
  ksyms: KernelSymbol[];
  errors: string[];
  /** steps in the order they first appear */
  steps: string[];
  status: string | null;
}

const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3) of the UTF-8/ASCII bytes of s. */
export function crc32(s: string): number {
  let c = 0xffffffff;
  const b = Buffer.from(s, 'latin1');
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pctDecode(v: string): string {
  return v.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function hexToBytes(h: string): Uint8Array {
  if (h === '-' || h === '') return new Uint8Array(0);
  if (h.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(h)) throw new TranscriptError(`bad hex field '${h.slice(0, 40)}'`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Split the transcript into checked records. */
export function parseRecords(text: string): Record_[] {
  const out: Record_[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r+$/, '');
    const at = raw.indexOf('POKECAP ');
    if (at < 0) continue;
    const line = raw.slice(at);
    const m = / crc=([0-9a-f]{8})$/.exec(line);
    if (!m) throw new TranscriptError(`line ${i + 1}: POKECAP record without crc (truncated?)`);
    const body = line.slice(0, m.index);
    const want = parseInt(m[1], 16);
    const got = crc32(body);
    if (want !== got) {
      throw new TranscriptError(`line ${i + 1}: crc mismatch (line says ${m[1]}, content gives ${got.toString(16).padStart(8, '0')}): garbled serial output`);
    }
    const parts = body.split(' ');
    const kind = parts[1];
    if (!kind) throw new TranscriptError(`line ${i + 1}: empty record`);
    const fields = new Map<string, string>();
    for (const p of parts.slice(2)) {
      if (p === '') continue;
      const eq = p.indexOf('=');
      if (eq <= 0) throw new TranscriptError(`line ${i + 1}: field without '=': '${p.slice(0, 40)}'`);
      fields.set(p.slice(0, eq), pctDecode(p.slice(eq + 1)));
    }
    out.push({ kind, fields, line: i + 1 });
  }
  return out;
}

function need(r: Record_, key: string): string {
  const v = r.fields.get(key);
  if (v === undefined) throw new TranscriptError(`line ${r.line}: '${r.kind}' record lacks '${key}'`);
  return v;
}

function int(r: Record_, key: string): number {
  const v = need(r, key);
  if (!/^-?\d+$/.test(v)) throw new TranscriptError(`line ${r.line}: '${key}' is not an integer: '${v}'`);
  return Number(v);
}

function list<T>(r: Record_, key: string, f: (s: string) => T): T[] {
  const v = need(r, key);
  if (v === '-' || v === '') return [];
  return v.split(',').map(f);
}

function role(r: Record_): 'target' | 'caller' {
  const v = need(r, 'role');
  if (v !== 'target' && v !== 'caller') throw new TranscriptError(`line ${r.line}: bad role '${v}'`);
  return v;
}

/** Parse a whole transcript. Throws TranscriptError on a malformed one. */
export function parseTranscript(text: string): Transcript {
  const recs = parseRecords(text);
  if (recs.length === 0 || recs[0].kind !== 'begin') throw new TranscriptError('no "POKECAP begin" record: not a capture transcript');
  const format = need(recs[0], 'format');
  if (format !== TRANSCRIPT_FORMAT) throw new TranscriptError(`unsupported transcript format '${format}' (want ${TRANSCRIPT_FORMAT})`);
  const t: Transcript = {
    format,
    meta: new Map(),
    sysctl: new Map(),
    loads: [],
    ops: [],
    mapStates: new Map(),
    snapshots: [],
    ksyms: [],
    errors: [],
    steps: [],
    status: null,
  };
  const seeStep = (s: string) => {
    if (!t.steps.includes(s)) t.steps.push(s);
  };
  for (const r of recs.slice(1)) {
    switch (r.kind) {
      case 'meta':
        t.meta.set(need(r, 'key'), r.fields.get('value') ?? `(error: ${r.fields.get('error') ?? '?'})`);
        break;
      case 'sysctl':
        t.sysctl.set(need(r, 'name'), need(r, 'value'));
        break;
      case 'map':
        t.map = {
          name: need(r, 'name'),
          id: int(r, 'id'),
          type: int(r, 'type'),
          keySize: int(r, 'key_size'),
          valueSize: int(r, 'value_size'),
          maxEntries: int(r, 'max_entries'),
        };
        break;
      case 'load': {
        const l: LoadRecord = { step: need(r, 'step'), object: need(r, 'object'), err: int(r, 'err') };
        if (r.fields.has('prog')) l.prog = need(r, 'prog');
        if (r.fields.has('id')) l.id = int(r, 'id');
        if (r.fields.has('role')) l.role = role(r);
        t.loads.push(l);
        seeStep(l.step);
        break;
      }
      case 'op': {
        const op = need(r, 'op');
        if (op !== 'update' && op !== 'delete' && op !== 'load') throw new TranscriptError(`line ${r.line}: unknown op '${op}'`);
        const o: OpRecord = { step: need(r, 'step'), op, err: int(r, 'err') };
        if (r.fields.has('key')) o.key = int(r, 'key');
        if (r.fields.has('prog')) o.prog = need(r, 'prog');
        t.ops.push(o);
        seeStep(o.step);
        break;
      }
      case 'mapstate': {
        const step = need(r, 'step');
        t.mapStates.set(step, list(r, 'slots', (s) => (s === '-' ? null : Number(s))));
        seeStep(step);
        break;
      }
      case 'snap': {
        const s: Snapshot = {
          step: need(r, 'step'),
          prog: need(r, 'prog'),
          role: role(r),
          id: int(r, 'id'),
          type: int(r, 'type'),
          tag: need(r, 'tag'),
          jitedLen: int(r, 'jited_len'),
          xlatedLen: int(r, 'xlated_len'),
          ksyms: list(r, 'ksyms', (x) => BigInt(x)),
          funcLens: list(r, 'func_lens', Number),
          lineInsnOff: list(r, 'line_insn_off', Number),
          jitedLine: list(r, 'jited_line', (x) => BigInt(x)),
          funcInsnOff: list(r, 'func_insn_off', Number),
          runErr: int(r, 'run_err'),
          runRetval: int(r, 'run_retval'),
          jited: hexToBytes(need(r, 'jited')),
          xlated: hexToBytes(need(r, 'xlated')),
          seq: t.snapshots.length,
        };
        if (s.jited.length !== s.jitedLen) throw new TranscriptError(`line ${r.line}: jited has ${s.jited.length} bytes, jited_len says ${s.jitedLen}`);
        if (s.xlated.length !== s.xlatedLen) throw new TranscriptError(`line ${r.line}: xlated has ${s.xlated.length} bytes, xlated_len says ${s.xlatedLen}`);
        const sum = s.funcLens.reduce((a, b) => a + b, 0);
        if (s.funcLens.length > 0 && sum !== s.jitedLen) throw new TranscriptError(`line ${r.line}: func_lens add up to ${sum}, jited_len is ${s.jitedLen}`);
        if (s.ksyms.length !== Math.max(1, s.funcLens.length)) throw new TranscriptError(`line ${r.line}: ${s.ksyms.length} ksyms for ${s.funcLens.length} functions`);
        t.snapshots.push(s);
        seeStep(s.step);
        break;
      }
      case 'ksym':
        t.ksyms.push({ address: BigInt(need(r, 'addr')), type: need(r, 'type'), name: need(r, 'name') });
        break;
      case 'error':
        t.errors.push(`line ${r.line}: ${need(r, 'what')}: ${r.fields.get('strerror') ?? ''} (errno ${r.fields.get('errno') ?? '?'})`);
        break;
      case 'end':
        t.status = need(r, 'status');
        break;
      default:
        // Unknown kinds are kept forward-compatible: ignored.
        break;
    }
  }
  if (t.status === null) throw new TranscriptError('no "POKECAP end" record: the guest did not finish (see its console log)');
  return t;
}
