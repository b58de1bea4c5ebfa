// RPM repositories, read once (index-cache.ts): repomd.xml asked conditionally, the primary index
// named by the sha256 repomd.xml gives for it. A new repomd revision names a new primary checksum,
// which is not in the cache, so the new primary is read.

import type { HttpResponse } from '../core/types.js';
import { oneChunk, readValidated, type IndexCacheOptions } from './index-cache.js';
import { parseRepomd } from './repodata.js';

export interface RepomdRead {
  primaryHref: string;
  /** The primary's sha256 when repomd.xml gives one (createrepo_c does by default); else null. */
  primarySha256: string | null;
}

/**
 * repomd.xml, revalidated; a failure as a string (`HTTP 404`, …); a bad repomd throws
 * (InputFormatError). `verify` (repo_gpgcheck, rpm-trust.ts) checks the bytes before they are parsed,
 * cached or not, and throws SignatureError.
 */
export async function readRepomd(url: string, o: IndexCacheOptions, verify?: (url: string, body: Buffer) => Promise<void>): Promise<RepomdRead | string> {
  const body = await readValidated(url, o);
  if (typeof body === 'string') return body;
  if (verify) await verify(url, body);
  const info = await parseRepomd(oneChunk(body), url);
  const c = info.primaryChecksum;
  return { primaryHref: info.primaryHref, primarySha256: c && c.type === 'sha256' && /^[0-9a-f]{64}$/.test(c.value) ? c.value : null };
}

export type RawGet = (url: string, headers: Record<string, string>) => Promise<HttpResponse>;
