// kdbg fetch for the CentOS successors in China (issue 23) against real rpmbuild packages in each
// public mirror's directory shape (scripts/fixtures/72-china-mirrors.sh), served from 127.0.0.1
// with directory listings. Each fetch must publish the package's own vmlinux (by sha256) within
// the request budget: ≤ 6 metadata requests when the release names its tree; when it does not
// (oe1's service packs, Anolis/OpenCloudOS minors), the mirror's listing plus ≤ 2 per tree
// searched. Metadata requests are every request but the package downloads (counted from the
// server's log).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMirrorConfig, resolvePackages } from '../../src/resolve/index.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { undiciFetcher } from '../../src/download/http.js';
import { buildElfVmcore, prstatus, vmcoreinfoText } from '../builders/vmcore.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer, type RequestRecord } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';

interface Pkg {
  file: string;
  layout: string;
  role: 'vmlinux' | 'source';
  name: string;
  arch: string;
  uname: string;
  vmlinux: string | null;
  vmlinuxSha256: string | null;
  buildId: string | null;
  sha256: string;
}
const manifestPath = requireFixture('china', 'manifest.json');
const root = join(manifestPath, '..');
const { packages, fingerprint } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { packages: Pkg[]; fingerprint: string };
const find = (layout: string, uname: string, arch: string): Pkg => {
  const p = packages.find((x) => x.layout === layout && x.uname === uname && x.arch === arch && x.role === 'vmlinux');
  if (!p) throw new Error(`manifest has no ${layout} ${uname} ${arch}`);
  return p;
};
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
// Requests other than downloading a package. The signatures (repomd.xml.asc: the fixture mirrors are signed and the config verifies them) are
// issue 16's cost, one per repomd.xml read, counted apart from issue 23's index budget.
const metadata = (reqs: RequestRecord[]): RequestRecord[] => reqs.filter((r) => r.method === 'HEAD' || !(r.path.endsWith('.rpm') || r.path.endsWith('/repomd.xml.asc')));
/** Every repomd.xml read came with its signature. */
const repomdSigned = (reqs: RequestRecord[]): void => {
  const asc = new Set(reqs.filter((r) => r.path.endsWith('/repomd.xml.asc') && r.status === 200).map((r) => r.path));
  for (const r of reqs.filter((q) => q.path.endsWith('/repodata/repomd.xml') && q.status === 200)) expect(asc, r.path).toContain(`${r.path}.asc`);
};

let server: MirrorServer;
let config: string;
const measured: string[] = [];
beforeAll(async () => {
  server = await startMirrorServer(root, { autoindex: true });
  config = loopbackOnlyConfig();
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
  // The measured counts, for the issue's closing note.
  console.log(`request counts (metadata requests per fetch):\n${measured.join('\n')}`);
});

interface Case {
  name: string;
  release: string;
  args?: string[];
  layout: string;
  /** uname and arch of the package that must be fetched. */
  uname: string;
  arch: string;
  family: string;
  /** Most metadata requests allowed, and the trees searched when the release names none. */
  budget: number;
  /** The sources package expected beside the vmlinux. */
  source?: string;
}

