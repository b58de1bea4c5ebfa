// Open a dump for kernel-memory reads by virtual address, in every format identify reads from a
// file: ELF (kdump's /proc/vmcore, makedumpfile -E, QEMU's raw ELF), kdump-compressed (zlib, lzo,
// zstd, uncompressed), makedumpfile-flattened (ELF or kdump inside), and --split sets (the sibling
// parts are found in the same directory, as identify finds them).

import { open, stat } from 'node:fs/promises';

import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { FileRandomAccess } from '../core/file-access.js';
import { CachedRandomAccess } from '../core/read-cache.js';
import { isElf, readElfTables } from '../formats/elf.js';
import { FlatIndexAccess } from '../formats/flat-index.js';
import { isFlattened } from '../formats/flattened.js';
import { kdumpSignature, readKdumpHeaders } from '../formats/kdump.js';
import type { KdumpHeader, KdumpSubHeader } from '../formats/kdump.js';
import { identifyDump } from '../identify/index.js';
import { splitSiblings } from '../identify/split.js';
import type { DumpIdentification } from '../identify/index.js';
import { elfPhysReader, elfVirtReader } from '../identify/memory.js';
import type { PhysReader } from '../identify/memory.js';
import { kdumpPhysReader } from '../identify/memory.js';
import { kernelMemory, splitReader } from './memory.js';
import type { KernelMemory, SplitRange } from './memory.js';

/**
 * The log's reads go through 64 KiB blocks, not read-cache.ts's 1 MiB: the ring's pieces (the
 * descriptor, info and text rings, a few dozen compressed pages) lie in two or three places of the
 * file, and each 1 MiB block is a fresh 1 MiB buffer that the kernel maps page by page. Measured on
 * the sysrq dumps (perf stat, 8 runs each): page faults 3609 -> 3192 (ELF), 4040 -> 3312 (zlib
 * kdump), 4572 -> 3889 (LZO kdump), `node -e 0` being 2143, for 15-16 reads -> 18-19.
 */
const LOG_BLOCK = 64 << 10;
const LOG_BLOCKS = 64;
const logBlocks = (ra: RandomAccess): CachedRandomAccess => new CachedRandomAccess(ra, LOG_BLOCK, LOG_BLOCKS);

export interface OpenedDump {
  identity: DumpIdentification;
  /** Null when the dump has no VMCOREINFO (nothing tells where the log is). */
  memory: KernelMemory | null;
  /** Files read: the dump; of a split set, the part given alone when the log lay in its pages, else every part (in pfn order). */
  files: string[];
  close(): Promise<void>;
}

export async function openDumpForLog(path: string): Promise<OpenedDump> {
  // A split part's siblings are looked for only when the log reaches past this part's pages
  // (splitReader's `more` below): numbering the part was a scan of its whole directory. The
  // kernel's utsname is not read either: the log needs the release VMCOREINFO gives.
  const identity = await identifyDump(path, { splitSiblings: false, utsname: false });
  if (path === '-' || identity.compressed || identity.format === 'dmesg') {
    throw new InputFormatError(
      `${path}: ${identity.format === 'dmesg' ? 'already a kernel log (vmcore-dmesg text), not a memory dump' : 'reading the log needs a seekable, uncompressed dump file'}`,
      { file: path, format: identity.format },
      identity.format === 'dmesg' ? {} : { hint: 'decompress the dump to a file first' },
    );
  }
  const handles: FileRandomAccess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  };
  try {
    const openRa = async (p: string): Promise<RandomAccess> => {
      const st = await stat(p);
      const fh = await open(p, 'r');
      const file = new FileRandomAccess(fh, p, st.size);
      handles.push(file);
      if (!isFlattened(await file.readAt(0, 16))) return file;
      // A flattened stream may rewrite bytes (makedumpfile -F -E writes the program headers last):
      // index every record so that each read sees the last writer.
      const flat = await FlatIndexAccess.build(file);
      await flat.readAt(Number.MAX_SAFE_INTEGER - 1, 1);
      return flat;
    };
    const ra = await openRa(path);
    const vi = identity.vmcoreinfo;
    const files = [path];
    let phys: PhysReader;
    let virt: PhysReader | null = null;
    let littleEndian = true;
    const head = await ra.readAt(0, 64);
    if (isElf(head)) {
      const t = await readElfTables(ra, { sections: false });
      littleEndian = t.header.endianness === 'le';
      // Page-sized reads through blocks: the ring's pages lie together (core/read-cache.ts).
      const cached = logBlocks(ra);
      phys = elfPhysReader(cached, t.programHeaders);
      // QEMU's paging:false ELF leaves p_vaddr 0: those segments never match a kernel address.
      virt = elfVirtReader(cached, t.programHeaders);
    } else if (kdumpSignature(head)) {
      const { header, subHeader } = await readKdumpHeaders(ra);
      littleEndian = header.endianness === 'le';
      const range = pfnRange(header, subHeader);
      if (range.split) {
        const own = { startPfn: range.start, endPfn: range.end, reader: kdumpPhysReader(logBlocks(ra), header, range.start, range.end) };
        // The other parts, opened on the first read of a page this part does not hold: the log
        // often lies in one part (the kernel's static prb in the first), and makedumpfile reads
        // that part alone. `files` then lists every part, in pfn order.
        const others = async (): Promise<SplitRange[]> => {
          const parts = await splitParts(path, ra, header, subHeader!, openRa);
          files.splice(0, files.length, ...parts.map((p) => p.path));
          return parts.filter((p) => p.ra !== ra).map((p) => ({ startPfn: p.start, endPfn: p.end, reader: kdumpPhysReader(logBlocks(p.ra), p.header, p.start, p.end) }));
        };
        phys = splitReader([own], header.block_size, others);
      } else phys = kdumpPhysReader(logBlocks(ra), header);
    } else {
      throw new InputFormatError(`${path}: no ELF or kdump-compressed memory image inside`, { file: path, format: identity.format });
    }
    const memory = vi ? kernelMemory({ vi, arch: identity.arch, littleEndian, phys, virt }) : null;
    return { identity, memory, files, close };
  } catch (e) {
    await close();
    throw e;
  }
}

function pfnRange(h: KdumpHeader, s: KdumpSubHeader | null): { split: boolean; start: bigint; end: bigint } {
  const max = s?.max_mapnr_64 ?? BigInt(h.max_mapnr);
  if (!s || !s.split) return { split: false, start: 0n, end: max };
  return { split: true, start: s.start_pfn_64 ?? s.start_pfn ?? 0n, end: s.end_pfn_64 ?? s.end_pfn ?? max };
}

interface SplitPart {
  path: string;
  ra: RandomAccess;
  header: KdumpHeader;
  start: bigint;
  end: bigint;
}

/**
 * The parts of the split set `path` belongs to (identify's splitSiblings), opened, with the pfn
 * range each one's own header gives; `path` alone when its directory cannot be read.
 */
async function splitParts(
  path: string,
  self: RandomAccess,
  h: KdumpHeader,
  s: KdumpSubHeader,
  openRa: (p: string) => Promise<RandomAccess>,
): Promise<SplitPart[]> {
  const siblings = (await splitSiblings(path, h, s)) ?? [{ path }];
  const parts = await Promise.all(
    siblings.map(async (x): Promise<SplitPart> => {
      const ra = x.path === path ? self : await openRa(x.path);
      const { header, subHeader } = await readKdumpHeaders(ra);
      const r = pfnRange(header, subHeader);
      return { path: x.path, ra, header, start: r.start, end: r.end };
    }),
  );
  return parts.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
