// `kdbg fetch` as a function: release string or dump → verified vmlinux (and sources) in the cache.
// The CLI layer is the only one allowed to compose stages; this module does exactly that:
//
//   identify (dump only) → release grammar → cache lookup → release lock → mirror config →
//   resolve → download ⇉ extract (tee, both packages concurrently) → verify sha256 → content
//   store → publish the release entry (directory rename) → build-id index
//
// A cached release is answered before any mirror configuration is read or any request is made.
// Heavy stages are imported lazily so a warm-cache fetch starts fast.

import { promises as fsp } from 'node:fs';
import { dirname, join, posix, resolve as resolvePath } from 'node:path';
import type { Cache, ResolvedEntry } from '../cache/index.js';
import { InputFormatError, InputNotFoundError, IntegrityError, NotFoundError } from '../core/errors.js';
import type {
  CacheEntry,
  DumpIdentity,
  HttpFetcher,
  KernelRelease,
  PackageProvenance,
  PartialFetchProvenance,
  ProgressListener,
  ResolvedPackage,
  WantedPackage,
} from '../core/types.js';
import type { DownloadOptions } from '../download/index.js';
import type { RetryPolicy } from '../download/retry.js';
import type { ExtractOptions, ExtractResult, MemberSelector, WrittenMember } from '../extract/types.js';

export interface FetchOptions {
  cacheDir?: string;
  mirrors?: string[];
  repos?: string[];
  arch?: string;
  distro?: string;
  /** Debian/Ubuntu package version the release string lacks; default: the dump's, when it says. */
  packageVersion?: string;
  configFile?: string;
  /** Answer from the cache only; NotFoundError (69) when the release is not there. */
  offline?: boolean;
  /** Skip the sources package. */
  vmlinuxOnly?: boolean;
  /** Also extract the modules' debug files. */
  modules?: boolean;
  /**
   * What to do with the debug packages (docs/fetch.md, "Partial fetch"):
   * - `true`: download each package whole, check its sha256 against the repository index and keep
   *   it in packages/sha256/ (a later --modules/sources fetch re-extracts without the network);
   * - unset (default): a block-indexed package (multi-block xz: Debian/Ubuntu debs, RHEL 8+/Fedora
   *   RPMs) of which only the vmlinux is wanted is fetched partially — only the xz blocks holding
   *   the vmlinux, by HTTP Range; anything else (single-block xz as el7, no Range, modules or a
   *   sources package wanted, no size known) is downloaded whole, sha256-checked and kept;
   * - `false`: partial when possible, else downloaded whole, checked, and dropped after extraction.
   */
  keepPackages?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** The process environment (KDBG_CACHE_DIR, XDG_CACHE_HOME, KDBG_CONFIG, proxies); the CLI passes process.env. */
  env?: Record<string, string | undefined>;
  /** HTTP for resolve/ (index files, probes); default the undici fetcher. */
  http?: HttpFetcher;
  retry?: Partial<RetryPolicy>;
  lockTimeoutMs?: number;
  /** Multi-connection download of large packages (see downloadPackage); false turns it off. */
  segmented?: DownloadOptions<unknown>['segmented'];
  /**
   * debuginfod servers to try first when the input is a dump with a BUILD-ID (the `kdbg fetch`
   * command passes DEBUGINFOD_URLS here). Undefined or empty: packages only.
   */
  debuginfodUrls?: readonly string[];
}

export interface FetchedPackage extends PackageProvenance {
  role: 'vmlinux' | 'source';
  /** Stored package path, or null when not kept. */
  path: string | null;
}

export interface FetchResult {
  release: KernelRelease;
  /** The published entry (absolute paths). */
  entry: CacheEntry;
  entryDir: string;
  cacheDir: string;
  vmlinux: string;
  source: string | null;
  modules: string | null;
  /** True when the whole answer came from the cache (no network). */
  cached: boolean;
  packages: FetchedPackage[];
  /** Set when the input was a dump. */
  dump: DumpIdentity | null;
}

