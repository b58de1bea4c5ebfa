// Release + wanted packages → located packages with URLs, size and sha256. For each candidate
// base, in order: repodata/repomd.xml → primary (streamed, stops at the match) → exact href,
// size and checksum; without repodata, a HEAD probe of the family's directory layout. 404, 5xx,
// timeouts and broken indexes move on to the next base. Every URL tried is remembered so that
// "not found anywhere" can say where kdbg looked.

import { AccessError, InputFormatError, NetworkError, NotFoundError } from '../core/errors.js';
import { archiveFor, resolveFromArchives } from './archives.js';
import { discardBody as discard } from '../core/http-body.js';
import type { HttpFetcher, HttpResponse, KernelRelease, ProgressListener, ResolvedPackage, WantedPackage } from '../core/types.js';
import { compareEvr } from '../release/index.js';
import type { MirrorConfig } from './sources.js';
import { decompressIndex } from './decompress.js';
import { readIndexWithRetry } from './index-read.js';
import { resolveDebPackages, type DebResolveOptions } from './deb.js';
import { debTrustOf } from './deb-suite.js';
import { candidatesFor, releaseVars, selectorMatches, type Candidate } from './layout.js';
import { parseMirrorList } from './mirrorlist.js';
import { findInPrimary, type PrimaryPackage } from './repodata.js';
import { cachedIndexGet, type IndexCacheOptions } from './index-cache.js';
import { readRepomd } from './rpm-index.js';
import { isSignatureError, repomdVerifier, rpmGpgcheckFor } from './rpm-trust.js';
import { withRemoteKeys } from './rpm-remote-keys.js';
import { PRESETS } from './presets.js';
import { unsignedPresetNote } from './preset-keys.js';
import { substituteVars } from './yum-repos.js';
import { indexTrees, noPublicLocation } from './china-layout.js';
import { parseDirListing, readListing } from './dir-listing.js';

export interface ResolveOptions {
  config: MirrorConfig;
  http: HttpFetcher;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** The kdbg cache root, where the archives' metadata answers are kept (resolve/archives.ts). */
  cacheRoot?: string;
  debSuites?: string[]; // Debian/Ubuntu: the suites to read on --mirror archives instead of the derived ones
}

export interface Attempt {
  url: string;
  /** `found`, `HTTP 404`, `not in index`, `timeout`, `network: …`, `bad index: …`. */
  result: string;
}

/** Resolve every wanted package; throws NotFoundError when a required one is nowhere. */
export async function resolvePackages(rel: KernelRelease, wanted: WantedPackage[], opts: ResolveOptions): Promise<ResolvedPackage[]> {
  if (rel.family === 'debian' || rel.family === 'ubuntu') {
    try {
      return await resolveDebPackages(rel, wanted, debOptions(rel, opts));
    } catch (e) {
      // Live mirrors first; the archive only when none lists the package.
      if (!(e instanceof NotFoundError) || !archiveFor(rel, opts.config)) throw e;
      return resolveFromArchives(rel, wanted, { config: opts.config, http: opts.http, cacheRoot: opts.cacheRoot ?? null, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }, e);
    }
  }
  return new RpmLookup(rel, opts).run(wanted);
}

/** What the Debian/Ubuntu resolver gets from the mirror configuration. */
export function debOptions(rel: KernelRelease, opts: ResolveOptions): DebResolveOptions {
  const applies = opts.config.sources.filter((s) => s.match.some((m) => selectorMatches(m, rel)));
  const vars = releaseVars(rel);
  const out: DebResolveOptions = {
    mirrors: applies.filter((s) => s.type === 'mirror').map((s) => substituteVars(s.url, vars)),
    repos: applies.filter((s) => s.type === 'repo').map((s) => substituteVars(s.url, vars)),
    aptRoot: opts.config.aptRoot,
    http: opts.http,
    idleTimeoutMs: opts.config.timeoutMs,
    cacheRoot: opts.cacheRoot ?? null, ...(opts.debSuites ? { suites: opts.debSuites } : {}),
    trust: debTrustOf(opts.config, applies, (s) => substituteVars(s.url, vars)),
  };
  if (opts.onProgress) out.onProgress = opts.onProgress;
  return out;
}

