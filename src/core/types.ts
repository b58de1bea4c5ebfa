// Plain data exchanged between pipeline stages. Stages do not import each other's modules; they
// agree on these shapes.

/** Distribution families kdbg knows how to resolve. */
export type DistroFamily =
  | 'rhel' // RHEL, CentOS, CentOS Stream, Rocky, Alma, Oracle RHCK (elN)
  | 'oracle-uek' // Oracle Unbreakable Enterprise Kernel (elNuek, elNueknext)
  | 'fedora' // fcNN
  | 'amazon' // amzn2, amzn2023
  | 'debian'
  | 'ubuntu'
  | 'suse' // SLES, openSUSE Leap, Tumbleweed (VERSION-SOURCE_REL-FLAVOR)
  // The distributions that replaced CentOS in China (release/china.ts, design/mirrors-china.md)
  | 'openeuler' // oe1, oe2203[spN], oe2403[spN]
  | 'anolis' // an7, an8, an23
  | 'alinux' // Alibaba Cloud Linux: al7, al8, alnx4
  | 'opencloudos' // oc8 (`.ocrelease.` uname), oc9
  | 'tencentos' // tl2, tl3, tkernel `-tlinuxN-` tags
  | 'kylin' // ky10, ky11
  | 'uos' // uel20
  | 'bclinux' // `.bclinux` after oe1/elN
  | 'keyarchos' // kos5
  | 'cgsl'; // zncgsl6

/** A parsed kernel release (`uname -r`), enough to name and find its debug packages. */
export interface KernelRelease {
  /** The string as the user (or the dump) gave it. */
  input: string;
  /** Full `uname -r` including arch and variant suffix, e.g. `3.10.0-327.el7.x86_64`. */
  uname: string;
  family: DistroFamily;
  /** Dist tag or codename-ish label: `el7`, `el8_5`, `el9uek`, `fc39`, `amzn2023`, `deb12`, … */
  dist: string;
  /** Major distro release where the string tells it (7 for el7, 39 for fc39), else null. */
  distMajor: number | null;
  /** Upstream-ish version: `3.10.0`, `6.1.0`. */
  version: string;
  /** RPM release (`327.el7`) or Debian/Ubuntu ABI part (`56`, `0.deb11.17`). */
  release: string;
  /** Architecture in the family's spelling (x86_64/aarch64 for RPM, amd64/arm64 for deb). */
  arch: string;
  /** RPM variant (`debug`, `64k`, `rt`, `rt-debug`) or deb flavour (`amd64`, `cloud-amd64`, `generic`). */
  variant: string | null;
  /** Package version the release string lacks (Debian `6.1.192-2`, Ubuntu `5.15.0-91.101`), when known. */
  packageVersion: string | null;
  /**
   * Distribution hint (`centos`, `rhel`, `rocky`, `alma`, `oracle`, `fedora`, `amazon`, `debian`,
   * `ubuntu`) from --distro or implied by the string (UEK and `.0.N` → oracle); absent when
   * unknown. Rebuilds share NVRs, so resolve/ uses it to pick and order mirrors.
   */
  distro?: string;
  /** Why the string was read as this distribution (`dist tag .oe2203sp1: openEuler 22.03 LTS SP1`), when the parser says. */
  reason?: string;
}

/** What a package contributes to a cache entry. */
/** `image`: the stripped kernel image a SUSE `.debug` file needs beside it (its code, its banner). */
export type PackageRole = 'vmlinux' | 'source' | 'image';

/** A debug package kdbg wants, before any mirror is consulted. */
export interface WantedPackage {
  role: PackageRole;
  /** Package name (`kernel-debuginfo`, `linux-image-6.1.0-56-amd64-dbg`). */
  name: string;
  /** Exact file name when derivable (`kernel-debuginfo-3.10.0-327.el7.x86_64.rpm`), else null. */
  fileName: string | null;
  /** Package version-release to match in an index (`3.10.0-327.el7`), else null (newest). */
  evr: string | null;
  /**
   * With `evr` null: match any version-release equal to this or extending it by `.N` (SUSE's
   * build counter is not in `uname -r`), the newest first.
   */
  evrPrefix?: string;
  arch: string;
  kind: 'rpm' | 'deb';
  /** False for packages kdbg can do without (sources): not found is a warning, not an error. */
  required: boolean;
}

