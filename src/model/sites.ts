/**
 * Patch sites as a CPU sees them: each site's contents numbered up front or
 * on first sight (an id in a shared field), decoded once, and what a CPU
 * does there (an event of its machine) memoised per (site, content).
 */
import { BytesInterner } from '../concurrency/interner.js';
import { decodeInsn, DecodeError, type Insn as DecodedInsn } from '../jit/x86/decode.js';
import { hexAddr, hexBytes } from '../jit/x86/x86.js';
import type { SiteView } from '../concurrency/model.js';

export interface SiteDecl {
  name: string;
  address: bigint;
  /** The bytes at the site when the state starts. */
  initial: Uint8Array;
}

export class DecodedSites {
  private readonly interned: BytesInterner[];
  private readonly eventCache: number[][];
  /** Content id of each site's initial bytes. */
  readonly initial: readonly number[];

  constructor(
    readonly model: string,
    readonly sites: readonly SiteDecl[],
    /** What a CPU does on `insn` (undefined: the bytes do not decode) at site `site`: an event index, or -1 if it cannot. */
    private readonly classify: (site: number, insn: DecodedInsn | undefined, bytes: Uint8Array) => number,
    /** Ids per site stay below this (the width of the content field). */
    limit = 256,
  ) {
    this.interned = sites.map((s) => new BytesInterner(limit, `${model} ${s.name}`));
    this.eventCache = sites.map(() => []);
    this.initial = sites.map((s, i) => this.intern(i, s.initial));
  }

  intern(site: number, bytes: ArrayLike<number>): number {
    return this.interned[site].intern(bytes);
  }

  bytes(site: number, c: number): Uint8Array {
    return this.interned[site].bytes(c);
  }

  size(site: number): number {
    return this.interned[site].size;
  }

  decode(site: number, c: number): DecodedInsn | undefined {
    try {
      return decodeInsn(this.bytes(site, c), this.sites[site].address);
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
  }

  /** The CPU's event for content c at site `site` (memoised). */
  event(site: number, c: number): number {
    let e = this.eventCache[site][c];
    if (e === undefined) e = this.eventCache[site][c] = this.classify(site, this.decode(site, c), this.bytes(site, c));
    return e;
  }

  /** objdump-style text of content c, or why it does not decode. */
  insnText(site: number, c: number): string {
    try {
      return decodeInsn(this.bytes(site, c), this.sites[site].address).text;
    } catch (e) {
      if (e instanceof DecodeError) return `(bad) ${e.message}`;
      throw e;
    }
  }

  view(site: number, c: number): SiteView {
    const d = this.sites[site];
    return { name: d.name, address: hexAddr(d.address), bytes: hexBytes(this.bytes(site, c)), disasm: this.insnText(site, c) };
  }
}
