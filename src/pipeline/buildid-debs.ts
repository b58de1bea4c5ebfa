// The build-id index of the Debian/Ubuntu archives `kdbg fetch` would read (issue 20, item 2),
// beside the RPM repositories' (buildid-repos.ts) and in the same index format.
//
// Debian's linux-image-<release>-dbg (and Ubuntu's linux-image-unsigned-<release>-dbgsym) has no
// `.build-id/` link for the vmlinux or the modules (the real package links only the three vDSOs),
// and no archive index lists build-ids. So the vmlinux's id is read from the file itself, by
// partial fetch (extract/deb-buildid.ts): the ar and xz indexes, then only the xz blocks holding
// the first tar headers, the ELF and program headers and the PT_NOTE segment (2 of 229 blocks,
// 9.2 MB of the 858 MB bookworm package). Out-of-tree module debug packages named after a kernel
// ABI (`<src>-modules-<uname>-dbg[sym]`, deb-modules.ts) are small: they are read whole (sha256
// checked against the signed index) and every `.ko` gives its id. The 4000 in-tree modules of the
// kernel package are not indexed (their notes are spread over every block); a kernel module's id
// resolves once its release is cached and the module fetched (`kdbg fetch --modules`, analyze).
//
// Which archives: what `kdbg releases` reads per family (--mirror/--repo and config entries for
// debian/ubuntu, the host's apt sources for Debian), every suite's InRelease verified and every
// Packages index checked against it. On a --mirror, the pockets of each codename (the host's and
// those below) whose base suite has a Release there. Each package's ids are kept by its SHA256 in
// <cache>/buildid-index/deb-packages.json, so a refresh reads only packages not seen. Each entry
// keeps the package's suite: a miss fetches from that suite (a 4.4 kernel in a jammy suite, where
// fetch alone would derive xenial).

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processEnv } from '../core/env.js';
import type { HttpFetcher } from '../core/types.js';
import type { BuildIdIndex } from '../resolve/buildid-index.js';
import type { Candidate, DebResolveOptions } from '../resolve/deb.js';
import type { Env } from '../core/env.js';

/** What RepoIndexes passes down (its own options: buildid-repos.ts imports this module). */
export interface DebIndexOptions {
  cacheDir: string;
  mirrors?: string[];
  repos?: string[];
  configFile?: string;
  env?: Env;
}

/** Codenames looked for on a --mirror, besides the host's (Debian's supported and testing; Ubuntu's LTS). */
const CODENAMES = { debian: ['bullseye', 'bookworm', 'trixie', 'forky'], ubuntu: ['noble', 'jammy', 'focal', 'bionic'] } as const;
const ARCHES = ['amd64', 'arm64'];
/** Packages read whole (module packages; a kernel package whose data.tar is not multi-block xz). */
const WHOLE_MAX = 64 << 20;

const KERNEL = { debian: /^linux-image-(\d[^\s]*)-dbg$/, ubuntu: /^linux-image-(?:unsigned-)?(\d[^\s]*)-dbgsym$/ } as const;
const MODULES = /^(?!linux-image-).+?-(\d+\.\d+[^-\s]*-[^\s]+?)-dbg(?:sym)?$/;

export interface DebPackageIds {
  /** [build-id, member path] of every ELF file read. */
  ids: [string, string][];
  /** Bytes read from the mirror to learn them. */
  bytesRead: number;
  size: number | null;
}

export interface DebIndexRefresh {
  key: string;
  index: BuildIdIndex | null;
  /** As RepoIndexes reports a repository (RepoIndexStatus). */
  status: { repo: string; ids: number; revision: string | null; problem: string | null };
}

interface Found {
  c: Candidate;
  family: 'debian' | 'ubuntu';
  arch: string;
  uname: string;
  role: 'kernel' | 'modules';
}