/** A package located on one or more mirrors, with what the index promises about it. */
export interface ResolvedPackage extends WantedPackage {
  fileName: string;
  /** Candidate URLs, best first; download fails over along this list. */
  urls: string[];
  /** Lowercase hex sha256 from the repository index, or null (directory probe without index). */
  sha256: string | null;
  /** Size in bytes from the index or HEAD, or null. */
  size: number | null;
  /** Which kind of source located it; absent: a live mirror (docs/mirrors.md, "Archives"). */
  origin?: PackageOrigin;
  /** RPM: its repository says `gpgcheck=1`: the package header must carry a good signature by one of these keys (resolve/rpm-header-trust.ts). */
  gpgcheck?: RpmGpgcheck;
}

/** The keys an RPM's header signature is checked against (issue 16): the repo file's `gpgkey`. */
export interface RpmGpgcheck {
  /** The repository that asked for it, for messages: `<repo file> [id]`. */
  repo: string;
  /** Local key files (the `file://` gpgkeys, under the host root). */
  keys: string[];
  /** `gpgkey` URLs that are not local files and could not be fetched (`<url> (HTTP 404)`; resolve/rpm-remote-keys.ts): named in the unknown-key message. Fetched ones are in `keys`. */
  remote: string[];
}

/**
 * Where a package came from: a live mirror, or one of the historical archives that keep what the
 * mirrors dropped (Debian's snapshot service, Launchpad's publishing history, the RPM vaults,
 * Fedora's Koji).
 */
export type PackageOrigin = 'mirror' | 'snapshot' | 'launchpad' | 'vault' | 'koji';

/** What a dump says about the kernel that wrote it (the identify stage's output). */
export interface DumpIdentity {
  path: string;
  format: 'elf64' | 'elf32' | 'kdump-compressed' | 'flattened' | 'split' | 'dmesg';
  release: string | null;
  arch: string | null;
  buildId: string | null;
  crashTime: string | null;
  pageSize: number | null;
  kernelOffset: string | null;
  banner: string | null;
  source: 'vmcoreinfo' | 'utsname' | 'banner-scan' | null;
  vmcoreinfo: Record<string, string> | null;
  /** Distribution package version from the banner (`Debian 6.1.192-2` → `6.1.192-2`), when it says. */
  packageVersion?: string | null;
}

/** One package's provenance as recorded in a cache entry. */
export interface PackageProvenance {
  name: string;
  fileName: string;
  url: string;
  sha256: string;
  size: number;
  /** True when no network transfer was needed for it. */
  cached: boolean;
  /**
   * Whether `sha256` was computed over the whole package and matched the repository index. False
   * after a partial fetch (only some xz blocks were read; each was checked by its own xz check).
   * Absent in entries written before this field existed: those were whole, verified downloads.
   */
  sha256Verified?: boolean;
  /** What a partial fetch (HTTP Range, only the xz blocks holding the vmlinux) read; null or absent: the whole package. */
  partial?: PartialFetchProvenance | null;
  /** Which kind of source served it; absent in entries written before this field existed (a mirror). */
  origin?: PackageOrigin;
  /** RPM from a `gpgcheck=1` repository: its header signature was verified against these keys, and is again whenever the package is read later (`kdbg fetch --modules`). */
  gpgcheck?: RpmGpgcheck;
  /** The fingerprint of the key whose header signature was verified (gpgcheck=1); absent: none was checked. */
  headerSignedBy?: string;
}

/** How much of a block-indexed package a partial fetch read. */
export interface PartialFetchProvenance {
  /** Body bytes received from the mirror (headers, xz index and blocks). */
  bytesFetched: number;
  /** xz blocks fetched and decoded. */
  blocksDecoded: number;
  /** xz blocks in the package's payload. */
  blocksTotal: number;
  /**
   * Range reads that ran so far behind the others that a second request was sent for them
   * (download/range-reader.ts); absent in entries written before it was counted. Their bytes are
   * in bytesFetched.
   */
  hedged?: number;
}

/** A per-release cache entry (cache/releases/<uname>/entry.json). */
export interface CacheEntry {
  release: string;
  family: DistroFamily;
  vmlinux: string;
  vmlinuxSha256: string;
  source: string | null;
  modules: string | null;
  buildId: string | null;
  banner: string | null;
  packages: PackageProvenance[];
  createdAt: string;
  /**
   * SUSE: `vmlinux` is a debug-only file (objcopy --only-keep-debug: no code); this is the
   * stripped kernel image from the main package (decompressed), which crash loads beside it.
   */
  image?: string | null;
  /** SUSE: sha256 of `image`, taken as it was decompressed (checked by `kdbg cache verify`). */
  imageSha256?: string | null;
}

