// Partial extraction from a package reachable by positioned reads (HTTP Range, or a local file):
// fetch only the xz blocks that hold the wanted members.
//
// For a .deb (ar → data.tar.xz, multi-block as dpkg-deb and Debian's archive write it):
//   1. read the ar member headers (a few hundred bytes at the start);
//   2. read data.tar.xz's stream footer and index (the end of the file): every block's compressed
//      offset and uncompressed range, without decompressing anything;
//   3. walk the tar headers, decoding only the block that holds each header (a member's body is
//      skipped by arithmetic: the next header is at data + round_up(size, 512));
//   4. once the wanted members are located (`stopAfter`), fetch just the blocks that cover their
//      bodies (a couple ahead of the decoders) and decode several at once on the thread pool,
//      each streaming its output straight to its place in the file (writeMember): memory holds
//      the decoders' dictionaries and a piece each, never whole decoded blocks.
// Debian's linux-image-6.1.0-56-amd64-dbg: the vmlinux is tar entry 11 and lies in blocks 0–25 of
// 229 (103 MB of 858 MB).
//
// Integrity: the package's sha256 from the archive index cannot be checked when only part of it is
// read. Instead every decoded block is verified against its own xz check (CRC64 in Debian's debs,
// computed over the uncompressed block) and its index sizes; the written member's length must match
// the tar header; and the tar header checksums are verified. docs/speed.md says this plainly.
//
// For an RPM with a multi-block xz payload (RHEL 8+/Fedora `w3T.xzdio`) the member offsets come
// from the RPM header's file list and are checked against the cpio header found there (locateRpm).
//
// `null` means "use the streaming path": not a deb with data.tar.xz nor an RPM with an xz payload,
// a single-block xz (el7 RPMs, plain `xz`), no `stopAfter` (a full walk gains nothing from ranges),
// or the reader signalled that the server cannot do ranges.

import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, normalize, posix } from 'node:path';
import { ByteSource, latin1Decoder, readExactAt, type RandomAccess } from '../core/byte-source.js';
import { InputFormatError, IntegrityError, UnsafePathError } from '../core/errors.js';
import { AR_HEADER_SIZE, decodeArHeader } from '../formats/ar.js';
import { CPIO_HEADER_SIZE, parseCpioHeader } from '../formats/cpio.js';
import { readRpmHead, RPMFILE_GHOST } from '../formats/rpm.js';
import { blockAt, blocksForRange, readXzIndex, type XzBlock, type XzFileIndex } from '../formats/xz.js';
import { defaultDecodeConcurrency, threadPoolSize } from './parallel-xz.js';
import { decodeXzBlock, XzBlockDecoder } from './xz-block.js';
import type { ArchiveMember, ExtractOptions, ExtractResult, MemberType, WrittenMember } from './types.js';

export interface PartialExtractOptions extends ExtractOptions {
  /** Blocks decoded at once (default: cores, ≤ 4). */
  concurrency?: number;
  /**
   * Compressed blocks fetched ahead of the decoders (default 2), so a decoder that frees up never
   * waits for the network; they are a few MB each.
   */
  prefetch?: number;
  /**
   * Give up (return null) when locating the members would decode more than this share of the
   * blocks just to read headers; the streaming path is then as good. Default 0.5.
   */
  maxHeaderBlockShare?: number;
}

export interface PartialExtractResult extends ExtractResult {
  partial: {
    /** Blocks in the package's xz stream(s). */
    blocksTotal: number;
    /** Blocks fetched and decoded (headers + members). */
    blocksDecoded: number;
    /** Compressed bytes of the blocks read (excl. headers/index reads). */
    compressedBytesRead: number;
    /** Uncompressed size of the tar stream, and where in it each member lay. */
    uncompressedSize: number;
    members: { path: string; offset: number; size: number; firstBlock: number; lastBlock: number }[];
  };
}

/** Thrown by a RandomAccess when the server cannot serve ranges; any error with this name works. */
function isRangeUnsupported(e: unknown): boolean {
  return e instanceof Error && e.name === 'RangeUnsupportedError';
}

