// A real HTTP server on 127.0.0.1 that serves a directory the way a public mirror does (GET,
// HEAD, single Range requests, ETag, Last-Modified), with fault modes for tests: statuses (503
// with Retry-After, 404), a connection dropped mid-body, Range ignored, a changed ETag, and a
// bandwidth limit. Only loopback is ever used.

import { createReadStream, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface Fault {
  /** Answer with this status instead of the file (e.g. 503, 404, 500). */
  status?: number;
  /** Retry-After header value sent with `status`. */
  retryAfter?: string;
  /** Destroy the socket after sending this many body bytes. */
  dropAfterBytes?: number;
  /** Answer 200 with the whole file even when a Range was asked for. */
  ignoreRange?: boolean;
  /** Send a different ETag (as if the file changed on the server). */
  etag?: string;
  /** Limit the body rate (bytes per second) for this response. */
  bytesPerSecond?: number;
  /** Delay before the response head (ms). */
  delayMs?: number;
  /** End the response cleanly (FIN, no reset) after this many body bytes: a body shorter than its Content-Length. */
  endAfterBytes?: number;
  /** Stop sending for `stallMs` after this many body bytes (a stalled connection), then go on. */
  stallAfterBytes?: number;
  stallMs?: number;
  /** Send this Content-Range on a 206 instead of the true one. */
  contentRange?: string;
  /** Flip the byte at this offset of the response body (wrong bytes). */
  corruptAt?: number;
  /** Write the body in pieces of this many bytes (odd sizes reach the client as odd chunks). */
  chunkBytes?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  range: string | null;
  status: number;
  bytesSent: number;
  /** The query string as sent (`?ws.op=…`), '' when none. */
  search: string;
  /** When the request arrived (Date.now()). */
  at: number;
}

/**
 * Maps a request (decoded path, raw query) to the file under root that answers it, for services
 * whose URLs are not file paths (`/mr/binary/<pkg>/`, `…?ws.op=getPublishedBinaries…`); null:
 * the path itself.
 */
export type Route = (path: string, search: string) => string | null;

export interface MirrorServer {
  url: string;
  port: number;
  requests: RequestRecord[];
  /** Per-request fault hook; return undefined for normal service. `n` counts requests to the path. */
  setFault(fn: ((path: string, n: number, req: IncomingMessage) => Fault | undefined) | null): void;
  /** A bandwidth limit for every response (bytes/s), or null. */
  setRateLimit(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

/**
 * HTTPS as Red Hat's CDN and a Satellite serve it: the server's certificate, and a client
 * certificate demanded and verified against `clientCa` in the handshake (an unknown or expired
 * one ends it). `entitled` decides, from the certificate's CN, which paths it may read: the rest
 * get 403, as the CDN answers a certificate without the entitlement.
 */
export interface TlsOptions {
  cert: string;
  key: string;
  clientCa?: string;
  entitled?: (cn: string, path: string) => boolean;
}

export interface MirrorServerOptions {
  /** Answer a directory URL (`…/`) with an nginx-style autoindex page instead of 404, as many mirrors do. */
  autoindex?: boolean;
  /** Answer some paths from code (a service's JSON API) before the directory is looked at. */
  route?: Route;
  /** Serve HTTPS (TlsOptions) instead of HTTP. */
  tls?: TlsOptions;
  /** HTTP basic credentials the server demands ("user:password"), 401 otherwise (zypper's credentials.d, repo username=). */
  basicAuth?: string;
  /** A query string every request must carry (SCC's token URLs), 403 otherwise. */
  token?: string;
}

/** nginx's autoindex page for a directory: one `<a href="name/">` per subdirectory, then the files. */
function autoindexPage(urlPath: string, dir: string): string {
  const ents = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  const rows = [...ents.filter((e) => e.isDirectory()).map((e) => `${e.name}/`), ...ents.filter((e) => e.isFile()).map((e) => e.name)]
    .map((n) => `<a href="${encodeURIComponent(n.replace(/\/$/, ''))}${n.endsWith('/') ? '/' : ''}">${n}</a>`)
    .join('\n');
  return `<html>\n<head><title>Index of ${urlPath}</title></head>\n<body>\n<h1>Index of ${urlPath}</h1><hr><pre><a href="../">../</a>\n${rows}\n</pre><hr></body>\n</html>\n`;
}

export async function startMirrorServer(root: string, opts: MirrorServerOptions = {}): Promise<MirrorServer> {
  const tls = opts.tls;
  const auth = opts;
  let faultFn: ((path: string, n: number, req: IncomingMessage) => Fault | undefined) | null = null;
  let rateLimit: number | null = null;
  const counts = new Map<string, number>();
  const requests: RequestRecord[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res).catch(() => res.destroy());
  };
  const server: Server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, onRequest)
    : createServer(onRequest);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? '/', 'http://x');
    const urlPath = decodeURIComponent(parsed.pathname);
    const n = (counts.get(urlPath) ?? 0) + 1;
    counts.set(urlPath, n);
    const record: RequestRecord = { method: req.method ?? 'GET', path: urlPath, range: req.headers.range ?? null, status: 0, bytesSent: 0, search: parsed.search, at: Date.now() };
    requests.push(record);
    if (tls?.entitled) {
      const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
      if (!tls.entitled(typeof cn === 'string' ? cn : '', urlPath)) {
        record.status = 403;
        res.writeHead(403).end('Forbidden\n');
        return;
      }
    }
    if (auth.basicAuth && req.headers.authorization !== `Basic ${Buffer.from(auth.basicAuth).toString('base64')}`) {
      record.status = 401;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="kdbg"' }).end();
      return;
    }
    if (auth.token !== undefined && new URL(req.url ?? '/', 'http://x').search !== `?${auth.token}`) {
      record.status = 403;
      res.writeHead(403).end('token required\n');
      return;
    }
    const fault = faultFn?.(urlPath, n, req) ?? {};
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.status) {
      record.status = fault.status;
      res.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      res.end(`fault ${fault.status}\n`);
      return;
    }
    const rel = normalize(opts.route?.(urlPath, parsed.search) ?? urlPath).replace(/^(\.\.(\/|$))+/, '');
    const file = join(root, rel);
    if (!file.startsWith(root)) {
      record.status = 403;
      res.writeHead(403).end();
      return;
    }
    let st;
    try {
      st = statSync(file);
    } catch {
      record.status = 404;
      res.writeHead(404).end('not found\n');
      return;
    }
    if (st.isDirectory() && opts.autoindex && urlPath.endsWith('/')) {
      const page = autoindexPage(urlPath, file);
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) });
      res.end(req.method === 'HEAD' ? undefined : page);
      record.bytesSent = req.method === 'HEAD' ? 0 : Buffer.byteLength(page);
      return;
    }
    if (st.isDirectory()) {
      record.status = 404;
      res.writeHead(404).end('directory\n');
      return;
    }
    const etag = fault.etag ?? `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers: Record<string, string | number> = {
      etag,
      'last-modified': st.mtime.toUTCString(),
      'accept-ranges': fault.ignoreRange ? 'none' : 'bytes',
      'content-type': 'application/octet-stream',
    };
    // Conditional requests (what a revalidating client sends): unchanged → 304, no body.
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if ((inm !== undefined && inm === etag) || (inm === undefined && ims !== undefined && Math.floor(st.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000))) {
      record.status = 304;
      res.writeHead(304, { etag, 'last-modified': headers['last-modified'] as string }).end();
      return;
    }
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range && !fault.ignoreRange && (!ifRange || ifRange === etag)) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (m) {
        if (m[1] === '') {
          start = Math.max(0, st.size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= st.size || start > end) {
          record.status = 416;
          res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
          return;
        }
        status = 206;
        headers['content-range'] = fault.contentRange ?? `bytes ${start}-${end}/${st.size}`;
      }
    }
    headers['content-length'] = end - start + 1;
    record.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    const limit = fault.bytesPerSecond ?? rateLimit;
    const stream = createReadStream(file, { start, end, highWaterMark: fault.chunkBytes ?? 64 * 1024 });
    const began = Date.now();
    let at = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let piece = chunk;
      if (fault.corruptAt !== undefined && fault.corruptAt >= at && fault.corruptAt < at + piece.length) {
        piece = Buffer.from(piece);
        piece[fault.corruptAt - at]! ^= 0xff;
      }
      at += chunk.length;
      if (fault.endAfterBytes !== undefined && record.bytesSent + piece.length >= fault.endAfterBytes) {
        piece = piece.subarray(0, fault.endAfterBytes - record.bytesSent);
        if (piece.length > 0) res.write(piece);
        record.bytesSent += piece.length;
        // A clean close before Content-Length bytes: FIN, after the bytes are flushed.
        await new Promise<void>((r) => res.socket?.end(r) ?? r());
        stream.destroy();
        return;
      }
      if (fault.stallAfterBytes !== undefined && record.bytesSent + piece.length > fault.stallAfterBytes && fault.stallMs) {
        const first = piece.subarray(0, fault.stallAfterBytes - record.bytesSent);
        if (first.length > 0) res.write(first);
        record.bytesSent += first.length;
        piece = piece.subarray(first.length);
        await new Promise((r) => setTimeout(r, fault.stallMs));
        fault.stallMs = 0; // once per response
        if (res.destroyed) {
          stream.destroy();
          return;
        }
      }
      if (fault.dropAfterBytes !== undefined && record.bytesSent + piece.length > fault.dropAfterBytes) {
        piece = piece.subarray(0, fault.dropAfterBytes - record.bytesSent);
        if (piece.length > 0) res.write(piece);
        record.bytesSent += piece.length;
        await new Promise((r) => setTimeout(r, 20));
        res.socket?.destroy();
        stream.destroy();
        return;
      }
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      record.bytesSent += piece.length;
      if (limit) {
        const due = (record.bytesSent / limit) * 1000 - (Date.now() - began);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      if (res.destroyed) {
        stream.destroy();
        return;
      }
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    setFault(fn) {
      faultFn = fn;
    },
    setRateLimit(bps) {
      rateLimit = bps;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
