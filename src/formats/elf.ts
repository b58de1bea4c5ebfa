// Generic ELF reading: file header, program headers, section headers and notes, for ELF32 and
// ELF64 in either byte order. Used for vmcores (ET_CORE, PT_NOTE → VMCOREINFO) and for vmlinux
// files (section headers, .note.gnu.build-id). Pure: bytes in, typed structs out.
//
// Field names follow <elf.h>. Offsets and sizes that fit in 2^53 are numbers; addresses that may
// use the full 64 bits (e_entry, p_vaddr, p_paddr, sh_addr) are bigints.

import { boundedLength, dataView, hex, readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError, TruncatedError } from '../core/errors.js';

export type Endianness = 'le' | 'be';
export type ElfClass = 32 | 64;

export const ET_CORE = 4;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const NT_PRSTATUS = 1;
export const NT_GNU_BUILD_ID = 3;
/** e_phnum value meaning "the real count is in section header 0's sh_info". */
export const PN_XNUM = 0xffff;
export const SHN_XINDEX = 0xffff;

const FORMAT = 'ELF';

/** Upper bounds for counts and sizes read from untrusted headers. */
export const ELF_LIMITS = {
  /** Program headers (PN_XNUM allows more than 65535; a vmcore has one per memory range). */
  maxPhnum: 1 << 20,
  maxShnum: 1 << 20,
  /** One note segment: per-CPU notes for thousands of CPUs plus a ≤1 MiB VMCOREINFO copy. */
  maxNoteSegment: 64 << 20,
  /** One note's name or descriptor. */
  maxNoteField: 16 << 20,
} as const;

export const ELF_MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390x',
  40: 'arm',
  62: 'x86_64',
  183: 'aarch64',
  243: 'riscv64',
  258: 'loongarch64',
};

export interface ElfHeader {
  /** 32 or 64 (e_ident[EI_CLASS]). */
  elfClass: ElfClass;
  endianness: Endianness;
  /** e_ident[EI_OSABI]. */
  osabi: number;
  e_type: number;
  e_machine: number;
  e_version: number;
  e_entry: bigint;
  e_phoff: number;
  e_shoff: number;
  e_flags: number;
  /** Not validated: QEMU 7.2 writes 8 here (a sizeof(pointer) bug). */
  e_ehsize: number;
  e_phentsize: number;
  e_phnum: number;
  e_shentsize: number;
  e_shnum: number;
  e_shstrndx: number;
  /** The size of the fixed header for this class (64 or 52), whatever e_ehsize says. */
  headerSize: number;
}

export interface ElfProgramHeader {
  p_type: number;
  p_flags: number;
  p_offset: number;
  p_vaddr: bigint;
  p_paddr: bigint;
  p_filesz: number;
  p_memsz: bigint;
  p_align: bigint;
}

export interface ElfSectionHeader {
  sh_name: number;
  sh_type: number;
  sh_flags: bigint;
  sh_addr: bigint;
  sh_offset: number;
  sh_size: number;
  sh_link: number;
  sh_info: number;
  sh_addralign: number;
  sh_entsize: number;
  /** Resolved from .shstrtab by `resolveSectionNames`, else ''. */
  name: string;
}

export interface ElfNote {
  n_namesz: number;
  n_descsz: number;
  n_type: number;
  /** Name without the terminating NUL ("CORE", "VMCOREINFO", "GNU"). */
  name: string;
  desc: Uint8Array;
  /** Offset of the note header relative to the start of the bytes given to parseNotes (+ baseOffset). */
  offset: number;
}

/** Options shared by the table parsers. */
export interface ElfTableOptions {
  /** File name for error messages. */
  label?: string;
  /**
   * File offset of bytes[0]. Default 0: `bytes` is the file from its start, the table is found at
   * e_phoff / e_shoff inside it. Pass e_phoff (or e_shoff) when `bytes` is just the table.
   */
  offset?: number;
}

function formatError(label: string, what: string, offset: number, expected?: string, found?: string): InputFormatError {
  return new InputFormatError(`${label}: not a valid ${FORMAT} file: ${what} at offset ${offset}`, {
    file: label,
    format: FORMAT,
    offset,
    ...(expected === undefined ? {} : { expected }),
    ...(found === undefined ? {} : { found }),
  });
}

