// Writes one archive member under a target directory, safely, for every extractor (RPM/cpio and
// deb/tar). Safety rules: a member path must stay under destDir (no absolute names, no `..`
// segments, no NUL), parent directories are created as real directories and never traversed
// through a symlink, symlink targets must resolve inside destDir, device/fifo/socket members are
// refused. Regular files go to a temp name in the same directory, are hashed (sha256) while
// written and renamed into place only when complete, so an error never leaves a half-written
// file under the member's name.

import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { chmod, link, lstat, mkdir, open, realpath, rename, symlink, unlink } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { CacheError, IntegrityError, isKdbgError, TruncatedError, UnsafePathError } from '../core/errors.js';
import { cacheIoError } from '../cache/fs-util.js';
import { mib } from '../cache/space.js';
import { BusySpans } from '../core/busy.js';
import type { ProgressListener } from '../core/types.js';
import type { ArchiveMember, WrittenMember } from './types.js';

export interface WriterState {
  /** Real path of destDir (created if missing). */
  root: string;
  /** Directories (absolute) already checked or created in this extraction. */
  safeDirs: Set<string>;
  /** The writes of regular files, for the timings' write (core/busy.ts). */
  writeSpans: BusySpans;
}

export interface WriteMemberOptions {
  /** Package file name or URL, for messages. */
  label: string;
  /** Shared across the members of one extraction (saves re-checking directories). */
  state?: WriterState;
  /** fsync each regular file before renaming it into place (the cache wants it; unpack does not). */
  fsync?: boolean;
  /** Apply the member's permission bits (without setuid/setgid/sticky). Default true. */
  preserveMode?: boolean;
  /** Expected sha256 (hex) of a regular file; a mismatch is an IntegrityError and nothing is published. */
  expectSha256?: string;
  /**
   * Expected digest of a regular file in any algorithm node:crypto names (an RPM's FILEDIGESTS in
   * its FILEDIGESTALGO: md5 on old packages); `source` names who says so, for the message.
   */
  expectDigest?: { algo: string; hex: string; source: string };
}

/** Resolve (and create) destDir once for a series of writeMember calls; `onProgress` gets the write spans. */
export async function createWriterState(destDir: string, onProgress?: ProgressListener): Promise<WriterState> {
  try {
    await mkdir(destDir, { recursive: true });
    const root = await realpath(destDir);
    return { root, safeDirs: new Set([root]), writeSpans: new BusySpans(onProgress, 'write') };
  } catch (e) {
    throw ioError(destDir, 'cannot create the target directory', e);
  }
}

/**
 * The member's path relative to destDir, normalised (`./`, empty and `.` segments dropped), or
 * UnsafePathError for absolute names, `..` segments and NULs.
 */
export function safeRelativePath(path: string, label: string): string {
  const bad = (why: string): UnsafePathError =>
    new UnsafePathError(`${label}: refusing archive member ${JSON.stringify(path)}: ${why}`, { file: label, format: 'archive', found: path });
  if (path.includes('\0')) throw bad('name contains a NUL byte');
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  if (p.startsWith('/')) throw bad('absolute path');
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) throw bad('path contains ".."');
  if (parts.length === 0) throw bad('empty path');
  return parts.join('/');
}