const cases: Case[] = [
  { name: 'openEuler 22.03 SP1 GA kernel: debuginfo/x86_64 repodata', release: '5.10.0-136.12.0.86.oe2203sp1.x86_64', layout: 'openeuler', uname: '5.10.0-136.12.0.86.oe2203sp1.x86_64', arch: 'x86_64', family: 'openeuler', budget: 6, source: 'kernel-debugsource' },
  { name: 'openEuler 22.03 SP1 errata kernel that update/\'s index does not list: HEAD after the index', release: '5.10.0-136.66.0.146.oe2203sp1.x86_64', layout: 'openeuler', uname: '5.10.0-136.66.0.146.oe2203sp1.x86_64', arch: 'x86_64', family: 'openeuler', budget: 6, source: 'kernel-debugsource' },
  { name: 'openEuler 22.03 SP1 errata kernel on aarch64: update/aarch64 repodata', release: '5.10.0-136.65.0.145.oe2203sp1.aarch64', layout: 'openeuler', uname: '5.10.0-136.65.0.145.oe2203sp1.aarch64', arch: 'aarch64', family: 'openeuler', budget: 6, source: 'kernel-debugsource' },
  // oe1: SP4 (2 HEADs, nothing), SP3 (update found) → 2 trees: ≤ 4, +1 HEAD for the sources beside it.
  { name: 'openEuler 20.03 (oe1): service-pack trees newest first, plain directories', release: '4.19.90-2112.8.0.0131.oe1.x86_64', layout: 'openeuler', uname: '4.19.90-2112.8.0.0131.oe1.x86_64', arch: 'x86_64', family: 'openeuler', budget: 2 * 2 + 1, source: 'kernel-debugsource' },
  { name: 'openEuler 24.03 SP1 loongarch64', release: '6.6.0-72.0.0.76.oe2403sp1.loongarch64', layout: 'openeuler', uname: '6.6.0-72.0.0.76.oe2403sp1.loongarch64', arch: 'loongarch64', family: 'openeuler', budget: 6 },
  { name: 'openEuler 24.03 SP1 riscv64', release: '6.6.0-72.0.0.76.oe2403sp1.riscv64', layout: 'openeuler', uname: '6.6.0-72.0.0.76.oe2403sp1.riscv64', arch: 'riscv64', family: 'openeuler', budget: 6 },
  // Anolis: listing (1) + 8.9 (Plus, kernel-5.10: 2) + 8.8 (Plus found, +1 sources) → 1 + 2×2 + 1.
  { name: 'Anolis 8 ANCK 5.10: minors from the listing, Plus then kernel-5.10', release: '5.10.134-13.an8.x86_64', layout: 'anolis', uname: '5.10.134-13.an8.x86_64', arch: 'x86_64', family: 'anolis', budget: 1 + 2 * 2 + 1, source: 'kernel-debuginfo-common-x86_64' },
  { name: 'Anolis 8 RHCK 4.18: BaseOS', release: '4.18.0-477.10.1.an8.x86_64', layout: 'anolis', uname: '4.18.0-477.10.1.an8.x86_64', arch: 'x86_64', family: 'anolis', budget: 1 + 2 * 2 + 1 },
  { name: 'Anolis 8 5.10.134-16.1 (the same version as Alinux 3 below)', release: '5.10.134-16.1.an8', layout: 'anolis', uname: '5.10.134-16.1.an8.x86_64', arch: 'x86_64', family: 'anolis', budget: 1 + 2 + 1 },
  { name: 'Anolis 23', release: '6.6.102-5.2.an23.x86_64', layout: 'anolis', uname: '6.6.102-5.2.an23.x86_64', arch: 'x86_64', family: 'anolis', budget: 1 + 2 + 1 },
  { name: 'Alinux 3: plus/x86_64/debug without repodata', release: '5.10.134-16.1.al8', layout: 'alinux', uname: '5.10.134-16.1.al8.x86_64', arch: 'x86_64', family: 'alinux', budget: 6 },
  { name: 'Alinux 3 aarch64 (--arch)', release: '5.10.134-16.1.al8', args: ['--arch', 'aarch64'], layout: 'alinux', uname: '5.10.134-16.1.al8.aarch64', arch: 'aarch64', family: 'alinux', budget: 6 },
  { name: 'Alinux 2: 2.1903/plus (plain, empty) then 2/kernels (repodata)', release: '4.19.91-26.al7.x86_64', layout: 'alinux', uname: '4.19.91-26.al7.x86_64', arch: 'x86_64', family: 'alinux', budget: 6 },
  // OpenCloudOS 8: listing + 8.8, 8.6, 8.5 (one repo each) + sources HEAD.
  { name: 'OpenCloudOS 8: no dist, no arch; /boot/vmlinux-<uname>', release: '5.4.119-19.0010.ocrelease.6', layout: 'opencloudos', uname: '5.4.119-19.0010.ocrelease.6', arch: 'x86_64', family: 'opencloudos', budget: 1 + 3 + 1 },
  { name: 'OpenCloudOS 8 aarch64 (--arch)', release: '5.4.119-19.0010.ocrelease.6', args: ['--arch', 'aarch64'], layout: 'opencloudos', uname: '5.4.119-19.0010.ocrelease.6', arch: 'aarch64', family: 'opencloudos', budget: 1 + 2 + 1 },
  { name: 'OpenCloudOS 9: <rpm_name>-debuginfo-common without arch', release: '6.6.117-45.oc9.x86_64', layout: 'opencloudos', uname: '6.6.117-45.oc9.x86_64', arch: 'x86_64', family: 'opencloudos', budget: 1 + 2 + 1, source: 'kernel-debuginfo-common' },
  { name: 'TencentOS tkernel: Tlinux-Kernel-RPMs/<tag>/', release: '5.4.241-1-tlinux4-0017.7', layout: 'tencent', uname: '5.4.241-1-tlinux4-0017.7', arch: 'x86_64', family: 'tencentos', budget: 6 },
  { name: 'TencentOS tkernel aarch64 (--arch)', release: '5.4.241-1-tlinux4-0017.7', args: ['--arch', 'aarch64'], layout: 'tencent', uname: '5.4.241-1-tlinux4-0017.7', arch: 'aarch64', family: 'tencentos', budget: 6 },
];

