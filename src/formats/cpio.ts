// cpio archives as rpm writes them: "newc" (070701) and "crc" (070702), 110-byte ASCII headers of
// 8-hex-digit fields, name padded so data starts 4-aligned, data padded to 4, ends with
// `TRAILER!!!`. Also rpm ≥ 4.12's stripped variant (07070X + 8 hex file index, no name or size),
// which only makes sense together with the RPM header's file list: the caller passes a resolver.
// See design/formats.md §B.5.

import { boundedLength, latin1Decoder, type ByteSource } from '../core/byte-source.js';
import { InputFormatError, LimitError } from '../core/errors.js';

const FORMAT = 'cpio';
export const CPIO_HEADER_SIZE = 110;
export const CPIO_STRIPPED_HEADER_SIZE = 14;
export const CPIO_TRAILER = 'TRAILER!!!';
/** rpm rejects names over PATH_MAX; so do we. */
export const CPIO_MAX_NAMESIZE = 4096;
/** newc sizes are 8 hex digits: the format cannot say more than 4 GiB − 1. */
export const CPIO_MAX_FILESIZE = 0xffffffff;

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface CpioHeader {
  /** "070701" (newc), "070702" (crc) or "07070X" (rpm stripped). */
  c_magic: string;
  c_ino: number;
  c_mode: number;
  c_uid: number;
  c_gid: number;
  c_nlink: number;
  c_mtime: number;
  c_filesize: number;
  c_devmajor: number;
  c_devminor: number;
  c_rdevmajor: number;
  c_rdevminor: number;
  c_namesize: number;
  c_check: number;
  /** The member name as stored (e.g. `./usr/lib/debug/...`). */
  name: string;
  /** Archive offset of this header. */
  offset: number;
  /** Stripped format only: the index into the RPM header's file arrays. */
  fileIndex: number | null;
}

/** What a stripped (07070X) entry resolves to through the RPM header. */
export interface StrippedEntry {
  name: string;
  mode: number;
  /** Bytes of data that follow in the archive (0 for non-last hard links, dirs, …). */
  filesize: number;
  nlink: number;
  ino: number;
}

export type StrippedResolver = (fileIndex: number, offset: number) => StrippedEntry;

export interface CpioEntry {
  header: CpioHeader;
  /**
   * The member's data, c_filesize bytes. Drain-or-skip contract: the consumer may read all, part
   * or none of it; asking the walker for the next entry skips whatever is left (and the padding).
   */
  body: AsyncIterable<Uint8Array>;
}

interface Ctx {
  label: string;
  offset: number;
}

const FIELDS = ['c_ino', 'c_mode', 'c_uid', 'c_gid', 'c_nlink', 'c_mtime', 'c_filesize', 'c_devmajor', 'c_devminor', 'c_rdevmajor', 'c_rdevminor', 'c_namesize', 'c_check'] as const;

function hexField(b: Uint8Array, at: number, field: string, ctx: Ctx): number {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = b[at + i]!;
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else {
      throw new InputFormatError(`${ctx.label}: bad cpio header at offset ${ctx.offset}: ${field} is not 8 hex digits`, {
        file: ctx.label,
        format: FORMAT,
        offset: ctx.offset + at,
        expected: '8 hex digits',
        found: JSON.stringify(latin1Decoder.decode(b.subarray(at, at + 8))),
      });
    }
    v = v * 16 + d;
  }
  return v;
}

/** The 6-byte magic at the start of a header, or an InputFormatError naming what was found. */
export function parseCpioMagic(b: Uint8Array, ctx: Ctx): '070701' | '070702' | '07070X' {
  const m = latin1Decoder.decode(b.subarray(0, 6));
  if (m === '070701' || m === '070702' || m === '07070X') return m;
  if (m === '070707') {
    throw new InputFormatError(`${ctx.label}: unsupported cpio variant at offset ${ctx.offset}: odc (070707); rpm payloads are newc`, {
      file: ctx.label,
      format: FORMAT,
      offset: ctx.offset,
      expected: '070701 or 070702',
      found: m,
    });
  }
  throw new InputFormatError(`${ctx.label}: bad cpio header at offset ${ctx.offset}: magic ${JSON.stringify(m)}`, {
    file: ctx.label,
    format: FORMAT,
    offset: ctx.offset,
    expected: '070701 (newc) or 070702 (crc)',
    found: Buffer.from(b.subarray(0, 6)).toString('hex'),
  });
}

