// Small file-system primitives the cache is built from. Every publish is "write a temporary name
// in the same file system, fsync, rename": a reader sees either nothing or the whole thing.

import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { freeBytes, mib } from './space.js';
import { CacheError } from '../core/errors.js';

/** Wrap an fs failure into a one-line CacheError that names the path (exit 74). */
export function cacheIoError(what: string, path: string, e: unknown): CacheError {
  const err = e as NodeJS.ErrnoException;
  const perm = err.code === 'EACCES' || err.code === 'EPERM';
  const full = err.code === 'ENOSPC' || err.code === 'EDQUOT';
  const free = full ? freeBytes(path) : null;
  const hint = perm
    ? 'check the permissions of the cache directory, or pick another with --cache-dir'
    : full
      ? 'free space there (kdbg cache prune --max-size …) or pick another cache with --cache-dir; what was downloaded is kept and the next run resumes'
      : err.code === 'EROFS'
        ? 'the cache is on a read-only file system: pick a writable one with --cache-dir'
        : undefined;
  return new CacheError(`cache: cannot ${what} ${path}: ${err.message ?? String(e)}${free !== null ? ` (${mib(free)} free there)` : ''}`, {
    cause: e,
    details: { path, errno: err.code ?? null, ...(free !== null ? { freeBytes: free } : {}) },
    ...(hint ? { hint } : {}),
  });
}

/** `<host>-<pid>.<hex>`: unique, and tells sweep.ts whose leftover a temp name is. */
export function uniqueSuffix(): string {
  return `${hostname()}-${process.pid}.${randomBytes(6).toString('hex')}`;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** fsync a directory so a rename inside it survives a power cut (best effort: some FS refuse). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch {
    // Directories cannot be fsynced on every file system (e.g. some network mounts); the rename
    // itself is still atomic, only its durability across a crash is weaker there.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await fsp.open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a small file atomically (tmp in the same dir, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${uniqueSuffix()}.tmp`);
  try {
    const fh = await fsp.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw cacheIoError('write', path, e);
  }
  await fsyncDir(dirname(path));
}

export async function readJson<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cacheIoError('read', path, e);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // A torn or foreign file is treated as absent: the cache rebuilds it rather than failing.
    return null;
  }
}

/** fsyncs in flight at once: each is an open/fsync/close through libuv's pool. */
const FSYNC_CONCURRENCY = 16;

/**
 * fsync every regular file below dir, then the directories deepest first. Concurrently: a source
 * tree is tens of thousands of files and one at a time is mostly waiting (8,000 files of
 * /usr/include: 2.5 s one by one).
 */
/** Wall time this process spent in fsyncTree (the fetch timings' `fsyncMs`, pipeline/timings.ts). */
export const fsyncClock = { ms: 0 };

export async function fsyncTree(dir: string): Promise<void> {
  const t0 = Date.now();
  try {
    await fsyncTreeUntimed(dir);
  } finally {
    fsyncClock.ms += Date.now() - t0;
  }
}

async function fsyncTreeUntimed(dir: string): Promise<void> {
  const files: string[] = [];
  const dirs: { path: string; depth: number }[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    dirs.push({ path: d, depth });
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (e.isFile()) files.push(p);
    }
  };
  await walk(dir, 0);
  await eachLimited(files, fsyncFile);
  // A directory after everything in it, so a rename of the tree publishes only synced entries.
  const byDepth = new Map<number, string[]>();
  for (const d of dirs) byDepth.set(d.depth, [...(byDepth.get(d.depth) ?? []), d.path]);
  for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) await eachLimited(byDepth.get(depth)!, fsyncDir);
}

/** Run `fn` over `items`, FSYNC_CONCURRENCY at a time. */
async function eachLimited(items: readonly string[], fn: (item: string) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the warm-cache fetch path imports this module and loads nothing
  // from node_modules (test/cli/warm-fetch.test.ts).
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(FSYNC_CONCURRENCY);
  await Promise.all(items.map((item) => limit(() => fn(item))));
}
