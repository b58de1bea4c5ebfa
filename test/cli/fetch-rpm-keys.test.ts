// Issue 16, item 2, the parts a fleet meets, through the built CLI: where the key for the RPM
// header signature check comes from besides a local `gpgkey=file://` of a repo that says
// gpgcheck=1:
// - the `[main]` gpgcheck of <root>/etc/yum.conf / dnf/dnf.conf, inherited by a repo without its own;
// - a remote `gpgkey=http://…` fetched once (ASCII-armored or binary), kept in the kdbg cache by
//   URL + sha256 and used again without a request; an HTML page, a 10 MB body or a 404 refused;
// - a config file `mirrors` entry with `gpgkey` (path or URL).
// The packages are scripts/fixtures/80-signed-rpms.sh's (rpmbuild, real `rpmsign --addsign`), the
// keys its gpg keys, all served on 127.0.0.1. Each refusal: one line, exit 65, nothing published.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cacheFiles, cleanupTmp, isolatedEnv, refusedWith, runKdbg, tmpDir } from './fetch-cli.js';

interface SignedPkg {
  set: string;
  role: 'vmlinux' | 'source';
  uname: string;
  file: string;
  vmlinuxSha256: string | null;
}
const root = requireFixture('signed-rpms');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { key: string; rsaKey: string; packages: SignedPkg[] };
const el9 = manifest.packages.find((p) => p.set === 'el9' && p.role === 'vmlinux')!;

let server: MirrorServer; // the signed repositories
let keys: MirrorServer; // the key files, and what a broken key URL serves
const keyDir = tmpDir('kdbg-rpmkeys-keys-');
beforeAll(async () => {
  server = await startMirrorServer(root);
  copyFileSync(join(root, manifest.key), join(keyDir, 'RPM-GPG-KEY.asc'));
  // The binary form of the same key, as gpg writes it, under the arch (a gpgkey URL naming $basearch).
  mkdirSync(join(keyDir, 'x86_64'));
  execFileSync('gpg', ['--batch', '--yes', '--dearmor', '--output', join(keyDir, 'x86_64', 'RPM-GPG-KEY.gpg'), join(root, manifest.key)]);
  writeFileSync(join(keyDir, 'portal.html'), '<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head><body>Accept the terms</body></html>\n');
  writeFileSync(join(keyDir, 'huge.key'), randomBytes(10 << 20));
  keys = await startMirrorServer(keyDir);
});
afterAll(async () => {
  await server.close();
  await keys.close();
  cleanupTmp();
});

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const sha256File = (f: string): string => sha256(readFileSync(f));

