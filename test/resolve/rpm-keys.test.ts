// Where the keys of the RPM header check come from (issue 16, item 2), read from real files:
// - [main] of <root>/etc/yum.conf and dnf/dnf.conf: dnf.conf wins, a repo's own value wins over both;
// - zypper repo files (SUSE): gpgcheck (default on where a gpgkey is named), pkg_gpgcheck,
//   repo_gpgcheck and gpgkey, mapped to the same checks, and the resulting key list verifies a
//   real rpmsign-signed header (scripts/fixtures/80-signed-rpms.sh) with gpgv;
// - what a fetched gpgkey body must look like (armored or binary public key; gpg's own output).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { SignatureError } from '../../src/core/errors.js';
import { readRpmHead } from '../../src/formats/rpm.js';
import { loadMirrorConfig } from '../../src/resolve/index.js';
import { rpmGpgcheckFor, verifyRpmHeader } from '../../src/resolve/rpm-header-trust.js';
import { notAPublicKey } from '../../src/resolve/rpm-remote-keys.js';
import { requireFixture } from '../helpers/fixtures.js';

const fx = requireFixture('signed-rpms');
const manifest = JSON.parse(readFileSync(join(fx, 'manifest.json'), 'utf8')) as { key: string; packages: { set: string; role: string; file: string }[] };
const el9 = manifest.packages.find((p) => p.set === 'el9' && p.role === 'vmlinux')!;

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function hostRoot(files: Record<string, string>): string {
  const r = mkdtempSync(join(tmpdir(), 'kdbg-rpmkeys-'));
  made.push(r);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(r, p, '..'), { recursive: true });
    writeFileSync(join(r, p), text);
  }
  return r;
}
const load = (r: string) => loadMirrorConfig({ hostRoot: r, env: { HOME: r, KDBG_NO_PRESETS: '1' } });

async function head(file: string) {
  const bytes = readFileSync(file);
  const src = new ByteSource((async function* () { yield new Uint8Array(bytes); })(), file, 'rpm');
  return readRpmHead(src);
}

