// aarch64 kernel virtual → physical from VMCOREINFO alone (shared/design/printk-and-oops.md §6.4,
// after makedumpfile arch/arm64.c and the kernel's arch/arm64/include/asm/memory.h):
//   - the linear map: PAGE_OFFSET/PHYS_OFFSET, both layouts (since 5.4 "flipped": the linear map
//     is the lower half of the kernel VA space, PAGE_OFFSET = -(1 << VA_BITS));
//   - everything else (the kernel image, modules, vmalloc) by walking swapper_pg_dir, the kernel's
//     TTBR1 table, with the granule PAGESIZE names and the level count VA_BITS gives;
//   - the image rule va - kimage_voffset when the walk cannot be done (no swapper_pg_dir, or its
//     pages are not in the dump). The walk needs it too: swapper_pg_dir lies in the image.
// With KASLR both the image (KERNELOFFSET) and the linear map (PHYS_OFFSET = memstart_addr, which
// arm64 randomises as well) move; VMCOREINFO carries the values of the crashed boot.

import { number, symbol } from './keys.js';
import type { Vmcoreinfo } from './keys.js';

const MASK64 = (1n << 64n) - 1n;
const TWO64 = 1n << 64n;

/** The translation granule and table geometry of one kernel. */
export interface Aarch64Paging {
  /** log2 of the granule: 12 (4K), 14 (16K) or 16 (64K). */
  readonly pageShift: number;
  /** CONFIG_ARM64_VA_BITS: the table geometry (PGDIR_SHIFT, PTRS_PER_PGD) follows it. */
  readonly vaBits: number;
  /** Translation levels: ceil((VA_BITS - PAGE_SHIFT) / (PAGE_SHIFT - 3)); 4K/48 → 4, 4K/39 → 3, 64K/42 → 2, 64K/48 → 3. */
  readonly levels: number;
  /** 52-bit physical addresses with 64K pages: descriptor bits [15:12] hold PA[51:48] (ARM64_PA_BITS_52). */
  readonly pa52: boolean;
  /** FEAT_LPA2 in use (4K/16K, 52-bit VA, TCR_EL1_T1SZ = 12): bits [49:PAGE_SHIFT] and PA[51:50] in bits [9:8]. */
  readonly lpa2: boolean;
}

export function aarch64Paging(vi: Vmcoreinfo): Aarch64Paging | null {
  const page = Number(vi['PAGESIZE'] ?? 4096);
  const pageShift = page === 4096 ? 12 : page === 16384 ? 14 : page === 65536 ? 16 : null;
  const vaBits = Number(number(vi, 'VA_BITS') ?? 48n);
  if (pageShift === null || !Number.isInteger(vaBits) || vaBits < pageShift + 1 || vaBits > 52) return null;
  const levels = Math.ceil((vaBits - pageShift) / (pageShift - 3));
  const pa52 = pageShift === 16 && number(vi, 'MAX_PHYSMEM_BITS') === 52n;
  // The kernel switches to the LPA2 descriptor format only when the CPU has it, and then runs
  // with the full 52-bit VA (T1SZ 12); without it a 52-bit kernel falls back to 48 bits.
  const lpa2 = pageShift < 16 && vaBits === 52 && number(vi, 'TCR_EL1_T1SZ') === 12n;
  return { pageShift, vaBits, levels, pa52, lpa2 };
}

/** One translation-table descriptor, decoded (ARM ARM D8.3, VMSAv8-64 descriptor formats). */
export type Descriptor = { kind: 'invalid' } | { kind: 'table'; address: bigint } | { kind: 'block' | 'page'; address: bigint; span: bigint };

/** Address shift covered by one entry of table level `level` (0 = the top, swapper_pg_dir). */
export function levelShift(p: Aarch64Paging, level: number): number {
  return p.pageShift + (p.levels - 1 - level) * (p.pageShift - 3);
}

