// issue 17, el7: a kernel-debuginfo RPM whose payload is one xz block (scripts/fixtures/
// 79-el7-modules-rpm.sh, built by rpmbuild with w2.xzdio) cannot be read in parts, so the modules
// a dump had loaded are taken in the same pass that writes the vmlinux: one GET of the package,
// one decode, and the files byte-identical to what `rpm2cpio | cpio` extracts. A module nobody
// named before that pass costs a second decode of the kept package; it is measured and said.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPackage } from '../../src/extract/index.js';
import { vmlinuxSelector } from '../../src/extract/select.js';
import { moduleOfPath } from '../../src/pipeline/fetch/modules.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { fixturesRoot } from '../helpers/fixtures.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, tmpDir } from './fetch-cli.js';

interface El7Modules {
  uname: string;
  release: string;
  file: string;
  sha256: string;
  size: number;
  vmlinuxSha256: string;
  modules: { name: string; path: string; sha256: string; size: number }[];
}
const root = join(fixturesRoot, 'el7-modules-rpm');
const fx = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as El7Modules;
const rpm = join(root, fx.file);
const pkgPath = `/${fx.file.replace(/^mirror\//, '')}`;
const config = loopbackOnlyConfig();
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

interface ModuleDebugJson {
  dir: string | null;
  found: { name: string; path: string; package: string | null; member: string | null; samePass?: boolean }[];
  missing: { name: string; reason: string }[];
  packages: { fileName: string; bytesRead: number; wholeDecodeMs?: number }[];
}

