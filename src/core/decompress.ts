// The decompressor registry: every compressed stream kdbg reads (package payloads in extract/,
// repository indexes in resolve/, whole-file compressed dumps in identify/) is recognised here by
// its magic bytes and decoded here, one codec per format:
//   xz     node-liblzma (liblzma 5.8, its bundled prebuild; bench/results.md "xz binding")
//   lzma   legacy .lzma "alone" (old rpm payloads): node-liblzma's WebAssembly liblzma (lzma-alone.ts)
//   zstd   fzstd (pure JS; node:zlib has zstd only from Node 22.15/23.8)
//   gzip   node:zlib
//   bzip2  unbzip2-stream
// One async iterable in, one out, with back-pressure; returning early from the output (or an
// error) tears the decoder and the input down. What a decoder's failure means is the caller's to
// say (a corrupt payload, an index that cannot be read…): `mapError` turns each failure into the
// caller's error; KdbgErrors thrown by the input itself pass through unchanged.

import { PassThrough, Readable, type Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BufferReturn } from './buffer-return.js';
import { busyClock, type BusySpans } from './busy.js';

export type Compression = 'xz' | 'zstd' | 'gzip' | 'bzip2' | 'lzma';

export const COMPRESSIONS: readonly Compression[] = ['xz', 'zstd', 'gzip', 'bzip2', 'lzma'];

/** Bytes of the head that `detectCompression` needs at most. */
export const MAGIC_BYTES = 6;

const starts = (head: Uint8Array, magic: readonly number[]): boolean => head.length >= magic.length && magic.every((b, i) => head[i] === b);

/**
 * Each format's signature. Legacy lzma has no real magic: a properties byte of 0x5d with a
 * little-endian power-of-two dictionary size is what every rpm/xz-utils writer produces. bzip2's
 * "BZh" is followed by the block size digit '1'–'9'.
 */
