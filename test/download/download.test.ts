// downloadPackage against a real HTTP server on 127.0.0.1 that misbehaves on purpose: 503 with
// Retry-After, a connection dropped mid-body, Range ignored, an ETag that changes, a second
// mirror taking over mid-file, a wrong checksum, nothing found anywhere.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '../../src/cache/index.js';
import { IntegrityError, NetworkError, NotFoundError } from '../../src/core/errors.js';
import type { ProgressEvent, ResolvedPackage } from '../../src/core/types.js';
import { downloadPackage, RestartError } from '../../src/download/index.js';
import { startMirrorServer, type Fault, type MirrorServer } from '../helpers/http-server.js';

const SIZE = 3 * 1024 * 1024 + 12345;
const root = mkdtempSync(join(tmpdir(), 'kdbg-dl-mirror-'));
const body = randomBytes(SIZE);
const sha = createHash('sha256').update(body).digest('hex');
const fileName = 'kernel-debuginfo-3.10.0-327.el7.x86_64.rpm';
const fastRetry = { retries: 2, minDelayMs: 10, maxDelayMs: 50 };

let a: MirrorServer;
let b: MirrorServer;
let cacheRoot: string;
let cache: Cache;

function pkg(over: Partial<ResolvedPackage> = {}): ResolvedPackage {
  return {
    role: 'vmlinux',
    name: 'kernel-debuginfo',
    fileName,
    evr: '3.10.0-327.el7',
    arch: 'x86_64',
    kind: 'rpm',
    required: true,
    urls: [`${a.url}/7/x86_64/${fileName}`],
    sha256: sha,
    size: SIZE,
    ...over,
  };
}

/**
 * The offset a resume asked for. The server counts bytes it wrote before dropping the socket;
 * the client may have received fewer of them, so the offset is at most the drop point.
 */
function resumeOffset(range: string | null, dropAfter: number): number {
  const m = /^bytes=(\d+)-$/.exec(range ?? '');
  expect(m).not.toBeNull();
  const n = Number(m![1]);
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThanOrEqual(dropAfter);
  return n;
}

/** The server's own per-path counter runs across tests; count this test's requests instead. */
function counted(fn: (n: number) => Fault | undefined): () => Fault | undefined {
  let n = 0;
  return () => fn(++n);
}

/** A consumer that hashes what it is given and counts how often it was (re)started. */
function collector(): { consume: (c: AsyncIterable<Uint8Array>, attempt: number) => Promise<string>; attempts: number[]; restarts: number } {
  const state = {
    attempts: [] as number[],
    restarts: 0,
    consume: async (chunks: AsyncIterable<Uint8Array>, attempt: number): Promise<string> => {
      state.attempts.push(attempt);
      const h = createHash('sha256');
      try {
        for await (const c of chunks) h.update(c);
      } catch (e) {
        if (e instanceof RestartError) state.restarts++;
        throw e;
      }
      return h.digest('hex');
    },
  };
  return state;
}

function storeFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(join(cacheRoot, 'packages', 'sha256'));
  return out;
}

beforeAll(async () => {
  const dir = join(root, '7', 'x86_64');
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, fileName), body);
  a = await startMirrorServer(root);
  b = await startMirrorServer(root);
});
afterAll(async () => {
  await a.close();
  await b.close();
  rmSync(root, { recursive: true, force: true });
});
beforeAllEach();
function beforeAllEach(): void {
  // A fresh cache and clean server state for every test.
  afterEach(() => {
    a.setFault(null);
    b.setFault(null);
    a.setRateLimit(null);
    b.setRateLimit(null);
    a.requests.length = 0;
    b.requests.length = 0;
    rmSync(cacheRoot, { recursive: true, force: true });
  });
}
async function freshCache(): Promise<void> {
  cacheRoot = mkdtempSync(join(tmpdir(), 'kdbg-dl-cache-'));
  cache = await openCache(cacheRoot);
}

