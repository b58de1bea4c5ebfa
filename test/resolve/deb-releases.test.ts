// `kdbg releases debian|ubuntu`: what the archive carries, asked of the archive. Against the
// loopback Debian and ddebs archives of scripts/fixtures/20-deb-mirror.sh (real Packages indexes
// over a real 127.0.0.1 server), as a user runs it: the built CLI, with "the host's apt sources"
// a deb822 file in a temporary apt root that points at the loopback archive.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, isolatedEnv, runKdbg, tmpDir } from '../cli/fetch-cli.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { flavourOf } from '../../src/resolve/deb-releases.js';

interface FixtureDeb {
  file: string;
  kind: string;
  release: string;
  archive?: string;
  suite?: string;
}

const root = requireFixture('deb');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as FixtureDeb[];
/** Package version from a pool file name (`name_version_arch.deb`). */
const versionOf = (file: string): string => file.split('/').pop()!.split('_')[1]!;

let server: MirrorServer;
beforeAll(async () => {
  server = await startMirrorServer(root);
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

/** A config whose aptRoot holds one deb822 sources file for the loopback archive (and nothing public). */
function hostConfig(suites: string): string {
  const apt = tmpDir('kdbg-aptroot-');
  mkdirSync(join(apt, 'sources.list.d'));
  writeFileSync(join(apt, 'sources.list.d', 'loopback.sources'), `Types: deb\nURIs: ${server.url}/debian\nSuites: ${suites}\nComponents: main\n`);
  // The archive's key among the host's trusted keyrings (apt's trusted.gpg.d, armored as Debian ships them).
  mkdirSync(join(apt, 'trusted.gpg.d'));
  copyFileSync(join(root, 'debian', 'archive-key.asc'), join(apt, 'trusted.gpg.d', 'kdbg-fixture.asc'));
  const cfg = join(tmpDir('kdbg-cfg-'), 'config.json');
  writeFileSync(cfg, JSON.stringify({ presets: false, hostRepos: false, aptRoot: apt }));
  return cfg;
}

/**
 * The oracle: each suite's Packages index as xz/zcat decode it, reduced to the -dbg packages of
 * full kernel releases; newest upload per release, newest first, the plain flavour before others.
 */
function debianIndexReleases(suites: string[]): { release: string; packageVersion: string }[] {
  const newest = new Map<string, string>();
  for (const suite of suites) {
    const dir = join(root, 'debian', 'dists', suite, 'main', 'binary-amd64');
    const text = existsSync(join(dir, 'Packages.xz'))
      ? execFileSync('xz', ['-dc', join(dir, 'Packages.xz')], { encoding: 'utf8' })
      : execFileSync('zcat', [join(dir, 'Packages.gz')], { encoding: 'utf8' });
    for (const stanza of text.split(/\n\n+/)) {
      const pkg = /^Package: (.*)$/m.exec(stanza)?.[1];
      const ver = /^Version: (.*)$/m.exec(stanza)?.[1];
      const release = pkg ? /^linux-image-(\d+\.\d+\.\d+[^ ]*)-dbg$/.exec(pkg)?.[1] : undefined;
      if (!release || !ver) continue;
      const have = newest.get(release);
      if (!have || have < ver) newest.set(release, ver); // the fixture's versions differ in their last digit only
    }
  }
  return [...newest]
    .map(([release, packageVersion]) => ({ release, packageVersion }))
    .sort((a, b) => (a.packageVersion === b.packageVersion ? flavourOf(a.release)!.length - flavourOf(b.release)!.length : a.packageVersion < b.packageVersion ? 1 : -1));
}

describe('kdbg releases debian', () => {
  const debianRows = manifest.filter((d) => d.archive === 'debian');
  const expected = debianIndexReleases(['bookworm', 'bookworm-updates', 'bookworm-security']);

  it('lists every release of the host-configured archive, newest first, --json as documented', async () => {
    const r = await runKdbg(['releases', 'debian', '--json', '--arch', 'amd64', '--config', hostConfig('bookworm bookworm-updates bookworm-security')], isolatedEnv());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { distro: string; arch: string; releases: { release: string; flavour: string; packageVersion: string; package: string; size: number; sha256: string; urls: string[] }[] };
    expect(j.distro).toBe('debian');
    expect(j.arch).toBe('amd64');
    expect(j.releases.map((x) => ({ release: x.release, packageVersion: x.packageVersion }))).toEqual(expected);
    const top = j.releases[0]!;
    expect(top.package).toBe(`linux-image-${top.release}-dbg`);
    expect(top.flavour).toBe('amd64');
    expect(top.urls[0]).toBe(`${server.url}/debian/pool/main/l/linux/${top.package}_${top.packageVersion}_amd64.deb`);
    expect(top.size).toBe(readFileSync(join(root, 'debian', 'pool', 'main', 'l', 'linux', `${top.package}_${top.packageVersion}_amd64.deb`)).length);
    expect(top.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--latest prints the one release a script hands to kdbg fetch', async () => {
    const r = await runKdbg(['releases', 'debian', '--latest', '--arch', 'amd64', '--config', hostConfig('bookworm bookworm-updates bookworm-security')], isolatedEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${expected[0]!.release}\n`);
  });

  it('reads what the archive lists today: without the -security pocket the older upload is the newest', async () => {
    const r = await runKdbg(['releases', 'debian', '--arch', 'amd64', '--config', hostConfig('bookworm')], isolatedEnv());
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(debianIndexReleases(['bookworm']).map((d) => `${d.release}\t${d.packageVersion}\tlinux-image-${d.release}-dbg`));
    expect(r.stdout).toContain(`${debianRows.find((d) => d.suite === 'bookworm')!.release}\t${versionOf(debianRows.find((d) => d.suite === 'bookworm')!.file)}\t`);
  });

  it('--mirror and --suite read an archive root the host does not list', async () => {
    const r = await runKdbg(['releases', 'debian', '--latest', '--arch', 'amd64', '--mirror', `${server.url}/debian`, '--suite', 'bookworm-updates', '--config', hostConfig('bookworm')], isolatedEnv());
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(debianRows.find((d) => d.suite === 'bookworm-updates')!.release);
  });

  it('an archive without kernel debug packages is one line and exit 69', async () => {
    const r = await runKdbg(['releases', 'debian', '--latest', '--arch', 'arm64', '--config', hostConfig('bookworm')], isolatedEnv());
    expect(r.code).toBe(69);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^kdbg: no debian kernel of flavour arm64 with debug symbols: \d+ index(es)? read \(/);
    expect(lines.slice(1).every((l) => l.startsWith('hint: '))).toBe(true);
  });
});

describe('kdbg releases ubuntu', () => {
  it('lists the ddebs archive: unsigned dbgsym, and a signed one only when it is no stub', async () => {
    const r = await runKdbg(['releases', 'ubuntu', '--json', '--arch', 'amd64', '--mirror', `${server.url}/ubuntu-ddebs`, '--suite', 'jammy', '--suite', 'jammy-updates', '--suite', 'jammy-proposed', '--config', hostConfig('bookworm')], isolatedEnv());
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { releases: { release: string; package: string }[] };
    const ubuntu = manifest.filter((d) => d.archive === 'ubuntu-ddebs');
    const want = ubuntu.filter((d) => d.kind === 'dbgsym' || d.kind === 'dbgsym-signed-real').map((d) => d.release).sort();
    expect(j.releases.map((x) => x.release).sort()).toEqual(want);
    for (const stub of ubuntu.filter((d) => d.kind === 'dbgsym-signed-tiny')) expect(j.releases.some((x) => x.package === stub.file.split('/').pop()!.split('_')[0])).toBe(false);
  });

  it('--latest takes the newest generic kernel', async () => {
    const r = await runKdbg(['releases', 'ubuntu', '--latest', '--arch', 'amd64', '--mirror', `${server.url}/ubuntu-ddebs`, '--suite', 'jammy', '--suite', 'jammy-updates', '--suite', 'jammy-proposed', '--config', hostConfig('bookworm')], isolatedEnv());
    expect(r.code).toBe(0);
    const generic = manifest.filter((d) => d.archive === 'ubuntu-ddebs' && d.kind === 'dbgsym').sort((a, b) => (versionOf(a.file) < versionOf(b.file) ? 1 : -1));
    expect(r.stdout.trim()).toBe(generic[0]!.release);
  });
});

describe('flavourOf', () => {
  it.each([
    ['6.1.0-57-amd64', 'amd64'],
    ['6.1.0-57-cloud-amd64', 'cloud-amd64'],
    ['6.12.118+deb12-rt-amd64', 'rt-amd64'],
    ['6.1.0-0.deb11.17-686', '686'],
    ['5.15.0-91-generic', 'generic'],
    ['6.12-amd64', null],
  ])('%s → %s', (release, flavour) => {
    expect(flavourOf(release)).toBe(flavour);
  });
});
