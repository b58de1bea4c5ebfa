// kdump-compressed ("diskdump") dumps written by makedumpfile (-c/-l/-p/-z and uncompressed) and
// QEMU, plus the old "DISKDUMP" files. The header is a raw C struct in the crashed machine's byte
// order and ABI (32/64-bit), so both are detected from plausibility checks, as libkdumpfile
// does. utsname sits at the same offsets in every variant. Layout: formats.md §A.2.

import { boundedLength, dataView, readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, TruncatedError } from '../core/errors.js';
import type { Endianness } from './elf.js';

export const KDUMP_SIGNATURE = 'KDUMP   ';
export const DISKDUMP_SIGNATURE = 'DISKDUMP';
const FORMAT = 'kdump-compressed';

/** sizeof(struct disk_dump_header) for the 64-bit ABI; the 32-bit one is 452. */
export const KDUMP_HEADER_SIZE_64 = 464;
export const KDUMP_HEADER_SIZE_32 = 452;
/** Bytes to read at offset 0 to parse any header variant. */
export const KDUMP_HEADER_READ = 464;

export const DUMP_DH_COMPRESSED_ZLIB = 0x1;
export const DUMP_DH_COMPRESSED_LZO = 0x2;
export const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
export const DUMP_DH_COMPRESSED_INCOMPLETE = 0x8;
export const DUMP_DH_EXCLUDED_VMEMMAP = 0x10;
export const DUMP_DH_COMPRESSED_ZSTD = 0x20;

export interface NewUtsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

export interface KdumpHeader {
  signature: typeof KDUMP_SIGNATURE | typeof DISKDUMP_SIGNATURE;
  header_version: number;
  utsname: NewUtsname;
  /** Word size of the crashed machine's ABI, as detected. */
  abi: 32 | 64;
  endianness: Endianness;
  timestamp: { tv_sec: number; tv_usec: number };
  status: number;
  block_size: number;
  sub_hdr_size: number;
  bitmap_blocks: number;
  max_mapnr: number;
  total_ram_blocks: number;
  device_blocks: number;
  written_blocks: number;
  current_cpu: number;
  nr_cpus: number;
}

export type KdumpSubHeaderLayout = '64' | '32pack' | '32pad';

export interface KdumpSubHeader {
  layout: KdumpSubHeaderLayout;
  phys_base: bigint;
  dump_level: number | null;
  split: number | null;
  start_pfn: bigint | null;
  end_pfn: bigint | null;
  offset_vmcoreinfo: number | null;
  size_vmcoreinfo: number | null;
  offset_note: number | null;
  size_note: number | null;
  offset_eraseinfo: number | null;
  size_eraseinfo: number | null;
  start_pfn_64: bigint | null;
  end_pfn_64: bigint | null;
  max_mapnr_64: bigint | null;
}

