// The identify stage: name the kernel that wrote a crash dump by reading only its headers and
// notes (VMCOREINFO → kdump utsname → bounded banner scan), for every dump format kdbg knows:
// ELF vmcores, kdump-compressed (and DISKDUMP), makedumpfile-flattened (also on standard input),
// split parts, and vmcore-dmesg.txt. `kdbg fetch/analyze <dump>` build on identifyDump().

import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BytesRandomAccess, ByteSource, hex } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, InputNotFoundError, isKdbgError, TruncatedError, UsageError } from '../core/errors.js';
import type { DumpIdentity } from '../core/types.js';
import { elfMachineName, ET_CORE, isElf, NT_PRSTATUS, parseElfHeader, parseNotes, parseProgramHeaders, PT_NOTE, readElfSegmentNotes, readElfTables } from '../formats/elf.js';
import type { ElfHeader, ElfNote } from '../formats/elf.js';
import { applyFlatTailRecord, FlatIndexAccess, isFlattened, reassembleFlattenedFile, reassembleFlattenedStream } from '../formats/flattened.js';
import type { FlatImage } from '../formats/flattened.js';
import { DISKDUMP_SIGNATURE, KDUMP_HEADER_READ, kdumpCompression, kdumpSignature, parseKdumpHeader, parseKdumpSubHeader, readKdumpHeaders, SUB_HEADER_READ } from '../formats/kdump.js';
import type { KdumpHeader, KdumpSubHeader, NewUtsname } from '../formats/kdump.js';
import { parseVmcoreinfo, VMCOREINFO_MAX_BYTES, vmcoreinfoFacts } from '../formats/vmcoreinfo.js';
import { bannerFromDmesg, findBanner, looksLikeDmesg, packageVersionFrom, scanForBanner } from './banner.js';
import type { BannerHit } from './banner.js';
import { decompressWhole, detectWholeFileCompression } from './compressed.js';
import type { WholeFileCompression } from './compressed.js';
import { FileRandomAccess } from '../core/file-access.js';
import { scanKdumpPagesForBanner } from './kdump-pages.js';
import { elfPhysReader, elfVirtReader, kdumpPhysReader, kernelVirtToPhys, readInitUtsname } from './memory.js';

export { FileRandomAccess } from '../core/file-access.js';

/** Which part of a `makedumpfile --split` set a file is. */
export interface SplitInfo {
  /** 1-based; null when it cannot be told (stdin, sibling parts not found). */
  part: number | null;
  parts: number | null;
  /** The pfn range [startPfn, endPfn) stored in this part (decimal strings: may exceed 2^53). */
  startPfn: string;
  endPfn: string;
}

/** DumpIdentity plus what else identify learns (documented in docs/identify.md). */
export interface DumpIdentification extends DumpIdentity {
  /** Distribution package version from the banner/utsname ("6.1.192-2"), else null. */
  packageVersion: string | null;
  /** Number of NT_PRSTATUS notes (CPUs that saved registers), or the kdump header's nr_cpus. */
  cpus: number | null;
  /** For flattened input: the format inside ("elf64", "kdump-compressed"); else same as format. */
  container: string;
  /** kdump-compressed page compression: zlib, lzo, snappy, zstd, none. */
  compression: string | null;
  /** kdump-compressed header utsname (QEMU fills only machine). */
  utsname: NewUtsname | null;
  split: SplitInfo | null;
  /** Whole-file compression the dump was read through (vmcore.gz …), else null. */
  compressed: WholeFileCompression | null;
}

