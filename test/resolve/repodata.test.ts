// The streaming index parsers on their own: createrepo_c's repomd/primary (gz, xz, zstd) fed in
// hostile chunk sizes, early stop on a large primary, xml:base and ../ hrefs, broken input, and
// mirror lists/metalinks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputFormatError } from '../../src/core/errors.js';
import { compareEvr } from '../../src/release/index.js';
import { decompressIndex } from '../../src/resolve/decompress.js';
import { resolveHref } from '../../src/resolve/index.js';
import { parseMirrorList } from '../../src/resolve/mirrorlist.js';
import { findInPrimary, parseRepomd, type PrimaryPackage } from '../../src/resolve/repodata.js';
import { fileFacts, resolveFixture } from './repos-fixture.js';

const PATTERNS: (number[] | null)[] = [null, [1], [2], [3], [5], [8], [13], [1, 7, 2, 13, 3, 64]];

async function* chunked(buf: Uint8Array, pattern: number[] | null): AsyncGenerator<Uint8Array> {
  if (!pattern) {
    yield buf;
    return;
  }
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = pattern[i++ % pattern.length]!;
    yield buf.subarray(off, off + n);
    off += n;
  }
}

const newer = (a: PrimaryPackage, b: PrimaryPackage): number => compareEvr(`${a.epoch}:${a.ver}-${a.rel}`, `${b.epoch}:${b.ver}-${b.rel}`);

let root: string;
beforeAll(() => {
  root = resolveFixture();
}, 120_000);

