// Streaming decompression of package payloads: xz (node-liblzma), zstd (fzstd), gzip (node:zlib),
// bzip2 (unbzip2-stream), legacy .lzma "alone" (lzma-native), or none. One async-iterable in, one
// out, with backpressure; returning early from the output (or an error) tears the decoder and the
// input down. Decoder failures become InputFormatError / TruncatedError naming the file; errors
// thrown by the input itself (a network error, a truncated download) pass through unchanged.

import { PassThrough, Readable, type Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createHash, type Hash } from 'node:crypto';
import { InputFormatError, isKdbgError, TruncatedError } from '../core/errors.js';
import { XZ_CHECK_SHA256, XzCheckStripper } from '../formats/xz-strip.js';

export type Compressor = 'xz' | 'zstd' | 'gzip' | 'bzip2' | 'lzma' | 'none';

export const COMPRESSORS: readonly Compressor[] = ['xz', 'zstd', 'gzip', 'bzip2', 'lzma', 'none'];

const starts = (head: Uint8Array, magic: number[]): boolean => head.length >= magic.length && magic.every((b, i) => head[i] === b);

/**
 * The compressor whose magic bytes start `head` (give it at least 6 bytes), or null. Uncompressed
 * cpio ("07070") counts as 'none'. Legacy lzma has no real magic: a properties byte of 0x5d with
 * a little-endian power-of-two dictionary size is what every rpm/xz-utils writer produces.
 */
