// Locating members of a .deb's data.tar.xz without decoding it all: find data.tar.xz by the ar
// headers, then walk the tar headers, decoding only the blocks that hold them (a member's body is
// skipped by arithmetic: the next header is at data + round_up(size, 512)). Tar header checksums
// are verified; GNU long names/links and pax headers are honoured.

import { posix } from 'node:path';
import { ByteSource, latin1Decoder, readExactAt, type RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { AR_HEADER_SIZE, decodeArHeader } from '../formats/ar.js';
import { readXzIndex } from '../formats/xz.js';
import { BlockReader } from './block-reader.js';
import type { Located, PartialExtractOptions, TarMember } from './partial-types.js';
import type { MemberType } from './types.js';

const TAR_BLOCK = 512;

function octal(b: Uint8Array, off: number, len: number, what: string, label: string, at: number): number {
  const f = b.subarray(off, off + len);
  if ((f[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian, the top bit of the first byte is the marker.
    let v = BigInt(f[0]! & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw tarError(label, at + off, `${what} too large`);
    return Number(v);
  }
  const s = latin1Decoder.decode(f).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw tarError(label, at + off, `${what} is not octal (${JSON.stringify(s)})`);
  return parseInt(s, 8);
}

function tarError(label: string, offset: number, message: string): InputFormatError {
  return new InputFormatError(`${label}: bad tar header in data.tar.xz: ${message} at uncompressed offset ${offset}`, { file: label, format: 'tar', offset });
}

function cStr(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(nul === -1 ? b : b.subarray(0, nul)).toString('utf8');
}

function tarType(flag: number): MemberType | null {
  switch (flag) {
    case 0:
    case 0x30: // '0'
    case 0x37: // '7' contiguous file
      return 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
      return 'dir';
    case 0x36:
      return 'fifo';
    default:
      return null;
  }
}

function cleanPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/** pax records: "<len> key=value\n"… */
function parsePax(b: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const s = Buffer.from(b).toString('utf8');
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(s.slice(i, sp));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Walk tar headers until `stopAfter` selected regular files are located (or the archive ends). */
async function locateTarMembers(r: BlockReader, opts: PartialExtractOptions, maxHeaderBlocks: number): Promise<TarMember[] | null> {
  const wanted: TarMember[] = [];
  const stopAfter = opts.stopAfter!;
  const seen = new Map<string, TarMember>();
  let pos = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  for (;;) {
    if (r.decoded.size > maxHeaderBlocks) return null;
    const h = await r.read(pos, TAR_BLOCK);
    if (h.length < TAR_BLOCK) throw tarError(opts.label, pos, 'truncated header');
    if (h.every((x) => x === 0)) return wanted;
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    const stored = octal(h, 148, 8, 'chksum', opts.label, pos);
    if (stored !== sum) throw tarError(opts.label, pos, `header checksum ${stored} != ${sum}`);
    const flag = h[156]!;
    let size = octal(h, 124, 12, 'size', opts.label, pos);
    const dataOffset = pos + TAR_BLOCK;
    const next = dataOffset + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    if (flag === 0x4c || flag === 0x4b || flag === 0x78) {
      // GNU long name/link, or a pax header: its data applies to the next entry.
      if (size > 1 << 20) throw tarError(opts.label, pos, `extension header of ${size} bytes`);
      const data = await r.read(dataOffset, size);
      if (flag === 0x4c) longName = cStr(data);
      else if (flag === 0x4b) longLink = cStr(data);
      else pax = parsePax(data);
      pos = next;
      continue;
    }
    if (flag === 0x67) {
      pos = next; // pax global header: nothing kdbg needs
      continue;
    }
    const ustarPosix = latin1Decoder.decode(h.subarray(257, 263)) === 'ustar\0';
    let name = longName ?? cStr(h.subarray(0, 100));
    if (longName === null && ustarPosix && h[345] !== 0) name = `${cStr(h.subarray(345, 500))}/${name}`;
    if (pax['path'] !== undefined) name = pax['path'];
    if (pax['size'] !== undefined) size = Number(pax['size']);
    const link = pax['linkpath'] ?? longLink ?? cStr(h.subarray(157, 257));
    longName = null;
    longLink = null;
    pax = {};
    const type = tarType(flag);
    const m: TarMember = {
      path: cleanPath(name),
      size: type === 'file' ? size : 0,
      mode: octal(h, 100, 8, 'mode', opts.label, pos),
      type: type ?? 'file',
      linkTarget: type === 'symlink' || type === 'hardlink' ? link : null,
      dataOffset,
    };
    const realNext = dataOffset + Math.ceil((type === 'file' ? size : 0) / TAR_BLOCK) * TAR_BLOCK;
    if (type === 'file') seen.set(m.path, m);
    if (type !== null && opts.select(m)) {
      if (type === 'file') wanted.push(m);
      else if (type === 'symlink' || type === 'hardlink') {
        // Resolve inside the archive to a regular file seen earlier (Debian's
        // lib/modules/<rel>/vmlinux → ../../../boot/vmlinux-<rel>); anything else → streaming path.
        const target = type === 'hardlink' ? cleanPath(link) : posix.normalize(posix.join(posix.dirname(m.path), link));
        const t = seen.get(target);
        if (!t) return null;
        wanted.push({ ...t, path: m.path, mode: t.mode });
      } else if (type !== 'dir') return null;
    }
    if (wanted.length >= stopAfter) return wanted;
    pos = realNext;
  }
}

/** Find data.tar.* in a deb by positioned reads of the ar headers. */
async function findDebData(ra: RandomAccess, label: string): Promise<{ name: string; offset: number; size: number } | null> {
  const magic = await readExactAt(ra, 0, 8, 'ar', 'global header');
  if (latin1Decoder.decode(magic) !== '!<arch>\n') return null;
  const size = ra.size!;
  let off = 8;
  for (let i = 0; i < 64 && off + AR_HEADER_SIZE <= size; i++) {
    const h = await readExactAt(ra, off, AR_HEADER_SIZE, 'ar', 'member header');
    const d = decodeArHeader(ByteSource.fromBytes(h, label, 'ar'), h, off);
    const dataOffset = off + AR_HEADER_SIZE + d.bsdNameLength;
    if (d.ar_name.startsWith('data.tar')) return { name: d.ar_name, offset: dataOffset, size: d.ar_size };
    off = dataOffset + d.ar_size + ((d.ar_size + d.bsdNameLength) & 1);
  }
  return null;
}

export async function locateDeb(ra: RandomAccess, opts: PartialExtractOptions): Promise<Located | null> {
  const data = await findDebData(ra, opts.label);
  if (!data || data.name !== 'data.tar.xz') return null;
  const index = await readXzIndex(ra, data.offset, data.size);
  if (index.blocks.length < 2) return null;
  const reader = new BlockReader(ra, data.offset, index, opts.label, opts.onProgress);
  const maxHeaderBlocks = Math.max(2, Math.floor(index.blocks.length * (opts.maxHeaderBlockShare ?? 0.5)));
  const members = await locateTarMembers(reader, opts, maxHeaderBlocks);
  if (members === null || members.length === 0) return null;
  return { reader, index, members };
}
