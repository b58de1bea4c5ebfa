#!/usr/bin/env node
// A tiny static HTTP server for the demo and benchmarks: serves DIR on 127.0.0.1 the way a
// mirror does (GET, HEAD, single byte ranges, ETag, Last-Modified) and prints its base URL on
// stdout once listening. Usage: node scripts/serve-dir.mjs DIR [--port N] [--rate BYTES_PER_SEC]
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize, resolve } from 'node:path';

const args = process.argv.slice(2);
const root = resolve(args.find((a, i) => !a.startsWith('--') && !['--port', '--rate'].includes(args[i - 1] ?? '')) ?? '.');
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const port = opt('--port') ?? 0;
const rate = opt('--rate');

const server = createServer(async (req, res) => {
  try {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(root, normalize(path).replace(/^(\.\.(\/|$))+/, ''));
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!file.startsWith(root) || !st || !st.isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = { etag, 'last-modified': st.mtime.toUTCString(), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (m && (!ifRange || ifRange === etag || ifRange === headers['last-modified'])) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
    }
    headers['content-length'] = st.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    const began = Date.now();
    let sent = 0;
    for await (const chunk of createReadStream(file, { start, end, highWaterMark: 64 * 1024 })) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      sent += chunk.length;
      if (rate) {
        const due = (sent / rate) * 1000 - (Date.now() - began);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
