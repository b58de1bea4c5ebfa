// What a RHEL host's repo files add to a plain baseurl: the entitlement keys (sslclientcert,
// sslclientkey, sslcacert, sslverify), a per-repository proxy and credentials, and the
// `$releasever` Red Hat's content delivery network (and a Satellite that mirrors its layout)
// expects. Pure functions; yum-repos.ts (and zypper-repos.ts) call them per section, layout.ts
// asks for the release version. download/repo-agents.ts turns a RepoAccess into a connection.

import { isAbsolute, join } from 'node:path';
import type { KernelRelease, RepoAccess } from '../core/types.js';

/** The part of a URL template before its first variable: what a RepoAccess covers. */
export function accessPrefix(url: string): string {
  const d = url.indexOf('$');
  return d < 0 ? url : url.slice(0, d);
}

/** dnf's boolean spellings (libdnf ConfigParser): 1/0, yes/no, true/false, on/off. */
export function repoBool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v.trim() === '') return dflt;
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  return dflt;
}

/** A path from a repo file, read under the host root (KDBG_ROOT) like everything else in /etc. */
export function underRoot(root: string, p: string): string {
  if (root === '/' || root === '') return p;
  return isAbsolute(p) ? join(root, p) : p;
}

/**
 * The access settings a repo section asks for, or undefined when it asks for nothing beyond
 * HTTPS with the system CAs. `url` is the section's baseurl/mirrorlist template.
 */
export function repoAccess(keys: Record<string, string>, url: string, origin: string, root: string): RepoAccess | undefined {
  const a: RepoAccess = { prefix: accessPrefix(url), origin, verify: repoBool(keys['sslverify'], true) };
  const path = (k: string): string | undefined => (keys[k] ? underRoot(root, keys[k]!) : undefined);
  const cert = path('sslclientcert');
  const key = path('sslclientkey');
  const ca = path('sslcacert');
  if (cert) a.clientCert = cert;
  if (key) a.clientKey = key;
  if (ca) a.caCert = ca;
  const proxy = keys['proxy']?.trim();
  // dnf: `proxy=_none_` (or an empty value) means "no proxy for this repo", the environment's too.
  if (proxy === '_none_' || proxy === '') a.proxy = null;
  else if (proxy) a.proxy = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
  if (keys['proxy_username']) a.proxyUsername = keys['proxy_username'];
  if (keys['proxy_password']) a.proxyPassword = keys['proxy_password'];
  if (keys['username']) a.username = keys['username'];
  if (keys['password']) a.password = keys['password'];
  const plain = Object.keys(a).length === 3 && a.verify;
  return plain ? undefined : a;
}

/** Red Hat CDN content paths: /content/<stream>/rhel…/ (also under a Satellite's /pulp/content/<org>/<env>/). */
const CDN_PATH = /\/content\/(dist|eus|aus|e4s|tus|beta|htb|els)\/rhel(\d*)\//;

/** RHEL 7's product directories and the `$releasever` subscription-manager gives each. */
const EL7_PRODUCTS: Readonly<Record<string, string>> = {
  server: 'Server',
  workstation: 'Workstation',
  client: 'Client',
  computenode: 'ComputeNode',
  'power-le': 'Server',
  'system-z': 'Server',
  arm: 'Server',
};

/**
 * `$releasever` for a repository laid out as Red Hat's CDN, as a RHEL host of the release would
 * set it: `7Server` (by the product directory), `8`/`9` for the main streams, `8.6` for the
 * extended-support streams (eus, aus, e4s, tus) of an elN_M kernel. Null for any other URL (the
 * default, the dist major, then applies).
 */
export function rhsmReleasever(rel: KernelRelease, url: string): string | null {
  const m = CDN_PATH.exec(url);
  if (!m || rel.family !== 'rhel' || rel.distMajor === null) return null;
  const major = rel.distMajor;
  if (major <= 7) {
    const prod = new RegExp(`/rhel/([a-z-]+)/${major}/`).exec(url)?.[1];
    return `${major}${(prod && EL7_PRODUCTS[prod]) ?? 'Server'}`;
  }
  const minor = /_(\d+)$/.exec(rel.dist)?.[1];
  if (m[1] !== 'dist' && m[1] !== 'beta' && minor !== undefined) return `${major}.${minor}`;
  return String(major);
}

/**
 * Search order of a host's debug repositories within one repo file: the ones that carry the
 * kernel (BaseOS; RHEL 7's server repos; real-time) before AppStream, CodeReady, SAP, … so an
 * entitled host reads one primary index, not ten.
 */
export function kernelRepoRank(id: string): number {
  const s = id.toLowerCase();
  if (/baseos|-server-(eus-|aus-|e4s-)?debug|^sle-module-basesystem|kernel/.test(s)) return 0;
  if (/(^|-)rt-|nfv/.test(s)) return 1;
  return 2;
}