const MAGIC: Record<Compression, (head: Uint8Array) => boolean> = {
  xz: (h) => starts(h, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  zstd: (h) => starts(h, [0x28, 0xb5, 0x2f, 0xfd]),
  gzip: (h) => starts(h, [0x1f, 0x8b]),
  bzip2: (h) => starts(h, [0x42, 0x5a, 0x68]) && h.length > 3 && h[3]! >= 0x31 && h[3]! <= 0x39,
  lzma: (h) => {
    if (h.length < 5 || h[0] !== 0x5d) return false;
    const dict = (h[1]! | (h[2]! << 8) | (h[3]! << 16) | (h[4]! << 24)) >>> 0;
    return dict >= 4096 && (dict & (dict - 1)) === 0;
  },
};

/**
 * The compression whose magic starts `head` (give it at least MAGIC_BYTES), among `among` (a
 * caller that never expects legacy lzma leaves it out: its "magic" is only a plausible header).
 */
export function detectCompression(head: Uint8Array, among: readonly Compression[] = COMPRESSIONS): Compression | null {
  for (const kind of COMPRESSIONS) if (among.includes(kind) && MAGIC[kind](head)) return kind;
  return null;
}

export interface DecodeOptions {
  /**
   * The caller's error for a decoder failure; `inputEnded` tells whether the whole input had been
   * read when it failed (a decoder that reads past its buffer then means truncated input).
   */
  mapError: (e: unknown, inputEnded: boolean) => Error;
  /**
   * Size of the decoder's output pieces (default: 1 MiB for xz, 256 KiB for gzip, payload-sized).
   * A caller that may stop early after a few KB (an index search) asks for small ones.
   */
  chunkSize?: number;
  /** Input bytes a Node decoder stream may pull ahead of its output (default 128 KiB). */
  readAhead?: number;
  /** xz: the consumer hands yielded chunks back through this, and the decoder writes into their buffers again. */
  returns?: BufferReturn;
  /**
   * Gets the spans during which the decoder worked on an input chunk (xz, gzip, zstd; the timings'
   * decode busy, core/busy.ts); flushed when the stream ends.
   */
  busy?: BusySpans;
}

/**
 * Time each input chunk a Transform decoder works on, from the start of its _transform to its
 * callback (node-liblzma and node:zlib decode the chunk on the thread pool in between): the
 * documented hook of a Transform, wrapped on this one instance.
 */
function clockTransform(dec: object, busy: BusySpans | undefined): void {
  if (busy === undefined || busy.off) return;
  const t = dec as { _transform?: (chunk: unknown, enc: BufferEncoding, cb: (...a: unknown[]) => void) => void };
  const inner = t._transform;
  if (typeof inner !== 'function') return;
  t._transform = function (this: unknown, chunk, enc, cb) {
    const t0 = busyClock();
    inner.call(this, chunk, enc, (...a: unknown[]) => {
      busy.span(t0, busyClock());
      cb(...a);
    });
  };
}

/** Decode `input` as `kind`. The caller has checked the magic (detectCompression). */
export async function* decodeStream(kind: Compression, input: AsyncIterable<Uint8Array>, opts: DecodeOptions): AsyncGenerator<Uint8Array> {
  try {
    yield* decodeAs(kind, input, opts);
  } finally {
    opts.busy?.flush();
  }
}

async function* decodeAs(kind: Compression, input: AsyncIterable<Uint8Array>, opts: DecodeOptions): AsyncGenerator<Uint8Array> {
  switch (kind) {
    case 'zstd':
      yield* zstdStream(input, opts);
      return;
    case 'xz': {
      const { createUnxz } = await import('node-liblzma');
      const size = opts.chunkSize ?? 1 << 20;
      const unxz = createUnxz({ chunkSize: size }, { readableHighWaterMark: size });
      clockTransform(unxz, opts.busy);
      const returns = opts.returns;
      if (returns === undefined) {
        yield* viaNodeStream(unxz as unknown as Duplex, input, opts, false);
        return;
      }
      reuseOutputBuffers(unxz, returns, size);
      try {
        yield* wholeOutputBuffers(unxz as unknown as Duplex, input, opts, returns);
      } finally {
        returns.attach(null);
      }
      return;
    }
    case 'gzip': {
      const gunzip = createGunzip({ chunkSize: opts.chunkSize ?? 256 * 1024 });
      clockTransform(gunzip, opts.busy);
      yield* viaNodeStream(gunzip, input, opts, false);
      return;
    }
    case 'lzma': {
      const { decodeLzmaAlone } = await import('./lzma-alone.js');
      yield* decodeLzmaAlone(input, opts);
      return;
    }
    case 'bzip2': {
      const bz2 = (await import('unbzip2-stream')).default;
      yield* viaNodeStream(bz2() as unknown as Duplex, input, opts, true);
      return;
    }
  }
}

/**
 * node-liblzma (4.x) takes a fresh output buffer in XzStream._reallocateBuffer each time the last
 * one is full: make it take `next()` instead when that gives one (a buffer its consumer is done
 * with), else a new one of its chunk size; `made` sees each buffer it then writes into. False,
 * and nothing changed, when the binding has no such method (a later version): then nothing is
 * reused. The decoder thread's program (extract/xz-thread.ts) does the same in its own body,
 * which cannot import.
 */
export function takeXzOutputBuffers(unxz: object, next: () => Buffer | undefined, made?: (b: Buffer) => void): boolean {
  const u = unxz as { _reallocateBuffer?: () => void; _offset: number; _buffer: Buffer; _chunkSize: number };
  if (typeof u._reallocateBuffer !== 'function' || typeof u._chunkSize !== 'number' || !Buffer.isBuffer(u._buffer)) return false;
  u._reallocateBuffer = function (this: typeof u): void {
    this._offset = 0;
    this._buffer = next() ?? Buffer.allocUnsafe(this._chunkSize);
    made?.(this._buffer);
  };
  return true;
}

/** The buffers `returns` hands back go to the decoder again (core/buffer-return.ts). */
function reuseOutputBuffers(unxz: object, returns: BufferReturn, size: number): void {
  const spare: ArrayBuffer[] = [];
  returns.attach((b) => {
    if (b.byteLength === size) spare.push(b);
  });
  takeXzOutputBuffers(unxz, () => {
    const b = spare.pop();
    if (b === undefined) return undefined;
    returns.reused++;
    return Buffer.from(b);
  });
}

/**
 * viaNodeStream for an xz decoder whose buffers come back (BufferReturn): node-liblzma writes each
 * output buffer piece by piece, and the pieces of one buffer go out as one view of it once it is
 * full (or the stream ends), never merged into a copy as the Readable iterator does with what it
 * has buffered. At most `size` bytes wait unread before the decoder is paused.
 */
async function* wholeOutputBuffers(dec: Duplex, input: AsyncIterable<Uint8Array>, opts: DecodeOptions, returns: BufferReturn): AsyncGenerator<Uint8Array> {
  const highWater = opts.chunkSize ?? 1 << 20;
  const src = Readable.from(input, { objectMode: false, highWaterMark: opts.readAhead ?? 128 * 1024 });
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | null = null;
  let inputEnded = false;
  let wake: (() => void) | null = null;
  const wakeUp = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  let current: ArrayBuffer | null = null;
  let start = 0;
  let end = 0;
  const handOver = (): void => {
    if (current !== null && end > start) {
      queue.push(new Uint8Array(current, start, end - start));
      queued += end - start;
    }
    current = null;
  };
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = opts.mapError(e, inputEnded);
    wakeUp();
  };
  src.on('end', () => {
    inputEnded = true;
  });
  src.on('error', fail);
  dec.on('error', fail);
  dec.on('data', (c: Buffer) => {
    if (c.buffer !== current) {
      handOver();
      current = c.buffer as ArrayBuffer;
      start = c.byteOffset;
    }
    end = c.byteOffset + c.length;
    if (end === current.byteLength) handOver();
    if (queued >= highWater) dec.pause();
    wakeUp();
  });
  dec.on('end', () => {
    handOver();
    ended = true;
    wakeUp();
  });
  src.pipe(dec);
  try {
    for (;;) {
      if (failure) throw failure;
      const c = queue.shift();
      if (c !== undefined) {
        queued -= c.length;
        if (queued < highWater && dec.isPaused()) dec.resume();
        returns.lend(c);
        yield c;
        continue;
      }
      if (ended) break;
      await new Promise<void>((r) => (wake = r));
    }
    returns.finish();
  } finally {
    src.unpipe(dec);
    src.destroy();
    (dec as { destroy?: () => void }).destroy?.();
  }
}

