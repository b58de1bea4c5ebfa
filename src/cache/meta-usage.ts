// What <root>/meta holds and which of it prune may drop. Two kinds:
//   meta/index/<sha256>[.<kind>]  repository indexes as served (index-store.ts), named by the
//                                 checksum the repository published. Every new index revision of a
//                                 suite adds one (a Packages.xz is MBs, a primary.xml tens of MBs),
//                                 and an old revision is never asked for again once the repository
//                                 names a new checksum: without pruning, meta/ grows for ever on a
//                                 host that fetches for a year. Each read renews the file's mtime,
//                                 so the mtime is its last use.
//   meta/<service>/<key>.json     the archives' answers (meta.ts): small, and what they say about a
//                                 published file never changes; kept.
// Index files are cheap to read again from the mirror, entries are not: under --max-size, indexes
// go first, least recently used first; any index unused for INDEX_IDLE_MS goes on every prune.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { treeSize } from './usage.js';

/** An index not read for this long belongs to a superseded repository revision. */
export const INDEX_IDLE_MS = 14 * 24 * 3600 * 1000;

export interface StoredIndex {
  sha256: string;
  /** The index file and the sidecars parsed from it. */
  paths: string[];
  bytes: number;
  lastUsed: Date;
}

export interface MetaUsage {
  bytes: number;
  files: number;
  index: { bytes: number; count: number };
  /** The archive services' answers (Debian snapshot, Launchpad, index validators). */
  answers: { bytes: number; files: number };
}

/** The index files under meta/index, grouped with their sidecars (a sidecar alone is a group too). */
export async function scanIndexFiles(root: string): Promise<StoredIndex[]> {
  const dir = join(root, 'meta', 'index');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const groups = new Map<string, StoredIndex>();
  for (const n of names) {
    const m = /^([0-9a-f]{64})(?:\.[a-z0-9-]+)?$/.exec(n);
    if (!m) continue;
    const st = await fsp.lstat(join(dir, n)).catch(() => null);
    if (!st?.isFile()) continue;
    const g = groups.get(m[1]!) ?? { sha256: m[1]!, paths: [], bytes: 0, lastUsed: new Date(0) };
    g.paths.push(join(dir, n));
    g.bytes += st.size;
    if (st.mtimeMs > g.lastUsed.getTime()) g.lastUsed = new Date(st.mtimeMs);
    groups.set(g.sha256, g);
  }
  return [...groups.values()].sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime() || a.sha256.localeCompare(b.sha256));
}

export async function metaUsage(root: string): Promise<MetaUsage> {
  const all = await treeSize(join(root, 'meta'));
  const idx = await scanIndexFiles(root);
  const index = { bytes: idx.reduce((a, g) => a + g.bytes, 0), count: idx.length };
  return { bytes: all.bytes, files: all.files, index, answers: { bytes: all.bytes - index.bytes, files: all.files - idx.reduce((a, g) => a + g.paths.length, 0) } };
}

/** Remove one stored index and its sidecars (a reader that loses the race reads the mirror again). */
export async function removeIndexFiles(g: StoredIndex): Promise<void> {
  for (const p of g.paths) await fsp.rm(p, { force: true }).catch(() => undefined);
}
