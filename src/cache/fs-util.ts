// Small file-system primitives the cache is built from. Every publish is "write a temporary name
// in the same file system, fsync, rename": a reader sees either nothing or the whole thing.

import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { CacheError } from '../core/errors.js';

/** Wrap an fs failure into a one-line CacheError that names the path (exit 74). */
export function cacheIoError(what: string, path: string, e: unknown): CacheError {
  const err = e as NodeJS.ErrnoException;
  const perm = err.code === 'EACCES' || err.code === 'EPERM';
  return new CacheError(`cache: cannot ${what} ${path}: ${err.message ?? String(e)}`, {
    cause: e,
    details: { path, errno: err.code ?? null },
    ...(perm ? { hint: 'check the permissions of the cache directory, or pick another with --cache-dir' } : {}),
  });
}

export function uniqueSuffix(): string {
  return `${process.pid}.${randomBytes(6).toString('hex')}`;
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

/** fsync every regular file below dir, then the directories bottom-up. */
export async function fsyncTree(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await fsyncTree(p);
    else if (e.isFile()) await fsyncFile(p);
  }
  await fsyncDir(dir);
}