/** Progress events emitted by long-running stages; the CLI renders them. */
export type ProgressEvent =
  | { kind: 'download-start'; name: string; url: string; total: number | null; resumedFrom: number }
  | { kind: 'download-progress'; name: string; received: number; total: number | null }
  | { kind: 'download-done'; name: string; bytes: number }
  | { kind: 'retry'; name: string; url: string; attempt: number; delayMs: number; reason: string }
  | { kind: 'failover'; name: string; from: string; to: string; reason: string }
  | { kind: 'extract'; name: string; member: string; bytes: number }
  | { kind: 'info'; message: string }
  | { kind: 'warning'; code: string; message: string }
  /** A named stage of a pipeline operation started (`ms` absent) or finished (`ms` set); src/pipeline/. */
  | { kind: 'stage'; release: string; stage: PipelineStage; ms?: number }
  /**
   * One repository index or its Release/repomd.xml was read (src/resolve/index-cache.ts): from the
   * network (`network`), confirmed unchanged by a conditional request (`not-modified`), or from
   * the cache without a request (`cache`); `ms` from asking to the last byte, `bytes` its size.
   */
  | { kind: 'index'; url: string; from: 'network' | 'not-modified' | 'cache'; bytes: number; ms: number }
  /** A signed index file (InRelease, repomd.xml.asc) was verified by gpgv in `ms` (0: verified before in this process); resolve/deb-trust.ts. `packageHeader`: an RPM's header signature (resolve/rpm-header-trust.ts). */
  | { kind: 'signature'; url: string; fingerprint: string; ms: number; packageHeader?: boolean }
  /**
   * A decoder (`decode`) or the writes of extracted members (`write`) were at work from `from` to
   * `to`: milliseconds on the clock of core/busy.ts (`performance.timeOrigin + performance.now()`),
   * so the spans of lanes working at the same time can be merged. extract/ emits them,
   * pipeline/timings.ts turns them into decode busy/idle and write (issue 19, item 1).
   */
  | { kind: 'busy'; what: 'decode' | 'write'; from: number; to: number };

/** The named stages of `fetch` in src/pipeline/, in order (docs/architecture.md). */
export type PipelineStage = 'input' | 'lookup' | 'plan' | 'resolve' | 'download' | 'verify' | 'publish' | 'debuginfod';

export type ProgressListener = (e: ProgressEvent) => void;

/** The response of an HTTP request as stages other than download/ see it. */
export interface HttpResponse {
  url: string;
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
}

/**
 * How to reach one repository beyond plain HTTPS, from the keys of its yum/zypper repo file:
 * client certificate and key (Red Hat entitlement, Satellite), CA bundle, TLS verification, a
 * per-repository proxy and HTTP basic credentials. resolve/ reads it, download/ applies it to
 * every URL under `prefix`. Paths are absolute on this machine (already under the host root).
 */
export interface RepoAccess {
  /** URL prefix the settings cover: the repository base up to its first `$variable`. */
  prefix: string;
  /** `<repo file> [id]`, for messages. */
  origin: string;
  clientCert?: string;
  clientKey?: string;
  caCert?: string;
  /** sslverify: false turns off server certificate verification (as dnf does). */
  verify: boolean;
  /** Proxy URL; null means the repo file said `_none_` (no proxy, not even the environment's). */
  proxy?: string | null;
  proxyUsername?: string;
  proxyPassword?: string;
  username?: string;
  password?: string;
  /** A query string every request under `prefix` carries (SCC's `?<token>` repository URLs), without `?`. */
  query?: string;
}

/**
 * HTTP as resolve/ needs it (index files, HEAD probes). Implemented in download/ with undici;
 * injected by the CLI so resolve/ stays free of network code. Non-2xx statuses are returned, not
 * thrown (the caller decides whether 404 means "try the next mirror"); transport failures throw
 * NetworkError after retries.
 */
export interface HttpFetcher {
  /** `idleMs`: the longest silence allowed before the head or between body bytes. */
  get(url: string, options?: { signal?: AbortSignal; headers?: Record<string, string>; idleMs?: number }): Promise<HttpResponse>;
  head(url: string, options?: { signal?: AbortSignal }): Promise<Omit<HttpResponse, 'body'>>;
}
