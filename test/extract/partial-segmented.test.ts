// Segmented multi-connection / multi-mirror download (download/segmented.ts), used for
// single-stream payloads: the bytes come out in order and identical, connections run in parallel,
// a failing mirror is left for the others, and a server without Range support yields null.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSegmentedDownload } from '../../src/download/segmented.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

let dir: string;
let a: MirrorServer;
let b: MirrorServer;
const body = randomBytes(3_000_000 + 123);
const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdbg-seg-'));
  mkdirSync(join(dir, 'p'), { recursive: true });
  writeFileSync(join(dir, 'p', 'pkg.rpm'), body);
  a = await startMirrorServer(dir);
  b = await startMirrorServer(dir);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  a.setFault(null);
  b.setFault(null);
});

async function collect(urls: string[], opts: Parameters<typeof openSegmentedDownload>[2]) {
  const d = await openSegmentedDownload(urls, body.length, opts);
  if (!d) return null;
  const parts: Uint8Array[] = [];
  for await (const c of d.chunks) parts.push(c);
  return { data: Buffer.concat(parts), received: d.bytesReceived() };
}

describe('segmented download', () => {
  it('yields the file in order, identical, in ceil(size/segment) Range requests', async () => {
    const n0 = a.requests.length;
    const r = await collect([`${a.url}/p/pkg.rpm`], { connections: 3, segmentSize: 256 * 1024 });
    expect(sha(r!.data)).toBe(sha(body));
    expect(r!.received).toBe(body.length);
    const reqs = a.requests.slice(n0);
    expect(reqs.length).toBe(Math.ceil(body.length / (256 * 1024)));
    expect(reqs.every((q) => q.status === 206)).toBe(true);
  });

  it('runs connections in parallel (a rate-limited mirror finishes faster with 4 than with 1)', async () => {
    a.setRateLimit(4_000_000);
    try {
      const t1 = performance.now();
      await collect([`${a.url}/p/pkg.rpm`], { connections: 1, segmentSize: 512 * 1024 });
      const one = performance.now() - t1;
      const t4 = performance.now();
      const r = await collect([`${a.url}/p/pkg.rpm`], { connections: 4, segmentSize: 512 * 1024 });
      const four = performance.now() - t4;
      expect(sha(r!.data)).toBe(sha(body));
      expect(four).toBeLessThan(one * 0.7);
    } finally {
      a.setRateLimit(null);
    }
  });

  it('spreads segments over mirrors and leaves a failing mirror to the others', async () => {
    b.setFault(() => ({ status: 503 }));
    const nb = b.requests.length;
    const r = await collect([`${a.url}/p/pkg.rpm`, `${b.url}/p/pkg.rpm`], { connections: 2, segmentSize: 256 * 1024 });
    expect(sha(r!.data)).toBe(sha(body));
    expect(b.requests.length).toBeGreaterThan(nb); // it was tried
    b.setFault(null);
    const na = a.requests.length;
    const nb2 = b.requests.length;
    const r2 = await collect([`${a.url}/p/pkg.rpm`, `${b.url}/p/pkg.rpm`], { connections: 2, segmentSize: 256 * 1024 });
    expect(sha(r2!.data)).toBe(sha(body));
    expect(a.requests.length - na).toBeGreaterThan(2);
    expect(b.requests.length - nb2).toBeGreaterThan(2);
  }, 60_000);

  it('returns null when the mirror ignores Range (the caller streams with one GET)', async () => {
    a.setFault(() => ({ ignoreRange: true }));
    expect(await openSegmentedDownload([`${a.url}/p/pkg.rpm`], body.length)).toBeNull();
  });
});
