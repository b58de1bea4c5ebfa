// Which kernel releases a Debian or Ubuntu archive carries debug symbols for today: the answer to
// "what can I fetch?" asked of the archive itself, through the same Packages indexes the resolver
// reads (deb.ts). Archives move on (a point release replaces the ABI, the old -dbg package
// leaves), so nothing here, in the README or in the fixtures names a kernel version: they ask.
//
// Debian: linux-image-<release>-dbg. Ubuntu ddebs: linux-image-unsigned-<release>-dbgsym (and the
// signed linux-image-<release>-dbgsym when it is a real one, over the stub size). Metapackages
// (linux-image-amd64-dbg, linux-image-6.12-amd64-dbg) are not releases: a release has a full
// x.y.z upstream version and parses as one (release/).

import { NotFoundError } from '../core/errors.js';
import { parseRelease } from '../release/index.js';
import { debIndexLocationsFor, scanIndex, UBUNTU_SIGNED_DBGSYM_MIN_SIZE, type Attempt, type DebResolveOptions } from './deb.js';
import { debVersionCompare } from './deb-index.js';
import { readLocations } from './deb-locations.js';

export interface DebKernelRelease {
  /** `uname -r` of the kernel, e.g. `6.1.0-57-amd64`. */
  release: string;
  /** Flavour: what follows the ABI (`amd64`, `cloud-amd64`, `rt-arm64`, `generic`). */
  flavour: string;
  /** The package's version, e.g. `6.1.192-3`. */
  packageVersion: string;
  /** The debug package that carries the vmlinux. */
  package: string;
  size: number | null;
  sha256: string | null;
  /** Where the package is, first archive first (every archive with the same file). */
  urls: string[];
}

export interface ListReleasesOptions extends DebResolveOptions {
  family: 'debian' | 'ubuntu';
  /** Debian architecture of the indexes read (amd64, arm64, …). */
  arch: string;
  /** Keep only releases of this flavour (`amd64` keeps `6.1.0-57-amd64`, not `6.1.0-57-cloud-amd64`). */
  flavour?: string;
}

const DEBIAN_DBG = /^linux-image-(\d[^\s]*)-dbg$/;
const UBUNTU_DBGSYM = /^linux-image-(?:unsigned-)?(\d[^\s]*)-dbgsym$/;

/** `6.1.0-57-cloud-amd64` → `cloud-amd64`, `6.12.118+deb12-amd64` → `amd64`; null for what is no kernel release. */
export function flavourOf(release: string): string | null {
  if (!/^\d+\.\d+\.\d+/.test(release)) return null;
  try {
    return parseRelease(release).variant;
  } catch {
    return null;
  }
}

/**
 * Every kernel release with a debug package in the archives `opts` names, newest package version
 * first (ties: the plain flavour before cloud/rt, then by name). Each release appears once, with
 * every archive that carries the same file as a URL.
 */
export async function listDebKernelReleases(opts: ListReleasesOptions): Promise<{ releases: DebKernelRelease[]; attempts: Attempt[] }> {
  const pattern = opts.family === 'ubuntu' ? UBUNTU_DBGSYM : DEBIAN_DBG;
  const { locations } = await debIndexLocationsFor(opts.family, [], opts.arch, opts);
  // The suites are read at the same time, with the outcome of a loop over them (deb-locations.ts):
  // configured archives first, the host's only when those had nothing.
  const { all: found, attempts } = await readLocations(locations, (loc, mine: Attempt[], signal) => scanIndex(loc, (n) => pattern.test(n), opts.arch, signal ? { ...opts, signal } : opts, mine), {
    pinHit: null,
    signal: opts.signal,
  });
  const byKey = new Map<string, DebKernelRelease>();
  for (const c of found) {
    const release = pattern.exec(c.name)![1]!;
    // Ubuntu: the signed dbgsym of a signed kernel is a stub without vmlinux.
    if (opts.family === 'ubuntu' && !c.name.startsWith('linux-image-unsigned-') && (c.size === null || c.size <= UBUNTU_SIGNED_DBGSYM_MIN_SIZE)) continue;
    const flavour = flavourOf(release);
    if (flavour === null) continue;
    if (opts.flavour !== undefined && flavour !== opts.flavour) continue;
    const key = `${release}\0${c.version}`;
    const have = byKey.get(key);
    if (have) {
      if ((have.sha256 === c.sha256 || c.sha256 === null) && !have.urls.includes(c.url)) have.urls.push(c.url);
      continue;
    }
    byKey.set(key, { release, flavour, packageVersion: c.version, package: c.name, size: c.size, sha256: c.sha256, urls: [c.url] });
  }
  // One row per release: its newest package version (an archive and its -security pocket may list two).
  const newest = new Map<string, DebKernelRelease>();
  for (const r of byKey.values()) {
    const have = newest.get(r.release);
    if (!have || debVersionCompare(r.packageVersion, have.packageVersion) > 0) newest.set(r.release, r);
  }
  const plain = (r: DebKernelRelease): number => (r.flavour.includes('-') ? 1 : 0);
  const releases = [...newest.values()].sort(
    (a, b) => -debVersionCompare(a.packageVersion, b.packageVersion) || plain(a) - plain(b) || a.release.localeCompare(b.release),
  );
  return { releases, attempts };
}

/** The newest release of the plain flavour (`amd64`, `generic` unless `flavour` says otherwise). */
export async function latestDebKernelRelease(opts: ListReleasesOptions): Promise<DebKernelRelease> {
  const flavour = opts.flavour ?? (opts.family === 'ubuntu' ? 'generic' : opts.arch);
  const { releases, attempts } = await listDebKernelReleases({ ...opts, flavour });
  if (releases[0]) return releases[0];
  throw noReleases(opts, attempts, flavour);
}

/** The one error for "the archives named carry no such kernel" (exit 69), listing what was read. */
export function noReleases(opts: ListReleasesOptions, attempts: Attempt[], flavour: string | null): NotFoundError {
  const tried = [...new Set(attempts.map((a) => a.url))];
  const what = `${opts.family} kernel${flavour !== null ? ` of flavour ${flavour}` : ''}`;
  const where =
    tried.length === 0
      ? `no archive to read (no --mirror/--repo${opts.family === 'debian' ? `, no apt sources under ${opts.aptRoot ?? '(host ignored)'}` : ''})`
      : `${tried.length} index${tried.length === 1 ? '' : 'es'} read (${tried.slice(0, 3).join(', ')}${tried.length > 3 ? ', …' : ''})`;
  return new NotFoundError(
    `no ${what} with debug symbols: ${where}`,
    {
      details: { family: opts.family, arch: opts.arch, flavour, tried, attempts },
      hint: tried.length === 0 ? 'give an archive root with --mirror or a flat repository with --repo' : 'check the archive roots and --arch/--flavour',
    },
  );
}
