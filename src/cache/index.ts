// The kdbg cache: a content-addressed package store plus one directory per kernel release.
//
//   <root>/CACHEDIR.TAG                      backup tools skip the cache (bford.info/cachedir)
//   <root>/packages/sha256/ab/cd/<sha256>    verified package files, named by their digest
//   <root>/packages/by-name/<fileName>       symlink → ../sha256/ab/cd/<sha256> (lookup without an index)
//   <root>/releases/<uname>/                 one entry per release, published by a directory rename
//          entry.json vmlinux source/ modules/
//   <root>/buildid/<build-id>                text file holding <uname> (build-id → entry index)
//   <root>/partial/<key>.part + <key>.json   resumable downloads and their validators
//   <root>/tmp/                              staging for entries being built (same file system)
//   <root>/locks/                            O_EXCL lock files (release-<uname>.lock, pkg-<key>.lock)
//   <root>/used/<uname>                      last-use stamp (mtime) for `cache prune`, see usage.ts
//   <root>/meta/<service>/<sha256 of URL>.json  the archive services' answers (meta.ts, resolve/archives.ts)
//
// Readers never see a half-written file: files are written under a temporary name in the same
// directory, fsynced, then renamed; an entry directory is staged in tmp/ and renamed into
// releases/ whole. entry.json holds paths relative to the entry directory so a shared cache can
// be mounted at different paths; the API returns absolute paths.

import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CacheError, UsageError } from '../core/errors.js';
import type { CacheEntry } from '../core/types.js';
import { cacheIoError, exists, fsyncDir, fsyncTree, readJson, uniqueSuffix, writeFileAtomic } from './fs-util.js';
import { acquireLock, type Lock, type LockOptions } from './lock.js';
import { PartialFile } from './partial.js';
import { shareTree, touchUsed, usedDir } from './usage.js';
import { sweepDeadLeftovers } from './sweep.js';

export { PartialFile, type PartialMeta } from './partial.js';
export { acquireLock, withLock, type Lock, type LockInfo, type LockOptions } from './lock.js';

export const CACHE_LAYOUT_VERSION = 1;

const CACHEDIR_TAG = `Signature: 8a477f597d28d172789f06886806bc55
# This file is a cache directory tag created by kdbg (kernel debuginfo cache).
# For information about cache directory tags, see https://bford.info/cachedir/
`;

/** What entry.json holds on disk: a CacheEntry with entry-relative paths, plus what was asked for. */
export interface StoredEntry extends CacheEntry {
  layout: number;
  /** What the fetch that built the entry asked for: a later fetch that wants more re-fetches. */
  wanted: { source: boolean; modules: boolean };
}

/** An entry as the API returns it: absolute paths. */
export interface ResolvedEntry {
  dir: string;
  entry: CacheEntry;
  wanted: { source: boolean; modules: boolean };
}

/**
 * The default cache directory: `cache/` in the project root when kdbg runs from a git checkout
 * (the package.json next to src/ or dist/ says "kdbg" and a .git is there), else
 * `${XDG_CACHE_HOME:-~/.cache}/kdbg`. `KDBG_CACHE_DIR` overrides both; `--cache-dir` overrides all.
 */
export function defaultCacheDir(env: Record<string, string | undefined> = {}): string {
  const fromEnv = env['KDBG_CACHE_DIR'];
  if (fromEnv) return resolve(fromEnv);
  const root = checkoutRoot();
  if (root) return join(root, 'cache');
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'kdbg');
}

function checkoutRoot(): string | null {
  // This file is src/cache/index.ts (tests) or dist/cache/index.js (built): the root is two up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: string };
    if (pkg.name === 'kdbg' && existsSync(join(root, '.git'))) return root;
  } catch {
    // not a checkout (e.g. installed from a registry tarball)
  }
  return null;
}

export function isSafeName(name: string): boolean {
  return name.length > 0 && name.length <= 200 && !name.includes('/') && !name.includes('\0') && name !== '.' && name !== '..';
}

function checkName(kind: string, name: string): string {
  if (!isSafeName(name)) throw new UsageError(`${kind} ${JSON.stringify(name)} cannot name a cache entry`);
  return name;
}

export class Cache {
  readonly packagesDir: string;
  readonly releasesDir: string;
  readonly buildIdDir: string;
  readonly partialDir: string;
  readonly tmpDir: string;
  readonly locksDir: string;

  /** The root is group-writable: a cache shared by the members of a group (see publishEntry). */
  private shared = false;

