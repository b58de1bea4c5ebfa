// The config's top-level `gpgkey` and `repoGpgcheck` (docs/signatures.md) on `--mirror` and `--repo`
// through the built CLI: the way the whole suite reads the signed RPM fixture mirrors
// (loopbackOnlyConfig). A repository whose repomd.xml.asc is missing or made by another key is
// refused before its index is used; a package that is unsigned or signed by another key is refused
// before anything is written. Packages: 10-rpm-mirror.sh's (signed) and 80-signed-rpms.sh's
// unsigned/ and other/ copies (rpmbuild, real `rpmsign --addsign`); signatures by real gpg.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withKeyHome } from '../helpers/deb-keys.js';
import { requireFixture, rpmVerification } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, refusedWith, runKdbg, tmpDir } from './fetch-cli.js';

const rpm = readRpmManifest();
const el7 = rpm.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const signedRoot = requireFixture('signed-rpms');
const signed = JSON.parse(readFileSync(join(signedRoot, 'manifest.json'), 'utf8')) as { packages: { set: string; role: string; uname: string }[] };
const signedEl7 = signed.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;

let good: MirrorServer;
let noAsc: MirrorServer;
let otherAsc: MirrorServer;
let signedRpms: MirrorServer;
const config = loopbackOnlyConfig();
/** gpgcheck only (signed-rpms' repositories carry no repomd.xml.asc). */
const headersOnly = join(tmpDir('kdbg-flagkeys-cfg-'), 'config.json');
writeFileSync(headersOnly, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, gpgkey: rpmVerification().gpgkey }));

/** A copy of fixture 10's el7 repository, its repomd.xml.asc changed by `edit`. */
function el7Copy(edit: (asc: string, repomd: string) => void): string {
  const d = tmpDir('kdbg-flagkeys-www-');
  cpSync(join(rpmFixtureRoot, rpm.mirrorBase, '7'), join(d, '7'), { recursive: true });
  const repodata = join(d, '7', 'x86_64', 'repodata');
  edit(join(repodata, 'repomd.xml.asc'), join(repodata, 'repomd.xml'));
  return d;
}

beforeAll(async () => {
  good = await startMirrorServer(join(rpmFixtureRoot, rpm.mirrorBase));
  noAsc = await startMirrorServer(el7Copy((asc) => rmSync(asc)));
  otherAsc = await startMirrorServer(
    el7Copy((asc, repomd) => withKeyHome('other', (home) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--armor', '--detach-sign', '-o', asc, repomd]))),
  );
  signedRpms = await startMirrorServer(signedRoot);
});
afterAll(async () => {
  for (const s of [good, noAsc, otherAsc, signedRpms]) await s?.close();
  cleanupTmp();
});

const fetch = async (release: string, args: string[], cfg = config) => {
  const cache = tmpDir('kdbg-flagkeys-cache-');
  const r = await runKdbg(['fetch', release, '--vmlinux-only', '--cache-dir', cache, '--config', cfg, ...args], isolatedEnv());
  return { ...r, cache };
};

describe('top-level gpgkey / repoGpgcheck on --mirror and --repo', () => {
  it('the signed mirror: repomd.xml.asc read, the header verified by the fixture key', async () => {
    good.requests.length = 0;
    const r = await fetch(el7.uname, ['--mirror', good.url, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { packages: { headerSignedBy: string | null }[] }).packages[0]!.headerSignedBy).toBe(rpm.fingerprint);
    expect(good.requests.some((q) => q.path === '/7/x86_64/repodata/repomd.xml.asc' && q.status === 200)).toBe(true);
  });

  it('repomd.xml.asc missing → refused (no signature), nothing published', async () => {
    const r = await fetch(el7.uname, ['--mirror', noAsc.url, '-q']);
    refusedWith(r, /^kdbg: http:\/\/127\.0\.0\.1:\d+\/7\/x86_64\/repodata\/repomd\.xml: no signature: repo_gpgcheck=1 \(--mirror http:\/\/127\.0\.0\.1:\d+\) but .*repomd\.xml\.asc is not published \(HTTP 404\)$/);
  });

  it('repomd.xml.asc by another key → refused (unknown key), nothing published', async () => {
    const r = await fetch(el7.uname, ['--mirror', otherAsc.url, '-q']);
    refusedWith(r, /^kdbg: http:\/\/127\.0\.0\.1:\d+\/7\/x86_64\/repodata\/repomd\.xml: signed by key [0-9A-F]{16}, which is not a gpgkey of --mirror http:\/\/127\.0\.0\.1:\d+ \(\/.+\)$/);
  });

  it('--repo with an unsigned package → refused (no signature); signed by another key → refused (unknown key)', async () => {
    const u = await fetch(signedEl7.uname, ['--repo', `${signedRpms.url}/unsigned/`, '-q'], headersOnly);
    refusedWith(u, /^kdbg: http:\/\/127\.0\.0\.1:\d+\/unsigned\/kernel-debuginfo-.*\.rpm: no signature: the package header is not signed, and gpgcheck=1 in --repo http:\/\/127\.0\.0\.1:\d+\/unsigned\/$/);
    const o = await fetch(signedEl7.uname, ['--repo', `${signedRpms.url}/other/`, '-q'], headersOnly);
    refusedWith(o, /^kdbg: http:\/\/127\.0\.0\.1:\d+\/other\/kernel-debuginfo-.*\.rpm: header .*not a gpgkey of --repo http:\/\/127\.0\.0\.1:\d+\/other\/$/);
    const g = await fetch(signedEl7.uname, ['--repo', `${signedRpms.url}/good/`, '--json'], headersOnly);
    expect(g.code, g.stderr).toBe(0);
  });
});
