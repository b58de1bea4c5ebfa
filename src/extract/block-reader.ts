// Reading an xz-compressed archive by blocks through positioned reads: uncompressed bytes on
// demand (BlockReader, for walking headers) and compressed blocks fetched ahead of their decode
// (RawPrefetcher, for writing members).

import { readExactAt, type RandomAccess } from '../core/byte-source.js';
import { blockAt, type XzBlock, type XzFileIndex } from '../formats/xz.js';
import { decodeXzBlock } from './xz-block.js';

/** Uncompressed bytes on demand from an xz file index, decoding (and caching) whole blocks. */
export class BlockReader {
  private cache = new Map<number, Uint8Array>();
  decoded = new Set<number>();
  compressedBytesRead = 0;
  constructor(
    private readonly ra: RandomAccess,
    private readonly base: number,
    readonly index: XzFileIndex,
    private readonly label: string,
  ) {}

  async rawBlock(b: XzBlock): Promise<Uint8Array> {
    const raw = await readExactAt(this.ra, this.base + b.offset, b.totalSize, 'xz', `block ${b.index}`);
    this.compressedBytesRead += raw.length;
    return raw;
  }

  async block(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const b = this.index.blocks[i]!;
    const data = await decodeXzBlock(b, await this.rawBlock(b), this.label);
    this.decoded.add(i);
    // Keep only the last two blocks: a header may straddle a block boundary.
    if (this.cache.size >= 2) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(i, data);
    return data;
  }

  /** Hand over the cached decoded blocks among `wanted` and forget the rest (bounded memory). */
  takeCached(wanted: readonly XzBlock[]): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const b of wanted) {
      const d = this.cache.get(b.index);
      if (d) out.set(b.index, d);
    }
    this.cache.clear();
    return out;
  }

  /** Exactly `length` uncompressed bytes at `pos`, or fewer at the end of the data. */
  async read(pos: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const i = blockAt(this.index.blocks, pos + got);
      if (i < 0) break;
      const b = this.index.blocks[i]!;
      const data = await this.block(i);
      const from = pos + got - b.uncompressedOffset;
      const k = Math.min(length - got, data.length - from);
      out.set(data.subarray(from, from + k), got);
      got += k;
    }
    return got === length ? out : out.subarray(0, got);
  }
}

/**
 * Compressed blocks fetched ahead of their decode: when the decoder asks for block k, the fetches
 * of the next `ahead` blocks are already running (each its own Range request), so a freed decoder
 * slot starts at once instead of waiting a round trip plus a few MB of transfer. The raw bytes are
 * dropped as soon as the decoder has them.
 */
export class RawPrefetcher {
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  private next = 0;
  constructor(
    private readonly reader: BlockReader,
    private readonly order: readonly XzBlock[],
    private readonly ahead: number,
  ) {}

  private fill(upTo: number): void {
    while (this.next < this.order.length && this.next <= upTo) {
      const b = this.order[this.next++]!;
      const p = this.reader.rawBlock(b);
      p.catch(() => undefined); // observed by take(); an early exit must not leave it unhandled
      this.pending.set(b.index, p);
    }
  }

  take(b: XzBlock): Promise<Uint8Array> {
    const i = this.order.indexOf(b);
    if (i < 0) return this.reader.rawBlock(b);
    this.fill(i + this.ahead);
    const p = this.pending.get(b.index)!;
    this.pending.delete(b.index);
    return p;
  }
}
