/**
 * A model's state, declared by name: shared fields (map slots, site
 * contents, the updater's machine state, ...) and one record per CPU (its
 * executor state and its marks in pending grace periods), packed into the
 * Int32 words the explorer stores.
 *
 *   const layout = defineLayout({
 *     shared: { updater: 12, site: 8, slot: 4, bypass: 8, target: 8, life: [2, 3] },
 *     cpus: { count: N, bits: 8, fields: { q: 4, sync: 1, holds: [1, 3] } },
 *   });
 *   layout.shared.slot.get(s); layout.cpu.q.set(next, i, nq); layout.shared.life.get(s, k);
 *
 * Shared fields are packed in declaration order from bit 0 of word 0, a field
 * never straddling two words (a field that does not fit starts the next
 * word); `[bits, count]` declares `count` fields of `bits` each. The CPU
 * records follow the shared words, `32 / bits` records to a word (see
 * CpuFields), their fields packed the same way inside a record. Everything
 * a CPU owns is in its record, so symmetry reduction is a sort of the records
 * and `cpuOwned` says which bits a CPU may write (the cutoff's condition C1).
 *
 * get/set are plain shifts and masks on closed-over constants: no allocation
 * in the search's hot loop.
 *
 * Two more kinds of shared field, each starting a word of its own: `'u64'`
 * (`['u64', count]`), a 64-bit value in two words, low word first, read and
 * written as a bigint (a machine register); `{ bytes: n }`, n bytes of
 * memory in n / 4 words (a stack), read and written as a Uint8Array.
 *
 * Actors that are not CPUs and whose state takes more than 32 bits (e.g. the
 * contexts of one CPU, each with its machine state and a scratch register)
 * go in `records`: `count` records of `words` whole words each, after the
 * CPU records, fields packed as in a CPU record but over the record's words
 * (`layout.record.w9.get(s, a)`). `layout.records.sort(s, from, n)` sorts
 * records from..from+n-1 as words (the symmetry of interchangeable ones).
 */
import { CpuFields } from '../concurrency/cpu-fields.js';
import { sortRecords } from '../concurrency/records.js';

/** A field of a CPU record or of an actor record: `bits`, or `[bits, count]`. */
export type FieldDecl = number | readonly [bits: number, count: number];
export type FieldDecls = Readonly<Record<string, FieldDecl>>;
/** A shared field: bits, `[bits, count]`, `'u64'`, `['u64', count]` or `{ bytes: n }`. */
export type SharedDecl = FieldDecl | 'u64' | readonly ['u64', number] | { readonly bytes: number };
export type SharedDecls = Readonly<Record<string, SharedDecl>>;

/** One shared field: `bits` bits at `shift` of word `word`. */
export class Field {
  readonly mask: number;
  constructor(
    readonly name: string,
    readonly word: number,
    readonly shift: number,
    readonly bits: number,
  ) {
    this.mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  }
  get(s: Int32Array): number {
    return (s[this.word] >>> this.shift) & this.mask;
  }
  set(s: Int32Array, v: number): void {
    s[this.word] = (s[this.word] & ~(this.mask << this.shift)) | ((v & this.mask) << this.shift);
  }
  /** The largest value the field holds. */
  get max(): number {
    return this.mask >>> 0;
  }
}

/** `count` shared fields of the same width, indexed from 0. */
export class FieldArray {
  readonly fields: readonly Field[];
  constructor(readonly name: string, fields: Field[]) {
    this.fields = fields;
  }
  get length(): number {
    return this.fields.length;
  }
  get(s: Int32Array, k: number): number {
    return this.fields[k].get(s);
  }
  set(s: Int32Array, k: number, v: number): void {
    this.fields[k].set(s, v);
  }
}