/** A host root: a debuginfo repo naming `url`, with the given extra lines, and optional yum.conf / dnf.conf. */
function hostRoot(url: string, repoLines: string[], conf: { yum?: string; dnf?: string } = {}): string {
  const r = tmpDir('kdbg-rpmkeys-root-');
  mkdirSync(join(r, 'etc/yum.repos.d'), { recursive: true });
  mkdirSync(join(r, 'etc/pki/rpm-gpg'), { recursive: true });
  mkdirSync(join(r, 'etc/dnf'), { recursive: true });
  copyFileSync(join(root, manifest.key), join(r, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture'));
  copyFileSync(join(root, manifest.key), join(r, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-x86_64'));
  if (conf.yum !== undefined) writeFileSync(join(r, 'etc/yum.conf'), conf.yum);
  if (conf.dnf !== undefined) writeFileSync(join(r, 'etc/dnf/dnf.conf'), conf.dnf);
  writeFileSync(join(r, 'etc/yum.repos.d/kdbg-debuginfo.repo'), ['[kdbg-debuginfo]', 'name=kdbg fixture debuginfo', `baseurl=${url}`, 'enabled=0', ...repoLines, ''].join('\n'));
  return r;
}

/** `quiet`: -q, as a script runs it (the refusal is then the only line); else --json. */
async function fetch(hostRootDir: string, o: { cache?: string; config?: string; quiet?: boolean } = {}) {
  const cache = o.cache ?? tmpDir('kdbg-rpmkeys-cache-');
  const env = isolatedEnv({ KDBG_ROOT: hostRootDir, KDBG_NO_PRESETS: '1', KDBG_NO_DEBUGINFOD: '1' });
  const r = await runKdbg(['fetch', el9.uname, '--cache-dir', cache, o.quiet ? '-q' : '--json', ...(o.config ? ['--config', o.config] : [])], env);
  if (process.env['KDBG_TEST_DEBUG']) console.log(r.stderr);
  return { ...r, cache };
}

function signedBy(r: { code: number | null; stdout: string; stderr: string }): (string | null)[] {
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { vmlinux: string; packages: { headerSignedBy: string | null }[] };
  expect(sha256File(j.vmlinux)).toBe(el9.vmlinuxSha256);
  return j.packages.map((p) => p.headerSignedBy);
}
const SIGNED = [expect.stringMatching(/^[0-9A-F]{40}$/), expect.stringMatching(/^[0-9A-F]{40}$/)];

const refused = refusedWith;

const keyRequests = (name: string): number => keys.requests.filter((q) => q.path === `/${name}`).length;
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('gpgcheck from [main] of yum.conf / dnf.conf', () => {
  const key = 'gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture';
  it('yum.conf [main] gpgcheck=1, the repo says nothing: its packages are verified (against a gpgkey path naming $basearch)', async () => {
    const r = await fetch(hostRoot(`${server.url}/good/`, ['gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-$basearch'], { yum: '[main]\ngpgcheck=1\ninstallonly_limit=3\n' }));
    expect(signedBy(r)).toEqual(SIGNED);
  });
  it('the same with unsigned packages: refused (no signature), naming the repo', async () => {
    const r = await fetch(hostRoot(`${server.url}/unsigned/`, [key], { yum: '[main]\ngpgcheck=1\n' }), { quiet: true });
    refused(r, /: no signature: the package header is not signed, and gpgcheck=1 in .*kdbg-debuginfo\.repo \[kdbg-debuginfo\]$/);
  });
  it('dnf.conf [main] gpgcheck=1 over yum.conf gpgcheck=0: packages signed by another key are refused', async () => {
    const r = await fetch(hostRoot(`${server.url}/other/`, [key], { yum: '[main]\ngpgcheck=0\n', dnf: '[main]\ngpgcheck=True\n' }), { quiet: true });
    refused(r, /header signed by key [0-9A-F]+, which is not a gpgkey of .*\[kdbg-debuginfo\]/);
  });
  it("the repo's own gpgcheck=0 wins over [main]'s gpgcheck=1 (read as before, unverified)", async () => {
    const r = await fetch(hostRoot(`${server.url}/unsigned/`, [key, 'gpgcheck=0'], { dnf: '[main]\ngpgcheck=1\n' }));
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { packages: { headerSignedBy: string | null }[] }).packages.map((p) => p.headerSignedBy)).toEqual([null, null]);
  });
});

describe('a remote gpgkey (http on 127.0.0.1)', () => {
  it('ASCII-armored: fetched once, kept under the cache by URL + sha256, with a warning for plain http; a second run uses the kept key without a request', async () => {
    const url = `${keys.url}/RPM-GPG-KEY.asc`;
    const hr = hostRoot(`${server.url}/good/`, ['gpgcheck=1', `gpgkey=${url}`]);
    const before = keyRequests('RPM-GPG-KEY.asc');
    const r = await fetch(hr);
    expect(signedBy(r)).toEqual(SIGNED);
    expect(keyRequests('RPM-GPG-KEY.asc') - before).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${esc(url)}: gpgkey of .* is fetched over plain http; a key is only as trustworthy as the transport`));
    const body = readFileSync(join(keyDir, 'RPM-GPG-KEY.asc'));
    const kept = join(r.cache, 'meta', 'gpgkeys', sha256(url), `${sha256(body)}.key`);
    expect(readFileSync(kept).equals(body)).toBe(true);
    const again = await fetch(hr, { cache: r.cache });
    expect(signedBy(again)).toEqual(SIGNED);
    expect(keyRequests('RPM-GPG-KEY.asc') - before).toBe(1);
  });
  it('binary (gpg --dearmor), its URL naming $basearch (filled in for the release, as dnf does): the same check passes', async () => {
    const r = await fetch(hostRoot(`${server.url}/good/`, ['gpgcheck=1', `gpgkey=${keys.url}/$basearch/RPM-GPG-KEY.gpg`]));
    expect(signedBy(r)).toEqual(SIGNED);
  });
  it('packages signed by another key than the remote one: refused (unknown key)', async () => {
    const r = await fetch(hostRoot(`${server.url}/other/`, ['gpgcheck=1', `gpgkey=${keys.url}/RPM-GPG-KEY.asc`]), { quiet: true });
    refused(r, /header signed by key [0-9A-F]+, which is not a gpgkey of /);
  });
  it('an HTML page where the key should be: refused, the URL named, nothing kept', async () => {
    const url = `${keys.url}/portal.html`;
    const r = await fetch(hostRoot(`${server.url}/good/`, ['gpgcheck=1', `gpgkey=${url}`]), { quiet: true });
    refused(r, new RegExp(`^kdbg: ${esc(url)}: gpgkey of .*kdbg-debuginfo\\.repo \\[kdbg-debuginfo\\] is an HTML page, not an OpenPGP public key$`));
    expect(cacheFiles(join(r.cache, 'meta', 'gpgkeys'))).toEqual([]);
  });
  it('a 10 MB body: refused after the first MiB, the URL named, nothing kept', async () => {
    const url = `${keys.url}/huge.key`;
    const r = await fetch(hostRoot(`${server.url}/good/`, ['gpgcheck=1', `gpgkey=${url}`]), { quiet: true });
    refused(r, new RegExp(`${esc(url)}: gpgkey of .* is more than 1048576 bytes: not a public key$`));
    expect(cacheFiles(join(r.cache, 'meta', 'gpgkeys'))).toEqual([]);
  });
  it('a key URL that answers 404: refused (unknown key) naming the URL and the status', async () => {
    const url = `${keys.url}/RPM-GPG-KEY-missing`;
    const r = await fetch(hostRoot(`${server.url}/good/`, ['gpgcheck=1', `gpgkey=${url}`]), { quiet: true });
    refused(r, new RegExp(`no key to verify its header signature with: gpgcheck=1 in .* but no readable gpgkey \\(${esc(url)} \\(HTTP 404\\)\\)$`));
  });
});

describe('a config file repo entry with gpgkey', () => {
  function config(url: string, gpgkey: string | string[]): string {
    const f = join(tmpDir('kdbg-rpmkeys-cfg-'), 'config.json');
    writeFileSync(f, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, mirrors: { '*': [{ url, type: 'repo', gpgkey }] } }));
    return f;
  }
  const emptyRoot = (): string => tmpDir('kdbg-rpmkeys-empty-');
  it('a key file path (this machine, not under KDBG_ROOT): verified', async () => {
    const r = await fetch(emptyRoot(), { config: config(`${server.url}/good/`, join(root, manifest.key)) });
    expect(signedBy(r)).toEqual(SIGNED);
  });
  it('a key URL: verified', async () => {
    const r = await fetch(emptyRoot(), { config: config(`${server.url}/good/`, [`${keys.url}/x86_64/RPM-GPG-KEY.gpg`]) });
    expect(signedBy(r)).toEqual(SIGNED);
  });
  it('unsigned packages from an entry with a gpgkey: refused', async () => {
    const r = await fetch(emptyRoot(), { quiet: true, config: config(`${server.url}/unsigned/`, `file://${join(root, manifest.key)}`) });
    refused(r, /: no signature: the package header is not signed, and gpgcheck=1 in .*config\.json mirrors\.\*\[0\]$/);
  });
  it('the RSA key given for packages signed by the fixture key: refused (unknown key)', async () => {
    const r = await fetch(emptyRoot(), { quiet: true, config: config(`${server.url}/good/`, join(root, manifest.rsaKey)) });
    refused(r, /header signed by key [0-9A-F]+, which is not a gpgkey of .*mirrors\.\*\[0\]/);
  });
});
