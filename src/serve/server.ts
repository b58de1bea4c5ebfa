// `kdbg serve`: the cache over the debuginfod HTTP API (elfutils debuginfod(8)), so gdb, drgn,
// systemd-coredump, `debuginfod-find` — and other kdbg hosts — fetch a vmlinux by build-id from
// a team's shared cache instead of downloading the same 600 MB package again.
//
//   GET|HEAD /buildid/<id>/debuginfo        the vmlinux (or a module's debug file)
//   GET|HEAD /buildid/<id>/executable       the same file when it carries loadable code, else 404
//   GET|HEAD /buildid/<id>/section/<name>   one section's bytes (404 when absent or NOBITS)
//   GET|HEAD /buildid/<id>/source/<abspath> a file of the entry's extracted sources
//   GET      /metrics                       Prometheus text
//   GET      /, /signatures, /dump/<id>     the report pages, with --reports (web/handler.ts)
//
// Read-only (GET/HEAD only; the cache is never written), streaming with back-pressure, single
// byte ranges (RFC 9110 §14; multi-range requests get the whole file, which the RFC allows),
// `X-DEBUGINFOD-FILE` / `X-DEBUGINFOD-SIZE` headers. Source paths are percent-decoded, resolved
// under the entry's source directory and then realpath-checked, so neither `..` nor a symlink in
// the sources can reach a file outside it (403).

