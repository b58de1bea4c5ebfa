// Locating members of an RPM with a multi-block xz payload from its header's file list.

import { ByteSource, latin1Decoder, type RandomAccess } from '../core/byte-source.js';
import { CPIO_HEADER_SIZE, parseCpioHeader } from '../formats/cpio.js';
import { readRpmHead, RPMFILE_GHOST } from '../formats/rpm.js';
import { readXzIndex } from '../formats/xz.js';
import { BlockReader } from './block-reader.js';
import { expectedFileDigest } from './rpm-anchor.js';
import type { Located, PartialExtractOptions, TarMember } from './partial-types.js';

/** Sequential chunks of a RandomAccess from `start` (for the streaming RPM header parser). */
async function* chunksOf(ra: RandomAccess, start: number, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  let pos = start;
  for (;;) {
    const b = await ra.readAt(pos, chunk);
    if (b.length === 0) return;
    pos += b.length;
    yield b;
  }
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * RPM with a multi-block xz payload (RHEL 8+/Fedora `w…T.xzdio`). The vmlinux is near the end of
 * the cpio (it is sorted by path), so walking cpio headers would decode nearly every block.
 * Instead the cpio offset of each wanted file is computed from the RPM header's file list (rpm
 * writes the payload in that order: newc header + "./"+path + NUL padded to 4, data padded to 4;
 * %ghost files are not in the payload) and then checked against the real cpio header found there
 * (magic, name, size). Any disagreement (hard-link sets, an unusual writer) → null → streaming.
 */
export async function locateRpm(ra: RandomAccess, opts: PartialExtractOptions): Promise<Located | null> {
  const magic = await ra.readAt(0, 4);
  if (magic.length < 4 || magic[0] !== 0xed || magic[1] !== 0xab || magic[2] !== 0xee || magic[3] !== 0xdb) return null;
  const src = new ByteSource(chunksOf(ra, 0), opts.label, 'rpm');
  const head = await readRpmHead(src);
  await src.close();
  // The header signature (issue 16) is checked before any block is fetched for a member.
  await opts.rpmHeadCheck?.(head);
  const anchored = opts.rpmHeadCheck !== undefined;
  const info = head.info;
  if (info.payloadCompressor !== 'xz' || info.longFileSizes) return null;
  const index = await readXzIndex(ra, head.payloadOffset, ra.size! - head.payloadOffset);
  if (index.blocks.length < 2) return null;
  const reader = new BlockReader(ra, head.payloadOffset, index, opts.label, opts.onProgress);
  const members: TarMember[] = [];
  const inodes = new Set<string>();
  let pos = 0;
  for (const f of info.files) {
    if (f.flags & RPMFILE_GHOST) continue;
    const type = (f.mode & 0o170000) === 0o100000 ? 'file' : (f.mode & 0o170000) === 0o120000 ? 'symlink' : (f.mode & 0o170000) === 0o040000 ? 'dir' : null;
    if (type === 'file' && f.device !== null && f.inode !== null) {
      const key = `${f.device}:${f.inode}`;
      if (inodes.has(key)) return null; // a hard-link set: rpm moves the data to the last link
      inodes.add(key);
    }
    const name = `./${f.path}`;
    const nameSize = Buffer.byteLength(name) + 1;
    const dataOffset = align4(pos + CPIO_HEADER_SIZE + nameSize);
    const size = type === 'file' || type === 'symlink' ? f.size : 0;
    const m: TarMember = { path: f.path, size, mode: f.mode, type: type ?? 'file', linkTarget: type === 'symlink' ? f.linkTo : null, dataOffset };
    if (type === 'file' && opts.select(m)) {
      // Check the prediction against the real header before trusting it.
      const h = await reader.read(pos, CPIO_HEADER_SIZE + nameSize);
      if (h.length < CPIO_HEADER_SIZE + nameSize) return null;
      let hdr;
      try {
        hdr = parseCpioHeader(h, { label: opts.label, offset: pos });
      } catch {
        return null;
      }
      const storedName = latin1Decoder.decode(h.subarray(CPIO_HEADER_SIZE, CPIO_HEADER_SIZE + nameSize - 1));
      if (hdr.c_namesize !== nameSize || storedName !== name || hdr.c_filesize !== size) return null;
      const digest = expectedFileDigest(head, f, f.path, opts.label, anchored);
      members.push(digest ? { ...m, digest } : m);
      if (members.length >= opts.stopAfter!) break;
    } else if (type !== 'file' && type !== 'dir' && opts.select(m)) {
      return null; // symlinks/devices selected: the streaming extractor knows the rules
    }
    pos = align4(dataOffset + size);
  }
  if (members.length === 0) return null;
  return { reader, index, members };
}