  private constructor(readonly root: string) {
    this.packagesDir = join(root, 'packages');
    this.releasesDir = join(root, 'releases');
    this.buildIdDir = join(root, 'buildid');
    this.partialDir = join(root, 'partial');
    this.tmpDir = join(root, 'tmp');
    this.locksDir = join(root, 'locks');
  }

  /** Open (creating when missing) the cache at root. */
  static async open(root: string): Promise<Cache> {
    const c = new Cache(resolve(root));
    try {
      await fsp.mkdir(c.root, { recursive: true, mode: 0o775 });
      for (const d of [c.packagesDir, join(c.packagesDir, 'sha256'), join(c.packagesDir, 'by-name'), c.releasesDir, c.buildIdDir, c.partialDir, c.tmpDir, c.locksDir]) {
        await fsp.mkdir(d, { recursive: true, mode: 0o775 });
      }
      // A shared cache (group-writable root, usually setgid) keeps new directories group-writable
      // whatever each user's umask is, so every member of the group can publish into it.
      if (((await fsp.stat(c.root)).mode & 0o020) !== 0) {
        c.shared = true;
        // ...and so are the files and entry directories this process creates (0664/2775), so
        // another member can later replace or prune them: drop group-write from the umask.
        try {
          const mask = process.umask();
          if ((mask & 0o020) !== 0) process.umask(mask & ~0o020);
        } catch {
          // worker threads cannot change the umask; the documented `umask 002` recipe covers it
        }
        for (const d of [c.packagesDir, join(c.packagesDir, 'sha256'), join(c.packagesDir, 'by-name'), c.releasesDir, c.buildIdDir, c.partialDir, c.tmpDir, c.locksDir, usedDir(c.root)]) await fsp.chmod(d, 0o2775).catch(() => undefined);
      }
      const tag = join(c.root, 'CACHEDIR.TAG');
      if (!(await exists(tag))) await writeFileAtomic(tag, CACHEDIR_TAG, 0o644);
    } catch (e) {
      if (e instanceof CacheError) throw e;
      throw cacheIoError('create cache directory', c.root, e);
    }
    await c.sweepTmp();
    return c;
  }

  // ---- content-addressed packages ------------------------------------------------------------

