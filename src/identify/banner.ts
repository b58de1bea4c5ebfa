// The `Linux version …` banner (init/version.c linux_banner) as a last resort when a dump has no
// VMCOREINFO, and for vmcore-dmesg.txt files; plus the package version hints a banner carries.

import type { RandomAccess } from '../core/byte-source.js';

const NEEDLE = Buffer.from('Linux version ', 'latin1');
/** Longest banner kept (real ones are ~200 characters). */
const MAX_BANNER = 512;

export interface BannerHit {
  banner: string;
  release: string;
  /** Offset of the hit in the scanned input (file offset, or logical offset for page scans). */
  offset: number;
}

/**
 * Find a plausible banner in a byte buffer: "Linux version <release> (" with a release that
 * looks like one, up to the newline/NUL. Format strings (with '%') are skipped.
 */
export function findBanner(buf: Uint8Array, baseOffset = 0, final = true): BannerHit | null {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let from = 0;
  for (;;) {
    const i = b.indexOf(NEEDLE, from);
    if (i === -1) return null;
    from = i + 1;
    let end = i;
    const lim = Math.min(b.length, i + MAX_BANNER);
    while (end < lim && b[end] !== 0x0a && b[end] !== 0 && b[end] !== 0x0d) end++;
    // Cut off by the end of this buffer: the next (overlapping) buffer sees it whole.
    if (end === b.length && !final) return null;
    const text = b.toString('latin1', i, end);
    const m = /^Linux version (\d+\.\d+[^\s%]*) \(/.exec(text);
    if (!m || text.includes('%')) continue;
    // Printable ASCII only: memory garbage after a partial copy is not a banner.
    if (!/^[\x20-\x7e]+$/.test(text)) continue;
    return { banner: text.trimEnd(), release: m[1]!, offset: baseOffset + i };
  }
}

export interface ScanOptions {
  start?: number;
  /** Bytes to scan at most (default 256 MiB). */
  limit?: number;
  /** Read size (default 4 MiB): memory stays at one chunk. */
  chunk?: number;
}

/** Chunked, bounded scan of a RandomAccess for the banner. */
export async function scanForBanner(src: RandomAccess, opts: ScanOptions = {}): Promise<BannerHit | null> {
  const start = opts.start ?? 0;
  const limit = opts.limit ?? 256 << 20;
  const chunk = opts.chunk ?? 4 << 20;
  const stop = src.size === null ? start + limit : Math.min(src.size, start + limit);
  // Overlap consecutive chunks so a banner straddling a boundary is still seen whole.
  const overlap = MAX_BANNER;
  for (let pos = start; pos < stop; pos += chunk) {
    const b = await src.readAt(pos, Math.min(chunk + overlap, stop - pos + overlap));
    if (b.length === 0) break;
    const last = pos + b.length >= stop || b.length < Math.min(chunk + overlap, stop - pos + overlap);
    const hit = findBanner(b, pos, last);
    if (hit) return hit;
  }
  return null;
}

/**
 * Distribution package version from a banner or utsname.version:
 * "… Debian 6.1.192-2 (2026-11-16)" → "6.1.192-2"; "(Ubuntu 5.15.0-91.101-generic 5.15.131)" →
 * "5.15.0-91.101"; "#101-Ubuntu" with release 5.15.0-91-generic → "5.15.0-91.101".
 */
export function packageVersionFrom(text: string | null, release: string | null): string | null {
  if (!text) return null;
  // Only the UTS version part (from '#' on): the compiler part of a banner says "Debian 12.2.0-14".
  const hashAt = text.lastIndexOf('#');
  const uts = hashAt === -1 ? text : text.slice(hashAt);
  const deb = /\bDebian (\d[\w.+~:-]*)/.exec(uts);
  if (deb) return deb[1]!;
  const ub = /\(Ubuntu (\d+\.\d+\.\d+-\d+\.\d+)-[a-z0-9-]+ [\d.]+\)/.exec(text);
  if (ub) return ub[1]!;
  const hash = /#(\d+)(?:~[\w.]+)?-Ubuntu/.exec(text);
  if (hash && release) {
    const r = /^(\d+\.\d+\.\d+-\d+)-/.exec(release);
    if (r) return `${r[1]}.${hash[1]}`;
  }
  return null;
}

/** The banner line of a vmcore-dmesg.txt / dmesg text (with or without [timestamps]). */
export function bannerFromDmesg(text: string): BannerHit | null {
  return findBanner(Buffer.from(text, 'latin1'));
}

/** True when the bytes look like kernel log text (a dmesg file), not binary. */
export function looksLikeDmesg(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0 || (c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) return false;
  }
  const s = Buffer.from(head.subarray(0, n)).toString('latin1');
  return /^(<\d>)?\[\s*\d+\.\d+\]/m.test(s) || s.includes('Linux version ');
}