/** The --json object of `kdbg fetch` (see docs/fetch.md). */
export function fetchResultJson(r: FetchResult): Record<string, unknown> {
  return {
    release: r.release.uname,
    family: r.release.family,
    vmlinux: r.vmlinux,
    source: r.source,
    packages: r.packages.map((p) => ({
      name: p.name,
      url: p.url,
      sha256: p.sha256,
      size: p.size,
      cached: p.cached,
      // Entries written before these fields existed held whole, verified packages only.
      sha256Verified: p.sha256Verified ?? true,
      partial: p.partial ?? null,
    })),
    cached: r.cached,
  };
}

// ---- input ----------------------------------------------------------------------------------------

/** A dump path is `-`, anything with a slash, or an existing file; everything else is a release string. */
async function isDumpInput(input: string): Promise<boolean> {
  if (input === '-') return true;
  try {
    return (await fsp.stat(input)).isFile();
  } catch {
    if (input.includes('/')) throw new InputNotFoundError(`${input}: no such file (a dump path was expected; a release string has no '/')`, { details: { file: input } });
    return false;
  }
}

async function identify(input: string): Promise<DumpIdentity> {
  const { identifyDump } = await import('../identify/index.js');
  const id = await identifyDump(input);
  if (!id.release) {
    throw new InputFormatError(`${input}: no kernel release found in the dump (no VMCOREINFO OSRELEASE, utsname or banner)`, {
      file: input,
      format: id.format,
    }, { hint: 'pass the release string instead: kdbg fetch <uname -r of the crashed kernel>' });
  }
  return id;
}

// ---- the pipeline ---------------------------------------------------------------------------------

export async function fetchRelease(input: string, opts: FetchOptions = {}): Promise<FetchResult> {
  const env = opts.env ?? process.env;
  const emit = opts.onProgress ?? ((): void => undefined);
  const dump = (await isDumpInput(input)) ? await identify(input) : null;
  const releaseString = dump?.release ?? input;
  const { parseRelease, wantedPackages, vmlinuxMemberPath } = await import('../release/index.js');
  const rel = parseRelease(releaseString, releaseOptions(opts, dump));
  const want = wantedOf(opts);

  const { openCache } = await import('../cache/index.js');
  const cache = await openCache(opts.cacheDir, env);

  const satisfies = (e: ResolvedEntry): boolean => entrySatisfies(e, want);
  // A dump's build-id names its kernel exactly: the buildid/ index answers first.
  const byId = dump?.buildId ? await cache.lookupBuildId(dump.buildId) : null;
  const hit = byId ?? (await cache.readEntry(rel.uname));
  if (hit && satisfies(hit)) return cachedResult(cache, rel, hit, dump);
  if (opts.offline) {
    if (hit) {
      emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: the cached entry lacks ${want.modules && !hit.wanted.modules ? 'modules' : 'sources'}; --offline answers with what is cached` });
      return cachedResult(cache, rel, hit, dump);
    }
    throw new NotFoundError(`${rel.uname}: not in the cache ${cache.root}, and --offline forbids the network`, {
      details: { release: rel.uname, cache: cache.root },
      hint: 'run the same command without --offline once a mirror is reachable',
    });
  }

  const lock = await cache.lockRelease(rel.uname, {
    ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onWait: (h) => emit({ kind: 'info', message: `${rel.uname}: waiting for ${h ? `pid ${h.pid} on ${h.host}` : 'another kdbg'} fetching it` }),
  });
  try {
    // The holder we waited for has probably published it: answer from the cache.
    const again = await cache.readEntry(rel.uname);
    if (again && satisfies(again)) return cachedResult(cache, rel, again, dump);
    if (!again && dump?.buildId && opts.debuginfodUrls && opts.debuginfodUrls.length > 0) {
      // issue 6: a dump's build-id can be served by debuginfod; the package route then only adds
      // what debuginfod does not serve (sources, modules).
      const { fetchViaDebuginfod } = await import('./debuginfod-route.js');
      const viaDbg = await fetchViaDebuginfod(cache, rel, dump, { urls: opts.debuginfodUrls, onProgress: emit, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (viaDbg && satisfies(viaDbg)) return { ...cachedResult(cache, rel, viaDbg, dump), cached: false, packages: viaDbg.entry.packages.map((p) => ({ ...p, cached: false, role: 'vmlinux' as const, path: null })) };
      if (viaDbg) {
        try {
          const r = await fetchLocked(cache, rel, want, viaDbg, dump, opts, { wantedPackages, vmlinuxMemberPath });
          // The debuginfod download happened in this run: not a cache answer.
          const fromDbg = new Set(viaDbg.entry.packages.map((p) => p.url));
          for (const p of r.packages) if (fromDbg.has(p.url)) p.cached = false;
          return { ...r, cached: false };
        } catch (e) {
          // The vmlinux is published and verified against the dump; missing extras are a warning.
          emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: vmlinux from debuginfod; sources/modules unavailable (${(e as Error).message})` });
          return { ...cachedResult(cache, rel, viaDbg, dump), cached: false };
        }
      }
    }
    return await fetchLocked(cache, rel, want, again, dump, opts, { wantedPackages, vmlinuxMemberPath });
  } finally {
    await lock.release();
  }
}

