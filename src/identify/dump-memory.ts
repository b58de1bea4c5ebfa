// Kernel memory of a dump, for stages that compare it with a vmlinux (verify: linux_banner at the
// vmlinux's symbol address, as crash does before it accepts a vmlinux).

import { open, stat } from 'node:fs/promises';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { FileRandomAccess } from '../core/file-access.js';
import { isElf, readElfTables } from '../formats/elf.js';
import { FlatIndexAccess } from '../formats/flat-index.js';
import { isFlattened } from '../formats/flattened.js';
import { readKdumpHeaders } from '../formats/kdump.js';
import { identifyDump } from './dispatch.js';
import { reassembleFlatHeaders } from './flattened.js';
import { optional, wrapUnexpected, type DumpIdentification } from './identity.js';
import { elfPhysReader, elfVirtReader, kdumpPhysReader, kernelVirtToPhys } from './memory.js';

export interface DumpMemory {
  identity: DumpIdentification;
  /**
   * Read kernel-image virtual memory: a vmlinux symbol address plus the dump's KASLR offset
   * (`identity.kernelOffset`). Null when the dump does not hold those bytes (filtered page, a
   * page that does not decode, address outside the kernel image on an arch kdbg cannot translate).
   */
  readKernel(vaddr: bigint, length: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** Open a dump file (ELF, kdump-compressed, flattened, split part) for kernel-memory reads. */
export async function openDumpMemory(path: string): Promise<DumpMemory> {
  const identity = await identifyDump(path);
  if (path === '-' || identity.format === 'dmesg' || identity.compressed) {
    throw new InputFormatError(`${path}: ${identity.format === 'dmesg' ? 'a kernel log, not a memory dump' : 'memory reads need a seekable, uncompressed dump file'}`, { file: path, format: identity.format });
  }
  const st = await stat(path);
  const fh = await open(path, 'r');
  try {
    const file = new FileRandomAccess(fh, path, st.size);
    const flat = isFlattened(await file.readAt(0, 16));
    // Headers from the replayed header window (exact: last writer wins); page data through the
    // lazy record index.
    const headers: RandomAccess = flat ? await reassembleFlatHeaders(file) : file;
    const ra: RandomAccess = flat ? await FlatIndexAccess.build(file) : file;
    const head = await headers.readAt(0, 64);
    let phys: PhysReaderFn | null = null;
    let virt: PhysReaderFn | null = null;
    if (isElf(head)) {
      const tables = await readElfTables(headers, { sections: false });
      phys = elfPhysReader(ra, tables.programHeaders);
      virt = elfVirtReader(ra, tables.programHeaders);
    } else {
      const { header } = await readKdumpHeaders(headers);
      phys = kdumpPhysReader(ra, header);
    }
    const vi = identity.vmcoreinfo ?? {};
    return {
      identity,
      readKernel: async (vaddr, length) => {
        const v = virt ? await optional(() => virt!(vaddr, length)) : null;
        if (v) return v;
        const pa = kernelVirtToPhys(vaddr, identity.arch, vi);
        return pa === null || !phys ? null : optional(() => phys!(pa, length));
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw wrapUnexpected(e, path);
  }
}

type PhysReaderFn = (addr: bigint, length: number) => Promise<Uint8Array | null>;
