// SUSE end to end: the built CLI on a host whose only sources are zypper repo files (in a
// temporary root given by KDBG_ROOT) pointing at a real HTTP server on 127.0.0.1 serving
// rpmbuild-built SUSE packages with createrepo_c repodata (scripts/fixtures/75-suse-mirror.sh:
// SUSE names, the OBS build counter, xz and zstd payloads, .gz and .xz images). Then the real
// crash on a SUSE-style pair (objcopy --only-keep-debug + strip) made from the real Debian
// vmlinux, against the real QEMU dump of that kernel. Expected digests come from the manifest.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, runKdbg, tmpDir } from './fetch-cli.js';

interface Pkg {
  file: string;
  set: string;
  role: 'vmlinux' | 'image' | 'source';
  name: string;
  uname: string;
  member: string | null;
  sha256: string;
  size: number;
  buildId?: string;
  debugSha256?: string;
  imageSha256?: string;
}
interface Manifest {
  packages: Pkg[];
  repos: Record<'leapMain' | 'leapDebug' | 'twMain' | 'twDebug', string>;
  pair: { debug: string; image: string; buildId: string; rodataInDebug: string };
  /** The public key the packages and repomd.xml are signed with, and its fingerprint. */
  gpgkey: string;
  fingerprint: string;
}
const root = join(requireFixture('suse', 'manifest.json'), '..');
const m = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
const of = (set: string, role: Pkg['role']): Pkg => m.packages.find((p) => p.set === set && p.role === role)!;
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let server: MirrorServer;
let authServer: MirrorServer;
let tokenServer: MirrorServer;
/** The cache the SLE fetch filled (used by the serve test after it). */
let sleCache = '';
beforeAll(async () => {
  server = await startMirrorServer(root);
  authServer = await startMirrorServer(root, { basicAuth: 'SCC_0123456789abcdef:c0ffee' });
  tokenServer = await startMirrorServer(root, { token: 'Rz9iL0pHbWh2ZEd0WjRhV2t6ZE8' });
});
afterAll(async () => {
  await Promise.all([server.close(), authServer.close(), tokenServer.close()]);
  cleanupTmp();
});

/**
 * A host root with /etc/zypp/repos.d/<name> files and optional credentials.d entries. The fixture
 * repositories are signed as SUSE signs them (packages, repomd.xml.asc; 75-suse-mirror.sh), so each
 * repo file asks for both checks, with the fixture's key where SUSE keeps its keys.
 */
function zyppRoot(repos: Record<string, string>, credentials: Record<string, string> = {}): string {
  const r = tmpDir('kdbg-suse-root-');
  mkdirSync(join(r, 'etc', 'zypp', 'repos.d'), { recursive: true });
  mkdirSync(join(r, 'etc', 'zypp', 'credentials.d'), { recursive: true });
  mkdirSync(join(r, 'usr', 'lib', 'rpm', 'gnupg', 'keys'), { recursive: true });
  cpSync(join(root, m.gpgkey), join(r, SUSE_KEY));
  for (const [n, t] of Object.entries(repos)) writeFileSync(join(r, 'etc', 'zypp', 'repos.d', n), `${t}gpgcheck=1\nrepo_gpgcheck=1\npkg_gpgcheck=1\ngpgkey=file://${SUSE_KEY}\n`);
  for (const [n, t] of Object.entries(credentials)) writeFileSync(join(r, 'etc', 'zypp', 'credentials.d', n), t, { mode: 0o600 });
  return r;
}

/** Leap 15.5's update repositories as zypper writes them; $releasever is the host's (15.5). */
function leapRepos(base: string, query = ''): Record<string, string> {
  return {
    'repo-sle-update.repo': `[repo-sle-update]\nname=Update repository with updates from SUSE Linux Enterprise 15\nenabled=1\nautorefresh=1\nbaseurl=${base}/leap/update/leap/$releasever/sle/${query}\npath=/\ntype=rpm-md\nkeeppackages=0\n`,
    'repo-sle-debug-update.repo': `[repo-sle-debug-update]\nname=Update repository with updates for openSUSE Leap Debuginfo & Sourcecode from SUSE Linux Enterprise 15\nenabled=0\nautorefresh=1\nbaseurl=${base}/leap/debug/update/leap/$releasever/sle/${query}\npath=/\ntype=rpm-md\nkeeppackages=0\n`,
    'repo-source.repo': `[repo-source]\nname=Source Repository\nenabled=0\nbaseurl=${base}/nowhere/\ntype=rpm-md\n`,
  };
}