/**
 * The cached-entry early exit on its own: the answer `fetchRelease(input, opts)` would give when
 * a release string's entry is in the cache and has what was asked for; null in every other case
 * (a dump, a miss, an entry lacking sources or modules), where the caller runs fetchRelease. No
 * lock, no mirror configuration, no network, nothing heavier than release/ and cache/ is loaded:
 * `kdbg fetch` answers a warm cache through this before it even loads yargs (docs/speed.md).
 */
export async function fetchFromCache(input: string, opts: FetchOptions = {}): Promise<FetchResult | null> {
  if (await isDumpInput(input)) return null;
  const { parseRelease } = await import('../release/index.js');
  const rel = parseRelease(input, releaseOptions(opts, null));
  const { openCache } = await import('../cache/index.js');
  const cache = await openCache(opts.cacheDir, opts.env ?? process.env);
  const hit = await cache.readEntry(rel.uname);
  return hit && entrySatisfies(hit, wantedOf(opts)) ? cachedResult(cache, rel, hit, null) : null;
}

function releaseOptions(opts: FetchOptions, dump: DumpIdentity | null): { arch?: string; distro?: string; packageVersion?: string } {
  return {
    ...(opts.arch !== undefined ? { arch: opts.arch } : dump?.arch ? { arch: dump.arch } : {}),
    ...(opts.distro !== undefined ? { distro: opts.distro } : {}),
    ...(opts.packageVersion !== undefined ? { packageVersion: opts.packageVersion } : dump?.packageVersion ? { packageVersion: dump.packageVersion } : {}),
  };
}

function wantedOf(opts: FetchOptions): { source: boolean; modules: boolean } {
  return { source: !opts.vmlinuxOnly, modules: opts.modules ?? false };
}

/** A cached entry answers when it was fetched with at least what is asked now. */
function entrySatisfies(e: ResolvedEntry, want: { source: boolean; modules: boolean }): boolean {
  return (!want.source || e.wanted.source) && (!want.modules || e.wanted.modules);
}

function cachedResult(cache: Cache, rel: KernelRelease, hit: ResolvedEntry, dump: DumpIdentity | null): FetchResult {
  return {
    release: rel,
    entry: hit.entry,
    entryDir: hit.dir,
    cacheDir: cache.root,
    vmlinux: hit.entry.vmlinux,
    source: hit.entry.source,
    modules: hit.entry.modules,
    cached: true,
    packages: hit.entry.packages.map((p, i) => ({ ...p, cached: true, role: i === 0 ? 'vmlinux' : 'source', path: null })),
    dump,
  };
}

