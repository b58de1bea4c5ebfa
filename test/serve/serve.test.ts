// `kdbg serve` against the real elfutils client: `debuginfod-find` fetches the cached "vmlinux"
// (a gcc-built ELF with a GNU build-id, published through the cache API the way fetch publishes
// a release), a module's split .debug, and a source file; plus raw-HTTP checks of path escapes,
// HEAD, Range, /metrics and read-only behaviour, and kdbg's own client against kdbg serve.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';
import { fetchDebuginfo } from '../../src/download/debuginfod.js';
import { parseListen, parseRange, sourceCandidates, startServe, type RunningServer } from '../../src/serve/server.js';
import { metricValue, startDebuginfod } from '../helpers/debuginfod.js';

const work = mkdtempSync(join(tmpdir(), 'kdbg-serve-'));
const cacheDir = join(work, 'cache');
const srcDir = join(work, 'build-src');
const RELEASE = '6.1.0-kdbgtest-amd64';
const SRC_PATH = '/usr/src/debug/kdbg-test/hello.c';

/** Build-id as binutils' readelf prints it (the oracle is not our parser). */
function readelfBuildId(file: string): string {
  const out = execFileSync('readelf', ['-n', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const m = /Build ID: ([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`readelf found no build-id in ${file}`);
  return m[1]!;
}

/** Raw HTTP (no URL normalisation on the client side, unlike curl/fetch). */
function raw(url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Async on purpose: the server runs in this process, a spawnSync would block its event loop. */
function debuginfodFind(url: string, args: string[], cachePath: string): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: url, DEBUGINFOD_CACHE_PATH: cachePath, DEBUGINFOD_TIMEOUT: '10' };
  delete env['DEBUGINFOD_PROGRESS'];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile('debuginfod-find', args, { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      if (err && status === null) return reject(err);
      resolve({ status, stdout: stdout.trim(), stderr, ms: performance.now() - t0 });
    });
  });
}

let vmlinux = '';
let vmlinuxId = '';
let moduleDebug = '';
let stripped = '';
let moduleId = '';
let server: RunningServer;

