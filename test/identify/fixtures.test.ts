// identify on every real dump the fixture script made (QEMU + makedumpfile), against the values
// the real tools reported (manifest.json: crash --osrelease, readelf -n, makedumpfile
// --dump-dmesg). Also: standard input, hostile chunk sizes on real headers, and a 10 GB sparse
// dump read in < 0.1 s.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync, truncateSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from 'node:fs/promises';
import { readKdumpHeaders } from '../../src/formats/kdump.js';
import { FileRandomAccess, identifyDump, identifyStream } from '../../src/identify/index.js';
import { scanKdumpPagesForBanner } from '../../src/identify/kdump-pages.js';
import { lzo1xDecompress } from '../../src/identify/lzo.js';
import { kdumpPhysReader } from '../../src/identify/memory.js';
import { chunked, HOSTILE_CHUNKS } from '../builders/vmcore.js';
import { fixturePath, requireFixture, readHead } from '../helpers/fixtures.js';

interface ManifestDump {
  file: string;
  kind: string;
  format: string;
  producer: string;
  size: number;
  expected: {
    release: string | null;
    source: string;
    buildId: string | null;
    arch: string | null;
    pageSize: number | null;
    kernelOffset: string | null;
    crashTime: string | null;
    banner: string | null;
    split?: { part: number; parts: number };
  };
}

