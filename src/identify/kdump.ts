// kdump-compressed (and DISKDUMP) dumps: the header's utsname, VMCOREINFO from the sub-header's
// copy or its ELF notes, the kernel's utsname from the pages when QEMU left the header's empty,
// and the part of a split set (split.ts).

import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, TruncatedError } from '../core/errors.js';
import { CachedRandomAccess } from '../core/read-cache.js';
import { NT_PRSTATUS, parseNotes } from '../formats/elf.js';
import { FlatIndexAccess } from '../formats/flat-index.js';
import { kdumpCompression, readKdumpHeaders } from '../formats/kdump.js';
import type { KdumpHeader } from '../formats/kdump.js';
import { parseVmcoreinfo, VMCOREINFO_MAX_BYTES } from '../formats/vmcoreinfo.js';
import { packageVersionFrom } from './banner.js';
import { applyBanner, applyUtsname, applyVmcoreinfo, archFromRelease, emptyIdentity, memorySource, optional, vmcoreinfoFromNotes, type Ctx, type DumpIdentification } from './identity.js';
import { scanKdumpPagesForBanner } from './kdump-pages.js';
import { kdumpPhysReader, readInitUtsname } from './memory.js';
import { splitPosition } from './split.js';

const NOTE_LIMIT = 64 << 20;

export async function identifyKdump(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const { header: h, subHeader: s } = await readKdumpHeaders(ra);
  const id = emptyIdentity(path, 'kdump-compressed');
  id.utsname = h.utsname;
  id.compression = kdumpCompression(h.status);
  id.pageSize = h.block_size;
  id.cpus = h.nr_cpus > 0 ? h.nr_cpus : null;
  // QEMU's kdump header names no machine it has no uname string for: aarch64 dumps say "Unknown".
  id.arch = h.utsname.machine && h.utsname.machine !== 'Unknown' ? h.utsname.machine : null;
  let vi: Record<string, string> | null = null;
  if (s && s.offset_vmcoreinfo !== null && s.size_vmcoreinfo !== null && s.size_vmcoreinfo > 0) {
    const size = boundedVmcoreinfoSize(s.size_vmcoreinfo, path, h);
    const text = await readChecked(ra, s.offset_vmcoreinfo, size, path, 'VMCOREINFO text (sub-header offset_vmcoreinfo)');
    vi = parseVmcoreinfo(text, path, s.offset_vmcoreinfo);
  }
  if (s && s.offset_note !== null && s.size_note !== null && s.size_note > 0) {
    if (s.size_note > NOTE_LIMIT) {
      throw new InputFormatError(`${path}: kdump sub-header size_note is ${s.size_note} at offset ${h.block_size + (h.abi === 64 ? 56 : 40)}, over the limit of ${NOTE_LIMIT}`, {
        file: path,
        format: 'kdump-compressed',
        offset: h.block_size,
      });
    }
    const nb = await readChecked(ra, s.offset_note, s.size_note, path, 'ELF notes copy (sub-header offset_note)');
    const notes = parseNotes(nb, h.endianness, path, { baseOffset: s.offset_note });
    const prs = notes.filter((n) => n.name === 'CORE' && n.n_type === NT_PRSTATUS).length;
    if (prs > 0) id.cpus = prs;
    vi ??= vmcoreinfoFromNotes(notes);
  }
  if (vi) applyVmcoreinfo(id, vi);
  // QEMU leaves the header's utsname empty: read the kernel's own init_uts_ns from the pages.
  if (vi && !h.utsname.version && (ctx.utsname !== false || id.release === null)) {
    const mem = await memorySource(ra, ctx);
    if (mem) {
      const u = await optional(() => readInitUtsname(vi!, id.arch, kdumpPhysReader(mem, h), null));
      if (u) applyUtsname(id, u);
    }
  }
  if (id.release === null && h.utsname.release) {
    id.release = h.utsname.release;
    id.source = 'utsname';
  }
  // Old dumps without VMCOREINFO: the header timestamp is the crash time.
  if (id.crashTime === null && vi === null && h.timestamp.tv_sec > 0) id.crashTime = new Date(h.timestamp.tv_sec * 1000).toISOString();
  id.packageVersion ??= packageVersionFrom(h.utsname.version, id.release);
  if (s && s.split !== null && s.split !== 0) {
    const start = s.start_pfn_64 ?? s.start_pfn ?? 0n;
    const end = s.end_pfn_64 ?? s.end_pfn ?? 0n;
    id.format = 'split';
    id.split = { part: null, parts: null, startPfn: start.toString(), endPfn: end.toString() };
    if (ctx.file && !ctx.flattened && ctx.splitSiblings !== false) Object.assign(id.split, await splitPosition(path, h, s));
    else if (start === 0n) id.split.part = 1;
  }
  if (id.release === null) {
    // Page by page in file order: through 1 MiB blocks, not one read per descriptor and page.
    const src = ctx.flatFile ? await FlatIndexAccess.build(ctx.flatFile) : new CachedRandomAccess(ra);
    const r = await scanKdumpPagesForBanner(src, h);
    if (r.hit) applyBanner(id, r.hit);
  }
  id.arch ??= archFromRelease(id.release);
  return id;
}

function boundedVmcoreinfoSize(size: number, path: string, h: KdumpHeader): number {
  if (size > VMCOREINFO_MAX_BYTES) {
    throw new InputFormatError(`${path}: kdump sub-header size_vmcoreinfo is ${size} at offset ${h.block_size + (h.abi === 64 ? 40 : 28)}, over the limit of ${VMCOREINFO_MAX_BYTES}`, {
      file: path,
      format: 'kdump-compressed',
      offset: h.block_size + (h.abi === 64 ? 40 : 28),
      expected: `<= ${VMCOREINFO_MAX_BYTES}`,
      found: String(size),
    });
  }
  return size;
}

async function readChecked(ra: RandomAccess, offset: number, length: number, path: string, what: string): Promise<Uint8Array> {
  const b = await ra.readAt(offset, length);
  if (b.length < length) {
    throw new TruncatedError(`${path}: truncated kdump-compressed dump: ${what} needs ${length} bytes at offset ${offset}, only ${b.length} there`, {
      file: path,
      format: 'kdump-compressed',
      offset,
      expected: `${length} bytes`,
      found: `${b.length} bytes`,
    });
  }
  return b;
}