/** Resolve `href` (possibly with `../`, or absolute) against a repository base, RFC 3986 style. */
export function resolveHref(base: string, href: string, xmlBase: string | null = null): string {
  const b = xmlBase ? new URL(xmlBase.endsWith('/') ? xmlBase : `${xmlBase}/`, base).href : base;
  return new URL(href, b).href;
}


/** Attempt results that say nothing about whether the package exists. */
const FAILURE = /^(HTTP 5|HTTP 429|timeout|network|bad index|connection lost)/;

interface Hit {
  url: string;
  /** href relative to the base it was found under (for sibling mirrors), or null if absolute. */
  rel: string | null;
  group: string;
  sha256: string | null;
  size: number | null;
  from?: string; // the origin of the candidate it was found through (gpgcheck: rpm-header-trust.ts)
}

class RpmLookup {
  private readonly attempts: Attempt[] = [];
  private readonly groups = new Map<string, string[]>();
  private readonly timeoutMs: number;
  /** The first refusal by an authenticated repository: the answer when nothing else has the package. */
  private accessError: AccessError | null = null;

  constructor(
    private readonly rel: KernelRelease,
    private readonly opts: ResolveOptions,
  ) {
    this.timeoutMs = opts.config.timeoutMs;
  }

  private progress(e: Parameters<ProgressListener>[0]): void {
    this.opts.onProgress?.(e);
  }

  private signal(ms: number): AbortSignal {
    const t = AbortSignal.timeout(ms);
    return this.opts.signal ? AbortSignal.any([this.opts.signal, t]) : t;
  }

  private record(url: string, result: string): void {
    this.attempts.push({ url, result });
    if (FAILURE.test(result)) this.progress({ kind: 'warning', code: 'KDBG_W_MIRROR', message: `${url}: ${result}; trying the next location` });
  }

  private why(e: unknown, url?: string): string {
    if (this.opts.signal?.aborted) throw e; // the user gave up: stop, do not fail over
    const err = e as Error;
    const msg = url && err.message.startsWith(`${url}: `) ? err.message.slice(url.length + 2) : err.message;
    if (e instanceof AccessError) {
      this.accessError ??= e;
      return `access: ${msg}`;
    }
    if (e instanceof InputFormatError) return `bad index: ${err.message}`;
    // Our per-request AbortSignal.timeout fired (undici reports it as an abort).
    if (err.name === 'TimeoutError' || err.name === 'AbortError' || /abort|timeout/i.test(err.message)) return 'timeout';
    return `network: ${msg}`;
  }

  async run(wanted: WantedPackage[]): Promise<ResolvedPackage[]> {
    const queue: Candidate[] = candidatesFor(this.rel, this.opts.config);
    for (const c of queue) if (c.kind === 'repo') this.groups.set(c.group, [...(this.groups.get(c.group) ?? []), c.base]);
    const hits = new Map<number, Hit>();
    const pending = (): number[] => wanted.map((_, i) => i).filter((i) => !hits.has(i));

    while (queue.length > 0 && pending().length > 0) {
      const c = queue.shift()!;
      if (c.kind === 'list' && c.listType === 'index') {
        queue.unshift(...(await this.expandIndex(c)));
        continue;
      }
      // The sources sit beside the vmlinux package: once it is found, searched trees stop.
      if (c.kind === 'repo' && c.besideRequired && pending().every((i) => !wanted[i]!.required)) continue;
      if (c.kind === 'list') {
        const bases = await this.expandList(c.url, c.listType);
        this.groups.set(c.group, bases);
        const use = bases.slice(0, this.opts.config.mirrorsPerList).map((base): Candidate => ({ kind: 'repo', base, flat: c.flat, origin: c.origin, group: c.group }));
        queue.unshift(...use);
        continue;
      }
      if (c.kind === 'template') {
        for (const i of pending()) {
          const w = wanted[i]!;
          if (!w.fileName) continue;
          const url = substituteVars(c.template, releaseVars(this.rel, w));
          const h = await this.probe(url);
          if (h === 'broken') break;
          if (h) hits.set(i, { url, rel: null, group: c.group, sha256: null, size: h.size, from: c.origin });
        }
        continue;
      }
      this.progress({ kind: 'info', message: `looking in ${c.base} (${c.origin})` });
      const found = await this.searchRepo(c, pending().map((i) => wanted[i]!));
      const idx = pending();
      found.forEach((h, k) => {
        if (h) hits.set(idx[k]!, { ...h, from: c.origin });
      });
    }

    const out: ResolvedPackage[] = [];
    const missingRequired = wanted.filter((w, i) => w.required && !hits.has(i));
    if (missingRequired.length > 0) throw this.notFound(missingRequired);
    wanted.forEach((w, i) => {
      const h = hits.get(i);
      if (!h) {
        this.progress({ kind: 'warning', code: 'KDBG_W_OPTIONAL_NOT_FOUND', message: `${w.fileName ?? w.name}: not found on any mirror; continuing without it` });
        return;
      }
      const siblings = h.rel === null ? [] : (this.groups.get(h.group) ?? []).map((b) => resolveHref(b, h.rel!));
      const urls = [...new Set([h.url, ...siblings])];
      // A vault or Koji preset says so in --json; everything else is a live mirror.
      const origin = PRESETS.find((p) => h.group === `preset:${p.id}`)?.origin ?? 'mirror';
      const gpgcheck = rpmGpgcheckFor(h.from, this.opts.config);
      const unsigned = unsignedPresetNote(h.from, this.opts.config);
      if (unsigned) this.progress({ kind: 'warning', code: 'KDBG_W_UNSIGNED_PRESET', message: `${h.url}: ${unsigned}` });
      out.push({ ...w, fileName: w.fileName ?? decodeURIComponent(h.url.split('/').pop() ?? w.name), urls, sha256: h.sha256, size: h.size, origin, ...(gpgcheck ? { gpgcheck } : {}) });
    });
    return withRemoteKeys(out, { http: this.opts.http, cacheRoot: this.opts.cacheRoot, onProgress: this.opts.onProgress, signal: this.opts.signal, timeoutMs: this.timeoutMs, vars: releaseVars(this.rel) }); // gpgkey=https://…, $releasever (rpm-remote-keys.ts)
  }

