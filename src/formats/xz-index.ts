// The .xz index: where every block of a (multi-stream) file lies, compressed and uncompressed,
// read from the end of the file without decompressing anything; and which blocks cover a range.

import { boundedLength, readExactAt, type RandomAccess } from '../core/byte-source.js';
import { LimitError } from '../core/errors.js';
import { bad, crc32, FORMAT, hexOf, parseStreamFooter, parseStreamHeader, readVli, u32le, XZ_STREAM_FOOTER_SIZE, XZ_STREAM_HEADER_SIZE } from './xz-headers.js';

export interface XzIndexRecord {
  /** Block Header + Compressed Data + Check (no Block Padding). */
  unpaddedSize: number;
  uncompressedSize: number;
}

/** Most records kdbg accepts in one index (a 6 GB tar in 24 MiB blocks has 229). */
export const MAX_INDEX_RECORDS = 1 << 20;

/** Parse a whole Index field (starting at the 0x00 indicator, `indexSize` bytes). */
export function parseIndex(b: Uint8Array, label: string, offset = 0): XzIndexRecord[] {
  const ctx = { label, offset };
  if (b.length < 8 || b.length % 4 !== 0) throw bad(ctx, 0, 'index (size not a multiple of 4)', '>= 8, multiple of 4', String(b.length));
  if (b[0] !== 0) throw bad(ctx, 0, 'index indicator', '00', hexOf(b.subarray(0, 1)));
  const body = b.length - 4;
  const crc = u32le(b, body);
  const want = crc32(b.subarray(0, body));
  if (crc !== want) throw bad(ctx, body, 'index CRC32', want.toString(16), crc.toString(16));
  let at = 1;
  const [count, n] = readVli(b, at, ctx, 'number of records');
  at += n;
  if (count > MAX_INDEX_RECORDS) {
    throw new LimitError(`${label}: xz index holds ${count} records at offset ${offset}, over the limit of ${MAX_INDEX_RECORDS}`, {
      file: label,
      format: FORMAT,
      offset,
      expected: `<= ${MAX_INDEX_RECORDS}`,
      found: String(count),
    });
  }
  const records: XzIndexRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (at >= body) throw bad(ctx, at, `index record ${i} (runs into the CRC)`);
    const [unpaddedSize, a] = readVli(b, at, ctx, `record ${i} unpadded size`);
    at += a;
    const [uncompressedSize, c] = readVli(b, at, ctx, `record ${i} uncompressed size`);
    at += c;
    // Smallest block: 8-byte header + 1 byte of LZMA2 data. Largest unpadded: 2^63 - 4.
    if (unpaddedSize < 5) throw bad(ctx, at, `record ${i} unpadded size ${unpaddedSize}`, '>= 5');
    records.push({ unpaddedSize, uncompressedSize });
  }
  if (at > body) throw bad(ctx, body, 'index (records run into the CRC)');
  // Index Padding: zero bytes up to the CRC, and the padded size must match.
  for (let i = at; i < body; i++) if (b[i] !== 0) throw bad(ctx, i, 'index padding (non-zero)');
  if (((at + 3) & ~3) !== body) throw bad(ctx, at, 'index padding length', String(((at + 3) & ~3) - at), String(body - at));
  return records;
}

export function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** One block, located in the file and in the uncompressed data. */
export interface XzBlock {
  /** Position among all blocks of the file (streams concatenated). */
  index: number;
  /** Which stream (0 = first in the file) holds it. */
  stream: number;
  /** Offset of the Block Header from the start of the xz data. */
  offset: number;
  /** Block Header + Compressed Data + Check. */
  unpaddedSize: number;
  /** unpaddedSize rounded up to 4: the bytes from `offset` that belong to this block. */
  totalSize: number;
  /** Offset of this block's first byte in the concatenated uncompressed data. */
  uncompressedOffset: number;
  uncompressedSize: number;
  checkId: number;
}

export interface XzStreamInfo {
  /** Offset of the Stream Header from the start of the xz data. */
  offset: number;
  /** Stream Header to Stream Footer inclusive (no Stream Padding). */
  size: number;
  checkId: number;
  indexOffset: number;
  indexSize: number;
  /** Zero bytes after this stream (Stream Padding). */
  padding: number;
}

export interface XzFileIndex {
  streams: XzStreamInfo[];
  blocks: XzBlock[];
  /** Size of the xz data that was indexed. */
  compressedSize: number;
  uncompressedSize: number;
}

