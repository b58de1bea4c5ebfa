// The debuginfod route of a fetch: a dump that carries a BUILD-ID (VMCOREINFO, kernels ≥ 5.9)
// and configured servers (DEBUGINFOD_URLS, as gdb and elfutils read it, or --debuginfod-url)
// → GET <server>/buildid/<id>/debuginfo → a cache entry for the dump's release, published the way
// the package route publishes one (staging directory, build-id index). The vmlinux's build-id is
// checked against the dump's inside fetchDebuginfo; a mismatch is an IntegrityError and nothing
// is published. Null means "not there": the caller falls back to the package route.
//
// This module imports nothing of ./index.ts (the route is a stage that fetch calls, never the
// other way round); `fetchDebuginfodFirst`, which wraps fetch, lives in ./debuginfod-first.ts.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Cache, ResolvedEntry } from '../../cache/index.js';
import type { Env } from '../../core/env.js';
import type { DumpIdentity, KernelRelease, ProgressListener } from '../../core/types.js';

export interface DebuginfodRouteOptions {
  urls: readonly string[];
  /** A silent gap longer than this in a response ends that attempt (config timeoutSeconds). */
  idleTimeoutMs?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Server URLs: explicit ones (flags/config) first, then DEBUGINFOD_URLS; `KDBG_NO_DEBUGINFOD=1` disables. */
export async function debuginfodUrls(env: Env, explicit: readonly string[] = []): Promise<string[]> {
  if (env['KDBG_NO_DEBUGINFOD'] === '1') return [];
  const { parseDebuginfodUrls } = await import('../../download/debuginfod-urls.js');
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
  const { fetchDebuginfo } = await import('../../download/debuginfod.js');
  const staging = await cache.makeStagingDir(`${rel.uname}-debuginfod`);
  let published = false;
  try {
    const got = await fetchDebuginfo(dump.buildId, {
      urls: opts.urls,
      destFile: join(staging, 'vmlinux'),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
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
