// Cross-process locks as O_EXCL lock files. The file holds {pid, host, time} so a waiter can tell
// a live holder from a dead one: on the same host a holder whose pid no longer exists is stale at
// once (a SIGKILLed `kdbg fetch` must not block the next one); on any host a lock whose mtime has
// not been refreshed for `staleMs` is stale (the holder touches it every `heartbeatMs`), which is
// what makes a cache shared over NFS by several hosts recover from a crashed holder.

import { constants, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CacheError } from '../core/errors.js';
import { cacheIoError } from './fs-util.js';

export interface LockInfo {
  pid: number;
  host: string;
  time: string;
  /** What the holder is doing, for "waiting for …" messages. */
  purpose: string;
}

export interface LockOptions {
  /** Give up waiting after this long (CacheError, exit 74). Default 30 min: a large package may take that long. */
  timeoutMs?: number;
  staleMs?: number;
  heartbeatMs?: number;
  purpose?: string;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: LockInfo | null) => void;
  signal?: AbortSignal;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user (a shared cache) — alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<{ info: LockInfo | null; ino: number; mtimeMs: number } | null> {
  try {
    const st = await fsp.stat(path);
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(await fsp.readFile(path, 'utf8')) as LockInfo;
    } catch {
      info = null; // being written right now, or torn: judged by mtime only
    }
    return { info, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cacheIoError('read lock', path, e);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const staleMs = opts.staleMs ?? 60_000;
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const me: LockInfo = { pid: process.pid, host: hostname(), time: new Date().toISOString(), purpose: opts.purpose ?? '' };
  const began = Date.now();
  let delay = 50;
  let waited = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await fsp.open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o664);
      try {
        await fh.writeFile(JSON.stringify(me));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return holdLock(path, heartbeatMs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cacheIoError('create lock', path, e);
    }
    const holder = await readHolder(path);
    if (holder === null) continue; // released between our open and stat: try again at once
    const sameHost = holder.info?.host === me.host;
    const dead = sameHost && holder.info !== null && holder.info.pid !== process.pid && !pidAlive(holder.info.pid);
    const silent = Date.now() - holder.mtimeMs > staleMs;
    if (dead || silent) {
      // Remove only the file we judged: if another waiter already replaced it, its inode differs.
      const again = await readHolder(path);
      if (again && again.ino === holder.ino) await fsp.rm(path, { force: true }).catch(() => undefined);
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(holder.info);
    }
    if (Date.now() - began > timeoutMs) {
      const h = holder.info;
      throw new CacheError(
        `cache: gave up after ${Math.round(timeoutMs / 1000)}s waiting for lock ${path}` + (h ? ` held by pid ${h.pid} on ${h.host} since ${h.time}${h.purpose ? ` (${h.purpose})` : ''}` : ''),
        { details: { path, holder: h }, hint: 'if that process is gone, remove the lock file' },
      );
    }
    await sleep(delay);
    delay = Math.min(1000, delay * 2);
  }
}

function holdLock(path: string, heartbeatMs: number): Lock {
  const timer = setInterval(() => {
    const now = new Date();
    fsp.utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await fsp.rm(path, { force: true }).catch(() => undefined);
    },
  };
}

export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * A shared hold ("in use"): any number of holders, each its own O_EXCL file in `dir`, kept fresh
 * by the same heartbeat as an exclusive lock and judged stale by the same rules (dead pid on this
 * host, silent mtime on any host). `crash` sessions hold one on the entry they read, and prune
 * leaves an entry with a live holder alone. Files and renames only, no flock: the rules hold on
 * a cache shared over NFS (docs/batch-and-cache.md).
 */
export async function acquireShared(dir: string, opts: Pick<LockOptions, 'heartbeatMs' | 'purpose'> = {}): Promise<Lock> {
  const me: LockInfo = { pid: process.pid, host: hostname(), time: new Date().toISOString(), purpose: opts.purpose ?? '' };
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o775 });
    const path = join(dir, `${me.host}-${me.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.use`);
    const fh = await fsp.open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o664);
    try {
      await fh.writeFile(JSON.stringify(me));
    } finally {
      await fh.close();
    }
    return holdLock(path, opts.heartbeatMs ?? 5_000);
  } catch (e) {
    throw cacheIoError('create use mark in', dir, e);
  }
}

/** The live shared holders in `dir`; stale marks are removed on the way. */
export async function liveSharedHolders(dir: string, staleMs = 60_000): Promise<LockInfo[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const live: LockInfo[] = [];
  for (const n of names) {
    if (!n.endsWith('.use')) continue;
    const h = await readHolder(join(dir, n));
    if (h === null) continue;
    const dead = h.info !== null && h.info.host === hostname() && h.info.pid !== process.pid && !pidAlive(h.info.pid);
    if (dead || Date.now() - h.mtimeMs > staleMs) {
      await fsp.rm(join(dir, n), { force: true }).catch(() => undefined);
      continue;
    }
    live.push(h.info ?? { pid: 0, host: '?', time: '', purpose: '' });
  }
  return live;
}