export function detectCompressor(head: Uint8Array): Compressor | null {
  if (starts(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (starts(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (starts(head, [0x1f, 0x8b])) return 'gzip';
  if (starts(head, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (starts(head, [0x30, 0x37, 0x30, 0x37, 0x30])) return 'none';
  if (head.length >= 5 && head[0] === 0x5d) {
    const dict = (head[1]! | (head[2]! << 8) | (head[3]! << 16) | (head[4]! << 24)) >>> 0;
    if (dict >= 4096 && (dict & (dict - 1)) === 0) return 'lzma';
  }
  return null;
}

/** Map an RPM PAYLOADCOMPRESSOR value (or a deb member suffix) to a Compressor; null if unknown. */
export function compressorFromName(name: string | null): Compressor | null {
  switch ((name ?? '').toLowerCase()) {
    case 'xz':
    case '.xz':
      return 'xz';
    case 'zstd':
    case '.zst':
      return 'zstd';
    case 'gzip':
    case '.gz':
      return 'gzip';
    case 'bzip2':
    case '.bz2':
      return 'bzip2';
    case 'lzma':
    case '.lzma':
      return 'lzma';
    case '':
    case 'none':
    case 'identity':
      return 'none';
    default:
      return null;
  }
}

const HEAD_BYTES = 13;

/**
 * Decompress `chunks` as `kind`. The first bytes are checked against the compressor's magic so a
 * mislabelled payload fails with a clear message instead of a decoder's cryptic one.
 */
export interface DecompressOptions {
  /**
   * Drive the xz decoder from its own worker thread (xz-thread.ts): worth its ~12 MB and ~30 ms
   * start-up for a long single-stream decode (el7's 2 GB payload), not for a small package.
   */
  offThread?: boolean;
}

export async function* decompressStream(kind: Compressor, chunks: AsyncIterable<Uint8Array>, label: string, opts: DecompressOptions = {}): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  // Gather the head for the magic check without losing any byte.
  const headChunks: Uint8Array[] = [];
  let headLen = 0;
  let inputDone = false;
  try {
    while (headLen < HEAD_BYTES) {
      const r = await it.next();
      if (r.done) {
        inputDone = true;
        break;
      }
      if (r.value.length === 0) continue;
      headChunks.push(r.value);
      headLen += r.value.length;
    }
  } catch (e) {
    await it.return?.();
    throw e;
  }
  const head = Buffer.concat(headChunks).subarray(0, HEAD_BYTES);
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (i < headChunks.length) return { done: false, value: headChunks[i++]! };
          if (inputDone) return { done: true, value: undefined };
          return it.next();
        },
        return: async (): Promise<IteratorResult<Uint8Array>> => {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
  const found = detectCompressor(head);
  if (kind !== 'lzma' ? found !== kind : found !== null && found !== 'lzma') {
    await it.return?.();
    if (headLen === 0) throw truncated(kind, label, 'the payload is empty');
    throw new InputFormatError(`${label}: payload is labelled ${kind} but starts with ${head.toString('hex')}${found ? ` (looks like ${found})` : ''}`, {
      file: label,
      format: kind,
      offset: 0,
      expected: `${kind} magic`,
      found: head.toString('hex'),
    });
  }
  switch (kind) {
    case 'none':
      yield* rest;
      return;
    case 'zstd':
      yield* zstdStream(rest, label);
      return;
    case 'xz': {
      // node-liblzma ends quietly when the input stops inside the stream, so look at the tail
      // ourselves: a complete .xz ends with the footer magic "YZ" (then only 4-byte zero padding).
      const tail = new TailKeeper(64);
      const decode = async function* (input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
        if (opts.offThread) {
          yield* xzOnWorker(input, label);
        } else {
          const { createUnxz } = await import('node-liblzma');
          yield* viaNodeStream(kind, createUnxz({ chunkSize: 1 << 20 }, { readableHighWaterMark: 1 << 20 }) as unknown as Duplex, input, label, false);
        }
      };
      if ((head[7]! & 0x0f) === XZ_CHECK_SHA256) {
        // SHA-256 block checks (RPM payloads): liblzma's own SHA-256 is slow and runs on the
        // decoder's thread; hash on ours with node:crypto instead (formats/xz-strip.ts).
        const stripper = new XzCheckStripper(label);
        yield* verifyStrippedChecks(decode(tail.wrap(stripChecks(stripper, rest))), stripper, label);
      } else {
        yield* decode(tail.wrap(rest));
      }
      if (!tail.endsWithXzFooter()) throw truncated(kind, label, 'the input ended before the xz stream footer');
      return;
    }
    case 'gzip':
      yield* viaNodeStream(kind, createGunzip({ chunkSize: 256 * 1024 }), rest, label, false);
      return;
    case 'lzma': {
      // lzma-native ships no type declarations; load it through require and type what we use.
      const { createRequire } = await import('node:module');
      const lib = createRequire(import.meta.url)('lzma-native') as LzmaNative;
      yield* viaNodeStream(kind, lib.createStream('aloneDecoder', { synchronous: false }), rest, label, false);
      return;
    }
    case 'bzip2': {
      const bz2 = (await import('unbzip2-stream')).default;
      yield* viaNodeStream(kind, bz2() as unknown as Duplex, rest, label, true);
      return;
    }
  }
}

/** The decoder on its own thread (xz-thread.ts), its errors named like the others'. */
async function* xzOnWorker(input: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  const { decodeXzOnWorker } = await import('./xz-thread.js');
  try {
    yield* decodeXzOnWorker(input);
  } catch (e) {
    throw decoderError('xz', label, e);
  }
}

/** The input rewritten by `stripper` (check type None); its end is checked for truncation. */
async function* stripChecks(stripper: XzCheckStripper, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) yield* stripper.push(chunk);
  stripper.end();
}

/**
 * Pass `decoded` through, hashing each block whose check the stripper removed and comparing the
 * digest with that check as soon as both are known. The decoder can only emit a block's bytes
 * after the stripper walked its header, so the current block is always in `stripper.blocks`.
 */
async function* verifyStrippedChecks(decoded: AsyncIterable<Uint8Array>, stripper: XzCheckStripper, label: string): AsyncGenerator<Uint8Array> {
  let current = 0;
  let inBlock = 0;
  let hash: Hash | null = null;
  const digests: { block: number; digest: Buffer }[] = [];
  const compare = (): void => {
    while (digests.length > 0) {
      const { block, digest } = digests[0]!;
      const want = stripper.blocks[block]!.check;
      if (want === null) return; // its check is still on the way
      if (!digest.equals(want)) {
        // The same class liblzma's own check failure gets (decoderError): a corrupt payload.
        const offset = stripper.blocks[block]!.offset;
        throw new InputFormatError(`${label}: corrupt xz payload: block ${block} at offset ${offset}: SHA-256 of the decoded data is ${digest.toString('hex')}, the stream says ${Buffer.from(want).toString('hex')}`, {
          file: label,
          format: 'xz',
          offset,
          expected: Buffer.from(want).toString('hex'),
          found: digest.toString('hex'),
        });
      }
      digests.shift();
    }
  };
  // Close every block the decoded bytes have completely covered (including empty ones).
  const closeFinished = (): void => {
    for (;;) {
      const b = stripper.blocks[current];
      if (!b || b.uncompressedSize === null || inBlock < b.uncompressedSize) return;
      if (b.stripped) digests.push({ block: current, digest: (hash ?? createHash('sha256')).digest() });
      hash = null;
      inBlock = 0;
      current++;
    }
  };
  for await (const chunk of decoded) {
    let at = 0;
    while (at < chunk.length) {
      closeFinished();
      const b = stripper.blocks[current];
      if (!b) throw new InputFormatError(`${label}: corrupt xz payload: the decoder produced more data than the stream's blocks hold`, { file: label, format: 'xz' });
      const take = b.uncompressedSize === null ? chunk.length - at : Math.min(chunk.length - at, b.uncompressedSize - inBlock);
      if (b.stripped) (hash ??= createHash('sha256')).update(chunk.subarray(at, at + take));
      inBlock += take;
      at += take;
    }
    closeFinished();
    compare();
    yield chunk;
  }
  closeFinished();
  compare();
  if (digests.length > 0 || current !== stripper.blocks.length) {
    throw new InputFormatError(`${label}: corrupt xz payload: ${stripper.blocks.length - current} block(s) not fully decoded or checked`, { file: label, format: 'xz' });
  }
}

/** Remembers the last bytes that went through an iterable. */
class TailKeeper {
  private buf = new Uint8Array(0);
  constructor(private readonly keep: number) {}
  wrap(input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const self = this;
    return {
      [Symbol.asyncIterator]: () => {
        const it = input[Symbol.asyncIterator]();
        return {
          next: async (): Promise<IteratorResult<Uint8Array>> => {
            const r = await it.next();
            if (!r.done) self.push(r.value);
            return r;
          },
          return: async (): Promise<IteratorResult<Uint8Array>> => {
            await it.return?.();
            return { done: true, value: undefined };
          },
        };
      },
    };
  }
  private push(c: Uint8Array): void {
    if (c.length >= this.keep) this.buf = c.slice(c.length - this.keep);
    else {
      const n = new Uint8Array(Math.min(this.keep, this.buf.length + c.length));
      const fromOld = n.length - c.length;
      n.set(this.buf.subarray(this.buf.length - fromOld), 0);
      n.set(c, fromOld);
      this.buf = n;
    }
  }
  endsWithXzFooter(): boolean {
    let end = this.buf.length;
    while (end >= 4 && this.buf[end - 1] === 0 && this.buf[end - 2] === 0 && this.buf[end - 3] === 0 && this.buf[end - 4] === 0) end -= 4;
    return end >= 2 && this.buf[end - 2] === 0x59 && this.buf[end - 1] === 0x5a;
  }
}

interface LzmaNative {
  createStream(kind: 'aloneDecoder', opts?: { synchronous?: boolean }): Duplex;
}

function truncated(kind: Compressor, label: string, why: string): TruncatedError {
  return new TruncatedError(`${label}: truncated ${kind} payload: ${why}`, { file: label, format: kind });
}

/** Turn a decoder's error into a KdbgError naming the file; pass KdbgErrors through. */
function decoderError(kind: Compressor, label: string, e: unknown, inputEnded = false): Error {
  if (isKdbgError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  // unbzip2-stream reads past its buffer (a TypeError) when the input stops inside a block.
  if ((inputEnded && e instanceof TypeError) || /unexpected end|end of (file|input)|truncat|premature|LZMA_BUF_ERROR|buf(fer)? error|unexpected EOF/i.test(msg)) {
    return new TruncatedError(`${label}: truncated ${kind} payload: ${msg}`, { file: label, format: kind }, { cause: e });
  }
  return new InputFormatError(`${label}: corrupt ${kind} payload: ${msg}`, { file: label, format: kind }, { cause: e });
}

/**
 * Pump `input` through a Node decoder stream and yield its output with backpressure. `classic`
 * marks old-style (through) streams, which are bridged through a PassThrough to get streams2
 * buffering and async iteration.
 */
async function* viaNodeStream(kind: Compressor, dec: Duplex, input: AsyncIterable<Uint8Array>, label: string, classic: boolean): AsyncGenerator<Uint8Array> {
  // A small read-ahead: an early stop should not have pulled much more input than it needed.
  const src = Readable.from(input, { objectMode: false, highWaterMark: 128 * 1024 });
  const out: Duplex = classic ? new PassThrough({ highWaterMark: 1 << 20 }) : dec;
  let failure: Error | null = null;
  let inputEnded = false;
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = decoderError(kind, label, e, inputEnded);
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
  let finished = false;
  try {
    for await (const chunk of out) {
      yield chunk as Uint8Array;
    }
    finished = true;
  } catch (e) {
    throw failure ?? decoderError(kind, label, e);
  } finally {
    // Early stop or failure: stop reading input and free the decoder.
    src.unpipe(dec);
    src.destroy();
    if (classic) dec.unpipe?.(out);
    (dec as { destroy?: () => void }).destroy?.();
    if (classic) out.destroy();
  }
  if (failure) throw failure;
  if (!finished) throw truncated(kind, label, 'the decoder stopped early');
}

/** fzstd's streaming decoder, pushed chunk by chunk. fzstd errors carry `code` 5 for early EOF. */
async function* zstdStream(input: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
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
      try {
        if (r.done) d.push(new Uint8Array(0), true);
        else d.push(r.value);
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 5) throw new TruncatedError(`${label}: truncated zstd payload: ${(e as Error).message}`, { file: label, format: 'zstd' }, { cause: e });
        throw decoderError('zstd', label, e);
      }
      while (queue.length > 0) yield queue.shift()!;
      if (r.done) break;
    }
    done = true;
  } finally {
    if (!done) await it.return?.();
  }
}