import { createReadStream, promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { touchUsed } from '../cache/usage.js';
import { UsageError } from '../core/errors.js';
import { CacheReader, isInside, type BuildIdHit } from './cache-reader.js';
import { findSection, isExecutableElf } from './elf-file.js';
import { ServeMetrics, type RequestType } from './metrics.js';
import { missHandling, missMetrics, relay, type MissHandling, type MissOptions } from './miss-route.js';
export type { MissHandling, MissOptions } from './miss-route.js';
import type { WebHandler } from './web/handler.js';

export interface ServeOptions {
  cacheDir: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** One line per answered request (access log), when given. */
  log?: (line: string) => void;
  miss?: MissOptions;
  /** The report pages (web/handler.ts) at /, /signatures, /dump/<id>, when `--reports` is given. */
  web?: WebHandler;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  metrics: ServeMetrics;
  reader: CacheReader;
  /** Miss handling (`--fetch`, upstream servers), null when not configured. */
  miss: MissHandling | null;
  close(): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:8002`, `[::1]:8002`, `localhost:8002`, `0.0.0.0:8002` or a bare port (loopback). */
export function parseListen(spec: string): ListenAddress {
  const s = spec.trim();
  let host: string;
  let port: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(s);
  if (v6) {
    host = v6[1]!;
    port = v6[2]!;
  } else if (/^\d+$/.test(s)) {
    host = '127.0.0.1';
    port = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i <= 0 || s.indexOf(':') !== i) throw new UsageError(`--listen ${JSON.stringify(spec)}: expected HOST:PORT (e.g. 127.0.0.1:8002 or [::1]:8002)`);
    host = s.slice(0, i);
    port = s.slice(i + 1);
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) throw new UsageError(`--listen ${JSON.stringify(spec)}: port must be 0-65535`);
  return { host, port: n };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const ID_RE = /^[0-9a-f]{8,128}$/;

interface Served {
  status: number;
  bytes: number;
}

export async function startServe(opts: ServeOptions): Promise<RunningServer> {
  const reader = new CacheReader(opts.cacheDir);
  // A hit is a use: `kdbg cache prune` evicts least recently used entries, and without this the
  // entries the fleet reads most through serve looked unused. Once a minute per entry at most.
  const touched = new Map<string, number>();
  const noteUse = (hit: BuildIdHit): void => {
    const uname = basename(hit.entryDir);
    const now = Date.now();
    if (now - (touched.get(uname) ?? 0) < 60_000) return;
    touched.set(uname, now);
    void touchUsed(opts.cacheDir, uname).catch(() => undefined);
  };
  const metrics = new ServeMetrics();
  const miss = opts.miss ? missHandling(opts.miss, reader) : null;
  await reader.scan(true);
  // Module build-ids are read in the background; a lookup that needs them awaits the same walk.
  void reader.prewarm().catch(() => undefined);

  const server: Server = createServer((req, res) => {
    metrics.inFlight++;
    const began = Date.now();
    let type: RequestType = 'other';
    handle(req, res, (t) => (type = t))
      .catch(() => {
        if (!res.headersSent) plain(res, 500, 'internal error');
        else res.destroy();
        return { status: 500, bytes: 0 };
      })
      .then((r) => {
        metrics.inFlight--;
        metrics.countRequest(type, r.status);
        metrics.countBytes(type, r.bytes);
        opts.log?.(`${req.socket.remoteAddress ?? '-'} ${req.method ?? '-'} ${req.url ?? '-'} ${r.status} ${r.bytes} ${Date.now() - began}ms`);
      });
  });

  function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): Served {
    const body = `${message}\n`;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
    return { status, bytes: 0 };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, setType: (t: RequestType) => void): Promise<Served> {
    const method = req.method ?? 'GET';
    // The raw path, not a URL-parsed one: WHATWG URL parsing would fold `..` before we can judge it.
    const rawPath = (req.url ?? '/').split('?')[0]!;
    if (method !== 'GET' && method !== 'HEAD') return plain(res, 405, 'kdbg serve is read-only', { allow: 'GET, HEAD' });
    const page = opts.web ? await opts.web.handle(req, res, rawPath) : null;
    if (page) return page;
    if (rawPath === '/metrics') {
      setType('metrics');
      const body = metrics.render({ entries: reader.entryCount, ...(miss ? { miss: missMetrics(miss) } : {}) });
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return { status: 200, bytes: 0 };
    }
    const m = /^\/buildid\/([^/]+)\/(debuginfo|executable|source|section)(\/.*)?$/.exec(rawPath);
    if (!m) return plain(res, 404, 'not a debuginfod request');
    const kind = m[2] as 'debuginfo' | 'executable' | 'source' | 'section';
    setType(kind);
    const id = safeDecode(m[1]!)?.toLowerCase() ?? '';
    const rest = m[3] ?? '';
    if (!ID_RE.test(id) || id.length % 2 !== 0) return plain(res, 404, 'not a build-id');
    if ((kind === 'debuginfo' || kind === 'executable') && rest !== '') return plain(res, 404, 'not a debuginfod request');
    let hit = await reader.lookup(id);
    if (hit) metrics.hits++;
    else if (miss) {
      const m = await onMiss(miss, req, res, id, kind, rawPath);
      if ('served' in m) return m.served;
      hit = m.hit;
    }
    if (!hit) return plain(res, 404, `build-id ${id} is not in this cache`, notFoundHeaders());

    switch (kind) {
      case 'debuginfo':
        return sendFile(req, res, hit, hit.file, basename(hit.file), null);
      case 'executable': {
        // SUSE entries keep the code in the stripped image beside the debug-only vmlinux.
        const exe = hit.executable ?? hit.file;
        if (!(await isExecutableElf(exe))) return plain(res, 404, `no executable for build-id ${id} (the cache holds debug info only)`);
        return sendFile(req, res, hit, exe, basename(exe), null);
      }
      case 'section': {
        const name = safeDecode(rest.slice(1));
        if (!name || name.includes('/')) return plain(res, 404, 'bad section name');
        const sec = await findSection(hit.file, name);
        if (!sec) return plain(res, 404, `no section ${name} with contents for build-id ${id}`);
        return sendFile(req, res, hit, hit.file, `${basename(hit.file)}:${name}`, sec);
      }
      case 'source': {
        const p = safeDecode(rest);
        if (!p || !p.startsWith('/') || p.includes('\0')) return plain(res, 404, 'source path must be absolute');
        if (!hit.sourceDir && miss?.fetcher) {
          // The vmlinux is cached without its sources: fetch them on this miss.
          const o = await miss.fetcher.miss(id, { sources: true });
          if (o.kind === 'failed') return plain(res, 502, `build-id ${id}: fetching the sources of ${hit.release} failed: ${o.message}`, { 'cache-control': 'no-store' });
          hit = (await reader.lookup(id)) ?? hit;
        }
        if (!hit.sourceDir) return plain(res, 404, `the cache holds no sources for ${hit.release}`);
        let realRoot: string;
        try {
          realRoot = await fsp.realpath(hit.sourceDir);
        } catch {
          return plain(res, 404, `the cache holds no sources for ${hit.release}`);
        }
        let real: string | null = null;
        for (const rel of sourceCandidates(p)) {
          const candidate = resolve(hit.sourceDir, `.${rel}`);
          if (!isInside(hit.sourceDir, candidate)) return plain(res, 403, 'path escapes the source tree');
          let r: string;
          try {
            r = await fsp.realpath(candidate);
          } catch {
            continue;
          }
          if (!isInside(realRoot, r)) return plain(res, 403, 'path escapes the source tree');
          real = r;
          break;
        }
        if (real === null) return plain(res, 404, `no source file ${p} for ${hit.release}`);
        return sendFile(req, res, hit, real, p, null);
      }
    }
  }

  function notFoundHeaders(): Record<string, string> {
    // A shared HTTP cache may keep a 404 as long as kdbg itself remembers the id as unknown.
    const ttl = Math.floor((miss?.fetcher?.negativeTtlMs ?? 0) / 1000);
    return ttl > 0 ? { 'cache-control': `public, max-age=${ttl}` } : { 'cache-control': 'no-store' };
  }

  /** A miss: rate limit, fetch through the indexes, else forward upstream, else remember it as unknown. */
  async function onMiss(m: MissHandling, req: IncomingMessage, res: ServerResponse, id: string, kind: string, rawPath: string): Promise<{ served: Served } | { hit: BuildIdHit | null }> {
    if (m.fetcher?.isKnownUnknown(id)) {
      await m.fetcher.miss(id); // counted as a negative-cache answer
      return { hit: null };
    }
    // Only misses that can cost something (a fetch, an upstream request) are limited: without
    // them a miss is a file lookup, and gdb asks for every shared library's id.
    if (!m.fetcher && m.upstream.length === 0) return { hit: null };
    const wait = m.limiter.take(req.socket.remoteAddress ?? '-');
    if (wait > 0) {
      metrics.rateLimited++;
      return { served: plain(res, 429, 'too many misses from this address; retry later', { 'retry-after': String(wait), 'cache-control': 'no-store' }) };
    }
    if (m.fetcher) {
      const o = await m.fetcher.miss(id, { sources: kind === 'source' });
      if (o.kind === 'fetched') return { hit: await reader.lookup(id) };
      if (o.kind === 'failed') return { served: plain(res, 502, `build-id ${id}: fetching ${o.release ?? 'its release'} failed: ${o.message}`, { 'cache-control': 'no-store' }) };
      if (o.cachedNegative) return { hit: null };
    }
    if (m.upstream.length > 0) {
      const { forwardRequest } = await import('./forward.js');
      const f = await forwardRequest(m.upstream, rawPath, m.http);
      if (f) {
        metrics.forwarded++;
        return { served: await relay(req, res, f.res) };
      }
    }
    m.fetcher?.rememberUnknown(id);
    return { hit: null };
  }

  async function sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    hit: BuildIdHit,
    file: string,
    xFile: string,
    slice: { offset: number; size: number } | null,
  ): Promise<Served> {
    if (!(await reader.insideCache(file))) return plain(res, 403, 'file outside the cache');
    let st;
    try {
      st = await fsp.stat(file);
    } catch {
      return plain(res, 404, `${hit.release}: file missing from the cache entry`);
    }
    if (!st.isFile()) return plain(res, 404, 'not a file');
    noteUse(hit);
    const size = slice ? slice.size : st.size;
    const base = slice ? slice.offset : 0;
    // What a build-id names never changes: the tag is the id and the file's identity in the cache,
    // and HTTP caches in front (nginx proxy_cache) may keep it for good. Sources keep a file tag.
    const byId = !xFile.startsWith('/'); // sources are named by their absolute path
    const etag = byId
      ? `"${hit.buildId}-${st.size.toString(16)}${slice ? `-${base.toString(16)}` : ''}"`
      : `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${slice ? `-${base.toString(16)}` : ''}"`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'x-debuginfod-size': size,
      // Header values must be latin1 without control characters; percent-encode anything else.
      'x-debuginfod-file': headerSafe(xFile),
      'last-modified': st.mtime.toUTCString(),
      etag,
      'accept-ranges': 'bytes',
      'cache-control': byId ? 'public, max-age=31536000, immutable' : 'public, max-age=86400',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = parseRange(req.headers.range, size);
    const ifRange = req.headers['if-range'];
    const rangeApplies = range !== null && (ifRange === undefined || ifRange === etag || ifRange === headers['last-modified']);
    if (rangeApplies && range === 'unsatisfiable') {
      return plain(res, 416, 'range not satisfiable', { 'content-range': `bytes */${size}` });
    }
    if (rangeApplies && range !== null && range !== 'unsatisfiable') {
      start = range.start;
      end = range.end;
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    const length = size === 0 ? 0 : end - start + 1;
    headers['content-length'] = length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return { status, bytes: 0 };
    }
    // File straight to socket, no stage between: an async-generator stage buffered up to 16
    // chunks per response, and 200 clients of an 8 MB vmlinux took kdbg serve to 265 MB RSS
    // (test/reliability/concurrency.test.ts). Bytes sent = bytes read from the file.
    const stream = createReadStream(file, { start: base + start, end: base + end, highWaterMark: 64 * 1024 });
    try {
      await pipeline(stream, res);
    } catch {
      // The client went away (or the file vanished mid-read): nothing to answer any more.
      res.destroy();
    }
    return { status, bytes: stream.bytesRead };
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostForUrl}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    metrics,
    reader,
    miss,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/**
 * Where an absolute DWARF source path may sit under the entry's source/ directory. The fetch
 * stage stores the sources package's common directory as source/, so for RHEL-family
 * kernel-debuginfo-common (`/usr/src/debug/kernel-<ver>/linux-<uname>/mm/slab.c`, the paths
 * debugedit wrote into the vmlinux's DWARF) the file is `source/mm/slab.c`. Tried in order: the
 * path as is, then with `/usr/src/debug/` and 2, 1 or 0 further components removed.
 */
export function sourceCandidates(abs: string): string[] {
  const out = [abs];
  const m = /^\/usr\/src\/debug\/(.+)$/.exec(abs);
  if (m) {
    const parts = m[1]!.split('/').filter((x) => x !== '');
    for (const k of [2, 1, 0]) if (parts.length > k) out.push(`/${parts.slice(k).join('/')}`);
  }
  return [...new Set(out)];
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function headerSafe(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURI(s);
}

/** One `bytes=` range → inclusive bounds; null = no usable Range header (serve the whole file). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or malformed: whole file
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
