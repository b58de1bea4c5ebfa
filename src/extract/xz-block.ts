// The one xz block decoder: a raw block (as stored, located by formats/xz.ts) in, its verified
// uncompressed bytes out, piece by piece. Both block paths use it: the partial fetch
// (partial-write.ts: a long-lived decoder per lane, pieces written in place) and the ordered
// parallel decode (parallel-xz.ts, deb.ts: a decoder per block, pieces collected).
//
// Each block is wrapped into a one-block stream (formats/xz.ts wrapBlocks) and decoded by
// node-liblzma, which runs liblzma on libuv's thread pool — so N blocks in flight use N cores
// without worker_threads plumbing. Verification: liblzma checks a CRC32/CRC64 block check and the
// wrapper's index (so the block's size must equal the index's); a SHA-256 check (rpm's) is cut
// off and computed here with node:crypto, several times faster than liblzma's portable SHA-256
// on the pool thread (formats/xz-strip.ts). Failures are IntegrityErrors naming the block.

import { createHash, type Hash } from 'node:crypto';
import { createUnxz } from 'node-liblzma';
import { takeXzOutputBuffers } from '../core/decompress.js';
import { IntegrityError } from '../core/errors.js';
import { XZ_CHECK_SHA256 } from '../formats/xz-strip.js';
import { wrapBlocks, type XzBlock } from '../formats/xz.js';

function check(block: XzBlock, raw: Uint8Array, label: string): void {
  if (raw.length !== block.totalSize) {
    throw new IntegrityError(`${label}: xz block ${block.index}: got ${raw.length} bytes, the index says ${block.totalSize}`, {
      details: { file: label, block: block.index, offset: block.offset },
    });
  }
}

/** A raw block made ready for liblzma as a one-block stream (see prepareXzBlock). */
export interface PreparedXzBlock {
  head: Uint8Array;
  /** The block as liblzma is to see it (a SHA-256 check cut off). */
  data: Uint8Array;
  tail: Uint8Array;
  /** Feed it every decoded byte of the block, in order, when non-null. */
  hash: Hash | null;
  /** Throws IntegrityError when the fed bytes do not match the block's SHA-256 check. */
  verify(): void;
}

/**
 * Wrap one raw block (its `totalSize` bytes as stored) for decoding. A SHA-256 check is verified
 * by the caller through `hash`/`verify` with node:crypto: such a block is wrapped as check None.
 * Other checks (CRC64, CRC32) stay with liblzma.
 */
export function prepareXzBlock(block: XzBlock, raw: Uint8Array, label: string): PreparedXzBlock {
  check(block, raw, label);
  const offload = block.checkId === XZ_CHECK_SHA256;
  const stored = offload ? raw.subarray(raw.length - 32) : null;
  const wrapped: XzBlock = offload ? { ...block, checkId: 0, unpaddedSize: block.unpaddedSize - 32, totalSize: block.totalSize - 32 } : block;
  const { head, tail } = wrapBlocks([wrapped]);
  const hash = offload ? createHash('sha256') : null;
  return {
    head,
    data: offload ? raw.subarray(0, raw.length - 32) : raw,
    tail,
    hash,
    verify: () => {
      if (!hash || !stored) return;
      const digest = hash.digest();
      if (!digest.equals(stored)) {
        throw new IntegrityError(`${label}: xz block ${block.index} at offset ${block.offset}: SHA-256 of the decoded data is ${digest.toString('hex')}, the block says ${Buffer.from(stored).toString('hex')}`, {
          details: { file: label, block: block.index, offset: block.offset },
        });
      }
    },
  };
}

export interface XzBlockDecoderOptions {
  /**
   * Compressed bytes handed to liblzma at a time (default 64 KiB): its output then comes in
   * bounded bursts, paced by the sink. A caller that keeps every piece anyway may pass Infinity.
   */
  feed?: number;
  /**
   * The sink is done with each piece when its promise resolves (it writes it and keeps no view):
   * the decoder's 1 MiB output buffers are then reused instead of left to the garbage collector.
   */
  recycle?: boolean;
}

/** Where a decoded piece goes: `at` is its offset in the block; the next piece waits for it. */
export type XzPieceSink = (piece: Uint8Array, at: number) => Promise<void> | void;

/**
 * One liblzma decoder that decodes block after block (each wrapped as a one-block stream;
 * liblzma decodes concatenated streams), so its dictionary (8 MiB for Debian's `xz -6`) is
 * allocated once per decoder instead of once per block when a caller keeps it for many blocks —
 * with blocks decoded on libuv's pool threads, a fresh dictionary per block spread freed 8 MiB
 * holes over every thread's malloc arena.
 *
 * Each decoded piece (the decoder's output buffers, in order) goes to the sink as it comes out;
 * the compressed bytes go in `feed` at a time and the next piece is read only when the sink is
 * done with the last (back-pressure). A block counts as verified only when the decoder has
 * consumed its stream's end (check, index, footer).
 */
