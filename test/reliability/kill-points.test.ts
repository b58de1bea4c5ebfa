// SIGKILL at ten points of a real `kdbg fetch` (issue 18, item 2): while the index is read,
// early, middle and late in the download, as the last bytes arrive, while the payload is being
// decoded and written, and between the write and the publish. After each, a rerun succeeds with
// the right vmlinux, fetches no more than one segment (64 KiB) beyond what the killed run had not
// kept, and leaves no lock or staging directory behind; the dead run's lock is taken over.
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, startKdbg, tmpDir } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const rpm = readRpmManifest();
const el7 = rpm.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const el7Path = `/7/x86_64/${el7.file.split('/').pop()}`;
const SEGMENT = 64 << 10;

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting for the kill point');
    await sleep(5);
  }
}
const sent = (): number => server.requests.filter((q) => q.method === 'GET' && q.path === el7Path).reduce((n, q) => n + q.bytesSent, 0);

interface KillPoint {
  name: string;
  /** Resolves when the fetch has reached the point. */
  reach: () => Promise<void>;
}

const at = (fraction: number, extraMs = 0): (() => Promise<void>) => async () => {
  await waitFor(() => sent() >= Math.floor(el7.size * fraction), 30_000);
  if (extraMs) await sleep(extraMs);
};

const POINTS: KillPoint[] = [
  { name: 'while the primary index is read', reach: async () => waitFor(() => server.requests.some((q) => /primary\.xml/.test(q.path)), 30_000) },
  { name: 'at the first body bytes', reach: at(0.01) },
  { name: 'early in the download (20 %)', reach: at(0.2) },
  { name: 'in the middle (50 %)', reach: at(0.5) },
  { name: 'late (80 %)', reach: at(0.8) },
  { name: 'late (95 %)', reach: at(0.95) },
  { name: 'as the last byte arrives', reach: at(1) },
  { name: 'while the payload is decoded and written (+30 ms)', reach: at(1, 30) },
  { name: 'between write and publish (+120 ms)', reach: at(1, 120) },
  { name: 'around the publish (+250 ms)', reach: at(1, 250) },
];

describe('SIGKILL at ten points of a fetch', () => {
  it.each(POINTS.map((p) => [p.name, p] as const))('%s: the rerun succeeds and fetches at most one segment beyond what was lost', async (_name, point) => {
    const cache = tmpDir('kdbg-kill-');
    const args = ['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--keep-packages'];
    server.requests.length = 0;
    // 4.4 MB at 1 MB/s: every point is reachable in time, and the index is slowed to be caught.
    server.setRateLimit(1_000_000);
    server.setFault((p) => (/primary\.xml/.test(p) ? { delayMs: 300 } : undefined));
    const { child, done } = startKdbg(args);
    await point.reach();
    child.kill('SIGKILL');
    const killed = await done;
    server.setFault(null);
    server.setRateLimit(null);
    const kept = existsSync(join(cache, 'partial', `${el7.sha256}.part`)) ? statSync(join(cache, 'partial', `${el7.sha256}.part`)).size : 0;
    const publishedBefore = existsSync(join(cache, 'releases', el7.uname, 'entry.json'));

    server.requests.length = 0;
    const r = await runKdbg([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string };
    expect(createHash('sha256').update(readFileSync(j.vmlinux)).digest('hex')).toBe(el7.vmlinuxSha256);
    const refetched = sent();
    // A killed run that had published needs nothing; otherwise what was not kept, plus one segment.
    if (killed.signal === 'SIGKILL' && !publishedBefore) {
      const storedBefore = kept === 0 && refetched === 0;
      // (What the rerun asked, should this ever fail: one CI run saw a whole refetch here.)
      const why = `kept ${kept}, rerun requests ${JSON.stringify(server.requests.filter((q) => q.path === el7Path).map((q) => [q.range, q.status, q.bytesSent]))}, stderr ${r.stderr.slice(0, 400)}`;
      if (!storedBefore) expect(refetched, why).toBeLessThanOrEqual(el7.size - kept + SEGMENT);
    } else expect(refetched).toBe(0);
    for (const d of ['locks', 'tmp', 'partial']) expect(readdirSync(join(cache, d)), `${d}/ after the rerun`).toEqual([]);
    console.log(`kill-points: ${point.name}: kept ${kept} of ${el7.size} bytes, rerun fetched ${refetched}`);
  }, 90_000);
  // The window between storing the package and removing its validators: a kill there leaves the
  // stored package and the sidecar of the finished download. (Before, the sidecar went first, and
  // a kill there left a complete .part without it, which the next run truncated and fetched again:
  // seen once at the +30 ms point.) The state is made from a real run: the sidecar a killed run
  // wrote, put back beside the package a finished run stored.
  it('killed between storing the package and removing its sidecar: the rerun fetches nothing and removes the sidecar', async () => {
    const cache = tmpDir('kdbg-kill-');
    const args = ['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--keep-packages'];
    server.requests.length = 0;
    server.setRateLimit(1_000_000);
    const { child, done } = startKdbg(args);
    await at(0.5)();
    child.kill('SIGKILL');
    await done;
    server.setRateLimit(null);
    const sidecar = join(cache, 'partial', `${el7.sha256}.json`);
    const validators = readFileSync(sidecar);
    expect(JSON.parse(validators.toString()) as { sha256: string }).toMatchObject({ sha256: el7.sha256 });
    expect((await runKdbg(args)).code).toBe(0);
    expect(readdirSync(join(cache, 'partial'))).toEqual([]);
    // The kill window: package stored, its sidecar still there; the release entry not yet published.
    writeFileSync(sidecar, validators);
    rmSync(join(cache, 'releases'), { recursive: true, force: true });
    server.requests.length = 0;
    const r = await runKdbg([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(sent()).toBe(0);
    expect(createHash('sha256').update(readFileSync((JSON.parse(r.stdout) as { vmlinux: string }).vmlinux)).digest('hex')).toBe(el7.vmlinuxSha256);
    expect(readdirSync(join(cache, 'partial')), 'partial/ after the rerun').toEqual([]);
  }, 90_000);
});
