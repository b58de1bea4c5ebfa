// "In use" marks on release entries: a `crash` session (kdbg analyze, watch --analyze) holds one
// on the entry whose vmlinux it reads, so `kdbg cache prune` on the same cache, from any process
// or host, skips that entry instead of deleting it under the session (issue 18). Shared holds,
// see acquireShared in lock.ts.
//
//   <root>/locks/use-<uname>/<host>-<pid>-<id>.use

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { acquireShared, liveSharedHolders, type Lock, type LockInfo } from './lock.js';

interface HasLocksDir {
  locksDir: string;
}

const useDir = (cache: HasLocksDir, uname: string): string => join(cache.locksDir, `use-${uname}`);
const safe = (uname: string): boolean => uname.length > 0 && uname.length <= 200 && !uname.includes('/') && !uname.includes('\0') && !uname.startsWith('.');

/** Mark the entry `uname` in use until the returned hold is released. */
export async function holdEntryInUse(cache: HasLocksDir, uname: string, purpose: string): Promise<Lock> {
  if (!safe(uname)) throw new Error(`not a release name: ${JSON.stringify(uname)}`);
  const dir = useDir(cache, uname);
  const hold = await acquireShared(dir, { purpose });
  return {
    path: hold.path,
    async release() {
      await hold.release();
      await fsp.rmdir(dir).catch(() => undefined); // ENOTEMPTY: another holder; it removes it
    },
  };
}

/** Who holds `uname` in use now (stale marks of dead holders are dropped). */
export async function entryUsers(cache: HasLocksDir, uname: string): Promise<LockInfo[]> {
  if (!safe(uname)) return [];
  return liveSharedHolders(useDir(cache, uname));
}
