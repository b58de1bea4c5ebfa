// .xz stream header and footer, variable-length integers and block headers (tukaani
// doc/xz-file-format.txt 1.2.1), with the CRC32 that guards them.

import { boundedLength } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';

export const FORMAT = 'xz';
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

export function u32le(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function putU32le(b: Uint8Array, off: number, v: number): void {
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

export interface Ctx {
  label: string;
  /** Absolute offset of `b[0]` in the file, for error messages. */
  offset: number;
}

export function bad(ctx: Ctx, at: number, message: string, expected?: string, found?: string): InputFormatError {
  return new InputFormatError(`${ctx.label}: bad xz ${message} at offset ${ctx.offset + at}`, {
    file: ctx.label,
    format: FORMAT,
    offset: ctx.offset + at,
    ...(expected === undefined ? {} : { expected }),
    ...(found === undefined ? {} : { found }),
  });
}

export function hexOf(b: Uint8Array): string {
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
