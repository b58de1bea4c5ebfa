// ELF symbol tables (SHT_SYMTAB / SHT_DYNSYM) and reading a symbol's bytes out of its section.
// Spec: System V gABI "Symbol Table" (Elf32_Sym / Elf64_Sym), https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.symtab.html
//
// Built for a 600+ MB vmlinux: finding one symbol reads only the string table (a few MB) and the
// symbol table (a few MB) through positioned reads, never the DWARF. Lookup goes name → string
// offset(s) in the string table → the symbols whose st_name is one of those offsets, so no
// per-symbol string decoding happens. Every count and size read from the file is bounded.

import { boundedLength, dataView, readExactAt } from '../core/byte-source.js';
import type { RandomAccess } from '../core/byte-source.js';
import { InputFormatError } from '../core/errors.js';
import { SHT_NOBITS } from './elf.js';
import type { ElfHeader, ElfSectionHeader, ElfTables } from './elf.js';

export const SHT_SYMTAB = 2;
export const SHT_DYNSYM = 11;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_LORESERVE = 0xff00;

export const SYMBOL_LIMITS = {
  /** A distro vmlinux has ~150k symbols (3.6 MB of Elf64_Sym); allow generous headroom. */
  maxSymtabBytes: 256 << 20,
  maxStrtabBytes: 256 << 20,
  /** Bytes read for one symbol's contents. */
  maxSymbolBytes: 1 << 20,
  /** Symbol table bytes parsed per positioned read. */
  chunkBytes: 1 << 20,
} as const;

export interface ElfSymbol {
  /** Index in its symbol table. */
  index: number;
  st_name: number;
  st_value: bigint;
  st_size: number;
  st_info: number;
  st_other: number;
  st_shndx: number;
  /** STT_* (st_info & 0xf). */
  type: number;
  /** STB_* (st_info >> 4). */
  bind: number;
}

const FORMAT = 'ELF symtab';

function symentsize(hdr: ElfHeader): number {
  return hdr.elfClass === 64 ? 24 : 16;
}

/**
 * Parse symbol table entries. `bytes` holds whole entries; `firstIndex` is the table index of the
 * first one (for chunked reads).
 */
export function parseSymbols(bytes: Uint8Array, hdr: ElfHeader, firstIndex = 0): ElfSymbol[] {
  const ent = symentsize(hdr);
  const dv = dataView(bytes);
  const le = hdr.endianness === 'le';
  const out: ElfSymbol[] = [];
  const n = Math.floor(bytes.length / ent);
  for (let i = 0; i < n; i++) {
    const o = i * ent;
    let st_name: number, st_value: bigint, st_size: number, st_info: number, st_other: number, st_shndx: number;
    if (hdr.elfClass === 64) {
      st_name = dv.getUint32(o, le);
      st_info = dv.getUint8(o + 4);
      st_other = dv.getUint8(o + 5);
      st_shndx = dv.getUint16(o + 6, le);
      st_value = dv.getBigUint64(o + 8, le);
      // Sizes beyond 2^53 are nonsense; clamp instead of throwing so one bad entry does not hide the rest.
      const sz = dv.getBigUint64(o + 16, le);
      st_size = sz > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(sz);
    } else {
      st_name = dv.getUint32(o, le);
      st_value = BigInt(dv.getUint32(o + 4, le));
      st_size = dv.getUint32(o + 8, le);
      st_info = dv.getUint8(o + 12);
      st_other = dv.getUint8(o + 13);
      st_shndx = dv.getUint16(o + 14, le);
    }
    out.push({ index: firstIndex + i, st_name, st_value, st_size, st_info, st_other, st_shndx, type: st_info & 0xf, bind: st_info >> 4 });
  }
  return out;
}

/** Offsets in a string table where `name` starts as a whole NUL-terminated string. */
export function findStringOffsets(strtab: Uint8Array, name: string): number[] {
  const needle = new TextEncoder().encode(`${name}\0`);
  const out: number[] = [];
  if (needle.length === 1) return out;
  const first = needle[0]!;
  let i = strtab.indexOf(first);
  while (i !== -1 && i + needle.length <= strtab.length) {
    let ok = i === 0 || strtab[i - 1] === 0;
    for (let k = 1; ok && k < needle.length; k++) if (strtab[i + k] !== needle[k]) ok = false;
    if (ok) out.push(i);
    i = strtab.indexOf(first, i + 1);
  }
  return out;
}

function sectionError(label: string, what: string, offset: number): InputFormatError {
  return new InputFormatError(`${label}: not a valid ELF symbol table: ${what}`, { file: label, format: FORMAT, offset });
}

