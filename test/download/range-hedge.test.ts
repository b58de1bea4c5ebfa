// Hedged range reads (download/range-reader.ts): a read that runs far behind the pace of the
// reads before it gets a second request for the same bytes, and the first to finish is used. The
// host's Debian archive served most 6 MB block ranges in 10-30 ms and some in 500-600 ms; a
// straggler among the reads that locate the vmlinux delayed the whole fetch. Real server on
// 127.0.0.1, its faults per request: a late response head, a stalled body, a failing hedge.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpRangeReader } from '../../src/download/range-reader.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const SIZE = 16 << 20;
const MB = 1 << 20;
let dir: string;
let file: Buffer;
let server: MirrorServer;
let url: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdbg-hedge-'));
  file = randomBytes(SIZE);
  writeFileSync(join(dir, 'pkg.deb'), file);
  server = await startMirrorServer(dir);
  url = `${server.url}/pkg.deb`;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.setFault(null);
  server.requests.length = 0;
});

const rangeOf = (start: number, len: number): string => `bytes=${start}-${start + len - 1}`;
/** A reader whose pace is set by `n` reads of 1 MiB at full speed. */
async function pacedReader(n = 3): Promise<HttpRangeReader> {
  const r = new HttpRangeReader(url, { size: SIZE });
  for (let i = 0; i < n; i++) expect(Buffer.from(await r.fetchRange(i * MB, (i + 1) * MB)).equals(file.subarray(i * MB, (i + 1) * MB))).toBe(true);
  server.requests.length = 0;
  return r;
}

describe('hedged range reads', () => {
  it('reads at a normal pace send one request each', async () => {
    const r = await pacedReader(2);
    for (let i = 2; i < 12; i++) await r.fetchRange(i * MB, (i + 1) * MB);
    expect(r.hedges).toBe(0);
    expect(server.requests).toHaveLength(10);
  });

  it('a response head 3 s late: a second request at the pace-derived deadline serves the read', async () => {
    const r = await pacedReader();
    const range = rangeOf(8 * MB, 2 * MB);
    let asked = 0;
    server.setFault((_p, _n, req) => (req.headers.range === range && asked++ === 0 ? { delayMs: 3000 } : undefined));
    const t0 = Date.now();
    const got = await r.fetchRange(8 * MB, 10 * MB);
    const ms = Date.now() - t0;
    expect(Buffer.from(got).equals(file.subarray(8 * MB, 10 * MB))).toBe(true);
    expect(ms).toBeLessThan(2000);
    expect(ms).toBeGreaterThanOrEqual(200); // never sooner than HEDGE_MIN_MS
    expect([r.hedges, r.hedgesWon]).toEqual([1, 1]);
    expect(server.requests.filter((q) => q.range === range)).toHaveLength(2);
  });

  it('a body stalled half-way into the caller\'s buffer: the hedge wins, the buffer holds exactly the file, and the called-off request writes nothing more', async () => {
    const r = await pacedReader();
    const range = rangeOf(4 * MB, 4 * MB);
    let asked = 0;
    server.setFault((_p, _n, req) => (req.headers.range === range && asked++ === 0 ? { stallAfterBytes: 1 * MB, stallMs: 2500 } : undefined));
    const dest = new Uint8Array(4 * MB);
    const n = await r.readInto(4 * MB, dest);
    expect(n).toBe(4 * MB);
    expect(Buffer.from(dest).equals(file.subarray(4 * MB, 8 * MB))).toBe(true);
    expect(r.hedgesWon).toBe(1);
    dest.fill(0);
    await new Promise((res) => setTimeout(res, 2800)); // past the stall: the first request would send the rest now
    expect(dest.every((b) => b === 0)).toBe(true);
  });

  it('the hedge failing does not fail the read: the late first request finishes it', async () => {
    const r = await pacedReader();
    const range = rangeOf(12 * MB, MB);
    let asked = 0;
    server.setFault((_p, _n, req) => {
      if (req.headers.range !== range) return undefined;
      return asked++ === 0 ? { delayMs: 700 } : { status: 404 };
    });
    const got = await r.fetchRange(12 * MB, 13 * MB);
    expect(Buffer.from(got).equals(file.subarray(12 * MB, 13 * MB))).toBe(true);
    expect([r.hedges, r.hedgesWon]).toEqual([1, 0]);
  });

  it('the caller\'s abort stops both requests', async () => {
    const ac = new AbortController();
    const reader = new HttpRangeReader(url, { size: SIZE, signal: ac.signal, hedgeFirstMs: 100 });
    server.setFault(() => ({ delayMs: 2000 }));
    setTimeout(() => ac.abort(new Error('stop')), 400);
    const t0 = Date.now();
    await expect(reader.fetchRange(0, MB)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(reader.hedges).toBe(1);
  });

  it('hedgeFirstMs 0 never hedges', async () => {
    const reader = new HttpRangeReader(url, { size: SIZE, hedgeFirstMs: 0 });
    server.setFault(() => ({ delayMs: 1200 }));
    expect(Buffer.from(await reader.fetchRange(0, MB)).equals(file.subarray(0, MB))).toBe(true);
    expect(reader.hedges).toBe(0);
    expect(server.requests).toHaveLength(1);
  });
});
