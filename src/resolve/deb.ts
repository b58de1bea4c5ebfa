// Debian/Ubuntu: release + wanted packages → a located .deb/.ddeb, through the archive's own
// indexes (`dists/<suite>/<component>/binary-<arch>/Packages.{xz,gz,}`), never by guessing pool
// paths: the index gives the exact Filename, Size and SHA256 the download is verified against.
//
// Where the archives come from, in order:
//   1. --mirror / config `mirror` entries: archive roots (holding dists/ and pool/). Suites to read
//      there: `suites` if given, else the release's codename (Debian: 6.1 → bookworm, deb11 →
//      bullseye; Ubuntu: 5.15 → jammy, `~20.04.1` in the package version → focal), else the
//      host's codenames; each with its pockets (-security, -updates, -backports for Debian;
//      -updates, -security, -proposed for Ubuntu's ddebs).
//   2. --repo / config `repo` entries: flat repositories (Packages[.xz|.gz] next to the debs).
//   3. Debian only, and only when 1 and 2 had no candidate: the host's apt sources (aptRoot, default /etc/apt), as listed (they carry
//      -updates and -security themselves), plus the same pockets for the release's codename when
//      the host runs another one. Ubuntu hosts list the main archive, which has no dbgsym
//      packages: for Ubuntu the host only tells the codename, the ddebs archive must be a mirror.
//
// Picking: the package names in `wanted` order (Ubuntu: linux-image-unsigned-<rel>-dbgsym first;
// the signed linux-image-<rel>-dbgsym only when it is a real one, Size > 10 MB — the signed one
// of a signed kernel is a ~15 kB stub without vmlinux). The version is the pinned one
// (--pkg-version / the dump's banner → KernelRelease.packageVersion) or the newest by Debian
// version order. Every archive carrying the same file (same SHA256) becomes a failover URL.

import { NetworkError, NotFoundError, UsageError } from '../core/errors.js';
import type { HttpFetcher, HttpResponse, KernelRelease, ProgressListener, ResolvedPackage, WantedPackage } from '../core/types.js';
import { archiveRoot, archivesFromSources, codenamesOf, readAptSources, suitesFor, type AptSource } from './apt-sources.js';
import { debVersionCompare } from './deb-index.js';
import { isDebugPackageName, scanPackagesStanzas } from './deb-scan.js';
import { decompressIndex } from './decompress.js';
import { readIndexWithRetry, TRANSIENT } from './index-read.js';
import { cachedIndexGet } from './index-cache.js';
import { configKeys, defaultTrust, hashCheckedGet, hostKeys, listedIndexes, netIndexGet, type ListedIndex } from './deb-suite.js';
import type { DebTrust, SourceKeys } from './deb-trust.js';
import { readRows, rowOf, stanzaOf, writeRows } from './deb-parsed.js';
import { readLocations } from './deb-locations.js';

export interface DebResolveOptions {
  /** Archive roots from --mirror (each holds dists/ and pool/), tried first. */
  mirrors: string[];
  /** Flat repositories from --repo (a directory holding Packages[.xz|.gz] and the .debs). */
  repos: string[];
  /** Root of the host's apt configuration (default /etc/apt); null to ignore the host. */
  aptRoot: string | null;
  http: HttpFetcher;
  onProgress?: ProgressListener;
  /** Suites to read on the --mirror archives instead of the derived ones. */
  suites?: string[];
  /** Components to read on --mirror archives (default: the host's, else `main`). */
  components?: string[];
  signal?: AbortSignal;
  /** The longest silence allowed in an index response (config timeoutSeconds). */
  idleTimeoutMs?: number;
  /** The kdbg cache root: indexes are kept there by their Release SHA256 (index-cache.ts). */
  cacheRoot?: string | null;
  /** Whose signatures a suite's InRelease must carry (deb-trust.ts); default: verify, host keys. */
  trust?: DebTrust;
}

/** A signed Ubuntu dbgsym at or under this size is the stub without vmlinux (btfhub uses 10 MB too). */
export const UBUNTU_SIGNED_DBGSYM_MIN_SIZE = 10 * 1000 * 1000;

