// Remote `gpgkey=https://…` of a gpgcheck=1 repository (issue 16, item 2): real openEuler,
// Fedora and Rocky repo files name keys by URL. dnf imports such a key from its URL on first use
// and trusts it from then on; kdbg does the same: the key is fetched once through the resolver's
// HTTP client, kept under the kdbg cache by URL and content sha256
// (<cache>/meta/gpgkeys/<sha256(url)>/<sha256(key)>.key), and later runs use the kept key without
// a request (trust on first use, as dnf; delete the directory to import it again). A remote key is
// only as trustworthy as the transport it came over: a plain http one gets a warning.
// Only OpenPGP public key data is kept: ASCII armor (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or
// a binary public-key packet; an HTML page, anything else, or more than MAX_KEY_BYTES is refused
// (SignatureError, exit 65). A key that cannot be fetched (HTTP error, network) stays unfetched:
// the header check then names it when no other key verifies the package.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../cache/fs-util.js';
import { discardBody } from '../core/http-body.js';
import { SignatureError } from '../core/errors.js';
import type { HttpFetcher, ProgressListener, ResolvedPackage } from '../core/types.js';
import { builtinKeyArmor } from './preset-keys.js';
import { substituteVars } from './yum-repos.js';

/** Public key files are a few KB; distribution bundles of every key stay far under this. */
export const MAX_KEY_BYTES = 1 << 20;

export interface RemoteKeyOptions {
  http: HttpFetcher;
  cacheRoot?: string | null | undefined;
  onProgress?: ProgressListener | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /** The release's variables ($releasever, $basearch): gpgkey paths and URLs name them (`RPM-GPG-KEY-fedora-$releasever-$basearch`), as dnf fills them in. */
  vars?: Record<string, string> | undefined;
}

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** What `data` is, as a key file: null when it is OpenPGP public key data, else the problem in words. */
export function notAPublicKey(data: Buffer): string | null {
  if (data.length === 0) return 'empty';
  const head = data.subarray(0, 512).toString('latin1');
  // An error or captive-portal page first, even one that quotes a key: it is not the key file.
  if (/^\s*(<!doctype html|<html|<\?xml|<head|<body)/i.test(head)) return 'an HTML page, not an OpenPGP public key';
  // Armor may follow a few lines of text (a comment naming the key), as gpg and rpm accept it.
  if (/^-----BEGIN PGP PUBLIC KEY BLOCK-----\r?$/m.test(data.toString('latin1'))) return null;
  if (/^\s*-----BEGIN PGP /.test(head)) return `ASCII armor of another kind (${/-----BEGIN (PGP [A-Z ]+)-----/.exec(head)?.[1] ?? '?'}), not a public key block`;
  // Binary: the first packet must be a public key (tag 6), in the old or the new packet format.
  const b = data[0]!;
  const tag = b & 0x40 ? b & 0x3f : (b >> 2) & 0x0f;
  if (b & 0x80 && tag === 6) return null;
  return 'neither an ASCII-armored nor a binary OpenPGP public key';
}

function refuse(url: string, repo: string, words: string): SignatureError {
  return new SignatureError(`${url}: gpgkey of ${repo} is ${words}`, {
    details: { url, reason: 'unknown-key', repo },
    hint: 'the repository file names this URL as its gpgkey; fix the URL, or give the key as a local file (gpgkey=file:///…)',
  });
}

async function readBody(url: string, repo: string, body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    n += r.value.length;
    if (n > MAX_KEY_BYTES) {
      await it.return?.().catch(() => undefined);
      throw refuse(url, repo, `more than ${MAX_KEY_BYTES} bytes: not a public key`);
    }
    parts.push(r.value);
  }
  return Buffer.concat(parts);
}

async function kept(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => /^[0-9a-f]{64}\.key$/.test(n)).sort();
  } catch {
    return null;
  }
  for (const n of names) {
    const p = join(dir, n);
    const data = await fsp.readFile(p).catch(() => null);
    // A damaged file is not a key: it is fetched again.
    if (data && sha256(data) === n.slice(0, 64) && notAPublicKey(data) === null) return p;
  }
  return null;
}

const thisRun = new Map<string, Promise<string | { unfetched: string }>>();
let scratch: string | null = null;

