// fetchRelease with the debuginfod route first, deciding the servers itself: `kdbg watch` calls
// this (explicit --debuginfod-url servers, then DEBUGINFOD_URLS; --no-debuginfod skips). The
// result says by which route the vmlinux came.

import type { FetchResult } from '../../core/fetch-result.js';
import { debuginfodUrls, fetchViaDebuginfod } from './debuginfod.js';
import { fetchRelease } from './index.js';
import type { FetchOptions } from './options.js';

export interface DebuginfodFirstOptions extends FetchOptions {
  /** Servers from flags or config, tried before DEBUGINFOD_URLS. */
  debuginfodUrls?: readonly string[];
  /** False skips the route (--no-debuginfod). Default true; --offline skips it too. */
  debuginfod?: boolean;
}

export type FetchVia = 'cache' | 'debuginfod' | 'packages';

/**
 * When `input` is a dump file with a BUILD-ID and the cache has no entry for its release, ask the
 * debuginfod servers; what they publish is then answered by fetchRelease from the cache (which
 * fetches only what is still wanted, e.g. the sources package). A server answering with a wrong
 * build-id publishes nothing; that is reported as a warning event and the package route is taken.
 */
export async function fetchDebuginfodFirst(input: string, opts: DebuginfodFirstOptions = {}): Promise<FetchResult & { via: FetchVia }> {
  const env = opts.env ?? {};
  let via: FetchVia = 'packages';
  const urls = opts.debuginfod === false || opts.offline ? [] : await debuginfodUrls(env, opts.debuginfodUrls ?? []);
  if (urls.length > 0 && input !== '-') {
    const { promises: fsp } = await import('node:fs');
    const isFile = await fsp.stat(input).then((st) => st.isFile(), () => false);
    if (isFile) {
      const { identifyDump } = await import('../../identify/index.js');
      const identity = await identifyDump(input);
      if (identity.buildId && identity.release) {
        const { openCache } = await import('../../cache/index.js');
        const { parseRelease } = await import('../../release/index.js');
        const { IntegrityError } = await import('../../core/errors.js');
        const cache = await openCache(opts.cacheDir, env);
        const rel = parseRelease(identity.release, {
          ...(opts.arch !== undefined ? { arch: opts.arch } : identity.arch ? { arch: identity.arch } : {}),
          ...(opts.distro !== undefined ? { distro: opts.distro } : {}),
        });
        if (!(await cache.readEntry(rel.uname))) {
          try {
            const e = await fetchViaDebuginfod(cache, rel, identity, {
              urls,
              ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
              ...(opts.signal ? { signal: opts.signal } : {}),
            });
            if (e) via = 'debuginfod';
          } catch (err) {
            if (!(err instanceof IntegrityError)) throw err;
            opts.onProgress?.({ kind: 'warning', code: err.code, message: `${err.message}; trying the package route` });
          }
        }
      }
    }
  }
  const fetched = await fetchRelease(input, opts);
  if (via === 'packages' && fetched.cached) via = 'cache';
  return { ...fetched, via };
}

export { debuginfodUrls, fetchViaDebuginfod, type DebuginfodRouteOptions } from './debuginfod.js';
