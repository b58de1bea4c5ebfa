// The identify dispatcher: what is this input? Whole-file compression (compressed.ts) and
// makedumpfile flattening (flattened.ts) are unwrapped first; then the first bytes choose the
// reader: ELF (elf.ts), kdump-compressed or a split part (kdump.ts), vmcore-dmesg text (dmesg.ts).
// Files are read by position; standard input is read once, in bounded memory.

import { open, stat } from 'node:fs/promises';
import { BytesRandomAccess, ByteSource, hex } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, InputNotFoundError, TruncatedError, UsageError } from '../core/errors.js';
import { FileRandomAccess } from '../core/file-access.js';
import { isElf } from '../formats/elf.js';
import { isFlattened, reassembleFlattenedStream } from '../formats/flattened.js';
import { kdumpSignature } from '../formats/kdump.js';
import { findBanner, looksLikeDmesg } from './banner.js';
import type { BannerHit } from './banner.js';
import { decompressWhole, detectWholeFileCompression } from './compressed.js';
import { identifyDmesg } from './dmesg.js';
import { identifyElf } from './elf.js';
import { flatDone, reassembleFlatHeaders } from './flattened.js';
import { applyBanner, BANNER_SCAN_LIMIT, errnoText, wrapUnexpected, type Ctx, type DumpIdentification } from './identity.js';
import { identifyKdump } from './kdump.js';

/** Bytes of standard input kept for non-flattened dumps (headers and notes are at the front). */
const STREAM_HEAD = 16 << 20;

/** True for '-' (standard input) or an existing regular file: lets commands accept a dump where a release string is accepted. */
export async function isDumpPath(arg: string): Promise<boolean> {
  if (arg === '-') return true;
  try {
    return (await stat(arg)).isFile();
  } catch {
    return false;
  }
}

/** Identify a dump file, or standard input when `pathOrDash` is '-'. */
export async function identifyDump(
  pathOrDash: string,
  opts: {
    stdin?: AsyncIterable<Uint8Array>;
    /** False: a split part is not numbered from its siblings (split.part stays null but for the first part); no directory scan. */
    splitSiblings?: boolean;
    /**
     * False: the kernel's utsname is not read from the dump's memory when VMCOREINFO gave the
     * release (banner and packageVersion then stay null for ELF and QEMU dumps). `kdbg log` needs
     * neither, and on a flattened file that read indexes every record first.
     */
    utsname?: boolean;
  } = {},
): Promise<DumpIdentification> {
  if (pathOrDash === '-') {
    if (!opts.stdin && process.stdin.isTTY) {
      throw new UsageError("'-' reads the dump from standard input, which is a terminal: pipe a dump in (e.g. cat vmcore | kdbg identify -)");
    }
    return identifyStream(opts.stdin ?? process.stdin, '-');
  }
  const path = pathOrDash;
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputNotFoundError(`${path}: no such dump file (${errnoText(e)})`, { details: { file: path }, cause: e });
  }
  if (st.isDirectory()) throw new InputNotFoundError(`${path}: is a directory, not a dump file`, { details: { file: path }, hint: 'pass the vmcore file inside it' });
  if (st.isFIFO() || st.isCharacterDevice()) {
    // A pipe such as <(zcat vmcore.gz): read it as a stream, like standard input.
    const { createReadStream } = await import('node:fs');
    const s = createReadStream(path, { highWaterMark: 256 << 10 });
    try {
      return await identifyStream(s, path);
    } finally {
      s.destroy();
    }
  }
  if (!st.isFile()) throw new InputFormatError(`${path}: not a regular file, pipe or character device`, { file: path, format: 'dump' });
  if (st.size === 0) throw new TruncatedError(`${path}: empty file (0 bytes), not a crash dump`, { file: path, format: 'dump', offset: 0, expected: 'a dump header', found: '0 bytes' });
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new InputNotFoundError(`${path}: cannot open (${errnoText(e)})`, { details: { file: path }, cause: e });
  }
  try {
    const ra = new FileRandomAccess(fh, path, st.size);
    const kind = detectWholeFileCompression(await ra.readAt(0, 8));
    if (kind) {
      const { createReadStream } = await import('node:fs');
      const id = await identifyStream(decompressWhole(kind, createReadStream(path, { highWaterMark: 256 << 10 }), path), path);
      id.compressed = kind;
      return id;
    }
    return await identifyRandomAccess(ra, path, { file: true, splitSiblings: opts.splitSiblings !== false, utsname: opts.utsname !== false });
  } catch (e) {
    throw wrapUnexpected(e, path);
  } finally {
    await fh.close();
  }
}

