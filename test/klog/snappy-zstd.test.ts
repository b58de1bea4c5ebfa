// kdump-compressed dumps with snappy and zstd pages (scripts/fixtures/31-kdump-recompressed.sh:
// the sysrq crash's pages compressed by the real libsnappy and libzstd, as makedumpfile -p and -z
// store them). kdbg log must print the same bytes as makedumpfile --dump-dmesg printed for that
// crash (and as the real crash's `log` prints from the file), identify must name the compression,
// and every page must read as the zlib file's does.
// The snappy decoder is also checked against libsnappy on inputs that reach each element type.
import { execFileSync, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { readKdumpHeaders } from '../../src/formats/kdump.js';
import { identifyDump } from '../../src/identify/index.js';
import { kdumpPhysReader } from '../../src/identify/memory.js';
import { snappyDecompress } from '../../src/identify/snappy.js';
import { recordsText } from '../../src/klog/format.js';
import { readDumpLog } from '../../src/klog/index.js';
import { debianVmlinux, fixturePath, requireFixture } from '../helpers/fixtures.js';

interface Manifest {
  dmesg: string;
  files: Record<string, { compression: string; pagesCompressed: number; pagesRaw: number }>;
}
const manifest = JSON.parse(readFileSync(requireFixture('kdump-recompressed', 'manifest.json'), 'utf8')) as Manifest;
const dmesg = readFileSync(fixturePath(...manifest.dmesg.split('/')), 'latin1');
const repoRoot = join(import.meta.dirname, '..', '..');

/** A checksum of every 13th page of the first 64 MiB, as the physical reader returns them (-1: not in the dump). */
async function pageSums(file: string): Promise<number[]> {
  const fh = await open(file);
  try {
    const ra = new FileRandomAccess(fh, file, (await fh.stat()).size);
    const { header } = await readKdumpHeaders(ra);
    const read = kdumpPhysReader(ra, header);
    const sums: number[] = [];
    for (let pfn = 0n; pfn < 16384n; pfn += 13n) {
      const b = await read(pfn * 4096n, 4096);
      sums.push(b ? b.reduce((a, x) => (a * 31 + x) >>> 0, 7) : -1);
    }
    return sums;
  } finally {
    await fh.close();
  }
}

describe('kdump-compressed with snappy and zstd pages (real libsnappy and libzstd)', () => {
  const zlibSums = pageSums(fixturePath('vmcores', 'sysrq', 'vmcore.kdump-zlib'));

  for (const [name, want] of Object.entries(manifest.files)) {
    it(`${name}: the log is makedumpfile's, identify names ${want.compression}, the pages are the zlib file's`, async () => {
      const file = fixturePath('kdump-recompressed', name);
      // Most pages really are compressed: the decoder is what is read, not the raw fallback.
      expect(want.pagesCompressed).toBeGreaterThan(10 * want.pagesRaw);
      const log = await readDumpLog(file);
      expect(log.problems).toEqual([]);
      expect(recordsText(log.records)).toBe(dmesg);
      const id = await identifyDump(file);
      expect(id.compression).toBe(want.compression);
      const sums = await pageSums(file);
      expect(sums.filter((x) => x !== -1).length).toBeGreaterThan(50);
      expect(sums).toEqual(await zlibSums);
      // The real crash (Debian 13's 8.0.6, built with libsnappy and libzstd) reads the file and
      // prints the same log with the real vmlinux: the fixture is a dump crash accepts.
      const crash = spawnSync(requireFixture('crash-trixie', 'crash'), ['-s', '--no_crashrc', debianVmlinux().path, file], { input: 'log\nquit\n', encoding: 'latin1', timeout: 120_000 });
      expect(crash.stdout).toBe(dmesg);
      // Through the CLI too: the same bytes, exit 0, nothing on stderr.
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), 'log', file], { encoding: 'latin1' });
      expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: dmesg, stderr: '' });
    }, 60_000);
  }
});

describe('snappyDecompress', () => {
  const libsnappy = (input: Buffer): Buffer =>
    execFileSync('/usr/bin/python3', ['-c', 'import snappy,sys; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))'], { input, maxBuffer: 1 << 24 });

  it('decodes what libsnappy writes: literals of every length form, 1- and 2-byte copy offsets', () => {
    let x = 12345;
    const noise = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) & 0xff));
    const far = noise(70_000); // libsnappy compresses 64 KiB fragments: a repeat this far back is a literal
    const inputs: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.alloc(4096, 0x41), // overlapping copies (offset 1)
      noise(59), noise(61), noise(300), noise(70_000), // literal lengths in the tag, and in 1 and 2 (and 3) extra bytes
      Buffer.concat([noise(1000), Buffer.from('abcdefgh'.repeat(50)), noise(3000)]), // copies with 1- and 2-byte offsets
      Buffer.concat([far, noise(10), far.subarray(0, 64)]),
      readFileSync(fixturePath('vmcores', 'sysrq', 'vmcore-dmesg.txt')),
    ];
    const tags = new Set<number>();
    for (const input of inputs) {
      const c = libsnappy(input);
      const out = snappyDecompress(c, input.length);
      expect(Buffer.from(out).equals(input)).toBe(true);
      // Which element types libsnappy used (a walk of the tags, for the coverage claim above).
      let p = 0;
      while (c[p]! & 0x80) p++;
      p++;
      while (p < c.length) {
        const t = c[p]! & 3;
        tags.add(t);
        if (t === 0) {
          const l = c[p]! >> 2;
          p += 1 + (l < 60 ? l + 1 : l - 59 + c.readUIntLE(p + 1, l - 59) + 1);
        } else p += t === 1 ? 2 : t === 2 ? 3 : 5;
      }
    }
    expect([...tags].sort()).toEqual([0, 1, 2]);
  });

  it('decodes the 4-byte copy offset libsnappy never writes (its fragments are 64 KiB) but the format allows', () => {
    // "abcd", then a copy of 4 bytes from 4 back with a 4-byte offset (tag 0b000011_11).
    expect(Buffer.from(snappyDecompress(Uint8Array.of(0x08, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x0f, 0x04, 0x00, 0x00, 0x00), 8)).toString()).toBe('abcdabcd');
  });

  it('refuses malformed input with an Error, never reading or writing outside its buffers', () => {
    const good = libsnappy(Buffer.from('hello hello hello hello hello'));
    expect(() => snappyDecompress(good, 10)).toThrow(/exceeds 10/);
    expect(() => snappyDecompress(good.subarray(0, good.length - 3), 100)).toThrow(/overrun|decoded/);
    expect(() => snappyDecompress(Uint8Array.of(0x04, 0x01, 0x10), 100)).toThrow(/lookbehind/); // a copy before any output
    expect(() => snappyDecompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 1 << 30)).toThrow(/varint/);
    expect(() => snappyDecompress(Uint8Array.of(0x02, 0xfc, 0xff, 0xff, 0xff, 0xff), 100)).toThrow(/overrun/); // a 4 GiB literal
    expect(() => snappyDecompress(Uint8Array.of(0x08, 0x00, 0x61), 100)).toThrow(/decoded 1|1 bytes decoded/); // says 8, gives 1
  });
});
