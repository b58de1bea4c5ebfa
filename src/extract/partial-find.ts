// Named members of a .deb's data.tar.xz, found by bisection instead of a header walk.
//
// A -dbg package holds thousands of members (Debian's linux-image-*-dbg: ~4000 modules after the
// vmlinux, 229 xz blocks); the modules a dump loaded are a handful of them, anywhere in the tar.
// Walking the tar headers to reach them decodes nearly every block. Two facts make it cheap:
//   1. control.tar's `md5sums` lists every regular file of the package: the full path of a module
//      named by the dump (`pvpanic_mmio` → `…/kernel/drivers/misc/pvpanic/pvpanic-mmio.ko`) is
//      known before data.tar is touched, and a module absent from it is absent from the package;
//   2. dpkg-deb writes regular files in sorted order (each directory's entries by name, depth
//      first; symlinks after all files), so the block holding a path can be found by bisection:
//      decode a block, find the first tar header in it, compare its path.
// Each probe decodes one block; a path costs ~log2(blocks) probes, shared between paths. Every
// answer is checked: a member is taken only when a header with exactly its path is read, so an
// archive that is not sorted costs probes and falls back to the walk (`null`), never a wrong file.

import { gunzipSync } from 'node:zlib';
import { ByteSource, latin1Decoder, readExactAt, type RandomAccess } from '../core/byte-source.js';
import { AR_HEADER_SIZE, decodeArHeader } from '../formats/ar.js';
import { blocksForRange, readXzIndex } from '../formats/xz.js';
import { BlockReader } from './block-reader.js';
import type { PartialExtractOptions, TarMember } from './partial-types.js';
import { writeMember } from './partial-write.js';
import type { WrittenMember } from './types.js';

const TB = 512;

interface ArMember {
  name: string;
  offset: number;
  size: number;
}

async function arMembers(ra: RandomAccess, label: string): Promise<ArMember[] | null> {
  const magic = await readExactAt(ra, 0, 8, 'ar', 'global header');
  if (latin1Decoder.decode(magic) !== '!<arch>\n' || ra.size === null) return null;
  const out: ArMember[] = [];
  let off = 8;
  for (let i = 0; i < 8 && off + AR_HEADER_SIZE <= ra.size; i++) {
    const h = await readExactAt(ra, off, AR_HEADER_SIZE, 'ar', 'member header');
    const d = decodeArHeader(ByteSource.fromBytes(h, label, 'ar'), h, off);
    const dataOffset = off + AR_HEADER_SIZE + d.bsdNameLength;
    out.push({ name: d.ar_name, offset: dataOffset, size: d.ar_size });
    off = dataOffset + d.ar_size + ((d.ar_size + d.bsdNameLength) & 1);
  }
  return out;
}

function octal(b: Uint8Array, off: number, len: number): number {
  const s = latin1Decoder.decode(b.subarray(off, off + len)).replace(/[\0 ]+$/, '').trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : -1;
}

function cStr(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(nul === -1 ? b : b.subarray(0, nul)).toString('utf8');
}

/** A plausible ustar/GNU header: the magic and a correct checksum. */
function isHeader(h: Uint8Array): boolean {
  if (h.length < TB || !latin1Decoder.decode(h.subarray(257, 262)).startsWith('ustar')) return false;
  let sum = 0;
  for (let i = 0; i < TB; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return octal(h, 148, 8) === sum;
}

interface Entry {
  /** Where its first header (a long name's, if any) starts. */
  at: number;
  path: string;
  flag: number;
  size: number;
  mode: number;
  dataOffset: number;
  next: number;
}

/** The entry whose (first) header is at `pos`, with GNU long names and pax paths applied. */
async function entryAt(read: (pos: number, len: number) => Promise<Uint8Array>, pos: number): Promise<Entry | null> {
  let longName: string | null = null;
  const at = pos;
  for (let guard = 0; guard < 4; guard++) {
    const h = await read(pos, TB);
    if (!isHeader(h)) return null;
    const flag = h[156]!;
    const size = octal(h, 124, 12);
    if (size < 0) return null;
    const dataOffset = pos + TB;
    const next = dataOffset + Math.ceil(size / TB) * TB;
    if (flag === 0x4c || flag === 0x78) {
      if (size > 1 << 20) return null;
      const data = await read(dataOffset, size);
      if (flag === 0x4c) longName = cStr(data);
      else {
        const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(data).toString('utf8'));
        if (m) longName = m[1]!;
      }
      pos = next;
      continue;
    }
    let name = longName ?? cStr(h.subarray(0, 100));
    if (longName === null && h[345] !== 0 && latin1Decoder.decode(h.subarray(257, 263)) === 'ustar\0') name = `${cStr(h.subarray(345, 500))}/${name}`;
    const isFile = flag === 0 || flag === 0x30 || flag === 0x37;
    return { at, path: name.replace(/^(\.\/)+/, '').replace(/^\/+/, ''), flag, size: isFile ? size : 0, mode: octal(h, 100, 8), dataOffset, next: dataOffset + Math.ceil((isFile ? size : 0) / TB) * TB };
  }
  return null;
}

