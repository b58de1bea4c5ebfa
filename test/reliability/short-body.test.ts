// Bytes that arrive before a connection breaks are kept (design/faults-found.md, "fell short"
// 4): a server that sends 64 KiB of a package and then closes the connection cleanly. Before
// download/body.ts the run said "connection lost after 0 bytes" and kept nothing; the next run
// then fetched the package from byte 0.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, tmpDir } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const rpm = readRpmManifest();
const el7 = rpm.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const path = `/7/x86_64/${el7.file.split('/').pop()}`;
let server: MirrorServer;
beforeAll(async () => {
  server = await startMirrorServer(join(rpmManifestPath, '..', rpm.mirrorBase));
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

it('keeps the 64 KiB that came before a clean close, says so, and the next run resumes from there', async () => {
  const cache = tmpDir('kdbg-short-');
  const config = loopbackOnlyConfig();
  const args = ['fetch', '3.10.0-327.el7', '--vmlinux-only', '--keep-packages', '--mirror', server.url, '--cache-dir', cache, '--config', config];
  let gets = 0;
  // The first GET stops after 64 KiB; the mirror then has nothing (404), so the run ends there.
  server.setFault((p, _n, req) => (p === path && req.method === 'GET' ? (++gets === 1 ? { endAfterBytes: 65536 } : { status: 404 }) : undefined));
  const r = await runKdbg(args);
  server.setFault(null);
  expect(r.code).toBe(69);
  expect(r.stderr).toContain('connection lost after 65536 bytes');
  const part = join(cache, 'partial', `${el7.sha256}.part`);
  expect(existsSync(part) ? statSync(part).size : 0).toBe(65536);
  server.requests.length = 0;
  const again = await runKdbg([...args, '--json']);
  expect(again.code, again.stderr).toBe(0);
  const gets2 = server.requests.filter((q) => q.method === 'GET' && q.path === path);
  expect(gets2.map((q) => q.range)).toEqual(['bytes=65536-']);
  expect(gets2[0]!.bytesSent).toBe(el7.size - 65536);
});
