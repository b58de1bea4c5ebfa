// Cache policy: `kdbg cache prune`, `kdbg cache rm`, `kdbg cache du`.
//
// Entries go least recently used first (used/<uname> stamps, see usage.ts). An entry is removed
// only while we hold its release lock, taken without waiting: an entry being fetched or
// re-published by another process (of any user, on any host sharing the cache) is skipped, never
// removed under it. Removal renames the entry directory into tmp/ first, so a reader sees either
// the whole entry or none, then deletes it. Packages in the content store go with the last entry
// that references them; orphaned packages, partial downloads and tmp/ directories are removed
// once they are older than a day (younger ones may belong to a fetch still running elsewhere)
// and their package lock is free. Repository indexes kept in meta/index go when idle for two
// weeks, and first under --max-size (meta-usage.ts).
//
// Files: inventory.ts (entries and packages on disk, removal under locks), remove.ts (rm), du.ts
// (du), units.ts (size and age flags); prune itself is here.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Cache } from './index.js';
import { entryUsers } from './in-use.js';
import { lastUsed, treeSize } from './usage.js';
import { INDEX_IDLE_MS, removeIndexFiles, scanIndexFiles } from './meta-usage.js';
import { buildIdFileBytes, DAY_MS, packageLockFree, type PrunedItem, type PruneReason, type ReleaseDir, removeEntryDir, removeStoredPackage, scanPackages, scanReleases, tryLockRelease } from './inventory.js';

export { DAY_MS, type PrunedItem, type PruneReason, type ReleaseDir, scanReleases, type StoredPackage, scanPackages, removeStoredPackage, tryLockRelease, removeEntryDir } from './inventory.js';
export { type RemoveResult, removeRelease } from './remove.js';
export { type CacheUsage, cacheUsage } from './du.js';
export { parseSize, parseAge } from './units.js';

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

  // 3. Repository indexes (meta/index) not read for INDEX_IDLE_MS (or --max-age, if shorter):
  //    superseded revisions. Under --max-size the rest go least recently used first, before any
  //    entry: an index costs one request to read again, an entry a package download.
  const indexes = await scanIndexFiles(cache.root);
  const idleMs = Math.min(INDEX_IDLE_MS, opts.maxAgeMs ?? Infinity);
  const keptIndexes: typeof indexes = [];
  for (const g of indexes) {
    if (now - g.lastUsed.getTime() <= idleMs) {
      keptIndexes.push(g);
      continue;
    }
    if (!dryRun) await removeIndexFiles(g);
    note({ kind: 'index', name: g.sha256, path: g.paths[0]!, bytes: g.bytes, reason: 'idle-index', lastUsed: g.lastUsed.toISOString() });
  }
  if (opts.maxSizeBytes !== undefined) {
    for (const g of keptIndexes) {
      if (total <= opts.maxSizeBytes) break;
      if (!dryRun) await removeIndexFiles(g);
      note({ kind: 'index', name: g.sha256, path: g.paths[0]!, bytes: g.bytes, reason: 'max-size', lastUsed: g.lastUsed.toISOString() });
    }
  }

  // 4. Entries and the packages they reference.
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
      // A crash session reading it (kdbg analyze, watch --analyze) holds it in use.
      const unused = async (): Promise<boolean> => (await entryUsers(cache, r.uname)).length === 0;
      if (!(await unused())) {
        skipped.push({ release: r.uname, reason: 'in-use' });
        return false;
      }
      const bytes = (await treeSize(r.dir)).bytes + (await buildIdFileBytes(cache, r));
      if (!dryRun && !(await removeEntryDir(cache, r, unused))) {
        skipped.push({ release: r.uname, reason: 'in-use' });
        return false;
      }
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
