// Kernel virtual memory of a dump, from VMCOREINFO alone (shared/design/printk-and-oops.md §6):
// ELF PT_LOAD p_vaddr first (kdump's /proc/vmcore and makedumpfile -E map kernel addresses), then
// x86_64: the kernel image rule (va - __START_KERNEL_map + phys_base), else a walk of the kernel
// page tables (4 or 5 levels) from SYMBOL(init_top_pgt). The direct-map base is randomised on
// x86_64 (page_offset_base is not in VMCOREINFO), so the walk is the only general way to reach a
// buffer memblock_alloc()ed there. aarch64: the linear map, a walk of swapper_pg_dir, and
// kimage_voffset (aarch64.ts).
//
// Reads are per page: pages the dump does not hold come back zero-filled and are listed as holes,
// so a log reader can print what was readable and say what was not.


import type { PhysReader } from '../identify/memory.js';
import { aarch64Translator } from './aarch64.js';
import { number, symbol } from './keys.js';
import type { Vmcoreinfo } from './keys.js';

export interface KernelMemory {
  readonly littleEndian: boolean;
  /** Exactly `length` bytes at a kernel virtual address, or null if any page is missing. */
  readExact(vaddr: bigint, length: number): Promise<Uint8Array | null>;
  /** `length` bytes, missing pages zero-filled and listed as [start, end) offsets in `holes`. */
  read(vaddr: bigint, length: number): Promise<{ bytes: Uint8Array; holes: [number, number][] }>;
}

const MASK64 = (1n << 64n) - 1n;
const START_KERNEL_MAP = 0xffffffff80000000n;
const KERNEL_IMAGE_SIZE = 0x40000000n;
/** Physical-address bits of a page-table entry: ~0xfff0000000000fff (x86_64 PTE_PFN_MASK with 52 bits). */
const PTE_ADDR = 0x000ffffffffff000n;
const PSE = 0x80n;

export interface MemoryOptions {
  vi: Vmcoreinfo;
  arch: string | null;
  littleEndian: boolean;
  phys: PhysReader;
  /** Reads by virtual address through ELF PT_LOAD p_vaddr (null for kdump-compressed). */
  virt: PhysReader | null;
}

export function kernelMemory(o: MemoryOptions): KernelMemory {
  const pageSize = Number(o.vi['PAGESIZE'] ?? 4096) || 4096;
  const translate = translator(o);
  const readPiece = async (va: bigint, n: number): Promise<Uint8Array | null> => {
    if (o.virt && va >= 0x800000000000n) {
      const b = await o.virt(va, n).catch(() => null);
      if (b) return b;
    }
    const pa = await translate(va);
    if (pa === null) return null;
    return o.phys(pa, n).catch(() => null);
  };
  const read = async (vaddr: bigint, length: number): Promise<{ bytes: Uint8Array; holes: [number, number][] }> => {
    const bytes = new Uint8Array(length);
    const holes: [number, number][] = [];
    let done = 0;
    while (done < length) {
      const va = (vaddr + BigInt(done)) & MASK64;
      const inPage = Number(va % BigInt(pageSize));
      const n = Math.min(pageSize - inPage, length - done);
      const b = await readPiece(va, n);
      if (b && b.length === n) bytes.set(b, done);
      else {
        const last = holes[holes.length - 1];
        if (last && last[1] === done) last[1] = done + n;
        else holes.push([done, done + n]);
      }
      done += n;
    }
    return { bytes, holes };
  };
  return {
    littleEndian: o.littleEndian,
    read,
    readExact: async (vaddr, length) => {
      const r = await read(vaddr, length);
      return r.holes.length === 0 ? r.bytes : null;
    },
  };
}

/** Virtual → physical for one address, or null when it cannot be translated. */
function translator(o: MemoryOptions): (va: bigint) => Promise<bigint | null> {
  const { vi, arch } = o;
  if (arch === 'aarch64' || (arch === null && number(vi, 'kimage_voffset') !== null)) {
    const entry = async (pa: bigint): Promise<bigint | null> => {
      const b = await o.phys(pa, 8).catch(() => null);
      return b ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, o.littleEndian) : null;
    };
    return aarch64Translator(vi, entry);
  }
  if (arch !== 'x86_64' && arch !== null) return async () => null;
  const physBase = number(vi, 'phys_base') ?? 0n;
  const image = (va: bigint): bigint | null => (va >= START_KERNEL_MAP && va < START_KERNEL_MAP + KERNEL_IMAGE_SIZE ? (va - START_KERNEL_MAP + physBase) & MASK64 : null);
  const rootVa = symbol(vi, 'init_top_pgt') ?? symbol(vi, 'init_level4_pgt') ?? symbol(vi, 'swapper_pg_dir');
  const root = rootVa === null ? null : image(rootVa);
  const l5 = (number(vi, 'pgtable_l5_enabled') ?? 0n) !== 0n;
  const sme = number(vi, 'sme_mask') ?? 0n;
  const addrMask = PTE_ADDR & ~sme & MASK64;
  const cache = new Map<bigint, bigint | null>();
  const entry = async (table: bigint, index: bigint): Promise<bigint | null> => {
    const b = await o.phys(table + index * 8n, 8).catch(() => null);
    if (!b) return null;
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  };
  const walk = async (va: bigint): Promise<bigint | null> => {
    if (root === null) return null;
    let table = root;
    for (const shift of l5 ? [48n, 39n, 30n, 21n, 12n] : [39n, 30n, 21n, 12n]) {
      const e = await entry(table, (va >> shift) & 511n);
      if (e === null || (e & 1n) === 0n) return null;
      if ((shift === 30n || shift === 21n) && (e & PSE) !== 0n) {
        const span = (1n << shift) - 1n;
        return (e & addrMask & ~span) + (va & span);
      }
      table = e & addrMask;
    }
    return table + (va & 0xfffn);
  };
  return async (va) => {
    const img = image(va);
    if (img !== null) return img;
    const page = va & ~0xfffn;
    if (!cache.has(page)) cache.set(page, await walk(page));
    const pa = cache.get(page)!;
    return pa === null ? null : pa + (va & 0xfffn);
  };
}

/** One part of a split set: the pfns [startPfn, endPfn) it holds and a reader of them. */
export interface SplitRange {
  startPfn: bigint;
  endPfn: bigint;
  reader: PhysReader;
}

/**
 * Physical reads across the parts of a split set: each pfn goes to the part whose range holds it.
 * `more` gives the other parts, asked for once, on the first page none of `first` holds.
 */
export function splitReader(first: readonly SplitRange[], pageSize: number, more?: () => Promise<SplitRange[]>): PhysReader {
  let parts = first;
  let loading: Promise<void> | null = null;
  return async (paddr, length) => {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pa = paddr + BigInt(done);
      const pfn = pa / BigInt(pageSize);
      const n = Math.min(pageSize - Number(pa % BigInt(pageSize)), length - done);
      let part = parts.find((p) => pfn >= p.startPfn && pfn < p.endPfn);
      if (!part && more) {
        // Once: a page no part holds is then missing from the dump.
        await (loading ??= more().then((m) => {
          parts = [...parts, ...m];
        }));
        more = undefined;
        part = parts.find((p) => pfn >= p.startPfn && pfn < p.endPfn);
      }
      const b = part ? await part.reader(pa, n) : null;
      if (!b) return null;
      out.set(b, done);
      done += n;
    }
    return out;
  };
}
