import { hexAddr } from '../jit/x86/x86.js';

/**
 * Kernel text memory: bytes at 64-bit kernel addresses, in mapped regions
 * (one per JIT image), plus the BPF kallsyms registry that
 * `is_bpf_text_address` consults.
 */

export interface TextRegion {
  readonly name: string;
  readonly start: bigint;
  readonly bytes: Uint8Array;
}

export class TextFault extends Error {}

export class TextMemory {
  private readonly regions: TextRegion[] = [];

  /** Maps a copy of `bytes` at `start`. Regions must not overlap. */
  map(name: string, start: bigint, bytes: ArrayLike<number>): TextRegion {
    const end = start + BigInt(bytes.length);
    for (const r of this.regions) {
      const rEnd = r.start + BigInt(r.bytes.length);
      if (start < rEnd && r.start < end) throw new TextFault(`text region ${name} overlaps ${r.name}`);
    }
    const region = { name, start, bytes: Uint8Array.from(bytes) };
    this.regions.push(region);
    return region;
  }

  regionAt(addr: bigint, len = 1): TextRegion {
    for (const r of this.regions) {
      if (addr >= r.start && addr + BigInt(len) <= r.start + BigInt(r.bytes.length)) return r;
    }
    throw new TextFault(`no text mapped at ${hexAddr(addr)} (+${len})`);
  }

  read(addr: bigint, len: number): Uint8Array {
    const r = this.regionAt(addr, len);
    const off = Number(addr - r.start);
    return r.bytes.slice(off, off + len);
  }

  write(addr: bigint, bytes: ArrayLike<number>): void {
    const r = this.regionAt(addr, bytes.length);
    r.bytes.set(Array.from(bytes), Number(addr - r.start));
  }

  /** A deep copy (regions and bytes). */
  clone(): TextMemory {
    const t = new TextMemory();
    for (const r of this.regions) t.map(r.name, r.start, r.bytes);
    return t;
  }
}

/** The BPF kallsyms tree: which ranges are known BPF text (`bpf_prog_kallsyms_add`/`_del`). */
export class BpfKallsyms {
  private readonly ranges = new Map<string, { start: bigint; len: number }>();

  bpf_prog_kallsyms_add(name: string, start: bigint, len: number): void {
    this.ranges.set(name, { start, len });
  }

  bpf_prog_kallsyms_del(name: string): void {
    this.ranges.delete(name);
  }

  is_bpf_text_address(addr: bigint): boolean {
    for (const { start, len } of this.ranges.values()) {
      if (addr >= start && addr < start + BigInt(len)) return true;
    }
    return false;
  }
}
