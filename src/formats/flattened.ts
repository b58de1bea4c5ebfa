// makedumpfile's flattened format (-F, and QEMU's kdump-* output before 8.2): a 4096-byte header
// ("makedumpfile" + 4 NULs, big-endian type and version) and then records {i64 offset; i64
// buf_size; data} (big-endian on every architecture) that belong at `offset` of the real file, in
// any order, later ones overwriting earlier ones, ended by offset = size = -1. formats.md §A.3.
//
// kdbg never reassembles a whole dump: it replays only the parts of records that fall into a
// window at the start of the logical file (where headers and notes live), in bounded memory,
// and stops as soon as the caller has what it needs.

import { boundedLength, dataView, readExactAt } from '../core/byte-source.js';
import type { ByteSource, RandomAccess } from '../core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../core/errors.js';

const FORMAT = 'flattened';
export const FLAT_HEADER_SIZE = 4096;
export const FLAT_SIGNATURE = new Uint8Array([...'makedumpfile'].map((c) => c.charCodeAt(0)).concat([0, 0, 0, 0]));
/** Largest record kdbg accepts (makedumpfile writes ≤ 64 KiB, QEMU ≤ 16 KiB). */
export const FLAT_MAX_RECORD = 64 << 20;
export const FLAT_MAX_RECORDS = 1 << 26;
/** Default reconstruction window: logical offsets [0, 16 MiB). */
export const FLAT_DEFAULT_WINDOW = 16 << 20;

export interface FlatHeader {
  type: bigint;
  version: bigint;
}

export interface FlatRecordHeader {
  offset: number;
  buf_size: number;
}

export function isFlattened(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  for (let i = 0; i < 16; i++) if (bytes[i] !== FLAT_SIGNATURE[i]) return false;
  return true;
}

export function parseFlatHeader(bytes: Uint8Array, label = 'input'): FlatHeader {
  if (bytes.length >= 16 && !isFlattened(bytes)) {
    throw new InputFormatError(`${label}: not a flattened dump: bad signature at offset 0`, { file: label, format: FORMAT, offset: 0, expected: '"makedumpfile" + 4 NULs' });
  }
  if (bytes.length < 32) {
    throw new TruncatedError(`${label}: truncated flattened header: needs 32 bytes at offset 0, only ${bytes.length} there`, {
      file: label,
      format: FORMAT,
      offset: 0,
      expected: '32 bytes',
      found: `${bytes.length} bytes`,
    });
  }
  const dv = dataView(bytes);
  const type = dv.getBigInt64(16, false);
  const version = dv.getBigInt64(24, false);
  if (type !== 1n) {
    throw new InputFormatError(`${label}: flattened header type is ${type} at offset 16, expected 1`, { file: label, format: FORMAT, offset: 16, expected: '1', found: String(type) });
  }
  return { type, version };
}

/** Parse a 16-byte record header; null for the end marker (-1, -1). */
export function parseFlatRecordHeader(bytes: Uint8Array, label: string, at: number): FlatRecordHeader | null {
  const dv = dataView(bytes);
  const off = dv.getBigInt64(0, false);
  const size = dv.getBigInt64(8, false);
  if (off === -1n && size === -1n) return null;
  const offset = boundedLength(off, Number.MAX_SAFE_INTEGER, { label, format: FORMAT, field: 'record offset', offset: at });
  const buf_size = boundedLength(size, FLAT_MAX_RECORD, { label, format: FORMAT, field: 'record buf_size', offset: at + 8 });
  return { offset, buf_size };
}

/**
 * The start of the logical (reassembled) file, as far as the records seen so far cover it.
 * Later writes overwrite earlier ones, as in `makedumpfile -R`. Implements RandomAccess over the
 * window; reads beyond it throw LimitError, holes inside it read as zeros.
 */
export class FlatImage implements RandomAccess {
  private buf: Uint8Array = new Uint8Array(0);
  /** Sorted, merged covered intervals [start, end). */
  private covered: [number, number][] = [];
  /** Largest end offset of any record seen (the logical file size once the end marker is read). */
  logicalSize = 0;
  records = 0;
  reachedEnd = false;
  /** File offset of the next record header not yet replayed (file input). */
  nextPos = FLAT_HEADER_SIZE;

