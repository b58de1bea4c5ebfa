// issue 16, the partial-fetch gap: a -dbg package of which only the vmlinux is wanted is fetched
// partially by default (only the xz blocks holding the vmlinux), so the package sha256 — the only
// thing the InRelease signature chain reaches — is never checked, and bytes a man in the middle
// changes outside those blocks go unseen. `--no-partial` / config `partialFetch: false` downloads
// the package whole and checks it before anything is published.
//
// The mirror is a copy of the signed fixture archive (scripts/fixtures/20-deb-mirror.sh) whose
// bookworm-security -dbg package is rebuilt large enough for the partial path (≥ 4 MiB): the
// fixture package unpacked by dpkg-deb -R, a 5 MB file added after the vmlinux, rebuilt by
// dpkg-deb and its data.tar recompressed into 256 KiB xz blocks as the fixture script does; the
// Packages.xz, Release and InRelease that name it are rewritten and signed again with the fixture
// key (real gpg). The tampered copy changes 4 KiB of that package inside a byte range the default
// fetch did not request (taken from the server's own request log), keeping its size.
import { execFileSync, execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFixture } from '../helpers/fixtures.js';
import { signRelease } from '../helpers/deb-keys.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cacheFiles, cleanupTmp, loopbackOnlyConfig, nothingPublished, runKdbg, tmpDir } from './fetch-cli.js';

const deb = requireFixture('deb');
const REL = '6.1.0-99-amd64';
const P = `linux-image-${REL}-dbg`;
const FILE = `${P}_6.1.999-2_amd64.deb`;
const DEB_PATH = `/debian/pool/main/l/linux/${FILE}`;
const servers: MirrorServer[] = [];

interface PkgJson {
  name: string;
  sha256: string;
  size: number;
  sha256Verified: boolean;
  partial: { bytesFetched: number; blocksDecoded: number; blocksTotal: number } | null;
}
interface FetchJson {
  vmlinux: string;
  packages: PkgJson[];
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let good: { url: string; server: MirrorServer; root: string };
let bad: { url: string; server: MirrorServer };
let wantVmlinux: string;
let debSize: number;
let defaultRun: { j: FetchJson; ranges: [number, number][] };

const kept = (cache: string): string[] => cacheFiles(cache).filter((f) => f.startsWith('packages/'));
/** The fixture package, rebuilt ≥ 4 MiB with a 5 MB file after the vmlinux, in 256 KiB xz blocks. */
function rebuildLarge(src: string, out: string): void {
  const w = tmpDir('kdbg-nopartial-build-');
  const root = join(w, 'root');
  execFileSync('dpkg-deb', ['-R', src, root]);
  const doc = join(root, 'usr/share/doc', P);
  writeFileSync(join(doc, 'zz-after'), randomBytes(5_000_000)); // after the vmlinux in the tar: never fetched partially
  execSync(`cd ${root} && find usr -type f | sort | xargs md5sum > DEBIAN/md5sums`, { shell: '/bin/bash' });
  execSync(`dpkg-deb --root-owner-group -Znone --build root plain.deb >/dev/null && mkdir ar && cd ar && ar x ../plain.deb && xz -T2 --block-size=262144 -6 data.tar && rm -f ${out} && ar rc ${out} debian-binary control.tar* data.tar.xz`, { cwd: w, shell: '/bin/bash' });
}

/** Point bookworm-security's Packages.xz at the package as it now is, and sign the suite again. */
function reindex(root: string): void {
  const f = join(root, 'pool/main/l/linux', FILE);
  const b = readFileSync(f);
  const dir = join(root, 'dists/bookworm-security');
  const px = join(dir, 'main/binary-amd64/Packages.xz');
  const text = execFileSync('xz', ['-dc', px]).toString('utf8');
  const stanzas = text.split('\n\n').map((s) =>
    s.includes(`Package: ${P}\n`)
      ? s
          .replace(/^Size: .*$/m, `Size: ${b.length}`)
          .replace(/^SHA256: .*$/m, `SHA256: ${sha(b)}`)
          .replace(/^MD5sum: .*$/m, `MD5sum: ${createHash('md5').update(b).digest('hex')}`)
      : s,
  );
  const packages = execFileSync('xz', ['-c'], { input: stanzas.join('\n\n') });
  writeFileSync(px, packages);
  const release = readFileSync(join(dir, 'Release'), 'utf8').replace(/^ [0-9a-f]{64} +\d+ main\/binary-amd64\/Packages\.xz$/m, ` ${sha(packages)} ${packages.length} main/binary-amd64/Packages.xz`);
  writeFileSync(join(dir, 'Release'), release);
  signRelease(dir);
}

async function serve(d: string): Promise<{ url: string; server: MirrorServer }> {
  const server = await startMirrorServer(d);
  servers.push(server);
  return { url: `${server.url}/debian/`, server };
}

const args = (url: string, cache: string, ...more: string[]): string[] => ['fetch', REL, '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', cache, ...more];

/** A config file (loopback only, as the tests' default) with `partialFetch` set. */
function configWith(partialFetch: unknown): string {
  const cfg = loopbackOnlyConfig();
  writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), partialFetch }));
  return cfg;
}

