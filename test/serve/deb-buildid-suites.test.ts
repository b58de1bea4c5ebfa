// The Debian/Ubuntu build-id index over fixture 20's archives (dpkg-deb-built packages, signed
// InRelease): a Debian suite with its -security and -updates pockets (one release in two builds,
// an index only as Packages.gz), and an Ubuntu ddebs archive (unsigned dbgsym in xz and zstd, the
// signed stub that must never be indexed, an old-style signed dbgsym that is the real one). Every
// kernel's vmlinux is extracted with dpkg-deb and its id read by readelf -n; debuginfod-find
// against `kdbg serve --fetch` must get that exact file.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetrics, metricValue, waitForIndexIds } from '../helpers/debuginfod.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { isolatedServeEnv, startKdbgServe, type KdbgServe } from '../helpers/kdbg-serve.js';

interface Entry {
  file: string;
  kind: string;
  release: string;
  archive?: string;
  suite?: string;
}

const root = join(requireFixture('deb', 'manifest.json'), '..');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Entry[];
const work = mkdtempSync(join(tmpdir(), 'kdbg-debbid-suites-'));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The package's vmlinux as dpkg-deb and tar give it, and its id as readelf -n reads it. */
function reference(e: Entry): { bytes: Buffer; id: string } {
  const member = `./usr/lib/debug/boot/vmlinux-${e.release}`;
  const out = join(work, `ref-${e.release}-${sha256(Buffer.from(e.file)).slice(0, 8)}`);
  execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" > "$3"', 'sh', join(root, e.file), member, out]);
  const id = /Build ID:\s*([0-9a-f]+)/.exec(execFileSync('readelf', ['-nW', out], { encoding: 'utf8' }))![1]!;
  return { bytes: readFileSync(out), id };
}

let debian: MirrorServer;
let ubuntu: MirrorServer;
let serve: KdbgServe;

function find(id: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: serve.url, DEBUGINFOD_CACHE_PATH: join(work, 'client'), DEBUGINFOD_TIMEOUT: '300' };
  delete env['DEBUGINFOD_PROGRESS'];
  return new Promise((resolve) =>
    execFile('debuginfod-find', ['debuginfo', id], { env, encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr }),
    ),
  );
}

beforeAll(async () => {
  debian = await startMirrorServer(join(root, 'debian'));
  ubuntu = await startMirrorServer(join(root, 'ubuntu-ddebs'));
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [fixturePath('keys', 'archive.asc')] }));
  serve = await startKdbgServe(['--fetch', '--mirror', debian.url, '--mirror', ubuntu.url, '--config', config, '--cache-dir', join(work, 'cache')], isolatedServeEnv(join(work, 'xdg')));
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await debian?.close();
  await ubuntu?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('build-id index of Debian and Ubuntu suites', () => {
  const kernels = (): Entry[] => manifest.filter((e) => e.archive !== undefined && e.kind !== 'dbgsym-signed-tiny');

  it('indexes every kernel build of every pocket, and never the signed stub', async () => {
    const ids = await waitForIndexIds(serve.url, kernels().length, 120_000);
    expect(ids, serve.log()).toBe(kernels().length);
    const stubs = manifest.filter((e) => e.kind === 'dbgsym-signed-tiny').map((e) => `/${e.file.replace(/^ubuntu-ddebs\//, '')}`);
    expect(ubuntu.requests.filter((r) => stubs.includes(r.path))).toEqual([]);
  }, 150_000);

  it('debuginfod-find gets each release\'s vmlinux by its id (the older build of a release first: the indexed version is fetched)', async () => {
    // Two builds of one release: the cache keeps one entry per release, so only the first asked is answered.
    const older = kernels().find((e) => e.suite === 'bookworm')!;
    const newer = kernels().find((e) => e.suite === 'bookworm-security')!;
    // The 4.4 aws kernel sits in a jammy suite only, where `kdbg fetch` alone (deriving xenial for
    // a 4.4 kernel) would not look: the miss reads the suite the index found it in.
    const asked = kernels().filter((e) => e !== newer);
    expect(asked[0]).toBe(older);
    for (const e of asked) {
      const ref = reference(e);
      const r = await find(ref.id);
      expect(r.code, `${e.file}: ${r.stderr}\n${serve.log()}`).toBe(0);
      expect(sha256(readFileSync(r.stdout)), e.file).toBe(sha256(ref.bytes));
    }
    expect(reference(newer).id).not.toBe(reference(older).id);
  }, 600_000);
});

describe('a package the index cannot read', () => {
  it('is named on one line and left out; the other packages are indexed; its id is a 404', async () => {
    const bad = manifest.find((e) => e.suite === 'bookworm-updates')!;
    const badPath = `/${bad.file.replace(/^debian\//, '')}`;
    const mirror = await startMirrorServer(join(root, 'debian'));
    // One flipped byte in the package: read whole (one xz block), its sha256 is not the signed index's.
    mirror.setFault((p) => (p === badPath ? { corruptAt: 1000 } : undefined));
    const config = join(work, 'config-bad.json');
    writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [fixturePath('keys', 'archive.asc')] }));
    const s = await startKdbgServe(['--fetch', '--mirror', mirror.url, '--config', config, '--cache-dir', join(work, 'cache-bad')], isolatedServeEnv(join(work, 'xdg')));
    try {
      const t0 = Date.now();
      while (Date.now() - t0 < 60_000 && !/build-id index: \d+ ids from/.test(s.log())) await new Promise((r) => setTimeout(r, 100));
      const others = manifest.filter((e) => e.archive === 'debian' && e !== bad);
      expect(metricValue((await fetchMetrics(s.url)) ?? '', 'kdbg_serve_index_ids'), s.log()).toBe(others.length);
      const lines = s.log().split('\n').filter((l) => l.includes(`${mirror.url}${badPath}`) && /sha256/.test(l));
      expect(lines, s.log()).toHaveLength(1);
      expect(lines[0]).toMatch(/signed index/);
      const r = await fetch(`${s.url}/buildid/${reference(bad).id}/debuginfo`);
      expect(r.status).toBe(404);
      await r.arrayBuffer();
    } finally {
      await s.stop();
      await mirror.close();
    }
  }, 120_000);
});
