// The memory watch a fetch runs under (core/gc-pressure.ts, issue 19): V8's young generation held
// at its size while a worker thread starts (a new isolate puts the growth factor back), major GCs
// asked for as ArrayBuffers pile up, both undone at stop(), the fallbacks when no gc function is
// available or it throws; and a real `fetch` of the rpmbuild-made el7 fixture mirror
// (scripts/fixtures/10-rpm-mirror.sh) with the watch asking for GCs and with it off, each giving
// the vmlinux whose sha256 the fixture manifest recorded (sha256sum), not what kdbg says.
// The V8 parts run in a fresh node process each: the young generation of this test process has
// grown long before the test starts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryWatchTotals, watchMemory } from '../../src/core/gc-pressure.js';
import { fetchRelease } from '../../src/pipeline/fetch/index.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, repoRoot, tmpDir } from '../cli/fetch-cli.js';

const moduleUrl = new URL(`file://${join(repoRoot, 'dist', 'core', 'gc-pressure.js')}`).href;

/** Run `body` (an ES module's text, after the import of the built module) in a fresh node; its last stdout line is JSON. */
function inFreshNode(body: string): Record<string, number | boolean> {
  const src = `import { watchMemory, youngGenerationBytes } from ${JSON.stringify(moduleUrl)};\nimport { Worker } from 'node:worker_threads';\nconst sleep = (ms) => new Promise((r) => setTimeout(r, ms));\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', src], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | boolean>;
}

// Objects that live for a while (so V8 wants a larger young generation), in short synchronous
// bursts with the event loop turning in between, as a download's callbacks do.
const churn = `
let keep = [];
async function churn(rounds) {
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < 20000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 60000) keep = []; }
    await sleep(2);
  }
}`;

describe('watchMemory in a fresh V8', () => {
  it('holds the young generation at its size while a worker thread starts, and lets it grow again after stop()', () => {
    // From the size a kdbg fetch starts at (4-8 MB): below that V8 takes its first step up anyway.
    const r = inFreshNode(`${churn}
for (let k = 0; k < 200 && youngGenerationBytes() < 4 << 20; k++) await churn(1);
const w = watchMemory({ stepBytes: 0 });
const start = w.youngAtStart;
const worker = new Worker('setTimeout(() => {}, 300)', { eval: true });
const exited = new Promise((res) => worker.on('exit', res));
await new Promise((res) => worker.on('online', res));
await sleep(120); // the watch's next tick puts the factor back after the new isolate reset it
await churn(80);
await exited;
await churn(40);
const capped = youngGenerationBytes();
w.stop();
await churn(120);
console.log(JSON.stringify({ start, capped, after: youngGenerationBytes() }));`);
    expect(r.start).toBeGreaterThan(0);
    expect(r.capped).toBe(r.start);
    // Without the watch the same churn grows it: the watch is what held it.
    expect(r.after).toBeGreaterThan(r.capped as number);
  });

  it('asks for a major GC each time ArrayBuffers grow by the step, and none once stopped', () => {
    const r = inFreshNode(`
import { PerformanceObserver, constants } from 'node:perf_hooks';
let majors = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
const w = watchMemory({ capYoung: false, stepBytes: 2 << 20, intervalMs: 10 });
// 64 KiB buffers kept for a while, then dropped: old enough to wait for a major GC.
let ring = [];
for (let k = 0; k < 200; k++) {
  ring.push(Buffer.alloc(64 << 10, k));
  if (ring.length > 64) ring = ring.slice(32);
  await sleep(2);
}
await sleep(50);
const fired = w.fired;
const available = w.gcAvailable;
w.stop();
for (let k = 0; k < 200; k++) { ring.push(Buffer.alloc(64 << 10, k)); if (ring.length > 64) ring = ring.slice(32); await sleep(1); }
console.log(JSON.stringify({ fired, available, firedAfterStop: w.fired - fired, majors }));`);
    expect(r.available).toBe(true);
    expect(r.fired).toBeGreaterThan(0);
    expect(r.firedAfterStop).toBe(0);
    expect(r.majors).toBeGreaterThanOrEqual(r.fired as number);
  });
});

describe('watchMemory fallbacks', () => {
  it('without a gc function it asks for nothing and reports it; a gc that throws is called once', async () => {
    const grow = async (w: { stop(): void }): Promise<void> => {
      const keep: Buffer[] = [];
      for (let k = 0; k < 40; k++) {
        keep.push(Buffer.alloc(256 << 10, k));
        await new Promise((r) => setTimeout(r, 5));
      }
      w.stop();
      expect(keep.length).toBe(40);
    };
    const none = watchMemory({ capYoung: false, stepBytes: 1 << 20, intervalMs: 5, gc: null });
    await grow(none);
    expect(none.fired).toBe(0);
    expect(none.gcAvailable).toBe(false);

    let calls = 0;
    const throwing = watchMemory({
      capYoung: false,
      stepBytes: 1 << 20,
      intervalMs: 5,
      gc: () => {
        calls++;
        throw new Error('no gc here');
      },
    });
    await grow(throwing);
    expect(calls).toBe(1);
    expect(throwing.fired).toBe(1);
    expect(throwing.gcAvailable).toBe(false);
  });
});

describe('a real fetch under the memory watch', () => {
  const manifest = readRpmManifest();
  const mirrorRoot = join(rpmManifestPath, '..', manifest.mirrorBase);
  const vmPkg = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
  let server: MirrorServer;
  const config = loopbackOnlyConfig();
  beforeAll(async () => {
    server = await startMirrorServer(mirrorRoot);
  });
  afterAll(async () => {
    await server.close();
    cleanupTmp();
  });
  const fetchWith = async (extra: Record<string, string>): Promise<{ sha: string; fired: number; watches: number }> => {
    const before = memoryWatchTotals();
    const r = await fetchRelease(vmPkg.uname, { mirrors: [server.url], cacheDir: tmpDir('kdbg-memwatch-'), configFile: config, env: isolatedEnv(extra) });
    const after = memoryWatchTotals();
    return { sha: createHash('sha256').update(readFileSync(r.vmlinux)).digest('hex'), fired: after.fired - before.fired, watches: after.watches - before.watches };
  };

  it('asks for major GCs during the download (a 64 KiB step) and publishes the same vmlinux', async () => {
    const r = await fetchWith({ KDBG_GC_STEP_MB: '0.0625' });
    expect(r.watches).toBe(1);
    expect(r.fired).toBeGreaterThan(0);
    expect(r.sha).toBe(vmPkg.vmlinuxSha256);
  });

  it('with both knobs off (KDBG_GC_STEP_MB=0, KDBG_YOUNG_CAP=0) asks for none and publishes the same vmlinux', async () => {
    const r = await fetchWith({ KDBG_GC_STEP_MB: '0', KDBG_YOUNG_CAP: '0' });
    expect(r.watches).toBe(1);
    expect(r.fired).toBe(0);
    expect(r.sha).toBe(vmPkg.vmlinuxSha256);
  });
});
