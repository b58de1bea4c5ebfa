// Per-repository connections: a repository whose repo file names a client certificate, a CA, a
// proxy or credentials (RepoAccess, from resolve/) gets an undici dispatcher of its own, built on
// first use and kept for the process, with those TLS options on `connect`. Every other URL keeps
// the shared dispatcher of http.ts. Also turns what goes wrong with such a repository into one
// line that says what to do: an unreadable (root-only) key, an expired certificate, a server
// that rejects the certificate, a CA that does not match.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, EnvHttpProxyAgent, interceptors, ProxyAgent, type Dispatcher } from 'undici';
import { AccessError } from '../core/errors.js';
import type { RepoAccess } from '../core/types.js';

interface Entry {
  access: RepoAccess;
  dispatcher?: Dispatcher;
}

let entries: Entry[] = [];

/** The repositories with access settings, from the loaded mirror configuration. Replaces earlier ones. */
export function useRepoAccess(list: readonly RepoAccess[]): void {
  const seen = new Set<string>();
  const next: Entry[] = [];
  for (const a of list) {
    const key = JSON.stringify(a);
    if (seen.has(key)) continue;
    seen.add(key);
    // Keep a dispatcher already built for the same settings (a batch loads the config per item).
    next.push(entries.find((e) => JSON.stringify(e.access) === key) ?? { access: a });
  }
  entries = next;
}

/** The settings covering `url`: the longest prefix, the first repo file entry on a tie. */
export function accessFor(url: string): RepoAccess | null {
  let best: Entry | null = null;
  for (const e of entries) if (url.startsWith(e.access.prefix) && (!best || e.access.prefix.length > best.access.prefix.length)) best = e;
  return best?.access ?? null;
}

function readPem(path: string, what: string, a: RepoAccess): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      throw new AccessError(
        `${path}: permission denied reading the ${what} of ${a.origin}; entitlement keys are readable by root only: run kdbg as root, or copy the certificate and key to a file you can read and point sslclientcert/sslclientkey at the copies`,
        { details: { file: path, repo: a.origin }, cause: e },
      );
    if (code === 'ENOENT')
      throw new AccessError(`${path}: no such file (the ${what} of ${a.origin}); register the host or run \`subscription-manager refresh\` to write the entitlement certificates`, {
        details: { file: path, repo: a.origin },
        cause: e,
      });
    throw new AccessError(`${path}: cannot read the ${what} of ${a.origin}: ${(e as Error).message}`, { details: { file: path, repo: a.origin }, cause: e });
  }
}

/** Refuse a client certificate outside its validity window before a server does, with the dates. */
function checkValidity(pem: string, path: string, a: RepoAccess, now: Date): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new AccessError(`${path}: not a PEM certificate (sslclientcert of ${a.origin}): ${(e as Error).message}`, { details: { file: path, repo: a.origin }, cause: e });
  }
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  if (notAfter.getTime() < now.getTime())
    throw new AccessError(`${path}: the client certificate of ${a.origin} expired (notAfter ${cert.validTo}); run \`subscription-manager refresh\` (or re-register) for a new one`, {
      details: { file: path, repo: a.origin, notAfter: notAfter.toISOString() },
    });
  if (notBefore.getTime() > now.getTime())
    throw new AccessError(`${path}: the client certificate of ${a.origin} is not valid before ${cert.validFrom}; check the clock`, {
      details: { file: path, repo: a.origin, notBefore: notBefore.toISOString() },
    });
}