describe('[main] of yum.conf and dnf.conf', () => {
  const repo = '[a-debuginfo]\nbaseurl=http://127.0.0.1:9/a/\n\n[b-debuginfo]\nbaseurl=http://127.0.0.1:9/b/\ngpgcheck=0\nrepo_gpgcheck=0\n';
  it('a repo without gpgcheck inherits [main]; its own gpgcheck=0 wins', async () => {
    const r = hostRoot({ 'etc/yum.conf': '[main]\ngpgcheck=1\nrepo_gpgcheck=1\n', 'etc/yum.repos.d/x.repo': repo });
    const byId = new Map((await load(r)).sources.map((s) => [s.origin.replace(/.* \[/, '['), s]));
    expect(byId.get('[a-debuginfo]')).toMatchObject({ gpgcheck: true, repoGpgcheck: true });
    expect(byId.get('[b-debuginfo]')!.gpgcheck).toBeUndefined();
    expect(byId.get('[b-debuginfo]')!.repoGpgcheck).toBeUndefined();
  });
  it('dnf.conf over yum.conf; neither: off (dnf default)', async () => {
    const off = hostRoot({ 'etc/yum.conf': '[main]\ngpgcheck=1\n', 'etc/dnf/dnf.conf': '[main]\ngpgcheck=False\n', 'etc/yum.repos.d/x.repo': repo });
    expect((await load(off)).sources[0]!.gpgcheck).toBeUndefined();
    const on = hostRoot({ 'etc/yum.conf': '[main]\ngpgcheck=0\n', 'etc/dnf/dnf.conf': '# dnf\n[main]\ngpgcheck=1\nbest=True\n', 'etc/yum.repos.d/x.repo': repo });
    expect((await load(on)).sources[0]!.gpgcheck).toBe(true);
    const none = hostRoot({ 'etc/yum.repos.d/x.repo': repo });
    expect((await load(none)).sources[0]!.gpgcheck).toBeUndefined();
  });
});

describe('zypper repo files', () => {
  const zypp = (extra: string): Record<string, string> => ({
    'etc/zypp/repos.d/repo-debug.repo': `[repo-debug]\nname=Debug Repository\nenabled=0\nbaseurl=http://127.0.0.1:9/debug/\ntype=rpm-md\n${extra}`,
    'etc/pki/kdbg/RPM-GPG-KEY-fixture': readFileSync(join(fx, manifest.key), 'utf8'),
  });
  it('gpgkey without gpgcheck (zypper default on): packages checked against it, and a real signed header verifies', async () => {
    const r = hostRoot(zypp('gpgkey=file:///etc/pki/kdbg/RPM-GPG-KEY-fixture\n'));
    const cfg = await load(r);
    const src = cfg.sources.find((s) => s.match.includes('suse'))!;
    expect(src).toMatchObject({ gpgcheck: true, gpgkey: ['/etc/pki/kdbg/RPM-GPG-KEY-fixture'] });
    expect(src.repoGpgcheck).toBeUndefined();
    const check = rpmGpgcheckFor(src.origin, cfg)!;
    expect(check.keys).toEqual([join(r, 'etc/pki/kdbg/RPM-GPG-KEY-fixture')]);
    const v = await verifyRpmHeader(`${fx}/good/${el9.file}`, await head(join(fx, 'good', el9.file)), check);
    expect(v.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    const other = verifyRpmHeader(`${fx}/other/${el9.file}`, await head(join(fx, 'other', el9.file)), check);
    await expect(other).rejects.toBeInstanceOf(SignatureError);
    await expect(other).rejects.toThrow(/which is not a gpgkey of .*repo-debug\.repo \[repo-debug\]/);
  });
  it('gpgcheck=0 / pkg_gpgcheck=0 turn the package check off; pkg_gpgcheck=1 without a key asks for it (refused later as unknown key); repo_gpgcheck=1 maps to repomd.xml.asc', async () => {
    const k = 'gpgkey=file:///etc/pki/kdbg/RPM-GPG-KEY-fixture\n';
    const src = async (extra: string) => (await load(hostRoot(zypp(extra)))).sources.find((s) => s.match.includes('suse'))!;
    expect((await src(`gpgcheck=0\n${k}`)).gpgcheck).toBeUndefined();
    expect((await src(`gpgcheck=1\npkg_gpgcheck=0\n${k}`)).gpgcheck).toBeUndefined();
    expect((await src('')).gpgcheck).toBeUndefined();
    expect(await src('pkg_gpgcheck=1\n')).toMatchObject({ gpgcheck: true });
    expect(await src(`repo_gpgcheck=1\n${k}`)).toMatchObject({ gpgcheck: true, repoGpgcheck: true });
  });
});

describe('what a fetched gpgkey must be', () => {
  it("gpg's armored and binary public keys pass; HTML, a secret key block, junk and nothing are named", () => {
    const armored = readFileSync(join(fx, manifest.key));
    expect(notAPublicKey(armored)).toBeNull();
    const binary = execFileSync('gpg', ['--batch', '--dearmor'], { input: armored });
    expect(notAPublicKey(binary)).toBeNull();
    expect(notAPublicKey(Buffer.concat([Buffer.from('The fixture signing key\n\n'), armored]))).toBeNull();
    expect(notAPublicKey(Buffer.concat([Buffer.from('<html><body><pre>\n'), armored]))).toBe('an HTML page, not an OpenPGP public key');
    expect(notAPublicKey(Buffer.from('\n<!DOCTYPE html><html><body>404</body></html>'))).toBe('an HTML page, not an OpenPGP public key');
    expect(notAPublicKey(Buffer.from('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n'))).toMatch(/^ASCII armor of another kind \(PGP PRIVATE KEY BLOCK\)/);
    expect(notAPublicKey(Buffer.from('just some text'))).toBe('neither an ASCII-armored nor a binary OpenPGP public key');
    expect(notAPublicKey(Buffer.alloc(0))).toBe('empty');
  });
});
