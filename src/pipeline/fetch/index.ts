// `fetch`: a release string or a dump → a verified vmlinux (and sources) published in the cache.
// Named stages, each in its own file, each taking the shared FetchContext:
//
//   input (input.ts) → lookup (lookup.ts) → [release lock] → plan, resolve (plan.ts)
//   → download ⇉ extract (download.ts, partial.ts) → verify (verify.ts) → publish (publish.ts)
//
// with the debuginfod route (debuginfod.ts) tried before plan when the input is a dump with a
// build-id and servers are given. A cached release is answered before any mirror configuration
// is read or any request is made; heavy stages are imported lazily so a warm fetch starts fast.

import { cachedResult, type FetchResult } from '../../core/fetch-result.js';
import { memoryWatchFromEnv, processEnv } from '../../core/env.js';
import type { ResolvedEntry } from '../../cache/index.js';
import { cacheDirOf } from '../cache-dir.js';
import { ignoreEvents, stage } from '../events.js';
import { downloadAndExtract } from './download.js';
import { isDumpInput, readInput, releaseOptions } from './input.js';
import { lookupAgain, lookupCache } from './lookup.js';
import { wantedOf, type FetchContext, type FetchOptions } from './options.js';
import { planFetch, resolvePlan } from './plan.js';
import { publish } from './publish.js';
import { verifyVmlinux } from './verify.js';
import { entrySatisfies } from '../../core/fetch-result.js';
import { fsyncClock } from '../../cache/fs-util.js';
import { TimingCollector } from '../timings.js';

export type { FetchOptions } from './options.js';
export { fetchResultJson, type FetchResult, type FetchedPackage } from '../../core/fetch-result.js';

/** Fetch a release; the result carries the phase timings of this run (pipeline/timings.ts). */
export async function fetchRelease(input: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const timer = new TimingCollector();
  const fsync0 = fsyncClock.ms;
  const r = await fetchUntimed(input, { ...opts, onProgress: timer.wrap(opts.onProgress ?? ignoreEvents) });
  return { ...r, timings: timer.finish(fsyncClock.ms - fsync0) };
}

async function fetchUntimed(input: string, opts: FetchOptions): Promise<FetchResult> {
  const env = opts.env ?? processEnv();
  const emit = opts.onProgress ?? ignoreEvents;
  const { rel, dump } = await stage(emit, input, 'input', () => readInput(input, opts));
  const { openCache } = await import('../../cache/index.js');
  const ctx: FetchContext = { cache: await openCache(cacheDirOf({ cacheDir: opts.cacheDir, env })), rel, dump, want: wantedOf(opts), opts, emit, env };
  const first = await stage(emit, rel.uname, 'lookup', () => lookupCache(ctx));
  if (first.answer) return first.answer;

  const lock = await ctx.cache.lockRelease(rel.uname, {
    ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onWait: (h) => emit({ kind: 'info', message: `${rel.uname}: waiting for ${h ? `pid ${h.pid} on ${h.host}` : 'another kdbg'} fetching it` }),
  });
  try {
    const { answer, previous } = await lookupAgain(ctx);
    if (answer) return answer;
    if (!previous && dump?.buildId && opts.debuginfodUrls && opts.debuginfodUrls.length > 0) {
      const viaDbg = await debuginfodRoute(ctx, opts.debuginfodUrls);
      if (viaDbg) return viaDbg;
    }
    return await fetchLocked(ctx, previous);
  } finally {
    await lock.release();
  }
}

/**
 * issue 6: a dump's build-id can be served by debuginfod; the package route then only adds what
 * debuginfod does not serve (sources, modules). Null: debuginfod had nothing.
 */
async function debuginfodRoute(ctx: FetchContext, urls: readonly string[]): Promise<FetchResult | null> {
  const { rel, dump, emit, cache } = ctx;
  const { fetchViaDebuginfod } = await import('./debuginfod.js');
  const viaDbg = await stage(emit, rel.uname, 'debuginfod', () =>
    fetchViaDebuginfod(cache, rel, dump!, { urls, onProgress: emit, ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}) }),
  );
  if (!viaDbg) return null;
  if (entrySatisfies(viaDbg, ctx.want)) return { ...cachedResult(cache.root, rel, viaDbg, dump), cached: false, packages: viaDbg.entry.packages.map((p) => ({ ...p, cached: false, role: 'vmlinux' as const, path: null })) };
  try {
    const r = await fetchLocked(ctx, viaDbg);
    // The debuginfod download happened in this run: not a cache answer.
    const fromDbg = new Set(viaDbg.entry.packages.map((p) => p.url));
    for (const p of r.packages) if (fromDbg.has(p.url)) p.cached = false;
    return { ...r, cached: false };
  } catch (e) {
    // The vmlinux is published and verified against the dump; missing extras are a warning.
    emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: vmlinux from debuginfod; sources/modules unavailable (${(e as Error).message})` });
    return { ...cachedResult(cache.root, rel, viaDbg, dump), cached: false };
  }
}

/** plan → resolve → download ⇉ extract → verify → publish, under the release lock. */
async function fetchLocked(ctx: FetchContext, previous: ResolvedEntry | null): Promise<FetchResult> {
  // Less V8 memory held while the indexes are read and the packages downloaded (core/gc-pressure.ts);
  // started here, not before the cache look: an answer from the cache does not pay for it.
  const { watchMemory } = await import('../../core/gc-pressure.js');
  const memory = watchMemory(memoryWatchFromEnv(ctx.env));
  try {
    return await fetchWork(ctx, previous);
  } finally {
    memory.stop();
  }
}

async function fetchWork(ctx: FetchContext, previous: ResolvedEntry | null): Promise<FetchResult> {
  const { emit, cache, rel } = ctx;
  const plan = await stage(emit, rel.uname, 'plan', () => planFetch(ctx, previous));
  const resolved = await stage(emit, rel.uname, 'resolve', () => resolvePlan(ctx, plan));
  const staging = await cache.makeStagingDir(rel.uname);
  try {
    const results = await stage(emit, rel.uname, 'download', () => downloadAndExtract(ctx, resolved, staging));
    const vm = await stage(emit, rel.uname, 'verify', () => verifyVmlinux(ctx, resolved, results));
    const { join } = await import('node:path');
    return await stage(emit, rel.uname, 'publish', async () => {
      // Placed before the entry appears: a module step that finds the entry finds them too.
      const { namedModules, placeModulesInPass } = await import('./same-pass.js');
      const modulesInPass = await placeModulesInPass(ctx, results, namedModules(ctx));
      const r = await publish(ctx, resolved, results, vm, join(staging, 'entry'));
      return modulesInPass ? { ...r, modulesInPass } : r;
    });
  } finally {
    await cache.removeTree(staging);
  }
}

/**
 * The cached-entry early exit on its own: the answer `fetchRelease(input, opts)` would give when
 * a release string's entry is in the cache and has what was asked for; null in every other case
 * (a dump, a miss, an entry lacking sources or modules), where the caller runs fetchRelease. No
 * lock, no mirror configuration, no network.
 */
export async function fetchFromCache(input: string, opts: FetchOptions = {}): Promise<FetchResult | null> {
  if (await isDumpInput(input)) return null;
  const { parseRelease } = await import('../../release/index.js');
  const rel = parseRelease(input, releaseOptions(opts, null));
  const { openCache } = await import('../../cache/index.js');
  const cache = await openCache(cacheDirOf(opts));
  const hit = await cache.readEntry(rel.uname);
  return hit && entrySatisfies(hit, wantedOf(opts)) ? cachedResult(cache.root, rel, hit, null) : null;
}
