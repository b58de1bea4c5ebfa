// Every reader on synthetic dumps of the el7 family (3.10.0-327.el7.x86_64), which we cannot
// produce here, in every layout variant; each delivered as a file and as standard input in
// hostile chunk sizes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyDump, identifyStream } from '../../src/identify/index.js';
import type { DumpIdentification } from '../../src/identify/index.js';
import {
  buildElfVmcore,
  buildKdump,
  chunked,
  EL7_BANNER,
  el7Vmcoreinfo,
  flatten,
  HOSTILE_CHUNKS,
  pageWithBanner,
  prstatus,
  vmcoreinfoText,
} from '../builders/vmcore.js';

const REL = '3.10.0-327.el7.x86_64';
/** The banner crosses a page boundary, as it may in memory. */
const twoPages = (b: Uint8Array): Uint8Array[] => [b.slice(0, 4096), b.slice(4096)];
const dir = mkdtempSync(join(tmpdir(), 'kdbg-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const vi = vmcoreinfoText(el7Vmcoreinfo());
const el7Uts = { release: REL, version: '#1 SMP Thu Nov 19 22:10:57 UTC 2015', machine: 'x86_64' };

interface Case {
  name: string;
  bytes: Uint8Array;
  expect: Partial<DumpIdentification>;
}

const elfNotes = [prstatus(), prstatus(), { name: 'VMCOREINFO', type: 0, desc: vi }];
const elf64 = buildElfVmcore({ notes: elfNotes });
const kdump6 = buildKdump({ utsname: el7Uts, vmcoreinfo: vi, notes: [prstatus(), prstatus()], timestamp: 1456789012 });
const common = { release: REL, source: 'vmcoreinfo' as const, arch: 'x86_64', pageSize: 4096, crashTime: '2016-02-29T23:36:52.000Z', kernelOffset: '0' };

const cases: Case[] = [
  { name: 'ELF64 LE /proc/vmcore layout', bytes: elf64, expect: { format: 'elf64', cpus: 2, ...common } },
  { name: 'ELF64 with PN_XNUM', bytes: buildElfVmcore({ notes: elfNotes, pnXnum: true }), expect: { format: 'elf64', cpus: 2, ...common } },
  { name: 'ELF32 LE (i386)', bytes: buildElfVmcore({ elfClass: 32, notes: [prstatus(144), { name: 'VMCOREINFO', type: 0, desc: vi }] }), expect: { format: 'elf32', cpus: 1, release: REL, arch: 'i386' } },
  {
    name: 'ELF64 BE (s390x)',
    bytes: buildElfVmcore({ endian: 'be', machine: 22, notes: [{ name: 'VMCOREINFO', type: 0, desc: vmcoreinfoText(el7Vmcoreinfo({ OSRELEASE: '3.10.0-327.el7.s390x' })) }] }),
    expect: { format: 'elf64', release: '3.10.0-327.el7.s390x', arch: 's390x' },
  },
  { name: 'kdump v6 64-bit', bytes: kdump6, expect: { format: 'kdump-compressed', cpus: 2, ...common, packageVersion: null } },
  ...[0, 1, 2, 3, 4, 5].map((v) => ({
    name: `kdump header_version ${v}`,
    bytes: buildKdump({ headerVersion: v, utsname: el7Uts, vmcoreinfo: v >= 3 ? vi : null, timestamp: 1456789012 }),
    expect: { format: 'kdump-compressed' as const, release: REL, source: (v >= 3 ? 'vmcoreinfo' : 'utsname') as 'vmcoreinfo' | 'utsname', crashTime: '2016-02-29T23:36:52.000Z' },
  })),
  { name: 'kdump 32-bit pack (i386)', bytes: buildKdump({ abi: 32, utsname: { ...el7Uts, machine: 'i686' }, vmcoreinfo: vi }), expect: { release: REL, arch: 'i686', source: 'vmcoreinfo' } },
  { name: 'kdump 32-bit pad (ARM)', bytes: buildKdump({ abi: 32, layout32: 'pad', utsname: { ...el7Uts, machine: 'armv7l' }, vmcoreinfo: vi }), expect: { release: REL, arch: 'armv7l', source: 'vmcoreinfo' } },
  { name: 'kdump 64-bit big-endian', bytes: buildKdump({ endian: 'be', utsname: { ...el7Uts, machine: 's390x' }, vmcoreinfo: vi }), expect: { release: REL, arch: 's390x' } },
  { name: 'DISKDUMP (utsname only)', bytes: buildKdump({ signature: 'DISKDUMP', headerVersion: 0, utsname: el7Uts, timestamp: 1456789012 }), expect: { release: REL, source: 'utsname', crashTime: '2016-02-29T23:36:52.000Z' } },
  {
    name: 'kdump without VMCOREINFO and empty utsname: banner in a zlib page',
    bytes: buildKdump({ utsname: { release: '', machine: '' }, vmcoreinfo: null, pages: [new Uint8Array(4096), ...twoPages(pageWithBanner(EL7_BANNER, 4000, 8192))] }),
    expect: { release: REL, source: 'banner-scan', banner: EL7_BANNER, arch: 'x86_64' },
  },
  { name: 'ELF without VMCOREINFO: banner in memory', bytes: buildElfVmcore({ notes: [prstatus()], load: pageWithBanner(EL7_BANNER, 4090, 8192) }), expect: { release: REL, source: 'banner-scan', banner: EL7_BANNER } },
  { name: 'flattened kdump', bytes: flatten(kdump6, { recordSize: 1000 }), expect: { format: 'flattened', container: 'kdump-compressed', ...common } },
  { name: 'flattened kdump, records shuffled', bytes: flatten(kdump6, { recordSize: 700, shuffle: true }), expect: { format: 'flattened', release: REL } },
  { name: 'flattened ELF (-F -E: zero phdrs first, real ones last)', bytes: flatten(elf64, { recordSize: 512, elfTrap: { phoff: 64, phsize: 56 } }), expect: { format: 'flattened', container: 'elf64', ...common } },
  {
    name: 'split part 2 (from the sub-header)',
    bytes: buildKdump({ utsname: el7Uts, vmcoreinfo: vi, split: { start: 100, end: 200 }, maxMapnr: 200 }),
    expect: { format: 'split', release: REL, split: { part: null, parts: null, startPfn: '100', endPfn: '200' } },
  },
  { name: 'split part 1, flattened', bytes: flatten(buildKdump({ utsname: el7Uts, vmcoreinfo: vi, split: { start: 0, end: 100 }, maxMapnr: 200 })), expect: { format: 'split', container: 'kdump-compressed', release: REL } },
  { name: 'vmcore-dmesg.txt', bytes: new TextEncoder().encode(`[    0.000000] ${EL7_BANNER}\n[    0.000000] Command line: ro\n`), expect: { format: 'dmesg', release: REL, banner: EL7_BANNER, source: 'banner-scan' } },
];

describe('identify on synthetic el7 dumps', () => {
  for (const c of cases) {
    it(`${c.name}: as a file`, async () => {
      const f = join(dir, c.name.replace(/[^\w]+/g, '_'));
      writeFileSync(f, c.bytes);
      const id = await identifyDump(f);
      expect(id).toMatchObject({ ...c.expect, path: f });
    });
    it(`${c.name}: on standard input in hostile chunk sizes`, async () => {
      for (const sizes of HOSTILE_CHUNKS) {
        const id = await identifyStream(chunked(c.bytes, sizes), '-');
        const want = { ...c.expect };
        if (c.name.startsWith('split part 2')) want.split = { part: null, parts: null, startPfn: '100', endPfn: '200' };
        expect(id, `chunks ${sizes.join(',')}`).toMatchObject({ ...want, path: '-' });
      }
    });
  }

  it('split parts side by side: any part names the kernel and says which part it is', async () => {
    const d = join(dir, 'split-set');
    mkdirSync(d);
    const ranges = [
      [0, 70],
      [70, 140],
      [140, 200],
    ] as const;
    ranges.forEach(([s, e], i) => writeFileSync(join(d, `dump.${i + 1}`), buildKdump({ utsname: el7Uts, vmcoreinfo: vi, split: { start: s, end: e }, maxMapnr: 200, timestamp: 7 })));
    for (let i = 0; i < 3; i++) {
      const id = await identifyDump(join(d, `dump.${i + 1}`));
      expect(id.release).toBe(REL);
      expect(id.split).toMatchObject({ part: i + 1, parts: 3 });
    }
  });
});