beforeAll(async () => {
  mkdirSync(srcDir, { recursive: true });
  const c = 'int kdbg_serve_fixture(int x) { return x * 3; }\nint main(void) { return kdbg_serve_fixture(1) - 3; }\n';
  writeFileSync(join(srcDir, 'hello.c'), c);
  writeFileSync(join(srcDir, 'mod.c'), 'int kdbg_module_fixture(int y) { return y + 7; }\n');
  const built = join(work, 'built');
  mkdirSync(built);
  // The "vmlinux": unstripped, with DWARF whose comp_dir is where the source is served from.
  execFileSync('gcc', ['-g', '-O0', `-fdebug-prefix-map=${srcDir}=/usr/src/debug/kdbg-test`, '-Wl,--build-id=sha1', '-o', join(built, 'vmlinux'), join(srcDir, 'hello.c')], { cwd: srcDir });
  // A "module": relocatable object with a build-id, split into a .ko.debug like debuginfo packages ship.
  execFileSync('gcc', ['-g', '-O0', '-c', '-o', join(built, 'mod.o'), join(srcDir, 'mod.c')]);
  execFileSync('ld', ['-r', '--build-id=sha1', '-o', join(built, 'kdbgmod.ko'), join(built, 'mod.o')]);
  execFileSync('objcopy', ['--only-keep-debug', join(built, 'kdbgmod.ko'), join(built, 'kdbgmod.ko.debug')]);
  // What gdb is given: the same program without DWARF (the build-id note stays).
  execFileSync('strip', ['-g', '-o', join(built, 'stripped'), join(built, 'vmlinux')]);
  stripped = join(built, 'stripped');
  vmlinuxId = readelfBuildId(join(built, 'vmlinux'));
  moduleId = readelfBuildId(join(built, 'kdbgmod.ko.debug'));

  // Publish through the cache API, the way `kdbg fetch` does.
  const cache = await Cache.open(cacheDir);
  const staging = await cache.makeStagingDir(RELEASE);
  writeFileSync(join(staging, 'vmlinux'), readFileSync(join(built, 'vmlinux')));
  mkdirSync(join(staging, 'modules', 'kernel', 'drivers'), { recursive: true });
  writeFileSync(join(staging, 'modules', 'kernel', 'drivers', 'kdbgmod.ko.debug'), readFileSync(join(built, 'kdbgmod.ko.debug')));
  mkdirSync(join(staging, 'source', 'usr', 'src', 'debug', 'kdbg-test'), { recursive: true });
  writeFileSync(join(staging, 'source', SRC_PATH), c);
  writeFileSync(join(staging, 'source', 'usr', 'src', 'debug', 'kdbg-test', 'with space+plus.h'), '/* spaces */\n');
  // RHEL-family layout: fetch stores kernel-debuginfo-common's linux tree itself as source/.
  mkdirSync(join(staging, 'source', 'mm'), { recursive: true });
  writeFileSync(join(staging, 'source', 'mm', 'rhel-style.c'), '/* mm */\n');
  // A hostile symlink inside the sources: must not be followed out of the tree.
  symlinkSync('/etc/passwd', join(staging, 'source', 'usr', 'src', 'debug', 'kdbg-test', 'passwd-link.c'));
  writeFileSync(join(work, 'secret.txt'), 'not for you\n');
  const published = await cache.publishEntry(
    staging,
    {
      release: RELEASE,
      family: 'debian',
      vmlinux: join(staging, 'vmlinux'),
      vmlinuxSha256: '0'.repeat(64),
      source: join(staging, 'source'),
      modules: join(staging, 'modules'),
      buildId: vmlinuxId,
      banner: null,
      packages: [],
      createdAt: new Date().toISOString(),
    },
    { source: true, modules: true },
  );
  vmlinux = published.entry.vmlinux;
  moduleDebug = join(published.dir, 'modules', 'kernel', 'drivers', 'kdbgmod.ko.debug');
  server = await startServe({ cacheDir, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
});

describe('kdbg serve ↔ elfutils debuginfod-find', () => {
  it('debuginfod-find debuginfo <build-id> returns a byte-identical vmlinux', async () => {
    const r = await debuginfodFind(server.url, ['debuginfo', vmlinuxId], join(work, 'dcache-1'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(r.stdout).equals(readFileSync(vmlinux))).toBe(true);
    // The round trip the issue asks to report (a small fixture ELF, fresh client cache).
    console.log(`debuginfod-find debuginfo round trip: ${r.ms.toFixed(1)} ms for ${readFileSync(vmlinux).length} bytes`);
  });

  it('serves a module debug file by its own build-id', async () => {
    const r = await debuginfodFind(server.url, ['debuginfo', moduleId], join(work, 'dcache-2'));
    expect(r.status).toBe(0);
    expect(readFileSync(r.stdout).equals(readFileSync(moduleDebug))).toBe(true);
  });

  it('debuginfod-find source <build-id> /abs/path returns the extracted source file', async () => {
    const r = await debuginfodFind(server.url, ['source', vmlinuxId, SRC_PATH], join(work, 'dcache-3'));
    expect(r.status).toBe(0);
    expect(readFileSync(r.stdout, 'utf8')).toBe(readFileSync(join(srcDir, 'hello.c'), 'utf8'));
  });

  it('serves executable for an unstripped ELF, 404 for a split .debug', async () => {
    const r = await debuginfodFind(server.url, ['executable', vmlinuxId], join(work, 'dcache-4'));
    expect(r.status).toBe(0);
    expect(readFileSync(r.stdout).equals(readFileSync(vmlinux))).toBe(true);
    const m = await debuginfodFind(server.url, ['executable', moduleId], join(work, 'dcache-5'));
    expect(m.status).not.toBe(0);
  });

  it('debuginfod-find section returns one section', async () => {
    const r = await debuginfodFind(server.url, ['section', vmlinuxId, '.debug_info'], join(work, 'dcache-6'));
    expect(r.status).toBe(0);
    const dump = join(work, 'debug_info.bin');
    execFileSync('objcopy', ['--dump-section', `.debug_info=${dump}`, vmlinux, join(work, 'objcopy-out')]);
    expect(readFileSync(r.stdout).equals(readFileSync(dump))).toBe(true);
  });

  it('gdb fetches the debuginfo and the source file from kdbg serve', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: server.url, DEBUGINFOD_CACHE_PATH: join(work, 'gdb-cache'), HOME: work };
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'gdb',
        ['-q', '-batch', '-nx', '-iex', 'set debuginfod enabled on', '-ex', 'info line kdbg_serve_fixture', '-ex', 'list kdbg_serve_fixture', stripped],
        { env, cwd: '/', encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout + stderr)),
      ),
    );
    expect(out).toContain(`Line 1 of "${SRC_PATH}"`);
    // gdb 13 names the size when the progress callback has seen Content-Length
    // ("Downloading 101.00 B source file …") and leaves it out when it has not: timing decides.
    expect(out).toMatch(new RegExp(`Downloading (\\S+ \\S+ )?source file ${SRC_PATH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    // The listed line is the file's first line, as gdb printed it from kdbg serve's answer.
    expect(out).toContain(`1\t${readFileSync(join(srcDir, 'hello.c'), 'utf8').split('\n')[0]}`);
  });

  it('an elfutils debuginfod federating to kdbg serve relays the vmlinux', async () => {
    // A fleet's existing debuginfod with kdbg serve as its upstream (DEBUGINFOD_URLS of the server).
    const fed = await startDebuginfod([], [], (t) => metricValue(t, 'ready') === 1, 30_000, { DEBUGINFOD_URLS: server.url });
    try {
      const before = server.metrics.requestCount('debuginfo', 200);
      const dest = join(work, 'federated-vmlinux');
      const r = await fetchDebuginfo(vmlinuxId, { urls: [fed.url], destFile: dest });
      expect(r?.buildId).toBe(vmlinuxId);
      expect(readFileSync(dest).equals(readFileSync(vmlinux))).toBe(true);
      expect(server.metrics.requestCount('debuginfo', 200)).toBe(before + 1);
    } finally {
      await fed.stop();
    }
  });

  it('an unknown build-id fails in debuginfod-find (404)', async () => {
    const r = await debuginfodFind(server.url, ['debuginfo', 'ab'.repeat(20)], join(work, 'dcache-7'));
    expect(r.status).not.toBe(0);
  });
});

describe('kdbg serve HTTP behaviour', () => {
  it('sets X-DEBUGINFOD-* headers; HEAD has them and no body', async () => {
    const size = readFileSync(vmlinux).length;
    const h = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'HEAD');
    expect(h.status).toBe(200);
    expect(h.headers['x-debuginfod-size']).toBe(String(size));
    expect(h.headers['x-debuginfod-file']).toBe('vmlinux');
    expect(h.headers['content-length']).toBe(String(size));
    expect(h.headers['accept-ranges']).toBe('bytes');
    expect(h.body.length).toBe(0);
  });

  it('answers single Ranges with 206, suffix ranges, and 416 past the end', async () => {
    const bytes = readFileSync(vmlinux);
    const a = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'GET', { range: 'bytes=0-3' });
    expect(a.status).toBe(206);
    expect(a.body.equals(bytes.subarray(0, 4))).toBe(true);
    expect(a.headers['content-range']).toBe(`bytes 0-3/${bytes.length}`);
    const b = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'GET', { range: 'bytes=-100' });
    expect(b.status).toBe(206);
    expect(b.body.equals(bytes.subarray(bytes.length - 100))).toBe(true);
    const c = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'GET', { range: `bytes=${bytes.length}-` });
    expect(c.status).toBe(416);
    expect(c.headers['content-range']).toBe(`bytes */${bytes.length}`);
    // If-Range with a stale validator: the whole file, 200.
    const d = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'GET', { range: 'bytes=10-', 'if-range': '"stale"' });
    expect(d.status).toBe(200);
    expect(d.body.equals(bytes)).toBe(true);
  });

  it('refuses source path escapes: .., encoded .., symlinks out of the tree', async () => {
    const base = `/buildid/${vmlinuxId}/source`;
    expect((await raw(server.url, `${base}/../../entry.json`)).status).toBe(403);
    expect((await raw(server.url, `${base}/%2e%2e/%2e%2e/%2e%2e/secret.txt`)).status).toBe(403);
    expect((await raw(server.url, `${base}/usr/..%2f..%2f..%2f..%2f..%2fentry.json`)).status).toBe(403);
    const link = await raw(server.url, `${base}/usr/src/debug/kdbg-test/passwd-link.c`);
    expect(link.status).toBe(403);
    expect(link.body.toString()).not.toContain('root:');
    expect((await raw(server.url, `${base}/usr/src/debug/kdbg-test/missing.c`)).status).toBe(404);
    expect((await raw(server.url, `${base}/usr/src/debug/kdbg-test`)).status).toBe(404);
    // Percent-decoding works for legitimate names.
    const sp = await raw(server.url, `${base}/usr/src/debug/kdbg-test/with%20space%2Bplus.h`);
    expect(sp.status).toBe(200);
    expect(sp.body.toString()).toBe('/* spaces */\n');
  });

  it('maps debugedit paths (/usr/src/debug/<pkg>/<tree>/…) onto a source/ that is the kernel tree', async () => {
    const r = await raw(server.url, `/buildid/${vmlinuxId}/source/usr/src/debug/kernel-3.10.0-327.el7/linux-3.10.0-327.el7.x86_64/mm/rhel-style.c`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('/* mm */\n');
    expect((await raw(server.url, `/buildid/${vmlinuxId}/source/usr/src/debug/kernel-3.10.0-327.el7/linux-3.10.0-327.el7.x86_64/../../../../../secret.txt`)).status).toBe(403);
  });

  it('is read-only, 404s unknown and malformed build-ids', async () => {
    const p = await raw(server.url, `/buildid/${vmlinuxId}/debuginfo`, 'PUT');
    expect(p.status).toBe(405);
    expect(p.headers['allow']).toBe('GET, HEAD');
    expect((await raw(server.url, `/buildid/${'cd'.repeat(20)}/debuginfo`)).status).toBe(404);
    expect((await raw(server.url, '/buildid/not-hex/debuginfo')).status).toBe(404);
    expect((await raw(server.url, `/buildid/${vmlinuxId}/debuginfo/extra`)).status).toBe(404);
  });

  it('finds entries without the buildid/ index (scan of releases/*/entry.json)', async () => {
    rmSync(join(cacheDir, 'buildid', vmlinuxId));
    const fresh = await startServe({ cacheDir, host: '127.0.0.1', port: 0 });
    try {
      const r = await raw(fresh.url, `/buildid/${vmlinuxId}/debuginfo`);
      expect(r.status).toBe(200);
      expect(r.body.equals(readFileSync(vmlinux))).toBe(true);
    } finally {
      await fresh.close();
      writeFileSync(join(cacheDir, 'buildid', vmlinuxId), `${RELEASE}\n`);
    }
  });

  it('counts requests by type and status, and bytes served, in /metrics', async () => {
    const m = await raw(server.url, '/metrics');
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
    const text = m.body.toString();
    const n = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 'NaN');
    expect(n(/^kdbg_serve_requests_total\{type="debuginfo",status="200"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
    expect(n(/^kdbg_serve_requests_total\{type="source",status="403"\} (\d+)$/m)).toBe(5);
    expect(n(/^kdbg_serve_requests_total\{type="executable",status="404"\} (\d+)$/m)).toBe(1);
    expect(n(/^kdbg_serve_bytes_served_total\{type="debuginfo"\} (\d+)$/m)).toBe(server.metrics.bytesServed('debuginfo'));
    expect(server.metrics.bytesServed('debuginfo')).toBeGreaterThanOrEqual(2 * readFileSync(vmlinux).length);
    expect(text).toMatch(/^kdbg_serve_cache_entries 1$/m);
  });

  it('listens on IPv6 loopback ([::1]) too', async () => {
    const v6 = await startServe({ cacheDir, host: '::1', port: 0 });
    try {
      expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      const dest = join(work, 'v6-vmlinux');
      const r = await fetchDebuginfo(vmlinuxId, { urls: [v6.url], destFile: dest });
      expect(r?.buildId).toBe(vmlinuxId);
    } finally {
      await v6.close();
    }
  });

  it("kdbg's own debuginfod client fetches the vmlinux from kdbg serve, build-id verified", async () => {
    const dest = join(work, 'client-vmlinux');
    const r = await fetchDebuginfo(vmlinuxId, { urls: [server.url], destFile: dest });
    expect(r?.buildId).toBe(vmlinuxId);
    expect(readFileSync(dest).equals(readFileSync(vmlinux))).toBe(true);
  });
});

describe('serve helpers', () => {
  it('lists source candidates: as is, then without /usr/src/debug/<pkg>/<tree>', () => {
    expect(sourceCandidates('/usr/src/debug/kernel-3.10.0/linux-3.10.0.x86_64/mm/slab.c')).toEqual([
      '/usr/src/debug/kernel-3.10.0/linux-3.10.0.x86_64/mm/slab.c',
      '/mm/slab.c',
      '/linux-3.10.0.x86_64/mm/slab.c',
      '/kernel-3.10.0/linux-3.10.0.x86_64/mm/slab.c',
    ]);
    expect(sourceCandidates('/build/linux-abc/mm/slab.c')).toEqual(['/build/linux-abc/mm/slab.c']);
  });
  it('parses --listen forms', () => {
    expect(parseListen('127.0.0.1:8002')).toEqual({ host: '127.0.0.1', port: 8002 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListen('8002')).toEqual({ host: '127.0.0.1', port: 8002 });
    expect(() => parseListen('::1:80')).toThrow(/HOST:PORT/);
    expect(() => parseListen('host:99999')).toThrow(/port/);
  });
  it('parses single byte ranges', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-200', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
  });
});

describe('kdbg serve and the cache policy', () => {
  it('a hit renews the entry\'s last-use stamp, so prune does not evict what the fleet reads', async () => {
    const stamp = join(cacheDir, 'used', RELEASE);
    mkdirSync(join(cacheDir, 'used'), { recursive: true });
    writeFileSync(stamp, '');
    const old = new Date(Date.now() - 10 * 86_400_000);
    utimesSync(stamp, old, old);
    // Its own server: a hit touches an entry at most once a minute per server.
    const s = await startServe({ cacheDir, host: '127.0.0.1', port: 0 });
    try {
      const r = await raw(s.url, `/buildid/${vmlinuxId}/debuginfo`);
      expect(r.status).toBe(200);
      const t0 = Date.now();
      while (statSync(stamp).mtimeMs < Date.now() - 60_000 && Date.now() - t0 < 5_000) await new Promise((ok) => setTimeout(ok, 20));
      expect(Date.now() - statSync(stamp).mtimeMs).toBeLessThan(60_000);
    } finally {
      await s.close();
    }
  });
});