/** dpkg-deb's order: component by component, each by bytes; a directory before its contents. */
export function comparePaths(a: string, b: string): number {
  const x = a.replace(/\/+$/, '').split('/');
  const y = b.replace(/\/+$/, '').split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/** The regular files `md5sums` lists ("<md5>  <path>"), without their leading "./". */
export function parseMd5sums(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^[0-9a-f]{32}\s+(.+)$/.exec(l)?.[1]?.replace(/^(\.\/)+/, ''))
    .filter((p): p is string => p !== undefined && p !== '');
}

/** The file list of a deb from control.tar's md5sums (a few kB read), or null when it has none. */
export async function debFileList(ra: RandomAccess, label: string): Promise<string[] | null> {
  const members = await arMembers(ra, label);
  const ctl = members?.find((m) => m.name.startsWith('control.tar'));
  if (!ctl || ctl.size > 64 << 20) return null;
  let tar: Uint8Array;
  if (ctl.name === 'control.tar.xz') {
    const index = await readXzIndex(ra, ctl.offset, ctl.size);
    tar = await new BlockReader(ra, ctl.offset, index, label).read(0, index.uncompressedSize);
  } else if (ctl.name === 'control.tar.gz') tar = gunzipSync(await readExactAt(ra, ctl.offset, ctl.size, 'gzip', 'control.tar.gz'));
  else if (ctl.name === 'control.tar') tar = await readExactAt(ra, ctl.offset, ctl.size, 'tar', 'control.tar');
  else return null;
  const read = async (p: number, n: number): Promise<Uint8Array> => tar.subarray(p, p + n);
  for (let pos = 0; pos + TB <= tar.length; ) {
    const e = await entryAt(read, pos);
    if (!e) return null;
    if (e.path === 'md5sums') return parseMd5sums(Buffer.from(tar.subarray(e.dataOffset, e.dataOffset + e.size)).toString('utf8'));
    pos = e.next;
  }
  return null;
}

export interface FoundMembers {
  reader: BlockReader;
  members: TarMember[];
  /** Paths whose header was not where the sorted order puts it. */
  notFound: string[];
  probes: number;
}

/**
 * Locate `paths` (regular files) in a deb's data.tar.xz by bisection over its blocks. Null when
 * the package is not a deb with a multi-block data.tar.xz.
 */
