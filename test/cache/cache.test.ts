// The cache's on-disk contract: layout, CACHEDIR.TAG, atomic entry publish, build-id index,
// locks with stale-holder detection, and where the default cache lives.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, defaultCacheDir, openCache } from '../../src/cache/index.js';
import { CacheError } from '../../src/core/errors.js';
import type { CacheEntry } from '../../src/core/types.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'kdbg-cache-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A pid that certainly belongs to no running process: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

async function stagedEntry(cache: Awaited<ReturnType<typeof openCache>>, uname: string, vmlinuxText: string): Promise<{ staging: string; entry: CacheEntry }> {
  const staging = join(await cache.makeStagingDir(uname), 'entry');
  mkdirSync(join(staging, 'source', 'kernel'), { recursive: true });
  writeFileSync(join(staging, 'vmlinux'), vmlinuxText);
  writeFileSync(join(staging, 'source', 'kernel', 'panic.c'), 'void panic(void) {}\n');
  const entry: CacheEntry = {
    release: uname,
    family: 'rhel',
    vmlinux: join(staging, 'vmlinux'),
    vmlinuxSha256: 'ab'.repeat(32),
    source: join(staging, 'source'),
    modules: null,
    buildId: 'ebe30a0114e709441d9e3f0b70ea1e36a5b1e984',
    banner: null,
    packages: [{ name: 'kernel-debuginfo', fileName: 'kernel-debuginfo-x.rpm', url: 'http://127.0.0.1/x.rpm', sha256: 'cd'.repeat(32), size: 10, cached: false }],
    createdAt: new Date().toISOString(),
  };
  return { staging, entry };
}

describe('cache layout', () => {
  it('creates the documented directories and a valid CACHEDIR.TAG', async () => {
    const root = tmp();
    await openCache(root);
    expect(readdirSync(root).sort()).toEqual(['CACHEDIR.TAG', 'buildid', 'locks', 'packages', 'partial', 'releases', 'tmp']);
    // bford.info/cachedir: the file must start with this exact signature.
    expect(readFileSync(join(root, 'CACHEDIR.TAG'), 'utf8').startsWith('Signature: 8a477f597d28d172789f06886806bc55')).toBe(true);
  });

  it('publishes an entry by rename, with relative paths on disk and absolute ones in the API', async () => {
    const root = tmp();
    const cache = await openCache(root);
    const { staging, entry } = await stagedEntry(cache, '3.10.0-327.el7.x86_64', 'ELF1');
    const pub = await cache.publishEntry(staging, entry, { source: true, modules: false });
    const dir = join(root, 'releases', '3.10.0-327.el7.x86_64');
    expect(pub.dir).toBe(dir);
    expect(pub.entry.vmlinux).toBe(join(dir, 'vmlinux'));
    expect(pub.entry.source).toBe(join(dir, 'source'));
    expect(existsSync(staging)).toBe(false);
    const onDisk = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as Record<string, unknown>;
    expect(onDisk).toMatchObject({ layout: 1, release: '3.10.0-327.el7.x86_64', vmlinux: 'vmlinux', source: 'source', modules: null, wanted: { source: true, modules: false } });
    expect(readFileSync(join(root, 'buildid', entry.buildId!), 'utf8').trim()).toBe('3.10.0-327.el7.x86_64');
    expect((await cache.lookupBuildId(entry.buildId!))?.entry.release).toBe('3.10.0-327.el7.x86_64');
    expect((await cache.listEntries()).map((e) => e.entry.release)).toEqual(['3.10.0-327.el7.x86_64']);

    // Replacing an entry (e.g. --vmlinux-only first, then full) swaps it whole.
    const second = await stagedEntry(cache, '3.10.0-327.el7.x86_64', 'ELF2');
    await cache.publishEntry(second.staging, second.entry, { source: true, modules: false });
    expect(readFileSync(join(dir, 'vmlinux'), 'utf8')).toBe('ELF2');
    expect(readdirSync(join(root, 'tmp')).filter((n) => n.includes('-old-'))).toEqual([]);
  });

  it('treats an entry whose vmlinux is gone as a miss, never a wrong answer', async () => {
    const root = tmp();
    const cache = await openCache(root);
    const { staging, entry } = await stagedEntry(cache, '4.18.0-348.el8.x86_64', 'ELF');
    await cache.publishEntry(staging, entry, { source: true, modules: false });
    rmSync(join(root, 'releases', '4.18.0-348.el8.x86_64', 'vmlinux'));
    expect(await cache.readEntry('4.18.0-348.el8.x86_64')).toBeNull();
  });

  it('stores packages by digest with a by-name link', async () => {
    const root = tmp();
    const cache = await openCache(root);
    const f = join(root, 'tmp', 'pkg');
    writeFileSync(f, 'package bytes');
    const sha = (await import('node:crypto')).createHash('sha256').update('package bytes').digest('hex');
    const stored = await cache.storePackage(f, sha, 'kernel-debuginfo-1.rpm');
    expect(stored).toBe(join(root, 'packages', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha));
    expect(resolve(join(root, 'packages', 'by-name'), readlinkSync(join(root, 'packages', 'by-name', 'kernel-debuginfo-1.rpm')))).toBe(stored);
    expect((await cache.findPackage(null, 'kernel-debuginfo-1.rpm'))?.sha256).toBe(sha);
    expect((await cache.findPackage(sha, 'whatever'))?.size).toBe(13);
  });

  it('sweeps staging directories of dead kdbg processes', async () => {
    const root = tmp();
    await openCache(root);
    const stale = join(root, 'tmp', `${hostname()}-${deadPid()}-3.10.0-x-abc`);
    mkdirSync(stale);
    await openCache(root);
    expect(existsSync(stale)).toBe(false);
  });
});