describe('downloadPackage', () => {
  it('downloads, feeds the consumer, verifies and stores by digest', async () => {
    await freshCache();
    const c = collector();
    const events: ProgressEvent[] = [];
    const r = await downloadPackage(pkg(), { cache, consume: c.consume, onProgress: (e) => events.push(e) });
    expect(r.sha256).toBe(sha);
    expect(r.consumed).toBe(sha);
    expect(r.cached).toBe(false);
    expect(r.bytesFromNetwork).toBe(SIZE);
    expect(r.path).toBe(join(cacheRoot, 'packages', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha));
    expect(createHash('sha256').update(readFileSync(r.path)).digest('hex')).toBe(sha);
    expect(readdirSync(join(cacheRoot, 'partial'))).toEqual([]);
    expect(readdirSync(join(cacheRoot, 'locks'))).toEqual([]);
    expect(existsSync(join(cacheRoot, 'packages', 'by-name', fileName))).toBe(true);
    expect(events.some((e) => e.kind === 'download-done')).toBe(true);
    expect(a.requests.map((q) => q.status)).toEqual([200]);

    // A second request for the same digest is answered from the store: zero requests.
    a.requests.length = 0;
    const again = await downloadPackage(pkg(), { cache, consume: collector().consume });
    expect(again.cached).toBe(true);
    expect(again.consumed).toBe(sha);
    expect(a.requests).toEqual([]);
  });

  it('waits out a 503 with Retry-After, then succeeds', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { status: 503, retryAfter: '1' } : undefined)));
    const events: ProgressEvent[] = [];
    const t0 = Date.now();
    const r = await downloadPackage(pkg(), { cache, onProgress: (e) => events.push(e), retry: fastRetry });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(r.sha256).toBe(sha);
    const retry = events.find((e) => e.kind === 'retry');
    expect(retry).toMatchObject({ kind: 'retry', delayMs: 1000, reason: 'HTTP 503' });
    expect(a.requests.map((q) => q.status)).toEqual([503, 200]);
  });

  it('resumes with Range after the connection drops mid-body', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { dropAfterBytes: 1_000_000 } : undefined)));
    const c = collector();
    const r = await downloadPackage(pkg(), { cache, consume: c.consume, retry: fastRetry });
    expect(r.consumed).toBe(sha);
    expect(c.attempts).toEqual([0]); // the consumer never had to start over
    expect(a.requests).toHaveLength(2);
    const [first, second] = a.requests;
    expect(first!.bytesSent).toBe(1_000_000);
    const at = resumeOffset(second!.range, 1_000_000);
    expect(second!.status).toBe(206);
    expect(second!.bytesSent).toBe(SIZE - at);
  });

  it('restarts from byte 0 when the server ignores Range and the ETag changed (no splice)', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { dropAfterBytes: 700_000 } : { ignoreRange: true, etag: '"other"' })));
    const c = collector();
    const r = await downloadPackage(pkg(), { cache, consume: c.consume, retry: fastRetry });
    expect(r.consumed).toBe(sha);
    expect(c.attempts).toEqual([0, 1]);
    expect(c.restarts).toBe(1);
    expect(a.requests[1]!.status).toBe(200);
    expect(a.requests[1]!.bytesSent).toBe(SIZE);
  });

  it('skips the bytes it has when the server ignores Range but the strong ETag is unchanged', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { dropAfterBytes: 700_000 } : { ignoreRange: true })));
    const c = collector();
    const r = await downloadPackage(pkg(), { cache, consume: c.consume, retry: fastRetry });
    expect(r.consumed).toBe(sha);
    expect(c.attempts).toEqual([0]);
    resumeOffset(a.requests[1]!.range, 700_000);
    expect(a.requests[1]!.status).toBe(200);
    expect(r.sha256).toBe(sha);
  });

  it('starts over when the ETag changed between attempts (If-Range answered with 200)', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { dropAfterBytes: 500_000 } : { etag: '"changed-on-server"' })));
    const c = collector();
    const r = await downloadPackage(pkg(), { cache, consume: c.consume, retry: fastRetry });
    expect(r.consumed).toBe(sha);
    expect(c.attempts).toEqual([0, 1]);
    const second = a.requests[1]!;
    resumeOffset(second.range, 500_000);
    expect(second.status).toBe(200); // If-Range did not match: whole file
    expect(second.bytesSent).toBe(SIZE);
  });

  it('fails over to the next mirror mid-file and continues from the byte offset', async () => {
    await freshCache();
    a.setFault(counted((n) => (n === 1 ? { dropAfterBytes: 1_200_000 } : { status: 503 })));
    const c = collector();
    const events: ProgressEvent[] = [];
    const r = await downloadPackage(pkg({ urls: [`${a.url}/7/x86_64/${fileName}`, `${b.url}/7/x86_64/${fileName}`] }), {
      cache,
      consume: c.consume,
      retry: fastRetry,
      onProgress: (e) => events.push(e),
    });
    expect(r.consumed).toBe(sha);
    expect(c.attempts).toEqual([0]);
    expect(r.url).toBe(`${b.url}/7/x86_64/${fileName}`);
    expect(events.some((e) => e.kind === 'failover')).toBe(true);
    expect(b.requests).toHaveLength(1);
    const at = resumeOffset(b.requests[0]!.range, 1_200_000);
    expect(b.requests[0]!.status).toBe(206);
    expect(b.requests[0]!.bytesSent).toBe(SIZE - at);
  });

  it('rejects a checksum mismatch: IntegrityError, nothing stored, partial gone', async () => {
    await freshCache();
    const wrong = createHash('sha256').update('not the file').digest('hex');
    const c = collector();
    const err = await downloadPackage(pkg({ sha256: wrong }), { cache, consume: c.consume, retry: fastRetry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).exitCode).toBe(65);
    expect((err as IntegrityError).message).toContain(sha);
    expect(storeFiles()).toEqual([]);
    expect(readdirSync(join(cacheRoot, 'partial'))).toEqual([]);
    expect(existsSync(join(cacheRoot, 'packages', 'by-name', fileName))).toBe(false);
    expect(existsSync(join(cacheRoot, 'packages', 'sha256', wrong.slice(0, 2), wrong.slice(2, 4), wrong))).toBe(false);
  });

  it('rejects a size that disagrees with the index before downloading it', async () => {
    await freshCache();
    const err = await downloadPackage(pkg({ size: SIZE + 1 }), { cache, retry: fastRetry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(storeFiles()).toEqual([]);
  });

  it('reports not found (69) with every URL tried', async () => {
    await freshCache();
    const urls = [`${a.url}/7/x86_64/missing.rpm`, `${b.url}/other/missing.rpm`];
    const err = await downloadPackage(pkg({ fileName: 'missing.rpm', urls }), { cache, retry: fastRetry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).exitCode).toBe(69);
    expect((err as NotFoundError).details['tried']).toEqual(urls);
    for (const u of urls) expect((err as NotFoundError).message).toContain(u);
  });

  it('gives NetworkError (75) after retries on every mirror', async () => {
    await freshCache();
    a.setFault(() => ({ status: 500 }));
    b.setFault(() => ({ status: 502 }));
    const err = await downloadPackage(pkg({ urls: [`${a.url}/7/x86_64/${fileName}`, `${b.url}/7/x86_64/${fileName}`] }), { cache, retry: fastRetry }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).exitCode).toBe(75);
    expect(a.requests).toHaveLength(fastRetry.retries + 1);
    expect(b.requests).toHaveLength(fastRetry.retries + 1);
  });

  it('keeps a partial download across runs and resumes it with If-Range', async () => {
    await freshCache();
    a.setRateLimit(4 * 1024 * 1024);
    const ac = new AbortController();
    const first = downloadPackage(pkg(), {
      cache,
      signal: ac.signal,
      onProgress: (e) => {
        if (e.kind === 'download-progress' && e.received > 1_000_000) ac.abort(new Error('stop'));
      },
    }).catch((e: unknown) => e);
    await first;
    const partFiles = readdirSync(join(cacheRoot, 'partial'));
    expect(partFiles.sort()).toEqual([`${sha}.json`, `${sha}.part`]);
    const kept = readFileSync(join(cacheRoot, 'partial', `${sha}.part`)).length;
    expect(kept).toBeGreaterThan(1_000_000);
    const sidecar = JSON.parse(readFileSync(join(cacheRoot, 'partial', `${sha}.json`), 'utf8')) as Record<string, unknown>;
    expect(sidecar).toMatchObject({ url: pkg().urls[0], size: SIZE, sha256: sha });
    expect(typeof sidecar['etag']).toBe('string');

    a.setRateLimit(null);
    a.requests.length = 0;
    const c = collector();
    const r = await downloadPackage(pkg(), { cache, consume: c.consume });
    expect(r.consumed).toBe(sha); // bytes on disk replayed to the consumer, then the network's
    expect(r.resumedFrom).toBe(kept);
    expect(r.bytesFromNetwork).toBe(SIZE - kept);
    expect(a.requests).toHaveLength(1);
    expect(a.requests[0]!.range).toBe(`bytes=${kept}-`);
    expect(a.requests[0]!.status).toBe(206);
  });

  it('downloads once when two callers want the same package at the same time', async () => {
    await freshCache();
    a.setRateLimit(8 * 1024 * 1024);
    const [r1, r2] = await Promise.all([downloadPackage(pkg(), { cache, consume: collector().consume }), downloadPackage(pkg(), { cache, consume: collector().consume })]);
    expect(r1.consumed).toBe(sha);
    expect(r2.consumed).toBe(sha);
    expect([r1.cached, r2.cached].sort()).toEqual([false, true]);
    expect(a.requests.filter((q) => q.method === 'GET')).toHaveLength(1);
  });

  it('evicts a stored package that no longer hashes to its name, then refetches', async () => {
    await freshCache();
    const r = await downloadPackage(pkg(), { cache });
    const { chmodSync } = await import('node:fs');
    chmodSync(r.path, 0o644);
    const damaged = Buffer.from(body);
    damaged[1000] = damaged[1000]! ^ 0xff;
    writeFileSync(r.path, damaged);
    a.requests.length = 0;
    const again = await downloadPackage(pkg(), { cache, consume: collector().consume });
    expect(again.cached).toBe(false);
    expect(again.consumed).toBe(sha);
    expect(a.requests).toHaveLength(1);
  });

  it('downloads a large package over several Range connections across mirrors, in order', async () => {
    await freshCache();
    const c = collector();
    const urls = [`${a.url}/7/x86_64/${fileName}`, `${b.url}/7/x86_64/${fileName}`];
    const r = await downloadPackage(pkg({ urls }), { cache, consume: c.consume, segmented: { minSize: 1, segmentSize: 256 * 1024, connections: 3 } });
    expect(r.consumed).toBe(sha);
    expect(r.bytesFromNetwork).toBe(SIZE);
    const ranged = [...a.requests, ...b.requests].filter((q) => q.method === 'GET');
    expect(ranged.every((q) => q.range !== null && q.status === 206)).toBe(true);
    expect(ranged.reduce((n, q) => n + q.bytesSent, 0)).toBe(SIZE);
    expect(a.requests.some((q) => q.method === 'GET')).toBe(true);
    expect(b.requests.some((q) => q.method === 'GET')).toBe(true);
  });

  it('falls back to one connection and resumes when the segmented download breaks', async () => {
    await freshCache();
    // Every ranged request after the 4th fails: the segmented path dies part-way.
    a.setFault(counted((n) => (n > 4 ? { status: 500 } : undefined)));
    const events: ProgressEvent[] = [];
    const c = collector();
    const r = await downloadPackage(pkg(), {
      cache,
      consume: c.consume,
      segmented: { minSize: 1, segmentSize: 256 * 1024, connections: 1 },
      retry: fastRetry,
      onProgress: (e) => events.push(e),
    }).catch((e: unknown) => e);
    // With the only mirror failing for good this ends in NetworkError, but the prefix survives
    // and the consumer saw one uninterrupted stream (never restarted).
    expect(r).toBeInstanceOf(NetworkError);
    expect(events.some((e) => e.kind === 'warning' && e.message.includes('segmented download stopped'))).toBe(true);
    const kept = readFileSync(join(cacheRoot, 'partial', `${sha}.part`)).length;
    expect(kept).toBeGreaterThanOrEqual(256 * 1024);
    expect(c.restarts).toBe(0);

    // The next run resumes from the prefix over one connection with If-Range.
    a.setFault(null);
    a.requests.length = 0;
    const again = await downloadPackage(pkg(), { cache, consume: collector().consume, segmented: { minSize: 1 } });
    expect(again.consumed).toBe(sha);
    expect(again.resumedFrom).toBe(kept);
    expect(a.requests.filter((q) => q.method === 'GET').map((q) => q.range)).toEqual([`bytes=${kept}-`]);
  });

  it('publishes a partial that is already complete (killed after the last byte) without a request', async () => {
    await freshCache();
    writeFileSync(join(cacheRoot, 'partial', `${sha}.part`), body);
    const meta = { url: pkg().urls[0], etag: '"x"', lastModified: null, size: SIZE, bytes: SIZE, sha256: sha, fileName };
    writeFileSync(join(cacheRoot, 'partial', `${sha}.json`), JSON.stringify(meta));
    const r = await downloadPackage(pkg({ size: null }), { cache, consume: collector().consume });
    expect(r.consumed).toBe(sha);
    expect(r.resumedFrom).toBe(SIZE);
    expect(r.bytesFromNetwork).toBe(0);
    expect(a.requests).toEqual([]);
  });
});