/** Bytes of standard input kept for non-flattened dumps (headers and notes are at the front). */
const STREAM_HEAD = 16 << 20;
/** Banner scan bound (files and standard input). */
const BANNER_SCAN_LIMIT = 256 << 20;
const NOTE_LIMIT = 64 << 20;

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
export async function identifyDump(pathOrDash: string, opts: { stdin?: AsyncIterable<Uint8Array> } = {}): Promise<DumpIdentification> {
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
    return await identifyRandomAccess(ra, path, { file: true });
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

interface Ctx {
  file: boolean;
  flattened?: boolean;
  /** The flattened file itself (for fallbacks that need page data beyond the window). */
  flatFile?: RandomAccess;
}

function emptyIdentity(path: string, format: DumpIdentity['format']): DumpIdentification {
  return {
    path,
    format,
    release: null,
    arch: null,
    buildId: null,
    crashTime: null,
    pageSize: null,
    kernelOffset: null,
    banner: null,
    source: null,
    vmcoreinfo: null,
    packageVersion: null,
    cpus: null,
    container: format,
    compression: null,
    utsname: null,
    split: null,
    compressed: null,
  };
}

async function identifyRandomAccess(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const head = await ra.readAt(0, 4096);
  if (head.length === 0) throw new TruncatedError(`${path}: empty input, not a crash dump`, { file: path, format: 'dump', offset: 0, expected: 'a dump header', found: '0 bytes' });
  if (isFlattened(head) && ctx.file && !ctx.flattened) {
    const image = await reassembleFlatHeaders(ra);
    return identifyRandomAccess(image, path, { file: true, flattened: true, flatFile: ra });
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
  const magic: [number[], string][] = [
    [[0x1f, 0x8b], 'gzip'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
    [[0x42, 0x5a, 0x68], 'bzip2'],
  ];
  for (const [m, name] of magic) {
    if (m.every((b, i) => head[i] === b)) {
      return new InputFormatError(`${path}: a ${name}-compressed file, not a crash dump as such`, { file: path, format: 'dump', offset: 0, found: name }, { hint: `decompress it and pass the result to kdbg (e.g. ${name === 'gzip' ? 'zcat' : name === 'bzip2' ? 'bzcat' : `${name} -dc`} FILE | kdbg identify -)` });
    }
  }
  return new InputFormatError(`${path}: not a crash dump: unrecognised first bytes ${hex(head.subarray(0, 8))} at offset 0 (expected ELF, "KDUMP   ", "DISKDUMP", "makedumpfile" or vmcore-dmesg text)`, {
    file: path,
    format: 'dump',
    offset: 0,
    expected: 'a vmcore signature',
    found: hex(head.subarray(0, 8)),
  });
}

function applyVmcoreinfo(id: DumpIdentification, entries: Record<string, string>): void {
  const f = vmcoreinfoFacts(entries);
  id.vmcoreinfo = entries;
  if (f.osrelease) {
    id.release = f.osrelease;
    id.source = 'vmcoreinfo';
  }
  id.buildId = f.buildId;
  id.pageSize = f.pageSize ?? id.pageSize;
  id.kernelOffset = f.kernelOffset;
  if (f.crashTime !== null) id.crashTime = new Date(f.crashTime * 1000).toISOString();
}

function applyBanner(id: DumpIdentification, hit: BannerHit): void {
  id.banner = hit.banner;
  if (id.release === null) {
    id.release = hit.release;
    id.source = 'banner-scan';
  }
  id.packageVersion ??= packageVersionFrom(hit.banner, id.release);
  id.arch ??= archFromRelease(id.release);
}

/** Architecture spelled in the release string (el7 `.x86_64`, Debian `-amd64`), else null. */
export function archFromRelease(release: string | null): string | null {
  if (!release) return null;
  const m = /[.-](x86_64|aarch64|ppc64le|ppc64|s390x|i686|i586|i386|armv7hl|riscv64)(?:\+\w+)?$/.exec(release);
  if (m) return m[1]!;
  const deb: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', '686': 'i686', '686-pae': 'i686', ppc64el: 'ppc64le', s390x: 's390x', armmp: 'armv7l', 'armmp-lpae': 'armv7l' };
  for (const [k, v] of Object.entries(deb)) if (release.endsWith(`-${k}`) || release.endsWith(`-cloud-${k}`) || release.endsWith(`-rt-${k}`)) return v;
  if (/-(generic|lowlatency|aws|azure|gcp|kvm|oracle)$/.test(release)) return null;
  return null;
}

/** utsname read from the kernel's memory (init_uts_ns). */
function applyUtsname(id: DumpIdentification, u: NewUtsname): void {
  id.utsname ??= u;
  if (id.utsname.version === '' && id.utsname.release === '') id.utsname = { ...u, machine: id.utsname.machine || u.machine };
  if (id.release === null && u.release) {
    id.release = u.release;
    id.source = 'utsname';
  }
  id.arch ??= u.machine || null;
  id.packageVersion ??= packageVersionFrom(u.version, id.release);
}

/** Records kdbg indexes at most to reach page data in a flattened file (~10 GB of 64 KiB records). */
const FLAT_INDEX_MAX_RECORDS = 200_000;

/** Where page data can be read: the file itself, a record index of a flattened file, or nothing (stdin flattened). */
async function memorySource(ra: RandomAccess, ctx: Ctx): Promise<RandomAccess | null> {
  if (ctx.flatFile) return optional(() => FlatIndexAccess.build(ctx.flatFile!, FLAT_INDEX_MAX_RECORDS));
  if (ctx.flattened) return null;
  return ra;
}

/** Enrichments must not turn a good identification into an error. */
async function optional<T>(f: () => Promise<T | null>): Promise<T | null> {
  try {
    return await f();
  } catch {
    return null;
  }
}

function vmcoreinfoFromNotes(notes: readonly ElfNote[]): Record<string, string> | null {
  const n = notes.find((x) => x.name === 'VMCOREINFO');
  if (!n) return null;
  return parseVmcoreinfo(n.desc, 'VMCOREINFO note', n.offset);
}

// ---------------------------------------------------------------------------------------------
// ELF

async function identifyElf(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const tables = await readElfTables(ra, { sections: false });
  const h = tables.header;
  if (h.e_type !== ET_CORE) {
    throw new InputFormatError(`${path}: an ELF file but not a core dump (e_type ${h.e_type} at offset 16${h.e_type === 2 || h.e_type === 3 ? ': a vmlinux or program?' : ''})`, {
      file: path,
      format: 'ELF',
      offset: 16,
      expected: '4 (ET_CORE)',
      found: String(h.e_type),
    });
  }
  const id = emptyIdentity(path, h.elfClass === 64 ? 'elf64' : 'elf32');
  id.arch = elfMachineName(h.e_machine, h.elfClass);
  const notes = await readElfSegmentNotes(ra, tables);
  id.cpus = notes.filter((n) => n.name === 'CORE' && n.n_type === NT_PRSTATUS).length;
  const vi = vmcoreinfoFromNotes(notes);
  if (vi) applyVmcoreinfo(id, vi);
  if (vi) {
    const mem = await memorySource(ra, ctx);
    if (mem) {
      const u = await optional(() => readInitUtsname(vi, id.arch, elfPhysReader(mem, tables.programHeaders), elfVirtReader(mem, tables.programHeaders)));
      if (u) applyUtsname(id, u);
    }
  }
  if (id.release === null) {
    const scanSrc = ctx.flatFile ? await FlatIndexAccess.build(ctx.flatFile) : ra;
    const firstLoad = Math.min(...tables.programHeaders.filter((p) => p.p_type === 1 && p.p_filesz > 0).map((p) => p.p_offset), Number.MAX_SAFE_INTEGER);
    const start = firstLoad === Number.MAX_SAFE_INTEGER ? 0 : firstLoad;
    const hit = await scanForBanner(scanSrc, { start, limit: BANNER_SCAN_LIMIT });
    if (hit) applyBanner(id, hit);
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// kdump-compressed

async function identifyKdump(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const { header: h, subHeader: s } = await readKdumpHeaders(ra);
  const id = emptyIdentity(path, 'kdump-compressed');
  id.utsname = h.utsname;
  id.compression = kdumpCompression(h.status);
  id.pageSize = h.block_size;
  id.cpus = h.nr_cpus > 0 ? h.nr_cpus : null;
  id.arch = h.utsname.machine || null;
  let vi: Record<string, string> | null = null;
  if (s && s.offset_vmcoreinfo !== null && s.size_vmcoreinfo !== null && s.size_vmcoreinfo > 0) {
    const size = boundedVmcoreinfoSize(s.size_vmcoreinfo, path, h);
    const text = await readChecked(ra, s.offset_vmcoreinfo, size, path, 'VMCOREINFO text (sub-header offset_vmcoreinfo)');
    vi = parseVmcoreinfo(text, path, s.offset_vmcoreinfo);
  }
  if (s && s.offset_note !== null && s.size_note !== null && s.size_note > 0) {
    if (s.size_note > NOTE_LIMIT) {
      throw new InputFormatError(`${path}: kdump sub-header size_note is ${s.size_note} at offset ${h.block_size + (h.abi === 64 ? 56 : 40)}, over the limit of ${NOTE_LIMIT}`, {
        file: path,
        format: 'kdump-compressed',
        offset: h.block_size,
      });
    }
    const nb = await readChecked(ra, s.offset_note, s.size_note, path, 'ELF notes copy (sub-header offset_note)');
    const notes = parseNotes(nb, h.endianness, path, { baseOffset: s.offset_note });
    const prs = notes.filter((n) => n.name === 'CORE' && n.n_type === NT_PRSTATUS).length;
    if (prs > 0) id.cpus = prs;
    vi ??= vmcoreinfoFromNotes(notes);
  }
  if (vi) applyVmcoreinfo(id, vi);
  // QEMU leaves the header's utsname empty: read the kernel's own init_uts_ns from the pages.
  if (vi && !h.utsname.version) {
    const mem = await memorySource(ra, ctx);
    if (mem) {
      const u = await optional(() => readInitUtsname(vi!, id.arch, kdumpPhysReader(mem, h), null));
      if (u) applyUtsname(id, u);
    }
  }
  if (id.release === null && h.utsname.release) {
    id.release = h.utsname.release;
    id.source = 'utsname';
  }
  // Old dumps without VMCOREINFO: the header timestamp is the crash time.
  if (id.crashTime === null && vi === null && h.timestamp.tv_sec > 0) id.crashTime = new Date(h.timestamp.tv_sec * 1000).toISOString();
  id.packageVersion ??= packageVersionFrom(h.utsname.version, id.release);
  if (s && s.split !== null && s.split !== 0) {
    const start = s.start_pfn_64 ?? s.start_pfn ?? 0n;
    const end = s.end_pfn_64 ?? s.end_pfn ?? 0n;
    id.format = 'split';
    id.split = { part: null, parts: null, startPfn: start.toString(), endPfn: end.toString() };
    if (ctx.file && !ctx.flattened) Object.assign(id.split, await splitPosition(path, h, s));
    else if (start === 0n) id.split.part = 1;
  }
  if (id.release === null) {
    const src = ctx.flatFile ? await FlatIndexAccess.build(ctx.flatFile) : ra;
    const r = await scanKdumpPagesForBanner(src, h);
    if (r.hit) applyBanner(id, r.hit);
  }
  id.arch ??= archFromRelease(id.release);
  return id;
}

function boundedVmcoreinfoSize(size: number, path: string, h: KdumpHeader): number {
  if (size > VMCOREINFO_MAX_BYTES) {
    throw new InputFormatError(`${path}: kdump sub-header size_vmcoreinfo is ${size} at offset ${h.block_size + (h.abi === 64 ? 40 : 28)}, over the limit of ${VMCOREINFO_MAX_BYTES}`, {
      file: path,
      format: 'kdump-compressed',
      offset: h.block_size + (h.abi === 64 ? 40 : 28),
      expected: `<= ${VMCOREINFO_MAX_BYTES}`,
      found: String(size),
    });
  }
  return size;
}

async function readChecked(ra: RandomAccess, offset: number, length: number, path: string, what: string): Promise<Uint8Array> {
  const b = await ra.readAt(offset, length);
  if (b.length < length) {
    throw new TruncatedError(`${path}: truncated kdump-compressed dump: ${what} needs ${length} bytes at offset ${offset}, only ${b.length} there`, {
      file: path,
      format: 'kdump-compressed',
      offset,
      expected: `${length} bytes`,
      found: `${b.length} bytes`,
    });
  }
  return b;
}

/**
 * Which part of a split set this file is: look for sibling files in the same directory that are
 * split parts of the same dump (same utsname, timestamp and max_mapnr), order them by start pfn.
 */
async function splitPosition(path: string, h: KdumpHeader, s: KdumpSubHeader): Promise<Partial<SplitInfo>> {
  const dir = dirname(path);
  const me = s.start_pfn_64 ?? s.start_pfn ?? 0n;
  const key = (x: KdumpHeader, y: KdumpSubHeader): string =>
    JSON.stringify([x.utsname, x.timestamp, (y.max_mapnr_64 ?? BigInt(x.max_mapnr)).toString(), x.block_size]);
  const mine = key(h, s);
  const ranges: { start: bigint; end: bigint; name: string }[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(dir)).slice(0, 512);
  } catch {
    return { part: me === 0n ? 1 : null };
  }
  for (const n of names) {
    const p = join(dir, n);
    let fh;
    try {
      if (n.startsWith('.')) continue;
      const st = await stat(p);
      if (!st.isFile() || st.size < 8192) continue;
      fh = await open(p, 'r');
      const ra = new FileRandomAccess(fh, p, st.size);
      const hb = await ra.readAt(0, KDUMP_HEADER_READ);
      if (!kdumpSignature(hb)) continue;
      const oh = parseKdumpHeader(hb, p);
      if (oh.signature === DISKDUMP_SIGNATURE) continue;
      const os = parseKdumpSubHeader(await ra.readAt(oh.block_size, SUB_HEADER_READ), oh, p);
      if (!os.split || key(oh, os) !== mine) continue;
      ranges.push({ start: os.start_pfn_64 ?? os.start_pfn ?? 0n, end: os.end_pfn_64 ?? os.end_pfn ?? 0n, name: n });
    } catch {
      continue;
    } finally {
      await fh?.close();
    }
  }
  // Parts with equal (possibly empty) ranges keep the order of their names (dump.1, dump.2, …).
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : a.name.localeCompare(b.name, 'en', { numeric: true })));
  const idx = ranges.findIndex((r) => r.name === basename(path));
  const max = s.max_mapnr_64 ?? BigInt(h.max_mapnr);
  // A complete set chains from pfn 0 to max_mapnr without gaps.
  const complete = ranges.length > 0 && ranges[0]!.start === 0n && ranges[ranges.length - 1]!.end === max && ranges.every((r, i) => i === 0 || r.start === ranges[i - 1]!.end);
  return { part: complete && idx !== -1 ? idx + 1 : me === 0n ? 1 : null, parts: complete ? ranges.length : null };
}

// ---------------------------------------------------------------------------------------------
// vmcore-dmesg.txt

async function identifyDmesg(ra: RandomAccess, path: string): Promise<DumpIdentification> {
  const id = emptyIdentity(path, 'dmesg');
  const hit = await scanForBanner(ra, { limit: 64 << 20, chunk: 1 << 20 });
  if (!hit) {
    throw new InputFormatError(`${path}: kernel log text without a "Linux version" banner line (scanned the first ${64} MiB)`, { file: path, format: 'dmesg', offset: 0, expected: 'a "Linux version …" line' });
  }
  applyBanner(id, hit);
  return id;
}

// ---------------------------------------------------------------------------------------------
// flattened: when has the header window enough to stop reading?

function flatDone(img: FlatImage): boolean {
  const head = img.bytesAt(0, 64);
  if (!head) return false;
  try {
    if (isElf(head)) return elfDone(img, parseElfHeader(head, img.label));
    if (kdumpSignature(head)) return kdumpDone(img);
  } catch {
    return false;
  }
  return false;
}

/** The header window of a flattened file: records replayed until headers and notes are in. */
async function reassembleFlatHeaders(ra: RandomAccess): Promise<FlatImage> {
  let image = await reassembleFlattenedFile(ra, { done: (img) => flatDone(img) || elfTrap(img) !== null });
  const trap = flatDone(image) ? null : elfTrap(image);
  if (trap) {
    // -F -E: take the real program headers from the tail, then read on for the notes.
    if (await applyFlatTailRecord(ra, image, trap.offset, trap.size)) image = await reassembleFlattenedFile(ra, { image, done: flatDone });
    else image = await reassembleFlattenedFile(ra, { done: flatDone });
  }
  return image;
}

/** The zero program header table of a makedumpfile -F -E stream, once seen. */
function elfTrap(img: FlatImage): { offset: number; size: number } | null {
  const head = img.bytesAt(0, 64);
  if (!head || !isElf(head)) return null;
  try {
    const h = parseElfHeader(head, img.label);
    if (h.e_phnum === 0xffff || h.e_phnum === 0) return null;
    const size = h.e_phnum * (h.elfClass === 64 ? 56 : 32);
    const table = img.bytesAt(h.e_phoff, size);
    return table && table.every((b) => b === 0) ? { offset: h.e_phoff, size } : null;
  } catch {
    return null;
  }
}

function elfDone(img: FlatImage, h: ElfHeader): boolean {
  if (h.e_phnum === 0xffff) return false; // needs section 0: read to the end
  const ent = h.elfClass === 64 ? 56 : 32;
  const table = img.bytesAt(h.e_phoff, h.e_phnum * ent);
  // makedumpfile -F -E writes the program headers as zeros first and the real ones last.
  if (!table || table.every((b) => b === 0)) return false;
  const phs = parseProgramHeaders(table, h, { offset: h.e_phoff, label: img.label });
  return phs.filter((p) => p.p_type === PT_NOTE).every((p) => img.covers(p.p_offset, p.p_filesz));
}

function kdumpDone(img: FlatImage): boolean {
  const hb = img.bytesAt(0, KDUMP_HEADER_READ) ?? img.bytesAt(0, 452);
  if (!hb) return false;
  const h = parseKdumpHeader(hb, img.label);
  if (h.signature === DISKDUMP_SIGNATURE || h.sub_hdr_size === 0) return true;
  const sb = img.bytesAt(h.block_size, SUB_HEADER_READ);
  if (!sb) return false;
  const s = parseKdumpSubHeader(sb, h, img.label);
  if (s.size_vmcoreinfo && s.offset_vmcoreinfo !== null && !img.covers(s.offset_vmcoreinfo, s.size_vmcoreinfo)) return false;
  if (s.size_note && s.offset_note !== null && !img.covers(s.offset_note, s.size_note)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------

function errnoText(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? String(e);
}

/** Any non-KdbgError from reading (EIO, EISDIR on read) becomes a one-line input error. */
function wrapUnexpected(e: unknown, path: string): unknown {
  if (isKdbgError(e)) return e;
  const code = (e as { code?: string }).code;
  if (typeof code === 'string') return new InputNotFoundError(`${path}: cannot read (${errnoText(e)})`, { details: { file: path }, cause: e });
  if (e instanceof RangeError) {
    return new InputFormatError(`${path}: malformed dump (${e.message})`, { file: path, format: 'dump' }, { cause: e });
  }
  return e;
}

/** Human-readable one-screen summary (the CLI prints it). */
export function formatIdentity(id: DumpIdentification): string[] {
  const lines: string[] = [];
  const fmt = id.format === 'flattened' || (id.format === 'split' && id.container !== 'kdump-compressed' && id.container !== 'split') ? `${id.format} (${id.container})` : id.format;
  lines.push(`dump:           ${id.path}`);
  lines.push(`format:         ${fmt}${id.compression ? `, pages ${id.compression}` : ''}`);
  if (id.split) lines.push(`split:          part ${id.split.part ?? '?'} of ${id.split.parts ?? '?'} (pfn ${id.split.startPfn}–${id.split.endPfn})`);
  lines.push(`release:        ${id.release ?? 'unknown'}${id.source ? `  (from ${id.source})` : ''}`);
  lines.push(`arch:           ${id.arch ?? 'unknown'}`);
  lines.push(`build-id:       ${id.buildId ?? 'none'}`);
  if (id.utsname?.version) lines.push(`uts version:    ${id.utsname.version}`);
  if (id.packageVersion) lines.push(`package:        ${id.packageVersion}`);
  lines.push(`crash time:     ${id.crashTime ?? 'not recorded'}`);
  if (id.pageSize !== null) lines.push(`page size:      ${id.pageSize}`);
  if (id.kernelOffset !== null) lines.push(`kernel offset:  0x${id.kernelOffset}`);
  if (id.cpus !== null) lines.push(`cpus:           ${id.cpus}`);
  if (id.banner) lines.push(`banner:         ${id.banner}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Kernel memory of a dump, for stages that compare it with a vmlinux (verify: linux_banner at the
// vmlinux's symbol address, as crash does before it accepts a vmlinux).

export interface DumpMemory {
  identity: DumpIdentification;
  /**
   * Read kernel-image virtual memory: a vmlinux symbol address plus the dump's KASLR offset
   * (`identity.kernelOffset`). Null when the dump does not hold those bytes (filtered page,
   * snappy page, address outside the kernel image on an arch kdbg cannot translate).
   */
  readKernel(vaddr: bigint, length: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** Open a dump file (ELF, kdump-compressed, flattened, split part) for kernel-memory reads. */
export async function openDumpMemory(path: string): Promise<DumpMemory> {
  const identity = await identifyDump(path);
  if (path === '-' || identity.format === 'dmesg' || identity.compressed) {
    throw new InputFormatError(`${path}: ${identity.format === 'dmesg' ? 'a kernel log, not a memory dump' : 'memory reads need a seekable, uncompressed dump file'}`, { file: path, format: identity.format });
  }
  const st = await stat(path);
  const fh = await open(path, 'r');
  try {
    const file = new FileRandomAccess(fh, path, st.size);
    const flat = isFlattened(await file.readAt(0, 16));
    // Headers from the replayed header window (exact: last writer wins); page data through the
    // lazy record index.
    const headers: RandomAccess = flat ? await reassembleFlatHeaders(file) : file;
    const ra: RandomAccess = flat ? await FlatIndexAccess.build(file) : file;
    const head = await headers.readAt(0, 64);
    let phys: PhysReaderFn | null = null;
    let virt: PhysReaderFn | null = null;
    if (isElf(head)) {
      const tables = await readElfTables(headers, { sections: false });
      phys = elfPhysReader(ra, tables.programHeaders);
      virt = elfVirtReader(ra, tables.programHeaders);
    } else {
      const { header } = await readKdumpHeaders(headers);
      phys = kdumpPhysReader(ra, header);
    }
    const vi = identity.vmcoreinfo ?? {};
    return {
      identity,
      readKernel: async (vaddr, length) => {
        const v = virt ? await optional(() => virt!(vaddr, length)) : null;
        if (v) return v;
        const pa = kernelVirtToPhys(vaddr, identity.arch, vi);
        return pa === null || !phys ? null : optional(() => phys!(pa, length));
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw wrapUnexpected(e, path);
  }
}

type PhysReaderFn = (addr: bigint, length: number) => Promise<Uint8Array | null>;
