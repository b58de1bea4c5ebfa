// The fixture recipe's kernel choice (scripts/fixtures/debian-kernel.sh, used by 30-vmcores.sh,
// 40-debian-vmlinux.sh and the bench) against apt archives that move on, as the real one does.
// Each archive is a real flat apt repository (dpkg-deb packages, dpkg-scanpackages index) read by
// the real apt through a private state (APT_CONFIG: own lists, cache, status, source list), so the
// host's apt configuration is neither read nor touched. The kernel versions below are input
// vectors of these made-up archives, not what any real archive carries.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const scripts = join(import.meta.dirname, '..', '..', 'scripts', 'fixtures');
const work = mkdtempSync(join(tmpdir(), 'kdbg-debian-kernel-'));
const aptConf = join(work, 'apt.conf');

interface Pkg {
  name: string;
  version: string;
  depends?: string;
}

/** The packages one kernel upload brings: image, -dbg, headers, headers-common, kbuild. */
function kernelUpload(abi: string, version: string): Pkg[] {
  const series = /^(\d+\.\d+)/.exec(version)![1]!;
  return [
    { name: `linux-image-${abi}-amd64`, version },
    { name: `linux-image-${abi}-amd64-dbg`, version },
    { name: `linux-headers-${abi}-amd64`, version },
    { name: `linux-headers-${abi}-common`, version },
    { name: `linux-kbuild-${series}`, version },
  ];
}
const meta = (abi: string, version: string): Pkg => ({ name: 'linux-image-amd64-dbg', version, depends: `linux-image-${abi}-amd64-dbg (= ${version})` });

/** A flat apt repository of tiny real packages, indexed by dpkg-scanpackages. */
function makeArchive(name: string, pkgs: Pkg[]): string {
  const dir = join(work, 'archives', name);
  mkdirSync(dir, { recursive: true });
  for (const p of pkgs) {
    const tree = join(work, 'build', `${p.name}_${p.version}`);
    mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
    const control = [`Package: ${p.name}`, `Version: ${p.version}`, 'Architecture: amd64', 'Maintainer: kdbg tests <kdbg@localhost>', ...(p.depends ? [`Depends: ${p.depends}`] : []), `Description: ${p.name} (kdbg test archive)`];
    writeFileSync(join(tree, 'DEBIAN', 'control'), `${control.join('\n')}\n`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-b', tree, join(dir, `${p.name}_${p.version}_amd64.deb`)], { stdio: 'ignore' });
  }
  writeFileSync(join(dir, 'Packages'), execFileSync('dpkg-scanpackages', ['-m', '.', '/dev/null'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }));
  return dir;
}

/** Point the private apt state at one archive (or none) and run apt-get update, as a host does. */
function useArchive(dir: string | null): void {
  writeFileSync(join(work, 'sources.list'), dir ? `deb [trusted=yes] file:${dir} ./\n` : '');
  rmSync(join(work, 'lists'), { recursive: true, force: true });
  mkdirSync(join(work, 'lists', 'partial'), { recursive: true });
  execFileSync('apt-get', ['update', '-q'], { env: { ...process.env, APT_CONFIG: aptConf }, stdio: 'ignore' });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bash with the fixture cache at `fixtures` and apt reading the private state. */
function bash(script: string, fixtures: string): Run {
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, KDBG_FIXTURES: fixtures, APT_CONFIG: aptConf }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const choose = (fixtures: string): Run => bash(`bash ${scripts}/debian-kernel.sh`, fixtures);
const envOf = (r: Run): Record<string, string> => Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]));
const newCache = (): string => mkdtempSync(join(work, 'fixtures-'));

let archiveA: string;
let archiveB: string;
let archiveNoKernel: string;
let archiveNoKbuild: string;

