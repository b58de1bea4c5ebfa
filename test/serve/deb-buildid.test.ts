// issue 20 for Debian: `kdbg serve --fetch` answers a build-id of a Debian vmlinux and of a module
// on a miss, from fixture 76's archive on a 127.0.0.1 mirror (the REAL linux-image-<release>-dbg
// package, 858 MB, and a dpkg-deb-built module debug package; signed InRelease, verified against
// the fixture key). The -dbg package has no `.build-id/` link for the vmlinux: kdbg reads the id
// from the vmlinux's ELF notes by partial fetch. The ids come from the fixtures' manifests (the
// vmlinux's by readelf -n in fixture 40) and from readelf -n on the module file; the client is
// elfutils' debuginfod-find; what the mirror sent comes from its own request log.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForIndexIds } from '../helpers/debuginfod.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';
import { isolatedServeEnv, startKdbgServe, type KdbgServe } from '../helpers/kdbg-serve.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

interface MirrorManifest {
  release: string;
  packageVersion: string;
  kernelDeb: string;
  moduleDeb: string;
  moduleMember: string;
  moduleSha256: string;
}
interface VmlinuxManifest {
  buildId: string;
  vmlinuxSha256: string;
  debSize: number;
}

const repo = join(import.meta.dirname, '..', '..');
const mm = JSON.parse(readFileSync(requireFixture('modules-mirror', 'manifest.json'), 'utf8')) as MirrorManifest;
const vm = JSON.parse(readFileSync(requireFixture('debian-vmlinux', 'manifest.json'), 'utf8')) as VmlinuxManifest;
const ko = requireFixture('vmcores', 'oops', 'kdbg_oops.ko');
const work = mkdtempSync(join(tmpdir(), 'kdbg-debbid-'));
const cache = join(work, 'cache');
const config = join(work, 'config.json');
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const readelfBuildId = (f: string): string => /Build ID:\s*([0-9a-f]+)/.exec(execFileSync('readelf', ['-nW', f], { encoding: 'utf8' }))![1]!;

let mirror: MirrorServer;
let serve: KdbgServe | undefined;
let kdbgUrl = '';
const kdbgLog = (): string => serve?.log() ?? '';

const env = (): NodeJS.ProcessEnv => isolatedServeEnv(join(work, 'xdg'));

function run(cmd: string, args: string[], e: NodeJS.ProcessEnv, timeout = 600_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env: e, encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr, ms: performance.now() - t0 });
    });
  });
}

function debuginfodFind(what: string, id: string): ReturnType<typeof run> {
  const e: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: kdbgUrl, DEBUGINFOD_CACHE_PATH: join(work, 'client'), DEBUGINFOD_TIMEOUT: '600' };
  delete e['DEBUGINFOD_PROGRESS'];
  return run('debuginfod-find', [what, id], e);
}

const kernelRequests = (): MirrorServer['requests'] => mirror.requests.filter((r) => r.path === `/${mm.kernelDeb}`);
const sent = (rs: MirrorServer['requests']): number => rs.reduce((a, r) => a + r.bytesSent, 0);

