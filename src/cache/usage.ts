// Last-use stamps and disk usage of the cache.
//
//   <root>/used/<uname>    empty file; its mtime is when the release entry was last used
//
// The stamp lives outside releases/<uname>/ because an entry directory is replaced whole by a
// rename when it is re-published; a stamp inside it would be reset. Touching is concurrency-safe
// without a lock: utimes and rename are atomic, and the last writer winning is what "last use"
// means. In a cache shared by several users, utimes with an explicit time is refused (EPERM) on
// another user's stamp, so we then replace the stamp by a fresh file and a rename, which only
// needs write permission on the (group-writable) used/ directory.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { uniqueSuffix } from './fs-util.js';

// Same rule as isSafeName in index.ts (kept here so index.ts can import this module without a cycle).
const isSafe = (name: string): boolean => name.length > 0 && name.length <= 200 && !name.includes('/') && !name.includes('\0') && name !== '.' && name !== '..' && !name.startsWith('.');

export function usedDir(root: string): string {
  return join(root, 'used');
}

/** Record "used now" for a release entry. Best effort: a read-only cache still answers. */
export async function touchUsed(root: string, uname: string, when: Date = new Date()): Promise<void> {
  if (!isSafe(uname)) return;
  const dir = usedDir(root);
  const stamp = join(dir, uname);
  try {
    await fsp.utimes(stamp, when, when);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM' && code !== 'EACCES') return;
  }
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o775 });
    const tmp = join(dir, `.${uniqueSuffix()}.tmp`);
    const fh = await fsp.open(tmp, 'wx', 0o664);
    await fh.close();
    await fsp.utimes(tmp, when, when);
    await fsp.rename(tmp, stamp);
  } catch {
    // A cache the user may read but not write: the stamp is an optimisation for prune only.
  }
}

/** When the entry was last used: its stamp, else the entry directory's mtime (publish time). */
export async function lastUsed(root: string, uname: string, entryDir: string): Promise<Date> {
  try {
    return (await fsp.stat(join(usedDir(root), uname))).mtime;
  } catch {
    try {
      return (await fsp.stat(entryDir)).mtime;
    } catch {
      return new Date(0);
    }
  }
}

export async function forgetUsed(root: string, uname: string): Promise<void> {
  if (!isSafe(uname)) return;
  await fsp.rm(join(usedDir(root), uname), { force: true }).catch(() => undefined);
}

export interface TreeSize {
  /** Sum of the apparent sizes (st.size) of the regular files, each inode counted once. */
  bytes: number;
  files: number;
}

/**
 * Apparent size of a tree (symlinks not followed). `seen` holds dev:ino of files already counted
 * so hard links (an entry re-published with files linked from its predecessor) count once.
 */
export async function treeSize(p: string, seen: Set<string> = new Set()): Promise<TreeSize> {
  const out: TreeSize = { bytes: 0, files: 0 };
  let st;
  try {
    st = await fsp.lstat(p);
  } catch {
    return out;
  }
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = await fsp.readdir(p);
    } catch {
      return out;
    }
    for (const n of names) {
      const s = await treeSize(join(p, n), seen);
      out.bytes += s.bytes;
      out.files += s.files;
    }
  } else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.bytes += st.size;
      out.files += 1;
    }
  }
  return out;
}

/**
 * In a group-shared cache, make a tree about to be published usable by every member: directories
 * group-writable and setgid (2775-style), files group-readable/-writable like their owner bits.
 * The extractor creates directories with the package's modes (0755); without this another member
 * could not rename or delete the entry (renaming a directory needs write on the directory itself).
 */
export async function shareTree(p: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(p);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) return;
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) {
    if ((mode & 0o2070) !== 0o2070) await fsp.chmod(p, mode | 0o2070).catch(() => undefined);
    for (const n of await fsp.readdir(p).catch(() => [] as string[])) await shareTree(join(p, n));
  } else if (st.isFile()) {
    const want = mode | ((mode & 0o600) >> 3);
    if (want !== mode) await fsp.chmod(p, want).catch(() => undefined);
  }
}