/** Parse a 110-byte newc/crc header (without the name). Bounds namesize. */
export function parseCpioHeader(b: Uint8Array, ctx: Ctx): Omit<CpioHeader, 'name'> {
  if (b.length < CPIO_HEADER_SIZE) {
    throw new InputFormatError(`${ctx.label}: cpio header at offset ${ctx.offset} is ${b.length} bytes, needs ${CPIO_HEADER_SIZE}`, {
      file: ctx.label,
      format: FORMAT,
      offset: ctx.offset,
    });
  }
  const c_magic = parseCpioMagic(b, ctx);
  if (c_magic === '07070X') throw new InputFormatError(`${ctx.label}: stripped cpio header where a newc header was expected at offset ${ctx.offset}`, { file: ctx.label, format: FORMAT, offset: ctx.offset });
  const f = {} as Record<(typeof FIELDS)[number], number>;
  FIELDS.forEach((name, i) => {
    f[name] = hexField(b, 6 + 8 * i, name, ctx);
  });
  boundedLength(f.c_namesize, CPIO_MAX_NAMESIZE, { label: ctx.label, format: FORMAT, field: 'c_namesize', offset: ctx.offset + 94 });
  if (f.c_namesize < 2) {
    throw new InputFormatError(`${ctx.label}: bad cpio header at offset ${ctx.offset}: c_namesize ${f.c_namesize} (a name needs at least one byte and a NUL)`, {
      file: ctx.label,
      format: FORMAT,
      offset: ctx.offset + 94,
    });
  }
  return { c_magic, ...f, offset: ctx.offset, fileIndex: null };
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

export interface WalkCpioOptions {
  /** Needed to read the stripped (07070X) variant; without it such archives are rejected. */
  stripped?: StrippedResolver;
}

/**
 * Walk the archive entry by entry up to (not including) `TRAILER!!!`. Offsets in headers and
 * errors are relative to the start of the archive (the position of `src` when called).
 */
export async function* walkCpio(src: ByteSource, opts: WalkCpioOptions = {}): AsyncGenerator<CpioEntry> {
  const base = src.position;
  for (;;) {
    const offset = src.position - base;
    const ctx = { label: src.label, offset };
    const magic = parseCpioMagic(await src.read(6, 'cpio header magic'), ctx);
    let header: CpioHeader;
    if (magic === '07070X') {
      const rest = await src.read(8, 'stripped cpio header');
      const fx = hexField(rest, 0, 'file index', { label: src.label, offset: offset + 6 });
      await src.skip(pad4(CPIO_STRIPPED_HEADER_SIZE), 'stripped cpio header padding');
      if (!opts.stripped) {
        throw new LimitError(
          `${src.label}: stripped cpio entry (07070X, rpm ≥ 4.12 large-file format) at payload offset ${offset}, but no file list (LONGFILESIZES) announces that format`,
          { file: src.label, format: FORMAT, offset, expected: '070701 or 070702', found: '07070X' },
        );
      }
      const r = opts.stripped(fx, offset);
      header = {
        c_magic: magic,
        c_ino: r.ino,
        c_mode: r.mode,
        c_uid: 0,
        c_gid: 0,
        c_nlink: r.nlink,
        c_mtime: 0,
        c_filesize: r.filesize,
        c_devmajor: 0,
        c_devminor: 0,
        c_rdevmajor: 0,
        c_rdevminor: 0,
        c_namesize: r.name.length + 1,
        c_check: 0,
        name: r.name,
        offset,
        fileIndex: fx,
      };
    } else {
      const rest = await src.read(CPIO_HEADER_SIZE - 6, 'cpio header');
      const full = new Uint8Array(CPIO_HEADER_SIZE);
      full.set(Buffer.from(magic, 'latin1'), 0);
      full.set(rest, 6);
      const h = parseCpioHeader(full, ctx);
      const nameBytes = await src.read(h.c_namesize, 'cpio member name');
      if (nameBytes[h.c_namesize - 1] !== 0) {
        throw new InputFormatError(`${src.label}: bad cpio header at offset ${offset}: name is not NUL-terminated`, {
          file: src.label,
          format: FORMAT,
          offset: offset + CPIO_HEADER_SIZE,
        });
      }
      const name = latin1Decoder.decode(nameBytes.subarray(0, h.c_namesize - 1));
      if (name.includes('\0')) {
        throw new InputFormatError(`${src.label}: bad cpio member name at offset ${offset}: embedded NUL`, { file: src.label, format: FORMAT, offset: offset + CPIO_HEADER_SIZE });
      }
      await src.skip(pad4(CPIO_HEADER_SIZE + h.c_namesize), 'cpio name padding');
      header = { ...h, name };
      if (name === CPIO_TRAILER) return;
    }
    const size = header.c_filesize;
    const bodyEnd = src.position + size;
    yield { header, body: src.stream(size, `data of cpio member ${header.name}`) };
    // Drain-or-skip: whatever the consumer left unread.
    const left = bodyEnd - src.position;
    if (left < 0) throw new Error(`cpio walker: consumer read past member ${header.name}`);
    await src.skip(left, `data of cpio member ${header.name}`);
    await src.skip(pad4(size), 'cpio data padding');
  }
}

export type CpioMemberType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export function cpioMemberType(mode: number): CpioMemberType | null {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    case S_IFCHR:
      return 'char';
    case S_IFBLK:
      return 'block';
    case S_IFIFO:
      return 'fifo';
    case S_IFSOCK:
      return 'socket';
    default:
      return null;
  }
}

/** Bound a symlink target before buffering it (targets are stored as member data). */
export function boundedLinkSize(size: number, ctx: Ctx & { name: string }): number {
  return boundedLength(size, CPIO_MAX_NAMESIZE, { label: ctx.label, format: FORMAT, field: `symlink target size of ${ctx.name}`, offset: ctx.offset });
}
