// Issue 16, item 2, through the built CLI: a host repo file (under KDBG_ROOT) that says
// `gpgcheck=1` with a local `gpgkey` makes kdbg verify each RPM's header signature with gpgv
// before any member is written, and check every written file against the signed header's
// digests. The packages are rpmbuild-built and signed by real `rpmsign --addsign`
// (scripts/fixtures/80-signed-rpms.sh), their repositories made by createrepo_c and served on
// 127.0.0.1; the refused ones are altered as a man in the middle would, with repodata that
// matches them. Each refusal is one line, exit 65, and nothing published.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rpmHeadOf } from '../helpers/rpm-head.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cacheFiles, cleanupTmp, isolatedEnv, refusedWith, runKdbg, tmpDir } from './fetch-cli.js';

interface SignedPkg {
  set: string;
  role: 'vmlinux' | 'source';
  uname: string;
  file: string;
  fileDigestAlgo: number;
  vmlinux: string | null;
  vmlinuxSha256: string | null;
  sha256: Record<string, string>;
  size: Record<string, number>;
}
const root = requireFixture('signed-rpms');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { key: string; rsaKey: string; tamper: string; packages: SignedPkg[] };
const vm = (set: string): SignedPkg => manifest.packages.find((p) => p.set === set && p.role === 'vmlinux')!;
const el9 = vm('el9');
const el7 = vm('el7');

let server: MirrorServer;
const servers: MirrorServer[] = [];
beforeAll(async () => {
  server = await startMirrorServer(root);
});
afterAll(async () => {
  await server.close();
  for (const s of servers) await s.close();
  cleanupTmp();
});

const mitmDirs = new Map<string, string>();
/** A copy of good/ altered by `alter` (given the copy's directory), with createrepo_c repodata that matches it, served. */
async function mitm(alter: (dir: string) => void | Promise<void>): Promise<string> {
  const d = join(tmpDir('kdbg-rpmsig-mitm-'), 'repo');
  cpSync(join(root, 'good'), d, { recursive: true });
  rmSync(join(d, 'repodata'), { recursive: true });
  await alter(d);
  execFileSync('createrepo_c', ['--quiet', d]);
  const s = await startMirrorServer(d);
  servers.push(s);
  mitmDirs.set(`${s.url}/`, d);
  return `${s.url}/`;
}

/** A host root (KDBG_ROOT) whose yum.repos.d names `url` with gpgcheck, and the fixture key under /etc/pki/rpm-gpg. */
function hostRoot(url: string, o: { gpgcheck?: boolean; keyFile?: boolean; rsa?: boolean } = {}): string {
  const r = tmpDir('kdbg-rpmsig-root-');
  mkdirSync(join(r, 'etc/yum.repos.d'), { recursive: true });
  mkdirSync(join(r, 'etc/pki/rpm-gpg'), { recursive: true });
  if (o.keyFile !== false) copyFileSync(join(root, o.rsa ? manifest.rsaKey : manifest.key), join(r, 'etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture'));
  writeFileSync(
    join(r, 'etc/yum.repos.d/kdbg-debuginfo.repo'),
    `[kdbg-debuginfo]\nname=kdbg fixture debuginfo\nbaseurl=${url}\nenabled=0\ngpgcheck=${o.gpgcheck === false ? 0 : 1}\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-kdbg-fixture\n`,
  );
  return r;
}
const hostEnv = (r: string): NodeJS.ProcessEnv => isolatedEnv({ KDBG_ROOT: r, KDBG_NO_PRESETS: '1', KDBG_NO_DEBUGINFOD: '1' });

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

async function fetch(url: string, pkg: SignedPkg, extra: string[] = [], o: { gpgcheck?: boolean; keyFile?: boolean; rsa?: boolean } = {}) {
  const cache = tmpDir('kdbg-rpmsig-cache-');
  const r = await runKdbg(['fetch', pkg.uname, '--cache-dir', cache, ...extra], hostEnv(hostRoot(url, o)));
  if (process.env['KDBG_TEST_DEBUG']) console.log(r.stderr);
  return { ...r, cache };
}

const refused = refusedWith;

/** The package's head length (lead, signature header, padding, main header): where its payload starts. */
async function payloadOffset(file: string): Promise<number> {
  return (await rpmHeadOf(file)).head.payloadOffset;
}

const gpgvMs = (stderr: string): number[] => [...stderr.matchAll(/good header signature \(\w+\) by [0-9A-F]+ \(gpgv ([\d.]+) ms\)/g)].map((m) => Number(m[1]));

