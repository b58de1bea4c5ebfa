// `kdbg serve --fetch` (issue 20, items 1, 2 and 5) against a real repository: fixture 78's
// kernel-debuginfo RPM (rpmbuild, real vmlinux and module build-id links, createrepo_c xz
// metadata) served by a real HTTP server on 127.0.0.1. Build-ids and digests come from the
// fixture's manifest (readelf, sha256sum), never from kdbg.
import { execFileSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { undiciFetcher } from '../../src/download/http.js';
import { RepoIndexes } from '../../src/pipeline/buildid-repos.js';
import { startServe, type MissOptions, type RunningServer } from '../../src/serve/server.js';
import { requireFixture, rpmVerification } from '../helpers/fixtures.js';
import { metricValue } from '../helpers/debuginfod.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

interface Manifest {
  uname: string;
  repo: string;
  package: string;
  packageSha256: string;
  vmlinux: { member: string; buildId: string; sha256: string };
  modules: { name: string; member: string; buildId: string; sha256: string }[];
}

const manifestPath = requireFixture('buildid-mirror', 'manifest.json');
const mirrorRoot = join(manifestPath, '..');
const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
const pkgSize = readFileSync(join(mirrorRoot, m.package)).length;
const work = mkdtempSync(join(tmpdir(), 'kdbg-serve-fetch-'));
const configFile = join(work, 'config.json');
writeFileSync(configFile, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, ...rpmVerification() }));
const env = { HOME: work };
const servers: RunningServer[] = [];
let mirror: MirrorServer;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function get(url: string, path: string, signal?: AbortSignal): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; ms: number }> {
  const u = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, agent: false, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveWithFetch(cacheDir: string, over: Partial<MissOptions> = {}, mirrors = [mirror.url]): Promise<RunningServer> {
  const miss: MissOptions = {
    fetch: { cacheDir, mirrors, configFile, env },
    indexes: new RepoIndexes({ cacheDir, mirrors, configFile, env }),
    upstream: [],
    http: undiciFetcher,
    missRatePerMinute: 0,
    negativeTtlMs: 60_000,
    onInfo: (line) => console.log(line),
    ...over,
  };
  const s = await startServe({ cacheDir, host: '127.0.0.1', port: 0, miss });
  servers.push(s);
  return s;
}

/** Body bytes the mirror sent of the debuginfo package, over all requests (ranges included). */
const packageBytesSent = (): number => mirror.requests.filter((r) => r.path === `/${m.package}` && r.method === 'GET').reduce((n, r) => n + r.bytesSent, 0);

beforeAll(async () => {
  mirror = await startMirrorServer(mirrorRoot);
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await mirror.close();
  rmSync(work, { recursive: true, force: true });
});

describe('build-id index from filelists.xml', () => {
  it('indexes every .build-id link of the repository with its package and kernel release, once per revision', async () => {
    const cacheDir = join(work, 'index-cache');
    const idx = new RepoIndexes({ cacheDir, mirrors: [mirror.url], configFile, env });
    await idx.refresh();
    expect(idx.idCount).toBe(1 + m.modules.length);
    for (const id of [m.vmlinux.buildId, ...m.modules.map((x) => x.buildId)]) {
      const h = idx.lookup(id);
      expect(h?.uname).toBe(m.uname);
      expect(h?.package.name).toBe('kernel-debuginfo');
      expect(h?.repo).toBe(`${mirror.url}/${m.repo}`);
      expect(h?.member).toBe(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
    }
    expect(idx.lookup('00'.repeat(20))).toBeNull();
    expect(readdirSync(join(cacheDir, 'buildid-index')).filter((f) => f.endsWith('.kbi'))).toHaveLength(1);
    // A second server process reads the stored index: repomd.xml again, filelists not again.
    const before = mirror.requests.filter((r) => r.path.includes('filelists')).length;
    const again = new RepoIndexes({ cacheDir, mirrors: [mirror.url], configFile, env });
    await again.refresh();
    expect(again.lookup(m.vmlinux.buildId)?.uname).toBe(m.uname);
    expect(mirror.requests.filter((r) => r.path.includes('filelists')).length).toBe(before);
    // repo_gpgcheck (rpmVerification): repomd.xml was believed on its detached signature.
    expect(mirror.requests.some((r) => r.path === `/${m.repo}repodata/repomd.xml.asc`)).toBe(true);
  });

  it('a repomd.xml whose signature does not match builds no index: the repository names the problem', async () => {
    // A copy of the repository's metadata with one byte of repomd.xml changed and the
    // publisher's repomd.xml.asc kept, as a tampering mirror would serve it.
    const root = join(work, 'tampered');
    execFileSync('mkdir', ['-p', join(root, m.repo)]);
    execFileSync('cp', ['-r', join(mirrorRoot, m.repo, 'repodata'), join(root, m.repo)]);
    const repomd = join(root, m.repo, 'repodata', 'repomd.xml');
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace(/<revision>(\d)/, (_, d: string) => `<revision>${(Number(d) + 1) % 10}`));
    const bad = await startMirrorServer(root);
    try {
      const cacheDir = join(work, 'index-tampered');
      const idx = new RepoIndexes({ cacheDir, mirrors: [bad.url], configFile, env });
      await idx.refresh();
      expect(idx.idCount).toBe(0);
      expect(idx.lookup(m.vmlinux.buildId)).toBeNull();
      const st = idx.repoStatus().find((x) => x.repo === `${bad.url}/${m.repo}`);
      expect(st?.ids).toBe(0);
      expect(st?.problem).toMatch(/repomd\.xml/);
      expect(st?.problem).toMatch(/signature|BAD|verif/i);
      expect(bad.requests.some((r) => r.path.includes('filelists'))).toBe(false);
      expect(existsSync(join(cacheDir, 'buildid-index')) ? readdirSync(join(cacheDir, 'buildid-index')).filter((f) => f.endsWith('.kbi')) : []).toHaveLength(0);
    } finally {
      await bad.close();
    }
  });
});

describe('kdbg serve --fetch', () => {
  let s: RunningServer;
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = join(work, 'cache');
    s = await serveWithFetch(cacheDir);
  });

  it('50 concurrent clients asking for one uncached vmlinux: one fetch, byte-identical answers', async () => {
    const sentBefore = packageBytesSent();
    expect(mirror.requests.filter((r) => r.path === `/${m.package}`)).toHaveLength(0);
    const path = `/buildid/${m.vmlinux.buildId}/debuginfo`;
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(s.url, path)));
    const ms = performance.now() - t0;
    const digests = new Set(answers.map((a) => sha256(a.body)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect([...digests]).toEqual([m.vmlinux.sha256]);
    expect(s.miss!.fetcher!.counters.fetches).toBe(1);
    expect(s.miss!.fetcher!.counters.joined).toBe(49);
    // One download: one request carried the payload (a partial fetch's Range of the vmlinux's xz
    // blocks); the others are the fetch's small probes of the head and the xz index.
    const sent = packageBytesSent() - sentBefore;
    const pkgRequests = mirror.requests.filter((r) => r.path === `/${m.package}` && r.method === 'GET');
    expect(pkgRequests.filter((r) => r.bytesSent > 1 << 20)).toHaveLength(1);
    expect(sent).toBeLessThanOrEqual(pkgSize + (512 << 10));
    expect(existsSync(join(cacheDir, 'buildid', m.vmlinux.buildId))).toBe(true);
    console.log(`50 clients, cold miss: ${ms.toFixed(0)} ms, package bytes from the mirror ${sent} of ${pkgSize}, ${mirror.requests.filter((r) => r.path === `/${m.package}`).length} requests for it`);
    // Now a hit, with the headers an HTTP cache keeps by build-id.
    const hit = await get(s.url, path);
    expect(hit.headers['cache-control']).toContain('immutable');
    expect(hit.headers['etag']).toContain(m.vmlinux.buildId);
    const metrics = (await get(s.url, '/metrics')).body.toString();
    expect(metricValue(metrics, 'kdbg_serve_fetches_total')).toBe(1);
    expect(metricValue(metrics, 'kdbg_serve_index_ids')).toBe(1 + m.modules.length);
    expect(metricValue(metrics, 'kdbg_serve_hits_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'kdbg_serve_fetched_bytes_total')).toBe(sent);
  });

  it('a module id fetches that module alone; a client that disconnects cancels nothing, and its retry gets the file', async () => {
    const mod = m.modules[1]!;
    const path = `/buildid/${mod.buildId}/debuginfo`;
    const sentBefore = packageBytesSent();
    mirror.setRateLimit(1_500_000); // ~3 s for the package: time to disconnect mid-fetch
    try {
      const ac = new AbortController();
      const gaveUp = get(s.url, path, ac.signal).then(
        () => 'answered',
        () => 'aborted',
      );
      await new Promise((r) => setTimeout(r, 300));
      const waiter = get(s.url, path);
      await new Promise((r) => setTimeout(r, 300));
      ac.abort();
      expect(await gaveUp).toBe('aborted');
      const w = await waiter;
      expect(w.status).toBe(200);
      expect(sha256(w.body)).toBe(mod.sha256);
    } finally {
      mirror.setRateLimit(null);
    }
    const retry = await get(s.url, path);
    expect(retry.status).toBe(200);
    expect(sha256(retry.body)).toBe(mod.sha256);
    expect(s.miss!.fetcher!.counters.fetches).toBe(2);
    // Only the RPM header (which names the link's target) and the xz block(s) holding the module
    // are read. (In this package the modules share the first 6 MiB xz block with most of the
    // vmlinux, so that is nearly the whole package; in a kernel-debuginfo of thousands of modules
    // it is a small part.) The module alone is extracted, not the release's modules.
    const sent = packageBytesSent() - sentBefore;
    console.log(`module ${mod.name} alone: ${sent} bytes of the ${pkgSize}-byte package from the mirror`);
    expect(readdirSync(join(cacheDir, 'modules', m.uname))).toEqual([`${mod.name}.ko`]);
    expect(existsSync(join(cacheDir, 'releases', m.uname, 'modules'))).toBe(false);
    // Each other module is a fetch of its own.
    for (const other of m.modules.filter((x) => x !== mod)) {
      const r = await get(s.url, `/buildid/${other.buildId}/debuginfo`);
      expect(sha256(r.body)).toBe(other.sha256);
    }
    expect(s.miss!.fetcher!.counters.fetches).toBe(1 + m.modules.length);
    expect((await get(s.url, path)).status).toBe(200);
    expect(s.miss!.fetcher!.counters.fetches).toBe(1 + m.modules.length);
  });

  it('a source request for a vmlinux cached without sources fetches the sources package on the miss', async () => {
    // The oracle: rpm's own listing and rpm2cpio | cpio of the -common package.
    const common = join(mirrorRoot, m.package.replace('/kernel-debuginfo-', '/kernel-debuginfo-common-x86_64-'));
    const path = execFileSync('rpm', ['-qlp', common], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .find((l) => l.endsWith('/kernel/main.c'))!;
    expect(path).toBeTruthy();
    const want = execSync(`rpm2cpio ${JSON.stringify(common)} | cpio -i --quiet --to-stdout ${JSON.stringify(`.${path}`)}`);
    expect(existsSync(join(cacheDir, 'releases', m.uname, 'source'))).toBe(false);
    const before = s.miss!.fetcher!.counters.fetches;
    const r = await get(s.url, `/buildid/${m.vmlinux.buildId}/source${path}`);
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.body.equals(want)).toBe(true);
    expect(s.miss!.fetcher!.counters.fetches).toBe(before + 1);
    const again = await get(s.url, `/buildid/${m.vmlinux.buildId}/source${path}`);
    expect(again.body.equals(want)).toBe(true);
    expect(s.miss!.fetcher!.counters.fetches).toBe(before + 1);
  });

  it('an unknown id: a fast 404, then answered from the negative cache', async () => {
    const id = 'ab'.repeat(20);
    const first = await get(s.url, `/buildid/${id}/debuginfo`);
    expect(first.status).toBe(404);
    const second = await get(s.url, `/buildid/${id}/executable`);
    expect(second.status).toBe(404);
    expect(s.miss!.fetcher!.counters.negativeHits).toBe(1);
    expect(second.headers['cache-control']).toBe('public, max-age=60');
    console.log(`unknown id: ${first.ms.toFixed(1)} ms, then ${second.ms.toFixed(1)} ms from the negative cache`);
    expect(second.ms).toBeLessThan(200);
  });

  it('forwards ids it cannot resolve to its upstream debuginfod servers', async () => {
    // A second kdbg serve with no repositories, whose upstream is the first.
    const down = await serveWithFetch(join(work, 'cache-down'), { upstream: [s.url] }, []);
    const r = await get(down.url, `/buildid/${m.vmlinux.buildId}/debuginfo`);
    expect(r.status).toBe(200);
    expect(sha256(r.body)).toBe(m.vmlinux.sha256);
    expect(r.headers['x-debuginfod-size']).toBe(String(r.body.length));
    expect(down.metrics.forwarded).toBe(1);
    expect(down.miss!.fetcher!.counters.fetches).toBe(0);
    const unknown = await get(down.url, `/buildid/${'cd'.repeat(20)}/debuginfo`);
    expect(unknown.status).toBe(404);
  });

  it('rate-limits misses per client address (429 with Retry-After); hits are not limited', async () => {
    const limited = await serveWithFetch(cacheDir, { missRatePerMinute: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(limited.url, `/buildid/${(i + 1).toString(16).padStart(2, '0').repeat(20)}/debuginfo`)).status);
    expect(statuses).toEqual([404, 404, 429]);
    const r = await get(limited.url, `/buildid/${(9).toString(16).padStart(2, '0').repeat(20)}/debuginfo`);
    expect(r.status).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await get(limited.url, `/buildid/${m.vmlinux.buildId}/debuginfo`)).status).toBe(200);
  });
});