/** Index of `va` in a table of level `level`; the top table has PTRS_PER_PGD = 2^(VA_BITS - PGDIR_SHIFT) entries. */
export function tableIndex(p: Aarch64Paging, level: number, va: bigint): bigint {
  const shift = levelShift(p, level);
  const bits = level === 0 ? p.vaBits - shift : p.pageShift - 3;
  return (va >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
}

/** Decode the 64-bit descriptor read at `level`: bit 0 valid, bit 1 table/page (1) or block (0). */
export function decodeDescriptor(p: Aarch64Paging, level: number, desc: bigint): Descriptor {
  if ((desc & 1n) === 0n) return { kind: 'invalid' };
  const last = level === p.levels - 1;
  const isTable = (desc & 2n) !== 0n;
  // Output address bits [47:PAGE_SHIFT]; with 52-bit PA on 64K pages, PA[51:48] sits in bits [15:12];
  // with LPA2, bits [49:PAGE_SHIFT] and PA[51:50] in bits [9:8] (the shareability bits otherwise).
  let addr = desc & (p.lpa2 ? 0x0003ffffffffffffn : 0x0000ffffffffffffn) & ~((1n << BigInt(p.pageShift)) - 1n);
  if (p.pa52) addr |= ((desc >> 12n) & 0xfn) << 48n;
  if (p.lpa2) addr |= ((desc >> 8n) & 0x3n) << 50n;
  if (last) return isTable ? { kind: 'page', address: addr, span: 1n << BigInt(p.pageShift) } : { kind: 'invalid' };
  if (isTable) return { kind: 'table', address: addr };
  // Blocks exist at level 1 and 2 of 4K (1 GiB, 2 MiB), level 2 of 16K/64K (32 MiB, 512 MiB):
  // spans of 1 GiB or less (the 4 TiB block of 64K level 1 needs 52-bit PA; not taken).
  const shift = levelShift(p, level);
  if (shift > 30) return { kind: 'invalid' };
  const span = 1n << BigInt(shift);
  return { kind: 'block', address: addr & ~(span - 1n), span };
}

/**
 * Walk the tables from `root` (physical address of swapper_pg_dir) for `va`. `entry` reads the
 * 8-byte descriptor at a physical address (null when the dump does not hold it).
 */
export async function aarch64Walk(p: Aarch64Paging, root: bigint, va: bigint, entry: (pa: bigint) => Promise<bigint | null>): Promise<bigint | null> {
  let table = root;
  for (let level = 0; level < p.levels; level++) {
    const desc = await entry(table + tableIndex(p, level, va) * 8n);
    if (desc === null) return null;
    const d = decodeDescriptor(p, level, desc);
    if (d.kind === 'invalid') return null;
    if (d.kind === 'table') {
      table = d.address;
      continue;
    }
    return d.address + (va & (d.span - 1n));
  }
  return null;
}

export type Aarch64PhysEntry = (pa: bigint) => Promise<bigint | null>;

/** Virtual → physical for one aarch64 kernel: linear map, then the table walk, then kimage_voffset. */
export function aarch64Translator(vi: Vmcoreinfo, entry: Aarch64PhysEntry | null): (va: bigint) => Promise<bigint | null> {
  const kv = number(vi, 'kimage_voffset');
  const physOffset = number(vi, 'PHYS_OFFSET') ?? 0n;
  const t1sz = number(vi, 'TCR_EL1_T1SZ');
  const vaBits = number(vi, 'VA_BITS') ?? 48n;
  const actual = t1sz !== null ? 64n - t1sz : vaBits;
  // Any kernel-image symbol tells the layout: the image sits in the upper half of the kernel VA
  // space since 5.4 (the lower half before). VMCOREINFO has _stext since 4.x; the others always.
  const stext = symbol(vi, '_stext') ?? symbol(vi, 'swapper_pg_dir') ?? symbol(vi, 'init_uts_ns');
  const minBits = vaBits < 48n ? vaBits : 48n;
  const flipped = stext !== null && stext > TWO64 - (1n << (minBits - 1n));
  const pageOffset = flipped ? (TWO64 - (1n << actual)) & MASK64 : (TWO64 - (1n << (actual - 1n))) & MASK64;
  const linear = (va: bigint): boolean => {
    const bit = (va >> (actual - 1n)) & 1n;
    return va >= pageOffset && (flipped ? bit === 0n : bit === 1n);
  };
  const image = (va: bigint): bigint | null => (kv === null ? null : (va - kv) & MASK64);
  const paging = aarch64Paging(vi);
  const pgd = symbol(vi, 'swapper_pg_dir');
  const root = pgd === null ? null : image(pgd);
  const pageMask = paging ? (1n << BigInt(paging.pageShift)) - 1n : 0xfffn;
  const walked = new Map<bigint, bigint | null>();
  return async (va) => {
    if (linear(va)) return ((va & ~pageOffset & MASK64) + physOffset) & MASK64;
    if (paging && root !== null && entry) {
      const page = va & ~pageMask;
      if (!walked.has(page)) walked.set(page, await aarch64Walk(paging, root, page, entry));
      const pa = walked.get(page)!;
      if (pa !== null) return pa + (va & pageMask);
    }
    return image(va);
  };
}