let server: MirrorServer;
let byHand: string;
beforeAll(async () => {
  server = await startMirrorServer(join(root, 'mirror'));
  // The reference: what rpm's own tools extract from the same package.
  byHand = tmpDir('kdbg-el7mod-cpio-');
  execFileSync('bash', ['-c', `rpm2cpio '${rpm}' | cpio -idm --quiet`], { cwd: byHand });
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

const pkgRequests = (): { range: string | null; bytesSent: number; method: string }[] => server.requests.filter((q) => q.path === pkgPath);

describe('el7 one-block RPM: the modules in the vmlinux pass', () => {
  const asked = ['pvpanic_mmio', 'xfs', 'qemu_fw_cfg', 'kdbg_oops'];
  let cache: string;

  it('kdbg fetch --module: one GET of the package, the named .ko.debug written in that pass, byte-identical to rpm2cpio | cpio', async () => {
    cache = tmpDir('kdbg-el7mod-cache-');
    server.requests.length = 0;
    const r = await runKdbg(['fetch', fx.release, '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json', ...asked.flatMap((m) => ['--module', m])]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; moduleDebug: ModuleDebugJson };
    expect(sha(j.vmlinux)).toBe(fx.vmlinuxSha256);

    // The network: the package body went over the wire once; the partial path's look at its ends
    // (header, xz index: one block, so it declined) is all the rest.
    const reqs = pkgRequests();
    const whole = reqs.filter((q) => q.method === 'GET' && q.range === null);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.bytesSent).toBe(fx.size);
    const ranged = reqs.filter((q) => q.range !== null).reduce((n, q) => n + q.bytesSent, 0);
    // (The partial path reads a window at each end: 64 KiB chunks, a few of them.)
    expect(ranged).toBeLessThan(1 << 20);
    console.log(`el7 one-block RPM (${fx.size} bytes): ${reqs.length} requests to it (${reqs.map((q) => `${q.method} ${q.range ?? "whole"} ${q.bytesSent}`).join("; ")}), ${ranged} bytes by Range before the one whole GET`);

    // The module step read no package: every named module in the tree came from the pass.
    const m = j.moduleDebug;
    expect(m.packages).toEqual([]);
    expect(m.found.map((x) => x.name).sort()).toEqual(['pvpanic_mmio', 'qemu_fw_cfg', 'xfs']);
    for (const f of m.found) {
      const want = fx.modules.find((x) => x.name === f.name)!;
      expect(f.samePass).toBe(true);
      expect(f.package).toBe(fx.file.split('/').pop());
      expect(f.member).toBe(want.path);
      expect(f.path).toBe(join(cache, 'modules', fx.uname, `${f.name}.ko`));
      expect(readFileSync(f.path).equals(readFileSync(join(byHand, want.path)))).toBe(true);
      expect(sha(f.path)).toBe(want.sha256);
    }
    // Out of tree: named, not in the package, said so without reading it again.
    expect(m.missing).toHaveLength(1);
    expect(m.missing[0]!.name).toBe('kdbg_oops');
    expect(m.missing[0]!.reason).toMatch(/not in kernel-debuginfo-.*\.rpm \(read in the vmlinux's pass\)/);
    expect(r.stderr).toMatch(/: 3 of 4 module debug files taken in the pass that wrote the vmlinux \(qemu_fw_cfg pvpanic_mmio xfs\)/);
    expect(r.stderr).not.toMatch(/decoded again/);
    // Only what was asked: iptable_filter and pvpanic stay in the package.
    expect(readdirSync(join(cache, 'modules', fx.uname)).sort()).toEqual(['pvpanic_mmio.ko', 'qemu_fw_cfg.ko', 'xfs.ko']);
  });

  it('a module named only after the vmlinux is cached: decoded again from the kept package (no request), measured', async () => {
    server.requests.length = 0;
    const r = await runKdbg(['fetch', fx.release, '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json', '--module', 'pvpanic', '--module', 'xfs']);
    expect(r.code, r.stderr).toBe(0);
    expect(pkgRequests()).toEqual([]);
    const m = (JSON.parse(r.stdout) as { moduleDebug: ModuleDebugJson }).moduleDebug;
    const pv = m.found.find((x) => x.name === 'pvpanic')!;
    expect(pv.package).toBe(fx.file.split('/').pop());
    expect(readFileSync(pv.path).equals(readFileSync(join(byHand, fx.modules.find((x) => x.name === 'pvpanic')!.path)))).toBe(true);
    // xfs is there from the first pass: not read again.
    expect(m.found.find((x) => x.name === 'xfs')!.package).toBeNull();
    expect(m.packages).toHaveLength(1);
    const p = m.packages[0]!;
    expect(typeof p.wholeDecodeMs).toBe('number');
    expect(p.bytesRead).toBeGreaterThan(0);
    expect(p.bytesRead).toBeLessThanOrEqual(fx.size);
    expect(r.stderr).toMatch(/its payload is one xz block; decoded again from the kept package for 1 module/);
    console.log(`second decode for 1 module: ${p.wholeDecodeMs} ms, ${p.bytesRead} of ${fx.size} bytes of the kept package read`);
  });

  it('--keep-packages=false: no kept package, so a late module is missing with the reason, and nothing is downloaded again', async () => {
    const c = tmpDir('kdbg-el7mod-nokeep-');
    const first = await runKdbg(['fetch', fx.release, '--vmlinux-only', '--no-keep-packages', '--mirror', server.url, '--cache-dir', c, '--config', config, '--module', 'xfs']);
    expect(first.code, first.stderr).toBe(0);
    expect(sha(join(c, 'modules', fx.uname, 'xfs.ko'))).toBe(fx.modules.find((x) => x.name === 'xfs')!.sha256);
    server.requests.length = 0;
    const r = await runKdbg(['fetch', fx.release, '--vmlinux-only', '--no-keep-packages', '--mirror', server.url, '--cache-dir', c, '--config', config, '--json', '--module', 'pvpanic']);
    expect(r.code, r.stderr).toBe(0);
    const m = (JSON.parse(r.stdout) as { moduleDebug: ModuleDebugJson }).moduleDebug;
    expect(m.found).toEqual([]);
    expect(m.missing).toHaveLength(1);
    expect(m.missing[0]!.reason).toMatch(/not in the store/);
    expect(pkgRequests().filter((q) => q.range === null)).toEqual([]);
  });
});

describe('extract: stopAtListed bounds the walk by the header', () => {
  const chunks = (): AsyncIterable<Uint8Array> => createReadStream(rpm, { highWaterMark: 1 << 16 }) as AsyncIterable<Uint8Array>;
  const vm = vmlinuxSelector(fx.uname);
  // vmlinux, plus a module the package lacks: two wanted, one listed.
  const select = (m: { path: string; type: string }): boolean => vm(m as Parameters<typeof vm>[0]) || moduleOfPath(m.path) === 'kdbg_oops';

  it('stops after the vmlinux when the other wanted member is not listed; walks to the end without it', async () => {
    const a = await extractPackage(chunks(), { destDir: tmpDir('kdbg-el7mod-x-'), label: 'a', select, stopAfter: 2, stopAtListed: true });
    expect(a.written.map((w) => w.member.path)).toEqual([`usr/lib/debug/lib/modules/${fx.uname}/vmlinux`]);
    expect(a.stoppedEarly).toBe(true);
    const b = await extractPackage(chunks(), { destDir: tmpDir('kdbg-el7mod-y-'), label: 'b', select, stopAfter: 2 });
    expect(b.written).toHaveLength(1);
    expect(b.stoppedEarly).toBe(false);
  });

  it('the fixture is what the test needs: one xz block, modules before the vmlinux', () => {
    const list = execFileSync('bash', ['-c', `rpm2cpio '${rpm}' | cpio -t --quiet`], { encoding: 'utf8' }).trim().split('\n');
    const vmAt = list.indexOf(`./usr/lib/debug/lib/modules/${fx.uname}/vmlinux`);
    for (const m of fx.modules) expect(list.indexOf(`./${m.path}`)).toBeGreaterThanOrEqual(0);
    for (const m of fx.modules) expect(list.indexOf(`./${m.path}`)).toBeLessThan(vmAt);
    // The payload: the xz stream after the headers, listed by xz itself.
    const bytes = readFileSync(rpm);
    const at = bytes.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    expect(at).toBeGreaterThan(0);
    const payload = join(tmpDir('kdbg-el7mod-xz-'), 'payload.xz');
    writeFileSync(payload, bytes.subarray(at));
    const robot = execFileSync('xz', ['--robot', '-lv', payload], { encoding: 'utf8' });
    expect(robot.split('\n').filter((l) => l.startsWith('block\t'))).toHaveLength(1);
    expect(existsSync(rpm)).toBe(true);
  });
});
