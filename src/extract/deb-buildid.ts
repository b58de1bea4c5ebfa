// The GNU build-id of one ELF member of a .deb, read without the rest of the package (issue 20:
// Debian's -dbg packages carry no `.build-id/` link for the vmlinux, so its id is read from the
// file itself). data.tar.xz is located by bisection over its xz blocks (partial-find.ts: dpkg-deb
// writes members in sorted order), and through the member's bytes only what the id needs is
// decoded: the ELF header and program headers (at the start of the file) and the PT_NOTE segment
// they point to (`.notes`, ~24 MB into Debian's 633 MB vmlinux: the second xz block). The section
// header table sits at the end of a vmlinux, so it is read only when no PT_NOTE holds the id (a
// relocatable `.ko` has no program headers; its section headers are near, it is small).

import type { RandomAccess } from '../core/byte-source.js';
import { findGnuBuildId, readElfBuildId, readElfSegmentNotes, readElfTables } from '../formats/elf.js';
import { findSortedMembers } from './partial-find.js';

export interface DebMemberBuildId {
  member: string;
  /** Lower-case hex, or null when the member has no GNU build-id note. */
  buildId: string | null;
  /** xz blocks decoded (bisection probes included) and in data.tar. */
  blocksDecoded: number;
  blocksTotal: number;
  /** Compressed bytes of the decoded blocks (the ar/xz index reads come on top). */
  compressedBytesRead: number;
  probes: number;
}

/** `bytes` of the data.tar member at `dataOffset` as a RandomAccess (reads clipped to its size). */
function memberAccess(read: (pos: number, n: number) => Promise<Uint8Array>, dataOffset: number, size: number, label: string): RandomAccess {
  return {
    label,
    size,
    readAt: async (offset: number, length: number) => (offset >= size ? new Uint8Array(0) : read(dataOffset + offset, Math.min(length, size - offset))),
  };
}

/**
 * The build-id of the regular file `path` in the deb behind `ra`. Null when the package is not a
 * deb with a multi-block data.tar.xz (the caller reads such a package whole); throws NotFound-like
 * `Error` when the member is not in the package.
 */
export async function debMemberBuildId(ra: RandomAccess, path: string, label: string): Promise<DebMemberBuildId | null> {
  const found = await findSortedMembers(ra, [path], label, { walkFirst: 64 });
  if (!found) return null;
  const m = found.members[0];
  if (!m) throw new Error(`${label}: no member ${path} (not where dpkg-deb's sorted order puts it)`);
  const file = memberAccess((p, n) => found.reader.read(p, n), m.dataOffset, m.size, `${label}:${path}`);
  // Program headers first: the vmlinux's section headers are at its far end (another block).
  const tables = await readElfTables(file, { sections: false });
  let buildId = findGnuBuildId(await readElfSegmentNotes(file, tables));
  buildId ??= await readElfBuildId(file);
  return {
    member: m.path,
    buildId,
    blocksDecoded: found.reader.decoded.size,
    blocksTotal: found.reader.index.blocks.length,
    compressedBytesRead: found.reader.compressedBytesRead,
    probes: found.probes,
  };
}