function primaryOf(repo: string): { href: string; bytes: Buffer } {
  const repomd = readFileSync(join(root, repo, 'repodata/repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
  return { href, bytes: readFileSync(join(root, repo, href)) };
}

describe('repomd and primary under hostile chunking', () => {
  for (const [repo, ext, name, evr] of [
    ['centos/7/x86_64', 'gz', 'kernel-debuginfo', '3.10.0-327.el7'],
    ['centos/8/x86_64', 'xz', 'kernel-debuginfo-common-x86_64', '4.18.0-348.7.1.el8_5'],
    ['centos/9-stream/BaseOS/x86_64/debug/tree', 'zst', 'kernel-debuginfo', '5.14.0-687.el9'],
  ] as const) {
    it(`${repo} (${ext})`, async () => {
      const repomdBytes = readFileSync(join(root, repo, 'repodata/repomd.xml'));
      const { href, bytes } = primaryOf(repo);
      expect(href.endsWith(`.xml.${ext}`)).toBe(true);
      const file = readdirSync(join(root, repo), { recursive: true }).map(String).find((f) => f.endsWith(`/${name}-${evr}.x86_64.rpm`) || f === `${name}-${evr}.x86_64.rpm`)!;
      const facts = fileFacts(join(root, repo, file));
      for (const p of PATTERNS) {
        const info = await parseRepomd(chunked(repomdBytes, p), 'repomd.xml');
        expect(info.primaryHref).toBe(href);
        const [hit] = await findInPrimary(decompressIndex(chunked(bytes, p), href), href, [{ name, arch: 'x86_64', evr }], newer);
        expect(hit, `pattern ${JSON.stringify(p)}`).toMatchObject({ name, arch: 'x86_64', href: file, checksumType: 'sha256', checksum: facts.sha256, size: facts.size });
      }
    });
  }

  it('newest wins when no evr is asked for; exact evr picks the old one', async () => {
    const { bytes, href } = primaryOf('centos/7/x86_64');
    const [newest, exact, none] = await findInPrimary(
      decompressIndex(chunked(bytes, null), href),
      href,
      [
        { name: 'kernel-debuginfo', arch: 'x86_64', evr: null },
        { name: 'kernel-debuginfo', arch: 'x86_64', evr: '3.10.0-327.el7' },
        { name: 'kernel-debuginfo', arch: 'aarch64', evr: null },
      ],
      newer,
    );
    expect(newest!.rel).toBe('1160.el7');
    expect(exact!.rel).toBe('327.el7');
    expect(none).toBeNull();
  });
});

function bigPrimary(n: number, matchAt: number): Buffer {
  const pkgs: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = i === matchAt ? '327.el7' : `${1000 + i}.el7`;
    pkgs.push(`<package type="rpm"><name>kernel-debuginfo</name><arch>x86_64</arch><version epoch="0" ver="3.10.0" rel="${rel}"/>
<checksum type="sha256" pkgid="YES">${String(i).padStart(64, '0')}</checksum><summary>x</summary><description>${createHash('sha256').update(String(i)).digest('base64').repeat(4)}</description>
<size package="${100 + i}" installed="1" archive="1"/><location href="Packages/kernel-debuginfo-3.10.0-${rel}.x86_64.rpm"/>
<format><rpm:license>GPL</rpm:license><rpm:provides><rpm:entry name="kernel-debuginfo" flags="EQ" epoch="0" ver="3.10.0" rel="${rel}"/></rpm:provides></format></package>`);
  }
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${n}">
${pkgs.join('\n')}
</metadata>
`);
}

describe('streaming', () => {
  const xml = bigPrimary(20_000, 100);
  const packed: Record<string, Buffer> = {
    gz: gzipSync(xml),
    // multi-block xz (as `xz -T` writes) and zstd from the real tools
    xz: execFileSync('xz', ['-T2', '--block-size=1MiB', '-c'], { input: xml, maxBuffer: 1 << 28 }),
    zst: execFileSync('zstd', ['-q', '-c'], { input: xml, maxBuffer: 1 << 28 }),
  };
  for (const [codec, bytes] of Object.entries(packed)) {
    it(`stops reading a ${codec} primary once every exact query has matched`, async () => {
      let read = 0;
      let finished = false;
      async function* counting(): AsyncGenerator<Uint8Array> {
        try {
          for await (const c of chunked(bytes, [4096])) {
            read += c.length;
            yield c;
          }
        } finally {
          finished = true; // the source was closed, not left dangling
        }
      }
      const [hit] = await findInPrimary(decompressIndex(counting(), `big.xml.${codec}`), `big.xml.${codec}`, [{ name: 'kernel-debuginfo', arch: 'x86_64', evr: '3.10.0-327.el7' }], newer);
      expect(hit).toMatchObject({ size: 200, href: 'Packages/kernel-debuginfo-3.10.0-327.el7.x86_64.rpm' });
      expect(xml.length).toBeGreaterThan(10_000_000);
      // read-ahead of the stream machinery is a few chunks; the file is megabytes
      expect(bytes.length).toBeGreaterThan(500_000);
      expect(read).toBeLessThan(bytes.length / 10);
      await new Promise((r) => setTimeout(r, 50));
      expect(finished).toBe(true);
    });
  }

  it('keeps xml:base and resolves ../ hrefs RFC 3986 style', async () => {
    const xml = Buffer.from(`<metadata><package type="rpm"><name>kernel-debuginfo</name><arch>x86_64</arch><version epoch="0" ver="6.1.176" rel="220.360.amzn2023"/><checksum type="sha256">${'a'.repeat(64)}</checksum><size package="5"/><location xml:base="http://cdn.test/al2023/" href="blobstore/ab/k.rpm"/></package></metadata>`);
    const [hit] = await findInPrimary(decompressIndex(chunked(xml, [3]), 'p.xml'), 'p.xml', [{ name: 'kernel-debuginfo', arch: 'x86_64', evr: '6.1.176-220.360.amzn2023' }], newer);
    expect(hit).toMatchObject({ base: 'http://cdn.test/al2023/', href: 'blobstore/ab/k.rpm' });
    expect(resolveHref('http://x.test/repo/', hit!.href, hit!.base)).toBe('http://cdn.test/al2023/blobstore/ab/k.rpm');
    expect(resolveHref('https://cdn.test/al2023/core/guids/G/x86_64/', '../../../../blobstore/ff/k.rpm')).toBe('https://cdn.test/al2023/blobstore/ff/k.rpm');
    expect(resolveHref('http://m.test/7/x86_64/', 'Packages/./k.rpm')).toBe('http://m.test/7/x86_64/Packages/k.rpm');
    expect(resolveHref('http://m.test/7/x86_64/', 'http://other.test/k.rpm')).toBe('http://other.test/k.rpm');
    expect(resolveHref('http://m.test/a/', '/abs/k.rpm')).toBe('http://m.test/abs/k.rpm');
  });

  it('broken input is an InputFormatError with the file name', async () => {
    await expect(findInPrimary(decompressIndex(chunked(Buffer.from('<metadata><package><name>x</nam></package>'), null), 'p.xml'), 'p.xml', [{ name: 'x', arch: 'x', evr: null }], newer)).rejects.toThrow(
      /p\.xml: not well-formed XML/,
    );
    const gz = gzipSync(bigPrimary(10, 1));
    await expect(findInPrimary(decompressIndex(chunked(gz.subarray(0, gz.length - 20), null), 't.xml.gz'), 't.xml.gz', [{ name: 'n', arch: 'x', evr: null }], newer)).rejects.toThrow(InputFormatError);
    await expect(parseRepomd(chunked(Buffer.from('<repomd><data type="other"><location href="x"/></data></repomd>'), null), 'r.xml')).rejects.toThrow(/r\.xml: no <data type="primary"> location/);
    const long = Buffer.from(`<metadata><package><name>${'n'.repeat(70_000)}</name></package></metadata>`);
    await expect(findInPrimary(decompressIndex(chunked(long, [1000]), 'l.xml'), 'l.xml', [{ name: 'n', arch: 'x', evr: null }], newer)).rejects.toThrow(/longer than 65536/);
  });
});

describe('mirror lists and metalinks', () => {
  it('plain lists: comments, blanks, non-http lines dropped; metalink content detected', async () => {
    const text = '# Amazon\n\nhttps://cdn.test/2/core/2.0/x86_64/abc\nftp://old.test/x\nhttp://m2.test/repo/\n';
    for (const p of PATTERNS) expect(await parseMirrorList(chunked(Buffer.from(text), p), 'l', 'mirrorlist')).toEqual(['https://cdn.test/2/core/2.0/x86_64/abc/', 'http://m2.test/repo/']);
    const ml = '<?xml version="1.0"?><metalink><files><file><resources><url protocol="https" preference="50">https://b.test/9/repodata/repomd.xml</url><url preference="100">https://a.test/9/repodata/repomd.xml</url></resources></file></files></metalink>';
    expect(await parseMirrorList(chunked(Buffer.from(ml), [5]), 'l', 'mirrorlist')).toEqual(['https://a.test/9/', 'https://b.test/9/']);
  });
});
