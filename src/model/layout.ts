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
 */
import { CpuFields } from '../concurrency/cpu-fields.js';

export type FieldDecl = number | readonly [bits: number, count: number];
export type FieldDecls = Readonly<Record<string, FieldDecl>>;

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

type SharedOf<D extends FieldDecls> = { readonly [K in keyof D]: D[K] extends number ? Field : FieldArray };
type CpuOf<D extends FieldDecls> = { readonly [K in keyof D]: D[K] extends number ? CpuField : CpuFieldArray };

export interface LayoutSpec<S extends FieldDecls, C extends FieldDecls> {
  shared: S;
  cpus?: { count: number; bits: 8 | 16 | 32; fields: C };
}

export class LayoutError extends Error {}

export interface Layout<S extends FieldDecls = FieldDecls, C extends FieldDecls = FieldDecls> {
  /** Int32 words per state. */
  readonly width: number;
  readonly shared: SharedOf<S>;
  readonly cpu: CpuOf<C>;
  /** The CPU records as a whole (null when the layout has no CPUs). */
  readonly cpus: CpuFields | null;
  /** Number of CPUs (0 without records). */
  readonly cpuCount: number;
  /** Per word, the bits CPU `cpu`'s record occupies (all zero outside the CPU area). */
  cpuOwned(cpu: number): Int32Array;
  /** `name=value ...` of every field, for debugging and as a default summary. */
  text(s: Int32Array): string;
}

function bitsOf(d: FieldDecl): [number, number | null] {
  return typeof d === 'number' ? [d, null] : [d[0], d[1]];
}

export function defineLayout<S extends FieldDecls, C extends FieldDecls = Record<never, never>>(spec: LayoutSpec<S, C>): Layout<S, C> {
  const shared: Record<string, Field | FieldArray> = {};
  const flat: Field[] = [];
  let word = 0;
  let bit = 0;
  const place = (name: string, bits: number): Field => {
    if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new LayoutError(`field ${name}: ${bits} bits (1..32)`);
    if (bit + bits > 32) {
      word++;
      bit = 0;
    }
    const f = new Field(name, word, bit, bits);
    bit += bits;
    flat.push(f);
    return f;
  };
  for (const [name, d] of Object.entries(spec.shared)) {
    const [bits, count] = bitsOf(d);
    if (count === null) shared[name] = place(name, bits);
    else shared[name] = new FieldArray(name, Array.from({ length: count }, (_, k) => place(`${name}[${k}]`, bits)));
  }
  const sharedWords = flat.length ? word + 1 : 0;

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
      const [bits, count] = bitsOf(d);
      if (count === null) cpu[name] = placeCpu(name, bits);
      else cpu[name] = new CpuFieldArray(name, Array.from({ length: count }, (_, k) => placeCpu(`${name}[${k}]`, bits)));
    }
  }
  const width = sharedWords + (cpus ? cpus.words : 0);
  const cpuCount = cpuSpec?.count ?? 0;

  return {
    width,
    shared: shared as SharedOf<S>,
    cpu: cpu as CpuOf<C>,
    cpus,
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
      const parts = flat.map((f) => `${f.name}=${f.get(s)}`);
      for (let i = 0; i < cpuCount; i++) parts.push(`cpu${i}{${cpuFlat.map((f) => `${f.name}=${f.get(s, i)}`).join(',')}}`);
      return parts.join(' ');
    },
  };
}