/** The symbol table section (SHT_SYMTAB preferred over SHT_DYNSYM), or null when stripped. */
export function findSymbolTable(tables: ElfTables, label = 'input'): { symtab: ElfSectionHeader; strtab: ElfSectionHeader; index: number } | null {
  const pick = (type: number): number => tables.sections.findIndex((s) => s.sh_type === type && s.sh_size > 0);
  let index = pick(SHT_SYMTAB);
  if (index === -1) index = pick(SHT_DYNSYM);
  if (index === -1) return null;
  const symtab = tables.sections[index]!;
  const strtab = tables.sections[symtab.sh_link];
  if (strtab === undefined || symtab.sh_link === 0) {
    throw sectionError(label, `section ${index} (${symtab.name}) sh_link ${symtab.sh_link} names no string table`, tables.header.e_shoff);
  }
  return { symtab, strtab, index };
}

/**
 * Find every symbol called `name` in the file's symbol table by positioned reads. Returns [] for
 * a stripped file (no symbol table).
 */
export async function findSymbols(src: RandomAccess, tables: ElfTables, name: string): Promise<ElfSymbol[]> {
  const label = src.label;
  const found = findSymbolTable(tables, label);
  if (found === null) return [];
  const { symtab, strtab } = found;
  if (symtab.sh_type === SHT_NOBITS || strtab.sh_type === SHT_NOBITS) return [];
  const ent = symentsize(tables.header);
  if (symtab.sh_entsize !== 0 && symtab.sh_entsize !== ent) {
    throw new InputFormatError(`${label}: not a valid ELF symbol table: sh_entsize ${symtab.sh_entsize}, expected ${ent}`, {
      file: label,
      format: FORMAT,
      offset: tables.header.e_shoff,
      expected: String(ent),
      found: String(symtab.sh_entsize),
    });
  }
  const strSize = boundedLength(strtab.sh_size, SYMBOL_LIMITS.maxStrtabBytes, { label, format: FORMAT, field: `${strtab.name || 'strtab'} sh_size`, offset: tables.header.e_shoff });
  const symSize = boundedLength(symtab.sh_size, SYMBOL_LIMITS.maxSymtabBytes, { label, format: FORMAT, field: `${symtab.name || 'symtab'} sh_size`, offset: tables.header.e_shoff });
  const strings = await readExactAt(src, strtab.sh_offset, strSize, FORMAT, `string table ${strtab.name}`);
  const offsets = new Set(findStringOffsets(strings, name));
  if (offsets.size === 0) return [];
  const out: ElfSymbol[] = [];
  const chunk = Math.floor(SYMBOL_LIMITS.chunkBytes / ent) * ent;
  const whole = symSize - (symSize % ent);
  for (let off = 0; off < whole; off += chunk) {
    const len = Math.min(chunk, whole - off);
    const b = await readExactAt(src, symtab.sh_offset + off, len, FORMAT, `symbol table ${symtab.name}`);
    for (const s of parseSymbols(b, tables.header, off / ent)) if (offsets.has(s.st_name)) out.push(s);
  }
  return out;
}

/**
 * The file bytes of a defined symbol: its section's contents at (st_value − sh_addr), st_size
 * long (or up to `length` when given — clamped to the section's end — e.g. for a string whose
 * size is unknown). Null when the section
 * has no file bytes (SHT_NOBITS, as in `objcopy --only-keep-debug` files) or the symbol is not
 * in a real section.
 */
export async function readSymbolBytes(src: RandomAccess, tables: ElfTables, sym: ElfSymbol, length?: number): Promise<Uint8Array | null> {
  const label = src.label;
  if (sym.st_shndx === SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE) return null;
  const sec = tables.sections[sym.st_shndx];
  if (sec === undefined) throw sectionError(label, `symbol ${sym.index} st_shndx ${sym.st_shndx} is past the ${tables.sections.length} sections`, tables.header.e_shoff);
  if (sec.sh_type === SHT_NOBITS) return null;
  const rel = sym.st_value - sec.sh_addr;
  let want = boundedLength(length ?? sym.st_size, SYMBOL_LIMITS.maxSymbolBytes, { label, format: FORMAT, field: `symbol ${sym.index} st_size`, offset: tables.header.e_shoff });
  if (length !== undefined && rel >= 0n && rel < BigInt(sec.sh_size)) want = Math.min(want, Number(BigInt(sec.sh_size) - rel));
  if (rel < 0n || rel + BigInt(want) > BigInt(sec.sh_size)) {
    throw sectionError(label, `symbol ${sym.index} (st_value 0x${sym.st_value.toString(16)}, ${want} bytes) lies outside its section ${sec.name || sym.st_shndx}`, sec.sh_offset);
  }
  return readExactAt(src, sec.sh_offset + Number(rel), want, FORMAT, `contents of symbol ${sym.index}`);
}
