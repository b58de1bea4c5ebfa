// `kdbg cache rm`: one release's entry.

import { exists } from './fs-util.js';
import type { Cache } from './index.js';
import { treeSize } from './usage.js';
import { buildIdFileBytes, type PrunedItem, removeEntryDir, removeStoredPackage, scanPackages, scanReleases } from './inventory.js';

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
