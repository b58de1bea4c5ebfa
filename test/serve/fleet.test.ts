// The fleet of issue 20, item 4, with real parts only: `kdbg serve --fetch` (the CLI process)
// over an empty cache, fixture 78's repository on a 127.0.0.1 mirror, a real elfutils
// `debuginfod` federating to kdbg, a real nginx `proxy_cache` in front of kdbg (a private
// process with its own prefix and config, never the system service), and the real clients:
// `debuginfod-find` and gdb. What kdbg answered is counted from kdbg's own /metrics; what the
// mirror sent, from the mirror's request log.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetrics, freePort, metricValue, startDebuginfod, type DebuginfodProcess } from '../helpers/debuginfod.js';
import { requireFixture, rpmVerification } from '../helpers/fixtures.js';
import { isolatedServeEnv, startKdbgServe, type KdbgServe } from '../helpers/kdbg-serve.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

interface Manifest {
  uname: string;
  package: string;
  vmlinux: { buildId: string; sha256: string };
  modules: { name: string; buildId: string; sha256: string; stripped: string }[];
}

const repo = join(import.meta.dirname, '..', '..');
const manifestPath = requireFixture('buildid-mirror', 'manifest.json');
const mirrorRoot = join(manifestPath, '..');
const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
const work = mkdtempSync(join(tmpdir(), 'kdbg-fleet-'));
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let mirror: MirrorServer;
let serve: KdbgServe | undefined;
let kdbgUrl = '';
const kdbgLog = (): string => serve?.log() ?? '';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr, ms: performance.now() - t0 });
    });
  });
}

/** debuginfod-find with its own client cache (a separate analysis host). */
function debuginfodFind(server: string, what: string, id: string, host: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: server, DEBUGINFOD_CACHE_PATH: join(work, `client-${host}`), DEBUGINFOD_TIMEOUT: '120' };
  delete env['DEBUGINFOD_PROGRESS'];
  return run('debuginfod-find', [what, id], env);
}

const kdbgMetric = async (name: string): Promise<number> => metricValue((await fetchMetrics(kdbgUrl)) ?? '', name);
/**
 * kdbg counts a request once its response has been handed to the socket, which a client on a
 * loaded machine can see complete first: read the counter until it settles (at most 3 s).
 */
async function settled(read: () => Promise<number>, want: number): Promise<number> {
  let v = await read();
  for (let i = 0; i < 30 && v !== want; i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}
const kdbgAnswered = (): Promise<number> => kdbgMetric('kdbg_serve_requests_total{type="debuginfo",status="200"}').then((v) => (Number.isNaN(v) ? 0 : v));

beforeAll(async () => {
  mirror = await startMirrorServer(mirrorRoot);
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, ...rpmVerification() }));
  serve = await startKdbgServe(['--fetch', '--mirror', mirror.url, '--config', config, '--cache-dir', join(work, 'cache')], isolatedServeEnv(join(work, 'xdg')));
  kdbgUrl = serve.url;
});