describe('kdbg fetch from a gpgcheck=1 repository: the RPM header signature', () => {
  it('a package signed by the gpgkey, fetched partially (Range): the vmlinux is published; the signature check is timed', async () => {
    const r = await fetch(`${server.url}/good/`, el9, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; packages: { url: string; sha256Verified: boolean; partial: { bytesFetched: number } | null; headerSignedBy: string | null }[]; timings: { headerSignatureMs: number; signatureMs: number; downloadMs: number } };
    expect(sha256File(j.vmlinux)).toBe(el9.vmlinuxSha256);
    const p = j.packages.find((x) => x.url.endsWith(el9.file))!;
    // Only the blocks of the vmlinux were read: the signed header anchors the file, not the package's sha256.
    expect(p.partial!.bytesFetched).toBeLessThan(el9.size['good']! / 2);
    expect(p.sha256Verified).toBe(false);
    expect(j.packages.map((x) => x.headerSignedBy)).toEqual([expect.stringMatching(/^[0-9A-F]{40}$/), expect.stringMatching(/^[0-9A-F]{40}$/)]);
    expect(r.stderr).toContain(`by ${p.headerSignedBy} (gpgv`);
    expect(r.stderr).toMatch(new RegExp(`${el9.file.replace(/\./g, '\\.')}: good header signature \\(DSAHEADER\\) by [0-9A-F]{40}`));
    const ranged = server.requests.filter((q) => q.path.endsWith(el9.file) && q.range !== null);
    expect(ranged.length).toBeGreaterThan(0);
    const ms = gpgvMs(r.stderr);
    expect(ms.length).toBe(2); // the vmlinux package and the sources package
    // Timed apart from the index signatures (resolve): part of the download stage.
    expect(j.timings.signatureMs).toBe(0);
    expect(j.timings.headerSignatureMs).toBeGreaterThan(0);
    expect(j.timings.headerSignatureMs).toBeLessThanOrEqual(j.timings.downloadMs);
    console.log(`[rpm signatures] partial fetch, header signatures verified in ${ms.map((x) => `${x.toFixed(1)} ms`).join(', ')} (timings.headerSignatureMs ${j.timings.headerSignatureMs}, downloadMs ${j.timings.downloadMs})`);
  });

  it('an el7-shaped package (one xz block, streamed) whose file digests are MD5: checked against the signed header', async () => {
    expect(el7.fileDigestAlgo).toBe(1);
    const r = await fetch(`${server.url}/good/`, el7, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256File((JSON.parse(r.stdout) as { vmlinux: string }).vmlinux)).toBe(el7.vmlinuxSha256);
    console.log(`[rpm signatures] streamed fetch, header signatures verified in ${gpgvMs(r.stderr).map((x) => `${x.toFixed(1)} ms`).join(', ')}`);
  });

  it('a package signed by an RSA gpgkey (RSAHEADER, as the distributions sign)', async () => {
    const r = await fetch(`${server.url}/good-rsa/`, el9, ['--json'], { rsa: true });
    expect(r.code, r.stderr).toBe(0);
    expect(sha256File((JSON.parse(r.stdout) as { vmlinux: string }).vmlinux)).toBe(el9.vmlinuxSha256);
    expect(r.stderr).toMatch(/: good header signature \(RSAHEADER\) by [0-9A-F]{40}/);
    console.log(`[rpm signatures] RSA key, header signatures verified in ${gpgvMs(r.stderr).map((x) => `${x.toFixed(1)} ms`).join(', ')}`);
  });

  it('an unsigned package → refused (no signature)', async () => {
    const r = await fetch(`${server.url}/unsigned/`, el9, ['-q']);
    const line = refused(r, /^kdbg: http:\/\/127\.0\.0\.1:\d+\/unsigned\/kernel-debuginfo-.*\.rpm: no signature: the package header is not signed, and gpgcheck=1 in .*kdbg-debuginfo\.repo \[kdbg-debuginfo\]$/);
    console.log(`[rpm signatures] unsigned: ${line}`);
  });

  it('a package signed by a key that is not the gpgkey → refused (unknown key)', async () => {
    const r = await fetch(`${server.url}/other/`, el9, ['-q']);
    const line = refused(r, /other\/kernel-debuginfo-.*\.rpm: header signed by key [0-9A-F]+, which is not a gpgkey of /);
    console.log(`[rpm signatures] other key: ${line}`);
  });

  it('gpgcheck=1 but the gpgkey file is not on the host → refused (unknown key)', async () => {
    const r = await fetch(`${server.url}/good/`, el9, ['-q'], { keyFile: false });
    refused(r, /good\/kernel-debuginfo-.*\.rpm: no key to verify its header signature with: gpgcheck=1 in .* but no readable gpgkey/);
  });

  it('a header byte changed after signing (repodata made to match) → refused (bad signature)', async () => {
    const url = await mitm((d) => {
      const f = join(d, el9.file);
      const b = readFileSync(f);
      const at = b.indexOf('Test fixture for kdbg');
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThan(65536);
      b[at] = 'B'.charCodeAt(0);
      writeFileSync(f, b);
    });
    const line = refused(await fetch(url, el9, ['-q']), /kernel-debuginfo-5\.14\.0-.*\.rpm: BAD header signature \(the package header was altered after signing\)$/);
    console.log(`[rpm signatures] header byte flipped: ${line}`);
  });

  for (const how of ['partial', 'whole'] as const) {
    it(`a signed header in front of another payload (${how} fetch) → the vmlinux does not match the signed digest: refused`, async () => {
      const url = await mitm((d) => {
        const f = join(d, el9.file);
        const tamper = join(root, manifest.tamper);
        return Promise.all([payloadOffset(f), payloadOffset(tamper)]).then(([a, b]) => {
          writeFileSync(f, Buffer.concat([readFileSync(f).subarray(0, a), readFileSync(tamper).subarray(b)]));
        });
      });
      const r = await fetch(url, el9, how === 'whole' ? ['--keep-packages', '-q'] : ['-q']);
      const line = refused(r, /kernel-debuginfo-5\.14\.0-.*\.rpm: member usr\/lib\/debug\/lib\/modules\/.*\/vmlinux has sha256 [0-9a-f]{64}, the signed package header says [0-9a-f]{64}$/);
      console.log(`[rpm signatures] spliced payload (${how}): ${line}`);
    });
  }

  it('kdbg fetch --module later reads the package again by Range: its header signature is checked again', async () => {
    const url = await mitm(() => undefined);
    const r = hostRoot(url);
    const cache = tmpDir('kdbg-rpmsig-cache-');
    const first = await runKdbg(['fetch', el9.uname, '--cache-dir', cache, '--vmlinux-only', '-q'], hostEnv(r));
    expect(first.code, first.stderr).toBe(0);
    const ok = await runKdbg(['fetch', el9.uname, '--cache-dir', cache, '--vmlinux-only', '--module', 'mod000', '--json'], hostEnv(r));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/good header signature \(DSAHEADER\)/);
    expect((JSON.parse(ok.stdout) as { moduleDebug: { found: { name: string }[] } }).moduleDebug.found.map((f) => f.name)).toEqual(['mod000']);
    // The mirror now serves the same package signed by another key: the next module is refused.
    copyFileSync(join(root, 'other', el9.file), join(mitmDirs.get(url)!, el9.file));
    const bad = await runKdbg(['fetch', el9.uname, '--cache-dir', cache, '--vmlinux-only', '--module', 'mod001', '-q'], hostEnv(r));
    expect(bad.code, bad.stderr).toBe(65);
    expect(bad.stderr).toMatch(/kernel-debuginfo-5\.14\.0-.*\.rpm: header signed by key [0-9A-F]+, which is not a gpgkey of /);
    expect(cacheFiles(join(cache, 'modules')).filter((f) => f.includes('mod001'))).toEqual([]);
  });

  it('--insecure-skip-signatures reads the unsigned package, with a warning', async () => {
    const r = await fetch(`${server.url}/unsigned/`, el9, ['--insecure-skip-signatures']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^kdbg: warning: signatures are not checked \(--insecure-skip-signatures\)/m);
    expect(r.stderr).not.toMatch(/good header signature/);
  });

  it('config key insecureSkipSignatures: the package with another key is read, with a warning naming the config', async () => {
    const cfg = join(tmpDir('kdbg-rpmsig-cfg-'), 'config.json');
    writeFileSync(cfg, JSON.stringify({ insecureSkipSignatures: true }));
    const r = await fetch(`${server.url}/other/`, el9, ['--config', cfg]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^kdbg: warning: signatures are not checked \(insecureSkipSignatures in .*config\.json\)/m);
    expect(r.stderr).not.toMatch(/header signature/);
  });

  it('gpgcheck=0: the unsigned repository is read as before, no signature checked', async () => {
    const r = await fetch(`${server.url}/unsigned/`, el9, ['--json'], { gpgcheck: false });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { packages: { headerSignedBy: string | null }[] }).packages.map((x) => x.headerSignedBy)).toEqual([null, null]);
    expect(r.stderr).not.toMatch(/header signature/);
  });
});
