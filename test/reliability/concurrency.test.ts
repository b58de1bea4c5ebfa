// Concurrency of real kdbg processes on one cache (issue 18, item 4): 8 fetches of one release
// download its package once; two releases that share the -common sources package, fetched by 4
// processes each at the same time, download each file once; `kdbg serve` stays correct and
// bounded under 200 concurrent clients and slow-header (slowloris) connections.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, startKdbg, tmpDir } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const rpm = readRpmManifest();
const el7 = rpm.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const common = rpm.packages.find((p) => p.set === 'el7' && p.role === 'source')!;
const debug = rpm.packages.find((p) => p.set === 'el7-debug' && p.role === 'vmlinux')!;
const pathOf = (f: string): string => `/${f.replace(/^mirror\//, '')}`;

let server: MirrorServer;
let config: string;
beforeAll(async () => {
  server = await startMirrorServer(join(rpmManifestPath, '..', rpm.mirrorBase));
  config = loopbackOnlyConfig();
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

const wholeGets = (p: string): number => server.requests.filter((q) => q.method === 'GET' && q.path === p && q.range === null).length;
const bytesFor = (p: string): number => server.requests.filter((q) => q.method === 'GET' && q.path === p).reduce((n, q) => n + q.bytesSent, 0);

describe('concurrent fetches on one cache', () => {
  it('8 processes fetching one release: one download, one entry, every process gets the same vmlinux', async () => {
    const cache = tmpDir('kdbg-conc8-');
    server.requests.length = 0;
    server.setRateLimit(4_000_000);
    const runs = await Promise.all(Array.from({ length: 8 }, () => runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--keep-packages', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json'])));
    server.setRateLimit(null);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const paths = new Set(runs.map((r) => (JSON.parse(r.stdout) as { vmlinux: string }).vmlinux));
    expect(paths.size).toBe(1);
    expect(createHash('sha256').update(readFileSync([...paths][0]!)).digest('hex')).toBe(el7.vmlinuxSha256);
    expect(wholeGets(pathOf(el7.file))).toBe(1);
    expect(bytesFor(pathOf(el7.file))).toBe(el7.size);
  }, 120_000);

  it('two releases sharing the -common package, 4 processes each at once: every file downloaded once', async () => {
    const cache = tmpDir('kdbg-share-');
    server.requests.length = 0;
    server.setRateLimit(4_000_000);
    const one = (rel: string): Promise<Awaited<ReturnType<typeof runKdbg>>> => runKdbg(['fetch', rel, '--keep-packages', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json']);
    const runs = await Promise.all([...Array.from({ length: 4 }, () => one('3.10.0-327.el7')), ...Array.from({ length: 4 }, () => one('3.10.0-327.el7.x86_64.debug'))]);
    server.setRateLimit(null);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    for (const p of [el7, common, debug]) {
      expect(wholeGets(pathOf(p.file)), p.file).toBe(1);
      expect(bytesFor(pathOf(p.file)), p.file).toBe(p.size);
    }
  }, 120_000);
});

describe('kdbg serve under load', () => {
  it('200 concurrent clients get byte-identical answers while 100 slowloris connections hang; the server stays under 200 MB RSS', async () => {
    const cache = tmpDir('kdbg-serve-load-');
    const f = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json']);
    expect(f.code, f.stderr).toBe(0);
    const vmlinux = (JSON.parse(f.stdout) as { vmlinux: string }).vmlinux;
    const size = statSync(vmlinux).size;
    // The real server, as a process of its own, so that its memory is measured alone.
    const { child } = startKdbg(['serve', '--listen', '127.0.0.1:0', '--json', '--cache-dir', cache]);
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) ok((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', (c) => fail(new Error(`kdbg serve exited ${c}`)));
    });
    const port = Number(new URL(url).port);
    const slow = Array.from({ length: 100 }, () => {
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      const t = setInterval(() => sock.write('X'), 1000);
      return { sock, t };
    });
    const hwm = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
    try {
      const t0 = Date.now();
      const answers = await Promise.all(
        Array.from(
          { length: 200 },
          () =>
            new Promise<{ status: number; sha: string }>((ok, fail) => {
              httpGet(`${url}/buildid/${el7.buildId!}/debuginfo`, (res) => {
                const h = createHash('sha256');
                res.on('data', (c: Buffer) => h.update(c));
                res.on('end', () => ok({ status: res.statusCode ?? 0, sha: h.digest('hex') }));
                res.on('error', fail);
              }).on('error', fail);
            }),
        ),
      );
      const ms = Date.now() - t0;
      expect(answers.every((a) => a.status === 200 && a.sha === el7.vmlinuxSha256)).toBe(true);
      const peak = hwm() / 2 ** 20;
      console.log(`serve load: 200 clients × ${size} bytes in ${ms} ms beside 100 slowloris connections; kdbg serve peak RSS ${peak.toFixed(0)} MB`);
      expect(peak).toBeLessThan(200);
      // A fresh request still gets through while the slow connections hang.
      const m = await fetch(`${url}/metrics`);
      expect(m.status).toBe(200);
    } finally {
      for (const c of slow) {
        clearInterval(c.t);
        c.sock.destroy();
      }
      child.kill('SIGTERM');
    }
  }, 180_000);
});