const DEBIAN_CODENAMES: Readonly<Record<number, string>> = { 7: 'wheezy', 8: 'jessie', 9: 'stretch', 10: 'buster', 11: 'bullseye', 12: 'bookworm', 13: 'trixie', 14: 'forky' };
const UBUNTU_SERIES: Readonly<Record<string, string>> = {
  '14.04': 'trusty',
  '16.04': 'xenial',
  '18.04': 'bionic',
  '20.04': 'focal',
  '22.04': 'jammy',
  '24.04': 'noble',
  '24.10': 'oracular',
  '25.04': 'plucky',
  '25.10': 'questing',
};
/** The kernel series each Ubuntu release shipped as its GA kernel. */
const UBUNTU_GA_KERNEL: Readonly<Record<string, string>> = {
  '3.13': 'trusty',
  '4.4': 'xenial',
  '4.15': 'bionic',
  '5.4': 'focal',
  '5.15': 'jammy',
  '6.8': 'noble',
  '6.11': 'oracular',
  '6.14': 'plucky',
  '6.17': 'questing',
};
const UBUNTU_LTS = ['noble', 'jammy', 'focal', 'bionic'];

/** The codename(s) a release most likely belongs to, from its string and package version. */
export function codenamesForRelease(rel: KernelRelease): string[] {
  if (rel.family === 'debian') {
    if (rel.distMajor !== null && DEBIAN_CODENAMES[rel.distMajor]) return [DEBIAN_CODENAMES[rel.distMajor]!];
    if (rel.dist === 'sid') return ['sid'];
    return [];
  }
  const hwe = /~(\d\d\.\d\d)\.\d+/.exec(rel.packageVersion ?? '');
  if (hwe && UBUNTU_SERIES[hwe[1]!]) return [UBUNTU_SERIES[hwe[1]!]!];
  const series = /^(\d+\.\d+)/.exec(rel.version)?.[1];
  if (series && UBUNTU_GA_KERNEL[series]) return [UBUNTU_GA_KERNEL[series]!];
  return [];
}

/**
 * The package version a kernel banner / `uname -v` reveals: Debian `… Debian 6.1.192-2 (…)`,
 * Ubuntu `#101-Ubuntu` → `<version>-<abi>.101`, `#58~20.04.1-Ubuntu` → `…-52.58~20.04.1`.
 */
export function packageVersionFromBanner(rel: KernelRelease, banner: string): string | null {
  if (rel.family === 'debian') {
    const m = /\bDebian ((?:\d+:)?\d[A-Za-z0-9.+~]*-[A-Za-z0-9.+~]+)/.exec(banner);
    return m ? m[1]! : null;
  }
  if (rel.family === 'ubuntu') {
    const m = /#(\d+(?:~[0-9.]+)?)-Ubuntu\b/.exec(banner);
    const abi = /^(\d+)/.exec(rel.release)?.[1];
    return m && abi ? `${rel.version}-${abi}.${m[1]!}` : null;
  }
  return null;
}

export interface IndexLocation {
  /** Archive root (or flat repo directory) ending in "/": Filename is relative to it. */
  root: string;
  /** Index URLs to try in order (.xz, .gz, plain): the first that exists is read. */
  indexUrls: string[];
  label: string;
  /** From the host's apt sources (read only when --mirror/--repo found nothing). */
  fromHost: boolean;
  /** `<root>dists/<suite>/` when the index belongs to a suite (its Release names the indexes). */
  suiteBase?: string;
  /** Path of the index directory relative to suiteBase (`main/binary-amd64/`). */
  suitePath?: string;
  /** The keys its Release is verified against (the host source's signed-by; else the config's). */
  keys?: SourceKeys;
}

export interface Candidate {
  name: string;
  version: string;
  filename: string;
  size: number | null;
  sha256: string | null;
  url: string;
  where: string;
}

export interface Attempt {
  url: string;
  result: string;
  /** The mirror failed (5xx, 429, a dropped or stalled connection) every time it was asked: not an answer. */
  transient?: boolean;
}


function indexUrls(base: string): string[] {
  return [`${base}Packages.xz`, `${base}Packages.gz`, `${base}Packages`];
}

/** Every index kdbg reads for this release, best first. */
export async function debIndexLocations(rel: KernelRelease, arch: string, opts: DebResolveOptions): Promise<{ locations: IndexLocation[]; hostSources: AptSource[] }> {
  return debIndexLocationsFor(rel.family === 'ubuntu' ? 'ubuntu' : 'debian', codenamesForRelease(rel), arch, opts);
}

/**
 * Every index kdbg reads for a family, best first: --mirror archives (suites of the `target`
 * codenames, else the host's), --repo directories, then (Debian) the host's apt sources with the
 * target codenames substituted into the host's pockets.
 */
