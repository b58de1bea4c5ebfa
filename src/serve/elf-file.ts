// ELF facts the server needs about a cached file, read through positioned reads (a vmlinux is
// hundreds of MB; only its tables are read): its GNU build-id, whether it is an "executable" in
// debuginfod's sense, and where a named section's bytes are.

import { open, type FileHandle } from 'node:fs/promises';
import type { RandomAccess } from '../core/byte-source.js';
import { readElfBuildId, readElfTables, SHT_NOBITS } from '../formats/elf.js';

const SHT_PROGBITS = 1;
const SHF_ALLOC = 2n;

class FileHandleAccess implements RandomAccess {
  constructor(
    private readonly fh: FileHandle,
    readonly label: string,
    readonly size: number,
  ) {}
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const len = Math.max(0, Math.min(length, this.size - offset));
    if (len === 0) return new Uint8Array(0);
    const buf = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }
}

async function withFile<T>(path: string, fn: (ra: RandomAccess) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    return await fn(new FileHandleAccess(fh, path, st.size));
  } finally {
    await fh.close();
  }
}

/** The GNU build-id of an ELF file, or null (no note, or not an ELF file at all). */
export async function fileBuildId(path: string): Promise<string | null> {
  try {
    return await withFile(path, (ra) => readElfBuildId(ra));
  } catch {
    return null;
  }
}

/**
 * True when the file carries loadable code, i.e. it can be served as `/executable`. This is
 * elfutils debuginfod's own rule ("executable due to SHF_ALLOC SHT_PROGBITS"): an unstripped
 * vmlinux qualifies; a split `.debug` file (its .text is SHT_NOBITS) does not.
 */
export async function isExecutableElf(path: string): Promise<boolean> {
  try {
    return await withFile(path, async (ra) => {
      const t = await readElfTables(ra);
      return t.sections.some((s) => s.sh_type === SHT_PROGBITS && (s.sh_flags & SHF_ALLOC) !== 0n && s.sh_size > 0);
    });
  } catch {
    return false;
  }
}

/** File offset and size of the named section's bytes, or null (absent, or SHT_NOBITS). */
export async function findSection(path: string, name: string): Promise<{ offset: number; size: number } | null> {
  try {
    return await withFile(path, async (ra) => {
      const t = await readElfTables(ra);
      const s = t.sections.find((x) => x.name === name);
      if (!s || s.sh_type === SHT_NOBITS || s.sh_offset + s.sh_size > (ra.size ?? 0)) return null;
      return { offset: s.sh_offset, size: s.sh_size };
    });
  } catch {
    return null;
  }
}