export async function findSortedMembers(ra: RandomAccess, paths: readonly string[], label: string, opts: { walkFirst?: number } = {}): Promise<FoundMembers | null> {
  const data = (await arMembers(ra, label))?.find((m) => m.name.startsWith('data.tar'));
  if (!data || data.name !== 'data.tar.xz') return null;
  const index = await readXzIndex(ra, data.offset, data.size);
  if (index.blocks.length < 2) return null;
  const reader = new BlockReader(ra, data.offset, index, label);
  const read = (p: number, n: number): Promise<Uint8Array> => reader.read(p, n);
  const keys = new Map<number, Entry | null>();
  let probes = 0;
  // The first complete entry whose header starts inside block k (null: none starts there).
  const keyOf = async (k: number): Promise<Entry | null> => {
    if (keys.has(k)) return keys.get(k)!;
    probes++;
    const b = index.blocks[k]!;
    let found: Entry | null = null;
    let bytes = await reader.block(k);
    for (let p = Math.ceil(b.uncompressedOffset / TB) * TB; p + TB <= b.uncompressedOffset + b.uncompressedSize; p += TB) {
      const rel = p - b.uncompressedOffset;
      if (!isHeader(bytes.subarray(rel, rel + TB))) continue;
      // The first header may be the real header after a long-name entry of the previous block
      // (its name truncated): the entry after it is complete.
      const first = await entryAt(read, p);
      // entryAt may have decoded other blocks into this one's buffer (BlockReader reuses them):
      // ask for it again (normally still cached) before looking further.
      if (!first) {
        bytes = await reader.block(k);
        continue;
      }
      found = await entryAt(read, first.next);
      break;
    }
    keys.set(k, found);
    return found;
  };
  const isLink = (e: Entry): boolean => e.flag === 0x32 || e.flag === 0x31;
  const members: TarMember[] = [];
  const notFound: string[] = [];
  for (const target of [...paths].sort(comparePaths)) {
    // A member near the start (the vmlinux: after System.map) is reached by walking the first
    // headers, all in block 0, cheaper than bisection's probes into the middle of the package.
    if (opts.walkFirst !== undefined) {
      let hit: Entry | null = null;
      for (let pos = 0, n = 0; n < opts.walkFirst; n++) {
        const e = await entryAt(read, pos);
        if (!e || isLink(e) || comparePaths(e.path, target) > 0) break;
        if (e.path === target) {
          hit = e;
          break;
        }
        pos = e.next;
      }
      if (hit && (hit.flag === 0 || hit.flag === 0x30 || hit.flag === 0x37)) {
        members.push({ path: hit.path, size: hit.size, mode: hit.mode, type: 'file', linkTarget: null, dataOffset: hit.dataOffset });
        continue;
      }
    }
    // Last block whose first entry sorts at or before the target; blocks without a header (inside
    // a large member) and symlinks (written after every file) do not move the bounds.
    let lo = 0;
    let hi = index.blocks.length - 1;
    let start = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = await keyOf(mid);
      if (e === null) {
        lo = mid + 1;
        continue;
      }
      if (!isLink(e) && comparePaths(e.path, target) <= 0) {
        start = Math.max(start, e.at);
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk forward from there to the target (or past where it would be).
    let pos = start;
    let hit: Entry | null = null;
    for (let n = 0; n < 100_000; n++) {
      const e = await entryAt(read, pos);
      if (!e || isLink(e)) break;
      const c = comparePaths(e.path, target);
      if (c === 0) {
        hit = e;
        break;
      }
      if (c > 0) break;
      pos = e.next;
    }
    if (hit && (hit.flag === 0 || hit.flag === 0x30 || hit.flag === 0x37)) {
      members.push({ path: hit.path, size: hit.size, mode: hit.mode, type: 'file', linkTarget: null, dataOffset: hit.dataOffset });
    } else notFound.push(target);
  }
  return { reader, members, notFound, probes };
}

export interface NamedExtractResult {
  written: WrittenMember[];
  notFound: string[];
  blocksDecoded: number;
  blocksTotal: number;
  compressedBytesRead: number;
  probes: number;
}

/** Write the named regular files of a deb found by findSortedMembers; null: not applicable. */
export async function extractNamedFromDeb(ra: RandomAccess, paths: readonly string[], opts: Omit<PartialExtractOptions, 'select' | 'stopAfter'>): Promise<NamedExtractResult | null> {
  const found = await findSortedMembers(ra, paths, opts.label);
  if (!found) return null;
  const written: WrittenMember[] = [];
  for (const m of found.members) {
    const blocks = blocksForRange(found.reader.index.blocks, m.dataOffset, m.dataOffset + m.size);
    written.push(await writeMember(m, blocks, found.reader, { ...opts, select: () => true, stopAfter: found.members.length }));
  }
  return {
    written,
    notFound: found.notFound,
    blocksDecoded: found.reader.decoded.size,
    blocksTotal: found.reader.index.blocks.length,
    compressedBytesRead: found.reader.compressedBytesRead,
    probes: found.probes,
  };
}
