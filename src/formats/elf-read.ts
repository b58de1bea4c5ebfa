// ELF tables and notes read from a RandomAccess (a vmcore, a vmlinux): only the bytes the
// tables and notes occupy are read.

import { boundedLength, readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { ELF_LIMITS, type ElfHeader, type ElfNote, type ElfProgramHeader, type ElfSectionHeader, FORMAT, formatError, PN_XNUM, PT_NOTE, SHN_XINDEX, SHT_NOBITS, SHT_NOTE } from './elf-types.js';
import { parseElfHeader, parseProgramHeaders, parseSectionHeaders, phentsizeFor, resolveSectionNames, shentsizeFor } from './elf-header.js';
import { findGnuBuildId, parseNotes } from './elf-notes.js';

/** Everything table-shaped in an ELF file, read through positioned reads. */
export interface ElfTables {
  header: ElfHeader;
  programHeaders: ElfProgramHeader[];
  sections: ElfSectionHeader[];
}

/**
 * Read header, program headers (resolving PN_XNUM) and section headers (with names when
 * .shstrtab is reachable) from a RandomAccess, reading only those tables.
 */
export async function readElfTables(src: RandomAccess, opts: { sections?: boolean } = {}): Promise<ElfTables> {
  const label = src.label;
  const head = await src.readAt(0, 64);
  const header = parseElfHeader(head, label);
  let sections: ElfSectionHeader[] = [];
  let phnum = header.e_phnum;
  let shnum = header.e_shnum;
  let shstrndx = header.e_shstrndx;
  const wantSections = opts.sections ?? true;
  if (header.e_shoff !== 0 && (wantSections || phnum === PN_XNUM)) {
    const ent = shentsizeFor(header);
    if (header.e_shentsize !== ent) throw formatError(label, `e_shentsize ${header.e_shentsize}`, header.elfClass === 64 ? 58 : 46, String(ent), String(header.e_shentsize));
    // Section 0 carries the extended counts (PN_XNUM, e_shnum = 0, SHN_XINDEX).
    const s0b = await readExactAt(src, header.e_shoff, ent, FORMAT, 'section header 0');
    const s0 = parseSectionHeaders(s0b, header, { label, offset: header.e_shoff, count: 1 })[0];
    if (s0 !== undefined) {
      if (phnum === PN_XNUM) phnum = s0.sh_info;
      if (shnum === 0) shnum = boundedLength(s0.sh_size, ELF_LIMITS.maxShnum, { label, format: FORMAT, field: 'shdr[0].sh_size (section count)', offset: header.e_shoff });
      if (shstrndx === SHN_XINDEX) shstrndx = s0.sh_link;
    }
    if (wantSections && shnum > 0) {
      boundedLength(shnum, ELF_LIMITS.maxShnum, { label, format: FORMAT, field: 'e_shnum', offset: header.e_shoff });
      const tb = await readExactAt(src, header.e_shoff, shnum * ent, FORMAT, 'section header table');
      sections = parseSectionHeaders(tb, header, { label, offset: header.e_shoff, count: shnum });
      const strtab = sections[shstrndx];
      if (strtab !== undefined && shstrndx !== 0 && strtab.sh_type !== SHT_NOBITS && strtab.sh_size > 0) {
        const size = boundedLength(strtab.sh_size, 16 << 20, { label, format: FORMAT, field: '.shstrtab sh_size', offset: header.e_shoff + shstrndx * ent });
        const sb = await readExactAt(src, strtab.sh_offset, size, FORMAT, '.shstrtab');
        sections = resolveSectionNames(sections, sb);
      }
    }
  }
  let programHeaders: ElfProgramHeader[] = [];
  if (phnum > 0 && header.e_phoff !== 0) {
    boundedLength(phnum, ELF_LIMITS.maxPhnum, { label, format: FORMAT, field: 'e_phnum', offset: header.elfClass === 64 ? 56 : 44 });
    const ent = phentsizeFor(header);
    const pb = await readExactAt(src, header.e_phoff, phnum * ent, FORMAT, 'program header table');
    programHeaders = parseProgramHeaders(pb, header, { label, offset: header.e_phoff, count: phnum });
  }
  return { header, programHeaders, sections };
}

/** Read and parse the notes of every PT_NOTE segment (vmcores) — bounded per segment. */
export async function readElfSegmentNotes(src: RandomAccess, tables: ElfTables): Promise<ElfNote[]> {
  const out: ElfNote[] = [];
  for (const [i, ph] of tables.programHeaders.entries()) {
    if (ph.p_type !== PT_NOTE || ph.p_filesz === 0) continue;
    const size = boundedLength(ph.p_filesz, ELF_LIMITS.maxNoteSegment, {
      label: src.label,
      format: FORMAT,
      field: `phdr[${i}].p_filesz (PT_NOTE)`,
      offset: tables.header.e_phoff + i * phentsizeFor(tables.header),
    });
    const b = await readExactAt(src, ph.p_offset, size, FORMAT, `PT_NOTE segment ${i}`);
    out.push(...parseNotes(b, tables.header.endianness, src.label, { baseOffset: ph.p_offset }));
  }
  return out;
}

/**
 * The GNU build-id of an ELF executable (vmlinux, module): from SHT_NOTE sections (preferred:
 * present in debug-only files too) or else PT_NOTE segments. Null when there is none.
 */
export async function readElfBuildId(src: RandomAccess): Promise<string | null> {
  const tables = await readElfTables(src);
  for (const s of tables.sections) {
    if (s.sh_type !== SHT_NOTE || s.sh_size === 0) continue;
    if (s.name !== '' && !s.name.startsWith('.note')) continue;
    const size = boundedLength(s.sh_size, ELF_LIMITS.maxNoteSegment, { label: src.label, format: FORMAT, field: `section ${s.name} sh_size`, offset: tables.header.e_shoff });
    const b = await readExactAt(src, s.sh_offset, size, FORMAT, `note section ${s.name}`);
    const id = findGnuBuildId(parseNotes(b, tables.header.endianness, src.label, { align: s.sh_addralign === 8 ? 8 : 4, baseOffset: s.sh_offset }));
    if (id) return id;
  }
  const id = findGnuBuildId(await readElfSegmentNotes(src, tables));
  return id;
}
