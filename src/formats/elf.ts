// Generic ELF reading: file header, program headers, section headers and notes, for ELF32 and
// ELF64 in either byte order. Used for vmcores (ET_CORE, PT_NOTE → VMCOREINFO) and for vmlinux
// files (section headers, .note.gnu.build-id). Pure: bytes in, typed structs out.
//
// Field names follow <elf.h>. Offsets and sizes that fit in 2^53 are numbers; addresses that may
// use the full 64 bits (e_entry, p_vaddr, p_paddr, sh_addr) are bigints.
//
// Files: elf-types.ts (constants, limits, structs), elf-header.ts (file, program and section
// headers), elf-notes.ts (notes, build-id), elf-read.ts (the same through positioned reads).

export { type Endianness, type ElfClass, ET_CORE, ET_EXEC, ET_DYN, PT_LOAD, PT_NOTE, SHT_NOTE, SHT_NOBITS, NT_PRSTATUS, NT_GNU_BUILD_ID, PN_XNUM, SHN_XINDEX, ELF_LIMITS, ELF_MACHINES, type ElfHeader, type ElfProgramHeader, type ElfSectionHeader, type ElfNote, type ElfTableOptions } from './elf-types.js';
export { isElf, parseElfHeader, elfMachineName, parseProgramHeaders, parseSectionHeaders, resolveSectionNames } from './elf-header.js';
export { type ParseNotesOptions, parseNotes, findGnuBuildId } from './elf-notes.js';
export { type ElfTables, readElfTables, readElfSegmentNotes, readElfBuildId } from './elf-read.js';