beforeAll(async () => {
  mirror = await startMirrorServer(join(requireFixture('modules-mirror', 'manifest.json'), '..'));
  writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [fixturePath('keys', 'archive.asc')] }));
  serve = await startKdbgServe(['--fetch', '--mirror', mirror.url, '--config', config, '--cache-dir', cache], env());
  kdbgUrl = serve.url;
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('kdbg serve --fetch on a Debian archive, by build-id', () => {
  it('indexes the vmlinux by reading its ELF notes: a few percent of the 858 MB package, by Range', async () => {
    // The index is built at start, in the background: wait for both ids (vmlinux, module).
    const t0 = Date.now();
    const ids = await waitForIndexIds(kdbgUrl, 2);
    expect(ids, kdbgLog()).toBe(2);
    const k = kernelRequests();
    expect(k.length).toBeGreaterThan(0);
    expect(k.every((r) => r.range !== null)).toBe(true);
    expect(sent(k)).toBeLessThan(vm.debSize / 20);
    console.log(`index step: ${k.length} requests to the kernel package, ${sent(k)} of ${vm.debSize} bytes (${((100 * sent(k)) / vm.debSize).toFixed(2)} %), built in ${Date.now() - t0} ms after start`);
    expect(existsSync(join(cache, 'buildid-index', 'deb-debian.kbi'))).toBe(true);
  }, 320_000);

  it('debuginfod-find debuginfo <vmlinux build-id> gets the vmlinux, byte-identical to the package\'s', async () => {
    const before = kernelRequests().length;
    const r = await debuginfodFind('debuginfo', vm.buildId);
    expect(r.code, `${r.stderr}\n${kdbgLog()}`).toBe(0);
    expect(sha256File(r.stdout)).toBe(vm.vmlinuxSha256);
    expect(readelfBuildId(r.stdout)).toBe(vm.buildId);
    const fetchReqs = kernelRequests().slice(before);
    console.log(`vmlinux miss: ${(r.ms / 1000).toFixed(1)} s, ${fetchReqs.length} requests, ${sent(fetchReqs)} bytes from the mirror`);
    // `kdbg fetch` of the release from the same cache names the same file.
    const f = await run(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'fetch', mm.release, '--mirror', mirror.url, '--config', config, '--cache-dir', cache, '--json', '-q'], env());
    expect(f.code, f.stderr).toBe(0);
    const j = JSON.parse(f.stdout) as { vmlinux: string };
    expect(sha256File(j.vmlinux)).toBe(sha256File(r.stdout));
  }, 900_000);

  it('/executable of the vmlinux is the same file (it holds loadable code)', async () => {
    const r = await debuginfodFind('executable', vm.buildId);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256File(r.stdout)).toBe(vm.vmlinuxSha256);
  }, 120_000);

  it('debuginfod-find debuginfo <module build-id> gets the module\'s debug file from its package', async () => {
    expect(sha256File(ko)).toBe(mm.moduleSha256);
    const id = readelfBuildId(ko);
    const moduleReqs = (): number => mirror.requests.filter((q) => q.path === `/${mm.moduleDeb}` && q.status < 300).length;
    const before = moduleReqs();
    const r = await debuginfodFind('debuginfo', id);
    expect(r.code, `${r.stderr}\n${kdbgLog()}`).toBe(0);
    expect(sha256File(r.stdout)).toBe(mm.moduleSha256);
    // Read once for the index, and again by the fetch that published it.
    expect(before).toBeGreaterThan(0);
    expect(moduleReqs()).toBeGreaterThan(before);
    console.log(`module miss: ${r.ms.toFixed(0)} ms; kdbg serve: ${kdbgLog().split('\n').filter((l) => /fetch on miss/.test(l)).join(' | ')}`);
  }, 600_000);

  it('an id no package has is a 404', async () => {
    const r = await debuginfodFind('debuginfo', createHash('sha1').update(vm.buildId).digest('hex'));
    expect(r.code).not.toBe(0);
  }, 120_000);
});

describe('kdbg sync on a Debian archive', () => {
  const sync = (dir: string): ReturnType<typeof run> =>
    run(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'sync', '--mirror', mirror.url, '--config', config, '--cache-dir', dir, '--family', 'debian', '--json'], env());

  it('fetches the suite\'s kernel at the indexed version, then finds it cached without reading the package again', async () => {
    const dir = join(work, 'sync-cache');
    const r = await sync(dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').map((l) => JSON.parse(l) as { release?: string; status?: string; package?: string; bytes?: number; summary?: { kernels: number; fetched: number; bytes: number } });
    expect(lines.filter((l) => l.release !== undefined)).toEqual([expect.objectContaining({ release: mm.release, status: 'fetched', package: `${mm.kernelDeb.split('/').pop()!.split('_')[0]}_${mm.packageVersion}_amd64` })]);
    expect(lines.at(-1)!.summary).toMatchObject({ kernels: 1, fetched: 1 });
    const before = kernelRequests().length;
    const again = await sync(dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.split('\n')[0]).toContain('"status":"cached"');
    // The index was kept by the package's SHA256: the second sync read nothing of the package.
    expect(kernelRequests().length).toBe(before);
    console.log(`sync: fetched in ${(r.ms / 1000).toFixed(1)} s, ${lines.at(-1)!.summary!.bytes} bytes; again in ${(again.ms / 1000).toFixed(1)} s`);
  }, 900_000);
});