/** The suite of an index URL (`…/dists/<suite>/main/binary-amd64/Packages.xz`); null: a flat repository. */
function suiteOf(indexUrl: string): string | null {
  const m = /\/dists\/([^/]+)\/[^/]+\/binary-[^/]+\/Packages[^/]*$/.exec(indexUrl);
  return m ? decodeURIComponent(m[1]!) : null;
}

function memoKey(c: Candidate): string {
  return c.sha256 ?? `${c.url}#${c.size ?? ''}`;
}

/** The packages of the Debian/Ubuntu archives that can carry kernel debug files, per family. */
async function listPackages(o: DebIndexOptions, http: HttpFetcher): Promise<Map<'debian' | 'ubuntu', Found[]>> {
  const { loadMirrorConfig } = await import('../resolve/config.js');
  const { debTrustOf } = await import('../resolve/deb-suite.js');
  const { debIndexLocationsFor, scanIndex, UBUNTU_SIGNED_DBGSYM_MIN_SIZE } = await import('../resolve/deb.js');
  const { readAptSources, codenamesOf, suitesFor, archiveRoot } = await import('../resolve/apt-sources.js');
  const config = await loadMirrorConfig({ ...(o.configFile !== undefined ? { configFile: o.configFile } : {}), mirrors: o.mirrors ?? [], repos: o.repos ?? [], env: o.env ?? processEnv() });
  const hostCodenames = config.aptRoot ? codenamesOf(await readAptSources(config.aptRoot).catch(() => [])) : [];
  const out = new Map<'debian' | 'ubuntu', Found[]>();
  for (const family of ['debian', 'ubuntu'] as const) {
    const applies = config.sources.filter((s) => s.match.some((m) => m === '*' || m === family) && !s.url.includes('$'));
    const mirrors = applies.filter((s) => s.type === 'mirror').map((s) => s.url);
    // Per --mirror, the suites of the codenames whose base suite has a Release there: an RPM
    // mirror costs one or two 404s per codename, not every pocket's index names.
    const present = async (m: string): Promise<string[]> => {
      const out: string[] = [];
      for (const c of new Set([...hostCodenames, ...CODENAMES[family]])) {
        for (const f of ['InRelease', 'Release']) {
          const r = await http.get(`${archiveRoot(m)}dists/${c}/${f}`, { idleMs: 30_000 }).catch(() => null);
          if (r) for await (const _ of r.body) void _;
          if (r?.status === 200) {
            out.push(...suitesFor(c, family));
            break;
          }
        }
      }
      return out;
    };
    const repos = applies.filter((s) => s.type === 'repo').map((s) => s.url);
    const aptRoot = family === 'debian' ? config.aptRoot : null;
    if (mirrors.length === 0 && repos.length === 0 && aptRoot === null) continue;
    const base = { http, cacheRoot: o.cacheDir, trust: debTrustOf(config, applies) };
    // Each mirror with its own suites; then the flat repositories and the host's sources.
    const calls: DebResolveOptions[] = [{ ...base, mirrors: [], repos, aptRoot }];
    for (const m of mirrors) {
      const suites = await present(m);
      if (suites.length > 0) calls.push({ ...base, mirrors: [m], repos: [], aptRoot: null, suites });
    }
    const found: Found[] = [];
    const seen = new Set<string>();
    for (const arch of ARCHES) {
      const locations = [];
      for (const opts of calls) locations.push(...(await debIndexLocationsFor(family, [], arch, opts)).locations);
      for (const loc of locations) {
        const opts: DebResolveOptions = { ...base, mirrors: [], repos: [], aptRoot };
        const want = (n: string): boolean => KERNEL[family].test(n) || MODULES.test(n);
        for (const c of await scanIndex(loc, want, arch, opts, [])) {
          if (seen.has(c.url)) continue;
          seen.add(c.url);
          const k = KERNEL[family].exec(c.name);
          if (k) {
            // Ubuntu: the signed dbgsym of a signed kernel is a stub without vmlinux.
            if (family === 'ubuntu' && !c.name.startsWith('linux-image-unsigned-') && (c.size === null || c.size <= UBUNTU_SIGNED_DBGSYM_MIN_SIZE)) continue;
            found.push({ c, family, arch, uname: k[1]!, role: 'kernel' });
            continue;
          }
          const m = MODULES.exec(c.name);
          if (m && (c.size === null || c.size <= WHOLE_MAX)) found.push({ c, family, arch, uname: m[1]!, role: 'modules' });
        }
      }
    }
    out.set(family, found);
  }
  return out;
}

