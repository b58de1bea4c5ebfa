// `kdbg sync` (issue 20, item 3): prefetch every kernel the repositories carry that matches the
// filters, the way retrace-server's reposync prepares a host, but each by the fetch pipeline
// (vmlinux only: partial fetch where the package allows it). The kernels are the ones the
// repositories' build-id indexes list (pipeline/buildid-repos.ts: every debuginfo package whose
// filelists names a vmlinux). A sync resumes after a kill by itself: what is published is a
// cache answer, and an interrupted download resumes from the cache's partial/ directory.
// With maxSizeBytes the cache is pruned (least recently used first) after each fetch.

import type { Env } from '../core/env.js';
import type { DistroFamily, HttpFetcher } from '../core/types.js';
import { RepoIndexes, type RepoKernel } from './buildid-repos.js';

export interface SyncOptions {
  cacheDir: string;
  mirrors?: string[];
  repos?: string[];
  configFile?: string;
  env?: Env;
  http?: HttpFetcher;
  family?: DistroFamily;
  arch?: string;
  /** Only releases at least this one (rpm version order of version-release). */
  since?: string;
  /** Only the N newest (after the other filters). */
  newest?: number;
  maxSizeBytes?: number;
  signal?: AbortSignal;
  onInfo?: (message: string) => void;
}

export interface SyncItem {
  release: string;
  /** `cached`: already in the cache; `fetched`: fetched now; `failed`: see error. */
  status: 'cached' | 'fetched' | 'failed';
  package: string;
  repo: string;
  /** Bytes read from the mirror for it (partial fetch: only the ranges). */
  bytes: number;
  ms: number;
  error: string | null;
}

export interface SyncSummary {
  kernels: number;
  fetched: number;
  cached: number;
  failed: number;
  bytes: number;
  prunedBytes: number;
}

/** The kernels a sync would fetch, newest first. */
export async function syncPlan(o: SyncOptions): Promise<RepoKernel[]> {
  const idx = new RepoIndexes({ ...o, ...(o.onInfo ? { onInfo: o.onInfo } : {}) });
  await idx.refresh();
  const { parseRelease, compareEvr } = await import('../release/index.js');
  const since = o.since ? evrOf(o.since) : null;
  const out = idx.kernels().filter((k) => {
    let rel;
    try {
      rel = parseRelease(k.uname);
    } catch {
      return false; // a package naming a release kdbg cannot fetch
    }
    if (o.family && rel.family !== o.family) return false;
    if (o.arch && rel.arch !== o.arch) return false;
    if (since && compareEvr(evrOf(k.uname), since) < 0) return false;
    return true;
  });
  out.sort((a, b) => compareEvr(evrOf(b.uname), evrOf(a.uname)) || a.uname.localeCompare(b.uname));
  return o.newest !== undefined ? out.slice(0, o.newest) : out;
}

/** `3.10.0-327.el7.x86_64` → `3.10.0-327.el7` (arch and variant suffixes dropped) for ordering. */
function evrOf(uname: string): string {
  return uname.replace(/([.+](debug|x86_64|aarch64|ppc64le|s390x|i686|noarch))+$/, '');
}

export async function* syncKernels(o: SyncOptions): AsyncGenerator<SyncItem, SyncSummary> {
  const plan = await syncPlan(o);
  const { fetchRelease } = await import('./fetch/index.js');
  const sum: SyncSummary = { kernels: plan.length, fetched: 0, cached: 0, failed: 0, bytes: 0, prunedBytes: 0 };
  for (const k of plan) {
    if (o.signal?.aborted) break;
    const t0 = Date.now();
    const base = { release: k.uname, package: k.kind === 'deb' ? `${k.name}_${k.evr}_${k.arch}` : `${k.name}-${k.evr}.${k.arch}`, repo: k.repo };
    try {
      const r = await fetchRelease(k.uname, {
        cacheDir: o.cacheDir,
        mirrors: o.mirrors ?? [],
        // A Debian/Ubuntu kernel: through the archives fetch reads, at the version indexed.
        repos: k.kind === 'deb' ? (o.repos ?? []) : [k.repo, ...(o.repos ?? []).filter((x) => x !== k.repo)],
        ...(k.kind === 'deb' ? { packageVersion: k.evr, ...(k.suite !== undefined ? { debSuites: [k.suite] } : {}) } : {}),
        ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
        ...(o.env ? { env: o.env } : {}),
        ...(o.http ? { http: o.http } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        vmlinuxOnly: true,
      });
      let bytes = 0;
      for (const p of r.packages) if (!p.cached) bytes += p.partial ? p.partial.bytesFetched : p.size;
      sum.bytes += bytes;
      if (r.cached) sum.cached++;
      else sum.fetched++;
      if (!r.cached && o.maxSizeBytes !== undefined) sum.prunedBytes += await prune(o.cacheDir, o.maxSizeBytes);
      yield { ...base, status: r.cached ? 'cached' : 'fetched', bytes, ms: Date.now() - t0, error: null };
    } catch (e) {
      if (o.signal?.aborted) throw e;
      sum.failed++;
      yield { ...base, status: 'failed', bytes: 0, ms: Date.now() - t0, error: (e as Error).message };
    }
  }
  return sum;
}

async function prune(cacheDir: string, maxSizeBytes: number): Promise<number> {
  const { openCache } = await import('../cache/index.js');
  const { pruneCache } = await import('../cache/prune.js');
  return (await pruneCache(await openCache(cacheDir), { maxSizeBytes })).freedBytes;
}
