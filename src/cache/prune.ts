// Cache policy: `kdbg cache prune`, `kdbg cache rm`, `kdbg cache du`.
//
// Entries go least recently used first (used/<uname> stamps, see usage.ts). An entry is removed
// only while we hold its release lock, taken without waiting: an entry being fetched or
// re-published by another process (of any user, on any host sharing the cache) is skipped, never
// removed under it. Removal renames the entry directory into tmp/ first, so a reader sees either
// the whole entry or none, then deletes it. Packages in the content store go with the last entry
// that references them; orphaned packages, partial downloads and tmp/ directories are removed
// once they are older than a day (younger ones may belong to a fetch still running elsewhere)
// and their package lock is free.

import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CacheError } from '../core/errors.js';
import { exists, readJson, uniqueSuffix } from './fs-util.js';
import type { Cache, StoredEntry } from './index.js';
import { forgetUsed, lastUsed, treeSize } from './usage.js';

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
async function byNameLinks(cache: Cache, sha256: string): Promise<string[]> {
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
async function tryLock(take: () => Promise<{ release(): Promise<void> }>): Promise<{ release(): Promise<void> } | null> {
  try {
    return await take();
  } catch (e) {
    if (e instanceof CacheError && /waiting for lock/.test(e.message)) return null;
    throw e;
  }
}

const NO_WAIT = { timeoutMs: 0 } as const;

export async function tryLockRelease(cache: Cache, uname: string): Promise<{ release(): Promise<void> } | null> {
  return tryLock(() => cache.lockRelease(uname, { ...NO_WAIT, purpose: 'pruning' }));
}

async function packageLockFree(cache: Cache, sha256: string): Promise<boolean> {
  const l = await tryLock(() => cache.lockPackage(sha256, { ...NO_WAIT, purpose: 'pruning' }));
  if (!l) return false;
  await l.release();
  return true;
}

/**
 * Make an entry directory disappear at once (rename into tmp/), then delete it, its build-id
 * index file and its use stamp. The caller holds the release lock.
 */
export async function removeEntryDir(cache: Cache, r: ReleaseDir): Promise<void> {
  const aside = join(cache.tmpDir, `${hostname()}-${process.pid}-rm-${uniqueSuffix()}`);
  try {
    await fsp.rename(r.dir, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CacheError(`cache: cannot remove ${r.dir}: ${(e as Error).message}`, { details: { path: r.dir }, hint: 'in a shared cache, the entry directory must be group-writable (see docs/batch-and-cache.md)' });
  }
  await fsp.rm(aside, { recursive: true, force: true }).catch(() => undefined);
  const id = r.stored?.buildId;
  if (id && /^[0-9a-f]{8,128}$/.test(id)) {
    const p = join(cache.buildIdDir, id);
    const owner = await fsp.readFile(p, 'utf8').catch(() => '');
    if (owner.trim() === r.uname) await fsp.rm(p, { force: true }).catch(() => undefined);
  }
  await forgetUsed(cache.root, r.uname);
}

/** Size of the buildid/ index file that goes with the entry (removed with it). */
async function buildIdFileBytes(cache: Cache, r: ReleaseDir): Promise<number> {
  const id = r.stored?.buildId;
  if (!id || !/^[0-9a-f]{8,128}$/.test(id)) return 0;
  const p = join(cache.buildIdDir, id);
  const owner = await fsp.readFile(p, 'utf8').catch(() => '');
  return owner.trim() === r.uname ? Buffer.byteLength(owner) : 0;
}

// ---- prune --------------------------------------------------------------------------------------

export interface PruneOptions {
  /** Remove LRU entries until the whole cache is at most this many bytes. */
  maxSizeBytes?: number;
  /** Remove entries not used for longer than this. */
  maxAgeMs?: number;
  dryRun?: boolean;
  now?: Date;
  /** Age after which orphaned packages, partial downloads and tmp/ directories are stale (default 1 day). */
  staleMs?: number;
}

export type PruneReason = 'max-age' | 'max-size' | 'orphan' | 'stale-partial' | 'stale-tmp' | 'damaged' | 'rm';

export interface PrunedItem {
  kind: 'entry' | 'package' | 'partial' | 'tmp';
  /** Release (entries), sha256 (packages), file or directory name (partial, tmp). */
  name: string;
  path: string;
  bytes: number;
  reason: PruneReason;
  /** ISO time of last use (entries only). */
  lastUsed: string | null;
}

export interface PruneReport {
  dryRun: boolean;
  removed: PrunedItem[];
  /** Entries that qualified but were left alone. */
  skipped: Array<{ release: string; reason: 'in-use' | 'used-meanwhile' }>;
  freedBytes: number;
  beforeBytes: number;
  afterBytes: number;
}

export async function pruneCache(cache: Cache, opts: PruneOptions = {}): Promise<PruneReport> {
  const now = (opts.now ?? new Date()).getTime();
  const staleMs = opts.staleMs ?? DAY_MS;
  const dryRun = opts.dryRun ?? false;
  const removed: PrunedItem[] = [];
  const skipped: PruneReport['skipped'] = [];
  const beforeBytes = (await treeSize(cache.root)).bytes;
  let total = beforeBytes;
  const note = (item: PrunedItem): void => {
    removed.push(item);
    total -= item.bytes;
  };

  // 1. Stale partial downloads (<key>.part + <key>.json) whose package lock is free.
  const partialNames = await fsp.readdir(cache.partialDir).catch(() => [] as string[]);
  const keys = new Set(partialNames.filter((n) => n.endsWith('.part') || n.endsWith('.json')).map((n) => n.replace(/\.(part|json)$/, '')));
  for (const key of [...keys].sort()) {
    const files = [`${key}.part`, `${key}.json`].map((n) => join(cache.partialDir, n));
    const stats = (await Promise.all(files.map((f) => fsp.stat(f).catch(() => null)))).filter((s) => s !== null);
    if (stats.length === 0 || stats.some((s) => now - s.mtimeMs < staleMs)) continue;
    if (!(await packageLockFree(cache, key))) continue;
    const bytes = stats.reduce((a, s) => a + s.size, 0);
    if (!dryRun) for (const f of files) await fsp.rm(f, { force: true }).catch(() => undefined);
    note({ kind: 'partial', name: key, path: files[0]!, bytes, reason: 'stale-partial', lastUsed: null });
  }

  // 2. tmp/ leftovers older than staleMs (a live fetch's staging dir is younger: its files are
  //    being written; Cache.open already sweeps this host's dead-pid leftovers at once).
  for (const n of await fsp.readdir(cache.tmpDir).catch(() => [] as string[])) {
    const p = join(cache.tmpDir, n);
    const st = await fsp.lstat(p).catch(() => null);
    if (!st || now - st.mtimeMs < staleMs) continue;
    const bytes = (await treeSize(p)).bytes;
    if (!dryRun) await fsp.rm(p, { recursive: true, force: true }).catch(() => undefined);
    note({ kind: 'tmp', name: n, path: p, bytes, reason: 'stale-tmp', lastUsed: null });
  }

  // 3. Entries and the packages they reference.
  const releases = await scanReleases(cache);
  const packages = await scanPackages(cache);
  const refs = new Map<string, Set<string>>();
  for (const r of releases) for (const p of r.stored?.packages ?? []) if (p.sha256) (refs.get(p.sha256) ?? refs.set(p.sha256, new Set()).get(p.sha256)!).add(r.uname);
  const pkgBySha = new Map(packages.map((p) => [p.sha256, p]));

  // Orphans: referenced by no entry, old enough not to belong to a fetch about to publish.
  for (const p of packages) {
    if (refs.has(p.sha256) || now - p.storedAt.getTime() < staleMs) continue;
    if (!(await packageLockFree(cache, p.sha256))) continue;
    if (!dryRun) await removeStoredPackage(cache, p.sha256);
    note({ kind: 'package', name: p.sha256, path: p.path, bytes: p.bytes, reason: 'orphan', lastUsed: null });
  }

  // by-name links whose package is gone (removed by verify or --no-keep-packages) mislead nobody
  // (findPackage stats the target) but are clutter: drop them.
  if (!dryRun) {
    const byName = join(cache.packagesDir, 'by-name');
    for (const n of await fsp.readdir(byName).catch(() => [] as string[])) {
      const link = join(byName, n);
      if ((await fsp.lstat(link).catch(() => null))?.isSymbolicLink() && !(await fsp.stat(link).then(() => true, () => false))) {
        await fsp.rm(link, { force: true }).catch(() => undefined);
      }
    }
  }

  const removeEntry = async (r: ReleaseDir, reason: PruneReason): Promise<boolean> => {
    const lock = await tryLockRelease(cache, r.uname);
    if (!lock) {
      skipped.push({ release: r.uname, reason: 'in-use' });
      return false;
    }
    try {
      // A cache hit does not lock: it may have happened since we read the stamp.
      const used = await lastUsed(cache.root, r.uname, r.dir);
      if (used.getTime() > r.lastUsed.getTime()) {
        skipped.push({ release: r.uname, reason: 'used-meanwhile' });
        return false;
      }
      const bytes = (await treeSize(r.dir)).bytes + (await buildIdFileBytes(cache, r));
      if (!dryRun) await removeEntryDir(cache, r);
      note({ kind: 'entry', name: r.uname, path: r.dir, bytes, reason, lastUsed: r.lastUsed.toISOString() });
      // Its packages go too once no remaining entry references them.
      for (const p of r.stored?.packages ?? []) {
        const holders = refs.get(p.sha256);
        holders?.delete(r.uname);
        const stored = pkgBySha.get(p.sha256);
        if (holders && holders.size === 0 && stored) {
          pkgBySha.delete(p.sha256);
          if (!dryRun) await removeStoredPackage(cache, p.sha256);
          note({ kind: 'package', name: p.sha256, path: stored.path, bytes: stored.bytes, reason, lastUsed: null });
        }
      }
      return true;
    } finally {
      await lock.release();
    }
  };

  const lru = [...releases].sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime() || a.uname.localeCompare(b.uname));
  const gone = new Set<string>();
  for (const r of lru) {
    // A directory without a readable entry.json is a dead publish; give a running one a day.
    if (r.stored === null && now - r.lastUsed.getTime() >= staleMs) {
      if (await removeEntry(r, 'damaged')) gone.add(r.uname);
    }
  }
  if (opts.maxAgeMs !== undefined) {
    for (const r of lru) {
      if (gone.has(r.uname) || now - r.lastUsed.getTime() <= opts.maxAgeMs) continue;
      if (await removeEntry(r, 'max-age')) gone.add(r.uname);
    }
  }
  if (opts.maxSizeBytes !== undefined) {
    for (const r of lru) {
      if (total <= opts.maxSizeBytes) break;
      if (gone.has(r.uname)) continue;
      if (await removeEntry(r, 'max-size')) gone.add(r.uname);
    }
  }
  const afterBytes = dryRun ? total : (await treeSize(cache.root)).bytes;
  return { dryRun, removed, skipped, freedBytes: beforeBytes - total, beforeBytes, afterBytes };
}

// ---- rm -------------------------------------------------------------------------------------------

export interface RemoveResult {
  release: string;
  removed: PrunedItem[];
}

/**
 * Remove one release entry (and the packages no other entry references). Waits up to
 * `lockTimeoutMs` (default 10 s) for a fetch of the same release to finish; then CacheError (74).
 * Returns null when the release has no entry.
 */
export async function removeRelease(cache: Cache, uname: string, opts: { lockTimeoutMs?: number } = {}): Promise<RemoveResult | null> {
  const dir = cache.entryDir(uname);
  if (!(await exists(dir))) return null;
  const lock = await cache.lockRelease(uname, { timeoutMs: opts.lockTimeoutMs ?? 10_000, purpose: 'removing' });
  try {
    const all = await scanReleases(cache);
    const r = all.find((x) => x.uname === uname);
    if (!r) return null;
    const removed: PrunedItem[] = [{ kind: 'entry', name: uname, path: dir, bytes: (await treeSize(dir)).bytes + (await buildIdFileBytes(cache, r)), reason: 'rm', lastUsed: r.lastUsed.toISOString() }];
    await removeEntryDir(cache, r);
    const stillUsed = new Set(all.filter((x) => x.uname !== uname).flatMap((x) => (x.stored?.packages ?? []).map((p) => p.sha256)));
    const stored = new Map((await scanPackages(cache)).map((p) => [p.sha256, p]));
    for (const p of r.stored?.packages ?? []) {
      const s = stored.get(p.sha256);
      if (!s || stillUsed.has(p.sha256)) continue;
      await removeStoredPackage(cache, p.sha256);
      stored.delete(p.sha256);
      removed.push({ kind: 'package', name: p.sha256, path: s.path, bytes: s.bytes, reason: 'rm', lastUsed: null });
    }
    return { release: uname, removed };
  } finally {
    await lock.release();
  }
}

// ---- du -------------------------------------------------------------------------------------------

export interface CacheUsage {
  root: string;
  /** Sum of the apparent sizes of every regular file under root, each inode once. */
  totalBytes: number;
  entries: Array<{ release: string; bytes: number; files: number; lastUsed: string; packagesBytes: number }>;
  releasesBytes: number;
  packages: { bytes: number; count: number; orphanBytes: number; orphanCount: number };
  partial: { bytes: number; count: number };
  tmp: { bytes: number; count: number };
  /** CACHEDIR.TAG, buildid/, used/, locks/ and anything else. */
  otherBytes: number;
}

export async function cacheUsage(cache: Cache): Promise<CacheUsage> {
  const seen = new Set<string>();
  const releases = await scanReleases(cache);
  const entries: CacheUsage['entries'] = [];
  const packages = await scanPackages(cache);
  const pkgBytes = new Map(packages.map((p) => [p.sha256, p.bytes]));
  const referenced = new Set<string>();
  let releasesBytes = 0;
  for (const r of releases) {
    const s = await treeSize(r.dir, seen);
    releasesBytes += s.bytes;
    const shas = [...new Set((r.stored?.packages ?? []).map((p) => p.sha256))];
    for (const sha of shas) referenced.add(sha);
    entries.push({ release: r.uname, bytes: s.bytes, files: s.files, lastUsed: r.lastUsed.toISOString(), packagesBytes: shas.reduce((a, sha) => a + (pkgBytes.get(sha) ?? 0), 0) });
  }
  // Count releases/ leftovers (e.g. dot-files) too, so the sections add up to the total.
  releasesBytes += (await treeSize(cache.releasesDir, seen)).bytes;
  const pk = await treeSize(cache.packagesDir, seen);
  const orphans = packages.filter((p) => !referenced.has(p.sha256));
  const partialNames = await fsp.readdir(cache.partialDir).catch(() => [] as string[]);
  const partial = await treeSize(cache.partialDir, seen);
  const tmpNames = await fsp.readdir(cache.tmpDir).catch(() => [] as string[]);
  const tmp = await treeSize(cache.tmpDir, seen);
  const rest = await treeSize(cache.root, seen);
  return {
    root: cache.root,
    totalBytes: releasesBytes + pk.bytes + partial.bytes + tmp.bytes + rest.bytes,
    entries,
    releasesBytes,
    packages: { bytes: pk.bytes, count: packages.length, orphanBytes: orphans.reduce((a, p) => a + p.bytes, 0), orphanCount: orphans.length },
    partial: { bytes: partial.bytes, count: partialNames.filter((n) => n.endsWith('.part')).length },
    tmp: { bytes: tmp.bytes, count: tmpNames.length },
    otherBytes: rest.bytes,
  };
}

// ---- size and duration flags ----------------------------------------------------------------------

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `50G`, `512M`, `1.5T`, `2GiB`, `1000` (bytes). Binary units (K = 1024). null when unparseable. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text) ?? /^\s*(\d+)\s*(b)\s*$/i.exec(text);
  if (!m) return null;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isFinite(n) ? Math.floor(n) : null;
}

const AGE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: DAY_MS, w: 7 * DAY_MS };

/** `30d`, `12h`, `2w`, `90m`, `45s`. null when unparseable. */
export function parseAge(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) return null;
  const unit = AGE_UNITS[(m[2] ?? '').toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}