function truncated(label: string, what: string, offset: number, need: number, have: number): TruncatedError {
  return new TruncatedError(`${label}: truncated ${FORMAT}: ${what} needs ${need} bytes at offset ${offset}, only ${Math.max(0, have)} there`, {
    file: label,
    format: FORMAT,
    offset,
    expected: `${need} bytes`,
    found: `${Math.max(0, have)} bytes`,
  });
}

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** A little reader that applies the file's byte order and class. */
class Fields {
  private readonly dv: DataView;
  private readonly le: boolean;
  constructor(bytes: Uint8Array, endianness: Endianness) {
    this.dv = dataView(bytes);
    this.le = endianness === 'le';
  }
  u16(o: number): number {
    return this.dv.getUint16(o, this.le);
  }
  u32(o: number): number {
    return this.dv.getUint32(o, this.le);
  }
  u64(o: number): bigint {
    return this.dv.getBigUint64(o, this.le);
  }
}

function toNumber(v: bigint, label: string, field: string, offset: number): number {
  return boundedLength(v, Number.MAX_SAFE_INTEGER, { label, format: FORMAT, field, offset });
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

function phentsizeFor(hdr: ElfHeader): number {
  return hdr.elfClass === 64 ? 56 : 32;
}
function shentsizeFor(hdr: ElfHeader): number {
  return hdr.elfClass === 64 ? 64 : 40;
}

/**
 * Where a program or section header table lies in `bytes`: its entry size checked against the
 * class, its start inside the bytes given, and all of it present. Null for an empty table.
 */
function locateTable(
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

export interface ParseNotesOptions {
  /** Padding of name and desc: 4 (every kernel note, even in ELF64) or 8 (SHT_NOTE with sh_addralign 8). */
  align?: 4 | 8;
  /** File offset of bytes[0], for error messages and ElfNote.offset. */
  baseOffset?: number;
}

/**
 * Parse a note segment/section: repeated {n_namesz, n_descsz, n_type} (u32 each, 12 bytes in both
 * classes), name padded to `align`, desc padded to `align`. Stops at the end of the bytes or at an
 * all-zero header (writers pad note buffers with zeros). Throws LimitError for absurd sizes and
 * TruncatedError when a note runs past the end.
 */
export function parseNotes(bytes: Uint8Array, endianness: Endianness, label = 'input', opts: ParseNotesOptions = {}): ElfNote[] {
  const align = opts.align ?? 4;
  const base = opts.baseOffset ?? 0;
  const f = new Fields(bytes, endianness);
  const out: ElfNote[] = [];
  const pad = (n: number): number => (n + align - 1) & ~(align - 1);
  let o = 0;
  while (o + 12 <= bytes.length) {
    const n_namesz = f.u32(o);
    const n_descsz = f.u32(o + 4);
    const n_type = f.u32(o + 8);
    if (n_namesz === 0 && n_descsz === 0 && n_type === 0) break;
    boundedLength(n_namesz, ELF_LIMITS.maxNoteField, { label, format: 'ELF note', field: 'n_namesz', offset: base + o });
    boundedLength(n_descsz, ELF_LIMITS.maxNoteField, { label, format: 'ELF note', field: 'n_descsz', offset: base + o + 4 });
    const nameOff = o + 12;
    // Alignment is relative to the start of the note data (12 + name, rounded up): for 4 this
    // equals padding the name alone; for 8-aligned GNU property notes it is what binutils does.
    const descOff = pad(nameOff + n_namesz);
    const end = descOff + n_descsz;
    if (end > bytes.length) {
      throw new TruncatedError(
        `${label}: truncated ELF note at offset ${base + o}: n_namesz ${n_namesz} + n_descsz ${n_descsz} run past the end of the note data (${bytes.length - o} bytes left)`,
        { file: label, format: 'ELF note', offset: base + o, expected: `${end - o} bytes`, found: `${bytes.length - o} bytes` },
      );
    }
    let nameBytes = bytes.subarray(nameOff, nameOff + n_namesz);
    const nul = nameBytes.indexOf(0);
    if (nul !== -1) nameBytes = nameBytes.subarray(0, nul);
    out.push({
      n_namesz,
      n_descsz,
      n_type,
      name: new TextDecoder('latin1').decode(nameBytes),
      desc: bytes.subarray(descOff, end),
      offset: base + o,
    });
    o = pad(descOff + n_descsz);
  }
  return out;
}

/** The GNU build-id (lowercase hex) among notes, or null. */
export function findGnuBuildId(notes: readonly ElfNote[]): string | null {
  const n = notes.find((x) => x.name === 'GNU' && x.n_type === NT_GNU_BUILD_ID && x.desc.length > 0);
  return n ? hex(n.desc) : null;
}

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