describe('locks', () => {
  it('excludes a second holder until the first releases', async () => {
    const p = join(tmp(), 'x.lock');
    const l1 = await acquireLock(p);
    const info = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({ pid: process.pid, host: hostname() });
    let got = false;
    const second = acquireLock(p).then((l) => {
      got = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(false);
    await l1.release();
    const l2 = await second;
    expect(got).toBe(true);
    await l2.release();
    expect(existsSync(p)).toBe(false);
  });

  it('takes over a lock whose holder is dead (SIGKILLed fetch)', async () => {
    const p = join(tmp(), 'y.lock');
    writeFileSync(p, JSON.stringify({ pid: deadPid(), host: hostname(), time: new Date().toISOString(), purpose: 'test' }));
    const t0 = Date.now();
    const l = await acquireLock(p, { timeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    await l.release();
  });

  it('takes over a lock from another host once its heartbeat stops', async () => {
    const p = join(tmp(), 'z.lock');
    writeFileSync(p, JSON.stringify({ pid: 1, host: 'elsewhere', time: new Date().toISOString(), purpose: 'test' }));
    const l = await acquireLock(p, { staleMs: 300, timeoutMs: 5000 });
    await l.release();
  });

  it('gives up after the timeout with a CacheError naming the holder', async () => {
    const p = join(tmp(), 'w.lock');
    const held = await acquireLock(p);
    const err = await acquireLock(p, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheError);
    expect((err as CacheError).message).toContain(`pid ${process.pid}`);
    expect((err as CacheError).exitCode).toBe(74);
    await held.release();
  });
});

describe('defaultCacheDir', () => {
  it('honours KDBG_CACHE_DIR, else uses cache/ in this checkout', () => {
    expect(defaultCacheDir({ KDBG_CACHE_DIR: '/srv/kdbg-cache' })).toBe('/srv/kdbg-cache');
    // The tests run from a git checkout of kdbg: the default is <root>/cache.
    expect(defaultCacheDir({})).toBe(resolve(import.meta.dirname, '..', '..', 'cache'));
    expect(defaultCacheDir({})).not.toContain(homedir() + '/.cache/kdbg');
  });
});
