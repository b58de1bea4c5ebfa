// issue 14: releases that left every live mirror, fetched from the historical archives' local
// imitations (test/helpers/archive-services.ts) in their documented JSON shapes: the real Debian
// -dbg package of the fixtures (scripts/fixtures/40-debian-vmlinux.sh, ~860 MB, multi-block xz)
// served only from the "snapshot", verified by the SHA256 of the snapshot's Packages index and
// read partially by Range; a dpkg-deb-built Ubuntu ddeb (scripts/fixtures/20-deb-mirror.sh) from
// "Launchpad". Request counts and bytes are measured on the servers' request logs and printed.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLaunchpadService, startSnapshotService } from '../helpers/archive-services.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer, type RequestRecord } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, runKdbg, tmpDir } from './fetch-cli.js';

const dbg = debianVmlinux();
const SMALL_REL = '6.1.0-99-amd64';
const smallDeb = requireFixture('deb', 'pkgs', `linux-image-${SMALL_REL}-dbg_6.1.999-2_amd64.xz.deb`);
const UBU_REL = '5.15.0-991-generic';
const ddeb = requireFixture('deb', 'ubuntu-ddebs', 'pool/main/l/linux', `linux-image-unsigned-${UBU_REL}-dbgsym_5.15.0-991.1001_amd64.ddeb`);
const liveMirror = requireFixture('deb', 'debian');

interface PkgJson {
  name: string;
  url: string;
  sha256: string;
  size: number;
  sha256Verified: boolean;
  partial: { bytesFetched: number } | null;
  origin: string;
}

let snap: MirrorServer;
let lp: MirrorServer;
let mirror: MirrorServer;
let config: string;

/** Metadata requests to the snapshot service: its /mr/ interface and the archived indexes. */
const metaRequests = (log: RequestRecord[]): RequestRecord[] => log.filter((r) => r.path.startsWith('/mr/') || r.path.includes('/dists/'));
const poolRequests = (log: RequestRecord[]): RequestRecord[] => log.filter((r) => r.path.includes('/pool/'));

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return isolatedEnv({ KDBG_DEBIAN_SNAPSHOT_URL: `${snap.url}/`, KDBG_LAUNCHPAD_URL: `${lp.url}/devel/`, ...extra });
}

async function sha256File(f: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(f, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  const d = tmpDir('kdbg-archives-');
  config = join(d, 'config.json');
  // Loopback only: no public presets, no host yum repos, no host apt sources.
  writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [join(liveMirror, 'archive-key.asc')] }));
  snap = await startSnapshotService(join(d, 'snapshot'), [
    { deb: join(requireFixture('debian-pkgs'), dbg.deb), archive: 'debian-security', firstSeen: '20261126T120000Z', suite: 'bookworm-security', sha256: dbg.debSha256 },
    // The index says another SHA256 than the file has: the download must be refused.
    { deb: smallDeb, archive: 'debian', firstSeen: '20231001T000000Z', suite: 'bookworm-proposed-updates', indexSha256: '0'.repeat(64) },
  ]);
  lp = await startLaunchpadService(join(d, 'launchpad'), [{ ddeb, series: 'jammy', pocket: 'Updates', status: 'Superseded', id: 4242 }]);
  mirror = await startMirrorServer(liveMirror);
}, 60_000);

afterAll(async () => {
  await snap?.close();
  await lp?.close();
  await mirror?.close();
  cleanupTmp();
});