/** Largest Index kdbg reads (a 1-million-block file's index is ~ 10 MB). */
export const MAX_INDEX_BYTES = 64 << 20;

/**
 * Read every stream's footer and index, from the end backwards, through positioned reads, and
 * locate every block. `base`/`length` select a window of `src` (e.g. data.tar.xz inside a .deb).
 * Costs 2 small reads per stream; no compressed data is read.
 */
export async function readXzIndex(src: RandomAccess, base = 0, length?: number): Promise<XzFileIndex> {
  const size = length ?? (src.size === null ? null : src.size - base);
  if (size === null) throw bad({ label: src.label, offset: base }, 0, 'input (size unknown)');
  if (size < 24 || size % 4 !== 0) throw bad({ label: src.label, offset: base }, 0, `file size ${size} (not a multiple of 4 or too small)`);
  const streams: XzStreamInfo[] = [];
  const perStream: XzIndexRecord[][] = [];
  let end = size;
  while (end > 0) {
    // Stream Padding: groups of 4 zero bytes between/after streams.
    let padding = 0;
    for (;;) {
      const tail = await readExactAt(src, base + end - 4, 4, FORMAT, 'stream padding');
      if (u32le(tail, 0) !== 0) break;
      padding += 4;
      end -= 4;
      if (end < 24) throw bad({ label: src.label, offset: base }, end, 'stream padding (no stream before it)');
    }
    const footerAt = end - XZ_STREAM_FOOTER_SIZE;
    const footer = parseStreamFooter(await readExactAt(src, base + footerAt, 12, FORMAT, 'stream footer'), src.label, base + footerAt);
    const indexSize = boundedLength(footer.indexSize, MAX_INDEX_BYTES, { label: src.label, format: FORMAT, field: 'backward size', offset: base + footerAt + 4 });
    const indexAt = footerAt - indexSize;
    if (indexAt < XZ_STREAM_HEADER_SIZE) throw bad({ label: src.label, offset: base }, footerAt + 4, `backward size (index of ${indexSize} bytes does not fit)`);
    const records = parseIndex(await readExactAt(src, base + indexAt, indexSize, FORMAT, 'index'), src.label, base + indexAt);
    let blocksBytes = 0;
    for (const r of records) blocksBytes += roundUp4(r.unpaddedSize);
    const start = indexAt - blocksBytes - XZ_STREAM_HEADER_SIZE;
    if (start < 0) throw bad({ label: src.label, offset: base }, indexAt, `index (its blocks add up to ${blocksBytes} bytes, more than precede it)`);
    const header = parseStreamHeader(await readExactAt(src, base + start, 12, FORMAT, 'stream header'), src.label, base + start);
    if (header.checkId !== footer.checkId) throw bad({ label: src.label, offset: base }, footerAt + 8, 'stream footer flags (differ from the header)', String(header.checkId), String(footer.checkId));
    streams.unshift({ offset: start, size: end - start, checkId: header.checkId, indexOffset: indexAt, indexSize, padding });
    perStream.unshift(records);
    end = start;
  }
  const blocks: XzBlock[] = [];
  let uoff = 0;
  streams.forEach((s, si) => {
    let off = s.offset + XZ_STREAM_HEADER_SIZE;
    for (const r of perStream[si]!) {
      blocks.push({
        index: blocks.length,
        stream: si,
        offset: off,
        unpaddedSize: r.unpaddedSize,
        totalSize: roundUp4(r.unpaddedSize),
        uncompressedOffset: uoff,
        uncompressedSize: r.uncompressedSize,
        checkId: s.checkId,
      });
      off += roundUp4(r.unpaddedSize);
      uoff += r.uncompressedSize;
    }
  });
  return { streams, blocks, compressedSize: size, uncompressedSize: uoff };
}

/** Index of the block holding uncompressed byte `pos` (binary search), or -1 past the end. */
export function blockAt(blocks: readonly XzBlock[], pos: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = blocks[mid]!;
    if (pos < b.uncompressedOffset) hi = mid - 1;
    else if (pos >= b.uncompressedOffset + b.uncompressedSize) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The blocks that cover uncompressed bytes [start, end) (empty for an empty range). */
export function blocksForRange(blocks: readonly XzBlock[], start: number, end: number): XzBlock[] {
  if (end <= start) return [];
  const first = blockAt(blocks, start);
  if (first < 0) return [];
  const out: XzBlock[] = [];
  for (let i = first; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.uncompressedOffset >= end) break;
    if (b.uncompressedSize > 0) out.push(b);
  }
  return out;
}
