// `kdbg serve --fetch` (issue 20, item 1): a build-id that is not in the cache is looked up in the
// repositories' build-id indexes (pipeline/buildid-repos.ts), its kernel release fetched by the
// same pipeline `kdbg fetch` runs (partial fetch where the package allows it, vmlinux verified,
// published in the cache), and then answered from the cache like any hit.
//
// - One fetch per id at a time: every request for an id that is being fetched waits on the same
//   promise. The promise belongs to no request, so a client that disconnects cancels nothing, and
//   a client that gave up and asks again gets the finished answer (or joins the running fetch).
// - At most `maxFetches` fetches run at once; the rest wait in order.
// - An id no index knows (and no upstream has) is remembered as unknown for `negativeTtlMs`, so a
//   client asking again, or many clients, get an immediate 404 without a refresh or a request.
// - A module's id names the package and release but not the file: the vmlinux is fetched first
//   (the partial path), and when the id is not the vmlinux's, the release's modules.

import type { BuildIdIndexHit } from '../resolve/buildid-index.js';
import type { RepoIndexes } from '../pipeline/buildid-repos.js';
import type { FetchOptions } from '../pipeline/fetch/options.js';
import type { CacheReader } from './cache-reader.js';

export interface MissFetcherOptions {
  /** What fetch needs besides the release: cacheDir, mirrors, repos, configFile, env, http. */
  fetch: FetchOptions;
  indexes: RepoIndexes | null;
  reader: CacheReader;
  maxFetches?: number;
  negativeTtlMs?: number;
  onInfo?: (message: string) => void;
}

export type MissOutcome =
  /** Fetched and published: the caller looks the id up in the cache again. */
  | { kind: 'fetched'; release: string }
  /** No index knows the id. */
  | { kind: 'unknown'; cachedNegative: boolean }
  /** The index knows it but the fetch failed (or published a release without that id). */
  | { kind: 'failed'; release: string | null; message: string };

export interface MissCounters {
  misses: number;
  fetches: number;
  fetchFailures: number;
  /** Requests that waited on a fetch another request had started. */
  joined: number;
  negativeHits: number;
  /** Bytes the fetches read from mirrors (partial fetch: only the ranges read). */
  bytesFetched: number;
}

