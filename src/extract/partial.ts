// Partial extraction from a package reachable by positioned reads (HTTP Range, or a local file):
// fetch only the xz blocks that hold the wanted members.
//
// For a .deb (ar → data.tar.xz, multi-block as dpkg-deb and Debian's archive write it):
//   1. read the ar member headers (a few hundred bytes at the start);
//   2. read data.tar.xz's stream footer and index (the end of the file): every block's compressed
//      offset and uncompressed range, without decompressing anything;
//   3. walk the tar headers, decoding only the block that holds each header (a member's body is
//      skipped by arithmetic: the next header is at data + round_up(size, 512));
//   4. once the wanted members are located (`stopAfter`), fetch just the blocks that cover their
//      bodies (a couple ahead of the decoders) and decode several at once on the thread pool,
//      each streaming its output straight to its place in the file (writeMember): memory holds
//      the decoders' dictionaries and a piece each, never whole decoded blocks.
// Debian's linux-image-6.1.0-56-amd64-dbg: the vmlinux is tar entry 11 and lies in blocks 0–25 of
// 229 (103 MB of 858 MB).
//
// Integrity: the package's sha256 from the archive index cannot be checked when only part of it is
// read. Instead every decoded block is verified against its own xz check (CRC64 in Debian's debs,
// computed over the uncompressed block) and its index sizes; the written member's length must match
// the tar header; and the tar header checksums are verified. docs/speed.md says this plainly.
//
// For an RPM with a multi-block xz payload (RHEL 8+/Fedora `w3T.xzdio`) the member offsets come
// from the RPM header's file list and are checked against the cpio header found there (locateRpm).
//
// `null` means "use the streaming path": not a deb with data.tar.xz nor an RPM with an xz payload,
// a single-block xz (el7 RPMs, plain `xz`), no `stopAfter` (a full walk gains nothing from ranges),
// or the reader signalled that the server cannot do ranges.
//
// Files: partial-tar.ts and partial-rpm.ts locate the members, block-reader.ts reads blocks by
// position, partial-write.ts writes a member from its blocks (xz-block.ts decodes them).

import type { RandomAccess } from '../core/byte-source.js';
import { blocksForRange } from '../formats/xz.js';
import { locateRpm } from './partial-rpm.js';
import { locateDeb } from './partial-tar.js';
import type { PartialExtractOptions, PartialExtractResult } from './partial-types.js';
import { writeMember } from './partial-write.js';
import type { WrittenMember } from './types.js';

export type { PartialExtractOptions, PartialExtractResult } from './partial-types.js';

/** Thrown by a RandomAccess when the server cannot serve ranges; any error with this name works. */
function isRangeUnsupported(e: unknown): boolean {
  return e instanceof Error && e.name === 'RangeUnsupportedError';
}

/**
 * Extract the selected members of a package through positioned reads, touching only the xz blocks
 * that hold them. Returns null when the partial path does not apply (the caller streams instead).
 */
export async function tryPartialExtract(ra: RandomAccess, kind: 'rpm' | 'deb', opts: PartialExtractOptions): Promise<PartialExtractResult | null> {
  if (opts.stopAfter === undefined || opts.stopAfter < 1 || ra.size === null) return null;
  try {
    const located = kind === 'deb' ? await locateDeb(ra, opts) : await locateRpm(ra, opts);
    if (located === null) return null;
    const { reader, members, index } = located;
    const written: WrittenMember[] = [];
    const report: PartialExtractResult['partial']['members'] = [];
    for (const m of members) {
      const blocks = blocksForRange(index.blocks, m.dataOffset, m.dataOffset + m.size);
      report.push({ path: m.path, offset: m.dataOffset, size: m.size, firstBlock: blocks[0]?.index ?? -1, lastBlock: blocks.at(-1)?.index ?? -1 });
      written.push(await writeMember(m, blocks, reader, opts));
    }
    return {
      kind,
      compressor: 'xz',
      written,
      stoppedEarly: true,
      partial: {
        blocksTotal: index.blocks.length,
        blocksDecoded: reader.decoded.size,
        compressedBytesRead: reader.compressedBytesRead,
        uncompressedSize: index.uncompressedSize,
        members: report,
      },
    };
  } catch (e) {
    if (isRangeUnsupported(e)) return null;
    throw e;
  }
}

/** A local package as a RandomAccess, so `kdbg unpack` can take the same partial, parallel path. */
export { FileRandomAccess } from '../core/file-access.js';
