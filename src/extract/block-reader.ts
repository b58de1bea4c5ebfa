// Reading an xz-compressed archive by blocks through positioned reads: uncompressed bytes on
// demand (BlockReader, for walking headers) and compressed blocks fetched ahead of their decode
// (RawPrefetcher, for writing members).

import { busyClock } from '../core/busy.js';
import { readExactAt, type RandomAccess } from '../core/byte-source.js';
import { newFillBuffer } from '../core/file-access.js';
import type { ProgressListener } from '../core/types.js';
import { blockAt, type XzBlock, type XzFileIndex } from '../formats/xz.js';
import { decodeXzBlock } from './xz-block.js';

/**
 * Uncompressed bytes on demand from an xz file index, decoding (and caching) whole blocks.
 *
 * At most two decoded blocks are held, and the buffer of the one evicted is decoded into next:
 * Debian's blocks are 24 MiB, and the module step's bisection decodes ~26 of them. A fresh buffer
 * per block kept three alive at once (two cached, one decoding) and left the evicted ones to the
 * garbage collector, which V8 runs only after tens of MB of them; glibc serves 24 MiB from the
 * heap once its mmap threshold has risen, so they also fragmented it (the bench's m row: 236 MB
 * peak RSS, 78–113 MB of ArrayBuffers). A block returned by block() is therefore valid only until
 * the next block() or read() call; read() copies out.
 */
export class BlockReader {
  private cache = new Map<number, Uint8Array>();
  /** The buffer of the last evicted block, for the next decode. */
  private spare: Uint8Array | null = null;
  /** One buffer for the compressed blocks block() reads (each is dropped once decoded). */
  private rawSpare: Uint8Array | null = null;
  decoded = new Set<number>();
  compressedBytesRead = 0;
  constructor(
    private readonly ra: RandomAccess,
    private readonly base: number,
    readonly index: XzFileIndex,
    private readonly label: string,
    /** Gets a `busy` decode span per block decoded (the timings' decode busy, core/busy.ts). */
    private readonly onProgress?: ProgressListener,
  ) {}

  /** Whether rawBlock() can read into a buffer given to it (the source has readInto). */
  get readsInto(): boolean {
    return typeof this.ra.readInto === 'function';
  }

  /**
   * Block `b` as stored. With `into` (at least its size), read into it when the source can
   * (RandomAccess.readInto), so one buffer serves many blocks.
   */
  async rawBlock(b: XzBlock, into?: Uint8Array): Promise<Uint8Array> {
    let raw: Uint8Array;
    if (into && into.length >= b.totalSize && this.ra.readInto) {
      raw = into.subarray(0, b.totalSize);
      const got = await this.ra.readInto(this.base + b.offset, raw);
      if (got < b.totalSize) await readExactAt(this.ra, this.base + b.offset, b.totalSize, 'xz', `block ${b.index}`); // throws TruncatedError
    } else raw = await readExactAt(this.ra, this.base + b.offset, b.totalSize, 'xz', `block ${b.index}`);
    this.compressedBytesRead += raw.length;
    return raw;
  }

  async block(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const b = this.index.blocks[i]!;
    // Taken while in use (a second block() at the same time gets its own).
    let rawBuf = this.rawSpare;
    this.rawSpare = null;
    if (this.readsInto && (!rawBuf || rawBuf.length < b.totalSize)) rawBuf = newFillBuffer(b.totalSize);
    const raw = await this.rawBlock(b, rawBuf ?? undefined);
    // Keep only the last two blocks (a header may straddle a block boundary), evicting before the
    // decode so that two, not three, are alive.
    if (this.cache.size >= 2) {
      const k = this.cache.keys().next().value!;
      this.spare = this.cache.get(k)!;
      this.cache.delete(k);
    }
    const spare = this.spare;
    this.spare = null;
    const into = spare && spare.buffer.byteLength >= b.uncompressedSize ? new Uint8Array(spare.buffer, 0, b.uncompressedSize) : newFillBuffer(b.uncompressedSize);
    const t0 = busyClock();
    const data = await decodeXzBlock(b, raw, this.label, into);
    this.onProgress?.({ kind: 'busy', what: 'decode', from: t0, to: busyClock() });
    this.rawSpare = rawBuf; // decoded: liblzma holds no view of it
    this.decoded.add(i);
    this.cache.set(i, data);
    return data;
  }

  /**
   * Hand over the cached decoded blocks among `wanted` and forget the rest (bounded memory). The
   * blocks handed over are the caller's: never decoded into again.
   */
  takeCached(wanted: readonly XzBlock[]): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const b of wanted) {
      const d = this.cache.get(b.index);
      if (d) out.set(b.index, d);
    }
    this.cache.clear();
    this.spare = null;
    return out;
  }

  /**
   * The buffers it keeps for its next decode (a decoded block's, a compressed block's), handed
   * to a caller that has other use for them; forgotten here.
   */
  releaseBuffers(): Uint8Array[] {
    const out = [this.spare, this.rawSpare].filter((x): x is Uint8Array => x !== null);
    this.spare = null;
    this.rawSpare = null;
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
  /**
   * Buffers given back by release(), read into by the next fetches: a fresh buffer per block (1.8-7.4
   * MB in Debian's debs, 26 blocks for its vmlinux) was ~100 MB of garbage per extraction, which V8
   * collects only after tens of MB (the bench's c row: 196 MB peak RSS, 163 MB with a GC forced
   * every 100 ms).
   */
  private readonly free: Uint8Array[] = [];
  /** The slot (of `free`) each block handed out was read into. */
  private readonly slots = new WeakMap<Uint8Array, Uint8Array>();
  private readonly largest: number;
  constructor(
    private readonly reader: BlockReader,
    private readonly order: readonly XzBlock[],
    private readonly ahead: number,
  ) {
    this.largest = order.reduce((m, b) => Math.max(m, b.totalSize), 0);
  }

  private fill(upTo: number): void {
    while (this.next < this.order.length && this.next <= upTo) {
      const b = this.order[this.next++]!;
      let p: Promise<Uint8Array>;
      if (this.reader.readsInto) {
        // Every slot has the largest block's size, so any one fits any block: as many exist as
        // blocks are held at once (lanes + ahead), never more.
        const slot = this.free.pop() ?? newFillBuffer(this.largest);
        p = this.reader.rawBlock(b, slot).then((raw) => {
          this.slots.set(raw, slot);
          return raw;
        });
      } else p = this.reader.rawBlock(b);
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

  /** The caller is done with a block take() gave it (decoded, no view kept): its buffer is reused. */
  release(raw: Uint8Array): void {
    const slot = this.slots.get(raw);
    if (!slot) return;
    this.slots.delete(raw);
    this.free.push(slot);
  }

  /** A buffer the caller no longer needs (no view of it kept): cut into slots for the blocks to come. */
  donate(buf: Uint8Array): void {
    if (!this.reader.readsInto || this.largest === 0) return;
    for (let o = 0; o + this.largest <= buf.length; o += this.largest) this.free.push(buf.subarray(o, o + this.largest));
  }
}
