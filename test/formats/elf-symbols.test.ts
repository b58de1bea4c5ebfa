// elf-symbols: symbol lookup by name and reading a symbol's bytes, checked against binutils
// (`nm`, `readelf -S`) on ELF files gcc builds here, plus hostile variants (bad sh_link, bad
// sh_entsize, symbol outside its section, truncated file).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../../src/core/errors.js';
import { readElfTables } from '../../src/formats/elf.js';
import { findStringOffsets, findSymbols, findSymbolTable, readSymbolBytes } from '../../src/formats/elf-symbols.js';

const BANNER = 'Linux version 9.9.9-test (me@here) (gcc) #7 SMP\n';
let bytes: Uint8Array;
let file: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'kdbg-elfsym-'));
  const src = join(dir, 'b.c');
  writeFileSync(src, `const char linux_banner[] = ${JSON.stringify(BANNER)};\nconst int other_symbol = 42;\nint main(void) { return linux_banner[0] + other_symbol; }\n`);
  file = join(dir, 'b.elf');
  execFileSync('gcc', ['-O0', '-o', file, src]);
  bytes = new Uint8Array(readFileSync(file));
});

function nmValue(name: string): bigint {
  const line = execFileSync('nm', [file], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(` ${name}`))!;
  return BigInt(`0x${line.split(' ')[0]}`);
}

describe('findSymbols / readSymbolBytes on a gcc-built ELF', () => {
  it('finds linux_banner at the address nm reports and reads its bytes', async () => {
    const src = new BytesRandomAccess(bytes, 'b.elf');
    const tables = await readElfTables(src);
    const syms = await findSymbols(src, tables, 'linux_banner');
    expect(syms).toHaveLength(1);
    expect(syms[0]!.st_value).toBe(nmValue('linux_banner'));
    expect(syms[0]!.st_size).toBe(BANNER.length + 1);
    const b = await readSymbolBytes(src, tables, syms[0]!);
    expect(new TextDecoder().decode(b!)).toBe(`${BANNER}\0`);
    // An explicit length is clamped to the end of the section.
    const big = await readSymbolBytes(src, tables, syms[0]!, 1 << 20);
    expect(big!.length).toBeGreaterThanOrEqual(BANNER.length);
    expect(await findSymbols(src, tables, 'no_such_symbol')).toEqual([]);
    // "banner" alone is only a suffix of a string, not a symbol name.
    expect(await findSymbols(src, tables, 'banner')).toEqual([]);
  });

  it('returns [] for a stripped file', async () => {
    const stripped = `${file}.stripped`;
    execFileSync('strip', ['-o', stripped, file]);
    const src = new BytesRandomAccess(new Uint8Array(readFileSync(stripped)), 'stripped');
    const tables = await readElfTables(src);
    expect(await findSymbols(src, tables, 'linux_banner')).toEqual([]);
  });

  it('findStringOffsets matches whole strings only', () => {
    const t = new TextEncoder().encode('\0abc\0xabc\0abc\0ab\0');
    expect(findStringOffsets(t, 'abc')).toEqual([1, 10]);
    expect(findStringOffsets(t, '')).toEqual([]);
  });
});

describe('hostile symbol tables', () => {
  async function mutate(f: (dv: DataView, symtabHdr: number, strtabHdr: number, shoff: number) => void): Promise<{ src: BytesRandomAccess; tables: Awaited<ReturnType<typeof readElfTables>> }> {
    const copy = bytes.slice();
    const tables0 = await readElfTables(new BytesRandomAccess(copy, 'x'));
    const found = findSymbolTable(tables0)!;
    const dv = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
    const shoff = tables0.header.e_shoff;
    f(dv, shoff + found.index * 64, shoff + found.symtab.sh_link * 64, shoff);
    const src = new BytesRandomAccess(copy, 'hostile.elf');
    return { src, tables: await readElfTables(src) };
  }

  it('sh_link naming no section → InputFormatError', async () => {
    const { src, tables } = await mutate((dv, sym) => dv.setUint32(sym + 40, 0, true));
    await expect(findSymbols(src, tables, 'linux_banner')).rejects.toBeInstanceOf(InputFormatError);
  });
  it('wrong sh_entsize → InputFormatError naming it', async () => {
    const { src, tables } = await mutate((dv, sym) => dv.setBigUint64(sym + 56, 7n, true));
    await expect(findSymbols(src, tables, 'linux_banner')).rejects.toThrow(/sh_entsize 7/);
  });
  it('huge symtab size → LimitError', async () => {
    const { src, tables } = await mutate((dv, sym) => dv.setBigUint64(sym + 32, 1n << 40n, true));
    await expect(findSymbols(src, tables, 'linux_banner')).rejects.toBeInstanceOf(LimitError);
  });
  it('string table past the end → TruncatedError', async () => {
    const { src, tables } = await mutate((dv, _sym, str) => dv.setBigUint64(str + 24, BigInt(bytes.length - 4), true));
    await expect(findSymbols(src, tables, 'linux_banner')).rejects.toBeInstanceOf(TruncatedError);
  });
  it('a symbol outside its section → InputFormatError', async () => {
    const src = new BytesRandomAccess(bytes, 'x');
    const tables = await readElfTables(src);
    const s = (await findSymbols(src, tables, 'linux_banner'))[0]!;
    await expect(readSymbolBytes(src, tables, { ...s, st_value: s.st_value + (1n << 32n) })).rejects.toThrow(/outside its section/);
  });
});
