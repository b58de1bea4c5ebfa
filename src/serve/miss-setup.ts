// `kdbg serve` flags → the miss options of the server: with --fetch, the repositories' build-id
// indexes and the fetch options (the same mirror flags and configuration as `kdbg fetch`), and
// the upstream debuginfod servers (--upstream, then DEBUGINFOD_URLS; KDBG_NO_DEBUGINFOD=1: none).
// Without --fetch the server answers from the cache only, as before, but still rate-limits misses.

import type { Env } from '../core/env.js';
import type { MissOptions } from './miss-route.js';

export interface ServeMissFlags {
  cacheDir: string;
  fetch: boolean;
  mirrors: string[];
  repos: string[];
  configFile?: string;
  upstream: string[];
  maxFetches: number;
  negativeTtlMs: number;
  missRatePerMinute: number;
  env: Env;
  onInfo?: (message: string) => void;
}

export async function serveMissOptions(f: ServeMissFlags): Promise<MissOptions> {
  const { undiciFetcher } = await import('../download/http.js');
  let upstream: string[] = [];
  let indexes: MissOptions['indexes'] = null;
  if (f.fetch) {
    const { debuginfodUrls } = await import('../pipeline/fetch/debuginfod.js');
    upstream = await debuginfodUrls(f.env, f.upstream);
    const { RepoIndexes } = await import('../pipeline/buildid-repos.js');
    indexes = new RepoIndexes({
      cacheDir: f.cacheDir,
      mirrors: f.mirrors,
      repos: f.repos,
      ...(f.configFile !== undefined ? { configFile: f.configFile } : {}),
      env: f.env,
      ...(f.onInfo ? { onInfo: f.onInfo } : {}),
    });
  }
  return {
    fetch: f.fetch ? { cacheDir: f.cacheDir, mirrors: f.mirrors, repos: f.repos, ...(f.configFile !== undefined ? { configFile: f.configFile } : {}), env: f.env } : null,
    indexes,
    upstream,
    http: undiciFetcher,
    missRatePerMinute: f.missRatePerMinute,
    maxFetches: f.maxFetches,
    negativeTtlMs: f.negativeTtlMs,
    ...(f.onInfo ? { onInfo: f.onInfo } : {}),
  };
}
