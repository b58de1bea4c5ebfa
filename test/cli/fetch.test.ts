// `kdbg fetch` end to end: the built CLI against the rpmbuild-made CentOS 7 fixture mirror
// (scripts/fixtures/10-rpm-mirror.sh) served by a real HTTP server on 127.0.0.1. Expected
// digests and build-ids come from the fixture manifest, which the fixture script records from
// the real tools (sha256sum, readelf -n), not from kdbg. The mirror is signed (rpmsign,
// repomd.xml.asc) and the config asks for both checks (loopbackOnlyConfig): headerSignedBy is set.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const rpmRoot = join(manifestPath, '..');
const mirrorRoot = join(rpmRoot, manifest.mirrorBase);
const el7 = manifest.packages.filter((p) => p.set === 'el7');
const vmPkg = el7.find((p) => p.role === 'vmlinux')!;
const srcPkg = el7.find((p) => p.role === 'source')!;
const vmPath = `/7/x86_64/${vmPkg.file.split('/').pop()}`;

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
/** The error line: the last `kdbg: …` line on stderr (progress and info lines come before it). */
const errorLine = (stderr: string): string => stderr.trim().split('\n').filter((l) => l.startsWith('kdbg: ')).pop() ?? '';
const newCache = (): string => tmpDir('kdbg-fetch-cache-');

let server: MirrorServer;
const config = loopbackOnlyConfig();