/** Identify a dump delivered as a stream (standard input), in bounded memory. */
export async function identifyStream(chunks: AsyncIterable<Uint8Array>, label = '-'): Promise<DumpIdentification> {
  const src = new ByteSource(chunks, label, 'dump');
  try {
    const head = await src.peek(4096);
    if (head.length === 0) throw new TruncatedError(`${label}: empty input, not a crash dump`, { file: label, format: 'dump', offset: 0, expected: 'a dump header', found: '0 bytes' });
    const kind = detectWholeFileCompression(head);
    if (kind) {
      const id = await identifyStream(decompressWhole(kind, src.rest(), label), label);
      id.compressed = kind;
      return id;
    }
    if (isFlattened(head)) {
      const image = await reassembleFlattenedStream(src, { done: flatDone });
      const id = await identifyRandomAccess(image, label, { file: false, flattened: true });
      return id;
    }
    // Not flattened: headers and notes sit in the first MiBs; keep at most STREAM_HEAD bytes.
    const parts: Uint8Array[] = [];
    let have = 0;
    while (have < STREAM_HEAD && !(await src.atEnd())) {
      const want = Math.min(STREAM_HEAD - have, 1 << 20);
      const p = await src.peek(want);
      const b = await src.read(p.length, 'dump head');
      parts.push(b.slice());
      have += b.length;
    }
    const buf = Buffer.concat(parts, have);
    const ra = new BytesRandomAccess(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), label);
    const id = await identifyRandomAccess(ra, label, { file: false });
    if (id.release === null && (id.format === 'elf64' || id.format === 'elf32' || id.format === 'dmesg') && !(await src.atEnd())) {
      // Keep scanning the rest of the stream for the banner, one chunk at a time.
      const hit = await streamBannerScan(src, have, BANNER_SCAN_LIMIT - have);
      if (hit) applyBanner(id, hit);
    }
    return id;
  } catch (e) {
    throw wrapUnexpected(e, label);
  } finally {
    await src.close();
  }
}

async function streamBannerScan(src: ByteSource, start: number, limit: number): Promise<BannerHit | null> {
  let pos = start;
  let tail: Uint8Array = new Uint8Array(0);
  while (pos - start < limit && !(await src.atEnd())) {
    const p = await src.peek(4 << 20);
    const b = await src.read(p.length, 'dump data');
    const joined = new Uint8Array(tail.length + b.length);
    joined.set(tail);
    joined.set(b, tail.length);
    const hit = findBanner(joined, pos - tail.length, false);
    if (hit) return hit;
    tail = joined.slice(Math.max(0, joined.length - 512));
    pos += b.length;
  }
  return null;
}

async function identifyRandomAccess(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const head = await ra.readAt(0, 4096);
  if (head.length === 0) throw new TruncatedError(`${path}: empty input, not a crash dump`, { file: path, format: 'dump', offset: 0, expected: 'a dump header', found: '0 bytes' });
  if (isFlattened(head) && ctx.file && !ctx.flattened) {
    const image = await reassembleFlatHeaders(ra);
    return identifyRandomAccess(image, path, { ...ctx, file: true, flattened: true, flatFile: ra });
  }
  let id: DumpIdentification;
  if (isElf(head)) id = await identifyElf(ra, path, ctx);
  else if (kdumpSignature(head)) id = await identifyKdump(ra, path, ctx);
  else if (!ctx.flattened && looksLikeDmesg(head)) id = await identifyDmesg(ra, path);
  else if (ctx.flattened) {
    throw new InputFormatError(`${path}: flattened dump does not contain an ELF or kdump-compressed file (logical offset 0: ${hex(head.subarray(0, 8))})`, {
      file: path,
      format: 'flattened',
      offset: 0,
      found: hex(head.subarray(0, 8)),
    });
  } else throw notADump(path, head);
  if (ctx.flattened) {
    id.format = id.split ? 'split' : 'flattened';
  }
  return id;
}

function notADump(path: string, head: Uint8Array): InputFormatError {
  // Whole-file compression is decoded before any reader sees the bytes; this names it should a
  // caller hand compressed bytes straight to a reader (the registry's magic, core/decompress.ts).
  const name = detectWholeFileCompression(head);
  if (name) {
    return new InputFormatError(`${path}: a ${name}-compressed file, not a crash dump as such`, { file: path, format: 'dump', offset: 0, found: name }, { hint: `decompress it and pass the result to kdbg (e.g. ${name === 'gzip' ? 'zcat' : name === 'bzip2' ? 'bzcat' : `${name} -dc`} FILE | kdbg identify -)` });
  }
  return new InputFormatError(`${path}: not a crash dump: unrecognised first bytes ${hex(head.subarray(0, 8))} at offset 0 (expected ELF, "KDUMP   ", "DISKDUMP", "makedumpfile" or vmcore-dmesg text)`, {
    file: path,
    format: 'dump',
    offset: 0,
    expected: 'a vmcore signature',
    found: hex(head.subarray(0, 8)),
  });
}