afterAll(async () => {
  if (serve) expect(await serve.stop()).toBe(0);
  await mirror?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('elfutils debuginfod → kdbg serve --fetch → mirror', () => {
  let fed: DebuginfodProcess;
  beforeAll(async () => {
    fed = await startDebuginfod([], [], (t) => metricValue(t, 'ready') === 1, 30_000, { DEBUGINFOD_URLS: kdbgUrl });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it('debuginfod-find against elfutils gets the vmlinux kdbg fetched on the miss from the mirror', async () => {
    expect(mirror.requests.filter((r) => r.path === `/${m.package}`)).toHaveLength(0);
    const r = await debuginfodFind(fed.url, 'debuginfo', m.vmlinux.buildId, 'a');
    expect(r.code, r.stderr + kdbgLog()).toBe(0);
    expect(sha256File(r.stdout)).toBe(m.vmlinux.sha256);
    expect(await kdbgMetric('kdbg_serve_fetches_total')).toBe(1);
    expect(mirror.requests.filter((x) => x.path === `/${m.package}`).length).toBeGreaterThan(0);
    console.log(`cold miss through elfutils debuginfod → kdbg serve --fetch → mirror: ${r.ms.toFixed(0)} ms`);
  });
});

describe('nginx proxy_cache in front of kdbg serve', () => {
  let nginx: ChildProcess | null = null;
  let nginxUrl = '';
  const prefix = join(work, 'nginx');

  beforeAll(async () => {
    for (const d of ['logs', 'cache', 'tmp']) mkdirSync(join(prefix, d), { recursive: true });
    const port = await freePort();
    const kport = new URL(kdbgUrl).port;
    // The layout docs/hosts.md gives, on loopback ports. Responses are kept as kdbg's
    // Cache-Control says (immutable, a year); concurrent misses of one id wait for one request.
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log ${prefix}/logs/access.log;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  proxy_cache_path ${prefix}/cache levels=1:2 keys_zone=debuginfo:10m max_size=2g inactive=30d use_temp_path=off;
  log_format cache '$request_uri $upstream_cache_status $status';
  server {
    listen 127.0.0.1:${port};
    access_log ${prefix}/logs/cache.log cache;
    location /buildid/ {
      proxy_pass http://127.0.0.1:${kport};
      proxy_cache debuginfo;
      proxy_cache_key $uri;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10m;
      proxy_cache_valid 404 1m;
      proxy_read_timeout 10m;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`,
    );
    nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs', 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginxUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${nginxUrl}/buildid/${'00'.repeat(20)}/debuginfo`).then(
        (r) => r.status > 0,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nginx did not start: ${existsSync(join(prefix, 'logs', 'error.log')) ? readFileSync(join(prefix, 'logs', 'error.log'), 'utf8') : ''}`);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise<void>((r) => nginx!.once('exit', () => r()));
      nginx.kill('SIGTERM');
      await exited;
    }
  });

  it("a second host is served by nginx without reaching kdbg (kdbg's ETag and Cache-Control: immutable)", async () => {
    const mod = m.modules[0]!;
    const before = await kdbgAnswered();
    const fetchesBefore = await kdbgMetric('kdbg_serve_fetches_total');
    const a = await debuginfodFind(nginxUrl, 'debuginfo', mod.buildId, 'nginx-a');
    const why = (): string => `${a.stderr}\nkdbg:\n${kdbgLog()}\nnginx:\n${readFileSync(join(prefix, 'logs', 'cache.log'), 'utf8')}${readFileSync(join(prefix, 'logs', 'error.log'), 'utf8')}`;
    expect(a.code, why()).toBe(0);
    expect(sha256File(a.stdout)).toBe(mod.sha256);
    expect(await settled(kdbgAnswered, before + 1), why()).toBe(before + 1);
    expect(await kdbgMetric('kdbg_serve_fetches_total')).toBe(fetchesBefore + 1); // the module's release modules, on the miss

    const b = await debuginfodFind(nginxUrl, 'debuginfo', mod.buildId, 'nginx-b');
    expect(b.code, b.stderr).toBe(0);
    expect(sha256File(b.stdout)).toBe(mod.sha256);
    await new Promise((r) => setTimeout(r, 300)); // time for a request kdbg had answered to be counted
    expect(await kdbgAnswered()).toBe(before + 1); // nginx answered; kdbg saw nothing
    const head = await fetch(`${nginxUrl}/buildid/${mod.buildId}/debuginfo`, { method: 'HEAD' });
    expect(head.headers.get('x-cache-status')).toBe('HIT');
    expect(head.headers.get('cache-control')).toContain('immutable');
    expect(head.headers.get('etag')).toContain(mod.buildId);
    const log = readFileSync(join(prefix, 'logs', 'cache.log'), 'utf8');
    expect(log).toContain(`/buildid/${mod.buildId}/debuginfo MISS 200`);
    expect(log).toContain(`/buildid/${mod.buildId}/debuginfo HIT 200`);
    console.log(`nginx: first host ${a.ms.toFixed(0)} ms (miss, kdbg fetched), second host ${b.ms.toFixed(0)} ms (nginx HIT, 0 requests to kdbg)`);
  });

  it("gdb opens a stripped module and loads its debuginfo through nginx and kdbg", async () => {
    const mod = m.modules[2]!;
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: nginxUrl, DEBUGINFOD_CACHE_PATH: join(work, 'client-gdb'), HOME: work };
    delete env['DEBUGINFOD_PROGRESS'];
    const r = await run('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled on', '-ex', 'info line kdbg_module_init', join(mirrorRoot, mod.stripped)], env);
    expect(r.code, r.stderr).toBe(0);
    // Line information exists only in the .ko.debug that came through debuginfod.
    expect(r.stdout).toMatch(/Line \d+ of ".*module\.c"/);
    expect(sha256File(join(work, 'client-gdb', mod.buildId, 'debuginfo'))).toBe(mod.sha256);
  });
});

describe('kdbg serve refuses to listen beyond loopback unless told', () => {
  it('--listen 0.0.0.0 without --allow-remote: usage error, exit 64', () => {
    let code = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'serve', '--listen', '0.0.0.0:0', '--cache-dir', join(work, 'cache')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = (e as { stderr: string }).stderr;
    }
    expect(code).toBe(64);
    expect(stderr).toMatch(/--allow-remote/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