beforeAll(async () => {
  // The good mirror: the signed fixture archive, its -dbg package rebuilt large and re-signed.
  const gd = tmpDir('kdbg-nopartial-good-');
  cpSync(join(deb, 'debian'), join(gd, 'debian'), { recursive: true });
  const pkg = join(gd, 'debian/pool/main/l/linux', FILE);
  rebuildLarge(join(deb, 'debian/pool/main/l/linux', FILE), pkg);
  reindex(join(gd, 'debian'));
  debSize = readFileSync(pkg).length;
  wantVmlinux = sha(execSync(`dpkg-deb --fsys-tarfile ${pkg} | tar -xO ./usr/lib/debug/boot/vmlinux-${REL}`, { maxBuffer: 64 << 20 }));
  const g = await serve(gd);
  good = { ...g, root: gd };

  // The default fetch of the good mirror: which byte ranges of the package did it read?
  const r = await runKdbg(args(good.url, tmpDir('kdbg-nopartial-cache-'), '--json'));
  expect(r.code, r.stderr).toBe(0);
  const ranges = good.server.requests
    .filter((q) => q.method === 'GET' && q.path === DEB_PATH)
    .map((q): [number, number] => {
      const m = /^bytes=(\d*)-(\d*)$/.exec(q.range ?? '');
      if (!m) throw new Error(`whole GET of ${DEB_PATH} in the default fetch (range ${q.range})`);
      // A suffix range (bytes=-N) is the file's last N bytes.
      return m[1] === '' ? [debSize - Number(m[2]), debSize - 1] : [Number(m[1]), m[2] === '' ? debSize - 1 : Math.min(Number(m[2]), debSize - 1)];
    });
  defaultRun = { j: JSON.parse(r.stdout) as FetchJson, ranges };

  // The tampered mirror: 4 KiB changed in the middle of the largest range nobody read, same size.
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let gap: [number, number] = [0, -1];
  let at = 0;
  for (const [s, e] of sorted) {
    if (s - at > gap[1] - gap[0]) gap = [at, s];
    at = Math.max(at, e + 1);
  }
  if (debSize - at > gap[1] - gap[0]) gap = [at, debSize];
  expect(gap[1] - gap[0]).toBeGreaterThan(1 << 20);
  const bd = tmpDir('kdbg-nopartial-bad-');
  cpSync(join(gd, 'debian'), join(bd, 'debian'), { recursive: true });
  const f = join(bd, 'debian/pool/main/l/linux', FILE);
  const b = readFileSync(f);
  const mid = Math.floor((gap[0] + gap[1]) / 2);
  for (let i = mid; i < mid + 4096; i++) b[i] = b[i]! ^ 0xa5;
  writeFileSync(f, b);
  expect(b.length).toBe(debSize);
  bad = await serve(bd);
}, 300_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  cleanupTmp();
});

describe('the partial-fetch gap (documented): bytes outside the vmlinux blocks are not checked', () => {
  it('the default fetch of the good mirror reads only ranges of the package, with sha256Verified: false', () => {
    const [p] = defaultRun.j.packages;
    expect(p).toMatchObject({ name: P, size: debSize, sha256Verified: false });
    expect(p!.partial).not.toBeNull();
    const read = defaultRun.ranges.reduce((n, [s, e]) => n + e - s + 1, 0);
    expect(read).toBeLessThan(debSize / 2);
    console.log(`[no-partial] default fetch: ${defaultRun.ranges.length} ranges, ${p!.partial!.bytesFetched} of ${debSize} bytes, ${p!.partial!.blocksDecoded} of ${p!.partial!.blocksTotal} xz blocks`);
  });

  it('the default fetch accepts the tampered package (sha256Verified: false): the gap --no-partial closes', async () => {
    const cache = tmpDir('kdbg-nopartial-cache-');
    const r = await runKdbg(args(bad.url, cache, '--json'));
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as FetchJson;
    expect(j.packages[0]).toMatchObject({ name: P, sha256Verified: false });
    expect(sha(readFileSync(j.vmlinux))).toBe(wantVmlinux);
    expect(r.stderr).toMatch(/the package sha256 covers the whole file and was not checked/);
  });
});

