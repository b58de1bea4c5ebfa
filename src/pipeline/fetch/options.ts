// The inputs of `fetch` and the context its stages share.

import type { Cache } from '../../cache/index.js';
import type { DumpIdentity, HttpFetcher, KernelRelease, PartialFetchProvenance, ResolvedPackage } from '../../core/types.js';
import type { Env } from '../../core/env.js';
import type { Wanted } from '../../core/fetch-result.js';
import type { DownloadOptions } from '../../download/index.js';
import type { ExtractResult, MemberSelector } from '../../extract/types.js';
import type { RetryPolicy } from '../../core/retry.js';
import type { PipelineListener } from '../events.js';

export type { FetchedPackage, FetchResult, Wanted } from '../../core/fetch-result.js';

export interface FetchOptions {
  cacheDir?: string;
  mirrors?: string[];
  repos?: string[];
  arch?: string;
  distro?: string;
  /** Debian/Ubuntu package version the release string lacks; default: the dump's, when it says. */
  packageVersion?: string;
  /** Debian/Ubuntu: suites to read on the --mirror archives instead of the derived ones (serve's build-id index names the suite it found the package in). */
  debSuites?: string[];
  configFile?: string;
  /** false: never ask the historical archives (Debian snapshot, Launchpad); `--no-archives`. */
  archives?: boolean;
  /** --insecure-skip-signatures: read Debian/Ubuntu suites without verifying their InRelease (warned). */
  insecureSkipSignatures?: boolean;
  /** Answer from the cache only; NotFoundError (69) when the release is not there. */
  offline?: boolean;
  /** Skip the sources package. */
  vmlinuxOnly?: boolean;
  /** Also extract the modules' debug files. */
  modules?: boolean;
  /**
   * Modules (as crash's `mod` names them) whose debug files to take in the same pass that writes
   * the vmlinux when an RPM is read whole (el7's one-block payload: no partial read can reach them
   * later without decoding it again). They land in `<cache>/modules/<uname>/<name>.ko`, where the
   * module step (./modules.ts) finds them; FetchResult.modulesInPass lists them. Ignored with
   * `modules` (every module goes to the entry) and where the vmlinux is fetched partially.
   */
  moduleNames?: readonly string[];
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
  /**
   * false (`--no-partial`, config `partialFetch: false`): never fetch a package partially. Every
   * package is downloaded whole and its sha256 checked against the index (which the InRelease
   * signature covers, docs/signatures.md) before anything is published, so the signature chain
   * reaches the vmlinux; unless keepPackages is true the package is then dropped after
   * extraction. true (`--partial`): partial when possible whatever the config says. Unset: the
   * config's `partialFetch`, else partial when possible (see keepPackages).
   */
  partialFetch?: boolean;
  /** Progress, stage and diagnostic events (src/pipeline/events.ts). */
  onProgress?: PipelineListener;
  signal?: AbortSignal;
  /** The environment (KDBG_CACHE_DIR, XDG_CACHE_HOME, KDBG_CONFIG, proxies); default the process's (core/env.ts). */
  env?: Env;
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

/** What every stage of one fetch shares: decided once by the input and lookup stages. */
export interface FetchContext {
  cache: Cache;
  rel: KernelRelease;
  want: Wanted;
  dump: DumpIdentity | null;
  opts: FetchOptions;
  emit: PipelineListener;
  env: Env;
}

export function wantedOf(opts: FetchOptions): Wanted {
  return { source: !opts.vmlinuxOnly, modules: opts.modules ?? false };
}

/** One package to download and extract: what to keep of it and where. */
export interface ExtractJob {
  pkg: ResolvedPackage;
  selector: MemberSelector;
  stopAfter?: number;
  /** See ExtractOptions.stopAtListed. */
  stopAtListed?: boolean;
  dir: string;
}

export interface JobResult {
  job: ExtractJob;
  r: { url: string; sha256: string; size: number; cached: boolean; path: string | null; consumed?: ExtractResult | undefined; sha256Verified: boolean; partial: PartialFetchProvenance | null };
}
