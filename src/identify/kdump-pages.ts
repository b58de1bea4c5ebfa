// Banner scan inside a kdump-compressed dump: its pages are compressed one by one, so the scan
// walks the page descriptors in order, decompresses each page (zlib, lzo, snappy, zstd or stored)
// and looks for the banner. Bounded by a page count.

import { readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { pageDescStart, parsePageDescs } from '../formats/kdump.js';
import type { KdumpHeader } from '../formats/kdump.js';
import { findBanner } from './banner.js';
import { decodeKdumpPage, zstdReady } from './kdump-page.js';
import type { BannerHit } from './banner.js';

export interface PageScanResult {
  hit: BannerHit | null;
  /** Pages skipped because they did not decode (corrupt or truncated compressed data). */
  undecodable: number;
  scanned: number;
}

const PAGE_WINDOW = 256 << 10;

export async function scanKdumpPagesForBanner(src: RandomAccess, h: KdumpHeader, maxPages = 65536): Promise<PageScanResult> {
  const bs = h.block_size;
  let pos = pageDescStart(h);
  let scanned = 0;
  let undecodable = 0;
  let prevTail: Uint8Array = new Uint8Array(0);
  const seen = new Set<number>();
  const batch = 4096;
  // Page data follows the descriptors' order in every writer: read it 256 KiB at a time and cut
  // the pages out, instead of one read per page (thousands of them before a banner is found).
  let win: Uint8Array = new Uint8Array(0);
  let winAt = 0;
  const pageData = async (offset: number, size: number, n: number): Promise<Uint8Array> => {
    if (offset < winAt || offset + size > winAt + win.length) {
      win = await src.readAt(offset, Math.max(size, PAGE_WINDOW));
      winAt = offset;
      if (win.length < size) return readExactAt(src, offset, size, 'kdump-compressed', `page data of descriptor ${n}`);
    }
    return win.subarray(offset - winAt, offset - winAt + size);
  };
  while (scanned < maxPages) {
    const raw = await src.readAt(pos, batch * 24);
    if (raw.length < 24) break;
    const descs = parsePageDescs(raw, h.endianness);
    pos += descs.length * 24;
    for (const d of descs) {
      // The descriptor table ends where page data begins: stop at the first implausible entry.
      if (d.offset <= 0 || d.size === 0 || d.size > bs || (src.size !== null && d.offset + d.size > src.size)) return { hit: null, undecodable, scanned };
      scanned++;
      if (scanned > maxPages) break;
      // Zero pages all share one stored copy.
      if (seen.has(d.offset)) continue;
      if (seen.size < 1 << 16) seen.add(d.offset);
      const data = await pageData(d.offset, d.size, scanned);
      await zstdReady(d.flags);
      const page = decodeKdumpPage(d.flags, data, bs);
      if (page === null) {
        undecodable++;
        prevTail = new Uint8Array(0);
        continue;
      }
      // Carry the previous page's tail so a banner crossing pages is found (pages are in pfn order).
      const joined = new Uint8Array(prevTail.length + page.length);
      joined.set(prevTail);
      joined.set(page, prevTail.length);
      const hit = findBanner(joined, d.offset - prevTail.length, false);
      if (hit) return { hit, undecodable, scanned };
      prevTail = page.subarray(Math.max(0, page.length - 512));
    }
  }
  return { hit: null, undecodable, scanned };
}
