// Issue 16, RPM: a host repo file with `repo_gpgcheck=1` and a local `gpgkey` (file:///etc/pki/rpm-gpg/…,
// read under the test's host root as under KDBG_ROOT) makes kdbg verify repomd.xml.asc with gpgv
// before it believes repomd.xml. The repository is made by createrepo_c over real RPMs of the
// fixture (scripts/fixtures/10-rpm-mirror.sh), its repomd.xml signed by `gpg --detach-sign --armor`
// with the fixture key (scripts/fixtures/sign.sh), and served on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/core/errors.js';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { forgetIndexMemo } from '../../src/resolve/index-cache.js';
import { loadMirrorConfig, resolvePackages } from '../../src/resolve/index.js';
import { withKeyHome } from '../helpers/deb-keys.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const manifest = readRpmManifest();
const pkg = manifest.packages.find((p) => p.file.startsWith('mirror/8/x86_64/') && p.role === 'vmlinux' && !p.uname.includes('+debug'))!;
const archiveKey = requireFixture('keys', 'archive.asc');
const servers: MirrorServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

function sign(file: string, key: 'archive' | 'other'): void {
  withKeyHome(key, (home) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--detach-sign', '--armor', '-o', `${file}.asc`, file]));
}

/** A createrepo_c repository holding the fixture's el8 vmlinux RPM; `alter` gets its repodata dir. */
async function repo(alter: (repodata: string) => void): Promise<string> {
  const d = tmp('kdbg-rpmsig-');
  symlinkSync(join(rpmFixtureRoot, pkg.file), join(d, basename(pkg.file)));
  execFileSync('createrepo_c', ['--quiet', d]);
  alter(join(d, 'repodata'));
  const s = await startMirrorServer(d);
  servers.push(s);
  return `${s.url}/`;
}

/** A host root whose yum.repos.d names `url` with repo_gpgcheck and the fixture key under /etc/pki/rpm-gpg. */
async function resolveVia(url: string, repoGpgcheck: boolean) {
  const root = tmp('kdbg-rpmsig-root-');
  mkdirSync(join(root, 'etc/yum.repos.d'), { recursive: true });
  mkdirSync(join(root, 'etc/pki/rpm-gpg'), { recursive: true });
  copyFileSync(archiveKey, join(root, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture'));
  writeFileSync(
    join(root, 'etc/yum.repos.d/kdbg-debuginfo.repo'),
    `[kdbg-debuginfo]\nname=kdbg fixture debuginfo\nbaseurl=${url}\nenabled=0\ngpgcheck=0\nrepo_gpgcheck=${repoGpgcheck ? 1 : 0}\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture\n`,
  );
  const config = await loadMirrorConfig({ hostRoot: root, env: { HOME: root, KDBG_NO_PRESETS: '1' } });
  forgetIndexMemo();
  const rel = parseRelease(pkg.uname);
  return resolvePackages(rel, wantedPackages(rel, { source: false }), { config, http: undiciFetcher });
}

async function refusal(p: Promise<unknown>): Promise<SignatureError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SignatureError);
  expect((e as SignatureError).exitCode).toBe(65);
  return e as SignatureError;
}

describe('RPM: repo_gpgcheck=1 verifies repomd.xml.asc', () => {
  it('a repomd.xml signed by the gpgkey: the package is found', async () => {
    const url = await repo((rd) => sign(join(rd, 'repomd.xml'), 'archive'));
    const [r] = await resolveVia(url, true);
    expect(r!.sha256).toBe(pkg.sha256);
  });

  it('no repomd.xml.asc → refused (no-signature)', async () => {
    const url = await repo(() => undefined);
    const e = await refusal(resolveVia(url, true));
    expect(e.details['reason']).toBe('no-signature');
    expect(e.message).toMatch(/repomd\.xml\.asc is not published/);
  });

  it('repomd.xml altered after signing → refused (bad-signature)', async () => {
    const url = await repo((rd) => {
      sign(join(rd, 'repomd.xml'), 'archive');
      appendFileSync(join(rd, 'repomd.xml'), '<!-- changed on the way -->\n');
    });
    const e = await refusal(resolveVia(url, true));
    expect(e.details['reason']).toBe('bad-signature');
  });

  it('signed by a key that is not the gpgkey → refused (unknown-key)', async () => {
    const url = await repo((rd) => sign(join(rd, 'repomd.xml'), 'other'));
    const e = await refusal(resolveVia(url, true));
    expect(e.details['reason']).toBe('unknown-key');
    // In the repository's words: its gpgkey files, not apt's trusted keyrings.
    expect(e.message).toMatch(/repomd\.xml: signed by key [0-9A-F]{16}, which is not a gpgkey of .+ \(\/.+\)$/);
  });

  it('without repo_gpgcheck the unsigned repository is read as before', async () => {
    const url = await repo(() => undefined);
    const [r] = await resolveVia(url, false);
    expect(r!.sha256).toBe(pkg.sha256);
  });
});