export async function debIndexLocationsFor(
  family: 'debian' | 'ubuntu',
  target: string[],
  arch: string,
  opts: DebResolveOptions,
): Promise<{ locations: IndexLocation[]; hostSources: AptSource[] }> {
  const hostSources = opts.aptRoot ? await readAptSources(opts.aptRoot) : [];
  const hostCodenames = codenamesOf(hostSources);
  const locations: IndexLocation[] = [];
  const seen = new Set<string>();
  let fromHost = false;
  const add = (root: string, suite: string | null, component: string | null): void => {
    const base = suite === null ? root : `${root}dists/${suite}/${component}/binary-${arch}/`;
    if (seen.has(base)) return;
    seen.add(base);
    locations.push({
      root,
      indexUrls: indexUrls(base),
      label: suite === null ? root : `${root} ${suite}/${component}`,
      fromHost,
      keys: fromHost ? hostKeys(root, hostSources, suite) : configKeys(root, opts.trust ?? defaultTrust()),
      ...(suite === null ? {} : { suiteBase: `${root}dists/${suite}/`, suitePath: `${component}/binary-${arch}/` }),
    });
  };
  const hostComponents = [...new Set(hostSources.flatMap((s) => s.components))];
  const mirrorComponents = opts.components ?? (hostComponents.includes('main') ? ['main'] : hostComponents.length > 0 ? hostComponents : ['main']);
  let mirrorSuites = opts.suites;
  if (!mirrorSuites) {
    let codenames = target.length > 0 ? target : hostCodenames;
    if (codenames.length === 0 && family === 'ubuntu') codenames = UBUNTU_LTS;
    mirrorSuites = codenames.flatMap((c) => suitesFor(c, family));
    if (family === 'debian') mirrorSuites.push(...codenames.map((c) => `${c}-backports`));
  }
  for (const m of opts.mirrors) {
    const root = archiveRoot(m);
    for (const suite of mirrorSuites) for (const comp of mirrorComponents) add(root, suite, comp);
  }
  for (const r of opts.repos) add(archiveRoot(r), null, null);
  fromHost = true;
  if (family === 'debian') {
    for (const a of archivesFromSources(hostSources, arch)) {
      if (a.flat) {
        add(a.root, null, null);
        continue;
      }
      const comps = a.components.includes('main') ? ['main'] : a.components;
      const suites: string[] = [];
      // The release's own codename first (substituted into the host's pockets), then the host's.
      for (const c of target) {
        for (const s of a.suites) {
          const hc = hostCodenames.find((h) => s === h || s.startsWith(`${h}-`) || s.startsWith(`${h}/`));
          if (hc !== undefined && hc !== c) suites.push(c + s.slice(hc.length));
        }
      }
      suites.push(...a.suites);
      for (const suite of suites) for (const comp of comps) add(a.root, suite, comp);
    }
  }
  return { locations, hostSources };
}

const FIELDS = new Set(['Package', 'Version', 'Architecture', 'Filename', 'Size', 'SHA256']);

/**
 * Read one index (first existing of .xz/.gz/plain) and collect stanzas of the wanted packages.
 * Only debug packages (names ending in -dbg or -dbgsym, deb-scan.ts) are seen.
 */
export async function scanIndex(loc: IndexLocation, wantName: (name: string) => boolean, arch: string, opts: DebResolveOptions, attempts: Attempt[]): Promise<Candidate[]> {
  // The suite's verified Release names each index by its SHA256 (deb-suite.ts): a stored one is
  // read from the cache, names the suite does not list are not asked for, the rest are checked.
  const io = { cacheRoot: opts.cacheRoot, http: opts.http, onProgress: opts.onProgress, signal: opts.signal, idleMs: opts.idleTimeoutMs };
  const trust = opts.trust ?? defaultTrust();
  const listed = await listedIndexes(loc, loc.keys ?? configKeys(loc.root, trust), trust, opts.aptRoot, io, (u) => netIndexGet(u, opts));
  attempts.push(...listed.attempts);
  for (const want of listed.indexes) {
    const r = await scanIndexUrl(want.url, loc, wantName, arch, opts, want);
    attempts.push(r.attempt);
    if (r.next) continue;
    return r.found;
  }
  return [];
}

/**
 * One index URL, retried when the mirror fails in passing (index-read.ts). A 404 moves on to the
 * next index name (`next`); a corrupt index is an answer, not retried.
 */
