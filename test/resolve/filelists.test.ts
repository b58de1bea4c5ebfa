// filelists.xml → build-ids (issue 20, item 2) on createrepo_c's own output: fixture 78's xz
// filelists (real vmlinux and module build-id links), fixture 10's gz filelists (el7), and the
// same document recompressed by the zstd tool (Debian 12's createrepo_c writes no zstd). Expected
// ids come from the fixtures' manifests (readelf). Every chunking of the stream gives the same
// answer; the compact index finds every id and nothing else.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompressIndex } from '../../src/resolve/decompress.js';
import { filelistsBuildIds, parseRepomdFilelists, type FilelistsPackage } from '../../src/resolve/filelists.js';
import { BuildIdIndex, BuildIdIndexBuilder } from '../../src/resolve/buildid-index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const m78 = JSON.parse(readFileSync(requireFixture('buildid-mirror', 'manifest.json'), 'utf8')) as {
  uname: string;
  repo: string;
  vmlinux: { buildId: string };
  modules: { buildId: string }[];
};
const repo78 = join(requireFixture('buildid-mirror', 'manifest.json'), '..', m78.repo);

function filelistsOf(repoDir: string): Buffer {
  const repomd = readFileSync(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
  const fl = parseRepomdFilelists(repomd, 'repomd.xml');
  return readFileSync(join(repoDir, fl.href));
}

async function* chunked(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function parse(bytes: Uint8Array, size = 1 << 16): Promise<FilelistsPackage[]> {
  const out: FilelistsPackage[] = [];
  for await (const p of filelistsBuildIds(decompressIndex(chunked(bytes, size), 'filelists'), 'filelists')) out.push(p);
  return out;
}

describe('filelists.xml build-ids', () => {
  it('reads the package, kernel release and every build-id link from createrepo_c xz metadata', async () => {
    const pkgs = await parse(filelistsOf(repo78));
    expect(pkgs).toHaveLength(1); // the -common package lists no build-id
    const p = pkgs[0]!;
    expect(p.name).toBe('kernel-debuginfo');
    expect(`${p.ver}-${p.rel}.${p.arch}`).toBe(m78.uname);
    expect(p.uname).toBe(m78.uname);
    expect(p.buildIds.sort()).toEqual([m78.vmlinux.buildId, ...m78.modules.map((x) => x.buildId)].sort());
  });

  it('gives the same answer for every chunk size (tags and paths split anywhere) and for zstd', async () => {
    const xml = execFileSync('xz', ['-dc'], { input: filelistsOf(repo78) });
    const whole = JSON.stringify(await parse(xml, xml.length));
    for (const size of [1, 2, 3, 7, 64, 333, 4096]) expect(JSON.stringify(await parse(xml, size))).toBe(whole);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: xml });
    expect(JSON.stringify(await parse(zst, 100))).toBe(whole);
  });

  it('reads gzip filelists (fixture 10, el7): one package per vmlinux build-id in the manifest', async () => {
    const repoDir = join(rpmFixtureRoot, 'mirror', '7', 'x86_64');
    const pkgs = await parse(filelistsOf(repoDir), 1000);
    const want = readRpmManifest().packages.filter((x) => x.file.startsWith('mirror/7/x86_64/') && x.role === 'vmlinux' && x.buildId);
    expect(want.length).toBeGreaterThan(0);
    for (const w of want) {
      const p = pkgs.find((x) => x.name === w.name && x.buildIds.includes(w.buildId!));
      expect(p?.uname, w.name).toBe(w.uname);
    }
  });

  it('refuses a document that is not filelists, in one line naming it', async () => {
    await expect(parse(Buffer.from('<?xml version="1.0"?>\n<html><body>' + 'x'.repeat(5000) + '</body></html>'))).rejects.toThrow(/filelists: not a filelists.xml/);
  });
});

describe('compact build-id index', () => {
  it('finds every id of fixture 78 and no other; the encoded file decodes to the same answers', async () => {
    const b = new BuildIdIndexBuilder();
    for (const p of await parse(filelistsOf(repo78))) b.add(p);
    const idx = BuildIdIndex.decode(b.encode('http://127.0.0.1/repo/', 'rev', null), 'test');
    for (const id of [m78.vmlinux.buildId, ...m78.modules.map((x) => x.buildId)]) expect(idx.lookup(id)?.uname).toBe(m78.uname);
    // One bit off, shorter, longer: not found.
    const v = m78.vmlinux.buildId;
    expect(idx.lookup(v.slice(0, -1) + (v.endsWith('0') ? '1' : '0'))).toBeNull();
    expect(idx.lookup(v.slice(0, 32))).toBeNull();
    expect(idx.lookup(`${v}00`)).toBeNull();
    expect(() => BuildIdIndex.decode(Buffer.from('KDBGBID1\0\0\0\x05{"a"'), 'bad.kbi')).toThrow(/bad.kbi/);
  });

  it('sorts many ids so that all are found (ids of random lengths 8–32 bytes)', () => {
    const b = new BuildIdIndexBuilder();
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const len = [8, 16, 20, 32][i % 4]!;
      ids.push(createHash('sha512').update(String(i)).digest('hex').slice(0, len * 2));
    }
    b.add({ name: 'k', arch: 'x86_64', epoch: '0', ver: '1', rel: '1', uname: '1-1.x86_64', buildIds: ids });
    const idx = BuildIdIndex.decode(b.encode('r', 'v', null), 't');
    expect(idx.count).toBe(ids.length);
    for (const id of ids) expect(idx.lookup(id)?.buildId).toBe(id);
    // The same ids with one more byte, or one byte fewer, are other ids.
    expect(ids.filter((id) => idx.lookup(`${id}ff`) !== null || idx.lookup(id.slice(0, -2)) !== null)).toEqual([]);
  });
});