describe('kdbg serve --fetch bounds its fetches', () => {
  it('two releases missed at once with --max-fetches 1: one fetch at a time, both answered', async () => {
    // Fixture 10's el7 repository: two debuginfo packages (two releases), each with its vmlinux's
    // .build-id link, and gzip filelists.
    const el7 = readRpmManifest().packages.filter((p) => p.file.startsWith('mirror/7/x86_64/') && p.role === 'vmlinux' && p.buildId);
    expect(el7).toHaveLength(2);
    const rpmMirror = await startMirrorServer(join(rpmFixtureRoot, 'mirror'));
    try {
      rpmMirror.setRateLimit(4_000_000);
      const s = await serveWithFetch(join(work, 'cache-bounded'), { maxFetches: 1 }, [rpmMirror.url]);
      let maxActive = 0;
      const sampler = setInterval(() => (maxActive = Math.max(maxActive, s.miss!.fetcher!.active)), 5);
      const answers = await Promise.all(el7.map((p) => get(s.url, `/buildid/${p.buildId}/debuginfo`)));
      clearInterval(sampler);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers.map((a) => sha256(a.body))).toEqual(el7.map((p) => p.vmlinuxSha256));
      expect(maxActive).toBe(1);
      expect(s.miss!.fetcher!.counters.fetches).toBe(2);
      // The mirror saw the two packages one after the other.
      const spans = el7.map((p) => {
        const rs = rpmMirror.requests.filter((r) => r.path === `/${p.file.replace(/^mirror\//, '')}`);
        return { first: Math.min(...rs.map((r) => r.at)), last: Math.max(...rs.map((r) => r.at)) };
      });
      spans.sort((a, b) => a.first - b.first);
      expect(spans[1]!.first).toBeGreaterThanOrEqual(spans[0]!.last);
    } finally {
      await rpmMirror.close();
    }
  });
});