  constructor(
    readonly label: string,
    readonly window: number = FLAT_DEFAULT_WINDOW,
  ) {}

  get size(): number | null {
    return this.reachedEnd ? this.logicalSize : null;
  }

  /** Apply a record's data (already clipped to the window by the caller or here). */
  write(offset: number, data: Uint8Array): void {
    if (offset >= this.window || data.length === 0) return;
    const end = Math.min(offset + data.length, this.window);
    if (end > this.buf.length) {
      // Grow geometrically, never past the window: memory is bounded by the window.
      const n = new Uint8Array(Math.min(this.window, Math.max(end, this.buf.length * 2, 64 << 10)));
      n.set(this.buf);
      this.buf = n;
    }
    this.buf.set(data.subarray(0, end - offset), offset);
    this.addCovered(offset, end);
  }

  private addCovered(s: number, e: number): void {
    const out: [number, number][] = [];
    let ns = s;
    let ne = e;
    for (const [a, b] of this.covered) {
      if (b < ns || a > ne) out.push([a, b]);
      else {
        ns = Math.min(ns, a);
        ne = Math.max(ne, b);
      }
    }
    out.push([ns, ne]);
    out.sort((x, y) => x[0] - y[0]);
    this.covered = out;
  }

  /** True when every byte of [offset, offset+length) has been written by some record. */
  covers(offset: number, length: number): boolean {
    if (length <= 0) return true;
    return this.covered.some(([a, b]) => a <= offset && offset + length <= b);
  }

  /** The bytes at [offset, offset+length) when all of them have been written, else null. */
  bytesAt(offset: number, length: number): Uint8Array | null {
    if (!this.covers(offset, length)) return null;
    return this.buf.subarray(offset, offset + length);
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.window) {
      throw new LimitError(
        `${this.label}: flattened dump: kdbg reconstructs only the first ${this.window} bytes of the logical file, ${length} bytes at logical offset ${offset} are beyond that`,
        { file: this.label, format: FORMAT, offset, expected: `< ${this.window}`, found: String(offset + length) },
      );
    }
    const limit = this.reachedEnd ? this.logicalSize : this.window;
    const end = Math.min(offset + length, limit);
    if (end <= offset) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    out.set(this.buf.subarray(Math.min(offset, this.buf.length), Math.min(end, this.buf.length)));
    return out;
  }
}

export interface ReassembleOptions {
  window?: number;
  /** Continue replaying into this image from its `nextPos` (after a `done` stop). */
  image?: FlatImage;
  /** Called after each record that touched the window; return true to stop reading. */
  done?: (image: FlatImage) => boolean;
}

/** Replay records from a stream positioned at offset 0 (standard input). */
export async function reassembleFlattenedStream(src: ByteSource, opts: ReassembleOptions = {}): Promise<FlatImage> {
  const image = new FlatImage(src.label, opts.window ?? FLAT_DEFAULT_WINDOW);
  const head = await src.read(FLAT_HEADER_SIZE, 'flattened header');
  parseFlatHeader(head, src.label);
  for (;;) {
    const at = src.position;
    if (await src.atEnd()) throw missingEnd(src.label, at, image);
    const rh = parseFlatRecordHeader(await src.read(16, 'flattened record header'), src.label, at);
    if (rh === null) {
      image.reachedEnd = true;
      return image;
    }
    const keep = admitRecord(image, rh, at);
    if (keep > 0) {
      image.write(rh.offset, await src.read(keep, 'flattened record data'));
      await src.skip(rh.buf_size - keep, 'flattened record data');
      if (opts.done?.(image)) return image;
    } else {
      await src.skip(rh.buf_size, 'flattened record data');
    }
  }
}

/**
 * Replay records from a positioned source (a file): hops from record header to record header and
 * reads data only where it falls in the window.
 */
