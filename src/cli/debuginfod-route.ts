// The debuginfod route of a fetch: a dump that carries a BUILD-ID (VMCOREINFO, kernels ≥ 5.9)
// and configured servers (DEBUGINFOD_URLS, as gdb and elfutils read it, or --debuginfod-url)
// → GET <server>/buildid/<id>/debuginfo → a cache entry for the dump's release, published the way
// the package route publishes one (staging directory, build-id index). The vmlinux's build-id is
// checked against the dump's inside fetchDebuginfo; a mismatch is an IntegrityError and nothing
// is published. Null means "not there": the caller falls back to the package route.
//
// For commands: `fetchDebuginfodFirst(input, opts)` is `fetchRelease(input, opts)` with this route
// tried first. `kdbg watch` uses it; `kdbg fetch` and `kdbg analyze` get the route by calling it
// instead of fetchRelease (same options plus `debuginfodUrls`, same result plus `via`).

import type { Cache, ResolvedEntry } from '../cache/index.js';
import type { FetchOptions, FetchResult } from './fetch-pipeline.js';
import type { DumpIdentity, KernelRelease, ProgressListener } from '../core/types.js';

export interface DebuginfodRouteOptions {
  urls: readonly string[];
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Server URLs: explicit ones (flags/config) first, then DEBUGINFOD_URLS; `KDBG_NO_DEBUGINFOD=1` disables. */
export async function debuginfodUrls(env: Record<string, string | undefined>, explicit: readonly string[] = []): Promise<string[]> {
  if (env['KDBG_NO_DEBUGINFOD'] === '1') return [];
  const { parseDebuginfodUrls } = await import('../download/debuginfod-urls.js');
  const out = parseDebuginfodUrls(explicit.join(' '));
  for (const u of parseDebuginfodUrls(env['DEBUGINFOD_URLS'])) if (!out.includes(u)) out.push(u);
  return out;
}

/**
 * Fetch the dump's vmlinux by build-id and publish it as the entry for `rel`. Returns the
 * published entry, or null (no build-id, no servers, or no server has it).
 */
export async function fetchViaDebuginfod(cache: Cache, rel: KernelRelease, dump: DumpIdentity, opts: DebuginfodRouteOptions): Promise<ResolvedEntry | null> {
  if (!dump.buildId || opts.urls.length === 0) return null;
  const { fetchDebuginfo } = await import('../download/debuginfod.js');
  const { join } = await import('node:path');
  const { promises: fsp } = await import('node:fs');
  const staging = await cache.makeStagingDir(`${rel.uname}-debuginfod`);
  let published = false;
  try {
    const got = await fetchDebuginfo(dump.buildId, {
      urls: opts.urls,
      destFile: join(staging, 'vmlinux'),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!got) return null;
    opts.onProgress?.({ kind: 'info', message: `${rel.uname}: vmlinux from debuginfod ${got.server} (build-id ${got.buildId})` });
    const entry = await cache.publishEntry(
      staging,
      {
        release: rel.uname,
        family: rel.family,
        vmlinux: got.path,
        vmlinuxSha256: got.sha256,
        source: null,
        modules: null,
        buildId: got.buildId,
        banner: dump.banner,
        packages: [{ name: 'debuginfod', fileName: got.serverFile ?? 'debuginfo', url: got.url, sha256: got.sha256, size: got.size, cached: false }],
        createdAt: new Date().toISOString(),
      },
      { source: false, modules: false },
    );
    published = true;
    return entry;
  } finally {
    if (!published) await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}

export interface DebuginfodFirstOptions extends FetchOptions {
  /** Servers from flags or config, tried before DEBUGINFOD_URLS. */
  debuginfodUrls?: readonly string[];
  /** False skips the route (--no-debuginfod). Default true; --offline skips it too. */
  debuginfod?: boolean;
}

export type FetchVia = 'cache' | 'debuginfod' | 'packages';

/**
 * fetchRelease with the debuginfod route first: when `input` is a dump file with a BUILD-ID and
 * the cache has no entry for its release, ask the debuginfod servers; what they publish is then
 * answered by fetchRelease from the cache (which fetches only what is still wanted, e.g. the
 * sources package). A server answering with a wrong build-id publishes nothing; that is reported
 * as a warning event and the package route is taken.
 */
export async function fetchDebuginfodFirst(input: string, opts: DebuginfodFirstOptions = {}): Promise<FetchResult & { via: FetchVia }> {
  const env = opts.env ?? {};
  const { fetchRelease } = await import('./fetch-pipeline.js');
  let via: FetchVia = 'packages';
  const urls = opts.debuginfod === false || opts.offline ? [] : await debuginfodUrls(env, opts.debuginfodUrls ?? []);
  if (urls.length > 0 && input !== '-') {
    const { promises: fsp } = await import('node:fs');
    const isFile = await fsp.stat(input).then((st) => st.isFile(), () => false);
    if (isFile) {
      const { identifyDump } = await import('../identify/index.js');
      const identity = await identifyDump(input);
      if (identity.buildId && identity.release) {
        const { openCache } = await import('../cache/index.js');
        const { parseRelease } = await import('../release/index.js');
        const { IntegrityError } = await import('../core/errors.js');
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
