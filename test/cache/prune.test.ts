// cache/prune.ts and cache/usage.ts as a library: stale partial downloads, tmp/ leftovers and
// orphaned packages; last-use stamps under concurrency; the --max-size/--max-age grammar.
// The cache is populated by the real `kdbg fetch` against the fixture mirror on 127.0.0.1.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/index.js';
import { cacheUsage, DAY_MS, parseAge, parseSize, pruneCache } from '../../src/cache/prune.js';
import { lastUsed, touchUsed } from '../../src/cache/usage.js';
import { loopbackOnlyConfig, runKdbg } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const el7 = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;

let server: MirrorServer;
let base: string;
beforeAll(async () => {
  server = await startMirrorServer(join(manifestPath, '..', manifest.mirrorBase));
  base = mkdtempSync(join(tmpdir(), 'kdbg-prune-base-'));
  const r = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', base, '--config', loopbackOnlyConfig(), '--quiet']);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => server.close());

const copy = (): string => {
  const c = join(mkdtempSync(join(tmpdir(), 'kdbg-prune-')), 'cache');
  cpSync(base, c, { recursive: true, verbatimSymlinks: true });
  return c;
};
const old = (p: string, days: number): void => {
  const t = new Date(Date.now() - days * DAY_MS);
  utimesSync(p, t, t);
};

describe('pruneCache: stale leftovers', () => {
  it('removes partial downloads and tmp/ directories older than a day whose locks are free, keeps young or locked ones', async () => {
    const root = copy();
    const cache = await openCache(root);
    const sidecar = '{"url":"http://127.0.0.1/x"}';
    const part = (key: string, days: number): void => {
      writeFileSync(join(root, 'partial', `${key}.part`), Buffer.alloc(1000));
      writeFileSync(join(root, 'partial', `${key}.json`), sidecar);
      old(join(root, 'partial', `${key}.part`), days);
      old(join(root, 'partial', `${key}.json`), days);
    };
    part('a'.repeat(64), 3); // stale
    part('b'.repeat(64), 0); // a download in progress right now
    part('c'.repeat(64), 3); // stale, but its package lock is held by a live process (us)
    const lock = await cache.lockPackage('c'.repeat(64));
    mkdirSync(join(root, 'tmp', 'otherhost-4242-3.10.0-1.el7-x'), { recursive: true });
    writeFileSync(join(root, 'tmp', 'otherhost-4242-3.10.0-1.el7-x', 'vmlinux'), Buffer.alloc(500));
    old(join(root, 'tmp', 'otherhost-4242-3.10.0-1.el7-x'), 2);
    mkdirSync(join(root, 'tmp', 'otherhost-4243-young'));
    try {
      const rep = await pruneCache(cache, {});
      expect(rep.removed.map((r) => [r.kind, r.name, r.reason, r.bytes])).toEqual([
        ['partial', 'a'.repeat(64), 'stale-partial', 1000 + Buffer.byteLength(sidecar)],
        ['tmp', 'otherhost-4242-3.10.0-1.el7-x', 'stale-tmp', 500],
      ]);
      expect(readdirSync(join(root, 'partial')).sort()).toEqual([`${'b'.repeat(64)}.json`, `${'b'.repeat(64)}.part`, `${'c'.repeat(64)}.json`, `${'c'.repeat(64)}.part`]);
      expect(readdirSync(join(root, 'tmp'))).toEqual(['otherhost-4243-young']);
      // The entry itself is not touched without a limit.
      expect(readdirSync(join(root, 'releases'))).toEqual([el7.uname]);
    } finally {
      await lock.release();
    }
  });

  it('removes an orphaned package (referenced by no entry) only once it has been in the store for a day', async () => {
    const root = copy();
    const cache = await openCache(root);
    const blob = Buffer.from('an orphaned package body\n');
    const sha = createHash('sha256').update(blob).digest('hex');
    const f = join(root, 'tmp', 'orphan.rpm');
    writeFileSync(f, blob);
    await cache.storePackage(f, sha, 'orphan-1.0.rpm');
    const stored = cache.packagePath(sha);
    // A by-name link whose package is gone is dropped by any prune.
    symlinkSync('../sha256/00/00/' + '0'.repeat(64), join(root, 'packages', 'by-name', 'gone-1.0.rpm'));
    // Just stored: could belong to a fetch about to publish.
    expect((await pruneCache(cache, {})).removed).toEqual([]);
    expect(existsSync(stored)).toBe(true);
    expect(readdirSync(join(root, 'packages', 'by-name'))).not.toContain('gone-1.0.rpm');
    expect(readdirSync(join(root, 'packages', 'by-name'))).toContain('orphan-1.0.rpm');
    // Seen from two days later (a store's time is its ctime, which utimes cannot move back).
    const later = await pruneCache(cache, { now: new Date(Date.now() + 2 * DAY_MS), dryRun: true });
    expect(later.removed).toEqual([{ kind: 'package', name: sha, path: stored, bytes: blob.length, reason: 'orphan', lastUsed: null }]);
    expect(existsSync(stored)).toBe(true);
    await pruneCache(cache, { now: new Date(Date.now() + 2 * DAY_MS) });
    expect(existsSync(stored)).toBe(false);
    expect(existsSync(join(root, 'packages', 'by-name', 'orphan-1.0.rpm'))).toBe(false);
    // The entry's own package stays (referenced).
    expect(existsSync(cache.packagePath(el7.sha256))).toBe(true);
    const u = await cacheUsage(cache);
    expect(u.packages).toMatchObject({ count: 1, orphanCount: 0 });
  });
});

describe('last-use stamps', () => {
  it('readEntry touches the stamp, listEntries does not; concurrent touches leave one valid stamp', async () => {
    const root = copy();
    const cache = await openCache(root);
    const stamp = join(root, 'used', el7.uname);
    old(stamp, 50);
    await cache.listEntries();
    expect(Date.now() - statSync(stamp).mtimeMs).toBeGreaterThan(49 * DAY_MS);
    await cache.readEntry(el7.uname);
    expect(Date.now() - statSync(stamp).mtimeMs).toBeLessThan(60_000);
    // Many concurrent touches, half of them through the replace-by-rename path (stamp missing).
    await Promise.all(Array.from({ length: 40 }, (_, i) => touchUsed(root, i % 2 ? el7.uname : 'x-new-release')));
    expect(readdirSync(join(root, 'used')).sort()).toEqual([el7.uname, 'x-new-release']);
    expect((await lastUsed(root, 'x-new-release', join(root, 'releases', 'x'))).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('limit grammar', () => {
  it('parses sizes (binary units) and ages', () => {
    expect(parseSize('50G')).toBe(50 * 1024 ** 3);
    expect(parseSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5T')).toBe(1.5 * 1024 ** 4);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('10k')).toBe(10240);
    expect(parseSize('1000')).toBe(1000);
    expect(parseSize('1000B')).toBe(1000);
    for (const bad of ['', 'G', '50X', '-1G', '1e9']) expect(parseSize(bad)).toBeNull();
    expect(parseAge('30d')).toBe(30 * DAY_MS);
    expect(parseAge('12h')).toBe(12 * 3600_000);
    expect(parseAge('2w')).toBe(14 * DAY_MS);
    expect(parseAge('90m')).toBe(90 * 60_000);
    expect(parseAge('45s')).toBe(45_000);
    for (const bad of ['', '30', 'd', '30y', 'soon']) expect(parseAge(bad)).toBeNull();
  });
});

describe('repository indexes in meta/index (kept by checksum since issue 19)', () => {
  // The real fetch in beforeAll kept the mirror's primary index under its sha256.
  const indexFiles = (root: string): string[] => (existsSync(join(root, 'meta', 'index')) ? readdirSync(join(root, 'meta', 'index')).filter((n) => /^[0-9a-f]{64}$/.test(n)) : []);

  it('cache du counts them apart from "other", and the sections still add up to the total', async () => {
    const root = copy();
    const files = indexFiles(root);
    expect(files.length).toBeGreaterThan(0);
    const u = await cacheUsage(await openCache(root));
    const bytes = readdirSync(join(root, 'meta', 'index')).reduce((a, n) => a + statSync(join(root, 'meta', 'index', n)).size, 0);
    expect(u.meta.index).toEqual({ bytes, count: files.length });
    expect(u.meta.bytes).toBeGreaterThanOrEqual(bytes);
    expect(u.totalBytes).toBe(u.releasesBytes + u.packages.bytes + u.partial.bytes + u.tmp.bytes + u.meta.bytes + u.otherBytes);
  });

  it('a read renews an index\'s last use; prune drops one idle for over two weeks (and its sidecars), keeps a recent one and the entry', async () => {
    const root = copy();
    const cache = await openCache(root);
    const [sha] = indexFiles(root);
    const file = join(root, 'meta', 'index', sha!);
    // A second, superseded revision with a parsed sidecar, last read 20 days ago.
    const oldBody = Buffer.from('Package: linux-image-old-dbg\nVersion: 1\n\n');
    const oldSha = createHash('sha256').update(oldBody).digest('hex');
    const { readIndexBlob, writeIndexBlob, writeIndexSidecar } = await import('../../src/cache/index-store.js');
    expect(await writeIndexBlob(root, oldSha, oldBody)).toBe(true);
    await writeIndexSidecar(root, oldSha, 'lookup', '{}');
    for (const n of [oldSha, `${oldSha}.lookup`]) old(join(root, 'meta', 'index', n), 20);
    old(file, 20);
    // Reading the current one (as the next fetch does) makes it recent again.
    expect(await readIndexBlob(root, sha!)).not.toBeNull();
    expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(60_000);
    const rep = await pruneCache(cache, {});
    expect(rep.removed).toEqual([{ kind: 'index', name: oldSha, path: join(root, 'meta', 'index', oldSha), bytes: oldBody.length + 2, reason: 'idle-index', lastUsed: expect.any(String) }]);
    expect(readdirSync(join(root, 'meta', 'index')).filter((n) => n.startsWith(oldSha))).toEqual([]);
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(join(root, 'releases'))).toEqual([el7.uname]);
  });

  it('under --max-size, indexes go before any entry; the next fetch reads the index from the mirror again', async () => {
    const root = copy();
    const cache = await openCache(root);
    const before = await cacheUsage(cache);
    const rep = await pruneCache(cache, { maxSizeBytes: before.totalBytes - 1 });
    expect(rep.removed.length).toBeGreaterThan(0);
    expect(rep.removed.every((r) => r.kind === 'index' && r.reason === 'max-size')).toBe(true);
    expect(readdirSync(join(root, 'releases'))).toEqual([el7.uname]);
    // Nothing depends on the dropped index: a fetch of the entry's release is a cache hit, and one
    // with the entry gone reads the index from the mirror again.
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', root, '--config', loopbackOnlyConfig(), '--quiet', '--json']);
    expect(r.code).toBe(0);
    const { rmSync } = await import('node:fs');
    rmSync(join(root, 'releases', el7.uname), { recursive: true });
    const seen = server.requests.length;
    const again = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', root, '--config', loopbackOnlyConfig(), '--quiet', '--json']);
    expect(again.code).toBe(0);
    expect(server.requests.slice(seen).some((q) => /primary\.xml/.test(q.path))).toBe(true);
    expect(indexFiles(root).length).toBeGreaterThan(0);
  });
});