export class MissFetcher {
  readonly counters: MissCounters = { misses: 0, fetches: 0, fetchFailures: 0, joined: 0, negativeHits: 0, bytesFetched: 0 };
  private readonly inflight = new Map<string, Promise<MissOutcome>>();
  private readonly negative = new Map<string, number>();
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly opts: MissFetcherOptions) {}

  get negativeTtlMs(): number {
    return this.opts.negativeTtlMs ?? 600_000;
  }

  /** Fetches running now (bounded by maxFetches). */
  get active(): number {
    return this.running;
  }

  /** Resolve and fetch `id` (shared with every concurrent caller for the same id). */
  miss(id: string, want: { sources?: boolean } = {}): Promise<MissOutcome> {
    this.counters.misses++;
    const until = this.negative.get(id);
    if (until !== undefined) {
      if (Date.now() < until) {
        this.counters.negativeHits++;
        return Promise.resolve({ kind: 'unknown', cachedNegative: true });
      }
      this.negative.delete(id);
    }
    // A request for sources waits on its own fetch (the vmlinux fetch does not bring them).
    const key = want.sources ? `${id}:source` : id;
    const running = this.inflight.get(key);
    if (running) {
      this.counters.joined++;
      return running;
    }
    const p = this.run(id, want.sources === true).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Remember `id` as unknown (also used by the server when no upstream had it). */
  rememberUnknown(id: string): void {
    const ttl = this.negativeTtlMs;
    if (ttl <= 0) return;
    // Bounded: a client walking random ids must not grow this without end.
    if (this.negative.size >= 100_000) {
      const now = Date.now();
      for (const [k, t] of this.negative) if (t <= now) this.negative.delete(k);
      if (this.negative.size >= 100_000) this.negative.delete(this.negative.keys().next().value!);
    }
    this.negative.set(id, Date.now() + ttl);
  }

  isKnownUnknown(id: string): boolean {
    const until = this.negative.get(id);
    return until !== undefined && Date.now() < until;
  }

  private async run(id: string, sources: boolean): Promise<MissOutcome> {
    const hit = this.opts.indexes ? await this.opts.indexes.lookupFresh(id) : null;
    // Not remembered here: the server asks its upstream servers first, then remembers.
    if (!hit || !hit.uname) {
      return { kind: 'unknown', cachedNegative: false };
    }
    await this.slot();
    try {
      return sources ? await this.fetchSources(id, { ...hit, uname: hit.uname }) : await this.fetchFor(id, { ...hit, uname: hit.uname });
    } finally {
      this.release();
    }
  }

  /** The release with its sources package (a `/source/…` request): fetch adds only what is missing. */
  private async fetchSources(id: string, hit: BuildIdIndexHit & { uname: string }): Promise<MissOutcome> {
    const { fetchRelease } = await import('../pipeline/fetch/index.js');
    const base = this.opts.fetch;
    try {
      this.counters.fetches++;
      this.countBytes(await fetchRelease(hit.uname, { ...base, repos: [hit.repo, ...(base.repos ?? []).filter((r) => r !== hit.repo)], vmlinuxOnly: false }));
      await this.opts.reader.scan(true);
      const h = await this.opts.reader.lookup(id);
      if (h?.sourceDir) return { kind: 'fetched', release: hit.uname };
      this.counters.fetchFailures++;
      return { kind: 'failed', release: hit.uname, message: `${hit.uname} was fetched but no sources were published for build-id ${id}` };
    } catch (e) {
      this.counters.fetchFailures++;
      return { kind: 'failed', release: hit.uname, message: (e as Error).message };
    }
  }

  private async fetchFor(id: string, hit: BuildIdIndexHit & { uname: string }): Promise<MissOutcome> {
    const { fetchRelease } = await import('../pipeline/fetch/index.js');
    const base = this.opts.fetch;
    // The repository whose index named the id first: rebuilds share NVRs, not build-ids. A
    // Debian/Ubuntu hit: the archives fetch reads anyway, pinned to the package version indexed
    // (a suite and its -security pocket may carry two builds of one release). An out-of-tree
    // module package's version is its own, not the kernel's: no pin then (the release's newest).
    const { isModuleDebugPackage } = await import('../resolve/deb-modules.js');
    const pin = hit.kind === 'deb' && !isModuleDebugPackage(hit.package.name, hit.uname);
    const o: FetchOptions =
      hit.kind === 'deb'
        ? {
            ...base,
            ...(pin ? { packageVersion: `${hit.package.epoch === '0' ? '' : `${hit.package.epoch}:`}${hit.package.ver}${hit.package.rel === '' ? '' : `-${hit.package.rel}`}` } : {}),
            ...(hit.suite !== null ? { debSuites: [hit.suite] } : {}),
            vmlinuxOnly: true,
          }
        : { ...base, repos: [hit.repo, ...(base.repos ?? []).filter((r) => r !== hit.repo)], vmlinuxOnly: true };
    const t0 = Date.now();
    try {
      this.counters.fetches++;
      const r = await fetchRelease(hit.uname, o);
      this.countBytes(r);
      await this.opts.reader.scan(true);
      if (await this.opts.reader.lookup(id)) {
        const p = hit.package;
        const pkg = hit.kind === 'deb' ? `${p.name}_${o.packageVersion ?? p.ver}_${p.arch}` : `${p.name}-${p.ver}-${p.rel}.${p.arch}`;
        this.opts.onInfo?.(`fetch on miss: ${id} → ${pkg} (${hit.uname}) in ${Date.now() - t0} ms`);
        return { kind: 'fetched', release: hit.uname };
      }
      // Not the vmlinux: a module. Its file alone when the package header names the link's target.
      const vm = r.packages.find((p) => p.role === 'vmlinux');
      const { moduleNameOfLink } = await import('../pipeline/module-by-id.js');
      const { moduleOfPath } = await import('../pipeline/fetch/modules.js');
      // A Debian index names the `.ko` itself (it read the file's notes).
      const name = hit.kind === 'deb' ? moduleOfPath(hit.member) : vm ? await moduleNameOfLink(vm, hit.member) : null;
      if (name) {
        const { fetchModuleDebug } = await import('../pipeline/fetch/modules.js');
        const m = await fetchModuleDebug(r, [name], o);
        for (const p of m.packages) this.counters.bytesFetched += p.bytesRead;
        this.opts.reader.forgetModules(hit.uname);
        if (await this.opts.reader.lookup(id)) {
          this.opts.onInfo?.(`fetch on miss: ${id} → module ${name} of ${hit.uname} alone in ${Date.now() - t0} ms`);
          return { kind: 'fetched', release: hit.uname };
        }
      }
      // Every module of the release (the header could not say, or the payload is one xz block).
      this.countBytes(await fetchRelease(hit.uname, { ...o, modules: true }));
      await this.opts.reader.scan(true);
      if (await this.opts.reader.lookup(id)) {
        this.opts.onInfo?.(`fetch on miss: ${id} → a module of ${hit.uname} in ${Date.now() - t0} ms`);
        return { kind: 'fetched', release: hit.uname };
      }
      this.counters.fetchFailures++;
      return { kind: 'failed', release: hit.uname, message: `${hit.uname} was fetched but holds no file with build-id ${id}` };
    } catch (e) {
      this.counters.fetchFailures++;
      this.opts.onInfo?.(`fetch on miss: ${id} (${hit.uname}) failed: ${(e as Error).message}`);
      return { kind: 'failed', release: hit.uname, message: (e as Error).message };
    }
  }

  private countBytes(r: { cached: boolean; packages: { cached: boolean; size: number; partial?: { bytesFetched: number } | null }[] }): void {
    for (const p of r.packages) if (!p.cached) this.counters.bytesFetched += p.partial ? p.partial.bytesFetched : p.size;
  }

  private slot(): Promise<void> {
    if (this.running < (this.opts.maxFetches ?? 2)) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.queue.push(() => {
        this.running++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.running--;
    this.queue.shift()?.();
  }
}
