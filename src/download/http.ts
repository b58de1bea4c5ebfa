// The undici-backed HttpFetcher. One dispatcher for the process: keep-alive connections, and
// HTTP(S)_PROXY / NO_PROXY honoured through undici's EnvHttpProxyAgent. URLs of a repository with
// its own client certificate, CA, proxy or credentials get that repository's dispatcher
// (repo-agents.ts).

import { EnvHttpProxyAgent, interceptors, request, type Dispatcher } from 'undici';
import { NetworkError } from '../core/errors.js';
import type { HttpFetcher, HttpResponse } from '../core/types.js';
import { explainAccessFailure, explainForbidden, repoDispatcher } from './repo-agents.js';

export { useRepoAccess } from './repo-agents.js';

let sharedDispatcher: Dispatcher | undefined;

/** The dispatcher for `url`: its repository's own when it has access settings, else the shared one. */
export function dispatcher(url?: string): Dispatcher {
  const own = url === undefined ? null : repoDispatcher(url);
  if (own) return own;
  sharedDispatcher ??= new EnvHttpProxyAgent({
    connect: { timeout: 15_000 },
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
    keepAliveTimeout: 10_000,
  }).compose(interceptors.redirect({ maxRedirections: 5 }));
  return sharedDispatcher;
}

export function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

const userAgent = 'kdbg/0.1 (+kernel debuginfo fetcher)';

export const undiciFetcher: HttpFetcher = {
  async get(url, options = {}): Promise<HttpResponse> {
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: dispatcher(url),
        headers: { 'user-agent': userAgent, ...(options.headers ?? {}) },
        ...(options.idleMs !== undefined ? { headersTimeout: options.idleMs, bodyTimeout: options.idleMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const forbidden = res.statusCode === 403 ? explainForbidden(url) : null;
      if (forbidden) {
        await res.body.dump();
        throw forbidden;
      }
      return { url, status: res.statusCode, headers: flattenHeaders(res.headers), body: res.body };
    } catch (e) {
      const access = explainAccessFailure(url, e);
      if (access) throw access;
      throw new NetworkError(`${url}: ${(e as Error).message}`, { cause: e, details: { url } });
    }
  },
  async head(url, options = {}) {
    try {
      const res = await request(url, {
        method: 'HEAD',
        dispatcher: dispatcher(url),
        headers: { 'user-agent': userAgent },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await res.body.dump();
      const forbidden = res.statusCode === 403 ? explainForbidden(url) : null;
      if (forbidden) throw forbidden;
      return { url, status: res.statusCode, headers: flattenHeaders(res.headers) };
    } catch (e) {
      const access = explainAccessFailure(url, e);
      if (access) throw access;
      throw new NetworkError(`${url}: ${(e as Error).message}`, { cause: e, details: { url } });
    }
  },
};
