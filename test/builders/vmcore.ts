// Synthetic crash-dump builders for formats we cannot produce here (el7 kernels, ELF32,
// big-endian, old kdump header versions, 32-bit sub-header layouts). Layouts follow
// formats.md §A.1–A.4, i.e. what /proc/vmcore, makedumpfile and QEMU write.
import { deflateSync } from 'node:zlib';

export type Endian = 'le' | 'be';

export interface NoteSpec {
  name: string;
  type: number;
  desc: Uint8Array;
}

const enc = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

export function vmcoreinfoText(entries: Record<string, string>): Uint8Array {
  return enc.encode(Object.entries(entries).map(([k, v]) => `${k}=${v}\n`).join(''));
}

/** The VMCOREINFO an el7 (3.10.0-327) x86_64 kernel publishes (no BUILD-ID before 5.9). */
export function el7Vmcoreinfo(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OSRELEASE: '3.10.0-327.el7.x86_64',
    PAGESIZE: '4096',
    'SYMBOL(init_uts_ns)': 'ffffffff81a0c6c0',
    'SYMBOL(swapper_pg_dir)': 'ffffffff8194a000',
    'SIZE(page)': '64',
    'NUMBER(phys_base)': '0',
    KERNELOFFSET: '0',
    CRASHTIME: '1456789012',
    ...extra,
  };
}