  private notFound(missing: WantedPackage[]): NotFoundError | NetworkError | AccessError {
    // Certificates and credentials are not fixed by another try: say what the repository refused.
    if (this.accessError) return this.accessError;
    const tried = [...new Set(this.attempts.map((a) => a.url))];
    const names = missing.map((w) => w.fileName ?? w.name).join(', ');
    const nowhere = tried.length === 0 ? noPublicLocation(this.rel, names) : null;
    if (nowhere) return new NotFoundError(nowhere, { details: { packages: missing.map((w) => w.name), tried, attempts: [] }, hint: 'see docs/mirrors.md, "Sites without a public location"' });
    if (tried.length === 0) {
      return new NotFoundError(`${names}: no mirror is configured for ${this.rel.uname} (${this.rel.family}${this.rel.distro ? `, ${this.rel.distro}` : ''})`, {
        details: { packages: missing.map((w) => w.name), tried, attempts: [] },
        hint: 'give --repo URL or --mirror URL, or list mirrors in a config file (see docs/mirrors.md)',
      });
    }
    const first = this.attempts.slice(0, 3).map((a) => `${a.url} (${a.result})`).join(', ');
    // Nobody answered "not here": the package may well exist; the network is the problem. (A
    // repomd that was read but whose primary index failed is no answer either.)
    if (this.attempts.every((a) => FAILURE.test(a.result) || (a.result === 'read' && a.url.endsWith('/repomd.xml')))) {
      return new NetworkError(`${names}: no mirror could be reached; ${tried.length} URL${tried.length === 1 ? '' : 's'} tried: ${first}${tried.length > 3 ? ', …' : ''}`, {
        details: { packages: missing.map((w) => w.name), tried, attempts: this.attempts },
        hint: 'check the network and proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), or point --mirror/--repo at a reachable mirror',
      });
    }
    return new NotFoundError(`${names}: not found on any mirror; ${tried.length} URL${tried.length === 1 ? '' : 's'} tried: ${first}${tried.length > 3 ? ', …' : ''}`, {
      details: { packages: missing.map((w) => w.name), tried, attempts: this.attempts },
      hint: 'check the release string and --distro/--arch, or add --repo URL / --mirror URL (see docs/mirrors.md)',
    });
  }

