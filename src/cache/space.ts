// Free space on the cache's file system: checked before a download whose size is known, and
// named in the one line an ENOSPC gives, so an operator reads how much is needed, not only that
// the disk is full (design/faults-found.md, "fell short" 5).

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CacheError } from '../core/errors.js';

/** Bytes available to this user on the file system holding `path` (or its nearest existing parent); null if unknown. */
export function freeBytes(path: string): number | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

export function mib(n: number): string {
  return n >= 10 << 20 ? `${Math.round(n / 2 ** 20)} MiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Throw a CacheError (exit 74) before any byte is fetched when `bytes` cannot fit under `root`. */
export function ensureFreeSpace(root: string, bytes: number, what: string): void {
  const free = freeBytes(root);
  if (free === null || free >= bytes) return;
  throw new CacheError(`cache: ${root}: ${mib(free)} free, ${what} needs at least ${mib(bytes)}`, {
    details: { path: root, freeBytes: free, neededBytes: bytes },
    hint: 'free space there (kdbg cache prune --max-size …) or pick another cache with --cache-dir',
  });
}