describe('Debian snapshot', () => {
  const cache = (): string => tmpDir('kdbg-archives-cache-');

  it('fetches a release that is on no live mirror: ≤ 4 metadata requests cold (the signed InRelease among them), index-verified, partial ≤ 15 %, 0 requests warm', async () => {
    const c = cache();
    snap.requests.length = 0;
    mirror.requests.length = 0;
    // The live mirror comes first and does not list it (the fixture archive has 6.1.0-99 only).
    const r = await runKdbg(['fetch', dbg.release, '--json', '--mirror', `${mirror.url}/`, '--config', config, '--cache-dir', c], env());
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; packages: PkgJson[]; timings: { signatureMs: number } };
    expect(mirror.requests.length).toBeGreaterThan(0);
    expect(Math.min(...snap.requests.map((q) => q.at))).toBeGreaterThanOrEqual(Math.max(...mirror.requests.map((q) => q.at)));
    const meta = metaRequests(snap.requests);
    expect(meta.length).toBeLessThanOrEqual(4);
    // The archived InRelease of that time is verified (issue 16) before its Packages.xz is read.
    expect(meta.some((q) => q.path.endsWith('/dists/bookworm-security/InRelease') && q.status === 200)).toBe(true);
    const p = j.packages[0]!;
    expect(p.origin).toBe('snapshot');
    expect(p.name).toBe(dbg.package);
    expect(p.sha256).toBe(dbg.debSha256);
    expect(p.url).toBe(`${snap.url}/archive/debian-security/20261126T120000Z/pool/main/l/linux/${dbg.deb}`);
    const served = poolRequests(snap.requests).reduce((n, q) => n + q.bytesSent, 0);
    expect(p.partial).not.toBeNull();
    expect(served).toBeLessThanOrEqual(0.15 * dbg.debSize);
    expect(await sha256File(j.vmlinux)).toBe(dbg.vmlinuxSha256);
    console.log(
      `[archives] snapshot cold: ${meta.length} metadata requests (${meta.map((q) => q.path + q.search).join(', ')}); ` +
        `${poolRequests(snap.requests).length} Range requests, ${served} of ${dbg.debSize} bytes served (${((100 * served) / dbg.debSize).toFixed(2)} %), partial.bytesFetched ${p.partial!.bytesFetched}`,
    );

    // Warm: the entry answers, nothing at all is asked.
    snap.requests.length = 0;
    const again = await runKdbg(['fetch', dbg.release, '--json', '--config', config, '--cache-dir', c], env());
    expect(again.code, again.stderr).toBe(0);
    expect(snap.requests.length).toBe(0);

    // The entry gone but the metadata kept: the package is read again, the service is not asked.
    rmSync(join(c, 'releases'), { recursive: true, force: true });
    rmSync(join(c, 'buildid'), { recursive: true, force: true });
    const third = await runKdbg(['fetch', dbg.release, '--json', '--config', config, '--cache-dir', c], env());
    expect(third.code, third.stderr).toBe(0);
    expect(metaRequests(snap.requests).length).toBe(0);
    expect((JSON.parse(third.stdout) as { packages: PkgJson[] }).packages[0]!.origin).toBe('snapshot');
    // The archived InRelease's gpgv check shows in the timings, with no live mirror to check.
    const alone = await runKdbg(['fetch', dbg.release, '--json', '--config', config, '--cache-dir', cache()], env());
    expect(alone.code, alone.stderr).toBe(0);
    expect((JSON.parse(alone.stdout) as { timings: { signatureMs: number } }).timings.signatureMs).toBeGreaterThan(0);
    console.log(`[archives] snapshot warm: 0 requests with the entry cached; ${metaRequests(snap.requests).length} metadata requests and ${poolRequests(snap.requests).length} Range requests with only the metadata cached`);
  }, 300_000);

  it('refuses a package whose bytes do not match the archived index (exit 65, nothing published)', async () => {
    const c = cache();
    const r = await runKdbg(['fetch', SMALL_REL, '-q', '--json', '--config', config, '--cache-dir', c], env());
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toMatch(/sha256|digest/i);
    console.log(`[archives] index digest mismatch: exit 65: ${r.stderr.trim()}`);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('kdbg:')).length).toBe(1);
    expect(existsSync(join(c, 'releases', SMALL_REL))).toBe(false);
    const store = join(c, 'packages', 'sha256');
    expect(existsSync(store) ? readdirSync(store, { recursive: true }).filter((f) => String(f).endsWith('.deb')) : []).toEqual([]);
  }, 60_000);

  it('refuses an archived InRelease signed by a key nobody trusts (exit 65, one line, nothing published)', async () => {
    const other = await startSnapshotService(tmpDir('kdbg-archives-other-'), [{ deb: smallDeb, archive: 'debian', firstSeen: '20231001T000000Z', suite: 'bookworm-proposed-updates', signedBy: 'other' }]);
    try {
      const c = cache();
      const r = await runKdbg(['fetch', SMALL_REL, '-q', '--config', config, '--cache-dir', c], env({ KDBG_DEBIAN_SNAPSHOT_URL: `${other.url}/` }));
      expect(r.code, r.stderr).toBe(65);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('kdbg:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/bookworm-proposed-updates\/InRelease: signed by key [0-9A-F]+, which is not in the trusted keyrings/);
      expect(other.requests.some((q) => q.path.endsWith('Packages.xz'))).toBe(false);
      expect(existsSync(join(c, 'releases', SMALL_REL))).toBe(false);
      console.log(`[archives] snapshot InRelease by an unknown key: exit ${r.code}: ${lines[0]}`);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('retries 503 after Retry-After and succeeds; keeps refusing 429 → one line, exit 75', async () => {
    let c = cache();
    snap.requests.length = 0;
    let refused = 0;
    snap.setFault((path) => (path.startsWith('/mr/') && refused++ === 0 ? { status: 503, retryAfter: '1' } : undefined));
    // --no-keep-packages and the small file: the route is what is tested here, not the download.
    const retried = await runKdbg(['fetch', SMALL_REL, '--config', config, '--cache-dir', c, '--pkg-version', '6.1.999-2'], env());
    snap.setFault(null);
    const firstTwo = snap.requests.filter((q) => q.path === `/mr/binary/linux-image-${SMALL_REL}-dbg/`);
    expect(firstTwo.map((q) => q.status)).toEqual([503, 200]);
    expect(firstTwo[1]!.at - firstTwo[0]!.at).toBeGreaterThanOrEqual(900);
    // (the index of this package lies about its digest: refused after the retry got through)
    expect(retried.code, retried.stderr).toBe(65);

    c = cache();
    snap.requests.length = 0;
    snap.setFault((path) => (path.startsWith('/mr/') ? { status: 429, retryAfter: '1' } : undefined));
    const t0 = Date.now();
    const r = await runKdbg(['fetch', dbg.release, '-q', '--config', config, '--cache-dir', c], env());
    snap.setFault(null);
    expect(r.code, r.stderr).toBe(75);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('kdbg:'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/HTTP 429 3 times/);
    expect(snap.requests.length).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(existsSync(join(c, 'releases', dbg.release))).toBe(false);
    console.log(`[archives] 429: ${snap.requests.length} requests over ${snap.requests.at(-1)!.at - snap.requests[0]!.at} ms, then exit 75: ${lines[0]}`);
  }, 60_000);

  it('an unreachable service: exit 69, every URL tried listed', async () => {
    const port = await closedPort();
    const r = await runKdbg(['fetch', dbg.release, '-q', '--mirror', `${mirror.url}/`, '--config', config, '--cache-dir', cache()], env({ KDBG_DEBIAN_SNAPSHOT_URL: `http://127.0.0.1:${port}/snap/` }));
    expect(r.code, r.stderr).toBe(69);
    const line = r.stderr.trim().split('\n').filter((l) => l.startsWith('kdbg:'));
    expect(line.length).toBe(1);
    expect(line[0]).toContain(`http://127.0.0.1:${port}/snap/mr/binary/${dbg.package}/`);
    expect(line[0]).toContain(`${mirror.url}/dists/bookworm/main/binary-amd64/Packages.xz`);
    const n = /(\d+) URLs tried/.exec(line[0]!)![1];
    console.log(`[archives] unreachable: exit 69, ${n} URLs listed: ${line[0]}`);
  }, 60_000);

  it('--no-archives and `"archives": false` never ask the service', async () => {
    snap.requests.length = 0;
    const r = await runKdbg(['fetch', dbg.release, '--no-archives', '--config', config, '--cache-dir', cache()], env());
    expect(r.code, r.stderr).toBe(69);
    const off = join(tmpDir('kdbg-archives-off-'), 'config.json');
    writeFileSync(off, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, archives: false, keyrings: [join(liveMirror, 'archive-key.asc')] }));
    const r2 = await runKdbg(['fetch', dbg.release, '--config', off, '--cache-dir', cache()], env());
    expect(r2.code, r2.stderr).toBe(69);
    expect(snap.requests.length).toBe(0);
  }, 60_000);

  it('a package on a live mirror never reaches the archive; origin "mirror"', async () => {
    snap.requests.length = 0;
    const r = await runKdbg(['fetch', SMALL_REL, '--json', '--mirror', `${mirror.url}/`, '--config', config, '--cache-dir', cache()], env());
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { packages: PkgJson[] }).packages[0]!.origin).toBe('mirror');
    expect(snap.requests.length).toBe(0);
  }, 60_000);
});

