// `kdbg fetch` picks partial fetch (HTTP Range, only the xz blocks holding the vmlinux) by default
// for block-indexed packages, and the whole, sha256-checked, kept download otherwise. Real
// packages built here, large enough for the partial path (≥ 4 MiB; smaller ones are downloaded
// whole): a Debian -dbg package made by dpkg-deb whose data.tar is recompressed by xz into 256 KiB
// blocks (6.1.997-2; as the Debian archive's) or one block (6.1.997-1), in a flat repository
// indexed by dpkg-scanpackages; and an el9-style kernel-debuginfo RPM with a threaded
// (multi-block) xz payload plus its -common sources package, indexed by createrepo_c. Expected
// vmlinux digests come from dpkg-deb | tar and rpm2cpio | cpio, never from kdbg.
import { execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { signRelease } from '../helpers/deb-keys.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';
import { signRepomd, signRpms } from '../helpers/rpm-sign.js';
import type { FetchTimings } from '../../src/core/fetch-result.js';

const REL = '6.1.0-97-amd64';
const multiDeb = `/linux-image-${REL}-dbg_6.1.997-2_amd64.deb`;
const singleDeb = `/linux-image-${REL}-dbg_6.1.997-1_amd64.deb`;
const debVmlinux = `usr/lib/debug/boot/vmlinux-${REL}`;

const RPM_REL = '5.14.0-999.el9.x86_64';
const rpmVmlinux = `usr/lib/debug/lib/modules/${RPM_REL}/vmlinux`;
const rpmFile = `kernel-debuginfo-${RPM_REL}.rpm`;
const commonFile = `kernel-debuginfo-common-x86_64-${RPM_REL}.rpm`;

interface PkgJson {
  name: string;
  url: string;
  sha256: string;
  size: number;
  cached: boolean;
  sha256Verified: boolean;
  partial: { bytesFetched: number; blocksDecoded: number; blocksTotal: number } | null;
}
interface FetchJson {
  vmlinux: string;
  source: string | null;
  packages: PkgJson[];
}

/** Run kdbg (its args include --json); it must succeed without an internal error. */
async function fetchJson(args: string[]): Promise<{ j: FetchJson; stderr: string }> {
  const r = await runKdbg(args);
  expect(r.stderr).not.toContain('internal error');
  expect(r.code, r.stderr).toBe(0);
  return { j: JSON.parse(r.stdout) as FetchJson, stderr: r.stderr };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha256File = (f: string): string => sha256(readFileSync(f));
const config = loopbackOnlyConfig();
const want: Record<string, string> = {};
let debRoot: string;
let debServer: MirrorServer;
let rpmServer: MirrorServer;
let rpmWww: string;

/** Files in packages/sha256/ (the kept packages). */
function keptPackages(cache: string): string[] {
  const d = join(cache, 'packages', 'sha256');
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

function getsFor(server: MirrorServer, path: string): MirrorServer['requests'] {
  return server.requests.filter((q) => q.method === 'GET' && q.path === path);
}

function rpmbuild(dir: string, name: string, payload: string, files: string): void {
  const top = join(dir, `rpmbuild-${name}`);
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(
    join(top, 'SPECS', 'k.spec'),
    `%define _binary_payload ${payload}
%define __os_install_post %{nil}
%define debug_package %{nil}
%define _build_id_links none
Name: ${name}
Version: 5.14.0
Release: 999.el9
Summary: kdbg test fixture
License: GPLv2
AutoReqProv: no
%description
kdbg test fixture
%install
mkdir -p %{buildroot}
cp -a ${join(dir, `root-${name}`)}/. %{buildroot}/
%files
%defattr(-,root,root)
${files}
`,
  );
  execSync(`rpmbuild -bb --quiet --target x86_64 --define "_topdir ${top}" ${join(top, 'SPECS', 'k.spec')}`, { stdio: 'ignore' });
  execSync(`cp ${top}/RPMS/x86_64/*.rpm ${rpmWww}/`);
}

/** A real -dbg deb: dpkg-deb's tar, recompressed with `xz XZARGS` (the archive's blocks, or one). */
function buildDeb(dir: string, version: string, xzArgs: string, vmlinux: Buffer, after: Buffer): void {
  const root = join(dir, `root-${version}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(join(root, 'DEBIAN', 'control'), `Package: linux-image-${REL}-dbg\nSource: linux\nVersion: ${version}\nArchitecture: amd64\nMaintainer: kdbg tests <kdbg@localhost>\nSection: debug\nPriority: optional\nDescription: kdbg test fixture\n`);
  mkdirSync(join(root, 'usr/lib/debug/boot'), { recursive: true });
  writeFileSync(join(root, `usr/lib/debug/boot/System.map-${REL}`), 'ffffffff81000000 T _text\n');
  writeFileSync(join(root, debVmlinux), vmlinux);
  mkdirSync(join(root, `usr/lib/debug/lib/modules/${REL}`), { recursive: true });
  symlinkSync(`../../../boot/vmlinux-${REL}`, join(root, `usr/lib/debug/lib/modules/${REL}/vmlinux`));
  mkdirSync(join(root, 'usr/share/doc/x'), { recursive: true });
  writeFileSync(join(root, 'usr/share/doc/x/zz-after'), after); // after the vmlinux in the tar: never fetched
  const work = join(dir, `ar-${version}`);
  mkdirSync(work);
  const out = join(debRoot, `linux-image-${REL}-dbg_${version}_amd64.deb`);
  execSync(`dpkg-deb --root-owner-group -Znone --build ${root} plain.deb >/dev/null && ar x plain.deb && xz ${xzArgs} data.tar && ar rc ${out} debian-binary control.tar* data.tar.xz`, { cwd: work });
}

beforeAll(async () => {
  const ddir = tmpDir('kdbg-fetch-partial-deb-');
  debRoot = join(ddir, 'www');
  mkdirSync(debRoot);
  const lines = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `DW_TAG_variable name=v_${i} type=struct_${i % 97}\n`).join(''));
  const vmlinux = Buffer.concat([Buffer.from('\x7fELF'), randomBytes(4_500_000), lines]);
  const after = randomBytes(2_500_000);
  buildDeb(ddir, '6.1.997-2', '-T2 --block-size=262144', vmlinux, after);
  buildDeb(ddir, '6.1.997-1', '-T1 -6', vmlinux, after);
  execSync('dpkg-scanpackages -m . /dev/null 2>/dev/null | gzip -9n > Packages.gz', { cwd: debRoot, shell: '/bin/bash' });
  // A flat repository is signed as apt reads one: Release beside Packages.gz, InRelease by the fixture key.
  const pkgs = readFileSync(join(debRoot, 'Packages.gz'));
  writeFileSync(join(debRoot, 'Release'), `Origin: kdbg-test\nSHA256:\n ${sha256(pkgs)} ${pkgs.length} Packages.gz\n`);
  signRelease(debRoot);
  want['deb'] = sha256(execSync(`dpkg-deb --fsys-tarfile ${join(debRoot, multiDeb)} | tar -xO ./${debVmlinux}`, { maxBuffer: 64 << 20 }));
  want['deb-single'] = sha256(execSync(`dpkg-deb --fsys-tarfile ${join(debRoot, singleDeb)} | tar -xO ./${debVmlinux}`, { maxBuffer: 64 << 20 }));
  debServer = await startMirrorServer(debRoot);

  // An el9-style repository: the debuginfo RPM with a threaded xz payload (w0T2: level 0 makes
  // 1 MiB-ish blocks out of a few MB), the vmlinux among module files, and a -common package.
  const dir = tmpDir('kdbg-fetch-partial-rpm-');
  rpmWww = join(dir, 'www');
  mkdirSync(rpmWww);
  const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `DW_TAG_subprogram name=fn_${i} low_pc=ffffffff81${i.toString(16)}\n`).join(''));
  const mods = join(dir, 'root-kernel-debuginfo', `usr/lib/debug/lib/modules/${RPM_REL}/kernel`);
  for (let i = 0; i < 60; i++) {
    mkdirSync(join(mods, `d${i % 5}`), { recursive: true });
    writeFileSync(join(mods, `d${i % 5}`, `m${i}.ko.debug`), Buffer.concat([randomBytes(20_000 + i * 100), text.subarray(0, 5000)]));
  }
  writeFileSync(join(dir, 'root-kernel-debuginfo', rpmVmlinux), Buffer.concat([Buffer.from('\x7fELF'), randomBytes(2_500_000), text, randomBytes(600_000)]));
  mkdirSync(join(dir, 'root-kernel-debuginfo', 'usr/lib/debug/usr/src'), { recursive: true });
  writeFileSync(join(dir, 'root-kernel-debuginfo', 'usr/lib/debug/usr/src/zz-after'), randomBytes(2_000_000)); // after the vmlinux: never fetched
  rpmbuild(dir, 'kernel-debuginfo', 'w0T2.xzdio', '/usr');
  const src = join(dir, 'root-kernel-debuginfo-common-x86_64', `usr/src/debug/kernel-5.14.0-999.el9/linux-${RPM_REL}/kernel`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'fork.c'), '/* kdbg fixture */\nint copy_process(void) { return 0; }\n');
  writeFileSync(join(src, '..', 'Makefile'), 'VERSION = 5\n');
  rpmbuild(dir, 'kernel-debuginfo-common-x86_64', 'w2.xzdio', '/usr');
  // Signed as the fixture mirrors are (rpm-sign.ts): the config verifies headers and repomd.xml.asc.
  signRpms(...readdirSync(rpmWww).filter((f) => f.endsWith('.rpm')).map((f) => join(rpmWww, f)));
  execSync(`createrepo_c --quiet ${rpmWww}`);
  signRepomd(rpmWww);
  want['rpm'] = sha256(execSync(`rpm2cpio ${join(rpmWww, rpmFile)} | cpio -i --quiet --to-stdout ./${rpmVmlinux}`, { maxBuffer: 64 << 20 }));
  rpmServer = await startMirrorServer(rpmWww);
}, 300_000);

afterAll(async () => {
  await debServer?.close();
  await rpmServer?.close();
  cleanupTmp();
});

afterEach(() => {
  debServer.setFault(null);
  debServer.requests.length = 0;
  rpmServer.requests.length = 0;
});

const debArgs = (cache: string, ...more: string[]): string[] => ['fetch', REL, '--repo', debServer.url, '--cache-dir', cache, '--config', config, ...more];

describe('kdbg fetch: partial fetch by default', () => {
  it('fetches only the xz blocks of a multi-block deb; the vmlinux equals dpkg-deb | tar; provenance says the package sha256 was not checked', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const { j, stderr } = await fetchJson(debArgs(cache, '--json'));
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    // The lanes' clocks (issue 19, item 1): busy and idle split the download stage, and the
    // positional writes were timed inside it.
    const t = (j as FetchJson & { timings: FetchTimings }).timings;
    expect(t.decodeBusyMs).toBeGreaterThan(0);
    expect(t.decodeBusyMs! + t.decodeIdleMs!).toBe(t.downloadMs);
    expect(t.writeMs).not.toBeNull();
    expect(t.writeMs!).toBeLessThanOrEqual(t.downloadMs + 2);
    const size = readFileSync(join(debRoot, multiDeb)).length;
    const [p] = j.packages;
    expect(p).toMatchObject({ name: `linux-image-${REL}-dbg`, size, cached: false, sha256Verified: false });
    expect(p!.sha256).toBe(sha256File(join(debRoot, multiDeb))); // the index's digest, recorded as is
    expect(p!.partial).not.toBeNull();
    const { bytesFetched, blocksDecoded, blocksTotal } = p!.partial!;
    expect(blocksTotal).toBeGreaterThan(2);
    expect(blocksDecoded).toBeGreaterThan(0);
    expect(blocksDecoded).toBeLessThan(blocksTotal);
    // Only ranges were asked for, and what the server sent is what kdbg reports.
    const gets = getsFor(debServer, multiDeb);
    expect(gets.length).toBeGreaterThan(1);
    expect(gets.every((q) => q.range !== null && q.status === 206)).toBe(true);
    const sent = gets.reduce((n, q) => n + q.bytesSent, 0);
    expect(bytesFetched).toBe(sent);
    expect(sent).toBeLessThan(size * 0.8);
    // Nothing to keep: no package in the store, and the entry records the same provenance.
    expect(keptPackages(cache)).toEqual([]);
    const entry = JSON.parse(readFileSync(join(cache, 'releases', REL, 'entry.json'), 'utf8')) as { packages: PkgJson[]; vmlinuxSha256: string };
    expect(entry.vmlinuxSha256).toBe(want['deb']);
    expect(entry.packages[0]).toMatchObject({ sha256Verified: false, partial: { bytesFetched, blocksDecoded, blocksTotal } });
    // The info line (stderr): what was checked and what was not.
    expect(stderr).toMatch(/fetched \d+ of \d+ bytes \(\d+ of \d+ xz blocks\).*the package sha256 .*was not checked/);

    // A warm answer repeats the provenance without any request.
    debServer.requests.length = 0;
    const warm = await runKdbg(debArgs(cache, '--json'));
    expect(warm.code).toBe(0);
    expect(debServer.requests).toEqual([]);
    const w = JSON.parse(warm.stdout) as FetchJson;
    expect(w.packages[0]).toMatchObject({ cached: true, sha256Verified: false, partial: { bytesFetched, blocksDecoded, blocksTotal } });
  });

  it('a block range that straggles is asked for again and the fetch does not wait for it (hedged, counted in the provenance)', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    // The third block read (a range over 64 KiB) answers its head after 5 s; every other one at once.
    let blockReads = 0;
    let late: string | null = null;
    debServer.setFault((path, _n, req) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (path !== multiDeb || !m || Number(m[2]) - Number(m[1]) < 64 * 1024) return undefined;
      if (++blockReads === 3) {
        late = req.headers.range!;
        return { delayMs: 5000 };
      }
      return undefined;
    });
    const t0 = Date.now();
    const { j, stderr } = await fetchJson(debArgs(cache, '--json'));
    const ms = Date.now() - t0;
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    expect(late).not.toBeNull();
    expect(getsFor(debServer, multiDeb).filter((q) => q.range === late)).toHaveLength(2);
    const p = j.packages[0]!.partial as { hedged?: number };
    expect(p.hedged).toBeGreaterThanOrEqual(1);
    expect(stderr).toMatch(/straggling ranges? asked for again, \d+ answered first by the second request/);
    console.log(`straggling block range ${late}: fetch took ${ms} ms against the 5000 ms the first request waited; hedged ${p.hedged}`);
  });

  it('-q keeps the info line off stderr', async () => {
    const r = await runKdbg(debArgs(tmpDir('kdbg-partial-cache-'), '-q'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(sha256File(r.stdout.trim())).toBe(want['deb']);
  });

  it('falls back to the whole download when the server ignores Range; the package is sha256-checked and kept', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    debServer.setFault((path) => (path === multiDeb ? { ignoreRange: true } : undefined));
    const { j } = await fetchJson(debArgs(cache, '--json'));
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    const digest = sha256File(join(debRoot, multiDeb));
    expect(j.packages[0]).toMatchObject({ sha256: digest, sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([digest]);
    // The probe was dropped at its 200 header; one whole GET delivered the package.
    const whole = getsFor(debServer, multiDeb).filter((q) => q.bytesSent === readFileSync(join(debRoot, multiDeb)).length);
    expect(whole).toHaveLength(1);
  });

  it('falls back to the whole download when the file changes on the server half-way through the partial fetch', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    // The first few Range requests see one ETag, every later one another (a mirror sync mid-fetch).
    let seen = 0;
    debServer.setFault((path) => (path === multiDeb && ++seen > 3 ? { etag: '"resynced"' } : undefined));
    const n0 = getsFor(debServer, multiDeb).length;
    const { j } = await fetchJson(debArgs(cache, '--json'));
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    expect(j.packages[0]).toMatchObject({ sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([sha256File(join(debRoot, multiDeb))]);
    const gets = getsFor(debServer, multiDeb).slice(n0);
    expect(gets.some((q) => q.range !== null)).toBe(true); // the partial attempt
    expect(gets.filter((q) => q.range === null)).toHaveLength(1); // then one whole download
  });

  it('resumes an interrupted whole download instead of fetching by ranges, and leaves no partial file', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const bytes = readFileSync(join(debRoot, multiDeb));
    const digest = sha256File(join(debRoot, multiDeb));
    // What a killed `--keep-packages` run leaves: the first part of the body and the validators of
    // the response it came from (cache/partial.ts), taken from the server itself.
    const head = await fetch(`${debServer.url}${multiDeb}`, { method: 'HEAD' });
    const kept = 1_000_000;
    mkdirSync(join(cache, 'partial'), { recursive: true });
    writeFileSync(join(cache, 'partial', `${digest}.part`), bytes.subarray(0, kept));
    writeFileSync(
      join(cache, 'partial', `${digest}.json`),
      JSON.stringify({ url: `${debServer.url}${multiDeb}`, etag: head.headers.get('etag'), lastModified: head.headers.get('last-modified'), size: bytes.length, bytes: kept, sha256: digest, fileName: multiDeb.slice(1) }),
    );
    const n0 = getsFor(debServer, multiDeb).length;
    const { j } = await fetchJson(debArgs(cache, '--json'));
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    expect(j.packages[0]).toMatchObject({ sha256: digest, sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([digest]);
    // One request: the rest of the body, from where the interrupted run stopped.
    expect(getsFor(debServer, multiDeb).slice(n0).map((q) => [q.range, q.status, q.bytesSent])).toEqual([[`bytes=${kept}-`, 206, bytes.length - kept]]);
    expect(readdirSync(join(cache, 'partial'))).toEqual([]);
  });

  it('downloads a single-block package whole and keeps it (behaviour unchanged)', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const { j } = await fetchJson(debArgs(cache, '--json', '--pkg-version', '6.1.997-1'));
    expect(sha256File(j.vmlinux)).toBe(want['deb-single']);
    const digest = sha256File(join(debRoot, singleDeb));
    expect(j.packages[0]).toMatchObject({ sha256: digest, sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([digest]);
    expect(getsFor(debServer, singleDeb).filter((q) => q.range === null)).toHaveLength(1);
  });

  it('--keep-packages downloads the multi-block package whole (no Range), checks its sha256 and keeps it', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const { j, stderr } = await fetchJson(debArgs(cache, '--json', '--keep-packages'));
    expect(sha256File(j.vmlinux)).toBe(want['deb']);
    const digest = sha256File(join(debRoot, multiDeb));
    expect(j.packages[0]).toMatchObject({ sha256: digest, sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([digest]);
    const gets = getsFor(debServer, multiDeb);
    expect(gets.map((q) => q.range)).toEqual([null]);
    expect(stderr).not.toContain('was not checked');
  });

  it('--no-keep-packages: partial when possible; when Range is ignored, the whole verified download is dropped after extraction', async () => {
    const a = tmpDir('kdbg-partial-cache-');
    const ra = await runKdbg(debArgs(a, '--json', '--no-keep-packages'));
    expect(ra.code).toBe(0);
    expect((JSON.parse(ra.stdout) as FetchJson).packages[0]).toMatchObject({ sha256Verified: false });
    expect(keptPackages(a)).toEqual([]);

    const b = tmpDir('kdbg-partial-cache-');
    debServer.setFault((path) => (path === multiDeb ? { ignoreRange: true } : undefined));
    const rb = await runKdbg(debArgs(b, '--json', '--no-keep-packages'));
    expect(rb.code).toBe(0);
    const jb = JSON.parse(rb.stdout) as FetchJson;
    expect(sha256File(jb.vmlinux)).toBe(want['deb']);
    expect(jb.packages[0]).toMatchObject({ sha256Verified: true, partial: null });
    expect(keptPackages(b)).toEqual([]);
  });

  it('a batch follows the same default: both releases fetched partially, provenance per item', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const r = await runKdbg(['fetch', REL, RPM_REL, '--vmlinux-only', '--repo', debServer.url, '--repo', rpmServer.url, '--cache-dir', cache, '--config', config, '--json']);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const items = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as FetchJson & { input: string; ok: boolean });
    expect(items.map((i) => i.input).sort()).toEqual([REL, RPM_REL].sort());
    for (const i of items) {
      expect(i.ok).toBe(true);
      expect(sha256File(i.vmlinux)).toBe(i.input === REL ? want['deb'] : want['rpm']);
      expect(i.packages).toHaveLength(1);
      expect(i.packages[0]).toMatchObject({ sha256Verified: false, cached: false });
      expect(i.packages[0]!.partial!.bytesFetched).toBeLessThan(i.packages[0]!.size);
    }
    expect(keptPackages(cache)).toEqual([]);
  });

  it('multi-block RPM (el9-style): the vmlinux package is fetched partially, the -common sources package whole, checked and kept', async () => {
    const cache = tmpDir('kdbg-partial-cache-');
    const { j } = await fetchJson(['fetch', RPM_REL, '--repo', rpmServer.url, '--cache-dir', cache, '--config', config, '--json']);
    expect(sha256File(j.vmlinux)).toBe(want['rpm']);
    expect(j.source).not.toBeNull();
    expect(readFileSync(join(j.source!, 'kernel', 'fork.c'), 'utf8')).toContain('copy_process');
    const size = readFileSync(join(rpmWww, rpmFile)).length;
    const vm = j.packages.find((p) => p.name === 'kernel-debuginfo')!;
    const common = j.packages.find((p) => p.name === 'kernel-debuginfo-common-x86_64')!;
    expect(vm).toMatchObject({ sha256Verified: false, size });
    expect(vm.partial!.blocksDecoded).toBeLessThan(vm.partial!.blocksTotal);
    const sent = getsFor(rpmServer, `/${rpmFile}`).reduce((n, q) => n + q.bytesSent, 0);
    expect(vm.partial!.bytesFetched).toBe(sent);
    expect(sent).toBeLessThan(size * 0.85);
    const commonDigest = sha256File(join(rpmWww, commonFile));
    expect(common).toMatchObject({ sha256: commonDigest, sha256Verified: true, partial: null });
    expect(keptPackages(cache)).toEqual([commonDigest]);
  });
});

// issue 17: one module's debug file by name (what kdbg analyze fetches for a dump's modules), from
// the multi-block RPM above: only the blocks holding it; its bytes as rpm2cpio | cpio gives them.
describe('kdbg fetch --module on the multi-block RPM', () => {
  it('takes the named *.ko.debug from a few blocks and names the module the package lacks', async () => {
    const member = `usr/lib/debug/lib/modules/${RPM_REL}/kernel/d2/m37.ko.debug`;
    const ref = sha256(execSync(`rpm2cpio ${join(rpmWww, rpmFile)} | cpio -i --quiet --to-stdout ./${member}`, { maxBuffer: 64 << 20 }));
    const r = await runKdbg(['fetch', RPM_REL, '--repo', rpmServer.url, '--cache-dir', tmpDir('kdbg-rpm-mod-'), '--config', config, '--vmlinux-only', '--json', '--module', 'm37', '--module', 'kdbg_no_such_module']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { moduleDebug: { found: { name: string; path: string; member: string }[]; missing: { name: string; reason: string }[]; packages: { blocksDecoded: number; blocksTotal: number }[] } };
    expect(j.moduleDebug.found.map((f) => [f.name, f.member])).toEqual([['m37', member]]);
    expect(sha256File(j.moduleDebug.found[0]!.path)).toBe(ref);
    expect(j.moduleDebug.packages[0]!.blocksDecoded).toBeLessThan(j.moduleDebug.packages[0]!.blocksTotal);
    expect(j.moduleDebug.missing).toEqual([{ name: 'kdbg_no_such_module', reason: expect.stringMatching(/^not in kernel-debuginfo: built out of tree/) }]);
  });

  // Read whole (--keep-packages), the RPM gives the named module in the pass that writes the
  // vmlinux (pipeline/fetch/same-pass.ts): no Range request, no second read of the package.
  it('--keep-packages: the named *.ko.debug comes in the vmlinux pass of the whole download', async () => {
    const member = `usr/lib/debug/lib/modules/${RPM_REL}/kernel/d2/m37.ko.debug`;
    const ref = sha256(execSync(`rpm2cpio ${join(rpmWww, rpmFile)} | cpio -i --quiet --to-stdout ./${member}`, { maxBuffer: 64 << 20 }));
    rpmServer.requests.length = 0;
    const r = await runKdbg(['fetch', RPM_REL, '--repo', rpmServer.url, '--cache-dir', tmpDir('kdbg-rpm-mod-keep-'), '--config', config, '--vmlinux-only', '--keep-packages', '--json', '--module', 'm37', '--module', 'kdbg_no_such_module']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; moduleDebug: { found: { name: string; path: string; member: string; samePass?: boolean }[]; missing: { name: string; reason: string }[]; packages: unknown[] } };
    expect(sha256File(j.vmlinux)).toBe(want['rpm']);
    expect(j.moduleDebug.found.map((f) => [f.name, f.member, f.samePass])).toEqual([['m37', member, true]]);
    expect(sha256File(j.moduleDebug.found[0]!.path)).toBe(ref);
    expect(j.moduleDebug.packages).toEqual([]);
    expect(j.moduleDebug.missing).toEqual([{ name: 'kdbg_no_such_module', reason: expect.stringMatching(/\(read in the vmlinux's pass\)/) }]);
    const pkg = rpmServer.requests.filter((q) => q.path.endsWith(`/${rpmFile}`));
    expect(pkg.map((q) => [q.method, q.range])).toEqual([['GET', null]]);
  });
});
