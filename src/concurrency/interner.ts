/**
 * Byte strings numbered in order of first sight, so that a packed state can
 * hold a site's 5 bytes (or the bytes a CPU fetched so far) as a small id.
 */
import { hexBytes } from '../jit/x86/x86.js';

export class BytesInterner {
  private readonly ids = new Map<string, number>();
  private readonly list: Uint8Array[] = [];

  constructor(
    /** Ids must stay below this (they are packed into a field of that many values). */
    readonly limit: number,
    readonly what: string,
  ) {}

  intern(bytes: ArrayLike<number>): number {
    const key = hexBytes(bytes);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.list.length;
      if (id >= this.limit) throw new Error(`${this.what}: more than ${this.limit} distinct byte strings`);
      this.ids.set(key, id);
      this.list.push(Uint8Array.from(bytes));
    }
    return id;
  }

  bytes(id: number): Uint8Array {
    const b = this.list[id];
    if (b === undefined) throw new Error(`${this.what}: no byte string ${id}`);
    return b;
  }

  hex(id: number): string {
    return hexBytes(this.bytes(id));
  }

  get size(): number {
    return this.list.length;
  }
}