/** Where a symlink at `rel` pointing to `target` resolves, relative to destDir, or null if outside. */
export function symlinkTargetInside(rel: string, target: string): string | null {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return null;
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
  if (resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/')) return null;
  return resolved;
}

/**
 * Write `member` under `destDir`. `body` is the member's data for regular files (exactly
 * member.size bytes) and symlinks (ignored when member.linkTarget is set); null otherwise.
 * Hard links (type 'hardlink') link to member.linkTarget, an archive path already written.
 */
export async function writeMember(
  destDir: string,
  member: ArchiveMember,
  body: AsyncIterable<Uint8Array> | null,
  opts: WriteMemberOptions,
): Promise<WrittenMember> {
  const state = opts.state ?? (await createWriterState(destDir));
  const label = opts.label;
  const rel = safeRelativePath(member.path, label);
  const abs = join(state.root, ...rel.split('/'));
  const unsafe = (why: string): UnsafePathError =>
    new UnsafePathError(`${label}: refusing archive member ${JSON.stringify(member.path)}: ${why}`, { file: label, format: 'archive', found: member.path });

  switch (member.type) {
    case 'char':
    case 'block':
    case 'fifo':
    case 'socket':
      throw unsafe(`${member.type === 'char' || member.type === 'block' ? `${member.type} device` : member.type} members are never extracted`);
    case 'dir': {
      await ensureDir(state, abs, label, member.path);
      if (opts.preserveMode !== false) await chmod(abs, (member.mode & 0o777) | 0o700).catch((e: unknown) => Promise.reject(ioError(abs, 'cannot set mode', e)));
      return { member, path: abs, sha256: null };
    }
    case 'symlink': {
      const target = member.linkTarget ?? (body ? await readSmall(body, 4096, label, member.path) : null);
      if (target === null || target === '') throw unsafe('symlink without a target');
      if (symlinkTargetInside(rel, target) === null) throw unsafe(`symlink to ${JSON.stringify(target)} leaves the target directory`);
      await ensureDir(state, dirname(abs), label, member.path);
      const tmp = tempName(abs);
      try {
        await symlink(target, tmp);
        await rename(tmp, abs);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw ioError(abs, 'cannot create symlink', e);
      }
      return { member: { ...member, linkTarget: target }, path: abs, sha256: null };
    }
    case 'hardlink': {
      if (!member.linkTarget) throw unsafe('hard link without a target');
      const targetRel = safeRelativePath(member.linkTarget, label);
      const targetAbs = join(state.root, ...targetRel.split('/'));
      await ensureDir(state, dirname(abs), label, member.path);
      await ensureDir(state, dirname(targetAbs), label, member.linkTarget);
      const st = await lstat(targetAbs).catch(() => null);
      if (!st || !st.isFile()) throw unsafe(`hard link to ${JSON.stringify(member.linkTarget)}, which was not extracted as a regular file`);
      const tmp = tempName(abs);
      try {
        await link(targetAbs, tmp);
        await rename(tmp, abs);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw ioError(abs, 'cannot create hard link', e);
      }
      return { member, path: abs, sha256: null };
    }
    case 'file':
      break;
  }

  await ensureDir(state, dirname(abs), label, member.path);
  const tmp = tempName(abs);
  const hash = createHash('sha256');
  const other = opts.expectDigest && opts.expectDigest.algo !== 'sha256' ? createHash(opts.expectDigest.algo) : null;
  let written = 0;
  let digest = '';
  let fh;
  try {
    // O_EXCL | O_NOFOLLOW: never write through something an attacker placed at the temp name.
    fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw ioError(tmp, 'cannot create file', e);
  }
  try {
    if (body) {
      for await (const chunk of body) {
        if (written + chunk.length > member.size) throw new TruncatedError(`${label}: member ${member.path} has more than the ${member.size} bytes its header promised`, { file: label, format: 'archive' });
        hash.update(chunk);
        other?.update(chunk);
        let off = 0;
        while (off < chunk.length) {
          const r = await state.writeSpans.time(fh.write(chunk, off, chunk.length - off)).catch((e: unknown) => Promise.reject(writeError(member.path, member.size, state.root, e)));
          off += r.bytesWritten;
        }
        written += chunk.length;
      }
      state.writeSpans.flush();
    }
    if (written !== member.size) {
      throw new TruncatedError(`${label}: member ${member.path} ended after ${written} of ${member.size} bytes`, {
        file: label,
        format: 'archive',
        expected: `${member.size} bytes`,
        found: `${written} bytes`,
      });
    }
    digest = hash.digest('hex');
    if (opts.expectSha256 !== undefined && digest !== opts.expectSha256.toLowerCase()) {
      throw new IntegrityError(`${label}: member ${member.path} has sha256 ${digest}, the package header says ${opts.expectSha256}`, {
        details: { file: label, member: member.path, expected: opts.expectSha256, found: digest },
      });
    }
    if (opts.expectDigest) {
      const { algo, hex, source } = opts.expectDigest;
      const got = other ? other.digest('hex') : digest;
      if (got !== hex.toLowerCase()) {
        throw new IntegrityError(`${label}: member ${member.path} has ${algo} ${got}, ${source} says ${hex}`, { details: { file: label, member: member.path, expected: hex, found: got, algo } });
      }
    }
    if (opts.preserveMode !== false) await fh.chmod(member.mode & 0o777);
    if (opts.fsync) await fh.sync();
    await fh.close();
    fh = null;
    await rename(tmp, abs).catch((e: unknown) => Promise.reject(ioError(abs, 'cannot rename into place', e)));
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw isKdbgError(e) ? e : ioError(abs, 'cannot write', e);
  }
  return { member, path: abs, sha256: digest };
}

/** Create `dir` (under state.root) component by component, refusing to pass through symlinks. */
async function ensureDir(state: WriterState, dir: string, label: string, memberPath: string): Promise<void> {
  if (state.safeDirs.has(dir)) return;
  if (dir !== state.root && !dir.startsWith(state.root + sep)) {
    throw new UnsafePathError(`${label}: refusing archive member ${JSON.stringify(memberPath)}: outside the target directory`, { file: label, format: 'archive', found: memberPath });
  }
  const rest = dir.slice(state.root.length).split(sep).filter(Boolean);
  let cur = state.root;
  for (const part of rest) {
    cur = join(cur, part);
    if (state.safeDirs.has(cur)) continue;
    let st = await lstat(cur).catch(() => null);
    if (!st) {
      try {
        await mkdir(cur, { mode: 0o755 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(cur, 'cannot create directory', e);
      }
      st = await lstat(cur);
    }
    if (st.isSymbolicLink()) {
      throw new UnsafePathError(`${label}: refusing archive member ${JSON.stringify(memberPath)}: its directory ${cur.slice(state.root.length + 1)} is a symlink`, {
        file: label,
        format: 'archive',
        found: memberPath,
      });
    }
    if (!st.isDirectory()) throw ioError(cur, 'exists and is not a directory', null);
    state.safeDirs.add(cur);
  }
}

let tempCounter = 0;
function tempName(abs: string): string {
  return join(dirname(abs), `.kdbg-${process.pid}-${++tempCounter}-${randomBytes(3).toString('hex')}.tmp`);
}

/** Read a short member body (a symlink target) with a size cap. */
export async function readSmall(body: AsyncIterable<Uint8Array>, max: number, label: string, path: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new UnsafePathError(`${label}: symlink ${path} has a target longer than ${max} bytes`, { file: label, format: 'archive', found: path });
    parts.push(new Uint8Array(c)); // a copy: the source may reuse c's memory after the next read
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * A member that cannot be written for want of space (or a read-only disk) is named by what it is
 * and how big, and the one line says how much is free: the staging path it was being written to
 * is gone once kdbg exits, so it would tell the operator nothing (faults-found.md, fell short 5).
 */
function writeError(memberPath: string, size: number, root: string, e: unknown): CacheError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') return ioError(join(root, memberPath), 'cannot write', e);
  const err = cacheIoError(`write ${memberPath} (${mib(size)}) under`, root, e);
  return err;
}

function ioError(path: string, what: string, e: unknown): CacheError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return new CacheError(`${path}: ${what}${code ? ` (${code})` : e instanceof Error ? ` (${e.message})` : ''}`, { cause: e, details: { path } });
}
