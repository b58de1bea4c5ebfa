// tar-stream's headers as kdbg's archive members: types, safe paths, and where a link points.

import { posix } from 'node:path';
import type { Header as TarHeader } from 'tar-stream';
import { UnsafePathError } from '../core/errors.js';
import type { ArchiveMember, MemberType } from './types.js';

function memberType(t: TarHeader['type'] | undefined): MemberType {
  switch (t) {
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      return 'file';
  }
}

const TYPE_BITS: Record<MemberType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  hardlink: 0o100000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};

/**
 * A tar name as the member path: "./usr/x" → "usr/x". Absolute names and ".." components are
 * hostile in a package (dpkg-deb never writes them) and are refused, not rewritten.
 */
export function debMemberPath(name: string, label: string, offset: number): string {
  if (name.startsWith('/')) {
    throw new UnsafePathError(`${label}: tar member ${JSON.stringify(name)} has an absolute path`, { file: label, format: 'tar', offset, expected: 'a relative path', found: name });
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new UnsafePathError(`${label}: tar member ${JSON.stringify(name)} climbs out of the archive with ".."`, { file: label, format: 'tar', offset, expected: 'no ".." component', found: name });
  }
  if (name.includes('\0')) {
    throw new UnsafePathError(`${label}: tar member name contains a NUL byte`, { file: label, format: 'tar', offset, expected: 'no NUL', found: JSON.stringify(name) });
  }
  return parts.join('/');
}

export function toMember(h: TarHeader, label: string, offset: number): ArchiveMember {
  const type = memberType(h.type);
  const path = debMemberPath(h.name, label, offset);
  const perm = (h.mode ?? 0) & 0o7777;
  return {
    path,
    size: type === 'file' ? (h.size ?? 0) : 0,
    mode: perm | TYPE_BITS[type],
    type,
    linkTarget: type === 'symlink' || type === 'hardlink' ? (h.linkname ?? '') : null,
  };
}

/**
 * Where a link points inside the archive, as an archive path; null when it leaves the archive
 * root. Symlink targets are relative to the link's directory (absolute ones to the root, as dpkg
 * installs them); hardlink targets are archive paths.
 */
export function resolveLinkTarget(m: ArchiveMember): string | null {
  const target = m.linkTarget ?? '';
  if (m.type === 'hardlink') {
    const p = posix.normalize(target.replace(/^\.\//, ''));
    return p.startsWith('..') || p.startsWith('/') ? null : p.replace(/\/$/, '');
  }
  // An absolute target points into the host's filesystem once recreated; kdbg never follows or
  // recreates it (dpkg would resolve it against the install root, which destDir is not).
  if (target.startsWith('/')) return null;
  const base = posix.join('/', posix.dirname(m.path), target);
  const norm = posix.normalize(base);
  // normalize('/..') is '/', so check the climb explicitly: count depth along the way.
  let depth = 0;
  const start = posix.dirname(m.path).split('/').filter((p) => p !== '' && p !== '.');
  depth = start.length;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth--;
      if (depth < 0) return null;
    } else depth++;
  }
  return norm.replace(/^\/+/, '');
}