async function scanIndexUrl(
  url: string,
  loc: IndexLocation,
  wantName: (name: string) => boolean,
  arch: string,
  opts: DebResolveOptions,
  want: ListedIndex,
): Promise<{ attempt: Attempt; found: Candidate[]; next: boolean }> {
  const sha256 = want.sha256;
  const checked = hashCheckedGet((u) => netIndexGet(u, opts), want);
  // Rows are kept only for the bytes the Release names (not a mirror caught mid-sync).
  let verified = false;
  const get = cachedIndexGet(sha256, { cacheRoot: opts.cacheRoot, onProgress: opts.onProgress, http: opts.http, memo: false, writeBehind: true }, checked.get, () => (verified = true));
  const found: Candidate[] = [];
  const add = (s: Record<string, string>): void => {
    const name = s['Package'];
    if (name === undefined || !wantName(name)) return;
    const a = s['Architecture'];
    if (a !== undefined && a !== arch && a !== 'all') return;
    const filename = s['Filename'];
    const version = s['Version'];
    if (!filename || !version) return;
    const size = s['Size'] !== undefined && /^\d+$/.test(s['Size']) ? Number(s['Size']) : null;
    const sha = s['SHA256'] !== undefined && /^[0-9a-fA-F]{64}$/.test(s['SHA256']) ? s['SHA256'].toLowerCase() : null;
    found.push({ name, version, filename, size, sha256: sha, url: new URL(filename.replace(/^\.\//, ''), loc.root).href, where: url });
  };
  // An index the Release names by a SHA256 kdbg has parsed before: its rows, not the index (deb-parsed.ts).
  const root = sha256 && opts.cacheRoot ? opts.cacheRoot : null;
  const t0 = Date.now();
  const rows = root ? await readRows(root, sha256!) : null;
  if (rows) {
    for (const row of rows) add(stanzaOf(row));
    opts.onProgress?.({ kind: 'index', url, from: 'cache', bytes: 0, ms: Date.now() - t0 });
    return { attempt: { url, result: found.length > 0 ? 'found' : 'not in index' }, found, next: false };
  }
  let keep: string[] = [];
  let r: Candidate[] | string;
  try {
    r = await readIndexWithRetry(
      url,
      async (res) => {
        opts.onProgress?.({ kind: 'info', message: `reading ${url}` });
        found.length = 0;
        keep = [];
        // Only debug packages are looked at (deb-scan.ts): every name kdbg asks for is one.
        for await (const s of scanPackagesStanzas(decompressIndex(res.body, url, { whole: true }), isDebugPackageName, { fields: FIELDS, label: url })) {
          if (root) keep.push(rowOf(s).join('\t'));
          add(s);
        }
        return found;
      },
      {
        get,
        why: (e) => (e as Error).message,
        onRetry: (attempt, reason) => opts.onProgress?.({ kind: 'retry', name: url, url, attempt, delayMs: 0, reason }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    return { attempt: { url, result: `bad index: ${(e as Error).message}` }, found, next: false };
  }
  if (typeof r !== 'string') checked.check();
  await get.settled();
  if (typeof r !== 'string' && root && verified) await writeRows(root, sha256!, keep);
  if (typeof r !== 'string') return { attempt: { url, result: r.length > 0 ? 'found' : 'not in index' }, found: r, next: false };
  if (r === 'HTTP 404' || r === 'HTTP 403' || r === 'HTTP 410') return { attempt: { url, result: r }, found: [], next: true };
  return { attempt: { url, result: r, transient: TRANSIENT.test(r) || r.endsWith(' tries)') }, found: [], next: false };
}

function newestFirst(a: Candidate, b: Candidate): number {
  return -debVersionCompare(a.version, b.version);
}

/**
 * Locate the debug package. Returns one ResolvedPackage (role vmlinux) with every archive that
 * carries the same file as a failover URL; throws NotFoundError listing every URL tried.
 */
export async function resolveDebPackages(rel: KernelRelease, wanted: WantedPackage[], opts: DebResolveOptions): Promise<ResolvedPackage[]> {
  if (rel.family !== 'debian' && rel.family !== 'ubuntu') throw new UsageError(`${rel.uname}: not a Debian or Ubuntu release`);
  const vm = wanted.filter((w) => w.role === 'vmlinux' && w.kind === 'deb');
  if (vm.length === 0) return [];
  const arch = vm[0]!.arch;
  const pin = rel.packageVersion ?? vm.find((w) => w.evr !== null)?.evr ?? null;
  const names = new Set(vm.map((w) => w.name));
  const { locations } = await debIndexLocations(rel, arch, opts);
  // The locations are read concurrently, with the outcome of a loop over them (deb-locations.ts).
  const { all, attempts } = await readLocations(locations, (loc, mine: Attempt[], signal) => scanIndex(loc, (n) => names.has(n), arch, signal ? { ...opts, signal } : opts, mine), {
    pinHit: pin === null ? null : (found: readonly Candidate[]) => found.some((c) => c.name === vm[0]!.name && debVersionCompare(c.version, pin) === 0),
    signal: opts.signal,
  });
  const skipped: string[] = [];
  for (const w of vm) {
    let cands = all.filter((c) => c.name === w.name);
    if (pin !== null) cands = cands.filter((c) => debVersionCompare(c.version, pin) === 0);
    const signedUbuntu = rel.family === 'ubuntu' && !w.name.startsWith('linux-image-unsigned-');
    if (signedUbuntu) {
      const real = cands.filter((c) => c.size !== null && c.size > UBUNTU_SIGNED_DBGSYM_MIN_SIZE);
      for (const c of cands) if (!real.includes(c)) skipped.push(`${c.filename} (${c.size ?? '?'} bytes: a signed stub without vmlinux)`);
      cands = real;
    }
    if (cands.length === 0) continue;
    cands.sort(newestFirst);
    const best = cands[0]!;
    const same = cands.filter((c) => c.version === best.version && c.filename.split('/').pop() === best.filename.split('/').pop() && (c.sha256 === best.sha256 || best.sha256 === null));
    const urls = [...new Set(same.map((c) => c.url))];
    const fileName = best.filename.split('/').pop()!;
    opts.onProgress?.({ kind: 'info', message: `${w.name} ${best.version}: ${urls[0]} (${best.size ?? '?'} bytes, from ${best.where})` });
    return [{ ...w, role: 'vmlinux', evr: best.version, fileName, urls, sha256: best.sha256, size: best.size, required: true }];
  }
  const tried = [...new Set(attempts.map((a) => a.url))];
  const names1 = vm.map((w) => w.name).join(' or ');
  const what = `${names1}${pin ? ` version ${pin}` : ''}`;
  if (tried.length === 0) {
    throw new NotFoundError(`${what}: no Debian/Ubuntu archive to search (no --mirror/--repo and no apt sources under ${opts.aptRoot ?? '(host ignored)'})`, {
      details: { packages: vm.map((w) => w.name), tried, attempts },
      hint: rel.family === 'ubuntu' ? 'give the ddebs archive root with --mirror (see docs/debian.md)' : 'give an archive root with --mirror or a flat repository with --repo',
    });
  }
  const versions = [...new Set(all.filter((c) => vm.some((w) => w.name === c.name)).map((c) => c.version))];
  // No index answered at all, every one failed in passing: that is the network, not "not found".
  const answered = attempts.filter((a) => !a.transient && !/^HTTP 40[34]$|^HTTP 410$/.test(a.result));
  const failedInPassing = attempts.filter((a) => a.transient);
  if (answered.length === 0 && failedInPassing.length > 0) {
    throw new NetworkError(`${what}: no index could be read: ${failedInPassing.slice(0, 3).map((a) => `${a.url}: ${a.result}`).join('; ')}${failedInPassing.length > 3 ? '; …' : ''}`, {
      details: { packages: vm.map((w) => w.name), tried, attempts },
      hint: 'the mirrors failed in passing (HTTP 5xx/429, dropped or stalled connections); try again later or add another mirror',
    });
  }
  throw new NotFoundError(
    `${what}: not found in ${tried.length} index${tried.length === 1 ? '' : 'es'} tried (${tried.slice(0, 3).join(', ')}${tried.length > 3 ? ', …' : ''})${
      versions.length > 0 && pin ? `; versions seen: ${versions.join(', ')}` : ''
    }${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}`,
    {
      details: { packages: vm.map((w) => w.name), version: pin, tried, attempts, skipped, versionsSeen: versions },
      hint: pin ? 'check --pkg-version, or omit it to take the newest' : rel.family === 'ubuntu' ? 'old Ubuntu kernels leave ddebs; Launchpad keeps them' : 'superseded Debian kernels leave the archive; the Debian snapshot archive keeps them (use --repo/--mirror)',
    },
  );
}