describe('kdbg fetch: CentOS successors from their mirrors\' layouts', () => {
  it.each(cases)('$name', async (c) => {
    const want = find(c.layout, c.uname, c.arch);
    const cache = tmpDir('kdbg-china-');
    server.requests.length = 0;
    const r = await runKdbg(['fetch', c.release, ...(c.args ?? []), '--mirror', `${server.url}/${c.layout}/`, '--cache-dir', cache, '--config', config, '--json'], isolatedEnv());
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { release: string; family: string; distro: string; reason: string; vmlinux: string; source: string | null; packages: { name: string; url: string; headerSignedBy: string | null }[] };
    expect(j).toMatchObject({ release: c.uname, family: c.family, distro: c.family });
    expect(j.packages.map((p) => p.headerSignedBy)).toEqual(j.packages.map(() => fingerprint)); // the fixture key verified every header
    expect(j.reason.length).toBeGreaterThan(10);
    expect(j.packages[0]!.url).toBe(`${server.url}/${want.file}`);
    expect(sha256File(j.vmlinux)).toBe(want.vmlinuxSha256);
    if (c.source) {
      expect(j.packages[1]?.name).toBe(c.source);
      // The sources package's tree (openEuler: kernel-debugsource) is the entry's source/.
      expect(readdirSync(j.source!, { recursive: true }).map(String)).toContain(join('mm', 'vmscan.c'));
    }
    const meta = metadata(server.requests);
    measured.push(`  ${c.release}${c.args ? ` ${c.args.join(' ')}` : ''} (${c.layout}): ${meta.length} (budget ${c.budget})`);
    expect(meta.length, meta.map((m) => `${m.method} ${m.path} ${m.status}`).join('\n')).toBeLessThanOrEqual(c.budget);
    repomdSigned(server.requests);
  });

  it('oe1 with --vmlinux-only: at most 2 requests per service-pack tree searched', async () => {
    server.requests.length = 0;
    const r = await runKdbg(['fetch', '4.19.90-2112.8.0.0131.oe1.x86_64', '--vmlinux-only', '--mirror', `${server.url}/openeuler/`, '--cache-dir', tmpDir('kdbg-china-'), '--config', config], isolatedEnv());
    expect(r.code, r.stderr).toBe(0);
    const meta = metadata(server.requests);
    measured.push(`  4.19.90-2112.8.0.0131.oe1.x86_64 --vmlinux-only (openeuler): ${meta.length} (budget 2 per tree: SP4, SP3)`);
    expect(meta.map((m) => `${m.method} ${m.path.replace(/\/Packages\/.*/, '')} ${m.status}`)).toEqual([
      'HEAD /openeuler/openEuler-20.03-LTS-SP4/update/x86_64 404',
      'HEAD /openeuler/openEuler-20.03-LTS-SP4/debuginfo/x86_64 404',
      'HEAD /openeuler/openEuler-20.03-LTS-SP3/update/x86_64 200',
    ]);
  });

  it('a second fetch of an arch-less tkernel release is answered by the cache, without a request', async () => {
    const cache = tmpDir('kdbg-china-');
    const args = ['fetch', '5.4.241-1-tlinux4-0017.7', '--arch', 'aarch64', '--mirror', `${server.url}/tencent/`, '--cache-dir', cache, '--config', config, '--json'];
    expect((await runKdbg(args, isolatedEnv())).code).toBe(0);
    server.requests.length = 0;
    const warm = await runKdbg(args, isolatedEnv());
    expect(warm.code, warm.stderr).toBe(0);
    expect(server.requests).toEqual([]);
    const j = JSON.parse(warm.stdout) as { release: string; cached: boolean; distro: string; reason: string; vmlinux: string };
    expect(j).toMatchObject({ release: '5.4.241-1-tlinux4-0017.7', cached: true, distro: 'tencentos' });
    expect(j.reason).toContain('tkernel');
    expect(sha256File(j.vmlinux)).toBe(find('tencent', '5.4.241-1-tlinux4-0017.7', 'aarch64').vmlinuxSha256);
  });

  it('Anolis and Alinux builds of one version stay apart, each with its own vmlinux', async () => {
    const an = find('anolis', '5.10.134-16.1.an8.x86_64', 'x86_64');
    const al = find('alinux', '5.10.134-16.1.al8.x86_64', 'x86_64');
    expect(an.vmlinuxSha256).not.toBe(al.vmlinuxSha256);
    // Both mirrors given: each release still takes only its own distribution's package.
    const both = ['--mirror', `${server.url}/anolis/`, '--mirror', `${server.url}/alinux/`, '--config', config, '--json', '--vmlinux-only'];
    for (const [rel, want] of [['5.10.134-16.1.an8', an], ['5.10.134-16.1.al8', al]] as const) {
      const r = await runKdbg(['fetch', rel, ...both, '--cache-dir', tmpDir('kdbg-china-')], isolatedEnv());
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { vmlinux: string; packages: { url: string }[] };
      expect(j.packages[0]!.url).toBe(`${server.url}/${want.file}`);
      expect(sha256File(j.vmlinux)).toBe(want.vmlinuxSha256);
    }
  });

  it('OpenCloudOS 8 from an aarch64 dump: the arch comes from the dump, the build-ids agree', async () => {
    const want = find('opencloudos', '5.4.119-19.0010.ocrelease.6', 'aarch64');
    const vi = vmcoreinfoText({ OSRELEASE: want.uname, PAGESIZE: '65536', 'BUILD-ID': want.buildId!, CRASHTIME: '1700000000' });
    const dump = join(tmpDir('kdbg-china-dump-'), 'vmcore');
    writeFileSync(dump, buildElfVmcore({ machine: 183, notes: [prstatus(), { name: 'VMCOREINFO', type: 0, desc: vi }] }));
    const id = await runKdbg(['identify', dump, '--json'], isolatedEnv());
    expect(id.code, id.stderr).toBe(0);
    const ij = JSON.parse(id.stdout) as { arch: string; distribution: { distro: string; family: string; reason: string } };
    expect(ij.arch).toBe('aarch64');
    expect(ij.distribution).toMatchObject({ distro: 'opencloudos', family: 'opencloudos' });
    expect(ij.distribution.reason).toContain('OpenCloudOS 8');
    const r = await runKdbg(['fetch', dump, '--mirror', `${server.url}/opencloudos/`, '--cache-dir', tmpDir('kdbg-china-'), '--config', config, '--json', '--vmlinux-only'], isolatedEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('differs from the dump');
    const j = JSON.parse(r.stdout) as { vmlinux: string; packages: { url: string }[] };
    expect(j.packages[0]!.url).toBe(`${server.url}/${want.file}`);
    expect(sha256File(j.vmlinux)).toBe(want.vmlinuxSha256);
  });

  it('Kylin: no public location is one line naming the file; a site repository serves it', async () => {
    const none = await runKdbg(['fetch', '4.19.90-24.4.v2101.ky10.x86_64', '--cache-dir', tmpDir('kdbg-china-'), '--config', config], isolatedEnv());
    expect(none.code).toBe(69);
    const line = none.stderr.split('\n')[0]!;
    expect(line).toBe(
      'kdbg: kernel-debuginfo-4.19.90-24.4.v2101.ky10.x86_64.rpm: Kylin publishes no debuginfo location kdbg knows; the site must configure a mirror (--repo URL, --mirror URL or a config entry) that carries kernel-debuginfo-4.19.90-24.4.v2101.ky10.x86_64.rpm',
    );
    const want = find('site', '4.19.90-24.4.v2101.ky10.x86_64', 'x86_64');
    const r = await runKdbg(['fetch', '4.19.90-24.4.v2101.ky10.x86_64', '--mirror', `${server.url}/site/kylin/`, '--cache-dir', tmpDir('kdbg-china-'), '--config', config, '--json'], isolatedEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(sha256File((JSON.parse(r.stdout) as { vmlinux: string }).vmlinux)).toBe(want.vmlinuxSha256);
  });

  it('BCLinux is never looked for on openEuler trees', async () => {
    server.requests.length = 0;
    const r = await runKdbg(['fetch', '4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64', '--cache-dir', tmpDir('kdbg-china-'), '--config', config], isolatedEnv());
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('BCLinux publishes no debuginfo location');
    expect(server.requests).toEqual([]);
  });
});

describe('host repo files of these distributions', () => {
  it("openEuler.repo's [debuginfo] and an Alinux debug section are read as for RHEL", async () => {
    const etc = tmpDir('kdbg-china-etc-');
    mkdirSync(join(etc, 'yum.repos.d'), { recursive: true });
    // As openEuler-repos ships it (mock's openeuler-22.03 template), pointed at the local mirror.
    writeFileSync(
      join(etc, 'yum.repos.d', 'openEuler.repo'),
      ['[OS]', 'name=OS', `baseurl=${server.url}/openeuler/openEuler-22.03-LTS-SP1/OS/$basearch/`, 'enabled=1', '',
        '[debuginfo]', 'name=debuginfo', `baseurl=${server.url}/openeuler/openEuler-22.03-LTS-SP1/debuginfo/$basearch/`, 'enabled=0', 'gpgcheck=1', '',
        '[update]', 'name=update', `baseurl=${server.url}/openeuler/openEuler-22.03-LTS-SP1/update/$basearch/`, 'enabled=1', ''].join('\n'),
    );
    writeFileSync(join(etc, 'yum.repos.d', 'AlinuxDebug.repo'), ['[alinux3-plus-debug]', `baseurl=${server.url}/alinux/$releasever/plus/$basearch/debug/`, 'enabled=0', ''].join('\n'));
    const cfg = await loadMirrorConfig({ etcRoot: etc, env: { KDBG_NO_PRESETS: '1', XDG_CONFIG_HOME: tmpDir('kdbg-xdg-') } });
    expect(cfg.sources.map((s) => s.origin)).toEqual([`${join(etc, 'yum.repos.d', 'AlinuxDebug.repo')} [alinux3-plus-debug]`, `${join(etc, 'yum.repos.d', 'openEuler.repo')} [debuginfo]`]);
    const oe = parseRelease('5.10.0-136.12.0.86.oe2203sp1.x86_64');
    const [vm] = await resolvePackages(oe, wantedPackages(oe, { source: false }), { config: cfg, http: undiciFetcher });
    expect(vm!.urls[0]).toBe(`${server.url}/${find('openeuler', oe.uname, 'x86_64').file}`);
    expect(vm!.sha256).toBe(find('openeuler', oe.uname, 'x86_64').sha256);
    const al = parseRelease('5.10.134-16.1.al8.aarch64');
    const [alvm] = await resolvePackages(al, wantedPackages(al, { source: false }), { config: cfg, http: undiciFetcher });
    expect(alvm!.urls[0]).toBe(`${server.url}/${find('alinux', al.uname, 'aarch64').file}`);
  });
});