/** The local file holding the key at `url` (kept, or fetched now), or why it could not be fetched. */
export function remoteKeyFile(url: string, repo: string, o: RemoteKeyOptions): Promise<string | { unfetched: string }> {
  let p = thisRun.get(url);
  if (!p) {
    p = fetchKey(url, repo, o);
    thisRun.set(url, p);
    p.catch(() => thisRun.delete(url));
  }
  return p;
}

async function fetchKey(url: string, repo: string, o: RemoteKeyOptions): Promise<string | { unfetched: string }> {
  const dir = o.cacheRoot ? join(o.cacheRoot, 'meta', 'gpgkeys', sha256(url)) : join((scratch ??= await fsp.mkdtemp(join(tmpdir(), 'kdbg-gpgkeys-'))), sha256(url));
  const have = await kept(dir);
  if (have) return have;
  if (url.startsWith('http://')) {
    o.onProgress?.({ kind: 'warning', code: 'KDBG_W_INSECURE_GPGKEY', message: `${url}: gpgkey of ${repo} is fetched over plain http; a key is only as trustworthy as the transport it came over (prefer https, or a local gpgkey=file:///…)` });
  }
  let data: Buffer;
  try {
    const t = AbortSignal.timeout(o.timeoutMs);
    const res = await o.http.get(url, { signal: o.signal ? AbortSignal.any([o.signal, t]) : t, idleMs: o.timeoutMs });
    if (res.status < 200 || res.status >= 300) {
      await discardBody(res);
      return { unfetched: `HTTP ${res.status}` };
    }
    data = await readBody(url, repo, res.body);
  } catch (e) {
    if (e instanceof SignatureError) throw e;
    if (o.signal?.aborted) throw e;
    return { unfetched: `network: ${(e as Error).message}` };
  }
  const bad = notAPublicKey(data);
  if (bad) throw refuse(url, repo, bad);
  await fsp.mkdir(dir, { recursive: true });
  const file = join(dir, `${sha256(data)}.key`);
  await writeFileAtomic(file, data);
  o.onProgress?.({ kind: 'info', message: `${url}: gpgkey of ${repo} imported (${data.length} bytes, sha256 ${sha256(data)}), kept as ${file}` });
  return file;
}

/** A key kdbg ships (`builtin:<name>`, preset-keys.ts) as a local file: <cache>/meta/gpgkeys/builtin/<name>.asc (else a scratch directory); null: none of that name. */
async function builtinKeyFile(name: string, cacheRoot: string | null | undefined): Promise<string | null> {
  const armor = await builtinKeyArmor(name);
  if (armor === null) return null;
  const dir = cacheRoot ? join(cacheRoot, 'meta', 'gpgkeys', 'builtin') : join((scratch ??= await fsp.mkdtemp(join(tmpdir(), 'kdbg-gpgkeys-'))), 'builtin');
  const file = join(dir, `${name}.asc`);
  // Rewritten when it differs: the shipped text is the truth, not a file someone edited.
  if ((await fsp.readFile(file, 'latin1').catch(() => null)) !== armor) {
    await fsp.mkdir(dir, { recursive: true });
    await writeFileAtomic(file, Buffer.from(armor, 'latin1'));
  }
  return file;
}

/**
 * The packages with the release's variables filled into their gpgkeys, and every remote gpgkey
 * replaced by its local file (fetched or kept); unfetchable ones stay in `remote`, with the reason.
 */
export async function withRemoteKeys(pkgs: ResolvedPackage[], o: RemoteKeyOptions): Promise<ResolvedPackage[]> {
  const out: ResolvedPackage[] = [];
  const fill = (k: string): string => (o.vars ? substituteVars(k, o.vars) : k);
  for (const p of pkgs) {
    const g = p.gpgcheck;
    if (!g) {
      out.push(p);
      continue;
    }
    const keys = g.keys.map(fill);
    const remote: string[] = [];
    for (const url of g.remote.map(fill)) {
      if (url.startsWith('builtin:')) {
        const f = await builtinKeyFile(url.slice('builtin:'.length), o.cacheRoot);
        if (f) keys.push(f);
        else remote.push(`${url} (not shipped with kdbg)`);
        continue;
      }
      if (!/^https?:\/\//.test(url)) {
        remote.push(url);
        continue;
      }
      const r = await remoteKeyFile(url, g.repo, o);
      if (typeof r === 'string') keys.push(r);
      else remote.push(`${url} (${r.unfetched})`);
    }
    out.push({ ...p, gpgcheck: { ...g, keys, remote } });
  }
  return out;
}