  private async get(url: string, ms: number): Promise<HttpResponse | string> {
    try {
      const res = await this.opts.http.get(url, { signal: this.signal(ms), idleMs: this.timeoutMs });
      if (res.status >= 200 && res.status < 300) return res;
      await discard(res);
      return `HTTP ${res.status}`;
    } catch (e) {
      return this.why(e, url);
    }
  }

  /** GET an index and read it with `consume`, retried when the mirror fails in passing (index-read.ts). */
  private readIndex<T>(url: string, ms: number, consume: (res: HttpResponse) => Promise<T>, sha256: string | null = null): Promise<T | string> {
    return readIndexWithRetry(url, consume, {
      get: cachedIndexGet(sha256, this.indexIo(url, ms), (u) => this.get(u, ms)),
      why: (e) => this.why(e, url),
      onRetry: (attempt, reason) => this.progress({ kind: 'retry', name: url, url, attempt, delayMs: 0, reason }),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
  }

  /** Index reads through the cache (index-cache.ts), with this lookup's timeouts and access errors. */
  private indexIo(url: string, ms: number): IndexCacheOptions {
    const { cacheRoot, http, onProgress, signal } = this.opts;
    return { cacheRoot, http, onProgress, signal, why: (e) => this.why(e, url), rawGet: (u, headers) => http.get(u, { signal: this.signal(ms), idleMs: this.timeoutMs, headers }) };
  }

  private async expandList(url: string, kind: 'mirrorlist' | 'metalink'): Promise<string[]> {
    const res = await this.get(url, this.timeoutMs);
    if (typeof res === 'string') {
      this.record(url, res);
      return [];
    }
    try {
      const bases = await parseMirrorList(res.body, url, kind);
      const vars = releaseVars(this.rel);
      this.record(url, bases.length > 0 ? `list of ${bases.length}` : 'empty list');
      return bases.map((b) => substituteVars(b, vars));
    } catch (e) {
      this.record(url, this.why(e));
      return [];
    }
  }

  /** A mirror's listing of trees → the searched repositories under each, newest tree first. */
  private async expandIndex(c: Extract<Candidate, { kind: 'list'; listType: 'index' }>): Promise<Candidate[]> {
    const res = await this.get(c.url, this.timeoutMs);
    let listed: string[] | null = null;
    if (typeof res === 'string') this.record(c.url, res);
    else {
      try {
        listed = parseDirListing(await readListing(res.body));
        this.record(c.url, `listing of ${listed.length}`);
      } catch (e) {
        this.record(c.url, this.why(e, c.url));
      }
    }
    const trees = indexTrees(c.index, listed);
    return trees.flatMap((t) =>
      c.index.subs.map((sub): Candidate => {
        const dir = sub.dir.replace('{ver}', t);
        const base = resolveHref(c.url, dir);
        this.groups.set(`${c.group}:${dir}`, [...(this.groups.get(`${c.group}:${dir}`) ?? []), base]);
        return { kind: 'repo', base, flat: sub.flat, origin: c.origin, group: `${c.group}:${dir}`, headOnly: true, besideRequired: true };
      }),
    );
  }

  /** HEAD a package URL: size on 200, null on 404/410, 'broken' on 5xx/network (skip the base). */
  private async probe(url: string): Promise<{ size: number | null } | null | 'broken'> {
    try {
      const res = await this.opts.http.head(url, { signal: this.signal(this.timeoutMs) });
      if (res.status >= 200 && res.status < 300) {
        this.record(url, 'found');
        const n = Number(res.headers['content-length']);
        return { size: Number.isSafeInteger(n) && n >= 0 && res.headers['content-length'] !== undefined ? n : null };
      }
      this.record(url, `HTTP ${res.status}`);
      return res.status >= 500 ? 'broken' : null;
    } catch (e) {
      this.record(url, this.why(e, url));
      return 'broken';
    }
  }

  /** Search one repository base for all pending packages; a null entry is "not here". */
  private async searchRepo(c: Extract<Candidate, { kind: 'repo' }>, pend: WantedPackage[]): Promise<(Hit | null)[]> {
    const none = pend.map(() => null);
    if (c.headOnly) return this.probeFlat(c, pend);
    const repomdUrl = `${c.base}repodata/repomd.xml`;
    let primaryHref: string;
    let primarySha: string | null;
    try {
      const r = await readRepomd(repomdUrl, this.indexIo(repomdUrl, this.timeoutMs), repomdVerifier(c.origin, this.opts.config, this.indexIo(repomdUrl, this.timeoutMs)));
      if (typeof r === 'string') {
        this.record(repomdUrl, r);
        // No repodata (404): a plain directory, probe it. 5xx/timeout: the mirror is unwell, move on.
        if (r === 'HTTP 404' || r === 'HTTP 403' || r === 'HTTP 410') return this.probeFlat(c, pend);
        return none;
      }
      ({ primaryHref, primarySha256: primarySha } = r);
    } catch (e) {
      if (isSignatureError(e)) throw e; // repo_gpgcheck refused it: exit 65, not "try the next mirror"
      // Not a repomd (e.g. an HTML page served with 200): this base cannot be trusted.
      this.record(repomdUrl, this.why(e));
      return none;
    }
    this.record(repomdUrl, 'read');
    const primaryUrl = resolveHref(c.base, primaryHref);
    try {
      const queries = pend.map((w) => ({ name: w.name, arch: w.arch, evr: w.evr, ...(w.evrPrefix !== undefined ? { evrPrefix: w.evrPrefix } : {}) }));
      const newer = (a: PrimaryPackage, b: PrimaryPackage): number => compareEvr(`${a.epoch}:${a.ver}-${a.rel}`, `${b.epoch}:${b.ver}-${b.rel}`);
      const found = await this.readIndex(primaryUrl, this.timeoutMs * 10, (res) => findInPrimary(decompressIndex(res.body, primaryUrl), primaryUrl, queries, newer), primarySha);
      if (typeof found === 'string') {
        this.record(primaryUrl, found);
        return found.startsWith('HTTP 4') ? this.probeFlat(c, pend) : none;
      }
      this.record(primaryUrl, found.every((f) => f === null) ? 'not in index' : 'read');
      const hits = found.map((p, k) => (p ? this.hitFromIndex(c, p, pend[k]!) : null));
      // An index that does not list the required package may still sit beside the file.
      if (c.probeAfterIndex && hits.some((h, k) => h === null && pend[k]!.required)) {
        const missing = pend.filter((_, k) => hits[k] === null);
        const probed = await this.probeFlat(c, missing);
        let j = 0;
        return hits.map((h) => h ?? probed[j++] ?? null);
      }
      return hits;
    } catch (e) {
      // A corrupt index: another mirror's index (with checksums) beats guessing here.
      this.record(primaryUrl, this.why(e));
      return none;
    }
  }

  private hitFromIndex(c: Extract<Candidate, { kind: 'repo' }>, p: PrimaryPackage, w: WantedPackage): Hit {
    const url = resolveHref(c.base, p.href, p.base);
    const type = p.checksumType.toLowerCase();
    let sha256: string | null = null;
    if (type === 'sha256' && /^[0-9a-f]{64}$/.test(p.checksum)) sha256 = p.checksum;
    else
      this.progress({
        kind: 'warning',
        code: 'KDBG_W_NO_SHA256',
        message: `${w.fileName ?? w.name}: the index at ${c.base} gives a ${type || 'missing'} checksum, not sha256; the download is checked by size only`,
      });
    this.record(url, 'found');
    // Sibling mirrors hold the same tree: keep the href relative to the base unless xml:base moved it.
    return { url, rel: p.base ? null : p.href, group: c.group, sha256, size: p.size };
  }

  private async probeFlat(c: Extract<Candidate, { kind: 'repo' }>, pend: WantedPackage[]): Promise<(Hit | null)[]> {
    const out: (Hit | null)[] = pend.map(() => null);
    // Required packages first; with besideRequired, optional ones only where a required one is.
    const order = pend.map((_, k) => k).sort((x, y) => Number(pend[y]!.required) - Number(pend[x]!.required));
    for (const k of order) {
      const w = pend[k]!;
      if (!w.fileName) continue;
      if (c.besideRequired && !w.required && !out.some((h, j) => h && pend[j]!.required)) continue;
      for (const dir of c.flat) {
        const relPath = `${dir}${encodeURIComponent(w.fileName).replace(/%2B/g, '+')}`;
        const url = resolveHref(c.base, relPath);
        const h = await this.probe(url);
        if (h === 'broken') return out;
        if (h) {
          out[k] = { url, rel: relPath, group: c.group, sha256: null, size: h.size };
          break;
        }
      }
    }
    return out;
  }
}