interface TarMember extends ArchiveMember {
  /** Offset of the member's data in the uncompressed tar. */
  dataOffset: number;
}

const TAR_BLOCK = 512;

function octal(b: Uint8Array, off: number, len: number, what: string, label: string, at: number): number {
  const f = b.subarray(off, off + len);
  if ((f[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian, the top bit of the first byte is the marker.
    let v = BigInt(f[0]! & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw tarError(label, at + off, `${what} too large`);
    return Number(v);
  }
  const s = latin1Decoder.decode(f).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw tarError(label, at + off, `${what} is not octal (${JSON.stringify(s)})`);
  return parseInt(s, 8);
}

function tarError(label: string, offset: number, message: string): InputFormatError {
  return new InputFormatError(`${label}: bad tar header in data.tar.xz: ${message} at uncompressed offset ${offset}`, { file: label, format: 'tar', offset });
}

function cStr(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(nul === -1 ? b : b.subarray(0, nul)).toString('utf8');
}

function tarType(flag: number): MemberType | null {
  switch (flag) {
    case 0:
    case 0x30: // '0'
    case 0x37: // '7' contiguous file
      return 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
      return 'dir';
    case 0x36:
      return 'fifo';
    default:
      return null;
  }
}

function cleanPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/** pax records: "<len> key=value\n"… */
function parsePax(b: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const s = Buffer.from(b).toString('utf8');
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(s.slice(i, sp));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Uncompressed bytes on demand from an xz file index, decoding (and caching) whole blocks. */
class BlockReader {
  private cache = new Map<number, Uint8Array>();
  decoded = new Set<number>();
  compressedBytesRead = 0;
  constructor(
    private readonly ra: RandomAccess,
    private readonly base: number,
    readonly index: XzFileIndex,
    private readonly label: string,
  ) {}

  async rawBlock(b: XzBlock): Promise<Uint8Array> {
    const raw = await readExactAt(this.ra, this.base + b.offset, b.totalSize, 'xz', `block ${b.index}`);
    this.compressedBytesRead += raw.length;
    return raw;
  }

  async block(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const b = this.index.blocks[i]!;
    const data = await decodeXzBlock(b, await this.rawBlock(b), this.label);
    this.decoded.add(i);
    // Keep only the last two blocks: a header may straddle a block boundary.
    if (this.cache.size >= 2) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(i, data);
    return data;
  }

  /** Hand over the cached decoded blocks among `wanted` and forget the rest (bounded memory). */
  takeCached(wanted: readonly XzBlock[]): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const b of wanted) {
      const d = this.cache.get(b.index);
      if (d) out.set(b.index, d);
    }
    this.cache.clear();
    return out;
  }

  /** Exactly `length` uncompressed bytes at `pos`, or fewer at the end of the data. */
  async read(pos: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const i = blockAt(this.index.blocks, pos + got);
      if (i < 0) break;
      const b = this.index.blocks[i]!;
      const data = await this.block(i);
      const from = pos + got - b.uncompressedOffset;
      const k = Math.min(length - got, data.length - from);
      out.set(data.subarray(from, from + k), got);
      got += k;
    }
    return got === length ? out : out.subarray(0, got);
  }
}

/** Walk tar headers until `stopAfter` selected regular files are located (or the archive ends). */
async function locateTarMembers(r: BlockReader, opts: PartialExtractOptions, maxHeaderBlocks: number): Promise<TarMember[] | null> {
  const wanted: TarMember[] = [];
  const stopAfter = opts.stopAfter!;
  const seen = new Map<string, TarMember>();
  let pos = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  for (;;) {
    if (r.decoded.size > maxHeaderBlocks) return null;
    const h = await r.read(pos, TAR_BLOCK);
    if (h.length < TAR_BLOCK) throw tarError(opts.label, pos, 'truncated header');
    if (h.every((x) => x === 0)) return wanted;
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    const stored = octal(h, 148, 8, 'chksum', opts.label, pos);
    if (stored !== sum) throw tarError(opts.label, pos, `header checksum ${stored} != ${sum}`);
    const flag = h[156]!;
    let size = octal(h, 124, 12, 'size', opts.label, pos);
    const dataOffset = pos + TAR_BLOCK;
    const next = dataOffset + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    if (flag === 0x4c || flag === 0x4b || flag === 0x78) {
      // GNU long name/link, or a pax header: its data applies to the next entry.
      if (size > 1 << 20) throw tarError(opts.label, pos, `extension header of ${size} bytes`);
      const data = await r.read(dataOffset, size);
      if (flag === 0x4c) longName = cStr(data);
      else if (flag === 0x4b) longLink = cStr(data);
      else pax = parsePax(data);
      pos = next;
      continue;
    }
    if (flag === 0x67) {
      pos = next; // pax global header: nothing kdbg needs
      continue;
    }
    const ustarPosix = latin1Decoder.decode(h.subarray(257, 263)) === 'ustar\0';
    let name = longName ?? cStr(h.subarray(0, 100));
    if (longName === null && ustarPosix && h[345] !== 0) name = `${cStr(h.subarray(345, 500))}/${name}`;
    if (pax['path'] !== undefined) name = pax['path'];
    if (pax['size'] !== undefined) size = Number(pax['size']);
    const link = pax['linkpath'] ?? longLink ?? cStr(h.subarray(157, 257));
    longName = null;
    longLink = null;
    pax = {};
    const type = tarType(flag);
    const m: TarMember = {
      path: cleanPath(name),
      size: type === 'file' ? size : 0,
      mode: octal(h, 100, 8, 'mode', opts.label, pos),
      type: type ?? 'file',
      linkTarget: type === 'symlink' || type === 'hardlink' ? link : null,
      dataOffset,
    };
    const realNext = dataOffset + Math.ceil((type === 'file' ? size : 0) / TAR_BLOCK) * TAR_BLOCK;
    if (type === 'file') seen.set(m.path, m);
    if (type !== null && opts.select(m)) {
      if (type === 'file') wanted.push(m);
      else if (type === 'symlink' || type === 'hardlink') {
        // Resolve inside the archive to a regular file seen earlier (Debian's
        // lib/modules/<rel>/vmlinux → ../../../boot/vmlinux-<rel>); anything else → streaming path.
        const target = type === 'hardlink' ? cleanPath(link) : posix.normalize(posix.join(posix.dirname(m.path), link));
        const t = seen.get(target);
        if (!t) return null;
        wanted.push({ ...t, path: m.path, mode: t.mode });
      } else if (type !== 'dir') return null;
    }
    if (wanted.length >= stopAfter) return wanted;
    pos = realNext;
  }
}

function safeJoin(destDir: string, path: string, label: string): string {
  const n = normalize(path);
  if (path === '' || n.startsWith('..') || n.startsWith('/') || n.split('/').includes('..')) {
    throw new UnsafePathError(`${label}: refusing member path ${JSON.stringify(path)} (escapes the target directory)`, { file: label, format: 'tar', found: path });
  }
  return join(destDir, n);
}

/** Find data.tar.* in a deb by positioned reads of the ar headers. */
async function findDebData(ra: RandomAccess, label: string): Promise<{ name: string; offset: number; size: number } | null> {
  const magic = await readExactAt(ra, 0, 8, 'ar', 'global header');
  if (latin1Decoder.decode(magic) !== '!<arch>\n') return null;
  const size = ra.size!;
  let off = 8;
  for (let i = 0; i < 64 && off + AR_HEADER_SIZE <= size; i++) {
    const h = await readExactAt(ra, off, AR_HEADER_SIZE, 'ar', 'member header');
    const d = decodeArHeader(ByteSource.fromBytes(h, label, 'ar'), h, off);
    const dataOffset = off + AR_HEADER_SIZE + d.bsdNameLength;
    if (d.ar_name.startsWith('data.tar')) return { name: d.ar_name, offset: dataOffset, size: d.ar_size };
    off = dataOffset + d.ar_size + ((d.ar_size + d.bsdNameLength) & 1);
  }
  return null;
}

/**
 * Extract the selected members of a package through positioned reads, touching only the xz blocks
 * that hold them. Returns null when the partial path does not apply (the caller streams instead).
 */
export async function tryPartialExtract(ra: RandomAccess, kind: 'rpm' | 'deb', opts: PartialExtractOptions): Promise<PartialExtractResult | null> {
  if (opts.stopAfter === undefined || opts.stopAfter < 1 || ra.size === null) return null;
  try {
    const located = kind === 'deb' ? await locateDeb(ra, opts) : await locateRpm(ra, opts);
    if (located === null) return null;
    const { reader, members, index } = located;
    const written: WrittenMember[] = [];
    const report: PartialExtractResult['partial']['members'] = [];
    for (const m of members) {
      const blocks = blocksForRange(index.blocks, m.dataOffset, m.dataOffset + m.size);
      report.push({ path: m.path, offset: m.dataOffset, size: m.size, firstBlock: blocks[0]?.index ?? -1, lastBlock: blocks.at(-1)?.index ?? -1 });
      written.push(await writeMember(m, blocks, reader, opts));
    }
    return {
      kind,
      compressor: 'xz',
      written,
      stoppedEarly: true,
      partial: {
        blocksTotal: index.blocks.length,
        blocksDecoded: reader.decoded.size,
        compressedBytesRead: reader.compressedBytesRead,
        uncompressedSize: index.uncompressedSize,
        members: report,
      },
    };
  } catch (e) {
    if (isRangeUnsupported(e)) return null;
    throw e;
  }
}

interface Located {
  reader: BlockReader;
  index: XzFileIndex;
  members: TarMember[];
}

async function locateDeb(ra: RandomAccess, opts: PartialExtractOptions): Promise<Located | null> {
  const data = await findDebData(ra, opts.label);
  if (!data || data.name !== 'data.tar.xz') return null;
  const index = await readXzIndex(ra, data.offset, data.size);
  if (index.blocks.length < 2) return null;
  const reader = new BlockReader(ra, data.offset, index, opts.label);
  const maxHeaderBlocks = Math.max(2, Math.floor(index.blocks.length * (opts.maxHeaderBlockShare ?? 0.5)));
  const members = await locateTarMembers(reader, opts, maxHeaderBlocks);
  if (members === null || members.length === 0) return null;
  return { reader, index, members };
}

/** Sequential chunks of a RandomAccess from `start` (for the streaming RPM header parser). */
async function* chunksOf(ra: RandomAccess, start: number, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  let pos = start;
  for (;;) {
    const b = await ra.readAt(pos, chunk);
    if (b.length === 0) return;
    pos += b.length;
    yield b;
  }
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * RPM with a multi-block xz payload (RHEL 8+/Fedora `w…T.xzdio`). The vmlinux is near the end of
 * the cpio (it is sorted by path), so walking cpio headers would decode nearly every block.
 * Instead the cpio offset of each wanted file is computed from the RPM header's file list (rpm
 * writes the payload in that order: newc header + "./"+path + NUL padded to 4, data padded to 4;
 * %ghost files are not in the payload) and then checked against the real cpio header found there
 * (magic, name, size). Any disagreement (hard-link sets, an unusual writer) → null → streaming.
 */
async function locateRpm(ra: RandomAccess, opts: PartialExtractOptions): Promise<Located | null> {
  const magic = await ra.readAt(0, 4);
  if (magic.length < 4 || magic[0] !== 0xed || magic[1] !== 0xab || magic[2] !== 0xee || magic[3] !== 0xdb) return null;
  const src = new ByteSource(chunksOf(ra, 0), opts.label, 'rpm');
  const head = await readRpmHead(src);
  await src.close();
  const info = head.info;
  if (info.payloadCompressor !== 'xz' || info.longFileSizes) return null;
  const index = await readXzIndex(ra, head.payloadOffset, ra.size! - head.payloadOffset);
  if (index.blocks.length < 2) return null;
  const reader = new BlockReader(ra, head.payloadOffset, index, opts.label);
  const members: TarMember[] = [];
  const inodes = new Set<string>();
  let pos = 0;
  for (const f of info.files) {
    if (f.flags & RPMFILE_GHOST) continue;
    const type = (f.mode & 0o170000) === 0o100000 ? 'file' : (f.mode & 0o170000) === 0o120000 ? 'symlink' : (f.mode & 0o170000) === 0o040000 ? 'dir' : null;
    if (type === 'file' && f.device !== null && f.inode !== null) {
      const key = `${f.device}:${f.inode}`;
      if (inodes.has(key)) return null; // a hard-link set: rpm moves the data to the last link
      inodes.add(key);
    }
    const name = `./${f.path}`;
    const nameSize = Buffer.byteLength(name) + 1;
    const dataOffset = align4(pos + CPIO_HEADER_SIZE + nameSize);
    const size = type === 'file' || type === 'symlink' ? f.size : 0;
    const m: TarMember = { path: f.path, size, mode: f.mode, type: type ?? 'file', linkTarget: type === 'symlink' ? f.linkTo : null, dataOffset };
    if (type === 'file' && opts.select(m)) {
      // Check the prediction against the real header before trusting it.
      const h = await reader.read(pos, CPIO_HEADER_SIZE + nameSize);
      if (h.length < CPIO_HEADER_SIZE + nameSize) return null;
      let hdr;
      try {
        hdr = parseCpioHeader(h, { label: opts.label, offset: pos });
      } catch {
        return null;
      }
      const storedName = latin1Decoder.decode(h.subarray(CPIO_HEADER_SIZE, CPIO_HEADER_SIZE + nameSize - 1));
      if (hdr.c_namesize !== nameSize || storedName !== name || hdr.c_filesize !== size) return null;
      members.push(m);
      if (members.length >= opts.stopAfter!) break;
    } else if (type !== 'file' && type !== 'dir' && opts.select(m)) {
      return null; // symlinks/devices selected: the streaming extractor knows the rules
    }
    pos = align4(dataOffset + size);
  }
  if (members.length === 0) return null;
  return { reader, index, members };
}

/**
 * Compressed blocks fetched ahead of their decode: when the decoder asks for block k, the fetches
 * of the next `ahead` blocks are already running (each its own Range request), so a freed decoder
 * slot starts at once instead of waiting a round trip plus a few MB of transfer. The raw bytes are
 * dropped as soon as the decoder has them.
 */
class RawPrefetcher {
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  private next = 0;
  constructor(
    private readonly reader: BlockReader,
    private readonly order: readonly XzBlock[],
    private readonly ahead: number,
  ) {}

  private fill(upTo: number): void {
    while (this.next < this.order.length && this.next <= upTo) {
      const b = this.order[this.next++]!;
      const p = this.reader.rawBlock(b);
      p.catch(() => undefined); // observed by take(); an early exit must not leave it unhandled
      this.pending.set(b.index, p);
    }
  }

  take(b: XzBlock): Promise<Uint8Array> {
    const i = this.order.indexOf(b);
    if (i < 0) return this.reader.rawBlock(b);
    this.fill(i + this.ahead);
    const p = this.pending.get(b.index)!;
    this.pending.delete(b.index);
    return p;
  }
}

/**
 * Write member `m` from the xz blocks that cover it. `concurrency` blocks decode at once, each
 * streaming its pieces straight to their place in the file (positional writes), so memory is
 * bounded by the decoders' dictionaries plus a piece each — not by whole decoded blocks (24 MiB
 * each in Debian's debs) waiting for their turn. The member's sha256 is computed in order by
 * reading back each block's slice once it and all before it are on disk (page cache), overlapping
 * the later blocks' decoding. The file is published only when every block passed its checks.
 */
async function writeMember(m: TarMember, blocks: XzBlock[], reader: BlockReader, opts: PartialExtractOptions): Promise<WrittenMember> {
  const final = safeJoin(opts.destDir, m.path, opts.label);
  await mkdir(dirname(final), { recursive: true });
  const tmp = `${final}.kdbg-partial-${process.pid}`;
  const fh = await open(tmp, 'w+', m.mode & 0o777 || 0o644);
  const hash = createHash('sha256');
  const start = m.dataOffset;
  const end = m.dataOffset + m.size;
  let written = 0;
  // Write the part of a decoded piece (at `at` in block b) that belongs to the member.
  const put = async (b: XzBlock, piece: Uint8Array, at: number): Promise<void> => {
    const lo = Math.max(start, b.uncompressedOffset + at);
    const hi = Math.min(end, b.uncompressedOffset + at + piece.length);
    if (hi <= lo) return;
    const slice = piece.subarray(lo - b.uncompressedOffset - at, hi - b.uncompressedOffset - at);
    let done = 0;
    while (done < slice.length) done += (await fh.write(slice, done, slice.length - done, lo - start + done)).bytesWritten;
    written += slice.length;
  };
  // In-order hashing of what is on disk: blocks[hashed] is the next block to hash.
  const complete = new Set<number>();
  let hashed = 0;
  let hashing: Promise<void> = Promise.resolve();
  const readBack = Buffer.allocUnsafe(1 << 20);
  const hashCompleted = (): void => {
    while (hashed < blocks.length && complete.has(blocks[hashed]!.index)) {
      const b = blocks[hashed++]!;
      const lo = Math.max(start, b.uncompressedOffset) - start;
      const hi = Math.min(end, b.uncompressedOffset + b.uncompressedSize) - start;
      hashing = hashing.then(async () => {
        for (let pos = lo; pos < hi; ) {
          const { bytesRead } = await fh.read(readBack, 0, Math.min(readBack.length, hi - pos), pos);
          if (bytesRead === 0) throw new IntegrityError(`${opts.label}: ${m.path}: short read back at ${pos} of the file being written`, { details: { file: opts.label, member: m.path } });
          hash.update(readBack.subarray(0, bytesRead));
          pos += bytesRead;
        }
      });
    }
  };
  try {
    const predecoded = reader.takeCached(blocks);
    // Two lanes more than cores: a lane waits for its raw block, its writes and the main thread
    // between decodes, and the spare lanes keep every core decoding meanwhile (Debian's vmlinux
    // on 2 cores: 2 lanes 4.0–4.5 s, 4 lanes 3.5–4.0 s, 16 MiB more RSS). Bounded by the pool.
    const concurrency = Math.max(1, opts.concurrency ?? Math.min(defaultDecodeConcurrency() + 2, threadPoolSize()));
    const raw = new RawPrefetcher(reader, blocks.filter((b) => !predecoded.has(b.index)), opts.prefetch ?? 2);
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      const decoder = new XzBlockDecoder(opts.label);
      try {
        while (!failed && next < blocks.length) {
          const b = blocks[next++]!;
          try {
            const ready = predecoded.get(b.index);
            predecoded.delete(b.index);
            if (ready) await put(b, ready, 0);
            else await decoder.decode(b, await raw.take(b), (piece, at) => put(b, piece, at), opts.signal);
          } catch (e) {
            failed = true;
            throw e;
          }
          reader.decoded.add(b.index);
          complete.add(b.index);
          hashCompleted();
          opts.onProgress?.({ kind: 'extract', name: opts.label, member: m.path, bytes: written });
        }
      } finally {
        await decoder.close();
      }
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, blocks.length) }, lane));
    const failure = lanes.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    await hashing.catch((e: unknown) => {
      if (!failure) throw e;
    });
    if (failure) throw failure.reason;
    if (written !== m.size || hashed !== blocks.length) {
      throw new IntegrityError(`${opts.label}: ${m.path}: wrote ${written} bytes, the archive header says ${m.size}`, { details: { file: opts.label, member: m.path } });
    }
    // No fsync here: `kdbg unpack` promises what tar and cpio promise, and the cache fsyncs
    // the whole entry before it publishes it (cache/fs-util.ts fsyncTree). 633 MB: ~0.3 s.
    await fh.close();
    await rename(tmp, final);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  return { member: { path: m.path, size: m.size, mode: m.mode, type: 'file', linkTarget: null }, path: final, sha256: hash.digest('hex') };
}

/** A local package as a RandomAccess, so `kdbg unpack` can take the same partial, parallel path. */
export { FileRandomAccess } from '../core/file-access.js';
