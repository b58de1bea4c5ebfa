// Repository index files (Debian Packages.xz/.gz, RPM primary.xml.*) kept as the mirror served
// them, named by their own sha256: <root>/meta/index/<sha256>. The key is the checksum the
// repository publishes for the file (Release's SHA256 list, repomd.xml's primary checksum), so a
// stored file is the right one exactly when the repository still names that checksum; nothing
// here expires. The validators of the small files that name them (Release, repomd.xml) live beside
// the archives' answers in meta.ts (service `index-validators`).

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { cacheIoError, writeFileAtomic } from './fs-util.js';

const SHA256 = /^[0-9a-f]{64}$/;

export function indexBlobPath(root: string, sha256: string): string {
  return join(root, 'meta', 'index', sha256);
}

/** The stored index whose sha256 is `sha256`, or null (absent, or its bytes no longer hash to it). */
export async function readIndexBlob(root: string, sha256: string): Promise<Buffer | null> {
  if (!SHA256.test(sha256)) return null;
  let data: Buffer;
  try {
    data = await fsp.readFile(indexBlobPath(root, sha256));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cacheIoError('read', indexBlobPath(root, sha256), e);
  }
  // A damaged file is treated as absent (read again from the mirror), never parsed.
  if (createHash('sha256').update(data).digest('hex') !== sha256) return null;
  await touch(indexBlobPath(root, sha256));
  return data;
}

/** A read renews the file's mtime: `kdbg cache prune` drops indexes by last use (meta-usage.ts). */
async function touch(p: string): Promise<void> {
  const now = new Date();
  await fsp.utimes(p, now, now).catch(() => undefined);
}

/** Keep an index under its sha256 (checked here: a file that does not hash to it is not kept). */
export async function writeIndexBlob(root: string, sha256: string, data: Uint8Array): Promise<boolean> {
  if (!SHA256.test(sha256) || createHash('sha256').update(data).digest('hex') !== sha256) return false;
  const dir = join(root, 'meta', 'index');
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw cacheIoError('create', dir, e);
  }
  await writeFileAtomic(indexBlobPath(root, sha256), data);
  return true;
}

/** What kdbg parsed out of a stored index (`<sha256>.<kind>` beside it), or null when absent. */
export async function readIndexSidecar(root: string, sha256: string, kind: string): Promise<string | null> {
  if (!SHA256.test(sha256)) return null;
  try {
    const text = await fsp.readFile(`${indexBlobPath(root, sha256)}.${kind}`, 'utf8');
    await touch(`${indexBlobPath(root, sha256)}.${kind}`);
    return text;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cacheIoError('read', `${indexBlobPath(root, sha256)}.${kind}`, e);
  }
}

/** Keep what was parsed out of the index `sha256` (written atomically: whole or absent). */
export async function writeIndexSidecar(root: string, sha256: string, kind: string, text: string): Promise<void> {
  if (!SHA256.test(sha256)) return;
  await fsp.mkdir(join(root, 'meta', 'index'), { recursive: true }).catch((e: unknown) => {
    throw cacheIoError('create', join(root, 'meta', 'index'), e);
  });
  await writeFileAtomic(`${indexBlobPath(root, sha256)}.${kind}`, text);
}
