import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { LimitError, TruncatedError, InputFormatError } from '../../src/core/errors.js';
import { parseElfHeader, parseNotes, parseProgramHeaders, parseSectionHeaders, readElfBuildId, readElfTables, resolveSectionNames } from '../../src/formats/elf.js';

// A real ELF executable from the host, checked against binutils' readelf.
const bin = '/bin/ls';

describe('ELF readers on a real executable', () => {
  const bytes = new Uint8Array(readFileSync(bin));
  it('header, phdrs and section names agree with readelf', () => {
    const h = parseElfHeader(bytes, bin);
    const re = execFileSync('readelf', ['-hlSW', bin], { encoding: 'utf8' });
    expect(re).toContain(`Number of program headers:         ${h.e_phnum}`);
    expect(re).toContain(`Number of section headers:         ${h.e_shnum}`);
    const ph = parseProgramHeaders(bytes, h, { label: bin });
    expect(ph.length).toBe(h.e_phnum);
    const sh = parseSectionHeaders(bytes, h, { label: bin });
    const strtab = sh[h.e_shstrndx]!;
    const named = resolveSectionNames(sh, bytes.subarray(strtab.sh_offset, strtab.sh_offset + strtab.sh_size));
    for (const s of named.slice(1)) expect(re).toContain(` ${s.name} `);
    // Table-only input: bytes starting at e_shoff.
    const only = parseSectionHeaders(bytes.subarray(h.e_shoff), h, { label: bin, offset: h.e_shoff });
    expect(only).toEqual(sh);
  });
  it('build-id equals readelf -n', async () => {
    const re = execFileSync('readelf', ['-n', bin], { encoding: 'utf8' });
    const want = /Build ID: ([0-9a-f]+)/.exec(re)?.[1];
    expect(want).toMatch(/^[0-9a-f]{40}$/);
    expect(await readElfBuildId(new BytesRandomAccess(bytes, bin))).toBe(want);
    const t = await readElfTables(new BytesRandomAccess(bytes, bin));
    expect(t.sections.some((s) => s.name === '.note.gnu.build-id')).toBe(true);
  });
});

describe('ELF bad input', () => {
  it('not ELF, truncated, absurd notes', () => {
    expect(() => parseElfHeader(new TextEncoder().encode('hello world, not elf'), 'x')).toThrow(InputFormatError);
    expect(() => parseElfHeader(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]), 'x')).toThrow(TruncatedError);
    const n = new Uint8Array(24);
    new DataView(n.buffer).setUint32(0, 5, true);
    new DataView(n.buffer).setUint32(4, 0x7fffffff, true);
    expect(() => parseNotes(n, 'le', 'x')).toThrow(LimitError);
    new DataView(n.buffer).setUint32(4, 4096, true);
    expect(() => parseNotes(n, 'le', 'x')).toThrow(/offset 0/);
  });
});
