// ELF file header, program headers and section headers, for ELF32 and ELF64 in either byte
// order. Pure: bytes in, typed structs out.

import { boundedLength, hex } from '../core/byte-source.js';
import { ELF_LIMITS, ELF_MACHINES, type ElfClass, type ElfHeader, type ElfProgramHeader, type ElfSectionHeader, type ElfTableOptions, type Endianness, Fields, FORMAT, formatError, toNumber, truncated } from './elf-types.js';

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Parse the ELF file header from the first bytes of a file (at least 52 bytes for ELF32, 64 for
 * ELF64). e_ehsize is deliberately not checked (QEMU 7.2 dumps say 8).
 */
export function parseElfHeader(bytes: Uint8Array, label = 'input'): ElfHeader {
  if (bytes.length < 16) {
    if (bytes.length >= 4 && !isElf(bytes)) throw formatError(label, 'bad magic', 0, '7f 45 4c 46', hex(bytes.subarray(0, 4)));
    throw truncated(label, 'e_ident', 0, 16, bytes.length);
  }
  if (!isElf(bytes)) throw formatError(label, 'bad magic', 0, '7f 45 4c 46', hex(bytes.subarray(0, 4)));
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw formatError(label, 'bad EI_CLASS', 4, '1 (ELF32) or 2 (ELF64)', String(cls));
  const data = bytes[5];
  if (data !== 1 && data !== 2) throw formatError(label, 'bad EI_DATA', 5, '1 (LE) or 2 (BE)', String(data));
  const elfClass: ElfClass = cls === 1 ? 32 : 64;
  const endianness: Endianness = data === 1 ? 'le' : 'be';
  const headerSize = elfClass === 64 ? 64 : 52;
  if (bytes.length < headerSize) throw truncated(label, `ELF${elfClass} header`, 0, headerSize, bytes.length);
  const f = new Fields(bytes, endianness);
  const osabi = bytes[7] ?? 0;
  if (elfClass === 64) {
    return {
      elfClass,
      endianness,
      osabi,
      e_type: f.u16(16),
      e_machine: f.u16(18),
      e_version: f.u32(20),
      e_entry: f.u64(24),
      e_phoff: toNumber(f.u64(32), label, 'e_phoff', 32),
      e_shoff: toNumber(f.u64(40), label, 'e_shoff', 40),
      e_flags: f.u32(48),
      e_ehsize: f.u16(52),
      e_phentsize: f.u16(54),
      e_phnum: f.u16(56),
      e_shentsize: f.u16(58),
      e_shnum: f.u16(60),
      e_shstrndx: f.u16(62),
      headerSize,
    };
  }
  return {
    elfClass,
    endianness,
    osabi,
    e_type: f.u16(16),
    e_machine: f.u16(18),
    e_version: f.u32(20),
    e_entry: BigInt(f.u32(24)),
    e_phoff: f.u32(28),
    e_shoff: f.u32(32),
    e_flags: f.u32(36),
    e_ehsize: f.u16(40),
    e_phentsize: f.u16(42),
    e_phnum: f.u16(44),
    e_shentsize: f.u16(46),
    e_shnum: f.u16(48),
    e_shstrndx: f.u16(50),
    headerSize,
  };
}

/** Architecture name for e_machine (uname -m spelling), or null when unknown. */
export function elfMachineName(e_machine: number, elfClass: ElfClass = 64): string | null {
  if (e_machine === 21 && elfClass === 32) return 'ppc';
  if (e_machine === 22 && elfClass === 32) return 's390';
  if (e_machine === 243 && elfClass === 32) return 'riscv32';
  return ELF_MACHINES[e_machine] ?? null;
}

export function phentsizeFor(hdr: ElfHeader): number {
  return hdr.elfClass === 64 ? 56 : 32;
}
export function shentsizeFor(hdr: ElfHeader): number {
  return hdr.elfClass === 64 ? 64 : 40;
}

/**
 * Where a program or section header table lies in `bytes`: its entry size checked against the
 * class, its start inside the bytes given, and all of it present. Null for an empty table.
 */
export function locateTable(
  bytes: Uint8Array,
  hdr: ElfHeader,
  opts: ElfTableOptions,
  t: { kind: 'program' | 'section'; tableOffset: number; count: number; entsize: number; expectedEntsize: number; entsizeOffset: number },
): { start: number; ent: number; count: number; f: Fields } | null {
  if (t.count === 0) return null;
  const label = opts.label ?? 'input';
  const base = opts.offset ?? 0;
  const [off, ent] = t.kind === 'program' ? ['e_phoff', 'e_phentsize'] : ['e_shoff', 'e_shentsize'];
  if (t.entsize !== t.expectedEntsize) throw formatError(label, `${ent} ${t.entsize}`, t.entsizeOffset, String(t.expectedEntsize), String(t.entsize));
  const start = t.tableOffset - base;
  if (start < 0) throw formatError(label, `${t.kind} header table (${off} ${t.tableOffset}) lies before the bytes given (offset ${base})`, t.tableOffset);
  const need = t.count * t.expectedEntsize;
  if (start + need > bytes.length) throw truncated(label, `${t.kind} header table (${t.count} entries)`, t.tableOffset, need, bytes.length - start);
  return { start, ent: t.expectedEntsize, count: t.count, f: new Fields(bytes, hdr.endianness) };
}

