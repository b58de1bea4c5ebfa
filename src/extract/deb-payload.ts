// A .deb's data.tar decoded: through the shared payload decoders (decompress.ts), and for
// multi-block xz (what dpkg-deb and Debian's archive write) several blocks at once.

import pLimit from 'p-limit';
import type { BusySpans } from '../core/busy.js';
import { ByteSource } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { buildIndexAndFooter, checkSize, parseBlockHeader, parseStreamHeader, roundUp4, type XzBlock } from '../formats/xz.js';
import { decompressStream } from './decompress.js';
import { defaultDecodeConcurrency } from './parallel-xz.js';
import { decodeXzBlockChunks } from './xz-block.js';

export type DebCompressor = 'xz' | 'zstd' | 'gzip' | 'bzip2' | 'lzma' | 'none';

// An uncompressed data.tar is passed through as is (decompress.ts's 'none' check expects a cpio
// magic, a tar has none).

/** A compressed data.tar this big gets a decoder thread of its own with decodeAhead 0 (~12 MB, ~30 ms to start). */
const OFF_THREAD_BYTES = 32 << 20;

/** Decode one data.tar member. `kind` comes from the member name; the decoder checks the magic. */
export function decompressDebPayload(kind: DebCompressor, chunks: AsyncIterable<Uint8Array>, label: string, decodeAhead?: number, compressedSize?: number, busy?: BusySpans): AsyncIterable<Uint8Array> {
  if (kind === 'none') return chunks;
  // decodeAhead 0: no decoded block held at all; one decoder streams it (types.ts).
  if (kind === 'xz' && decodeAhead === 0) return decompressStream('xz', chunks, `${label} data.tar.xz`, { offThread: (compressedSize ?? Infinity) >= OFF_THREAD_BYTES, ...(busy ? { busy } : {}) });
  if (kind === 'xz') return xzBlocksParallel(chunks, `${label} data.tar.xz`, defaultDecodeConcurrency(), decodeAhead);
  return decompressStream(kind, chunks, `${label} data.tar`, busy ? { busy } : {});
}

/**
 * Streaming xz decode that uses several cores when it can. dpkg-deb and Debian's archive write
 * multi-block xz whose block headers carry the compressed and uncompressed sizes, so a forward
 * reader can cut the stream into blocks without decoding and hand each to liblzma on the thread
 * pool (extract/parallel-xz.ts), yielding them in order — what `xz -T2 -d` does. Each block's
 * own check is verified by liblzma; the index and footer read at the end must equal the ones the
 * decoded blocks imply (built with formats/xz.ts), so a dropped or altered block cannot pass.
 * A stream whose first block header lacks the sizes (single-threaded `xz`) goes through the plain
 * sequential decoder. Each block comes back as the decoder's 1 MiB output pieces, never joined:
 * a one-buffer-per-block decode (25 MB blocks in Debian's -dbg package) held ~400 MB at peak
 * against ~250 MB this way, at the same speed.
 */
export async function* xzBlocksParallel(chunks: AsyncIterable<Uint8Array>, label: string, concurrency = defaultDecodeConcurrency(), decodeAhead?: number): AsyncGenerator<Uint8Array> {
  const src = new ByteSource(chunks, label, 'xz');
  const head = await src.peek(12 + 1024);
  let parallel = false;
  if (head.length > 13 && head[12] !== 0) {
    try {
      parseStreamHeader(head, label, 0);
      const bh = parseBlockHeader(head.subarray(12), label, 12);
      parallel = bh.compressedSize !== null && bh.uncompressedSize !== null;
    } catch {
      parallel = false; // let the sequential decoder report what is wrong, its way
    }
  }
  if (!parallel || concurrency < 2) {
    yield* decompressStream('xz', src.rest(), label);
    return;
  }
  const limit = pLimit(concurrency);
  // Blocks decoding or decoded and waiting, besides the one being handed out (each ~24 MiB in
  // Debian's -dbg package). One per core keeps every core decoding on a local walk (a full walk
  // of the 858 MB package: 25.7 s with 2, 39.1 s with 1; `xz -T2 | tar` 28.6 s). Behind a download
  // one is enough (ExtractOptions.decodeAhead): a --keep-packages fetch of that package took the
  // same 22.3 s and peaked at 220-225 MB instead of 255 MB.
  const window = Math.max(1, decodeAhead ?? concurrency);
  const pending: Promise<Uint8Array[]>[] = [];
  let blockIndex = 0;
  let uncompressedOffset = 0;
  let stream = 0;
  const fail = (offset: number, what: string, expected: string, found: string): InputFormatError =>
    new InputFormatError(`${label}: ${what} at offset ${offset}`, { file: label, format: 'xz', offset, expected, found });
  for (;;) {
    const streamOffset = src.position;
    const flags = parseStreamHeader(await src.read(12, 'xz stream header'), label, streamOffset);
    const records: { unpaddedSize: number; uncompressedSize: number }[] = [];
    for (;;) {
      const first = await src.peek(1);
      if (first.length === 0) throw src.truncated(1, 0, 'xz block or index');
      if (first[0] === 0) break; // index indicator
      const at = src.position;
      const headerSize = (first[0]! + 1) * 4;
      const hb = await src.read(headerSize, 'xz block header');
      const bh = parseBlockHeader(hb, label, at);
      if (bh.compressedSize === null || bh.uncompressedSize === null) {
        throw fail(at, `xz block ${blockIndex} has no sizes in its header (a mixed stream kdbg does not split)`, 'compressed and uncompressed sizes', 'none');
      }
      const unpaddedSize = headerSize + bh.compressedSize + checkSize(flags.checkId);
      const totalSize = roundUp4(unpaddedSize);
      const body = await src.read(totalSize - headerSize, `xz block ${blockIndex} data`);
      const raw = new Uint8Array(totalSize);
      raw.set(hb, 0);
      raw.set(body, headerSize);
      const block: XzBlock = { index: blockIndex++, stream, offset: at, unpaddedSize, totalSize, uncompressedOffset, uncompressedSize: bh.uncompressedSize, checkId: flags.checkId };
      uncompressedOffset += bh.uncompressedSize;
      records.push({ unpaddedSize, uncompressedSize: bh.uncompressedSize });
      while (pending.length >= window) yield* await pending.shift()!;
      const p = limit(() => decodeXzBlockChunks(block, raw, label));
      p.catch(() => undefined); // observed when its turn comes
      pending.push(p);
    }
    // Index + footer: they must be exactly what the blocks we decoded imply.
    const want = buildIndexAndFooter(records, flags.checkId);
    const at = src.position;
    const got = await src.read(want.length, 'xz index and footer');
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) throw fail(at + i, `xz index/footer does not match the ${records.length} blocks read`, `byte ${want[i]}`, `byte ${got[i]}`);
    }
    // Stream Padding (groups of four zero bytes), then maybe another stream.
    for (;;) {
      const pad = await src.peek(4);
      if (pad.length === 4 && pad.every((b) => b === 0)) await src.skip(4, 'xz stream padding');
      else break;
    }
    if (await src.atEnd()) break;
    stream++;
  }
  while (pending.length > 0) yield* await pending.shift()!;
}