const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as { dumps: ManifestDump[] };
const root = fixturePath('vmcores');
const tmp = mkdtempSync(join(tmpdir(), 'kdbg-vmcores-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const timings: string[] = [];


describe('identify names the kernel of every generated dump', () => {
  it('has the variants the issue asks for', () => {
    const formats = new Set(manifest.dumps.map((d) => d.format));
    for (const f of ['elf64', 'kdump-compressed', 'flattened', 'split', 'dmesg']) expect(formats).toContain(f);
    expect(new Set(manifest.dumps.map((d) => d.kind))).toEqual(new Set(['sysrq', 'oops', 'nmi', 'sysrq-novmcoreinfo']));
  });

  for (const d of manifest.dumps) {
    it(`${d.file} (${d.producer})`, async () => {
      const file = join(root, d.file);
      const t0 = performance.now();
      const id = await identifyDump(file);
      const ms = performance.now() - t0;
      timings.push(`${d.file.padEnd(46)} ${id.format.padEnd(17)} ${id.source ?? '-'} ${ms.toFixed(1)} ms`);
      const e = d.expected;
      expect(e.release).not.toBeNull();
      expect(id.release).toBe(e.release);
      expect(id.format).toBe(d.format);
      expect(id.source).toBe(e.source);
      expect(id.buildId).toBe(e.buildId);
      if (e.arch) expect(id.arch).toBe(e.arch);
      if (e.pageSize !== null) expect(id.pageSize).toBe(e.pageSize);
      expect(id.kernelOffset).toBe(e.kernelOffset);
      expect(id.crashTime).toBe(e.crashTime === null ? null : new Date(Number(e.crashTime) * 1000).toISOString());
      // Memory holds the banner several times: the rodata copy says "#" where printk's says "#1".
      const norm = (b: string | null): string | null => b?.replace(/ #\d* /, ' # ') ?? null;
      if (e.source === 'banner-scan') expect(norm(id.banner)).toBe(norm(e.banner));
      if (e.split) expect(id.split).toMatchObject({ part: e.split.part, parts: e.split.parts });
      // The UTS version (kdump header, or init_uts_ns read from the dump's memory) is the tail of
      // the banner the kernel printed; the Debian package version comes from it.
      if (e.source === 'vmcoreinfo') {
        expect(e.banner!.endsWith(id.utsname!.version)).toBe(true);
        expect(id.utsname!.release).toBe(e.release);
        expect(id.packageVersion).toBe(/#\d+ .*Debian (\S+) \(/.exec(e.banner ?? '')?.[1]);
      }
    });
  }

  it('reads every dump from standard input too', async () => {
    for (const d of manifest.dumps) {
      if (d.format === 'split' && d.expected.split?.part !== 1) continue;
      // A flattened kdump without VMCOREINFO needs page data beyond the header window: files only.
      if (d.format === 'flattened' && d.expected.source === 'banner-scan') continue;
      const id = await identifyStream(createReadStream(join(root, d.file), { highWaterMark: 1 << 16 }), '-');
      expect(id.release, d.file).toBe(d.expected.release);
      if (d.expected.source === 'vmcoreinfo') expect(id.buildId, d.file).toBe(d.expected.buildId);
    }
  });

  it('reads real dump headers delivered in hostile chunk sizes', async () => {
    const picks = manifest.dumps.filter((d) => d.kind === 'sysrq' && d.expected.source === 'vmcoreinfo' && ['vmcore.qemu.elf', 'vmcore.elf', 'vmcore.kdump-zlib', 'vmcore.kdump-lzo', 'vmcore.kdump-zlib.flat', 'vmcore.qemu-kdump-zlib.flat', 'vmcore.split-2'].some((n) => d.file.endsWith(`/${n}`)));
    expect(picks.length).toBe(7);
    for (const d of picks) {
      // Headers and notes are in the first 16 KiB of each (and the flattened records for them).
      const bytes = readHead(join(root, d.file), 16 << 10);
      for (const sizes of HOSTILE_CHUNKS) {
        const id = await identifyStream(chunked(bytes, sizes), '-');
        expect(id.release, `${d.file} chunks ${sizes.join(',')}`).toBe(d.expected.release);
        expect(id.buildId).toBe(d.expected.buildId);
      }
    }
  });

  it('reads dumps compressed as a whole file (gzip, xz, zstd, bzip2) by decompressing the head only', async () => {
    for (const name of ['vmcore.qemu.elf', 'vmcore.kdump-zlib', 'vmcore.kdump-zlib.flat']) {
      const d = manifest.dumps.find((x) => x.file === `sysrq/${name}`)!;
      // 256 KiB of the dump hold its headers and notes (and the flattened records carrying them).
      const plain = join(tmp, `head-${name}`);
      writeFileSync(plain, readHead(join(root, d.file), 256 << 10));
      for (const [tool, args, ext, kind] of [
        ['gzip', ['-1', '-k', '-f'], 'gz', 'gzip'],
        ['xz', ['-0', '-k', '-f', '-T1'], 'xz', 'xz'],
        ['zstd', ['-1', '-q', '-f'], 'zst', 'zstd'],
        ['bzip2', ['-1', '-k', '-f'], 'bz2', 'bzip2'],
      ] as const) {
        execFileSync(tool, [...args, plain]);
        const id = await identifyDump(`${plain}.${ext}`);
        expect(id, `${name}.${ext}`).toMatchObject({ release: d.expected.release, buildId: d.expected.buildId, compressed: kind, format: d.format });
        const viaStdin = await identifyStream(createReadStream(`${plain}.${ext}`), '-');
        expect(viaStdin.release).toBe(d.expected.release);
      }
    }
  });

  it('decodes makedumpfile -l (LZO) pages exactly as the -c (zlib) pages of the same crash', async () => {
    const seen: { banner: string | null; sums: number[] }[] = [];
    for (const name of ['vmcore.kdump-lzo', 'vmcore.kdump-zlib']) {
      const p = join(root, 'sysrq', name);
      const fh = await open(p);
      try {
        const ra = new FileRandomAccess(fh, p, (await fh.stat()).size);
        const { header } = await readKdumpHeaders(ra);
        const scan = await scanKdumpPagesForBanner(ra, header);
        expect(scan.undecodable).toBe(0);
        const read = kdumpPhysReader(ra, header);
        const sums: number[] = [];
        for (let pfn = 0n; pfn < 16384n; pfn += 13n) {
          const b = await read(pfn * 4096n, 4096);
          sums.push(b ? b.reduce((a, x) => (a * 31 + x) >>> 0, 7) : -1);
        }
        seen.push({ banner: scan.hit?.banner ?? null, sums });
      } finally {
        await fh.close();
      }
    }
    const dmesgBanner = manifest.dumps.find((x) => x.file === 'sysrq/vmcore-dmesg.txt')!.expected.banner!;
    expect(seen[0]!.banner?.replace(/ #\d* /, ' # ')).toBe(dmesgBanner.replace(/ #\d* /, ' # '));
    expect(seen[0]!.sums.filter((x) => x !== -1).length).toBeGreaterThan(50);
    expect(seen[0]).toEqual(seen[1]);
    // Corrupt LZO input fails cleanly instead of reading out of bounds.
    expect(lzo1xDecompress(new Uint8Array([0x11, 0x00, 0x00]), 4096)).toHaveLength(0); // just the end marker
    expect(() => lzo1xDecompress(new Uint8Array([0x05, 0x41]), 4096)).toThrow(/input overrun/);
    expect(() => lzo1xDecompress(new Uint8Array([0x01, 0x61, 0x62, 0x63, 0x64, 0x40, 0xff]), 4096)).toThrow(/lookbehind/);
  });

  it('reads only headers and notes: a 10 GB sparse dump in < 0.1 s', async () => {
    for (const [name, kind] of [
      ['vmcore.qemu.elf', 'elf64'],
      ['vmcore.kdump-zlib', 'kdump-compressed'],
    ] as const) {
      const d = manifest.dumps.find((x) => x.file === `sysrq/${name}`)!;
      const f = join(tmp, `sparse-${name}`);
      writeFileSync(f, readHead(join(root, d.file), 64 << 10));
      truncateSync(f, 10 * 1024 ** 3);
      await identifyDump(f); // warm the module code once
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const id = await identifyDump(f);
      const ms = performance.now() - t0;
      timings.push(`10 GB sparse ${name.padEnd(33)} ${kind.padEnd(17)} ${ms.toFixed(1)} ms`);
      expect(id.release).toBe(d.expected.release);
      expect(id.format).toBe(kind);
      expect(ms).toBeLessThan(100);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(64 << 20);
    }
  });

  afterAll(() => {
    if (timings.length) console.log(`identify timings (in-process, warm):\n${timings.join('\n')}`);
  });
});