/** A 64-bit shared value in words `word` (low half) and `word + 1` (high half). */
export class U64Field {
  constructor(
    readonly name: string,
    readonly word: number,
  ) {}
  get(s: Int32Array): bigint {
    return (BigInt(s[this.word + 1] >>> 0) << 32n) | BigInt(s[this.word] >>> 0);
  }
  set(s: Int32Array, v: bigint): void {
    s[this.word] = Number(v & 0xffffffffn) | 0;
    s[this.word + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
  }
}

/** `count` 64-bit shared values, indexed from 0. */
export class U64Array {
  constructor(
    readonly name: string,
    readonly fields: readonly U64Field[],
  ) {}
  get length(): number {
    return this.fields.length;
  }
  get(s: Int32Array, k: number): bigint {
    return this.fields[k].get(s);
  }
  set(s: Int32Array, k: number, v: bigint): void {
    this.fields[k].set(s, v);
  }
}

/** `length` bytes of memory held in the state from word `word` (byte 0 is the low byte of that word on a little-endian host). */
export class ByteArea {
  constructor(
    readonly name: string,
    readonly word: number,
    readonly length: number,
  ) {}
  /** A copy of the bytes. */
  read(s: Int32Array): Uint8Array {
    return new Uint8Array(s.buffer, s.byteOffset + 4 * this.word, this.length).slice();
  }
  write(s: Int32Array, bytes: Uint8Array): void {
    if (bytes.length !== this.length) throw new LayoutError(`${this.name}: ${bytes.length} bytes written to ${this.length}`);
    new Uint8Array(s.buffer, s.byteOffset + 4 * this.word, this.length).set(bytes);
  }
}

/** One field of every CPU's record: `bits` bits at `shift` inside the record. */
export class CpuField {
  readonly mask: number;
  /** The field's bits inside a record (for whole-record tests such as `f & field.inRecord`). */
  readonly inRecord: number;
  /** The field's bits in every record of a word (records past the last CPU are zero). */
  readonly inEveryRecord: number;
  constructor(
    readonly name: string,
    private readonly cpus: CpuFields,
    readonly shift: number,
    readonly bits: number,
  ) {
    this.mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    this.inRecord = this.mask << shift;
    let every = 0;
    for (let r = 0; r < cpus.perWord; r++) every |= this.inRecord << (r * cpus.bits);
    this.inEveryRecord = every;
  }
  /** Whether some CPU has a non-zero value in this field (whole words at a time). */
  any(s: Int32Array): boolean {
    const end = this.cpus.base + this.cpus.words;
    for (let w = this.cpus.base; w < end; w++) if (s[w] & this.inEveryRecord) return true;
    return false;
  }
  get(s: Int32Array, cpu: number): number {
    return (this.cpus.get(s, cpu) >>> this.shift) & this.mask;
  }
  set(s: Int32Array, cpu: number, v: number): void {
    const f = this.cpus.get(s, cpu);
    this.cpus.set(s, cpu, (f & ~this.inRecord) | ((v & this.mask) << this.shift));
  }
  /** The field's value in a record already read with `layout.cpus.get`. */
  of(record: number): number {
    return (record >>> this.shift) & this.mask;
  }
  /** `record` with this field set to v (to build a CPU's new record in one go, then `layout.cpus.set` it). */
  with(record: number, v: number): number {
    return (record & ~this.inRecord) | ((v & this.mask) << this.shift);
  }
}

/** `count` one-CPU fields of the same width (e.g. one "holds up f_k's free" bit per program). */
export class CpuFieldArray {
  constructor(
    readonly name: string,
    readonly fields: readonly CpuField[],
  ) {}
  get length(): number {
    return this.fields.length;
  }
  get(s: Int32Array, cpu: number, k: number): number {
    return this.fields[k].get(s, cpu);
  }
  set(s: Int32Array, cpu: number, k: number, v: number): void {
    this.fields[k].set(s, cpu, v);
  }
}

/** One field of every actor record: `bits` bits at `shift` of word `word` of the record. */
export class RecordField {
  readonly mask: number;
  constructor(
    readonly name: string,
    /** First word of record 0. */
    private readonly base: number,
    /** Words per record. */
    private readonly stride: number,
    readonly word: number,
    readonly shift: number,
    readonly bits: number,
  ) {
    this.mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  }
  get(s: Int32Array, r: number): number {
    return (s[this.base + r * this.stride + this.word] >>> this.shift) & this.mask;
  }
  set(s: Int32Array, r: number, v: number): void {
    const w = this.base + r * this.stride + this.word;
    s[w] = (s[w] & ~(this.mask << this.shift)) | ((v & this.mask) << this.shift);
  }
}

/** `count` record fields of the same width. */
export class RecordFieldArray {
  constructor(
    readonly name: string,
    readonly fields: readonly RecordField[],
  ) {}
  get length(): number {
    return this.fields.length;
  }
  get(s: Int32Array, r: number, k: number): number {
    return this.fields[k].get(s, r);
  }
  set(s: Int32Array, r: number, k: number, v: number): void {
    this.fields[k].set(s, r, v);
  }
}

/** The actor records as a whole: `count` records of `words` words from word `base`. */
export class Records {
  constructor(
    readonly count: number,
    readonly base: number,
    readonly words: number,
  ) {}
  /** Sorts records from..from+n-1 ascending, word by word as signed integers (sortRecords). */
  sort(s: Int32Array, from = 0, n = this.count - from): void {
    if (from < 0 || n < 0 || from + n > this.count) throw new LayoutError(`records: cannot sort ${from}..${from + n - 1} of ${this.count}`);
    sortRecords(s, this.base + from * this.words, n, this.words);
  }
}

type SharedOf<D extends SharedDecls> = {
  readonly [K in keyof D]: D[K] extends number ? Field : D[K] extends 'u64' ? U64Field : D[K] extends readonly ['u64', number] ? U64Array : D[K] extends { bytes: number } ? ByteArea : FieldArray;
};
type CpuOf<D extends FieldDecls> = { readonly [K in keyof D]: D[K] extends number ? CpuField : CpuFieldArray };
type RecordOf<D extends FieldDecls> = { readonly [K in keyof D]: D[K] extends number ? RecordField : RecordFieldArray };

export interface LayoutSpec<S extends SharedDecls, C extends FieldDecls, R extends FieldDecls = Record<never, never>> {
  shared: S;
  cpus?: { count: number; bits: 8 | 16 | 32; fields: C };
  /** Records of actors that are not CPUs, `words` whole words each (see the top of this file). */
  records?: { count: number; words: number; fields: R };
}

export class LayoutError extends Error {}

export interface Layout<S extends SharedDecls = SharedDecls, C extends FieldDecls = FieldDecls, R extends FieldDecls = FieldDecls> {
  /** Int32 words per state. */
  readonly width: number;
  readonly shared: SharedOf<S>;
  readonly cpu: CpuOf<C>;
  /** The CPU records as a whole (null when the layout has no CPUs). */
  readonly cpus: CpuFields | null;
  readonly record: RecordOf<R>;
  /** The actor records as a whole (null when the layout has none). */
  readonly records: Records | null;
  /** Number of CPUs (0 without records). */
  readonly cpuCount: number;
  /** Per word, the bits CPU `cpu`'s record occupies (all zero outside the CPU area). */
  cpuOwned(cpu: number): Int32Array;
  /** `name=value ...` of every field, for debugging and as a default summary. */
  text(s: Int32Array): string;
}

function bitsOf(name: string, d: SharedDecl): [number, number | null] {
  if (typeof d === 'number') return [d, null];
  if (Array.isArray(d) && typeof d[0] === 'number') return [d[0], d[1] as number];
  throw new LayoutError(`field ${name}: only shared fields can be u64 or bytes`);
}

export function defineLayout<S extends SharedDecls, C extends FieldDecls = Record<never, never>, R extends FieldDecls = Record<never, never>>(spec: LayoutSpec<S, C, R>): Layout<S, C, R> {
  const shared: Record<string, Field | FieldArray | U64Field | U64Array | ByteArea> = {};
  /** Text of each shared field in declaration order, for `text`. */
  const sharedText: ((s: Int32Array) => string)[] = [];
  let word = 0;
  let bit = 0;
  let used = false;
  const place = (name: string, bits: number): Field => {
    if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new LayoutError(`field ${name}: ${bits} bits (1..32)`);
    if (bit + bits > 32) {
      word++;
      bit = 0;
    }
    const f = new Field(name, word, bit, bits);
    bit += bits;
    used = true;
    sharedText.push((s) => `${name}=${f.get(s)}`);
    return f;
  };
  /** n whole words, starting a word of their own; returns the first. */
  const wholeWords = (n: number): number => {
    const at = used ? word + 1 : 0;
    word = at + n - 1;
    bit = 32;
    used = true;
    return at;
  };
  const placeU64 = (name: string): U64Field => {
    const f = new U64Field(name, wholeWords(2));
    sharedText.push((s) => `${name}=0x${f.get(s).toString(16)}`);
    return f;
  };
  for (const [name, d] of Object.entries(spec.shared)) {
    if (d === 'u64') shared[name] = placeU64(name);
    else if (Array.isArray(d) && d[0] === 'u64') shared[name] = new U64Array(name, Array.from({ length: d[1] as number }, (_, k) => placeU64(`${name}[${k}]`)));
    else if (typeof d === 'object' && 'bytes' in d) {
      const n = d.bytes;
      if (!Number.isInteger(n) || n < 4 || n % 4 !== 0) throw new LayoutError(`field ${name}: ${n} bytes (a positive multiple of 4)`);
      const area = new ByteArea(name, wholeWords(n / 4), n);
      shared[name] = area;
      sharedText.push((s) => `${name}=<${area.read(s).filter((b) => b !== 0).length} of ${n} bytes non-zero>`);
    } else {
      const [bits, count] = bitsOf(name, d);
      if (count === null) shared[name] = place(name, bits);
      else shared[name] = new FieldArray(name, Array.from({ length: count }, (_, k) => place(`${name}[${k}]`, bits)));
    }
  }
  const sharedWords = used ? word + 1 : 0;

  const cpuSpec = spec.cpus;
  const cpus = cpuSpec ? new CpuFields(cpuSpec.count, sharedWords, cpuSpec.bits) : null;
  const cpu: Record<string, CpuField | CpuFieldArray> = {};
  const cpuFlat: CpuField[] = [];
  if (cpuSpec && cpus) {
    let rb = 0;
    const placeCpu = (name: string, bits: number): CpuField => {
      if (rb + bits > cpuSpec.bits) throw new LayoutError(`CPU record: ${name} does not fit in ${cpuSpec.bits} bits`);
      const f = new CpuField(name, cpus, rb, bits);
      rb += bits;
      cpuFlat.push(f);
      return f;
    };
    for (const [name, d] of Object.entries(cpuSpec.fields)) {
      const [bits, count] = bitsOf(name, d);
      if (count === null) cpu[name] = placeCpu(name, bits);
      else cpu[name] = new CpuFieldArray(name, Array.from({ length: count }, (_, k) => placeCpu(`${name}[${k}]`, bits)));
    }
  }
  const cpuWords = cpus ? cpus.words : 0;

  const recSpec = spec.records;
  const records = recSpec ? new Records(recSpec.count, sharedWords + cpuWords, recSpec.words) : null;
  const record: Record<string, RecordField | RecordFieldArray> = {};
  const recFlat: RecordField[] = [];
  if (recSpec && records) {
    if (!Number.isInteger(recSpec.count) || recSpec.count < 0 || !Number.isInteger(recSpec.words) || recSpec.words < 1) throw new LayoutError(`records: ${recSpec.count} of ${recSpec.words} words`);
    let rw = 0;
    let rb = 0;
    const placeRec = (name: string, bits: number): RecordField => {
      if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new LayoutError(`record field ${name}: ${bits} bits (1..32)`);
      if (rb + bits > 32) {
        rw++;
        rb = 0;
      }
      if (rw >= recSpec.words) throw new LayoutError(`record: ${name} does not fit in ${recSpec.words} words`);
      const f = new RecordField(name, records.base, records.words, rw, rb, bits);
      rb += bits;
      recFlat.push(f);
      return f;
    };
    for (const [name, d] of Object.entries(recSpec.fields)) {
      const [bits, count] = bitsOf(name, d);
      if (count === null) record[name] = placeRec(name, bits);
      else record[name] = new RecordFieldArray(name, Array.from({ length: count }, (_, k) => placeRec(`${name}[${k}]`, bits)));
    }
  }
  const width = sharedWords + cpuWords + (records ? records.count * records.words : 0);
  const cpuCount = cpuSpec?.count ?? 0;

  return {
    width,
    shared: shared as SharedOf<S>,
    cpu: cpu as CpuOf<C>,
    cpus,
    record: record as RecordOf<R>,
    records,
    cpuCount,
    cpuOwned(i) {
      const m = new Int32Array(width);
      if (cpus) {
        const probe = new Int32Array(width);
        cpus.set(probe, i, cpus.mask);
        m.set(probe);
      }
      return m;
    },
    text(s) {
      const parts = sharedText.map((f) => f(s));
      for (let i = 0; i < cpuCount; i++) parts.push(`cpu${i}{${cpuFlat.map((f) => `${f.name}=${f.get(s, i)}`).join(',')}}`);
      for (let r = 0; r < (records?.count ?? 0); r++) parts.push(`record${r}{${recFlat.map((f) => `${f.name}=${f.get(s, r)}`).join(',')}}`);
      return parts.join(' ');
    },
  };
}
