// `kdbg cache verify`: re-hash what the cache holds against the provenance it recorded.
//
// - every release entry's vmlinux against entry.json's vmlinuxSha256 (the digest taken while the
//   vmlinux was extracted from a package whose own sha256 had been checked against the index),
//   and a SUSE entry's vmlinux.image against imageSha256 (taken as it was decompressed);
// - every file in the content store against its name, which is its sha256.
// A bad entry is removed whole (the next fetch rebuilds it), under its release lock taken without
// waiting; an entry another process is fetching right now is reported and left to that process,
// which replaces it. A bad package is removed from the store. Source trees and module debug files
// carry no per-file digest in entry.json and are not re-hashed.

import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { Cache } from './index.js';
import { removeEntryDir, removeStoredPackage, scanPackages, scanReleases, tryLockRelease } from './inventory.js';

export interface VerifyProblem {
  kind: 'entry' | 'package';
  /** Release (entries) or sha256 (packages). */
  name: string;
  path: string;
  problem: 'digest-mismatch' | 'missing-vmlinux' | 'missing-image' | 'unreadable-entry';
  expected: string | null;
  actual: string | null;
  removed: boolean;
}

export interface VerifyReport {
  entries: number;
  packages: number;
  bytesHashed: number;
  /** Entries whose entry.json records no vmlinux digest (nothing to check against). */
  unverifiable: string[];
  bad: VerifyProblem[];
}

export async function sha256OfFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

export interface VerifyOptions {
  /** Remove bad entries and packages (default true). */
  remove?: boolean;
  onItem?: (kind: 'entry' | 'package', name: string, ok: boolean) => void;
}

export async function verifyCache(cache: Cache, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const remove = opts.remove ?? true;
  const report: VerifyReport = { entries: 0, packages: 0, bytesHashed: 0, unverifiable: [], bad: [] };

  for (const r of await scanReleases(cache)) {
    report.entries++;
    let problem: VerifyProblem | null = null;
    if (r.stored === null) {
      // A publish renames a complete directory with entry.json in it; without one it is debris.
      problem = { kind: 'entry', name: r.uname, path: r.dir, problem: 'unreadable-entry', expected: null, actual: null, removed: false };
    } else {
      const vmlinux = resolve(r.dir, r.stored.vmlinux);
      const expected = r.stored.vmlinuxSha256 || null;
      let actual: string | null = null;
      try {
        const h = await sha256OfFile(vmlinux);
        actual = h.sha256;
        report.bytesHashed += h.bytes;
      } catch {
        problem = { kind: 'entry', name: r.uname, path: vmlinux, problem: 'missing-vmlinux', expected, actual: null, removed: false };
      }
      if (!problem && expected === null) report.unverifiable.push(r.uname);
      else if (!problem && actual !== expected) problem = { kind: 'entry', name: r.uname, path: vmlinux, problem: 'digest-mismatch', expected, actual, removed: false };
      // SUSE: the stripped image crash loads beside the debug-only vmlinux, when its digest was kept.
      const imageSha = r.stored.image && r.stored.imageSha256 ? r.stored.imageSha256 : null;
      if (!problem && imageSha) {
        const image = resolve(r.dir, r.stored.image!);
        try {
          const h = await sha256OfFile(image);
          report.bytesHashed += h.bytes;
          if (h.sha256 !== imageSha) problem = { kind: 'entry', name: r.uname, path: image, problem: 'digest-mismatch', expected: imageSha, actual: h.sha256, removed: false };
        } catch {
          problem = { kind: 'entry', name: r.uname, path: image, problem: 'missing-image', expected: imageSha, actual: null, removed: false };
        }
      }
    }
    opts.onItem?.('entry', r.uname, problem === null);
    if (!problem) continue;
    if (remove) {
      const lock = await tryLockRelease(cache, r.uname);
      if (lock) {
        try {
          await removeEntryDir(cache, r);
          problem.removed = true;
        } finally {
          await lock.release();
        }
      }
    }
    report.bad.push(problem);
  }

  for (const p of await scanPackages(cache)) {
    report.packages++;
    let actual: string | null = null;
    try {
      const h = await sha256OfFile(p.path);
      actual = h.sha256;
      report.bytesHashed += h.bytes;
    } catch {
      continue; // removed by a concurrent prune between the scan and now
    }
    const ok = actual === p.sha256;
    opts.onItem?.('package', p.sha256, ok);
    if (ok) continue;
    // The content store is keyed by digest: a wrong file there is wrong for every entry using it.
    if (remove) await removeStoredPackage(cache, p.sha256);
    report.bad.push({ kind: 'package', name: p.sha256, path: p.path, problem: 'digest-mismatch', expected: p.sha256, actual, removed: remove && !(await fsp.stat(p.path).then(() => true, () => false)) });
  }
  return report;
}
