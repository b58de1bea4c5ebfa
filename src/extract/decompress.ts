// Streaming decompression of package payloads, through the decompressor registry
// (core/decompress.ts: xz, zstd, gzip, bzip2, legacy .lzma) or none. What extract adds: the payload
// must carry the magic its label names, an xz payload must end with its stream footer (liblzma
// ends quietly otherwise), rpm's SHA-256 block checks are computed here with node:crypto, and a
// long xz decode may run on its own thread (xz-thread.ts). Decoder failures become
// InputFormatError / TruncatedError naming the file; errors thrown by the input itself (a network
// error, a truncated download) pass through unchanged.

import { createHash, type Hash } from 'node:crypto';
import { decodeStream, detectCompression, type Compression } from '../core/decompress.js';
import { InputFormatError, isKdbgError, TruncatedError } from '../core/errors.js';
import { XZ_CHECK_SHA256, XzCheckStripper } from '../formats/xz-strip.js';
import type { BufferReturn } from '../core/buffer-return.js';
import type { BusySpans } from '../core/busy.js';

export type Compressor = Compression | 'none';

export const COMPRESSORS: readonly Compressor[] = ['xz', 'zstd', 'gzip', 'bzip2', 'lzma', 'none'];

/**
 * The compressor whose magic bytes start `head` (give it at least 6 bytes), or null. Uncompressed
 * cpio ("07070") counts as 'none'; legacy lzma is recognised by its plausible header
 * (core/decompress.ts).
 */
export function detectCompressor(head: Uint8Array): Compressor | null {
  const found = detectCompression(head);
  if (found !== null) return found;
  const cpio = [0x30, 0x37, 0x30, 0x37, 0x30];
  return head.length >= cpio.length && cpio.every((b, i) => head[i] === b) ? 'none' : null;
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
  /** xz: the consumer hands decoded chunks back for reuse (core/buffer-return.ts). */
  returns?: BufferReturn;
  /** The decoder's busy spans (the timings; core/busy.ts): xz on its own thread or on this one, gzip, zstd. */
  busy?: BusySpans;
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
  const mapError = (e: unknown, inputEnded: boolean): Error => decoderError(kind, label, e, inputEnded);
  switch (kind) {
    case 'none':
      yield* rest;
      return;
    case 'xz': {
      // liblzma ends quietly when the input stops inside the stream, so look at the tail
      // ourselves: a complete .xz ends with the footer magic "YZ" (then only 4-byte zero padding).
      const tail = new TailKeeper(64);
      const decode = (input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> => (opts.offThread ? xzOnWorker(input, label, opts.returns, opts.busy) : decodeStream('xz', input, { mapError, ...(opts.returns ? { returns: opts.returns } : {}), ...(opts.busy ? { busy: opts.busy } : {}) }));
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
    default:
      yield* decodeStream(kind, rest, { mapError, ...(opts.busy ? { busy: opts.busy } : {}) });
      return;
  }
}

/** The decoder on its own thread (xz-thread.ts), its errors named like the others'. */
async function* xzOnWorker(input: AsyncIterable<Uint8Array>, label: string, returns: BufferReturn | undefined, busy: BusySpans | undefined): AsyncGenerator<Uint8Array> {
  const { decodeXzOnWorker } = await import('./xz-thread.js');
  try {
    yield* decodeXzOnWorker(input, { ...(returns ? { returns } : {}), ...(busy ? { busy } : {}) });
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