export class XzBlockDecoder {
  // One piece of readable buffer lets the decoder go on while the sink writes the last piece
  // (with the default 16 KiB the lane alternates between decoding and writing). The readable side
  // is in object mode so that each read returns one piece as pushed, a view into the decoder's
  // output buffer: in byte mode a read of several queued pieces returns them joined into a fresh
  // copy (the module step: 50 such copies, 32 MB of garbage), which `recycle` cannot reuse.
  private readonly u = createUnxz({ chunkSize: 1 << 20 }, { readableObjectMode: true, readableHighWaterMark: 2 });
  private readonly out = this.u[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  /** Output already read that belongs to the next block (a piece can straddle two streams). */
  private carry: Uint8Array | null = null;
  private broken = false;
  private readonly feed: number;
  /** Output buffers the sink is done with, for the decoder's next one (recycle; at most two). */
  private readonly spare: Buffer[] = [];
  /** The decoder's output buffers, oldest first, that pieces may still point into (recycle). */
  private readonly live: Buffer[] | null = null;

  constructor(
    private label: string,
    opts: XzBlockDecoderOptions = {},
  ) {
    this.feed = opts.feed ?? 64 * 1024;
    // node-liblzma takes a fresh zero-filled 1 MiB Buffer each time its output buffer is full
    // (XzStream._reallocateBuffer) and hands out views into it. 633 MB of output is 633 such
    // buffers of garbage, and V8 collects ArrayBuffers only when tens of MB of them have piled
    // up: 30-60 MB of dead output between collections on a Debian vmlinux, in the peak RSS. With
    // `recycle` the buffers go back to the decoder. If the binding changes, it is left alone.
    if (opts.recycle) {
      const live: Buffer[] = [(this.u as unknown as { _buffer: Buffer })._buffer];
      const spare = this.spare;
      if (takeXzOutputBuffers(this.u, () => spare.pop(), (b) => live.push(b))) this.live = live;
    }
  }

  /**
   * A piece was read. If it is a view into decoder buffer k (not a copy the stream made by joining
   * queued pieces), every piece of the buffers before k was read before it and has been sunk
   * (one piece at a time, in order): those buffers are free, as the decoder has moved past them.
   */
  private seen(piece: Uint8Array): void {
    const live = this.live;
    if (!live) return;
    const k = live.findIndex((b) => b.buffer === piece.buffer);
    if (k <= 0) return;
    for (const b of live.splice(0, k)) if (this.spare.length < 2) this.spare.push(b);
  }

  /** Write `chunk`; resolves when the decoder has consumed it (its transform callback). */
  private put(chunk: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.u.write(chunk, (e?: Error | null) => (e ? reject(e) : resolve())));
  }