function latin1(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder('latin1').decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** The signature at offset 0, or null. */
export function kdumpSignature(bytes: Uint8Array): KdumpHeader['signature'] | null {
  if (bytes.length < 8) return null;
  const s = latin1(bytes.subarray(0, 8).map((b) => (b === 0 ? 0x20 : b)));
  if (s === KDUMP_SIGNATURE || s === 'KDUMP') return KDUMP_SIGNATURE;
  if (s === DISKDUMP_SIGNATURE) return DISKDUMP_SIGNATURE;
  return null;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Parse the utsname at offset 12 (identical in every ABI). */
export function parseUtsname(bytes: Uint8Array, at = 12): NewUtsname {
  const f = (i: number): string => latin1(bytes.subarray(at + i * 65, at + (i + 1) * 65));
  return { sysname: f(0), nodename: f(1), release: f(2), version: f(3), machine: f(4), domainname: f(5) };
}

/**
 * Parse disk_dump_header. Needs KDUMP_HEADER_READ bytes (452 suffice for a 32-bit dump). The ABI
 * and byte order are those for which block_size is a power of two in [512, 1 MiB] and the bitmap
 * can hold max_mapnr (libkdumpfile's test); 64-bit LE is preferred when several fit.
 */
export function parseKdumpHeader(bytes: Uint8Array, label = 'input'): KdumpHeader {
  const signature = kdumpSignature(bytes);
  if (signature === null) {
    throw new InputFormatError(`${label}: not a kdump-compressed file: bad signature at offset 0`, {
      file: label,
      format: FORMAT,
      offset: 0,
      expected: '"KDUMP   " or "DISKDUMP"',
      found: JSON.stringify(latin1(bytes.subarray(0, 8))),
    });
  }
  if (bytes.length < KDUMP_HEADER_SIZE_32) {
    throw new TruncatedError(`${label}: truncated kdump-compressed header: needs ${KDUMP_HEADER_SIZE_32} bytes at offset 0, only ${bytes.length} there`, {
      file: label,
      format: FORMAT,
      offset: 0,
      expected: `${KDUMP_HEADER_SIZE_32} bytes`,
      found: `${bytes.length} bytes`,
    });
  }
  const dv = dataView(bytes);
  const candidates: { abi: 32 | 64; le: boolean }[] = [
    { abi: 64, le: true },
    { abi: 64, le: false },
    { abi: 32, le: true },
    { abi: 32, le: false },
  ];
  let fallback: KdumpHeader | null = null;
  for (const c of candidates) {
    const need = c.abi === 64 ? KDUMP_HEADER_SIZE_64 : KDUMP_HEADER_SIZE_32;
    if (bytes.length < need) continue;
    const b = c.abi === 64 ? 424 : 412; // offset of status
    const tv_sec = c.abi === 64 ? Number(dv.getBigInt64(408, c.le)) : dv.getInt32(404, c.le);
    const tv_usec = c.abi === 64 ? Number(dv.getBigInt64(416, c.le)) : dv.getInt32(408, c.le);
    const h: KdumpHeader = {
      signature,
      header_version: dv.getInt32(8, c.le),
      utsname: parseUtsname(bytes),
      abi: c.abi,
      endianness: c.le ? 'le' : 'be',
      timestamp: { tv_sec, tv_usec },
      status: dv.getUint32(b, c.le),
      block_size: dv.getInt32(b + 4, c.le),
      sub_hdr_size: dv.getInt32(b + 8, c.le),
      bitmap_blocks: dv.getUint32(b + 12, c.le),
      max_mapnr: dv.getUint32(b + 16, c.le),
      total_ram_blocks: dv.getUint32(b + 20, c.le),
      device_blocks: dv.getUint32(b + 24, c.le),
      written_blocks: dv.getUint32(b + 28, c.le),
      current_cpu: dv.getUint32(b + 32, c.le),
      nr_cpus: dv.getInt32(b + 36, c.le),
    };
    const bsOk = isPow2(h.block_size) && h.block_size >= 512 && h.block_size <= 1 << 20;
    if (!bsOk) continue;
    const versionOk = h.header_version >= 0 && h.header_version < 1000;
    const subOk = h.sub_hdr_size >= 0 && h.sub_hdr_size < 1 << 16;
    if (!versionOk || !subOk) continue;
    // 8 × bitmap_blocks × block_size ≥ max_mapnr (both bitmaps together hold 2 bits per pfn).
    if (8 * h.bitmap_blocks * h.block_size >= h.max_mapnr) return h;
    fallback ??= h;
  }
  if (fallback) return fallback;
  throw new InputFormatError(`${label}: kdump-compressed header has no plausible block_size (checked 64/32-bit, LE/BE layouts at offsets 428/416)`, {
    file: label,
    format: FORMAT,
    offset: 428,
    expected: 'a power of two in [512, 1 MiB]',
    found: String(dv.getInt32(428, true)),
  });
}

/** sizeof(kdump_sub_header) in each layout (for header_version 6). */
export const SUB_HEADER_SIZE: Record<KdumpSubHeaderLayout, number> = { '64': 104, '32pack': 80, '32pad': 96 };

/**
 * Parse kdump_sub_header (at file offset block_size) for a "KDUMP" header. Fields newer than
 * header_version are null. For 32-bit dumps the packed (i386, QEMU) and padded (ARM/MIPS
 * makedumpfile) layouts are told apart by where offset_vmcoreinfo points (libkdumpfile).
 */
export function parseKdumpSubHeader(bytes: Uint8Array, hdr: KdumpHeader, label = 'input'): KdumpSubHeader {
  const le = hdr.endianness === 'le';
  const dv = dataView(bytes);
  const v = hdr.header_version;
  const base = hdr.block_size;
  const need = (n: number, layout: KdumpSubHeaderLayout): void => {
    if (bytes.length < n) {
      throw new TruncatedError(`${label}: truncated kdump sub-header (${layout}, version ${v}): needs ${n} bytes at offset ${base}, only ${bytes.length} there`, {
        file: label,
        format: FORMAT,
        offset: base,
        expected: `${n} bytes`,
        found: `${bytes.length} bytes`,
      });
    }
  };
  const num = (x: bigint, field: string, off: number): number => boundedLength(x, Number.MAX_SAFE_INTEGER, { label, format: FORMAT, field, offset: base + off });
  const empty = (layout: KdumpSubHeaderLayout): KdumpSubHeader => ({
    layout,
    phys_base: 0n,
    dump_level: null,
    split: null,
    start_pfn: null,
    end_pfn: null,
    offset_vmcoreinfo: null,
    size_vmcoreinfo: null,
    offset_note: null,
    size_note: null,
    offset_eraseinfo: null,
    size_eraseinfo: null,
    start_pfn_64: null,
    end_pfn_64: null,
    max_mapnr_64: null,
  });
  if (hdr.abi === 64) {
    const sizes = [8, 12, 32, 48, 64, 80, 104];
    need(sizes[Math.min(v, 6)] ?? 104, '64');
    const s = empty('64');
    s.phys_base = dv.getBigUint64(0, le);
    if (v >= 1) s.dump_level = dv.getInt32(8, le);
    if (v >= 2) {
      s.split = dv.getInt32(12, le);
      s.start_pfn = dv.getBigUint64(16, le);
      s.end_pfn = dv.getBigUint64(24, le);
    }
    if (v >= 3) {
      s.offset_vmcoreinfo = num(dv.getBigUint64(32, le), 'offset_vmcoreinfo', 32);
      s.size_vmcoreinfo = num(dv.getBigUint64(40, le), 'size_vmcoreinfo', 40);
    }
    if (v >= 4) {
      s.offset_note = num(dv.getBigUint64(48, le), 'offset_note', 48);
      s.size_note = num(dv.getBigUint64(56, le), 'size_note', 56);
    }
    if (v >= 5) {
      s.offset_eraseinfo = num(dv.getBigUint64(64, le), 'offset_eraseinfo', 64);
      s.size_eraseinfo = num(dv.getBigUint64(72, le), 'size_eraseinfo', 72);
    }
    if (v >= 6) {
      s.start_pfn_64 = dv.getBigUint64(80, le);
      s.end_pfn_64 = dv.getBigUint64(88, le);
      s.max_mapnr_64 = dv.getBigUint64(96, le);
    }
    return s;
  }
  const parse32 = (layout: '32pack' | '32pad'): KdumpSubHeader => {
    const pad = layout === '32pad';
    // Offsets of each group in the two layouts (formats.md §A.2 table).
    const o = pad
      ? { vi: 24, vis: 32, note: 40, notes: 48, er: 56, ers: 64, s64: 72, e64: 80, m64: 88, end: [4, 8, 20, 36, 52, 68, 96] }
      : { vi: 20, vis: 28, note: 32, notes: 40, er: 44, ers: 52, s64: 56, e64: 64, m64: 72, end: [4, 8, 20, 32, 44, 56, 80] };
    need(o.end[Math.min(v, 6)] ?? 96, layout);
    const s = empty(layout);
    s.phys_base = BigInt(dv.getUint32(0, le));
    if (v >= 1) s.dump_level = dv.getInt32(4, le);
    if (v >= 2) {
      s.split = dv.getInt32(8, le);
      s.start_pfn = BigInt(dv.getUint32(12, le));
      s.end_pfn = BigInt(dv.getUint32(16, le));
    }
    if (v >= 3) {
      s.offset_vmcoreinfo = num(dv.getBigUint64(o.vi, le), 'offset_vmcoreinfo', o.vi);
      s.size_vmcoreinfo = dv.getUint32(o.vis, le);
    }
    if (v >= 4) {
      s.offset_note = num(dv.getBigUint64(o.note, le), 'offset_note', o.note);
      s.size_note = dv.getUint32(o.notes, le);
    }
    if (v >= 5) {
      s.offset_eraseinfo = num(dv.getBigUint64(o.er, le), 'offset_eraseinfo', o.er);
      s.size_eraseinfo = dv.getUint32(o.ers, le);
    }
    if (v >= 6) {
      s.start_pfn_64 = dv.getBigUint64(o.s64, le);
      s.end_pfn_64 = dv.getBigUint64(o.e64, le);
      s.max_mapnr_64 = dv.getBigUint64(o.m64, le);
    }
    return s;
  };
  if (v < 3) return parse32('32pack');
  // Pack is right when offset_vmcoreinfo is 0/0 or points into the sub-header blocks.
  const lo = hdr.block_size;
  const hi = (1 + hdr.sub_hdr_size) * hdr.block_size;
  if (bytes.length >= 32) {
    const off = dv.getBigUint64(20, le);
    const size = dv.getUint32(28, le);
    if ((off === 0n && size === 0) || (off > BigInt(lo) && off <= BigInt(hi))) return parse32('32pack');
  }
  return parse32('32pad');
}

/** Bytes of the sub-header kdbg reads (enough for every layout and version). */
export const SUB_HEADER_READ = 104;

export interface KdumpHeaders {
  header: KdumpHeader;
  /** Null for "DISKDUMP" files (arch-specific sub-header without VMCOREINFO). */
  subHeader: KdumpSubHeader | null;
}

/** Read header and sub-header through positioned reads (two small reads). */
export async function readKdumpHeaders(src: RandomAccess): Promise<KdumpHeaders> {
  const hb = await src.readAt(0, KDUMP_HEADER_READ);
  const header = parseKdumpHeader(hb, src.label);
  if (header.signature === DISKDUMP_SIGNATURE || header.sub_hdr_size === 0) return { header, subHeader: null };
  const sb = await src.readAt(header.block_size, SUB_HEADER_READ);
  if (sb.length === 0) await readExactAt(src, header.block_size, 4, FORMAT, 'sub-header');
  const subHeader = parseKdumpSubHeader(sb, header, src.label);
  return { header, subHeader };
}

/** Names of the compression bits set in `status`. */
export function kdumpCompression(status: number): string {
  if (status & DUMP_DH_COMPRESSED_ZLIB) return 'zlib';
  if (status & DUMP_DH_COMPRESSED_LZO) return 'lzo';
  if (status & DUMP_DH_COMPRESSED_SNAPPY) return 'snappy';
  if (status & DUMP_DH_COMPRESSED_ZSTD) return 'zstd';
  return 'none';
}

/** One kdump page descriptor (24 bytes). */
export interface PageDesc {
  offset: number;
  size: number;
  flags: number;
  page_flags: bigint;
}

/** Parse `count` page descriptors from bytes. */
export function parsePageDescs(bytes: Uint8Array, endianness: Endianness): PageDesc[] {
  const dv = dataView(bytes);
  const le = endianness === 'le';
  const out: PageDesc[] = [];
  for (let o = 0; o + 24 <= bytes.length; o += 24) {
    const off = dv.getBigInt64(o, le);
    out.push({
      offset: off < 0n || off > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(off),
      size: dv.getUint32(o + 8, le),
      flags: dv.getUint32(o + 12, le),
      page_flags: dv.getBigUint64(o + 16, le),
    });
  }
  return out;
}

/** File offset of the first page descriptor. */
export function pageDescStart(h: KdumpHeader): number {
  return (1 + h.sub_hdr_size + h.bitmap_blocks) * h.block_size;
}