function basic(user: string, pass: string | undefined): string {
  return `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
}

/** An interceptor that adds HTTP basic credentials (repo `username`/`password`) to every request. */
function withAuthorization(value: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const h = opts.headers;
    let headers: Dispatcher.DispatchOptions['headers'];
    if (Array.isArray(h)) headers = [...(h as string[]), 'authorization', value];
    else headers = { ...((h as Record<string, string | string[] | undefined> | null | undefined) ?? {}), authorization: value };
    return dispatch({ ...opts, headers }, handler);
  };
}

/** An interceptor that puts the repository's query (an SCC token) on every request path. */
function withQuery(query: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch({ ...opts, path: `${opts.path}${opts.path.includes('?') ? '&' : '?'}${query}` }, handler);
}

function build(a: RepoAccess, now: Date): Dispatcher {
  const tls: { cert?: string; key?: string; ca?: string; rejectUnauthorized: boolean } = { rejectUnauthorized: a.verify };
  if (a.clientCert) {
    tls.cert = readPem(a.clientCert, 'client certificate', a);
    checkValidity(tls.cert, a.clientCert, a, now);
  }
  // yum's sslclientkey defaults to the certificate file (a PEM holding both).
  if (a.clientKey || a.clientCert) tls.key = readPem(a.clientKey ?? a.clientCert!, 'client key', a);
  if (a.caCert) tls.ca = readPem(a.caCert, 'CA certificate', a);
  const common = { headersTimeout: 30_000, bodyTimeout: 60_000, keepAliveTimeout: 10_000 };
  const connect = { timeout: 15_000, ...tls };
  let d: Dispatcher;
  if (a.proxy === null) d = new Agent({ ...common, connect });
  else if (a.proxy !== undefined) {
    const opts: ProxyAgent.Options = { ...common, uri: a.proxy, requestTls: tls, connect };
    if (a.proxyUsername) opts.token = basic(a.proxyUsername, a.proxyPassword);
    d = new ProxyAgent(opts);
  } else d = new EnvHttpProxyAgent({ ...common, connect, requestTls: tls });
  const chain: Dispatcher.DispatcherComposeInterceptor[] = [interceptors.redirect({ maxRedirections: 5 })];
  if (a.username) chain.push(withAuthorization(basic(a.username, a.password)));
  if (a.query) chain.push(withQuery(a.query));
  return d.compose(...chain);
}

/** The dispatcher for `url` when a repository's settings cover it, else null. Throws AccessError. */
export function repoDispatcher(url: string, now: Date = new Date()): Dispatcher | null {
  const a = accessFor(url);
  if (!a) return null;
  const e = entries.find((x) => x.access === a)!;
  e.dispatcher ??= build(a, now);
  return e.dispatcher;
}

/** TLS verification failures of the server's certificate (node/OpenSSL error codes). */
const CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

function errCode(e: unknown): string {
  let x: unknown = e;
  for (let i = 0; i < 4 && x; i++) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'UND_ERR_SOCKET') return c;
    x = (x as { cause?: unknown }).cause;
  }
  return '';
}

/**
 * One line for a failed request to a repository with access settings, or null when it is an
 * ordinary network failure (timeout, refused) that failover handles.
 */
export function explainAccessFailure(url: string, e: unknown): AccessError | null {
  const a = accessFor(url);
  if (!a) return null;
  if (e instanceof AccessError) return e;
  const code = errCode(e);
  const details = { url, repo: a.origin, tlsCode: code };
  if (CA_CODES.has(code) || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new AccessError(
      `${url}: the server's certificate does not match the CA ${a.caCert ?? '(system CAs)'} of ${a.origin} (${code}); a Satellite needs its own katello-server-ca.pem, Red Hat's CDN /etc/rhsm/ca/redhat-uep.pem`,
      { details, cause: e },
    );
  if (code === 'CERT_HAS_EXPIRED')
    return new AccessError(`${url}: the server's certificate has expired (${a.origin}); check the server, or the clock`, { details, cause: e });
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|HANDSHAKE_FAILURE)/.test(code))
    return new AccessError(
      `${url}: the server refused the client certificate ${a.clientCert ?? '(none given)'} of ${a.origin} in the TLS handshake (${code}); check that it belongs to this server (Satellite vs. CDN) or run \`subscription-manager refresh\``,
      { details, cause: e },
    );
  return null;
}

/** One line for a 403 from a repository that authenticates with a certificate or credentials. */
export function explainForbidden(url: string): AccessError | null {
  const a = accessFor(url);
  if (!a || (!a.clientCert && !a.username)) return null;
  const who = a.clientCert ? `the client certificate ${a.clientCert}` : `the credentials of user ${a.username}`;
  return new AccessError(
    `${url}: HTTP 403: the server rejected ${who} (${a.origin}); the subscription does not cover this repository or was revoked: run \`subscription-manager refresh\`, or check the repository is enabled for the host's content view`,
    { details: { url, repo: a.origin, status: 403 } },
  );
}
