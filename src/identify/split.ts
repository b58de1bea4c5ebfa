// makedumpfile --split parts: which part of the set a file is, told from its siblings.

import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileRandomAccess } from '../core/file-access.js';
import { DISKDUMP_SIGNATURE, KDUMP_HEADER_READ, kdumpSignature, parseKdumpHeader, parseKdumpSubHeader, SUB_HEADER_READ } from '../formats/kdump.js';
import type { KdumpHeader, KdumpSubHeader } from '../formats/kdump.js';
import type { SplitInfo } from './identity.js';

/** A split part of the same dump found beside a file (the file itself included). */
export interface SplitSibling {
  path: string;
  start: bigint;
  end: bigint;
}

/**
 * The split parts of the dump `path` belongs to, in its directory: files of the same utsname,
 * timestamp, max_mapnr and block size, ordered by start pfn (ties by name: dump.1, dump.2, …).
 * Null when the directory cannot be read. identify uses it to number the part, klog to read the set.
 */
export async function splitSiblings(path: string, h: KdumpHeader, s: KdumpSubHeader): Promise<SplitSibling[] | null> {
  const dir = dirname(path);
  const key = (x: KdumpHeader, y: KdumpSubHeader): string =>
    JSON.stringify([x.utsname, x.timestamp, (y.max_mapnr_64 ?? BigInt(x.max_mapnr)).toString(), x.block_size]);
  const mine = key(h, s);
  let names: string[];
  try {
    names = (await readdir(dir)).slice(0, 512);
  } catch {
    return null;
  }
  // The siblings are read 32 at a time, not one after another: in a crash directory with a dozen
  // files the sequential stat/open/read/close round trips were most of a split part's identify.
  const one = async (n: string): Promise<(SplitSibling & { name: string }) | null> => {
    if (n.startsWith('.')) return null;
    const p = join(dir, n);
    let fh;
    try {
      const st = await stat(p);
      if (!st.isFile() || st.size < 8192) return null;
      fh = await open(p, 'r');
      const ra = new FileRandomAccess(fh, p, st.size);
      const hb = await ra.readAt(0, KDUMP_HEADER_READ);
      if (!kdumpSignature(hb)) return null;
      const oh = parseKdumpHeader(hb, p);
      if (oh.signature === DISKDUMP_SIGNATURE) return null;
      const os = parseKdumpSubHeader(await ra.readAt(oh.block_size, SUB_HEADER_READ), oh, p);
      if (!os.split || key(oh, os) !== mine) return null;
      return { path: p, name: n, start: os.start_pfn_64 ?? os.start_pfn ?? 0n, end: os.end_pfn_64 ?? os.end_pfn ?? 0n };
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  };
  const parts: (SplitSibling & { name: string })[] = [];
  for (let i = 0; i < names.length; i += 32) {
    for (const r of await Promise.all(names.slice(i, i + 32).map(one))) if (r) parts.push(r);
  }
  parts.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : compareNamesNumeric(a.name, b.name)));
  return parts.map(({ path: p, start, end }) => ({ path: p, start, end }));
}

/** Which part of a split set this file is, told from its siblings (splitSiblings). */
export async function splitPosition(path: string, h: KdumpHeader, s: KdumpSubHeader): Promise<Partial<SplitInfo>> {
  const me = s.start_pfn_64 ?? s.start_pfn ?? 0n;
  const ranges = await splitSiblings(path, h, s);
  if (!ranges) return { part: me === 0n ? 1 : null };
  const idx = ranges.findIndex((r) => basename(r.path) === basename(path));
  const max = s.max_mapnr_64 ?? BigInt(h.max_mapnr);
  // A complete set chains from pfn 0 to max_mapnr without gaps.
  const complete = ranges.length > 0 && ranges[0]!.start === 0n && ranges[ranges.length - 1]!.end === max && ranges.every((r, i) => i === 0 || r.start === ranges[i - 1]!.end);
  return { part: complete && idx !== -1 ? idx + 1 : me === 0n ? 1 : null, parts: complete ? ranges.length : null };
}

/**
 * dump.2 before dump.10: names compared by their runs of digits as numbers, the rest by code unit.
 * Not localeCompare(…, { numeric: true }): its first call loads ICU's collation data, 8 ms of a
 * 25 ms `kdbg log` on a split part (cpu profile, session 7).
 */
export function compareNamesNumeric(a: string, b: string): number {
  const runs = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const x = runs(a);
  const y = runs(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    const digits = /^\d/.test(p) && /^\d/.test(q);
    if (digits) {
      const d = BigInt(p) - BigInt(q);
      if (d !== 0n) return d < 0n ? -1 : 1;
      return p.length - q.length; // 01 after 1
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
