#!/usr/bin/env node
// Loopback static file server for the benchmark: GET/HEAD, single `bytes=` Range requests,
// ETag/Last-Modified, and a bandwidth limit applied PER CONNECTION (a token bucket per socket),
// like a public mirror that caps each TCP stream. Counts body bytes sent (the "bytes downloaded"
// column) and exposes them at /__stats (GET) and resets them at /__reset; /__rate?bps=N changes
// the per-connection limit.
//
//   node scripts/bench/serve.mjs ROOT [--rate BYTES_PER_SECOND] [--tls PKI_DIR]
//     → prints "http://127.0.0.1:PORT" on stdout; with --tls also, on a second line,
//       "https://127.0.0.1:PORT2": the same files over TLS that demands a client certificate, as
//       Red Hat's CDN does (PKI_DIR: scripts/fixtures/74-entitled-cdn.sh's pki/), same counters.
//
// Plain JS on purpose: the bench must not depend on vitest or the TypeScript build.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';

const root = process.argv[2];
if (!root) {
  console.error('usage: serve.mjs ROOT [--rate BYTES_PER_SECOND]');
  process.exit(64);
}
const rateArg = process.argv.indexOf('--rate');
let rate = rateArg > 0 ? Number(process.argv[rateArg + 1]) : 40e6;

const stats = { requests: 0, rangeRequests: 0, bytes: 0, connections: 0 };
/** Per-socket pacing state: bytes sent on this connection since it opened, and when it opened. */
const pace = new WeakMap();

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function sendPaced(res, file, start, end) {
  const sock = res.socket;
  let p = pace.get(sock);
  if (!p) {
    p = { t0: performance.now(), sent: 0 };
    pace.set(sock, p);
  }
  // Idle time on a keep-alive connection does not bank credit.
  const now = performance.now();
  const due = p.t0 + (p.sent / rate) * 1000;
  if (due < now) {
    p.t0 = now;
    p.sent = 0;
  }
  const stream = createReadStream(file, { start, end: end - 1, highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream) {
      if (res.destroyed) break;
      p.sent += chunk.length;
      const wait = p.t0 + (p.sent / rate) * 1000 - performance.now();
      if (wait > 1) await sleep(wait);
      stats.bytes += chunk.length;
      if (!res.write(chunk)) {
        await new Promise((r) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            r();
          };
          res.on('drain', done).on('close', done);
        });
      }
    }
  } finally {
    stream.destroy();
  }
  res.end();
}

const handler = async (req, res) => {
  try {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/__stats') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    if (path === '/__rate') {
      // /__rate?bps=N: the per-connection limit from now on (a slow-mirror scenario in the same run).
      const bps = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bps'));
      if (!(bps > 0)) return void res.writeHead(400).end('bps must be > 0');
      rate = bps;
      return void res.writeHead(204).end();
    }
    if (path === '/__reset') {
      Object.assign(stats, { requests: 0, rangeRequests: 0, bytes: 0, connections: 0 });
      return void res.writeHead(204).end();
    }
    stats.requests++;
    const rel = normalize(path).replace(/^(\.\.(\/|$))+/, '');
    const file = join(root, rel);
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!file.startsWith(root) || !st || !st.isFile()) return void res.writeHead(404).end();
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = { 'accept-ranges': 'bytes', etag, 'last-modified': st.mtime.toUTCString(), 'content-type': 'application/octet-stream' };
    let start = 0;
    let end = st.size;
    let status = 200;
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && (m[1] || m[2])) {
      stats.rangeRequests++;
      if (m[1]) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]) + 1, st.size) : st.size;
      } else {
        start = Math.max(0, st.size - Number(m[2]));
      }
      if (start >= st.size || start >= end) return void res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
      status = 206;
      headers['content-range'] = `bytes ${start}-${end - 1}/${st.size}`;
    }
    headers['content-length'] = String(end - start);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    await sendPaced(res, file, start, end);
  } catch {
    res.destroy();
  }
};
const server = createServer(handler);
server.on('connection', () => stats.connections++);
server.keepAliveTimeout = 10_000;
const tlsArg = process.argv.indexOf('--tls');
let tlsServer = null;
if (tlsArg > 0) {
  const pki = process.argv[tlsArg + 1];
  const pem = (n) => readFileSync(join(pki, n));
  tlsServer = createTlsServer({ cert: pem('cdn-server.pem'), key: pem('cdn-server-key.pem'), ca: pem('candlepin-ca.pem'), requestCert: true, rejectUnauthorized: true }, handler);
  tlsServer.on('secureConnection', () => stats.connections++);
  tlsServer.keepAliveTimeout = 10_000;
}
server.listen(0, '127.0.0.1', () => {
  if (!tlsServer) return void console.log(`http://127.0.0.1:${server.address().port}`);
  tlsServer.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}\nhttps://127.0.0.1:${tlsServer.address().port}`));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
