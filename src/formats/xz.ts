// The .xz container (tukaani doc/xz-file-format.txt 1.2.1): stream header/footer, index, block
// headers. Enough to find, without decompressing anything, which blocks of a multi-block stream
// cover a byte range of the uncompressed data, and to wrap one or more raw blocks into a
// stand-alone stream any xz decoder accepts. Blocks are independent (LZMA2 state resets per
// block), which is what makes partial downloads and parallel decoding possible.

import { boundedLength, readExactAt, type RandomAccess } from '../core/byte-source.js';
import { InputFormatError, LimitError } from '../core/errors.js';

const FORMAT = 'xz';
export const XZ_HEADER_MAGIC = Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00);
export const XZ_FOOTER_MAGIC = Uint8Array.of(0x59, 0x5a); // "YZ"
export const XZ_STREAM_HEADER_SIZE = 12;
export const XZ_STREAM_FOOTER_SIZE = 12;

/** Check id → size in bytes of the check field after each block (spec table 3.1.2). */
export function checkSize(checkId: number): number {
  if (checkId === 0) return 0;
  if (checkId <= 3) return 4;
  if (checkId <= 6) return 8;
  if (checkId <= 9) return 16;
  if (checkId <= 12) return 32;
  return 64;
}

export function checkName(checkId: number): string {
  return ({ 0: 'none', 1: 'CRC32', 4: 'CRC64', 10: 'SHA-256' } as Record<number, string>)[checkId] ?? `check ${checkId}`;
}

