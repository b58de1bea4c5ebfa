// ELF vmcores (/proc/vmcore as saved by kdump, QEMU's dump-guest-memory, makedumpfile -E): the
// release from the VMCOREINFO note, else the kernel's utsname in memory, else a banner scan of
// the loads.

import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { elfMachineName, ET_CORE, NT_PRSTATUS, readElfSegmentNotes, readElfTables } from '../formats/elf.js';
import { FlatIndexAccess } from '../formats/flat-index.js';
import { scanForBanner } from './banner.js';
import { applyBanner, applyUtsname, applyVmcoreinfo, BANNER_SCAN_LIMIT, emptyIdentity, memorySource, optional, vmcoreinfoFromNotes, type Ctx, type DumpIdentification } from './identity.js';
import { elfPhysReader, elfVirtReader, readInitUtsname } from './memory.js';

export async function identifyElf(ra: RandomAccess, path: string, ctx: Ctx): Promise<DumpIdentification> {
  const tables = await readElfTables(ra, { sections: false });
  const h = tables.header;
  if (h.e_type !== ET_CORE) {
    throw new InputFormatError(`${path}: an ELF file but not a core dump (e_type ${h.e_type} at offset 16${h.e_type === 2 || h.e_type === 3 ? ': a vmlinux or program?' : ''})`, {
      file: path,
      format: 'ELF',
      offset: 16,
      expected: '4 (ET_CORE)',
      found: String(h.e_type),
    });
  }
  const id = emptyIdentity(path, h.elfClass === 64 ? 'elf64' : 'elf32');
  id.arch = elfMachineName(h.e_machine, h.elfClass);
  const notes = await readElfSegmentNotes(ra, tables);
  id.cpus = notes.filter((n) => n.name === 'CORE' && n.n_type === NT_PRSTATUS).length;
  const vi = vmcoreinfoFromNotes(notes);
  if (vi) applyVmcoreinfo(id, vi);
  if (vi && (ctx.utsname !== false || id.release === null)) {
    const mem = await memorySource(ra, ctx);
    if (mem) {
      const u = await optional(() => readInitUtsname(vi, id.arch, elfPhysReader(mem, tables.programHeaders), elfVirtReader(mem, tables.programHeaders)));
      if (u) applyUtsname(id, u);
    }
  }
  if (id.release === null) {
    const scanSrc = ctx.flatFile ? await FlatIndexAccess.build(ctx.flatFile) : ra;
    const firstLoad = Math.min(...tables.programHeaders.filter((p) => p.p_type === 1 && p.p_filesz > 0).map((p) => p.p_offset), Number.MAX_SAFE_INTEGER);
    const start = firstLoad === Number.MAX_SAFE_INTEGER ? 0 : firstLoad;
    const hit = await scanForBanner(scanSrc, { start, limit: BANNER_SCAN_LIMIT });
    if (hit) applyBanner(id, hit);
  }
  return id;
}