  packagePath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new CacheError(`cache: not a sha256 digest: ${sha256}`);
    return join(this.packagesDir, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** The stored package with this digest, or (no digest known) the one stored under this file name. */
  async findPackage(sha256: string | null, fileName: string): Promise<{ path: string; sha256: string; size: number } | null> {
    let digest = sha256;
    if (digest === null) {
      if (!isSafeName(fileName)) return null;
      try {
        const target = await fsp.readlink(join(this.packagesDir, 'by-name', fileName));
        const d = target.split('/').pop() ?? '';
        if (!/^[0-9a-f]{64}$/.test(d)) return null;
        digest = d;
      } catch {
        return null;
      }
    }
    const p = this.packagePath(digest);
    try {
      const st = await fsp.stat(p);
      return { path: p, sha256: digest, size: st.size };
    } catch {
      return null;
    }
  }

  /**
   * Move a verified file (already fsynced, on the cache's file system) into the content store
   * and point the name index at it. Returns the stored path.
   */
  async storePackage(verifiedFile: string, sha256: string, fileName: string): Promise<string> {
    const dest = this.packagePath(sha256);
    try {
      await fsp.mkdir(dirname(dest), { recursive: true, mode: 0o775 });
      // Content addressing makes a concurrent store of the same digest harmless: same bytes.
      await fsp.chmod(verifiedFile, 0o444).catch(() => undefined);
      await fsp.rename(verifiedFile, dest);
      await fsyncDir(dirname(dest));
      if (isSafeName(fileName)) {
        const link = join(this.packagesDir, 'by-name', fileName);
        const tmp = join(this.packagesDir, 'by-name', `.${uniqueSuffix()}.tmp`);
        await fsp.symlink(relative(dirname(link), dest), tmp);
        await fsp.rename(tmp, link);
      }
    } catch (e) {
      throw cacheIoError('store package', dest, e);
    }
    return dest;
  }

  async removePackage(sha256: string, fileName: string): Promise<void> {
    const p = this.packagePath(sha256);
    await fsp.rm(p, { force: true }).catch(() => undefined);
    // Drop the ab/cd/ fan-out directories once empty (rmdir fails harmlessly when they are not).
    await fsp.rmdir(dirname(p)).catch(() => undefined);
    await fsp.rmdir(dirname(dirname(p))).catch(() => undefined);
    if (isSafeName(fileName)) {
      const link = join(this.packagesDir, 'by-name', fileName);
      const target = await fsp.readlink(link).catch(() => '');
      if (target.endsWith(sha256)) await fsp.rm(link, { force: true }).catch(() => undefined);
    }
  }

  // ---- partial downloads and locks -----------------------------------------------------------

  /** Key of a package's partial file and lock: its digest when the index gave one, else its name. */
  packageKey(sha256: string | null, fileName: string): string {
    return sha256 ?? `name-${checkName('package', fileName)}`;
  }

  async openPartial(key: string): Promise<PartialFile> {
    return PartialFile.open(join(this.partialDir, `${checkName('package key', key)}.part`));
  }

  /**
   * Remove `partial/<key>.json` when no `partial/<key>.part` goes with it: the sidecar a run killed
   * between storing the package and removing its validators left behind.
   */
  async dropOrphanSidecar(key: string): Promise<void> {
    const base = join(this.partialDir, checkName('package key', key));
    if (await fsp.stat(`${base}.part`).then(() => false, () => true)) await fsp.rm(`${base}.json`, { force: true }).catch(() => undefined);
  }

  /** Bytes of an interrupted whole download of `key` waiting to be resumed (0: none). Creates nothing. */
  async partialBytes(key: string): Promise<number> {
    const st = await fsp.stat(join(this.partialDir, `${checkName('package key', key)}.part`)).catch(() => null);
    return st?.isFile() ? st.size : 0;
  }

  async lockPackage(key: string, opts: LockOptions = {}): Promise<Lock> {
    return acquireLock(join(this.locksDir, `pkg-${checkName('package key', key)}.lock`), { purpose: `downloading ${key}`, ...opts });
  }

  async lockRelease(uname: string, opts: LockOptions = {}): Promise<Lock> {
    return acquireLock(join(this.locksDir, `release-${checkName('release', uname)}.lock`), { purpose: `fetching ${uname}`, ...opts });
  }

  // ---- staging ---------------------------------------------------------------------------------

  /** A fresh directory under tmp/ (same file system as releases/, so a rename publishes it). */
  async makeStagingDir(label: string): Promise<string> {
    const d = join(this.tmpDir, `${hostname()}-${process.pid}-${label.replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 80)}-${uniqueSuffix()}`);
    try {
      await fsp.mkdir(d, { recursive: true, mode: 0o775 });
    } catch (e) {
      throw cacheIoError('create', d, e);
    }
    return d;
  }

  /**
   * Move `from` (a file or directory produced under a staging directory, e.g. by the extractor)
   * to `to` inside the entry being staged. Both are on the cache's file system: a rename.
   */
  async adopt(from: string, to: string): Promise<void> {
    try {
      await fsp.mkdir(dirname(to), { recursive: true, mode: 0o775 });
      await fsp.rename(from, to);
    } catch (e) {
      throw cacheIoError('move', `${from} → ${to}`, e);
    }
  }

  /**
   * Reuse a file or tree of a published entry in a new staging entry by hard links (no copy, and
   * the published entry stays intact for its readers until the new one replaces it).
   */
  async linkInto(from: string, to: string): Promise<void> {
    try {
      const st = await fsp.lstat(from);
      if (st.isDirectory()) {
        await fsp.mkdir(to, { recursive: true, mode: st.mode & 0o7777 });
        for (const name of await fsp.readdir(from)) await this.linkInto(join(from, name), join(to, name));
      } else if (st.isSymbolicLink()) {
        await fsp.symlink(await fsp.readlink(from), to);
      } else {
        await fsp.mkdir(dirname(to), { recursive: true, mode: 0o775 });
        await fsp.link(from, to).catch(async () => fsp.copyFile(from, to));
      }
    } catch (e) {
      throw cacheIoError('link', `${from} → ${to}`, e);
    }
  }

  async removeTree(p: string): Promise<void> {
    await fsp.rm(p, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Remove what kdbg processes of this host that no longer run left behind (sweep.ts). */
  private async sweepTmp(): Promise<void> {
    await sweepDeadLeftovers(this.tmpDir, [this.partialDir, join(this.packagesDir, 'by-name'), join(this.root, 'used'), this.releasesDir, this.buildIdDir], this.locksDir);
  }

  // ---- release entries -------------------------------------------------------------------------

  entryDir(uname: string): string {
    return join(this.releasesDir, checkName('release', uname));
  }

  /** The entry for this exact uname, or null. Paths are returned absolute. */
  async readEntry(uname: string, opts: { touch?: boolean } = {}): Promise<ResolvedEntry | null> {
    if (!isSafeName(uname)) return null;
    const dir = this.entryDir(uname);
    const stored = await readJson<StoredEntry>(join(dir, 'entry.json'));
    if (!stored || typeof stored.vmlinux !== 'string' || !Array.isArray(stored.packages)) return null;
    const abs = (p: string | null): string | null => (p === null ? null : resolve(dir, p));
    const { layout: _layout, wanted, ...rest } = stored;
    const entry: CacheEntry = { ...rest, vmlinux: resolve(dir, stored.vmlinux), source: abs(stored.source), modules: abs(stored.modules), ...(stored.image ? { image: resolve(dir, stored.image) } : {}) };
    if (!(await exists(entry.vmlinux))) return null; // a damaged entry is a miss, never a wrong answer
    // Every hit counts as a use for `kdbg cache prune` (least recently used first); listing does not.
    if (opts.touch !== false) await touchUsed(this.root, uname);
    return { dir, entry, wanted: wanted ?? { source: stored.source !== null, modules: stored.modules !== null } };
  }

  /**
   * Publish a staged entry directory: write entry.json into it, fsync the tree, rename it to
   * releases/<uname>. An existing entry (e.g. one fetched with --vmlinux-only, now completed) is
   * moved aside first and removed after. Paths in `entry` may be absolute inside `staging`.
   */
  async publishEntry(staging: string, entry: CacheEntry, wanted: { source: boolean; modules: boolean }): Promise<ResolvedEntry> {
    const uname = checkName('release', entry.release);
    const dest = this.entryDir(uname);
    const rel = (p: string | null): string | null => (p === null ? null : relative(staging, p).startsWith('..') ? relative(dest, p) : relative(staging, p));
    const stored: StoredEntry = { layout: CACHE_LAYOUT_VERSION, ...entry, vmlinux: rel(entry.vmlinux)!, source: rel(entry.source), modules: rel(entry.modules), ...(entry.image ? { image: rel(entry.image)! } : {}), wanted };
    let old: string | null = null;
    try {
      await writeFileAtomic(join(staging, 'entry.json'), JSON.stringify(stored, null, 2) + '\n', 0o644);
      if (this.shared) await shareTree(staging);
      await fsyncTree(staging);
      if (await exists(dest)) {
        old = join(this.tmpDir, `${hostname()}-${process.pid}-old-${uniqueSuffix()}`);
        await fsp.rename(dest, old);
      }
      await fsp.rename(staging, dest);
      await fsyncDir(this.releasesDir);
      if (entry.buildId && /^[0-9a-f]{8,128}$/.test(entry.buildId)) {
        await writeFileAtomic(join(this.buildIdDir, entry.buildId), `${uname}\n`, 0o644);
      }
    } catch (e) {
      if (e instanceof CacheError) throw e;
      throw cacheIoError('publish entry', dest, e);
    } finally {
      if (old) await fsp.rm(old, { recursive: true, force: true }).catch(() => undefined);
    }
    const published = await this.readEntry(uname);
    if (!published) throw new CacheError(`cache: entry ${dest} vanished right after publishing`);
    return published;
  }

  /** Every release entry, sorted by release name. */
  async listEntries(): Promise<ResolvedEntry[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.releasesDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw cacheIoError('list', this.releasesDir, e);
    }
    const out: ResolvedEntry[] = [];
    for (const n of names.sort()) {
      const e = await this.readEntry(n, { touch: false });
      if (e) out.push(e);
    }
    return out;
  }

  /** build-id → entry, through the buildid/ index. */
  async lookupBuildId(buildId: string): Promise<ResolvedEntry | null> {
    if (!/^[0-9a-f]{8,128}$/.test(buildId)) return null;
    let uname: string;
    try {
      uname = (await fsp.readFile(join(this.buildIdDir, buildId), 'utf8')).trim();
    } catch {
      return null;
    }
    const e = await this.readEntry(uname);
    return e && e.entry.buildId === buildId ? e : null;
  }
}

/** Open the cache at `dir` (default: see defaultCacheDir; pass the environment from the CLI). */
export async function openCache(dir?: string, env: Record<string, string | undefined> = {}): Promise<Cache> {
  return Cache.open(dir ?? defaultCacheDir(env));
}
