// `kdbg cache du`: what the cache holds, by kind.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Cache } from './index.js';
import { treeSize } from './usage.js';
import { scanPackages, scanReleases } from './inventory.js';
import { metaUsage, type MetaUsage } from './meta-usage.js';

export interface CacheUsage {
  root: string;
  /** Sum of the apparent sizes of every regular file under root, each inode once. */
  totalBytes: number;
  entries: Array<{ release: string; bytes: number; files: number; lastUsed: string; packagesBytes: number }>;
  releasesBytes: number;
  packages: { bytes: number; count: number; orphanBytes: number; orphanCount: number };
  partial: { bytes: number; count: number };
  tmp: { bytes: number; count: number };
  /** meta/: repository indexes kept by checksum, and the archives' answers. */
  meta: MetaUsage;
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
  await treeSize(join(cache.root, 'meta'), seen);
  const meta = await metaUsage(cache.root);
  const rest = await treeSize(cache.root, seen);
  return {
    root: cache.root,
    totalBytes: releasesBytes + pk.bytes + partial.bytes + tmp.bytes + meta.bytes + rest.bytes,
    entries,
    releasesBytes,
    packages: { bytes: pk.bytes, count: packages.length, orphanBytes: orphans.reduce((a, p) => a + p.bytes, 0), orphanCount: orphans.length },
    partial: { bytes: partial.bytes, count: partialNames.filter((n) => n.endsWith('.part')).length },
    tmp: { bytes: tmp.bytes, count: tmpNames.length },
    meta,
    otherBytes: rest.bytes,
  };
}
