// Crash safety and concurrency of `kdbg fetch`, with real processes: a fetch SIGKILLed in the
// middle of a download resumes where it stopped (Range on the next run, far less than twice the
// package served in total), and two fetches of one release at once download it once.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, startKdbg, tmpDir } from './fetch-cli.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const mirrorRoot = join(manifestPath, '..', manifest.mirrorBase);
const vmPkg = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const vmPath = `/7/x86_64/${vmPkg.file.split('/').pop()}`;
const config = loopbackOnlyConfig();

let server: MirrorServer;
beforeAll(async () => {
  server = await startMirrorServer(mirrorRoot);
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});
afterEach(() => {
  server.setRateLimit(null);
  server.requests.length = 0;
});

const waitFor = async (cond: () => boolean, timeoutMs: number): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('kdbg fetch: crash safety and concurrency', () => {
  it('resumes a download after the process was SIGKILLed mid-body', async () => {
    const cache = tmpDir('kdbg-kill-cache-');
    // ~4.5 MB at 1 MB/s: the kill lands well inside the body.
    server.setRateLimit(1_000_000);
    const { child, done } = startKdbg(['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config]);
    // The whole-package GET (no Range): the partial-fetch probe's small Range reads come first and
    // find el7's payload is a single xz block.
    const vmRecord = (): (typeof server.requests)[number] | undefined => server.requests.find((q) => q.method === 'GET' && q.path === vmPath && q.range === null);
    await waitFor(() => (vmRecord()?.bytesSent ?? 0) > 1_500_000, 20_000);
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(cache, 'releases', vmPkg.uname))).toBe(false);
    const part = join(cache, 'partial', `${vmPkg.sha256}.part`);
    expect(existsSync(part)).toBe(true);
    const kept = readFileSync(part).length;
    expect(kept).toBeGreaterThan(1_000_000);
    // The killed holder's lock is left behind; the next run must see its pid is dead.
    expect(readdirSync(join(cache, 'locks')).length).toBeGreaterThan(0);

    server.setRateLimit(null);
    const r = await runKdbg(['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json']);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const gets = server.requests.filter((q) => q.method === 'GET' && q.path === vmPath);
    const resumed = gets.find((q) => q.range !== null && /^bytes=\d+-$/.test(q.range));
    expect(resumed).toBeDefined();
    expect(resumed!.status).toBe(206);
    expect(Number(/^bytes=(\d+)-$/.exec(resumed!.range!)![1])).toBe(kept);
    const served = gets.reduce((n, q) => n + q.bytesSent, 0);
    expect(served).toBeLessThan(2 * vmPkg.size);
    const j = JSON.parse(r.stdout) as { packages: Array<{ sha256: string }> };
    expect(j.packages[0]!.sha256).toBe(vmPkg.sha256);
    expect(readdirSync(join(cache, 'partial'))).toEqual([]);
  }, 60_000);

  it('downloads once when two fetches of one release run at the same time', async () => {
    const cache = tmpDir('kdbg-conc-cache-');
    server.setRateLimit(3_000_000);
    const args = ['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--json'];
    const [a, b] = await Promise.all([runKdbg(args), runKdbg(args)]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ja = JSON.parse(a.stdout) as { vmlinux: string; cached: boolean };
    const jb = JSON.parse(b.stdout) as { vmlinux: string; cached: boolean };
    expect(ja.vmlinux).toBe(jb.vmlinux);
    expect([ja.cached, jb.cached].sort()).toEqual([false, true]);
    // One whole download; the other GETs are the partial-fetch probe's small Range reads.
    expect(server.requests.filter((q) => q.method === 'GET' && q.path === vmPath && q.range === null)).toHaveLength(1);
  }, 60_000);
});