/**
 * Pump `input` through a Node decoder stream and yield its output with back-pressure. `classic`
 * marks old-style (through) streams, which are bridged through a PassThrough to get streams2
 * buffering and async iteration.
 */
async function* viaNodeStream(dec: Duplex, input: AsyncIterable<Uint8Array>, opts: DecodeOptions, classic: boolean): AsyncGenerator<Uint8Array> {
  // A small read-ahead: an early stop should not have pulled much more input than it needed.
  const src = Readable.from(input, { objectMode: false, highWaterMark: opts.readAhead ?? 128 * 1024 });
  const out: Duplex = classic ? new PassThrough({ highWaterMark: 1 << 20 }) : dec;
  let failure: Error | null = null;
  let inputEnded = false;
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = opts.mapError(e, inputEnded);
    out.destroy(failure);
  };
  src.on('end', () => {
    inputEnded = true;
  });
  src.on('error', fail);
  dec.on('error', fail);
  if (classic) {
    out.on('error', () => undefined);
    dec.pipe(out);
  }
  src.pipe(dec);
  try {
    for await (const chunk of out) yield chunk as Uint8Array;
  } catch (e) {
    throw failure ?? opts.mapError(e, false);
  } finally {
    // Early stop or failure: stop reading input and free the decoder.
    src.unpipe(dec);
    src.destroy();
    if (classic) dec.unpipe?.(out);
    (dec as { destroy?: () => void }).destroy?.();
    if (classic) out.destroy();
  }
  if (failure) throw failure;
}

/** fzstd's streaming decoder, pushed chunk by chunk (its errors carry `code` 5 for early EOF). */
async function* zstdStream(input: AsyncIterable<Uint8Array>, opts: DecodeOptions): AsyncGenerator<Uint8Array> {
  const { Decompress } = await import('fzstd');
  const queue: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    if (chunk.length > 0) queue.push(chunk);
  });
  const it = input[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const r = await it.next();
      const t0 = opts.busy ? busyClock() : 0;
      try {
        if (r.done) d.push(new Uint8Array(0), true);
        else d.push(r.value);
      } catch (e) {
        throw opts.mapError(e, false);
      } finally {
        opts.busy?.span(t0, busyClock());
      }
      while (queue.length > 0) yield queue.shift()!;
      if (r.done) break;
    }
    done = true;
  } finally {
    if (!done) await it.return?.();
  }
}
