// Small positioned reads served from a few aligned blocks read whole. A page-by-page walk through
// a dump (the kdump banner scan, the flattened record index, the kernel log reader) asks for
// thousands of 16-byte headers and 4 KiB pages in file order; each readAt on a file is one trip
// through libuv's thread pool, which on a busy 2-core machine costs more in waiting than the read
// itself (docs/speed.md, "identify per process"). With 1 MiB blocks such a walk makes one read per
// MiB. Memory: at most `maxBlocks` blocks.

import type { RandomAccess } from './byte-source.js';

export const READ_CACHE_BLOCK = 1 << 20;

export class CachedRandomAccess implements RandomAccess {
  /** Block number → its bytes (shorter than a block only at the end of input), in use order. */
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  /** The blocks of `blocks` whose read has completed, for viewAt. */
  private readonly loaded = new Map<number, Uint8Array>();

  constructor(
    private readonly src: RandomAccess,
    private readonly blockSize: number = READ_CACHE_BLOCK,
    private readonly maxBlocks = 4,
  ) {}

  get label(): string {
    return this.src.label;
  }

  get size(): number | null {
    return this.src.size;
  }

  private block(n: number): Promise<Uint8Array> {
    let b = this.blocks.get(n);
    if (b) {
      // Most recently used last: Map keeps insertion order.
      this.blocks.delete(n);
    } else {
      b = this.src.readAt(n * this.blockSize, this.blockSize);
      // A failed read is not kept: the next reader asks again and sees the error itself.
      const mine = b;
      mine.then(
        (bytes) => {
          if (this.blocks.get(n) === mine) this.loaded.set(n, bytes);
        },
        () => {
          if (this.blocks.get(n) === mine) this.blocks.delete(n);
        },
      );
    }
    this.blocks.set(n, b);
    while (this.blocks.size > this.maxBlocks) {
      const old = this.blocks.keys().next().value!;
      this.blocks.delete(old);
      this.loaded.delete(old);
    }
    return b;
  }

  /**
   * The bytes at [offset, offset+length) without a read and without a copy, when one block already
   * read holds all of them; else null (then readAt). The view is only to be looked at at once:
   * not kept, not changed.
   */
  viewAt(offset: number, length: number): Uint8Array | null {
    const n = Math.floor(offset / this.blockSize);
    const b = this.loaded.get(n);
    const from = offset - n * this.blockSize;
    return b && from + length <= b.length ? b.subarray(from, from + length) : null;
  }

  /** A copy (callers may keep or change what they get); fewer bytes only at the end of input. */
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    // Large reads gain nothing from the blocks and would evict them.
    if (length > this.blockSize) return this.src.readAt(offset, length);
    let end = offset + length;
    if (this.size !== null) end = Math.min(end, this.size);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    let at = offset;
    while (at < end) {
      const n = Math.floor(at / this.blockSize);
      const b = await this.block(n);
      const from = at - n * this.blockSize;
      const take = Math.min(b.length - from, end - at);
      if (take <= 0) return out.subarray(0, at - offset); // end of input inside this block
      out.set(b.subarray(from, from + take), at - offset);
      at += take;
      if (b.length < this.blockSize) break;
    }
    return at === end ? out : out.subarray(0, at - offset);
  }
}
