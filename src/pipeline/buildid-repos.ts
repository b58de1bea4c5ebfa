// The build-id indexes of the RPM repositories `kdbg fetch` would use (issue 20, item 2), kept by
// `kdbg serve --fetch` so a build-id it has never seen resolves to a package and kernel release.
//
// Which repositories: the mirror configuration fetch loads (--mirror/--repo, config files, the
// host's yum/dnf/zypper repos, the presets unless turned off), expanded the way fetch expands it
// for a release of each RHEL and Oracle UEK major (x86_64 and aarch64): a `mirror` gives the family's
// layout directories, a `repo` its base with $releasever/$basearch substituted. Mirror lists,
// metalinks and templates name no fixed repository and are not indexed.
//
// Per repository: repodata/repomd.xml is read; when its <revision> (or filelists checksum) is the
// one the stored index was built from, the stored index is used; otherwise filelists.xml is
// streamed (gz/xz/zst), its sha256 checked against repomd.xml, and a new index written under
// <cache>/buildid-index/. Refreshed at most every `refreshMs`, on a miss.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Env } from '../core/env.js';
import { processEnv } from '../core/env.js';
import { IntegrityError } from '../core/errors.js';
import type { HttpFetcher } from '../core/types.js';
import type { BuildIdIndex, BuildIdIndexHit } from '../resolve/buildid-index.js';

export interface RepoIndexOptions {
  cacheDir: string;
  mirrors?: string[];
  repos?: string[];
  configFile?: string;
  env?: Env;
  http?: HttpFetcher;
  /** Minimum time between two repomd.xml checks of the same repository (default 5 min). */
  refreshMs?: number;
  /** Releases whose repositories are indexed (default: one per RPM major and arch). */
  sampleReleases?: readonly string[];
  onInfo?: (message: string) => void;
}

export interface RepoIndexStatus {
  repo: string;
  ids: number;
  revision: string | null;
  /** Why the repository has no index (`HTTP 404`, an error), null when it has one. */
  problem: string | null;
}

export interface RepoKernel {
  uname: string;
  /** The repository base whose filelists listed it. */
  repo: string;
  /** The debuginfo package: name, [epoch:]version-release, arch. */
  name: string;
  evr: string;
  arch: string;
  /** `deb`: from a Debian/Ubuntu archive (buildid-debs.ts): fetched through the mirrors, not `repo`. */
  kind?: 'rpm' | 'deb';
  /** deb: the suite whose index listed the package. */
  suite?: string;
}

/** One release per RHEL major and per Oracle UEK major: how `--mirror` bases expand (layout.ts). */
const SAMPLES = ['1.0.0-1.el7', '1.0.0-1.el8', '1.0.0-1.el9', '1.0.0-1.el10', '1.0.0-1.el7uek', '1.0.0-1.el8uek', '1.0.0-1.el9uek'].flatMap((r) => [`${r}.x86_64`, `${r}.aarch64`]);

/** sha256 of the bytes passing through, for checking filelists.xml against repomd.xml. */
async function* hashing(body: AsyncIterable<Uint8Array>, h: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  for await (const c of body) {
    h.update(c);
    yield c;
  }
}

