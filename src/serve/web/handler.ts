// The web pages of `kdbg serve --reports DIR`: /, /signatures, /dump/<id>, and /login for the
// one-time URL. Kernel logs and task lists can hold secrets: with a token set (the serve command
// sets one whenever it listens on a non-loopback address) every page wants either the header
// `Authorization: Bearer <token>` or the cookie that /login?code=<one-time code> sets; anything
// else is 401. The debuginfod routes and /metrics are not pages and are not affected.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FleetSource, parseTableQuery } from './fleet.js';
import { CSP, dumpPage, dumpsPage, signaturesPage } from './pages.js';

export interface WebOptions {
  /** The report folders / watch folders whose report.json files the page lists (as `kdbg reports DIR…`). */
  reportDirs: readonly string[];
  /** null: no token (loopback). */
  token: string | null;
  /** Server-side time per page render, when given (bench and -v). */
  onTiming?: (path: string, ms: number) => void;
}

export interface WebHandler {
  /** The one-time login code (null without a token); it works once. */
  loginCode: string | null;
  /** null: not a page of the web UI (the caller goes on with its own routes). */
  handle(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<{ status: number; bytes: number } | null>;
}

const COOKIE = 'kdbg_token';

export const newToken = (): string => randomBytes(24).toString('base64url');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export function createWebHandler(o: WebOptions): WebHandler {
  const fleet = new FleetSource(o.reportDirs);
  // Read the listing now, not on the first page request.
  void fleet.refresh().catch(() => undefined);
  let loginCode: string | null = o.token ? newToken() : null;

  const authorized = (req: IncomingMessage): boolean => {
    if (o.token === null) return true;
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (auth && same(auth[1]!, o.token)) return true;
    const c = cookieOf(req, COOKIE);
    return c !== null && same(c, o.token);
  };

  function send(res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8', extra: Record<string, string> = {}): { status: number; bytes: number } {
    const bytes = Buffer.byteLength(body);
    res.writeHead(status, {
      'content-type': type,
      'content-length': bytes,
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      ...extra,
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
    return { status, bytes };
  }

  return {
    get loginCode() {
      return loginCode;
    },
    async handle(req, res, rawPath) {
      const isPage = rawPath === '/' || rawPath === '/signatures' || rawPath === '/login' || /^\/dump\/[^/]+$/.test(rawPath);
      if (!isPage) return null;
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (rawPath === '/login') {
        const code = url.searchParams.get('code') ?? '';
        if (o.token === null) return send(res, 303, '', 'text/plain', { location: '/' });
        if (loginCode === null || !same(code, loginCode)) return send(res, 401, 'kdbg serve: this login URL is not valid (it works once; restart kdbg serve for a new one, or send Authorization: Bearer <token>)\n', 'text/plain; charset=utf-8');
        loginCode = null;
        return send(res, 303, '', 'text/plain', { location: '/', 'set-cookie': `${COOKIE}=${o.token}; HttpOnly; SameSite=Strict; Path=/` });
      }
      if (!authorized(req)) return send(res, 401, 'kdbg serve: the report pages need a token (Authorization: Bearer <token>, or open the one-time login URL kdbg serve printed)\n', 'text/plain; charset=utf-8', { 'www-authenticate': 'Bearer realm="kdbg"' });
      const began = performance.now();
      const f = await fleet.get();
      let out: { status: number; bytes: number };
      if (rawPath === '/') out = send(res, 200, dumpsPage(f, parseTableQuery(url.searchParams)));
      else if (rawPath === '/signatures') out = send(res, 200, signaturesPage(f));
      else {
        const id = rawPath.slice('/dump/'.length);
        // A dump newer than the listing: read it again before answering 404.
        const row = f.byId.get(id) ?? (await fleet.get({ fresh: true })).byId.get(id);
        if (!row) return send(res, 404, 'kdbg serve: no such dump under the --reports directories\n', 'text/plain; charset=utf-8');
        // The report file as it is now; a failed dump has only its state-file row.
        const report = row.schema === 'kdbg.watch-state/1' ? null : await fsp.readFile(row.file, 'utf8').then((t) => JSON.parse(t) as unknown, () => null);
        out = send(res, 200, dumpPage(row, report, f));
      }
      o.onTiming?.(rawPath, performance.now() - began);
      return out;
    },
  };
}