/** The whole package into a temp file (sha256 checked against the index), then every ELF file's id. */
async function idsOfWholePackage(f: Found, http: HttpFetcher): Promise<DebPackageIds> {
  const dir = join(tmpdir(), `kdbg-debids-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dir, { recursive: true });
  try {
    const r = await http.get(f.c.url, { idleMs: 60_000 });
    if (r.status !== 200) {
      for await (const _ of r.body) void _;
      throw new Error(`${f.c.url}: HTTP ${r.status}`);
    }
    const h = createHash('sha256');
    const file = join(dir, 'p.deb');
    const fh = await fsp.open(file, 'w');
    let n = 0;
    try {
      for await (const c of r.body) {
        n += c.length;
        if (n > WHOLE_MAX) throw new Error(`${f.c.url}: larger than ${WHOLE_MAX} bytes`);
        h.update(c);
        await fh.write(c);
      }
    } finally {
      await fh.close();
    }
    const got = h.digest('hex');
    if (f.c.sha256 !== null && got !== f.c.sha256) throw new Error(`${f.c.url}: sha256 ${got} is not the ${f.c.sha256} the signed index gives`);
    const { ByteSource } = await import('../core/byte-source.js');
    const { extractDeb } = await import('../extract/deb.js');
    const { withFileAccess } = await import('../core/file-access.js');
    const { readElfBuildId } = await import('../formats/elf.js');
    const out = join(dir, 'x');
    const want = (p: string): boolean => p.endsWith('.ko') || p.endsWith('.ko.debug') || p.startsWith(`usr/lib/debug/boot/vmlinux-`);
    const x = await extractDeb(new ByteSource(createReadStream(file), f.c.url, 'package'), { destDir: out, label: f.c.url, select: (m) => m.type === 'file' && want(m.path) });
    const ids: [string, string][] = [];
    for (const w of x.written) {
      if (w.member.type !== 'file') continue;
      const id = await withFileAccess(w.path, (ra) => readElfBuildId(ra)).catch(() => null);
      if (id) ids.push([id, w.member.path]);
    }
    return { ids, bytesRead: n, size: f.c.size };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The vmlinux's id by partial read; the whole package when that cannot apply and it is small. */
async function idsOf(f: Found, http: HttpFetcher): Promise<DebPackageIds> {
  if (f.role === 'modules') return idsOfWholePackage(f, http);
  const { openRangeReader } = await import('../download/range-reader.js');
  const { debMemberBuildId } = await import('../extract/deb-buildid.js');
  const ra = await openRangeReader(f.c.url, f.c.size);
  if (!ra) {
    if (f.c.size !== null && f.c.size <= WHOLE_MAX) return idsOfWholePackage(f, http);
    throw new Error(`${f.c.url}: the mirror does not answer Range requests, and the package is too large to read whole for its build-id`);
  }
  try {
    const member = `usr/lib/debug/boot/vmlinux-${f.uname}`;
    const r = await debMemberBuildId(ra, member, f.c.url);
    if (!r) {
      if (f.c.size !== null && f.c.size <= WHOLE_MAX) return idsOfWholePackage(f, http);
      throw new Error(`${f.c.url}: data.tar is not multi-block xz; too large to read whole for its build-id`);
    }
    return { ids: r.buildId ? [[r.buildId, r.member]] : [], bytesRead: ra.bytesReceived, size: f.c.size };
  } finally {
    const c = (ra as { close?: () => Promise<void> | void }).close;
    if (typeof c === 'function') await c.call(ra);
  }
}

async function readMemo(file: string): Promise<Record<string, DebPackageIds>> {
  try {
    const j = JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
    return j !== null && typeof j === 'object' ? (j as Record<string, DebPackageIds>) : {};
  } catch {
    return {};
  }
}

/**
 * (Re)build the index of each family's archives: packages not in the memo are read (two at a
 * time), then the index is written when its set of packages changed. `onPackage` reports each read,
 * `onProblem` each package that could not be read (one line naming its URL).
 */
export async function refreshDebIndexes(
  o: DebIndexOptions,
  http: HttpFetcher,
  onPackage?: (url: string, ids: DebPackageIds, ms: number) => void,
  onProblem?: (message: string) => void,
): Promise<DebIndexRefresh[]> {
  const { BuildIdIndexBuilder, BuildIdIndex, readIndexFile, writeIndexFile } = await import('../resolve/buildid-index.js');
  const { parseDebVersion } = await import('../resolve/deb-index.js');
  const dir = join(o.cacheDir, 'buildid-index');
  const memoFile = join(dir, 'deb-packages.json');
  const memo = await readMemo(memoFile);
  const results: DebIndexRefresh[] = [];
  let memoChanged = false;
  for (const [family, found] of await listPackages(o, http)) {
    // No kernel package in any of the family's suites (an RPM mirror): no index, no status row.
    if (found.length === 0) continue;
    const key = `deb:${family}`;
    const todo = found.filter((f) => memo[memoKey(f.c)] === undefined);
    const problems: string[] = [];
    const worker = async (): Promise<void> => {
      for (let f = todo.shift(); f !== undefined; f = todo.shift()) {
        const t0 = Date.now();
        try {
          const ids = await idsOf(f, http);
          memo[memoKey(f.c)] = ids;
          memoChanged = true;
          onPackage?.(f.c.url, ids, Date.now() - t0);
        } catch (e) {
          // Not remembered: the next refresh tries the package again.
          problems.push((e as Error).message);
          onProblem?.((e as Error).message);
        }
      }
    };
    await Promise.all([worker(), worker()]);
    // Kernel packages first: RepoIndexes.kernels() takes the first entry of each release.
    const ordered = [...found].sort((a, b) => (a.role === b.role ? 0 : a.role === 'kernel' ? -1 : 1));
    const revision = createHash('sha256').update('deb-index 2\n').update(ordered.map((f) => `${memoKey(f.c)} ${memo[memoKey(f.c)] ? 'y' : 'n'}`).join('\n')).digest('hex');
    const file = join(dir, `deb-${family}.kbi`);
    const have = await readIndexFile(file);
    let index: BuildIdIndex;
    if (have && have.header.revision === revision) index = have;
    else {
      const b = new BuildIdIndexBuilder();
      for (const f of ordered) {
        const m = memo[memoKey(f.c)];
        if (!m) continue;
        const v = parseDebVersion(f.c.version);
        // One entry per file read: a hit names the package and the member (the vmlinux or a .ko).
        for (const [id, member] of m.ids) b.add({ name: f.c.name, arch: f.arch, epoch: String(v.epoch), ver: v.upstream, rel: v.revision, uname: f.uname, buildIds: [id], member, url: f.c.url, suite: suiteOf(f.c.where) });
      }
      const bytes = b.encode(key, revision, null, 'deb');
      await writeIndexFile(file, bytes);
      index = BuildIdIndex.decode(bytes, file);
    }
    results.push({ key, index, status: { repo: key, ids: index.count, revision, problem: problems.length > 0 ? problems.join('; ') : null } });
  }
  if (memoChanged) await writeIndexFile(memoFile, Buffer.from(JSON.stringify(memo)));
  return results;
}