async function readBytes(body: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new Error(`larger than ${max} bytes`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

function rank(order: string[], base: string): number {
  const i = order.indexOf(base);
  return i < 0 ? order.length : i;
}

export class RepoIndexes {
  private readonly loaded = new Map<string, BuildIdIndex>();
  private readonly status = new Map<string, RepoIndexStatus>();
  /** Per repository base: the check of repomd.xml's signature its repo file asks for (repo_gpgcheck). */
  private readonly repomdChecks = new Map<string, (url: string, body: Buffer) => Promise<void>>();
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;

  constructor(private readonly opts: RepoIndexOptions) {}

  /** Repository bases to index, in fetch's order, de-duplicated. */
  async repositories(): Promise<string[]> {
    const { loadMirrorConfig } = await import('../resolve/config.js');
    const { candidatesFor } = await import('../resolve/layout.js');
    const { parseRelease } = await import('../release/index.js');
    const config = await loadMirrorConfig({
      ...(this.opts.configFile !== undefined ? { configFile: this.opts.configFile } : {}),
      mirrors: this.opts.mirrors ?? [],
      repos: this.opts.repos ?? [],
      env: this.opts.env ?? processEnv(),
    });
    const { repomdVerifier } = await import('../resolve/rpm-trust.js');
    const http = await this.http();
    const out: string[] = [];
    for (const s of this.opts.sampleReleases ?? SAMPLES) {
      for (const c of candidatesFor(parseRelease(s), config)) {
        if (c.kind !== 'repo' || out.includes(c.base)) continue;
        out.push(c.base);
        // The same check fetch makes (lookup.ts): an index built from an unsigned repomd.xml
        // would send misses to whatever package a forged filelists names.
        const check = repomdVerifier(c.origin, config, { http, cacheRoot: null });
        if (check) this.repomdChecks.set(c.base, check);
        else this.repomdChecks.delete(c.base);
      }
    }
    return out;
  }

  /** Ids indexed over all repositories. */
  get idCount(): number {
    let n = 0;
    for (const i of this.loaded.values()) n += i.count;
    return n;
  }

  /** Bytes of index records held. */
  get bytes(): number {
    let n = 0;
    for (const i of this.loaded.values()) n += i.bytes;
    return n;
  }

  repoStatus(): RepoIndexStatus[] {
    return [...this.status.values()];
  }

  /** Every kernel release the indexed repositories carry (a package listing a vmlinux), first repository first. */
  kernels(): RepoKernel[] {
    const out: RepoKernel[] = [];
    const seen = new Set<string>();
    for (const [repo, i] of this.loaded) {
      for (const [pi, [name, epoch, ver, rel, arch, uname, member]] of i.header.packages.entries()) {
        if (uname === null || seen.has(uname)) continue;
        // A Debian module package's entry names its release but is not the kernel's package.
        if (member !== undefined && !member.startsWith('usr/lib/debug/boot/vmlinux-')) continue;
        seen.add(uname);
        out.push({ uname, repo, name, evr: `${epoch === '0' ? '' : `${epoch}:`}${ver}${rel === '' ? '' : `-${rel}`}`, arch, ...(i.header.kind === 'deb' ? { kind: 'deb' as const } : {}), ...(i.header.suites?.[pi] ? { suite: i.header.suites[pi]! } : {}) });
      }
    }
    return out;
  }

  lookup(id: string): BuildIdIndexHit | null {
    for (const i of this.loaded.values()) {
      const h = i.lookup(id);
      if (h) return h;
    }
    return null;
  }

  /** lookup, after a refresh when the last one is older than refreshMs. */
  async lookupFresh(id: string): Promise<BuildIdIndexHit | null> {
    const h = this.lookup(id);
    if (h) return h;
    if (Date.now() - this.lastRefresh < (this.opts.refreshMs ?? 300_000)) return null;
    await this.refresh();
    return this.lookup(id);
  }

  /** Check every repository's repomd.xml and (re)build the indexes whose revision changed. Coalesced. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshAll().finally(() => {
      this.lastRefresh = Date.now();
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshAll(): Promise<void> {
    // Four repositories at a time: a miss that waits on a refresh waits for the slowest one, not
    // for the sum of every repomd.xml round trip (most candidates of a --mirror are 404s).
    const order = await this.repositories();
    const todo = [...order];
    const worker = async (): Promise<void> => {
      for (let base = todo.shift(); base !== undefined; base = todo.shift()) {
        try {
          await this.refreshOne(base);
        } catch (e) {
          this.status.set(base, { repo: base, ids: this.loaded.get(base)?.count ?? 0, revision: this.loaded.get(base)?.header.revision ?? null, problem: (e as Error).message });
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await this.refreshDebs();
    // Look-ups go through the indexes in fetch's order of the repositories, whatever finished first.
    const byOrder = [...this.loaded.entries()].sort((a, b) => rank(order, a[0]) - rank(order, b[0]));
    this.loaded.clear();
    for (const [k, v] of byOrder) this.loaded.set(k, v);
  }

  /** The Debian/Ubuntu archives' indexes (buildid-debs.ts), after the RPM repositories. */
  private async refreshDebs(): Promise<void> {
    const { refreshDebIndexes } = await import('./buildid-debs.js');
    try {
      const onPackage = (url: string, r: { ids: unknown[]; bytesRead: number; size: number | null }, ms: number): void =>
        this.opts.onInfo?.(`build-id index: ${url}: ${r.ids.length} ids, ${r.bytesRead} of ${r.size ?? '?'} bytes read (${ms} ms)`);
      const onProblem = (m: string): void => this.opts.onInfo?.(`build-id index: ${m}`);
      for (const r of await refreshDebIndexes(this.opts, await this.http(), onPackage, onProblem)) {
        if (r.index) this.loaded.set(r.key, r.index);
        this.status.set(r.key, r.status);
      }
    } catch (e) {
      this.status.set('deb', { repo: 'deb', ids: 0, revision: null, problem: (e as Error).message });
    }
  }

  private async http(): Promise<HttpFetcher> {
    return this.opts.http ?? (await import('../download/http.js')).undiciFetcher;
  }

  private async refreshOne(base: string): Promise<void> {
    const http = await this.http();
    const { parseRepomdFilelists, filelistsBuildIds } = await import('../resolve/filelists.js');
    const { BuildIdIndexBuilder, readIndexFile, writeIndexFile } = await import('../resolve/buildid-index.js');
    const repomdUrl = `${base}repodata/repomd.xml`;
    const r = await http.get(repomdUrl, { idleMs: 30_000 });
    if (r.status !== 200) {
      for await (const _ of r.body) void _;
      this.status.set(base, { repo: base, ids: 0, revision: null, problem: `${repomdUrl}: HTTP ${r.status}` });
      return;
    }
    const repomd = await readBytes(r.body, 4 << 20);
    await this.repomdChecks.get(base)?.(repomdUrl, repomd);
    const fl = parseRepomdFilelists(repomd.toString('utf8'), repomdUrl);
    const revision = `${fl.revision}:${fl.sha256 ?? fl.href}`;
    const file = join(this.opts.cacheDir, 'buildid-index', `${createHash('sha256').update(base).digest('hex').slice(0, 24)}.kbi`);
    const have = this.loaded.get(base) ?? (await readIndexFile(file));
    if (have && have.header.revision === revision && have.header.repo === base) {
      this.loaded.set(base, have);
      this.status.set(base, { repo: base, ids: have.count, revision, problem: null });
      return;
    }
    const url = new URL(fl.href, base).href;
    const t0 = Date.now();
    const res = await http.get(url, { idleMs: 60_000 });
    if (res.status !== 200) {
      for await (const _ of res.body) void _;
      throw new Error(`${url}: HTTP ${res.status}`);
    }
    const { decompressIndex } = await import('../resolve/decompress.js');
    const h = createHash('sha256');
    const builder = new BuildIdIndexBuilder();
    for await (const p of filelistsBuildIds(decompressIndex(hashing(res.body, h), url), url)) builder.add(p);
    const got = h.digest('hex');
    if (fl.sha256 !== null && got !== fl.sha256) {
      throw new IntegrityError(`${url}: sha256 ${got} is not the ${fl.sha256} repomd.xml gives; index not updated`, { details: { url, expected: fl.sha256, actual: got } });
    }
    const bytes = builder.encode(base, revision, fl.sha256);
    await writeIndexFile(file, bytes);
    const { BuildIdIndex } = await import('../resolve/buildid-index.js');
    const idx = BuildIdIndex.decode(bytes, file);
    this.loaded.set(base, idx);
    this.status.set(base, { repo: base, ids: idx.count, revision, problem: null });
    this.opts.onInfo?.(`build-id index: ${base}: ${idx.count} ids from ${builder.packages.length} packages (${Date.now() - t0} ms)`);
  }
}
