// makedumpfile --split parts: which part of the set a file is, told from its siblings.

import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileRandomAccess } from '../core/file-access.js';
import { DISKDUMP_SIGNATURE, KDUMP_HEADER_READ, kdumpSignature, parseKdumpHeader, parseKdumpSubHeader, SUB_HEADER_READ } from '../formats/kdump.js';
import type { KdumpHeader, KdumpSubHeader } from '../formats/kdump.js';
import type { SplitInfo } from './identity.js';

/**
 * Which part of a split set this file is: look for sibling files in the same directory that are
 * split parts of the same dump (same utsname, timestamp and max_mapnr), order them by start pfn.
 */
export async function splitPosition(path: string, h: KdumpHeader, s: KdumpSubHeader): Promise<Partial<SplitInfo>> {
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