beforeAll(async () => {
  server = await startMirrorServer(mirrorRoot);
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

describe('kdbg fetch (RPM fixture mirror)', () => {
  it('fetches 3.10.0-327.el7: verified vmlinux and sources in the cache, path on stdout; warm cache needs no request', async () => {
    const cache = newCache();
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config]);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const entryDir = join(cache, 'releases', vmPkg.uname);
    expect(r.stdout).toBe(`${join(entryDir, 'vmlinux')}\n`);
    expect(sha256File(join(entryDir, 'vmlinux'))).toBe(vmPkg.vmlinuxSha256);
    const entry = JSON.parse(readFileSync(join(entryDir, 'entry.json'), 'utf8')) as Record<string, unknown>;
    expect(entry).toMatchObject({ release: vmPkg.uname, family: 'rhel', vmlinux: 'vmlinux', source: 'source', buildId: vmPkg.buildId, vmlinuxSha256: vmPkg.vmlinuxSha256 });
    expect(readFileSync(join(cache, 'buildid', vmPkg.buildId!), 'utf8').trim()).toBe(vmPkg.uname);
    expect(readdirSync(join(entryDir, 'source')).length).toBeGreaterThan(0);
    // Both packages kept by digest, nothing left in partial/, tmp/ or locks/.
    for (const p of [vmPkg, srcPkg]) expect(sha256File(join(cache, 'packages', 'sha256', p.sha256.slice(0, 2), p.sha256.slice(2, 4), p.sha256))).toBe(p.sha256);
    for (const d of ['partial', 'tmp', 'locks']) expect(readdirSync(join(cache, d))).toEqual([]);

    server.requests.length = 0;
    const warm = await runKdbg(['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json']);
    expect(warm.code).toBe(0);
    expect(server.requests).toEqual([]);
    const j = JSON.parse(warm.stdout) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['release', 'family', 'vmlinux', 'source', 'packages', 'cached', 'distro', 'reason']);
    expect(j).toMatchObject({ release: vmPkg.uname, family: 'rhel', vmlinux: join(entryDir, 'vmlinux'), source: join(entryDir, 'source'), cached: true });
    expect(j['packages']).toEqual([
      // el7's payload is one xz block: downloaded whole, its sha256 checked (no partial fetch).
      { name: vmPkg.name, url: `${server.url}${vmPath}`, sha256: vmPkg.sha256, size: vmPkg.size, cached: true, sha256Verified: true, partial: null, origin: 'mirror', headerSignedBy: manifest.fingerprint },
      { name: srcPkg.name, url: `${server.url}/7/x86_64/${srcPkg.file.split('/').pop()}`, sha256: srcPkg.sha256, size: srcPkg.size, cached: true, sha256Verified: true, partial: null, origin: 'mirror', headerSignedBy: manifest.fingerprint },
    ]);

    const ls = await runKdbg(['cache', 'ls', '--json', '--cache-dir', cache]);
    expect(ls.code).toBe(0);
    const listed = JSON.parse(ls.stdout) as Array<{ release: string; packages: Array<Record<string, unknown>> }>;
    expect(listed.map((e) => e.release)).toEqual([vmPkg.uname]);
    // The same provenance fields as fetch --json (a whole, sha256-checked download here).
    expect(listed[0]!.packages.map((p) => [p['name'], p['sha256Verified'], p['partial']])).toEqual([
      [vmPkg.name, true, null],
      [srcPkg.name, true, null],
    ]);
    const path = await runKdbg(['cache', 'path', '3.10.0-327.el7', '--cache-dir', cache]);
    expect(path.code).toBe(0);
    expect(path.stdout).toBe(`${join(entryDir, 'vmlinux')}\n`);
    const offline = await runKdbg(['fetch', '3.10.0-327.el7.x86_64', '--offline', '--cache-dir', cache]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toBe(`${join(entryDir, 'vmlinux')}\n`);
  });

  it('--json on a cold fetch reports the packages as not cached; --vmlinux-only skips the sources', async () => {
    const cache = newCache();
    server.requests.length = 0;
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--json', '--mirror', server.url, '--cache-dir', cache, '--config', config]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { source: unknown; cached: boolean; packages: Array<{ name: string; cached: boolean; sha256: string }> };
    expect(j.source).toBeNull();
    expect(j.cached).toBe(false);
    expect(j.packages).toEqual([expect.objectContaining({ name: vmPkg.name, cached: false, sha256: vmPkg.sha256 })]);
    expect(server.requests.some((q) => q.path.includes('debuginfo-common'))).toBe(false);

    // Asking for the sources later downloads only the -common package and keeps the vmlinux.
    server.requests.length = 0;
    const full = await runKdbg(['fetch', '3.10.0-327.el7', '--json', '--mirror', server.url, '--cache-dir', cache, '--config', config]);
    expect(full.code).toBe(0);
    const f = JSON.parse(full.stdout) as { source: string | null; packages: Array<{ name: string; cached: boolean }> };
    expect(f.source).not.toBeNull();
    expect(server.requests.filter((q) => q.method === 'GET' && q.path === vmPath)).toEqual([]);
    expect(f.packages.map((p) => [p.name, p.cached])).toEqual([
      [vmPkg.name, true],
      [srcPkg.name, false],
    ]);
  });

  it('--no-keep-packages drops the packages after publishing the entry; --quiet keeps stderr empty', async () => {
    const cache = newCache();
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--no-keep-packages', '--quiet', '--mirror', server.url, '--cache-dir', cache, '--config', config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(sha256File(r.stdout.trim())).toBe(vmPkg.vmlinuxSha256);
    expect(readdirSync(join(cache, 'packages', 'sha256'))).toEqual([]);
    expect(readdirSync(join(cache, 'packages', 'by-name'))).toEqual([]);
    const ls = await runKdbg(['cache', 'ls', '--cache-dir', cache]);
    expect(ls.stdout.split('\t').slice(0, 4)).toEqual([vmPkg.uname, 'rhel', 'vmlinux+source', vmPkg.buildId]);
  });

  it('exits 69 for --offline with an empty cache, and for cache path of an uncached release', async () => {
    const cache = newCache();
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--offline', '--cache-dir', cache]);
    expect(r.code).toBe(69);
    expect(errorLine(r.stderr)).toMatch(/^kdbg: 3\.10\.0-327\.el7\.x86_64: not in the cache .* --offline/);
    const p = await runKdbg(['cache', 'path', '3.10.0-327.el7', '--cache-dir', cache]);
    expect(p.code).toBe(69);
    expect(p.stdout).toBe('');
    expect(p.stderr).toContain('not in the cache');
  });

  it('exits 69 naming every URL tried when no mirror has the release', async () => {
    const cache = newCache();
    const empty = tmpDir('kdbg-empty-mirror-');
    const other = await startMirrorServer(empty);
    try {
      const r = await runKdbg(['fetch', '3.10.0-1160.el7', '--mirror', other.url, '--cache-dir', cache, '--config', config]);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(other.url);
      expect(r.stderr).not.toContain('internal error');
      expect(readdirSync(join(cache, 'releases'))).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('exits 65 on a package that does not match its repodata sha256: nothing published, nothing stored under its name', async () => {
    const cache = newCache();
    const bad = tmpDir('kdbg-bad-mirror-');
    cpSync(join(mirrorRoot, '7'), join(bad, '7'), { recursive: true });
    const f = join(bad, vmPath);
    const bytes = readFileSync(f);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55; // same size, different content
    writeFileSync(f, bytes);
    const badServer = await startMirrorServer(bad);
    try {
      const r = await runKdbg(['fetch', '3.10.0-327.el7', '--mirror', badServer.url, '--cache-dir', cache, '--config', config]);
      expect(r.stderr).not.toContain('internal error');
      expect(r.code).toBe(65);
      const first = errorLine(r.stderr);
      expect(first).toContain('sha256');
      expect(first).toContain(vmPkg.sha256);
      expect(readdirSync(join(cache, 'releases'))).toEqual([]);
      expect(existsSync(join(cache, 'packages', 'sha256', vmPkg.sha256.slice(0, 2), vmPkg.sha256.slice(2, 4), vmPkg.sha256))).toBe(false);
      expect(existsSync(join(cache, 'packages', 'by-name', vmPath.split('/').pop()!))).toBe(false);
      expect(readdirSync(join(cache, 'partial'))).toEqual([]);
      expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
    } finally {
      await badServer.close();
    }
  });

  it('--connections N downloads a package over N Range connections, in order, sha256-checked', async () => {
    // The uncompressed-payload variant (9.5 MB, rpmbuild w0.ufdio) is big enough to be cut into
    // segments; the vmlinux and the package digest must come out as from one connection.
    // --keep-packages: no partial-fetch probe, so every ranged request is a segment.
    const none = manifest.packages.find((p) => p.set === 'variant-none' && p.role === 'vmlinux')!;
    const dir = join(rpmRoot, 'variants', 'none', '7', 'x86_64');
    const vserver = await startMirrorServer(dir);
    try {
      const cache = newCache();
      const r = await runKdbg(['fetch', '3.10.0-327.el7', '--repo', vserver.url, '--cache-dir', cache, '--config', config, '--connections', '3', '--keep-packages', '--json', '-q']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { vmlinux: string; packages: Array<{ name: string; sha256: string; sha256Verified: boolean }> };
      expect(sha256File(out.vmlinux)).toBe(none.vmlinuxSha256);
      expect(out.packages[0]).toMatchObject({ name: none.name, sha256: none.sha256, sha256Verified: true });
      const file = `/${none.file.split('/').pop()}`;
      const ranged = vserver.requests.filter((q) => q.method === 'GET' && q.path === file && q.range !== null && q.status === 206);
      // Several segments, their bytes adding up to the whole package exactly once.
      expect(ranged.length).toBeGreaterThanOrEqual(3);
      expect(ranged.reduce((n, q) => n + q.bytesSent, 0)).toBe(none.size);
    } finally {
      await vserver.close();
    }
    for (const bad of ['0', '17', '1.5']) {
      const b = await runKdbg(['fetch', '3.10.0-327.el7', '--cache-dir', newCache(), '--config', config, '--connections', bad]);
      expect(b.code).toBe(64);
      expect(errorLine(b.stderr)).toMatch(/--connections must be an integer from 1 to 16/);
    }
  });

  it('rejects a dump path that does not exist with exit 66', async () => {
    const r = await runKdbg(['fetch', '/nonexistent/vmcore', '--cache-dir', newCache()]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('/nonexistent/vmcore');
  });
});
