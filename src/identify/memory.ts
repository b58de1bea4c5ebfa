// Reading a few bytes of the crashed kernel's memory out of a dump: physical address → file bytes
// through ELF PT_LOAD segments or the kdump bitmap + page descriptors. Used to read init_uts_ns
// (the running kernel's utsname: release, and the UTS version carrying the package version, e.g.
// "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)") when a dump's headers lack it (QEMU).

import type { RandomAccess } from '../core/byte-source.js';
import type { ElfProgramHeader } from '../formats/elf.js';
import { pageDescStart, parsePageDescs } from '../formats/kdump.js';
import { CachedRandomAccess } from '../core/read-cache.js';
import type { KdumpHeader, NewUtsname } from '../formats/kdump.js';
import { decodeKdumpPage, zstdReady } from './kdump-page.js';

/** Reads physical memory; null when the dump does not hold (or cannot decode) those bytes. */
export type PhysReader = (paddr: bigint, length: number) => Promise<Uint8Array | null>;

const MASK64 = (1n << 64n) - 1n;
const START_KERNEL_MAP = 0xffffffff80000000n;

/** Kernel-image virtual address → physical, from VMCOREINFO (x86_64 phys_base, arm64 kimage_voffset). */
export function kernelVirtToPhys(vaddr: bigint, arch: string | null, vi: Record<string, string>): bigint | null {
  const kv = vi['NUMBER(kimage_voffset)'];
  if ((arch === 'aarch64' || arch === null) && kv !== undefined) {
    const off = parseBig(kv, true);
    return off === null ? null : (vaddr - off) & MASK64;
  }
  if (arch === 'x86_64' && vaddr >= START_KERNEL_MAP) {
    const pb = parseBig(vi['NUMBER(phys_base)'] ?? '0', false) ?? 0n;
    return (vaddr - START_KERNEL_MAP + pb) & MASK64;
  }
  return null;
}

function parseBig(s: string, hexDefault: boolean): bigint | null {
  const t = s.trim();
  try {
    if (/^-?0x[0-9a-f]+$/i.test(t)) return t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
    if (hexDefault && /^[0-9a-f]+$/i.test(t)) return BigInt(`0x${t}`);
    if (/^-?\d+$/.test(t)) return BigInt(t);
  } catch {
    return null;
  }
  return null;
}

/** Physical reads through ELF PT_LOAD segments (p_paddr), or by virtual address when asked. */
export function elfPhysReader(ra: RandomAccess, phdrs: readonly ElfProgramHeader[]): PhysReader {
  // Each segment's ends computed once, and an indexed loop: a read (one per page of the log ring)
  // used to make two BigInts and an iterator result per segment it looked at.
  const loads = phdrs.filter((p) => p.p_type === 1 && p.p_filesz > 0).map((p) => ({ p, start: p.p_paddr, end: p.p_paddr + BigInt(p.p_filesz) }));
  return async (paddr, length) => {
    const last = paddr + BigInt(length);
    for (let i = 0; i < loads.length; i++) {
      const l = loads[i]!;
      if (paddr >= l.start && last <= l.end) {
        const b = await ra.readAt(l.p.p_offset + Number(paddr - l.start), length);
        return b.length === length ? b : null;
      }
    }
    return null;
  };
}

/** Virtual reads through PT_LOADs that map kernel virtual addresses (/proc/vmcore has them). */
export function elfVirtReader(ra: RandomAccess, phdrs: readonly ElfProgramHeader[]): PhysReader {
  const loads = phdrs.filter((p) => p.p_type === 1 && p.p_filesz > 0).map((p) => ({ p, start: p.p_vaddr, end: p.p_vaddr + BigInt(p.p_filesz) }));
  return async (vaddr, length) => {
    const last = vaddr + BigInt(length);
    for (let i = 0; i < loads.length; i++) {
      const l = loads[i]!;
      if (vaddr >= l.start && last <= l.end) {
        const b = await ra.readAt(l.p.p_offset + Number(vaddr - l.start), length);
        return b.length === length ? b : null;
      }
    }
    return null;
  };
}

/** Bitmap bytes kdbg reads at most to locate one page (covers 2^31 pfns = 8 TiB of 4 KiB pages). */
const MAX_BITMAP_READ = 256 << 20;

/**
 * Physical reads through one kdump-compressed file (or one part of a --split set, which stores
 * the pages of [startPfn, endPfn) but carries the whole bitmap). A page's descriptor index is
 * the number of dumped pages (2nd bitmap) from startPfn up to it; running counts are kept per
 * 64 bytes of bitmap so each page costs one bitmap block and one descriptor read.
 */