describe('Launchpad', () => {
  it('fetches an Ubuntu ddeb the ddebs mirror no longer has: 2 metadata requests, verified by its sha256, 0 when cached', async () => {
    const c = tmpDir('kdbg-archives-lp-');
    lp.requests.length = 0;
    const r = await runKdbg(['fetch', UBU_REL, '--json', '--config', config, '--cache-dir', c], env());
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; packages: PkgJson[] };
    const p = j.packages[0]!;
    expect(p.origin).toBe('launchpad');
    expect(p.name).toBe(`linux-image-unsigned-${UBU_REL}-dbgsym`);
    expect(p.sha256).toBe(await sha256File(ddeb));
    expect(p.sha256Verified).toBe(true);
    const meta = lp.requests.filter((q) => q.path.startsWith('/devel/'));
    expect(meta.map((q) => new URLSearchParams(q.search).get('ws.op'))).toEqual(['getPublishedBinaries', 'binaryFileUrls']);
    console.log(`[archives] launchpad cold: ${meta.length} metadata requests, ${lp.requests.length - meta.length} file request(s)`);

    rmSync(join(c, 'releases'), { recursive: true, force: true });
    rmSync(join(c, 'buildid'), { recursive: true, force: true });
    lp.requests.length = 0;
    const again = await runKdbg(['fetch', UBU_REL, '--json', '--config', config, '--cache-dir', c], env());
    expect(again.code, again.stderr).toBe(0);
    expect(lp.requests.filter((q) => q.path.startsWith('/devel/')).length).toBe(0);
  }, 60_000);
});
