// Small metadata answers of the historical archives (Debian snapshot, Launchpad), kept so that a
// second fetch of an archived release asks the services nothing: <root>/meta/<service>/<key>.json,
// the key being the sha256 of the request URL. The services rate-limit hard; what they say about
// a published file never changes, and lists of versions are re-asked after `maxAgeMs`.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { cacheIoError, readJson, writeFileAtomic } from './fs-util.js';

interface Stored<T> {
  url: string;
  fetchedAt: string;
  value: T;
}

function metaFile(root: string, service: string, url: string): string {
  return join(root, 'meta', service, `${createHash('sha256').update(url).digest('hex')}.json`);
}

/** The cached answer for `url`, or null when absent, unreadable, for another URL, or older than maxAgeMs. */
export async function readMeta<T>(root: string, service: string, url: string, maxAgeMs = Infinity): Promise<T | null> {
  const s = await readJson<Stored<T>>(metaFile(root, service, url));
  if (!s || s.url !== url || typeof s.fetchedAt !== 'string') return null;
  if (Date.now() - Date.parse(s.fetchedAt) > maxAgeMs) return null;
  return s.value;
}

/** Keep an answer (atomically: a reader never sees half of it). */
export async function writeMeta<T>(root: string, service: string, url: string, value: T): Promise<void> {
  const file = metaFile(root, service, url);
  try {
    await fsp.mkdir(join(root, 'meta', service), { recursive: true });
  } catch (e) {
    throw cacheIoError('create', join(root, 'meta', service), e);
  }
  const stored: Stored<T> = { url, fetchedAt: new Date().toISOString(), value };
  await writeFileAtomic(file, `${JSON.stringify(stored)}\n`);
}