export function kdumpPhysReader(raw: RandomAccess, h: KdumpHeader, startPfn = 0n, endPfn: bigint | null = null): PhysReader {
  // Descriptors (24 bytes) and page data lie close together in file order, and makedumpfile stores
  // one zero page that every zero page's descriptor points at: through 1 MiB blocks the oops dump's
  // log costs 17 reads in all instead of 307 (123 of them the same zero page; strace), and `kdbg
  // log` on it 0.15 s instead of 0.20 s (median of 10, load 6).
  const ra = raw instanceof CachedRandomAccess ? raw : new CachedRandomAccess(raw);
  const bs = h.block_size;
  const bitmapLen = (h.bitmap_blocks * bs) / 2;
  const bitmap2 = (1 + h.sub_hdr_size) * bs + bitmapLen;
  // Dumped-page counts are kept per CH bytes of bitmap (CH*8 pfns), built only as far as a page
  // asks: counting a whole 4 KiB chunk for each page read was 1.2 M table lookups in the
  // interpreter, a tenth of a `kdbg log` (callgrind, docs/analyze.md "Measured").
  const CH = 64;
  let bitmap: Uint8Array | null = null;
  let prefix: Int32Array | null = null;
  let built = 0;
  let loading: Promise<void> | null = null;
  const pages = new Map<bigint, Uint8Array | null>();
  const load = async (): Promise<void> => {
    // The bitmap is max_mapnr/8 bytes: 32 KiB per GiB of RAM with 4 KiB pages. A header claiming
    // more than MAX_BITMAP_READ (8 TiB of RAM) is not believed: no page is found through it.
    bitmap = bitmapLen > MAX_BITMAP_READ ? new Uint8Array(0) : await ra.readAt(bitmap2, bitmapLen);
    prefix = new Int32Array(Math.ceil(bitmap.length / CH) + 1);
  };
  /** Dumped pages in the first c*CH bytes of the bitmap. */
  const prefixAt = (c: number): number => {
    const b = bitmap!;
    const p = prefix!;
    for (; built < c; built++) {
      let n = p[built]!;
      const end = Math.min(b.length, (built + 1) * CH);
      for (let i = built * CH; i < end; i++) n += POPCOUNT[b[i]!]!;
      p[built + 1] = n;
    }
    return p[c]!;
  };
  const dumpedBefore = (pfn: number): number => {
    const b = bitmap!;
    const byte = pfn >> 3;
    const c = Math.floor(byte / CH);
    let n = prefixAt(c);
    for (let i = c * CH; i < byte; i++) n += POPCOUNT[b[i]!]!;
    const bit = pfn & 7;
    for (let i = 0; i < bit; i++) if ((b[byte]! >> i) & 1) n++;
    return n;
  };
  const readPage = async (pfn: bigint): Promise<Uint8Array | null> => {
    if (pages.has(pfn)) return pages.get(pfn)!;
    if (bitmap === null) await (loading ??= load());
    const b = bitmap!;
    if (pfn < startPfn || (endPfn !== null && pfn >= endPfn) || pfn >> 3n >= BigInt(b.length)) return null;
    const p = Number(pfn);
    if (!((b[p >> 3]! >> (p & 7)) & 1)) return null;
    const index = dumpedBefore(p) - dumpedBefore(Number(startPfn));
    const descBytes = await ra.readAt(pageDescStart(h) + index * 24, 24);
    const d = descBytes.length === 24 ? parsePageDescs(descBytes, h.endianness)[0] : undefined;
    let page: Uint8Array | null = null;
    if (d && d.offset > 0 && d.size > 0 && d.size <= bs) {
      const data = await ra.readAt(d.offset, d.size);
      await zstdReady(d.flags);
      if (data.length === d.size) page = decodeKdumpPage(d.flags, data, bs);
    }
    if (page && page.length !== bs) page = null;
    pages.set(pfn, page);
    return page;
  };
  return readAcrossPages(readPage, bs);
}

/** A physical-range reader over a page reader: null when any page of the range is missing. */
export function readAcrossPages(readPage: (pfn: bigint) => Promise<Uint8Array | null>, bs: number): (paddr: bigint, length: number) => Promise<Uint8Array | null> {
  return async (paddr, length) => {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pa = paddr + BigInt(done);
      const pfn = pa / BigInt(bs);
      const inPage = Number(pa % BigInt(bs));
      const page = await readPage(pfn);
      if (!page) return null;
      const n = Math.min(bs - inPage, length - done);
      out.set(page.subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

/**
 * Parse `struct new_utsname` at init_uts_ns. The struct uts_namespace starts with it since 5.11;
 * older kernels (el7's 3.10) have a 4-byte kref first, so both offsets are tried.
 */
export function parseUtsMemory(bytes: Uint8Array, offsets: readonly number[] = [0, 4, 8]): NewUtsname | null {
  for (const at of offsets) {
    if (bytes.length < at + 6 * 65) continue;
    const field = (i: number): string | null => {
      const f = bytes.subarray(at + i * 65, at + (i + 1) * 65);
      const nul = f.indexOf(0);
      if (nul === -1) return null;
      const s = new TextDecoder('latin1').decode(f.subarray(0, nul));
      return /^[\x20-\x7e]*$/.test(s) ? s : null;
    };
    const f = [0, 1, 2, 3, 4, 5].map(field);
    if (f.some((x) => x === null) || f[0] !== 'Linux' || !/^\d+\.\d+/.test(f[2]!)) continue;
    return { sysname: f[0]!, nodename: f[1]!, release: f[2]!, version: f[3]!, machine: f[4]!, domainname: f[5]! };
  }
  return null;
}

/** init_uts_ns of the crashed kernel, via VMCOREINFO's SYMBOL(init_uts_ns). */
export async function readInitUtsname(vi: Record<string, string>, arch: string | null, phys: PhysReader | null, virt: PhysReader | null): Promise<NewUtsname | null> {
  const sym = vi['SYMBOL(init_uts_ns)'];
  if (!sym || !/^[0-9a-f]{1,16}$/i.test(sym.trim())) return null;
  const va = BigInt(`0x${sym.trim()}`);
  // VMCOREINFO names the field offset on kernels that have it; else try the known layouts.
  const named = vi['OFFSET(uts_namespace.name)'];
  const offsets = named !== undefined && /^\d{1,4}$/.test(named) ? [Number(named)] : [0, 4, 8];
  const len = Math.max(...offsets) + 6 * 65;
  if (virt) {
    const b = await virt(va, len);
    const u = b && parseUtsMemory(b, offsets);
    if (u) return u;
  }
  const pa = kernelVirtToPhys(va, arch, vi);
  if (pa === null || !phys) return null;
  const b = await phys(pa, len);
  return b ? parseUtsMemory(b, offsets) : null;
}

