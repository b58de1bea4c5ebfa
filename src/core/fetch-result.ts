// The result of a fetch as plain data: what the pipeline returns, what the CLI renders and what
// the warm-cache fast path of `kdbg fetch` builds without loading the pipeline (src/cli/fast-fetch.ts).

import type { CacheEntry, DumpIdentity, KernelRelease, PackageProvenance, PackageRole } from './types.js';

export interface FetchedPackage extends PackageProvenance {
  role: PackageRole;
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
  /** SUSE: the stripped kernel image crash loads beside the debug-only `vmlinux`. */
  image?: string | null;
  /** True when the whole answer came from the cache (no network). */
  cached: boolean;
  packages: FetchedPackage[];
  /** Set when the input was a dump. */
  dump: DumpIdentity | null;
  /** Phase timings of this run (src/pipeline/timings.ts); absent on answers made without the pipeline. */
  timings?: FetchTimings;
  /**
   * FetchOptions.moduleNames, when the vmlinux package was read whole with them (an RPM): the names
   * asked, and the debug files taken in that pass. A name asked and not taken is not in the package.
   * Absent when none were asked or the package was not read that way.
   */
  modulesInPass?: { asked: string[]; taken: { name: string; path: string; member: string; package: string }[] };
}

/** Phase timings of one fetch, in milliseconds (docs/fetch.md, "Timings"). */
export interface FetchTimings {
  totalMs: number;
  inputMs: number;
  lookupMs: number;
  planMs: number;
  resolveMs: number;
  downloadMs: number;
  verifyMs: number;
  publishMs: number;
  debuginfodMs: number;
  /** totalMs minus the stages: the release lock, the second cache look, staging set-up and removal. */
  otherMs: number;
  /** Part of resolveMs. */
  indexReadMs: number;
  /** Part of resolveMs: the signature checks (gpgv) of InRelease / repomd.xml.asc (issue 16). */
  signatureMs: number;
  /** Part of downloadMs: the RPM header signature checks (gpgv) of packages from gpgcheck=1 repositories (issue 16). */
  headerSignatureMs: number;
  /** Index files read: from the network, confirmed by a 304, or from the cache without a request. */
  indexes: { network: number; notModified: number; cache: number; bytesFromNetwork: number };
  /** Part of downloadMs; null when no whole package was downloaded. */
  firstByteMs: number | null;
  /** Part of downloadMs; null when no whole package was downloaded. */
  transferMs: number | null;
  /** Part of publishMs; null when nothing was published. */
  fsyncMs: number | null;
  /** Part of downloadMs: an xz decoder at work (pipeline/timings.ts); null when no decoder had a clock. */
  decodeBusyMs: number | null;
  /** downloadMs minus decodeBusyMs; null with it. */
  decodeIdleMs: number | null;
  /** Part of downloadMs: the writes of extracted members; null when none was timed. */
  writeMs: number | null;
}

/** What a fetch asks for beside the vmlinux. */
export interface Wanted {
  source: boolean;
  modules: boolean;
}

/** A cache entry as the cache stage resolves it (structurally cache/'s ResolvedEntry). */
export interface CachedEntry {
  dir: string;
  entry: CacheEntry;
  wanted: Wanted;
}

/** A cached entry answers when it was fetched with at least what is asked now. */
export function entrySatisfies(e: CachedEntry, want: Wanted): boolean {
  return (!want.source || e.wanted.source) && (!want.modules || e.wanted.modules);
}

/** The answer a cached entry gives, every package marked cached. */
export function cachedResult(cacheDir: string, rel: KernelRelease, hit: CachedEntry, dump: DumpIdentity | null): FetchResult {
  return {
    release: rel,
    entry: hit.entry,
    entryDir: hit.dir,
    cacheDir,
    vmlinux: hit.entry.vmlinux,
    source: hit.entry.source,
    modules: hit.entry.modules,
    ...(hit.entry.image ? { image: hit.entry.image } : {}),
    cached: true,
    packages: hit.entry.packages.map((p, i) => ({ ...p, cached: true, role: i === 0 ? 'vmlinux' : i === 1 && hit.entry.image ? 'image' : 'source', path: null })),
    dump,
  };
}

/** The --json object of `kdbg fetch` (see docs/fetch.md). */
export function fetchResultJson(r: FetchResult): Record<string, unknown> {
  return {
    release: r.release.uname,
    family: r.release.family,
    vmlinux: r.vmlinux,
    source: r.source,
    // SUSE only (absent elsewhere): the stripped image to load beside `vmlinux` (a .debug file).
    ...(r.image ? { image: r.image } : {}),
    packages: r.packages.map((p) => ({
      name: p.name,
      url: p.url,
      sha256: p.sha256,
      size: p.size,
      cached: p.cached,
      // Entries written before these fields existed held whole, verified packages only.
      sha256Verified: p.sha256Verified ?? true,
      partial: p.partial ?? null,
      // Entries written before origins were recorded came from live mirrors.
      origin: p.origin ?? 'mirror',
      // RPM from a gpgcheck=1 repository: the key that signed its header (issue 16); else null.
      headerSignedBy: p.headerSignedBy ?? null,
    })),
    cached: r.cached,
    // Which distribution the release names and why (added with the CentOS successors, issue 23).
    distro: r.release.distro ?? null,
    reason: r.release.reason ?? null,
    // Phase timings (issue 19) of a fetch that did work; a cache answer (cached: true) has none,
    // so the warm fast path (src/cli/fast-fetch.ts) prints the same object as the pipeline.
    ...(r.timings && !r.cached ? { timings: r.timings } : {}),
  };
}
