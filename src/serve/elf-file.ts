// ELF facts the server needs about a cached file, read through positioned reads (a vmlinux is
// hundreds of MB; only its tables are read): its GNU build-id, whether it is an "executable" in
// debuginfod's sense, and where a named section's bytes are.

import { withFileAccess } from '../core/file-access.js';
import { readElfBuildId, readElfTables, SHT_NOBITS } from '../formats/elf.js';

const SHT_PROGBITS = 1;
const SHF_ALLOC = 2n;

/** The GNU build-id of an ELF file, or null (no note, or not an ELF file at all). */
export async function fileBuildId(path: string): Promise<string | null> {
  try {
    return await withFileAccess(path, (ra) => readElfBuildId(ra));
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
    return await withFileAccess(path, async (ra) => {
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
    return await withFileAccess(path, async (ra) => {
      const t = await readElfTables(ra);
      const s = t.sections.find((x) => x.name === name);
      if (!s || s.sh_type === SHT_NOBITS || s.sh_offset + s.sh_size > (ra.size ?? 0)) return null;
      return { offset: s.sh_offset, size: s.sh_size };
    });
  } catch {
    return null;
  }
}