beforeAll(() => {
  for (const d of ['cache/archives/partial', 'lists/partial', 'sources.list.d', 'preferences.d', 'apt.conf.d']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'status'), '');
  writeFileSync(
    aptConf,
    [
      `Dir::State "${work}";`,
      `Dir::State::Lists "${work}/lists";`,
      `Dir::State::Status "${work}/status";`,
      `Dir::Cache "${work}/cache";`,
      `Dir::Etc::SourceList "${work}/sources.list";`,
      `Dir::Etc::SourceParts "${work}/sources.list.d";`,
      `Dir::Etc::PreferencesParts "${work}/preferences.d";`,
      `Dir::Etc::Parts "${work}/apt.conf.d";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'APT::Sandbox::User "root";',
      'Acquire::Languages "none";',
      '',
    ].join('\n'),
  );
  // Last month's archive, and today's: the earlier upload is gone, as on a real mirror.
  archiveA = makeArchive('a', [meta('6.1.0-77', '6.1.300-1'), ...kernelUpload('6.1.0-77', '6.1.300-1')]);
  archiveB = makeArchive('b', [meta('6.1.0-78', '6.1.301-1'), ...kernelUpload('6.1.0-78', '6.1.301-1')]);
  archiveNoKernel = makeArchive('none', [{ name: 'hello-kdbg', version: '1.0' }]);
  archiveNoKbuild = makeArchive('nokbuild', [meta('6.1.0-79', '6.1.302-1'), ...kernelUpload('6.1.0-79', '6.1.302-1').filter((p) => !p.name.startsWith('linux-kbuild-'))]);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('debian-kernel.sh: the fixtures take the kernel the archive carries', () => {
  it('derives every package from what linux-image-amd64-dbg depends on, and records the choice', () => {
    useArchive(archiveA);
    const fx = newCache();
    const r = choose(fx);
    expect(r.code).toBe(0);
    expect(envOf(r)).toEqual({
      REL: '6.1.0-77-amd64',
      VER: '6.1.300-1',
      ARCH: 'amd64',
      PACKAGES: 'linux-image-6.1.0-77-amd64 linux-image-6.1.0-77-amd64-dbg linux-headers-6.1.0-77-amd64 linux-headers-6.1.0-77-common linux-kbuild-6.1',
    });
    expect(readFileSync(join(fx, 'debian-kernel.env'), 'utf8')).toBe(r.stdout);
  });

  it('chooses again when the recorded kernel left the archive and nothing of it is cached', () => {
    useArchive(archiveA);
    const fx = newCache();
    expect(choose(fx).code).toBe(0);
    useArchive(archiveB);
    const r = choose(fx);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('6.1.0-77-amd64 (6.1.300-1) is no longer in the archive; choosing again');
    expect(envOf(r)).toMatchObject({ REL: '6.1.0-78-amd64', VER: '6.1.301-1' });
  });

  it('keeps a cached kernel valid after the archive moved on (a warm cache is not rebuilt)', () => {
    useArchive(archiveA);
    const fx = newCache();
    // What 30-vmcores.sh and 40-debian-vmlinux.sh do: choose, then download exactly that version.
    const dl = bash(`. ${scripts}/lib.sh; debian_kernel; for p in $PACKAGES; do debian_deb "$p"; done`, fx);
    expect(dl.code, dl.stderr).toBe(0);
    expect(readdirSync(join(fx, 'debian-pkgs')).sort()).toEqual(dl.stdout.trim().split('\n').map((p) => p.split('/').pop()!).sort());
    expect(readdirSync(join(fx, 'debian-pkgs')).every((f) => f.includes('_6.1.300-1_'))).toBe(true);
    useArchive(archiveB);
    const r = choose(fx);
    expect(r.code).toBe(0);
    expect(envOf(r)).toMatchObject({ REL: '6.1.0-77-amd64', VER: '6.1.300-1' });
    expect(r.stderr).toBe('');
  });

  it('a new choice changes the recipe stamp of every fixture made from the old one', () => {
    useArchive(archiveA);
    const fx = newCache();
    const stamp = `. ${scripts}/lib.sh; debian_kernel; mkdir -p "$KDBG_FIXTURES/demo"`;
    expect(bash(`${stamp}; stamp_write demo "$DEBIAN_KERNEL_ENV" && stamp_ok demo "$DEBIAN_KERNEL_ENV"`, fx).code).toBe(0);
    useArchive(archiveB);
    expect(bash(`${stamp}; stamp_ok demo "$DEBIAN_KERNEL_ENV"`, fx).code).toBe(1);
  });

  it('an archive without the kernel packages fails with one line naming what is missing', () => {
    useArchive(archiveNoKernel);
    const r = choose(newCache());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'debian-kernel: the apt archive lists no linux-image-amd64-dbg (apt-cache show linux-image-amd64-dbg found nothing; check the host\'s apt sources and run apt-get update)',
    ]);
  });

  it('a kernel whose build packages are not all listed at its version fails with one line', () => {
    useArchive(archiveNoKbuild);
    const fx = newCache();
    const r = choose(fx);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['debian-kernel: linux-image-amd64-dbg points at 6.1.0-79-amd64 (6.1.302-1), but the archive does not list linux-kbuild-6.1 at 6.1.302-1']);
    expect(existsSync(join(fx, 'debian-kernel.env'))).toBe(false);
  });

  it('no apt source at all: the same one line', () => {
    useArchive(null);
    const r = choose(newCache());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('lists no linux-image-amd64-dbg');
  });
});