describe('--no-partial / partialFetch: false: the signed sha256 reaches the vmlinux', () => {
  it('--no-partial refuses the tampered package: exit 65, one line naming it, nothing published', async () => {
    const cache = tmpDir('kdbg-nopartial-cache-');
    bad.server.requests.length = 0;
    const r = await runKdbg(args(bad.url, cache, '--no-partial', '--json', '-q'));
    expect(r.code, r.stderr).toBe(65);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(FILE);
    expect(lines[0]).toMatch(/sha256/);
    nothingPublished(cache);
    expect(kept(cache)).toEqual([]);
    // Downloaded whole: no Range request for the package.
    const gets = bad.server.requests.filter((q) => q.method === 'GET' && q.path === DEB_PATH);
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((q) => q.range === null)).toBe(true);
    console.log(`[no-partial] tampered package, --no-partial: exit ${r.code}: ${lines[0]}`);
  });

  it('the config key partialFetch: false does the same, for a single fetch and a batch', async () => {
    const cfg = configWith(false);
    const cache = tmpDir('kdbg-nopartial-cache-');
    const r = await runKdbg(['fetch', REL, '--mirror', bad.url, '--config', cfg, '--cache-dir', cache, '-q']);
    expect(r.code, r.stderr).toBe(65);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(FILE);
    nothingPublished(cache);
    // A batch (--from-file) goes through the same fetch: the item fails, nothing is published.
    const list = join(tmpDir('kdbg-nopartial-list-'), 'list');
    writeFileSync(list, `${REL}\n`);
    const b = await runKdbg(['fetch', '--from-file', list, '--mirror', bad.url, '--config', cfg, '--cache-dir', cache, '--json', '-q']);
    expect(b.code, b.stderr).toBe(65);
    const item = JSON.parse(b.stdout.trim()) as { ok: boolean; error: { message: string; exitCode: number } };
    expect(item.ok).toBe(false);
    expect(item.error.exitCode).toBe(65);
    expect(item.error.message).toContain(FILE);
    nothingPublished(cache);
    // --partial on the command line overrides the config: the gap again.
    const p = await runKdbg(['fetch', REL, '--partial', '--mirror', bad.url, '--config', cfg, '--cache-dir', cache, '--json', '-q']);
    expect(p.code, p.stderr).toBe(0);
    expect((JSON.parse(p.stdout) as FetchJson).packages[0]).toMatchObject({ sha256Verified: false });
  });

  it('a good mirror with --no-partial: exit 0, sha256Verified: true, partial: null, the package not kept', async () => {
    const cache = tmpDir('kdbg-nopartial-cache-');
    good.server.requests.length = 0;
    const r = await runKdbg(args(good.url, cache, '--no-partial', '--json'));
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as FetchJson;
    expect(j.packages[0]).toMatchObject({ name: P, size: debSize, sha256Verified: true, partial: null });
    expect(sha(readFileSync(j.vmlinux))).toBe(wantVmlinux);
    expect(kept(cache)).toEqual([]);
    const entry = JSON.parse(readFileSync(join(cache, 'releases', REL, 'entry.json'), 'utf8')) as { packages: PkgJson[] };
    expect(entry.packages[0]).toMatchObject({ sha256Verified: true, partial: null });
    const sent = good.server.requests.filter((q) => q.method === 'GET' && q.path === DEB_PATH).reduce((n, q) => n + q.bytesSent, 0);
    expect(sent).toBe(debSize);
    console.log(`[no-partial] good mirror: default ${defaultRun.j.packages[0]!.partial!.bytesFetched} bytes of the package, --no-partial ${sent} bytes`);
  });

  it('--no-partial --keep-packages keeps the checked package; the config key with a good mirror succeeds', async () => {
    const cache = tmpDir('kdbg-nopartial-cache-');
    const r = await runKdbg(args(good.url, cache, '--no-partial', '--keep-packages', '--json', '-q'));
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as FetchJson;
    expect(j.packages[0]).toMatchObject({ sha256Verified: true, partial: null });
    // The store names a verified package by its digest (packages/sha256/ab/cd/<sha256>).
    expect(kept(cache)).toEqual([join('packages/sha256', j.packages[0]!.sha256.slice(0, 2), j.packages[0]!.sha256.slice(2, 4), j.packages[0]!.sha256)]);

    const cache2 = tmpDir('kdbg-nopartial-cache-');
    const c = await runKdbg(['fetch', REL, '--mirror', good.url, '--config', configWith(false), '--cache-dir', cache2, '--json', '-q']);
    expect(c.code, c.stderr).toBe(0);
    expect((JSON.parse(c.stdout) as FetchJson).packages[0]).toMatchObject({ sha256Verified: true, partial: null });
    expect(kept(cache2)).toEqual([]);
  });

  it('a bad partialFetch value: exit 78, one line naming the file and the key', async () => {
    const cfg = configWith('no');
    const r = await runKdbg(['fetch', REL, '--mirror', good.url, '--config', cfg, '--cache-dir', tmpDir('kdbg-nopartial-cache-'), '-q']);
    expect(r.code, r.stderr).toBe(78);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${cfg}: partialFetch: expected true or false, found a string`);
  });
});
