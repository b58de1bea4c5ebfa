// ELF constants, limits and the typed structs of the ELF readers (elf.ts lists them all), with
// the helpers they share for bounded, named errors. Field names follow <elf.h>.

import { boundedLength, dataView } from '../core/byte-source.js';
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

export const FORMAT = 'ELF';

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

export function formatError(label: string, what: string, offset: number, expected?: string, found?: string): InputFormatError {
  return new InputFormatError(`${label}: not a valid ${FORMAT} file: ${what} at offset ${offset}`, {
    file: label,
    format: FORMAT,
    offset,
    ...(expected === undefined ? {} : { expected }),
    ...(found === undefined ? {} : { found }),
  });
}

export function truncated(label: string, what: string, offset: number, need: number, have: number): TruncatedError {
  return new TruncatedError(`${label}: truncated ${FORMAT}: ${what} needs ${need} bytes at offset ${offset}, only ${Math.max(0, have)} there`, {
    file: label,
    format: FORMAT,
    offset,
    expected: `${need} bytes`,
    found: `${Math.max(0, have)} bytes`,
  });
}

/** A little reader that applies the file's byte order and class. */
export class Fields {
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

export function toNumber(v: bigint, label: string, field: string, offset: number): number {
  return boundedLength(v, Number.MAX_SAFE_INTEGER, { label, format: FORMAT, field, offset });
}