// CRC32 (IEEE, reflected), as used for the xz headers, index and footer.
const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < b.length; i++) c = CRC32_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function u32le(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

function putU32le(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export interface XzStreamFlags {
  /** Check id from the stream flags (0 none, 1 CRC32, 4 CRC64, 10 SHA-256). */
  checkId: number;
  /** Bytes of the check field after each block's compressed data. */
  checkSize: number;
}

interface Ctx {
  label: string;
  /** Absolute offset of `b[0]` in the file, for error messages. */
  offset: number;
}

function bad(ctx: Ctx, at: number, message: string, expected?: string, found?: string): InputFormatError {
  return new InputFormatError(`${ctx.label}: bad xz ${message} at offset ${ctx.offset + at}`, {
    file: ctx.label,
    format: FORMAT,
    offset: ctx.offset + at,
    ...(expected === undefined ? {} : { expected }),
    ...(found === undefined ? {} : { found }),
  });
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function parseFlags(b: Uint8Array, at: number, ctx: Ctx): XzStreamFlags {
  // Stream Flags: first byte reserved (0), second byte: high nibble reserved, low nibble check id.
  if (b[at] !== 0 || (b[at + 1]! & 0xf0) !== 0) throw bad(ctx, at, 'stream flags (reserved bits set)', '00 0x', hexOf(b.subarray(at, at + 2)));
  const checkId = b[at + 1]! & 0x0f;
  return { checkId, checkSize: checkSize(checkId) };
}

/** The 12-byte Stream Header. */
export function parseStreamHeader(b: Uint8Array, label: string, offset = 0): XzStreamFlags {
  const ctx = { label, offset };
  if (b.length < XZ_STREAM_HEADER_SIZE) throw bad(ctx, 0, 'stream header (short)', '12 bytes', `${b.length} bytes`);
  for (let i = 0; i < 6; i++) if (b[i] !== XZ_HEADER_MAGIC[i]) throw bad(ctx, 0, 'stream header magic', 'fd377a585a00', hexOf(b.subarray(0, 6)));
  const crc = u32le(b, 8);
  const want = crc32(b.subarray(6, 8));
  if (crc !== want) throw bad(ctx, 8, 'stream header CRC32', want.toString(16), crc.toString(16));
  return parseFlags(b, 6, ctx);
}

export interface XzStreamFooter extends XzStreamFlags {
  /** Real size of the Index in bytes ((Backward Size + 1) × 4). */
  indexSize: number;
}

/** The 12-byte Stream Footer. */
export function parseStreamFooter(b: Uint8Array, label: string, offset = 0): XzStreamFooter {
  const ctx = { label, offset };
  if (b.length < XZ_STREAM_FOOTER_SIZE) throw bad(ctx, 0, 'stream footer (short)', '12 bytes', `${b.length} bytes`);
  if (b[10] !== 0x59 || b[11] !== 0x5a) throw bad(ctx, 10, 'stream footer magic', '595a', hexOf(b.subarray(10, 12)));
  const crc = u32le(b, 0);
  const want = crc32(b.subarray(4, 10));
  if (crc !== want) throw bad(ctx, 0, 'stream footer CRC32', want.toString(16), crc.toString(16));
  const flags = parseFlags(b, 8, ctx);
  return { ...flags, indexSize: (u32le(b, 4) + 1) * 4 };
}

/** Decode a variable-length integer (at most 9 bytes, 63 bits). Returns [value, bytes used]. */
export function readVli(b: Uint8Array, at: number, ctx: Ctx, field: string): [number, number] {
  let v = 0n;
  for (let i = 0; i < 9; i++) {
    const x = b[at + i];
    if (x === undefined) throw bad(ctx, at, `${field} (VLI runs past the end)`);
    v |= BigInt(x & 0x7f) << BigInt(7 * i);
    if ((x & 0x80) === 0) {
      // A multi-byte VLI must not end in a zero byte (no redundant encodings).
      if (i > 0 && x === 0) throw bad(ctx, at, `${field} (non-minimal VLI)`);
      return [boundedLength(v, Number.MAX_SAFE_INTEGER, { label: ctx.label, format: FORMAT, field, offset: ctx.offset + at }), i + 1];
    }
  }
  throw bad(ctx, at, `${field} (VLI longer than 9 bytes)`);
}

export function encodeVli(v: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) byte |= 0x80;
    out.push(byte);
  } while (x > 0n);
  return out;
}

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

export interface XzFilter {
  id: number;
  props: Uint8Array;
}

export interface XzBlockHeader {
  /** Real header size in bytes (8…1024). */
  headerSize: number;
  compressedSize: number | null;
  uncompressedSize: number | null;
  filters: XzFilter[];
}

export const XZ_FILTER_LZMA2 = 0x21;

/** Parse a Block Header from its first byte; `b` must hold at least the header. */
export function parseBlockHeader(b: Uint8Array, label: string, offset = 0): XzBlockHeader {
  const ctx = { label, offset };
  const sizeByte = b[0];
  if (sizeByte === undefined) throw bad(ctx, 0, 'block header (empty)');
  if (sizeByte === 0) throw bad(ctx, 0, 'block header (found the index indicator)');
  const headerSize = (sizeByte + 1) * 4;
  if (b.length < headerSize) throw bad(ctx, 0, `block header (needs ${headerSize} bytes, have ${b.length})`);
  const crc = u32le(b, headerSize - 4);
  const want = crc32(b.subarray(0, headerSize - 4));
  if (crc !== want) throw bad(ctx, headerSize - 4, 'block header CRC32', want.toString(16), crc.toString(16));
  const flags = b[1]!;
  if (flags & 0x3c) throw bad(ctx, 1, 'block flags (reserved bits set)', '0', (flags & 0x3c).toString(16));
  const hb = b.subarray(0, headerSize - 4);
  let at = 2;
  let compressedSize: number | null = null;
  let uncompressedSize: number | null = null;
  if (flags & 0x40) {
    const [v, n] = readVli(hb, at, ctx, 'compressed size');
    if (v === 0) throw bad(ctx, at, 'compressed size (zero)');
    compressedSize = v;
    at += n;
  }
  if (flags & 0x80) {
    const [v, n] = readVli(hb, at, ctx, 'uncompressed size');
    uncompressedSize = v;
    at += n;
  }
  const filters: XzFilter[] = [];
  const nFilters = (flags & 0x03) + 1;
  for (let i = 0; i < nFilters; i++) {
    const [id, n] = readVli(hb, at, ctx, `filter ${i} id`);
    at += n;
    const [propsSize, m] = readVli(hb, at, ctx, `filter ${i} properties size`);
    at += m;
    if (at + propsSize > hb.length) throw bad(ctx, at, `filter ${i} properties (run past the header)`);
    filters.push({ id, props: hb.slice(at, at + propsSize) });
    at += propsSize;
  }
  for (let i = at; i < hb.length; i++) if (hb[i] !== 0) throw bad(ctx, i, 'block header padding (non-zero)');
  return { headerSize, compressedSize, uncompressedSize, filters };
}

/** A Stream Header for the given check id. */
export function buildStreamHeader(checkId: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set(XZ_HEADER_MAGIC, 0);
  b[6] = 0;
  b[7] = checkId;
  putU32le(b, 8, crc32(b.subarray(6, 8)));
  return b;
}

/** An Index (with padding and CRC) and Stream Footer for the given blocks. */
export function buildIndexAndFooter(records: readonly XzIndexRecord[], checkId: number): Uint8Array {
  const body: number[] = [0, ...encodeVli(records.length)];
  for (const r of records) body.push(...encodeVli(r.unpaddedSize), ...encodeVli(r.uncompressedSize));
  while (body.length % 4 !== 0) body.push(0);
  const indexSize = body.length + 4;
  const out = new Uint8Array(indexSize + 12);
  out.set(body, 0);
  putU32le(out, body.length, crc32(out.subarray(0, body.length)));
  const f = out.subarray(indexSize);
  putU32le(f, 4, indexSize / 4 - 1);
  f[8] = 0;
  f[9] = checkId;
  putU32le(f, 0, crc32(f.subarray(4, 10)));
  f[10] = 0x59;
  f[11] = 0x5a;
  return out;
}

/**
 * Wrap consecutive raw blocks (their `totalSize` bytes each, concatenated) into a stand-alone xz
 * stream: header, the blocks, a fresh index and footer. Any xz decoder then decodes exactly these
 * blocks and verifies each block's check (CRC64/SHA-256) against its data.
 */
export function wrapBlocks(blocks: readonly XzBlock[]): { head: Uint8Array; tail: Uint8Array } {
  const checkId = blocks[0]?.checkId ?? 0;
  return {
    head: buildStreamHeader(checkId),
    tail: buildIndexAndFooter(
      blocks.map((b) => ({ unpaddedSize: b.unpaddedSize, uncompressedSize: b.uncompressedSize })),
      checkId,
    ),
  };
}