const SUSE_KEY = '/usr/lib/rpm/gnupg/keys/gpg-pubkey-kdbg-fixture.asc';
const hostEnv = (r: string): NodeJS.ProcessEnv => isolatedEnv({ KDBG_ROOT: r, KDBG_NO_PRESETS: '1', KDBG_NO_DEBUGINFOD: '1' });

interface FetchJson {
  vmlinux: string;
  image?: string;
  source: string | null;
  packages: { name: string; url: string; sha256: string; headerSignedBy: string | null }[];
}

describe('SUSE through zypper repositories (KDBG_ROOT, 127.0.0.1)', () => {
  it('SLE 15 SP5 (Leap 15.5 update/sle): .debug from the disabled debug repo, the .gz image member of kernel-default, debugsource; the build counter and a prefix-sharing release handled', async () => {
    const vm = of('sle15sp5', 'vmlinux');
    const img = of('sle15sp5', 'image');
    const src = of('sle15sp5', 'source');
    const cache = tmpDir('kdbg-suse-cache-');
    server.requests.length = 0;
    const res = await runKdbg(['fetch', vm.uname, '--cache-dir', cache, '--json'], hostEnv(zyppRoot(leapRepos(server.url))));
    expect(res.stderr).not.toContain('internal error');
    expect(res.code, res.stderr).toBe(0);
    const j = JSON.parse(res.stdout) as FetchJson;
    expect(j.packages.map((p) => [p.name, p.url, p.sha256])).toEqual([
      [vm.name, `${server.url}/${vm.file}`, vm.sha256],
      [img.name, `${server.url}/${img.file}`, img.sha256],
      [src.name, `${server.url}/${src.file}`, src.sha256],
    ]);
    // Verified as zypper verifies: each header signature, and repomd.xml.asc of both repositories.
    expect(j.packages.map((p) => p.headerSignedBy)).toEqual([m.fingerprint, m.fingerprint, m.fingerprint]);
    expect(server.requests.filter((q) => q.path.endsWith('/repodata/repomd.xml.asc') && q.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(sha256File(j.vmlinux)).toBe(vm.debugSha256);
    expect(j.image).toBe(join(cache, 'releases', vm.uname, 'vmlinux.image'));
    expect(sha256File(j.image!)).toBe(img.imageSha256);
    expect(j.source).not.toBeNull();
    const entry = JSON.parse(readFileSync(join(cache, 'releases', vm.uname, 'entry.json'), 'utf8')) as Record<string, unknown>;
    expect(entry).toMatchObject({ family: 'suse', image: 'vmlinux.image', buildId: vm.buildId });
    // Only the image member of kernel-default was read (by range: the payload is block-indexed xz
    // and rpm puts /boot before /lib/modules), not the 4 MiB of modules after it.
    const imgBytes = server.requests.filter((q) => q.path === `/${img.file}`).reduce((n, q) => n + q.bytesSent, 0);
    expect(imgBytes).toBeLessThan(img.size / 2);
    // A warm fetch answers from the cache with the image.
    server.requests.length = 0;
    const warm = await runKdbg(['fetch', vm.uname, '--cache-dir', cache, '--json'], hostEnv(zyppRoot(leapRepos(server.url))));
    expect(warm.code).toBe(0);
    expect((JSON.parse(warm.stdout) as FetchJson).image).toBe(j.image);
    expect(server.requests).toEqual([]);
    sleCache = cache;
  });

  it('kdbg serve hands elfutils the .debug as debuginfo and the image as executable of the same build-id', async () => {
    const vm = of('sle15sp5', 'vmlinux');
    const img = of('sle15sp5', 'image');
    expect(sleCache).not.toBe('');
    const { startServe } = await import('../../src/serve/server.js');
    const serve = await startServe({ cacheDir: sleCache, host: '127.0.0.1', port: 0 });
    try {
      const find = (what: string): Promise<string> =>
        promisify(execFile)('debuginfod-find', [what, vm.buildId!], {
          env: { ...process.env, DEBUGINFOD_URLS: serve.url, DEBUGINFOD_CACHE_PATH: tmpDir('kdbg-suse-dcache-'), DEBUGINFOD_TIMEOUT: '10' },
          encoding: 'utf8',
        }).then((r) => r.stdout.trim());
      expect(sha256File(await find('debuginfo'))).toBe(vm.debugSha256);
      expect(sha256File(await find('executable'))).toBe(img.imageSha256);
    } finally {
      await serve.close();
    }
  });

  it('kdbg cache verify checks vmlinux.image against the digest taken as it was decompressed, and removes the entry when it changed', async () => {
    const img = of('sle15sp5', 'image');
    const vm = of('sle15sp5', 'vmlinux');
    const cache = join(tmpDir('kdbg-suse-verify-'), 'cache');
    cpSync(sleCache, cache, { recursive: true, verbatimSymlinks: true });
    const entry = JSON.parse(readFileSync(join(cache, 'releases', vm.uname, 'entry.json'), 'utf8')) as Record<string, unknown>;
    expect(entry['imageSha256']).toBe(img.imageSha256);
    const ok = await runKdbg(['cache', 'verify', '--cache-dir', cache, '--json']);
    expect(ok.code).toBe(0);
    // One byte of the image changed in place (a disk error, or someone's edit).
    const image = join(cache, 'releases', vm.uname, 'vmlinux.image');
    const fd = openSync(image, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, 4096);
    closeSync(fd);
    const bad = await runKdbg(['cache', 'verify', '--cache-dir', cache, '--json']);
    expect(bad.code).toBe(65);
    const rep = JSON.parse(bad.stdout) as { bad: { name: string; path: string; problem: string; expected: string; removed: boolean }[] };
    expect(rep.bad).toEqual([expect.objectContaining({ name: vm.uname, path: image, problem: 'digest-mismatch', expected: img.imageSha256, removed: true })]);
    expect(existsSync(join(cache, 'releases', vm.uname))).toBe(false);
  });

  it('the RPM-version form with the build counter names the same kernel', async () => {
    const vm = of('sle15sp5', 'vmlinux');
    const res = await runKdbg(['fetch', vm.uname.replace('-default', '.1-default'), '--cache-dir', tmpDir('kdbg-suse-cache-'), '--json', '--vmlinux-only'], hostEnv(zyppRoot(leapRepos(server.url))));
    expect(res.code, res.stderr).toBe(0);
    expect(sha256File((JSON.parse(res.stdout) as FetchJson).vmlinux)).toBe(vm.debugSha256);
  });

  it('Tumbleweed: zstd payload, .xz image', async () => {
    const vm = of('tumbleweed', 'vmlinux');
    const img = of('tumbleweed', 'image');
    const r = zyppRoot({
      'repo-oss.repo': `[repo-oss]\nname=Main Repository\nenabled=1\nbaseurl=${server.url}/${m.repos.twMain}/\ntype=rpm-md\n`,
      'repo-debug.repo': `[repo-debug]\nname=Debug Repository\nenabled=0\nbaseurl=${server.url}/${m.repos.twDebug}/\ntype=rpm-md\n`,
    });
    const res = await runKdbg(['fetch', vm.uname, '--cache-dir', tmpDir('kdbg-suse-cache-'), '--json', '--vmlinux-only'], hostEnv(r));
    expect(res.code, res.stderr).toBe(0);
    const j = JSON.parse(res.stdout) as FetchJson;
    expect(sha256File(j.vmlinux)).toBe(vm.debugSha256);
    expect(sha256File(j.image!)).toBe(img.imageSha256);
  });

  it('registered repositories: ?credentials=NAME reads credentials.d/NAME and authenticates as zypper does', async () => {
    const vm = of('sle15sp5', 'vmlinux');
    const r = zyppRoot(leapRepos(authServer.url, '?credentials=SCCcredentials'), { SCCcredentials: 'username=SCC_0123456789abcdef\npassword=c0ffee\n' });
    authServer.requests.length = 0;
    const res = await runKdbg(['fetch', vm.uname, '--cache-dir', tmpDir('kdbg-suse-cache-'), '--json', '--vmlinux-only'], hostEnv(r));
    expect(res.code, res.stderr).toBe(0);
    expect(authServer.requests.length).toBeGreaterThan(0);
    expect(authServer.requests.every((q) => q.status !== 401)).toBe(true);
    // The credentials parameter is zypper's, not the server's: it never reaches the URL.
    expect((JSON.parse(res.stdout) as FetchJson).packages[0]!.url).toBe(`${authServer.url}/${vm.file}`);
  });
});

describe('SCC token repositories', () => {
  it('a baseurl ending in ?<token> sends the token with every request (repodata and packages), as libzypp does', async () => {
    const vm = of('sle15sp5', 'vmlinux');
    tokenServer.requests.length = 0;
    const res = await runKdbg(['fetch', vm.uname, '--cache-dir', tmpDir('kdbg-suse-cache-'), '--json', '--vmlinux-only'], hostEnv(zyppRoot(leapRepos(tokenServer.url, '?Rz9iL0pHbWh2ZEd0WjRhV2t6ZE8'))));
    expect(res.code, res.stderr).toBe(0);
    expect(sha256File((JSON.parse(res.stdout) as FetchJson).vmlinux)).toBe(vm.debugSha256);
    expect(tokenServer.requests.length).toBeGreaterThan(2);
    expect(tokenServer.requests.every((q) => q.status === 200 || q.status === 206)).toBe(true);
  });
});

describe('verify on a SUSE-style pair', () => {
  it('the .debug alone cannot name its release (no banner bytes); with its image it can', async () => {
    const { verifyVmlinux } = await import('../../src/verify/index.js');
    const dump = { release: debianVmlinux().release, buildId: m.pair.buildId, banner: null };
    const alone = await verifyVmlinux(dump, join(root, m.pair.debug));
    expect(alone.vmlinux.banner).toBeNull();
    expect(alone.result.checks.find((c) => c.kind === 'release')!.status).toBe('unavailable');
    const both = await verifyVmlinux(dump, join(root, m.pair.debug), { image: join(root, m.pair.image) });
    expect(both.vmlinux.banner).toMatch(new RegExp(`^Linux version ${debianVmlinux().release.replace(/\./g, '\\.')} `));
    expect(both.result.checks.map((c) => [c.kind, c.status])).toEqual([
      ['release', 'match'],
      ['banner', 'unavailable'],
      ['build-id', 'match'],
    ]);
  });
});

describe('crash on a SUSE-style pair (real Debian vmlinux split by objcopy/strip, real QEMU dump)', () => {
  it('kdbg analyze --vmlinux vmlinux.debug --image vmlinux: crash loads both, banner and build-id verified from whichever holds them', async () => {
    // The debug file really has no code: .rodata is NOBITS, so its banner must come from the image.
    expect(m.pair.rodataInDebug).toBe('NOBITS');
    const dir = tmpDir('kdbg-suse-analyze-');
    const dump = requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib');
    const r = await promisify(execFile)(
      'node',
      [join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js'), 'analyze', dump, '--vmlinux', join(root, m.pair.debug), '--image', join(root, m.pair.image), '--crash', requireFixture('crash-trixie', 'crash'), '-o', dir],
      { maxBuffer: 64 << 20 },
    );
    expect(r.stderr).not.toContain('internal error');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as AnalysisReport;
    const transcript = readFileSync(join(dir, 'crash-transcript.txt'), 'utf8');
    expect(transcript).toMatch(/DEBUG KERNEL: \S*vmlinux\.debug/);
    expect(report.summary.panicClass).toBe('sysrq');
    const verification = report.verification as { checks: { kind: string; status: string; vmlinux: string | null }[] };
    const checks = Object.fromEntries(verification.checks.map((c) => [c.kind, c.status]));
    // The release comes from the image's linux_banner (the .debug has no bytes for it), the
    // build-id from the .debug; the kdump file carries no banner of its own to compare.
    expect(checks).toMatchObject({ release: 'match', 'build-id': 'match' });
    expect(verification.checks.find((c) => c.kind === 'release')!.vmlinux).toBe(debianVmlinux().release);
    expect(verification.checks.find((c) => c.kind === 'build-id')!.vmlinux).toBe(m.pair.buildId);
  }, 300_000);
});
