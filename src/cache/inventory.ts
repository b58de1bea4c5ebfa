// The cache's entries and stored packages as found on disk, and the primitives that remove them
// under their locks (taken without waiting: an entry in use elsewhere is skipped).

import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CacheError } from '../core/errors.js';
import { readJson, uniqueSuffix } from './fs-util.js';
import type { Cache, StoredEntry } from './index.js';
import { forgetUsed, lastUsed } from './usage.js';

export const DAY_MS = 24 * 3600_000;

export interface ReleaseDir {
  uname: string;
  dir: string;
  /** entry.json, or null when missing or unreadable (a damaged entry). */
  stored: StoredEntry | null;
  lastUsed: Date;
}

/** Every directory under releases/ (damaged ones included), without touching the use stamps. */
export async function scanReleases(cache: Cache): Promise<ReleaseDir[]> {
  let names: string[];
  try {
    names = await fsp.readdir(cache.releasesDir);
  } catch {
    return [];
  }
  const out: ReleaseDir[] = [];
  for (const uname of names.sort()) {
    if (uname.startsWith('.')) continue;
    const dir = join(cache.releasesDir, uname);
    const stored = await readJson<StoredEntry>(join(dir, 'entry.json')).catch(() => null);
    out.push({ uname, dir, stored: stored && typeof stored.vmlinux === 'string' && Array.isArray(stored.packages) ? stored : null, lastUsed: await lastUsed(cache.root, uname, dir) });
  }
  return out;
}

export interface StoredPackage {
  sha256: string;
  path: string;
  bytes: number;
  /** ctime: when it entered the store (rename), used to spare a package a running fetch just stored. */
  storedAt: Date;
}

/** Every file in packages/sha256/ab/cd/. */
export async function scanPackages(cache: Cache): Promise<StoredPackage[]> {
  const out: StoredPackage[] = [];
  const base = join(cache.packagesDir, 'sha256');
  for (const a of await fsp.readdir(base).catch(() => [] as string[])) {
    for (const b of await fsp.readdir(join(base, a)).catch(() => [] as string[])) {
      for (const d of await fsp.readdir(join(base, a, b)).catch(() => [] as string[])) {
        const p = join(base, a, b, d);
        const st = await fsp.lstat(p).catch(() => null);
        if (st?.isFile()) out.push({ sha256: d, path: p, bytes: st.size, storedAt: st.ctime });
      }
    }
  }
  return out;
}

/** by-name/ symlinks pointing at this digest (the entry.json file name may be gone). */
export async function byNameLinks(cache: Cache, sha256: string): Promise<string[]> {
  const dir = join(cache.packagesDir, 'by-name');
  const out: string[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    const t = await fsp.readlink(join(dir, n)).catch(() => '');
    if (t.endsWith(`/${sha256}`)) out.push(n);
  }
  return out;
}

/** Remove a stored package and its by-name links (and empty fan-out directories). */
export async function removeStoredPackage(cache: Cache, sha256: string): Promise<void> {
  const names = await byNameLinks(cache, sha256);
  if (names.length === 0) await cache.removePackage(sha256, '');
  for (const n of names) await cache.removePackage(sha256, n);
}

/** Try a lock without waiting: null when another live process holds it. */
export async function tryLock(take: () => Promise<{ release(): Promise<void> }>): Promise<{ release(): Promise<void> } | null> {
  try {
    return await take();
  } catch (e) {
    if (e instanceof CacheError && /waiting for lock/.test(e.message)) return null;
    throw e;
  }
}

export const NO_WAIT = { timeoutMs: 0 } as const;

export async function tryLockRelease(cache: Cache, uname: string): Promise<{ release(): Promise<void> } | null> {
  return tryLock(() => cache.lockRelease(uname, { ...NO_WAIT, purpose: 'pruning' }));
}

export async function packageLockFree(cache: Cache, sha256: string): Promise<boolean> {
  const l = await tryLock(() => cache.lockPackage(sha256, { ...NO_WAIT, purpose: 'pruning' }));
  if (!l) return false;
  await l.release();
  return true;
}

/**
 * Make an entry directory disappear at once (rename into tmp/), then delete it, its build-id
 * index file and its use stamp. The caller holds the release lock. `stillFree`, asked after the
 * rename, closes the race with a reader that marked the entry in use just before it: when it
 * says no, the entry is renamed back and kept (false).
 */
export async function removeEntryDir(cache: Cache, r: ReleaseDir, stillFree?: () => Promise<boolean>): Promise<boolean> {
  const aside = join(cache.tmpDir, `${hostname()}-${process.pid}-rm-${uniqueSuffix()}`);
  try {
    await fsp.rename(r.dir, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw new CacheError(`cache: cannot remove ${r.dir}: ${(e as Error).message}`, { details: { path: r.dir }, hint: 'in a shared cache, the entry directory must be group-writable (see docs/batch-and-cache.md)' });
  }
  if (stillFree && !(await stillFree())) {
    await fsp.rename(aside, r.dir);
    return false;
  }
  await fsp.rm(aside, { recursive: true, force: true }).catch(() => undefined);
  const id = r.stored?.buildId;
  if (id && /^[0-9a-f]{8,128}$/.test(id)) {
    const p = join(cache.buildIdDir, id);
    const owner = await fsp.readFile(p, 'utf8').catch(() => '');
    if (owner.trim() === r.uname) await fsp.rm(p, { force: true }).catch(() => undefined);
  }
  await forgetUsed(cache.root, r.uname);
  // The module debug files analyze fetched for this release (pipeline/fetch/modules.ts) go with it.
  if (!r.uname.includes('/') && r.uname !== '..' && r.uname !== '.') await fsp.rm(join(cache.root, 'modules', r.uname), { recursive: true, force: true }).catch(() => undefined);
  return true;
}

/** Size of the buildid/ index file that goes with the entry (removed with it). */
export async function buildIdFileBytes(cache: Cache, r: ReleaseDir): Promise<number> {
  const id = r.stored?.buildId;
  if (!id || !/^[0-9a-f]{8,128}$/.test(id)) return 0;
  const p = join(cache.buildIdDir, id);
  const owner = await fsp.readFile(p, 'utf8').catch(() => '');
  return owner.trim() === r.uname ? Buffer.byteLength(owner) : 0;
}

/** Why something was removed (prune and rm report the same items). */
export type PruneReason = 'max-age' | 'max-size' | 'orphan' | 'stale-partial' | 'stale-tmp' | 'damaged' | 'idle-index' | 'rm';

export interface PrunedItem {
  kind: 'entry' | 'package' | 'partial' | 'tmp' | 'index';
  /** Release (entries), sha256 (packages, indexes), file or directory name (partial, tmp). */
  name: string;
  path: string;
  bytes: number;
  reason: PruneReason;
  /** ISO time of last use (entries only). */
  lastUsed: string | null;
}
