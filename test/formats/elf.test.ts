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

describe('ELF readers on a real QEMU vmcore, in hostile chunk sizes', () => {
  it('header (e_ehsize 8 quirk), program headers and notes agree with readelf', async () => {
    const { openSync, readSync, closeSync } = await import('node:fs');
    const { ByteSource } = await import('../../src/core/byte-source.js');
    const { requireFixture } = await import('../helpers/fixtures.js');
    const { chunked, HOSTILE_CHUNKS } = await import('../builders/vmcore.js');
    const { parseVmcoreinfo } = await import('../../src/formats/vmcoreinfo.js');
    const file = requireFixture('vmcores', 'sysrq', 'vmcore.qemu.elf');
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(32 << 10);
    readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    const readelfH = readFileSync(requireFixture('vmcores', 'sysrq', 'readelf-h.txt'), 'utf8');
    const readelfN = readFileSync(requireFixture('vmcores', 'sysrq', 'readelf-n.txt'), 'utf8');
    const field = (name: string): number => Number(/^\s*(\d+)/.exec(readelfH.split(`${name}:`)[1] ?? '')?.[1]);
    for (const sizes of HOSTILE_CHUNKS) {
      const src = new ByteSource(chunked(new Uint8Array(buf), sizes), file, 'ELF');
      const h = parseElfHeader(await src.read(64, 'Ehdr'), file);
      expect(h.e_ehsize).toBe(field('Size of this header'));
      expect(h.e_phoff).toBe(field('Start of program headers'));
      expect(h.e_shoff).toBe(field('Start of section headers'));
      expect(h.e_phnum).toBe(field('Number of program headers'));
      await src.skip(h.e_phoff - src.position);
      const ph = parseProgramHeaders(await src.read(h.e_phnum * h.e_phentsize), h, { label: file, offset: h.e_phoff });
      const note = ph.find((p) => p.p_type === 4)!;
      const m = /notes found at file offset 0x([0-9a-f]+) with length 0x([0-9a-f]+)/.exec(readelfN)!;
      expect(note.p_offset).toBe(parseInt(m[1]!, 16));
      expect(note.p_filesz).toBe(parseInt(m[2]!, 16));
      await src.skip(note.p_offset - src.position);
      const notes = parseNotes(await src.read(note.p_filesz), h.endianness, file, { baseOffset: note.p_offset });
      expect(notes.map((n) => n.name)).toEqual([...readelfN.matchAll(/^\s{2}(CORE|QEMU|VMCOREINFO)\s/gm)].map((x) => x[1]));
      const vi = parseVmcoreinfo(notes.find((n) => n.name === 'VMCOREINFO')!.desc);
      expect(readelfN).toContain(Buffer.from(`OSRELEASE=${vi['OSRELEASE']}`).toString('hex').replace(/(..)/g, '$1 ').trim());
      await src.close();
    }
  });
});