interface ReleaseFns {
  wantedPackages(rel: KernelRelease, opts: { source: boolean; modules?: boolean }): WantedPackage[];
  vmlinuxMemberPath(rel: KernelRelease): string;
}

async function fetchLocked(
  cache: Cache,
  rel: KernelRelease,
  want: { source: boolean; modules: boolean },
  previous: ResolvedEntry | null,
  dump: DumpIdentity | null,
  opts: FetchOptions,
  fns: ReleaseFns,
): Promise<FetchResult> {
  const emit = opts.onProgress ?? ((): void => undefined);
  const env = opts.env ?? process.env;
  const memberPath = fns.vmlinuxMemberPath(rel);

  // What the previous entry already has need not be fetched again (e.g. --vmlinux-only, then full).
  const reuseVmlinux = previous !== null && (!want.modules || previous.wanted.modules);
  const reuseSource = previous !== null && previous.wanted.source && previous.entry.source !== null;
  const wanted = fns
    .wantedPackages(rel, { source: want.source, modules: want.modules })
    .filter((w) => !(w.role === 'vmlinux' && reuseVmlinux) && !(w.role === 'source' && reuseSource));

  let resolved: ResolvedPackage[] = [];
  if (wanted.length > 0) {
    const resolve = await import('../resolve/index.js');
    const config = await resolve.loadMirrorConfig({
      ...(opts.configFile !== undefined ? { configFile: opts.configFile } : {}),
      mirrors: opts.mirrors ?? [],
      repos: opts.repos ?? [],
      env,
    });
    const { undiciFetcher } = await import('../download/http.js');
    resolved = await resolve.resolvePackages(rel, wanted, {
      config,
      http: opts.http ?? undiciFetcher,
      onProgress: emit,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  // One package per role: the first is the best candidate (Ubuntu lists an alternative second).
  const byRole = new Map<string, ResolvedPackage>();
  for (const p of resolved) if (!byRole.has(p.role)) byRole.set(p.role, p);
  const vmPkg = byRole.get('vmlinux') ?? null;
  const srcPkg = byRole.get('source') ?? null;
  if (!reuseVmlinux && !vmPkg) {
    throw new NotFoundError(`${rel.uname}: no mirror has ${wanted.find((w) => w.role === 'vmlinux')?.fileName ?? 'the debuginfo package'}`, { details: { release: rel.uname } });
  }
  // Debian and Ubuntu ship no separate sources package: only warn where the family has one.
  if (want.source && !reuseSource && !srcPkg && wanted.some((w) => w.role === 'source')) emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: no sources package found; continuing without sources` });

  const staging = await cache.makeStagingDir(rel.uname);
  const entryDir = join(staging, 'entry');
  try {
    const { downloadPackage } = await import('../download/index.js');
    const { extractPackage } = await import('../extract/index.js');
    const select = await import('../extract/select.js');

    const jobs: Array<{ pkg: ResolvedPackage; selector: MemberSelector; stopAfter?: number; dir: string }> = [];
    if (vmPkg) {
      const vm = select.vmlinuxSelector(rel.uname);
      const mods = want.modules ? select.modulesSelector() : null;
      jobs.push({
        pkg: vmPkg,
        selector: mods ? (m) => vm(m) || mods(m) : vm,
        ...(mods ? {} : { stopAfter: 1 }),
        dir: join(staging, 'x-vmlinux'),
      });
    }
    if (srcPkg) jobs.push({ pkg: srcPkg, selector: select.sourceSelector(), dir: join(staging, 'x-source') });

    // p-limit loads here, not at the top: a cache hit never needs it.
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(2);
    // allSettled, not all: a failed package must not leave its sibling writing into a staging
    // directory we are about to remove. The sibling's verified package still lands in the store.
    //
    // A partial vmlinux fetch decodes on every core; the sources package (thousands of small
    // files: ~100 MB of heap churn) waits until it is done instead of competing with it for both
    // (a multi-block RPM fetch peaked at 234 MB with the two side by side). A whole download
    // decodes one stream on one core, and the sources job runs beside it on the other.
    let partialDecided: (partial: boolean) => void = () => undefined;
    const vmlinuxWasPartial = new Promise<boolean>((r) => (partialDecided = r));
    if (!vmPkg) partialDecided(false);
    let vmlinuxRun: Promise<unknown> = Promise.resolve();
    const runJob = async (job: (typeof jobs)[number]) => {
      const isVmlinux = job.pkg === vmPkg;
      if (!isVmlinux && (await vmlinuxWasPartial)) await vmlinuxRun.catch(() => undefined);
      let partial = null;
      try {
        partial = opts.keepPackages !== true ? await partialFetch(job, cache, emit, opts.signal) : null;
      } finally {
        if (isVmlinux) partialDecided(partial !== null);
      }
      return (
        partial ??
        downloadPackage<ExtractResult>(job.pkg, {
          cache,
          consume: async (chunks, attempt) => {
            if (attempt > 0) await cache.removeTree(job.dir); // the bytes it saw were void
            // The download sets the pace here: one decoded block ahead is enough (types.ts).
            const xo: ExtractOptions = { destDir: job.dir, select: job.selector, label: job.pkg.fileName, onProgress: emit, decodeAhead: 1 };
            if (job.stopAfter !== undefined) xo.stopAfter = job.stopAfter;
            if (opts.signal) xo.signal = opts.signal;
            return extractPackage(chunks, xo);
          },
          onProgress: emit,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.retry ? { retry: opts.retry } : {}),
          ...(opts.segmented !== undefined ? { segmented: opts.segmented } : {}),
          ...(opts.lockTimeoutMs !== undefined ? { lockTimeoutMs: opts.lockTimeoutMs } : {}),
        }).then((r) => ({ job, r: { ...r, sha256Verified: true, partial: null } }))
      );
    };
    const settled = await Promise.allSettled(
      jobs.map((job) => {
        const run = limit(() => runJob(job));
        if (job.pkg === vmPkg) vmlinuxRun = run;
        return run;
      }),
    );
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));

    // Lay out the entry: vmlinux, source/, modules/.
    const vmlinuxPath = join(entryDir, 'vmlinux');
    let vmlinuxSha256: string;
    let modulesPath: string | null = null;
    let sourcePath: string | null = null;
    const packages: FetchedPackage[] = [];

    const vmRes = results.find((x) => x.job.pkg.role === 'vmlinux');
    if (vmRes) {
      const written = vmRes.r.consumed?.written ?? [];
      const vm = findVmlinux(written, memberPath);
      if (!vm) {
        throw new InputFormatError(`${vmRes.job.pkg.fileName}: has no ${memberPath}`, {
          file: vmRes.job.pkg.fileName,
          format: vmRes.job.pkg.kind,
          expected: memberPath,
          found: written.length ? written.map((w) => w.member.path).slice(0, 3).join(', ') : 'no matching member',
        }, { hint: 'the package does not match the release; check --arch and the variant' });
      }
      await cache.adopt(vm.path, vmlinuxPath);
      vmlinuxSha256 = vm.sha256 ?? '';
      if (want.modules) {
        const modFiles = written.filter((w) => w !== vm && w.member.type === 'file');
        if (modFiles.length > 0) {
          // Cut at lib/modules/<uname> so modules/ mirrors /lib/modules/<uname>/ (kernel/, extra/, …).
          let root = commonDir(modFiles.map((w) => w.path));
          const cut = root.indexOf(`/lib/modules/${rel.uname}`);
          if (cut >= 0) root = root.slice(0, cut + `/lib/modules/${rel.uname}`.length);
          modulesPath = join(entryDir, 'modules');
          await cache.adopt(root, modulesPath);
        }
      }
    } else {
      // Reused from the previous entry by hard links.
      await cache.linkInto(previous!.entry.vmlinux, vmlinuxPath);
      vmlinuxSha256 = previous!.entry.vmlinuxSha256;
      if (previous!.entry.modules) {
        modulesPath = join(entryDir, 'modules');
        await cache.linkInto(previous!.entry.modules, modulesPath);
      }
    }
    const srcRes = results.find((x) => x.job.pkg.role === 'source');
    if (srcRes) {
      const files = (srcRes.r.consumed?.written ?? []).filter((w) => w.member.type === 'file');
      if (files.length > 0) {
        sourcePath = join(entryDir, 'source');
        await cache.adopt(commonDir(files.map((w) => w.path)), sourcePath);
      }
    } else if (reuseSource && want.source && previous!.entry.source) {
      sourcePath = join(entryDir, 'source');
      await cache.linkInto(previous!.entry.source, sourcePath);
    }

    for (const { job, r } of results) {
      packages.push({
        name: job.pkg.name,
        fileName: job.pkg.fileName,
        url: r.url,
        sha256: r.sha256,
        size: r.size,
        cached: r.cached,
        sha256Verified: r.sha256Verified,
        partial: r.partial,
        role: job.pkg.role,
        path: r.path,
      });
    }
    if (previous) {
      for (const p of previous.entry.packages) if (!packages.some((q) => q.fileName === p.fileName)) packages.push({ ...p, cached: true, role: p === previous.entry.packages[0] ? 'vmlinux' : 'source', path: null });
    }
    packages.sort((x, y) => (x.role === y.role ? 0 : x.role === 'vmlinux' ? -1 : 1));

    const { readFileBuildId } = await import('../download/debuginfod.js');
    let buildId: string | null = null;
    try {
      buildId = await readFileBuildId(vmlinuxPath);
    } catch {
      buildId = null; // not an ELF with a build-id note: the entry still serves by release
    }
    if (dump?.buildId && buildId && dump.buildId !== buildId) {
      emit({ kind: 'warning', code: 'KDBG_E_MISMATCH', message: `${rel.uname}: the vmlinux build-id ${buildId} differs from the dump's ${dump.buildId}` });
    }
    const entry: CacheEntry = {
      release: rel.uname,
      family: rel.family,
      vmlinux: vmlinuxPath,
      vmlinuxSha256,
      source: sourcePath,
      modules: modulesPath,
      buildId,
      banner: dump?.banner ?? previous?.entry.banner ?? null,
      packages: packages.map(({ name, fileName, url, sha256, size, sha256Verified, partial }) => ({
        name,
        fileName,
        url,
        sha256,
        size,
        cached: false,
        sha256Verified: sha256Verified ?? true,
        partial: partial ?? null,
      })),
      createdAt: new Date().toISOString(),
    };
    const published = await cache.publishEntry(entryDir, entry, { source: want.source || (previous?.wanted.source ?? false), modules: want.modules || (previous?.wanted.modules ?? false) });
    if (opts.keepPackages === false) {
      for (const p of packages) if (p.path) await cache.removePackage(p.sha256, p.fileName);
      for (const p of packages) p.path = null;
    }
    return {
      release: rel,
      entry: published.entry,
      entryDir: published.dir,
      cacheDir: cache.root,
      vmlinux: published.entry.vmlinux,
      source: published.entry.source,
      modules: published.entry.modules,
      cached: packages.every((p) => p.cached),
      packages,
      dump,
    };
  } finally {
    await cache.removeTree(staging);
  }
}

/**
 * Below this size a package is downloaded whole: the partial path's own reads (a 64 KiB window at
 * each end for the archive headers and the xz index, one request per block) would save little or
 * nothing — on a 1 MB package they cost more than the package — and the sha256 check is kept.
 */
const PARTIAL_MIN_SIZE = 4 << 20;

/**
 * Unless the package is to be kept (--keep-packages), a block-indexed package (multi-block xz:
 * Debian debs, RHEL 8+ RPMs) need not be downloaded whole: only the xz blocks holding the vmlinux
 * are fetched by Range and checked by their own xz checks and the archive's sizes (docs/speed.md).
 * The package's own sha256 cannot be checked on a part of it: the provenance keeps the index's
 * digest with `sha256Verified: false` and an info line says so. Null: not applicable (single
 * block, no Range, a full walk, no size, already in the store) — download it whole.
 */
async function partialFetch(
  job: { pkg: ResolvedPackage; selector: MemberSelector; stopAfter?: number; dir: string },
  cache: Cache,
  emit: ProgressListener,
  signal: AbortSignal | undefined,
): Promise<{
  job: typeof job;
  r: { url: string; sha256: string; size: number; cached: boolean; path: null; consumed: ExtractResult; sha256Verified: boolean; partial: PartialFetchProvenance };
} | null> {
  const { pkg } = job;
  const url = pkg.urls[0];
  if (job.stopAfter === undefined || pkg.size === null || pkg.size < PARTIAL_MIN_SIZE || url === undefined || (await cache.findPackage(pkg.sha256, pkg.fileName))) return null;
  // An interrupted whole download (a --keep-packages run, or one that fell back) is resumed
  // instead: only its rest is fetched, and no stale partial file is left behind.
  if ((await cache.partialBytes(cache.packageKey(pkg.sha256, pkg.fileName))) > 0) return null;
  const { openRangeReader } = await import('../download/range-reader.js');
  const { tryPartialExtract } = await import('../extract/partial.js');
  try {
    const ra = await openRangeReader(url, pkg.size, signal ? { signal } : {});
    if (!ra) return null;
    const r = await tryPartialExtract(ra, pkg.kind, { destDir: job.dir, select: job.selector, stopAfter: job.stopAfter, label: pkg.fileName, onProgress: emit, ...(signal ? { signal } : {}) });
    if (!r) return null;
    const partial: PartialFetchProvenance = { bytesFetched: ra.bytesReceived, blocksDecoded: r.partial.blocksDecoded, blocksTotal: r.partial.blocksTotal };
    emit({
      kind: 'info',
      message: `${pkg.fileName}: fetched ${partial.bytesFetched} of ${pkg.size} bytes (${partial.blocksDecoded} of ${partial.blocksTotal} xz blocks), each block checked by its xz check; the package sha256 covers the whole file and was not checked (--keep-packages downloads and checks it whole)`,
    });
    return { job, r: { url, sha256: pkg.sha256 ?? '', size: pkg.size, cached: false, path: null, consumed: r, sha256Verified: false, partial } };
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof IntegrityError) throw e;
    emit({ kind: 'warning', code: 'KDBG_E_NETWORK', message: `${pkg.fileName}: partial fetch failed (${(e as Error).message}); downloading the whole package` });
    await cache.removeTree(job.dir);
    return null;
  }
}

function findVmlinux(written: WrittenMember[], memberPath: string): WrittenMember | null {
  const files = written.filter((w) => w.member.type === 'file');
  return (
    files.find((w) => w.member.path === memberPath) ??
    files.find((w) => posix.basename(w.member.path) === posix.basename(memberPath)) ??
    files.find((w) => /^vmlinux(-|$)/.test(posix.basename(w.member.path))) ??
    null
  );
}

/** The deepest directory containing every path. */
function commonDir(paths: string[]): string {
  const split = paths.map((p) => dirname(resolvePath(p)).split('/'));
  const first = split[0] ?? [];
  let n = first.length;
  for (const s of split) {
    let i = 0;
    while (i < n && i < s.length && s[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/') || '/';
}