  /** Decode `raw` (block `block` as stored) into `sink`; throws IntegrityError naming the block. */
  async decode(block: XzBlock, raw: Uint8Array, sink: XzPieceSink, signal?: AbortSignal): Promise<void> {
    const label = this.label;
    const where = { details: { file: label, block: block.index, offset: block.offset } };
    const { head, data, tail, hash, verify } = prepareXzBlock(block, raw, label);
    // The input goes in while the output is read; each piece waits until the decoder took the last.
    const feed = this.feed;
    const fed = (async (): Promise<void> => {
      await this.put(head);
      for (let o = 0; o < data.length; o += feed) await this.put(data.subarray(o, Math.min(o + feed, data.length)));
      await this.put(tail);
    })();
    fed.catch(() => undefined); // seen below
    let at = 0;
    try {
      while (at < block.uncompressedSize) {
        signal?.throwIfAborted();
        let piece = this.carry;
        this.carry = null;
        if (!piece) {
          const r = await this.out.next();
          if (r.done) throw new IntegrityError(`${label}: xz block ${block.index} decoded to ${at} bytes, the index says ${block.uncompressedSize}`, where);
          piece = r.value;
          this.seen(piece);
        }
        if (piece.length > block.uncompressedSize - at) {
          this.carry = piece.subarray(block.uncompressedSize - at);
          piece = piece.subarray(0, block.uncompressedSize - at);
        }
        hash?.update(piece);
        await sink(piece, at);
        at += piece.length;
      }
      // The stream's end (check, index, footer) consumed without error: the block is verified. A
      // block that decodes to more than its index says fails here (liblzma: the index disagrees).
      await fed;
      if (this.carry) throw new IntegrityError(`${label}: xz block ${block.index} decodes to more than the ${block.uncompressedSize} bytes its index says`, where);
    } catch (e) {
      this.broken = true;
      if (e instanceof IntegrityError || signal?.aborted) throw e;
      throw new IntegrityError(`${label}: xz block ${block.index} at offset ${block.offset} does not decode (${(e as Error).message}); its check failed or the data is corrupt`, { cause: e, ...where });
    }
    try {
      verify();
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  /** Whether a block failed in it (then it is only closed, never given another block). */
  get failed(): boolean {
    return this.broken;
  }

  /** Name the file of the blocks it decodes next (a pooled decoder moves between files). */
  relabel(label: string): void {
    this.label = label;
  }

  /** End the decoder (frees liblzma's state); after a failure just drop it. */
  async close(): Promise<void> {
    if (this.broken) {
      this.u.destroy();
      return;
    }
    this.u.end();
    try {
      while (!(await this.out.next()).done);
    } catch {
      // every block it decoded was verified already; nothing depends on its end
    }
  }
}

/**
 * Decode one raw block into exactly `uncompressedSize` bytes, returned as the decoder's 1 MiB
 * output pieces (no concatenated copy). A decoder of its own, closed when the block is done.
 */
export async function decodeXzBlockChunks(block: XzBlock, raw: Uint8Array, label: string): Promise<Uint8Array[]> {
  const decoder = new XzBlockDecoder(label, { feed: Infinity });
  const chunks: Uint8Array[] = [];
  try {
    await decoder.decode(block, raw, (piece) => {
      chunks.push(piece);
    });
  } finally {
    await decoder.close();
  }
  return chunks;
}

/**
 * Decoders between decodeXzBlock calls. BlockReader decodes block after block (a module step on
 * the Debian row: 26 blocks); a fresh decoder per block allocated a fresh 8 MiB dictionary each
 * time on whichever pool thread ran it, and glibc kept the freed ones (peak RSS 270 MB against
 * 206 MB with MALLOC_MMAP_THRESHOLD_=1048576). At most two wait, closed after IDLE_MS unused, so a
 * long-running kdbg serve holds none between requests.
 */
const idleDecoders: XzBlockDecoder[] = [];
const IDLE_MS = 2000;
let idleTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * A decoder from the pool (or a new one), for block after block; give it back with
 * returnXzBlockDecoder. The partial path's lanes take them: the decoder that decoded the blocks
 * read to locate a member then decodes the member's blocks instead of waiting idle beside three
 * new ones, each with its own 8 MiB dictionary on a pool thread's malloc arena.
 */
export function borrowXzBlockDecoder(label: string): XzBlockDecoder {
  const d = idleDecoders.pop();
  if (!d) return new XzBlockDecoder(label, { recycle: true });
  d.relabel(label);
  return d;
}

/** Back to the pool (closed if a block failed in it; at most two wait, closed after 2 s idle). */
export function returnXzBlockDecoder(d: XzBlockDecoder): void {
  if (d.failed) {
    void d.close();
    return;
  }
  idleDecoders.push(d);
  while (idleDecoders.length > 2) void idleDecoders.shift()!.close();
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = null;
    for (const x of idleDecoders.splice(0)) void x.close();
  }, IDLE_MS);
  idleTimer.unref();
}

/**
 * One block as one contiguous buffer (for reading headers across a block), decoded straight into
 * a buffer of the index's size with the decoder's pieces recycled: collecting the pieces and then
 * concatenating them held each 24 MiB block twice and left the pieces to the garbage collector
 * (the module step on the Debian row: 153 MB of ArrayBuffers at its peak, 82 MB after).
 */
export async function decodeXzBlock(block: XzBlock, raw: Uint8Array, label: string, into?: Uint8Array): Promise<Uint8Array> {
  // `into` (exactly the block's size): a buffer the caller reuses, so a 24 MiB block is not a
  // fresh 24 MiB allocation each time (BlockReader).
  if (into && into.length !== block.uncompressedSize) throw new RangeError(`decodeXzBlock: buffer of ${into.length} bytes for a block of ${block.uncompressedSize}`);
  const out = into ?? new Uint8Array(block.uncompressedSize);
  const decoder = borrowXzBlockDecoder(label);
  try {
    // decode() stops at the index's size and fails on any other: `at` stays inside `out`.
    await decoder.decode(block, raw, (piece, at) => {
      out.set(piece, at);
    });
  } finally {
    returnXzBlockDecoder(decoder);
  }
  return out;
}
