import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { undiciFetcher } from '../../src/download/http.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

describe('undiciFetcher against a loopback mirror', () => {
  let server: MirrorServer;
  const root = mkdtempSync(join(tmpdir(), 'kdbg-http-'));
  beforeAll(async () => {
    writeFileSync(join(root, 'hello.txt'), 'hello mirror\n');
    server = await startMirrorServer(root);
  });
  afterAll(() => server.close());

  it('GETs a body and HEADs its size', async () => {
    const res = await undiciFetcher.get(`${server.url}/hello.txt`);
    expect(res.status).toBe(200);
    const chunks: Uint8Array[] = [];
    for await (const c of res.body) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('hello mirror\n');
    const head = await undiciFetcher.head(`${server.url}/hello.txt`);
    expect(head.headers['content-length']).toBe('13');
  });

  it('returns 404 as a status, not an exception', async () => {
    const res = await undiciFetcher.head(`${server.url}/missing.rpm`);
    expect(res.status).toBe(404);
  });

  it('serves a Range as 206 with Content-Range', async () => {
    const res = await undiciFetcher.get(`${server.url}/hello.txt`, { headers: { range: 'bytes=6-' } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 6-12/13');
    const chunks: Uint8Array[] = [];
    for await (const c of res.body) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('mirror\n');
  });
});
