// Pieces of `kdbg serve`'s miss handling kept out of server.ts: relaying an upstream answer and
// the miss counters for /metrics.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpFetcher } from '../core/types.js';
import type { RepoIndexes } from '../pipeline/buildid-repos.js';
import type { FetchOptions } from '../pipeline/fetch/options.js';
import type { CacheReader } from './cache-reader.js';
import { MissFetcher } from './fetch-on-miss.js';
import { MissRateLimiter } from './limits.js';
import type { MissMetrics } from './metrics.js';


/** issue 20: what `kdbg serve` does with an id the cache does not hold. */
export interface MissOptions {
  /** Fetch on a miss with these fetch options (cacheDir, mirrors, repos, configFile, env); null: never fetch. */
  fetch: FetchOptions | null;
  indexes: RepoIndexes | null;
  /** kdbg's own upstream debuginfod servers, asked for ids it cannot resolve. */
  upstream: readonly string[];
  http: HttpFetcher;
  /** Misses per minute per client address; 0: no limit. */
  missRatePerMinute: number;
  maxFetches?: number;
  negativeTtlMs?: number;
  onInfo?: (message: string) => void;
}

export interface MissHandling {
  fetcher: MissFetcher | null;
  indexes: RepoIndexes | null;
  upstream: readonly string[];
  http: HttpFetcher;
  limiter: MissRateLimiter;
}

export function missHandling(o: MissOptions, reader: CacheReader): MissHandling {
  const fetcher = o.fetch
    ? new MissFetcher({
        fetch: o.fetch,
        indexes: o.indexes,
        reader,
        ...(o.maxFetches !== undefined ? { maxFetches: o.maxFetches } : {}),
        ...(o.negativeTtlMs !== undefined ? { negativeTtlMs: o.negativeTtlMs } : {}),
        ...(o.onInfo ? { onInfo: o.onInfo } : {}),
      })
    : null;
  return { fetcher, indexes: o.indexes, upstream: o.upstream, http: o.http, limiter: new MissRateLimiter(o.missRatePerMinute) };
}

/** Stream an upstream 200 to the client with its debuginfod headers, honouring back-pressure. */
export async function relay(req: IncomingMessage, res: ServerResponse, up: { headers: Record<string, string>; body: AsyncIterable<Uint8Array> }): Promise<{ status: number; bytes: number }> {
  const headers: Record<string, string> = { 'content-type': up.headers['content-type'] ?? 'application/octet-stream' };
  for (const h of ['content-length', 'x-debuginfod-size', 'x-debuginfod-file', 'last-modified']) if (up.headers[h] !== undefined) headers[h] = up.headers[h]!;
  res.writeHead(200, headers);
  let bytes = 0;
  try {
    for await (const c of up.body) {
      bytes += c.length;
      if (req.method !== 'HEAD' && !res.write(c)) await new Promise<void>((r) => res.once('drain', () => r()));
    }
    res.end();
  } catch {
    res.destroy();
  }
  return { status: 200, bytes };
}

/** The miss counters and index sizes /metrics reports. */
export function missMetrics(m: MissHandling): MissMetrics {
  const c = m.fetcher?.counters;
  return {
    misses: c?.misses ?? 0,
    fetches: c?.fetches ?? 0,
    fetchFailures: c?.fetchFailures ?? 0,
    joined: c?.joined ?? 0,
    negativeHits: c?.negativeHits ?? 0,
    bytesFetched: c?.bytesFetched ?? 0,
    active: m.fetcher?.active ?? 0,
    indexIds: m.indexes?.idCount ?? 0,
    indexBytes: m.indexes?.bytes ?? 0,
    indexRepos: m.indexes?.repoStatus().filter((r) => r.problem === null).length ?? 0,
  };
}