export function buildNotes(notes: NoteSpec[], endian: Endian): Uint8Array {
  const size = notes.reduce((a, n) => a + 12 + pad4(n.name.length + 1) + pad4(n.desc.length), 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const le = endian === 'le';
  let o = 0;
  for (const n of notes) {
    dv.setUint32(o, n.name.length + 1, le);
    dv.setUint32(o + 4, n.desc.length, le);
    dv.setUint32(o + 8, n.type, le);
    out.set(enc.encode(n.name), o + 12);
    o += 12 + pad4(n.name.length + 1);
    out.set(n.desc, o);
    o += pad4(n.desc.length);
  }
  return out;
}

export function prstatus(bytes = 336): NoteSpec {
  return { name: 'CORE', type: 1, desc: new Uint8Array(bytes) };
}

export interface ElfVmcoreOptions {
  elfClass?: 32 | 64;
  endian?: Endian;
  machine?: number;
  notes: NoteSpec[];
  /** Where the merged PT_NOTE goes (/proc/vmcore: 0x1000). */
  noteOffset?: number;
  /** Contents of one PT_LOAD after the notes (e.g. memory holding a banner). */
  load?: Uint8Array;
  /** Use PN_XNUM with the real count in section header 0 (as makedumpfile/QEMU do for > 65534). */
  pnXnum?: boolean;
}

export function buildElfVmcore(o: ElfVmcoreOptions): Uint8Array {
  const c64 = (o.elfClass ?? 64) === 64;
  const le = (o.endian ?? 'le') === 'le';
  const ehsize = c64 ? 64 : 52;
  const phent = c64 ? 56 : 32;
  const shent = c64 ? 64 : 40;
  const notes = buildNotes(o.notes, o.endian ?? 'le');
  const phnum = o.load ? 2 : 1;
  const shoff = o.pnXnum ? ehsize : 0;
  const phoff = ehsize + (o.pnXnum ? shent : 0);
  const noteOff = o.noteOffset ?? 4096;
  const loadOff = pad4(noteOff + notes.length + 4095) & ~4095;
  const total = o.load ? loadOff + o.load.length : noteOff + notes.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, c64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  const w16 = (off: number, v: number): void => dv.setUint16(off, v, le);
  const w32 = (off: number, v: number): void => dv.setUint32(off, v, le);
  const wN = (off: number, v: number): void => (c64 ? dv.setBigUint64(off, BigInt(v), le) : dv.setUint32(off, v, le));
  w16(16, 4); // ET_CORE
  w16(18, o.machine ?? (c64 ? 62 : 3));
  w32(20, 1);
  if (c64) {
    wN(32, phoff);
    wN(40, shoff);
    w16(52, ehsize);
    w16(54, phent);
    w16(56, o.pnXnum ? 0xffff : phnum);
    w16(58, o.pnXnum ? shent : 0);
    w16(60, o.pnXnum ? 1 : 0);
  } else {
    wN(28, phoff);
    wN(32, shoff);
    w16(40, ehsize);
    w16(42, phent);
    w16(44, o.pnXnum ? 0xffff : phnum);
    w16(46, o.pnXnum ? shent : 0);
    w16(48, o.pnXnum ? 1 : 0);
  }
  if (o.pnXnum) w32(shoff + (c64 ? 44 : 28), phnum); // sh_info of section 0
  const ph = (i: number, type: number, off: number, size: number, vaddr: number): void => {
    const b = phoff + i * phent;
    w32(b, type);
    if (c64) {
      w32(b + 4, 0);
      wN(b + 8, off);
      wN(b + 16, vaddr);
      wN(b + 24, vaddr);
      wN(b + 32, size);
      wN(b + 40, size);
    } else {
      wN(b + 4, off);
      wN(b + 8, vaddr);
      wN(b + 12, vaddr);
      wN(b + 16, size);
      wN(b + 20, size);
    }
  };
  ph(0, 4, noteOff, notes.length, 0);
  out.set(notes, noteOff);
  if (o.load) {
    ph(1, 1, loadOff, o.load.length, 0x1000000);
    out.set(o.load, loadOff);
  }
  return out;
}

export interface Utsname {
  sysname?: string;
  nodename?: string;
  release?: string;
  version?: string;
  machine?: string;
  domainname?: string;
}

export interface KdumpOptions {
  signature?: 'KDUMP   ' | 'DISKDUMP';
  headerVersion?: number;
  abi?: 64 | 32;
  /** 32-bit sub-header layout. */
  layout32?: 'pack' | 'pad';
  endian?: Endian;
  blockSize?: number;
  utsname?: Utsname;
  timestamp?: number;
  nrCpus?: number;
  /** VMCOREINFO text (v3+), stored inside a VMCOREINFO note of the notes copy (v4+) as makedumpfile does. */
  vmcoreinfo?: Uint8Array | null;
  /** Extra notes (PRSTATUS) put before VMCOREINFO in the notes copy. */
  notes?: NoteSpec[];
  split?: { start: number; end: number } | null;
  maxMapnr?: number;
  /** Pages to store (zlib-compressed), e.g. one holding a banner, for the page-scan fallback. */
  pages?: Uint8Array[];
  status?: number;
}

export function buildKdump(o: KdumpOptions = {}): Uint8Array {
  const bs = o.blockSize ?? 4096;
  const le = (o.endian ?? 'le') === 'le';
  const abi = o.abi ?? 64;
  const v = o.headerVersion ?? 6;
  const pages = o.pages ?? [];
  const maxMapnr = o.maxMapnr ?? Math.max(pages.length, 1);
  const u = { sysname: 'Linux', nodename: 'el7host', release: '', version: '', machine: 'x86_64', domainname: '(none)', ...o.utsname };
  // Notes copy: extra notes then the VMCOREINFO note (v4+); in v3 the text stands alone.
  const vmci = o.vmcoreinfo ?? null;
  const noteList: NoteSpec[] = [...(o.notes ?? [])];
  if (vmci && v >= 4) noteList.push({ name: 'VMCOREINFO', type: 0, desc: vmci });
  const notes = v >= 4 ? buildNotes(noteList, o.endian ?? 'le') : new Uint8Array(0);
  const subSize = abi === 64 ? 104 : o.layout32 === 'pad' ? 96 : 80;
  const noteOff = bs + subSize;
  let vmciOff = 0;
  let extra: Uint8Array = new Uint8Array(0);
  if (vmci) {
    if (v >= 4) vmciOff = noteOff + notes.length - pad4(vmci.length);
    else {
      vmciOff = noteOff;
      extra = vmci;
    }
  }
  const subHdrSize = Math.max(1, Math.ceil((subSize + notes.length + extra.length) / bs));
  const bitmapBlocks = 2;
  const pdStart = (1 + subHdrSize + bitmapBlocks) * bs;
  const compressed = pages.map((p) => deflateSync(p));
  const dataStart = pdStart + pages.length * 24;
  const total = dataStart + compressed.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(Math.max(total, (1 + subHdrSize) * bs));
  const dv = new DataView(out.buffer);
  out.set(enc.encode(o.signature ?? 'KDUMP   '), 0);
  dv.setInt32(8, v, le);
  const fields = [u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname];
  fields.forEach((f, i) => out.set(enc.encode(f).subarray(0, 64), 12 + i * 65));
  const b = abi === 64 ? 424 : 412;
  if (abi === 64) dv.setBigInt64(408, BigInt(o.timestamp ?? 0), le);
  else dv.setInt32(404, o.timestamp ?? 0, le);
  dv.setUint32(b, o.status ?? (pages.length ? 1 : 0), le);
  dv.setInt32(b + 4, bs, le);
  dv.setInt32(b + 8, subHdrSize, le);
  dv.setUint32(b + 12, bitmapBlocks, le);
  dv.setUint32(b + 16, maxMapnr, le);
  dv.setUint32(b + 20, maxMapnr, le);
  dv.setUint32(b + 24, maxMapnr, le);
  dv.setUint32(b + 28, maxMapnr, le);
  dv.setUint32(b + 32, 0, le);
  dv.setInt32(b + 36, o.nrCpus ?? 2, le);
  // Sub-header.
  const s = bs;
  const split = o.split ?? null;
  if (abi === 64) {
    if (v >= 1) dv.setInt32(s + 8, 31, le);
    if (v >= 2 && split) {
      dv.setInt32(s + 12, 1, le);
      dv.setBigUint64(s + 16, BigInt(split.start), le);
      dv.setBigUint64(s + 24, BigInt(split.end), le);
    }
    if (v >= 3 && vmci) {
      dv.setBigUint64(s + 32, BigInt(vmciOff), le);
      dv.setBigUint64(s + 40, BigInt(vmci.length), le);
    }
    if (v >= 4) {
      dv.setBigUint64(s + 48, BigInt(noteOff), le);
      dv.setBigUint64(s + 56, BigInt(notes.length), le);
    }
    if (v >= 6) {
      dv.setBigUint64(s + 80, BigInt(split?.start ?? 0), le);
      dv.setBigUint64(s + 88, BigInt(split?.end ?? 0), le);
      dv.setBigUint64(s + 96, BigInt(maxMapnr), le);
    }
  } else {
    const pad = o.layout32 === 'pad';
    const off = pad ? { vi: 24, vis: 32, note: 40, notes: 48, s64: 72, e64: 80, m64: 88 } : { vi: 20, vis: 28, note: 32, notes: 40, s64: 56, e64: 64, m64: 72 };
    if (v >= 1) dv.setInt32(s + 4, 31, le);
    if (v >= 2 && split) {
      dv.setInt32(s + 8, 1, le);
      dv.setUint32(s + 12, split.start, le);
      dv.setUint32(s + 16, split.end, le);
    }
    if (v >= 3 && vmci) {
      dv.setBigUint64(s + off.vi, BigInt(vmciOff), le);
      dv.setUint32(s + off.vis, vmci.length, le);
    }
    if (v >= 4) {
      dv.setBigUint64(s + off.note, BigInt(noteOff), le);
      dv.setUint32(s + off.notes, notes.length, le);
    }
    if (v >= 6) {
      dv.setBigUint64(s + off.s64, BigInt(split?.start ?? 0), le);
      dv.setBigUint64(s + off.e64, BigInt(split?.end ?? 0), le);
      dv.setBigUint64(s + off.m64, BigInt(maxMapnr), le);
    }
  }
  out.set(notes, noteOff);
  if (extra.length) out.set(extra, noteOff);
  // Bitmaps: every pfn present and dumped.
  const half = (bitmapBlocks * bs) / 2;
  for (let i = 0; i < pages.length; i++) {
    const bmp = (1 + subHdrSize) * bs;
    out[bmp + (i >> 3)]! |= 1 << (i & 7);
    out[bmp + half + (i >> 3)]! |= 1 << (i & 7);
  }
  let dataPos = dataStart;
  compressed.forEach((c, i) => {
    const d = pdStart + i * 24;
    dv.setBigInt64(d, BigInt(dataPos), le);
    dv.setUint32(d + 8, c.length, le);
    dv.setUint32(d + 12, 1, le);
    out.set(c, dataPos);
    dataPos += c.length;
  });
  return out;
}

export interface FlattenOptions {
  recordSize?: number;
  /** Write records in a scrambled order (the format allows any order; last writer wins). */
  shuffle?: boolean;
  /** makedumpfile -F -E: program headers first as zeros, the real ones in the very last record. */
  elfTrap?: { phoff: number; phsize: number };
  /** Leave off the end marker (truncated stream). */
  noEnd?: boolean;
}

/** Wrap a dump in makedumpfile's flattened format. */
export function flatten(inner: Uint8Array, o: FlattenOptions = {}): Uint8Array {
  const rs = o.recordSize ?? 4096;
  const recs: [number, Uint8Array][] = [];
  for (let off = 0; off < inner.length; off += rs) recs.push([off, inner.subarray(off, Math.min(inner.length, off + rs))]);
  if (o.shuffle) {
    // Deterministic scramble, but keep the header record first as both writers do.
    const rest = recs.splice(1);
    rest.sort((a, b) => ((a[0] * 2654435761) % 1009) - ((b[0] * 2654435761) % 1009));
    recs.push(...rest);
  }
  if (o.elfTrap) {
    const { phoff, phsize } = o.elfTrap;
    recs.unshift([phoff, new Uint8Array(phsize)]);
    recs.push([phoff, inner.slice(phoff, phoff + phsize)]);
    // The zero table is overwritten by record data in between unless that data skips it:
    // cut the phdr range out of the ordinary records, as makedumpfile never writes it there.
    for (let i = 1; i < recs.length - 1; i++) {
      const [off, d] = recs[i]!;
      if (off < phoff + phsize && off + d.length > phoff) {
        const copy = d.slice();
        const s = Math.max(phoff, off) - off;
        const e = Math.min(phoff + phsize, off + d.length) - off;
        copy.fill(0, s, e);
        recs[i] = [off, copy];
      }
    }
  }
  const size = 4096 + recs.reduce((a, [, d]) => a + 16 + d.length, 0) + (o.noEnd ? 0 : 16);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(enc.encode('makedumpfile'));
  dv.setBigInt64(16, 1n, false);
  dv.setBigInt64(24, 1n, false);
  let p = 4096;
  for (const [off, d] of recs) {
    dv.setBigInt64(p, BigInt(off), false);
    dv.setBigInt64(p + 8, BigInt(d.length), false);
    out.set(d, p + 16);
    p += 16 + d.length;
  }
  if (!o.noEnd) {
    dv.setBigInt64(p, -1n, false);
    dv.setBigInt64(p + 8, -1n, false);
  }
  return out;
}

/** A page of "memory" holding a linux_banner at `at`. */
export function pageWithBanner(banner: string, at = 100, size = 4096): Uint8Array {
  const p = new Uint8Array(size);
  p.set(enc.encode(`${banner}\n\0`), at);
  return p;
}

export const EL7_BANNER =
  'Linux version 3.10.0-327.el7.x86_64 (builder@kbuilder.dev.centos.org) (gcc version 4.8.3 20140911 (Red Hat 4.8.3-9) (GCC) ) #1 SMP Thu Nov 19 22:10:57 UTC 2015';

export { chunked, HOSTILE_CHUNKS } from '../helpers/chunks.js';
