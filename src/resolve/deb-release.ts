// A Debian suite's Release file: which index files the suite has, with their SHA256 and size.
// kdbg reads the unsigned `Release` (always published beside InRelease) and does not check the
// signature; the digests name the indexes in the cache (index-cache.ts) and let kdbg skip index
// names the suite does not have (no 404 for Packages.xz on a suite that only has Packages.gz).

import { readValidated, type IndexCacheOptions } from './index-cache.js';

export interface ReleaseDigest {
  sha256: string;
  size: number;
}

/** The `SHA256:` list of a Release/InRelease text: path (relative to dists/<suite>/) → digest. */
export function parseReleaseSha256(text: string): Map<string, ReleaseDigest> {
  const out = new Map<string, ReleaseDigest>();
  let inSha = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inSha = /^SHA256:\s*$/.test(line);
      continue;
    }
    if (!inSha) continue;
    const m = /^\s+([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) out.set(m[3]!, { sha256: m[1]!.toLowerCase(), size: Number(m[2]) });
  }
  return out;
}

/** The digests of `<suiteBase>Release`, or null when it cannot be read or lists none. */
export async function releaseDigests(suiteBase: string, o: IndexCacheOptions): Promise<Map<string, ReleaseDigest> | null> {
  const body = await readValidated(`${suiteBase}Release`, o);
  if (typeof body === 'string') return null;
  const m = parseReleaseSha256(body.toString('utf8'));
  return m.size > 0 ? m : null;
}