export async function reassembleFlattenedFile(src: RandomAccess, opts: ReassembleOptions = {}): Promise<FlatImage> {
  const image = opts.image ?? new FlatImage(src.label, opts.window ?? FLAT_DEFAULT_WINDOW);
  if (!opts.image) parseFlatHeader(await readExactAt(src, 0, 32, FORMAT, 'flattened header'), src.label);
  let pos = image.nextPos;
  for (;;) {
    if (src.size !== null && pos >= src.size) throw missingEnd(src.label, pos, image);
    const rh = parseFlatRecordHeader(await readExactAt(src, pos, 16, FORMAT, 'record header'), src.label, pos);
    if (rh === null) {
      image.reachedEnd = true;
      return image;
    }
    const keep = admitRecord(image, rh, pos);
    const dataAt = pos;
    pos += 16 + rh.buf_size;
    image.nextPos = pos;
    if (keep > 0) {
      image.write(rh.offset, await readExactAt(src, dataAt + 16, keep, FORMAT, `record data (logical offset ${rh.offset})`));
      if (opts.done?.(image)) return image;
    }
    if (src.size !== null && pos > src.size) {
      throw new TruncatedError(`${src.label}: truncated flattened dump: record at offset ${dataAt} has ${rh.buf_size} bytes of data but the file ends at ${src.size}`, {
        file: src.label,
        format: FORMAT,
        offset: dataAt,
        expected: `${rh.buf_size} bytes`,
        found: `${src.size - (dataAt + 16)} bytes`,
      });
    }
  }
}

/**
 * makedumpfile -F -E writes the program header table twice: as zeros in the first record and for
 * real in one of the last records. Find that record in the file's tail (a 16-byte header
 * {offset, size} whose chain of following records ends exactly at the end marker), so a multi-GB
 * flattened ELF need not be walked record by record. Returns false when no such record is found
 * (the caller then replays every record).
 */
export async function applyFlatTailRecord(src: RandomAccess, image: FlatImage, offset: number, size: number, tailWindow = 1 << 20): Promise<boolean> {
  if (src.size === null || src.size < FLAT_HEADER_SIZE + 32 + size) return false;
  const fileSize = src.size;
  const from = Math.max(FLAT_HEADER_SIZE, fileSize - tailWindow);
  const tail = Buffer.from(await src.readAt(from, fileSize - from));
  if (tail.length !== fileSize - from || !tail.subarray(tail.length - 16).every((b) => b === 0xff)) return false;
  const needle = Buffer.alloc(16);
  needle.writeBigInt64BE(BigInt(offset), 0);
  needle.writeBigInt64BE(BigInt(size), 8);
  const chainEndsAtMarker = (start: number): boolean => {
    let p = start;
    for (let hops = 0; hops < 4096; hops++) {
      if (p === tail.length - 16) return true;
      if (p + 16 > tail.length - 16) return false;
      const sz = tail.readBigInt64BE(p + 8);
      if (sz < 0n || sz > BigInt(FLAT_MAX_RECORD)) return false;
      p += 16 + Number(sz);
    }
    return false;
  };
  for (let i = tail.lastIndexOf(needle); i !== -1; i = i === 0 ? -1 : tail.lastIndexOf(needle, i - 1)) {
    if (i + 16 + size > tail.length - 16 || !chainEndsAtMarker(i + 16 + size)) continue;
    image.write(offset, new Uint8Array(tail.subarray(i + 16, i + 16 + size)));
    return true;
  }
  return false;
}

/**
 * Count a record (bounded), grow the logical size, and return how many of its data bytes fall in
 * the window and are kept; the rest is skipped by the caller.
 */
function admitRecord(image: FlatImage, rh: { offset: number; buf_size: number }, at: number): number {
  image.records++;
  if (image.records > FLAT_MAX_RECORDS) {
    throw new LimitError(`${image.label}: flattened dump has more than ${FLAT_MAX_RECORDS} records (at offset ${at})`, {
      file: image.label,
      format: FORMAT,
      offset: at,
      expected: `<= ${FLAT_MAX_RECORDS} records`,
    });
  }
  image.logicalSize = Math.max(image.logicalSize, rh.offset + rh.buf_size);
  return rh.offset < image.window ? Math.min(rh.buf_size, image.window - rh.offset) : 0;
}

function missingEnd(label: string, at: number, image: FlatImage): TruncatedError {
  return new TruncatedError(`${label}: truncated flattened dump: input ends at offset ${at} after ${image.records} records, without the end marker`, {
    file: label,
    format: FORMAT,
    offset: at,
    expected: 'a record header or the end marker',
    found: 'end of input',
  });
}