/**
 * Parse the program header table. `count` overrides e_phnum (pass the sh_info of section 0 when
 * e_phnum is PN_XNUM; `readElfTables` does this).
 */
export function parseProgramHeaders(bytes: Uint8Array, hdr: ElfHeader, opts: ElfTableOptions & { count?: number } = {}): ElfProgramHeader[] {
  const label = opts.label ?? 'input';
  const is64 = hdr.elfClass === 64;
  const table = locateTable(bytes, hdr, opts, {
    kind: 'program',
    tableOffset: hdr.e_phoff,
    count: boundedLength(opts.count ?? hdr.e_phnum, ELF_LIMITS.maxPhnum, { label, format: FORMAT, field: 'e_phnum', offset: is64 ? 56 : 44 }),
    entsize: hdr.e_phentsize,
    expectedEntsize: phentsizeFor(hdr),
    entsizeOffset: is64 ? 54 : 42,
  });
  if (table === null) return [];
  const { start, ent, count, f } = table;
  const out: ElfProgramHeader[] = [];
  for (let i = 0; i < count; i++) {
    const o = start + i * ent;
    const fo = hdr.e_phoff + i * ent;
    if (hdr.elfClass === 64) {
      out.push({
        p_type: f.u32(o),
        p_flags: f.u32(o + 4),
        p_offset: toNumber(f.u64(o + 8), label, `phdr[${i}].p_offset`, fo + 8),
        p_vaddr: f.u64(o + 16),
        p_paddr: f.u64(o + 24),
        p_filesz: toNumber(f.u64(o + 32), label, `phdr[${i}].p_filesz`, fo + 32),
        p_memsz: f.u64(o + 40),
        p_align: f.u64(o + 48),
      });
    } else {
      out.push({
        p_type: f.u32(o),
        p_offset: f.u32(o + 4),
        p_vaddr: BigInt(f.u32(o + 8)),
        p_paddr: BigInt(f.u32(o + 12)),
        p_filesz: f.u32(o + 16),
        p_memsz: BigInt(f.u32(o + 20)),
        p_flags: f.u32(o + 24),
        p_align: BigInt(f.u32(o + 28)),
      });
    }
  }
  return out;
}

/**
 * Parse the section header table. `count` overrides e_shnum (when e_shnum is 0 and section 0's
 * sh_size holds the real count). Names are left empty; see `resolveSectionNames`.
 */
export function parseSectionHeaders(bytes: Uint8Array, hdr: ElfHeader, opts: ElfTableOptions & { count?: number } = {}): ElfSectionHeader[] {
  const label = opts.label ?? 'input';
  const is64 = hdr.elfClass === 64;
  const shnum = boundedLength(opts.count ?? hdr.e_shnum, ELF_LIMITS.maxShnum, { label, format: FORMAT, field: 'e_shnum', offset: is64 ? 60 : 48 });
  if (hdr.e_shoff === 0) return [];
  const table = locateTable(bytes, hdr, opts, {
    kind: 'section',
    tableOffset: hdr.e_shoff,
    count: shnum,
    entsize: hdr.e_shentsize,
    expectedEntsize: shentsizeFor(hdr),
    entsizeOffset: is64 ? 58 : 46,
  });
  if (table === null) return [];
  const { start, ent, count, f } = table;
  const out: ElfSectionHeader[] = [];
  for (let i = 0; i < count; i++) {
    const o = start + i * ent;
    const fo = hdr.e_shoff + i * ent;
    if (hdr.elfClass === 64) {
      out.push({
        sh_name: f.u32(o),
        sh_type: f.u32(o + 4),
        sh_flags: f.u64(o + 8),
        sh_addr: f.u64(o + 16),
        sh_offset: toNumber(f.u64(o + 24), label, `shdr[${i}].sh_offset`, fo + 24),
        sh_size: toNumber(f.u64(o + 32), label, `shdr[${i}].sh_size`, fo + 32),
        sh_link: f.u32(o + 40),
        sh_info: f.u32(o + 44),
        sh_addralign: toNumber(f.u64(o + 48), label, `shdr[${i}].sh_addralign`, fo + 48),
        sh_entsize: toNumber(f.u64(o + 56), label, `shdr[${i}].sh_entsize`, fo + 56),
        name: '',
      });
    } else {
      out.push({
        sh_name: f.u32(o),
        sh_type: f.u32(o + 4),
        sh_flags: BigInt(f.u32(o + 8)),
        sh_addr: BigInt(f.u32(o + 12)),
        sh_offset: f.u32(o + 16),
        sh_size: f.u32(o + 20),
        sh_link: f.u32(o + 24),
        sh_info: f.u32(o + 28),
        sh_addralign: f.u32(o + 32),
        sh_entsize: f.u32(o + 36),
        name: '',
      });
    }
  }
  return out;
}

/** Fill `name` of each section from the section-name string table bytes (.shstrtab contents). */
export function resolveSectionNames(sections: ElfSectionHeader[], shstrtab: Uint8Array): ElfSectionHeader[] {
  const dec = new TextDecoder('utf-8', { fatal: false });
  return sections.map((s) => {
    if (s.sh_name >= shstrtab.length) return { ...s, name: '' };
    let end = shstrtab.indexOf(0, s.sh_name);
    if (end === -1) end = shstrtab.length;
    return { ...s, name: dec.decode(shstrtab.subarray(s.sh_name, end)) };
  });
}
