// aarch64 address translation from VMCOREINFO alone (shared/design/printk-and-oops.md §6.4, after
// makedumpfile arch/arm64.c), on layouts the real 6.1 dump of arm64.test.ts (5.4+ "flipped" layout)
// does not have: physical memory is a small in-memory image and the VMCOREINFO values follow each
// layout's definitions (pre-5.4: the image at KIMAGE_VADDR 0xffff000008080000 loaded at 0x80080000,
// so kimage_voffset = 0xfffeffff88000000).
import { describe, expect, it } from 'vitest';

import { kernelMemory } from '../../src/klog/memory.js';
import type { PhysReader } from '../../src/identify/memory.js';

/** Physical memory holding `pages` (paddr → 4 KiB page filled with a marker byte). */
function physWith(pages: Record<string, number>): PhysReader {
  const map = new Map(Object.entries(pages).map(([pa, v]) => [BigInt(pa), new Uint8Array(4096).fill(v)]));
  return async (paddr, length) => {
    const page = map.get(paddr & ~0xfffn);
    const off = Number(paddr & 0xfffn);
    return page && off + length <= 4096 ? page.slice(off, off + length) : null;
  };
}

describe('aarch64 translation', () => {
  it('pre-5.4 layout: linear map in the upper half of the kernel VA space, image through kimage_voffset', async () => {
    const vi = {
      PAGESIZE: '4096',
      'NUMBER(VA_BITS)': '48',
      'NUMBER(kimage_voffset)': '0xfffeffff88000000',
      'NUMBER(PHYS_OFFSET)': '0x80000000',
      'SYMBOL(_stext)': 'ffff000008081000',
    };
    // Linear: PAGE_OFFSET = -(1 << 47); va 0xffff800000123000 → 0x123000 + PHYS_OFFSET.
    // Image: va 0xffff000008a00000 - kimage_voffset = 0x80a00000.
    const mem = kernelMemory({ vi, arch: 'aarch64', littleEndian: true, phys: physWith({ '0x80123000': 0x11, '0x80a00000': 0x22 }), virt: null });
    expect((await mem.readExact(0xffff800000123000n, 8))![0]).toBe(0x11);
    expect((await mem.readExact(0xffff000008a00000n, 8))![0]).toBe(0x22);
  });

  it('5.4+ "flipped" layout with TCR_EL1_T1SZ: linear map in the lower half', async () => {
    const vi = {
      PAGESIZE: '4096',
      'NUMBER(VA_BITS)': '48',
      'NUMBER(TCR_EL1_T1SZ)': '0x10',
      'NUMBER(kimage_voffset)': '0xffff7fffb8000000',
      'NUMBER(PHYS_OFFSET)': '0x40000000',
      'SYMBOL(_stext)': 'ffff800008010000',
    };
    // Linear: PAGE_OFFSET = -(1 << 48); va 0xffff000000456000 → 0x456000 + PHYS_OFFSET.
    // Image: va 0xffff800009000000 - kimage_voffset = 0x51000000.
    const mem = kernelMemory({ vi, arch: 'aarch64', littleEndian: true, phys: physWith({ '0x40456000': 0x33, '0x51000000': 0x44 }), virt: null });
    expect((await mem.readExact(0xffff000000456000n, 8))![0]).toBe(0x33);
    expect((await mem.readExact(0xffff800009000000n, 8))![0]).toBe(0x44);
    // Not in the dump: a hole, not an error.
    expect((await mem.read(0xffff000000999000n, 16)).holes).toEqual([[0, 16]]);
  });
});
