// The index URLs of one Debian/Ubuntu location that kdbg may read, each with the SHA256 its
// verified Release names (issue 16): nothing is read from a suite whose Release is unsigned, badly
// signed or signed by an unknown key, and every index read from the network is hashed as it
// streams and compared with the signed digest before its rows are used (deb.ts). A flat
// repository (--repo) is a suite whose base is the directory itself, as apt reads one.

import { createHash } from 'node:crypto';
import type { HttpFetcher, HttpResponse, ProgressListener } from '../core/types.js';
import type { AptSource } from './apt-sources.js';
import { archiveRoot } from './apt-sources.js';
import { signedRelease } from './deb-release.js';
import { signatureError, type DebTrust, type SourceKeys } from './deb-trust.js';
import { cachedIndexGet, type IndexCacheOptions } from './index-cache.js';
import type { MirrorConfig, MirrorSource } from './sources.js';
import { TRANSIENT } from './index-read.js';

/** Verification on, no key of kdbg's own: the source's signed-by, else the host's trusted keyrings. */
export function defaultTrust(): DebTrust {
  return { skip: false, keyrings: [], signedBy: new Map(), hostRoot: '/' };
}

/** The trust of a loaded configuration: `sources` are the entries that apply (their `signedBy` by archive root). */
export function debTrustOf(config: MirrorConfig, sources: MirrorSource[], url: (s: MirrorSource) => string = (s) => s.url): DebTrust {
  const signedBy = new Map<string, string>();
  for (const s of sources) if (s.signedBy !== undefined) signedBy.set(archiveRoot(url(s)), s.signedBy);
  return { skip: config.insecureSkipSignatures === true, keyrings: config.keyrings ?? [], signedBy, hostRoot: config.hostRoot ?? '/' };
}

/** The keys of the host's apt source for `root` and `suite` (its signed-by, inline key, trusted=yes). */
export function hostKeys(root: string, sources: AptSource[], suite: string | null = null): SourceKeys {
  const at = sources.filter((x) => x.uris.some((u) => archiveRoot(u) === root || root.startsWith(archiveRoot(u))));
  // Two sources may list one archive with different keys (bookworm vs bookworm-security): the suite's own first.
  const s = at.find((x) => suite !== null && x.suites.includes(suite)) ?? at[0];
  if (!s) return { signedBy: null, trusted: false, fromHost: true };
  return { signedBy: s.signedByKey ?? s.signedBy, trusted: s.trusted === true, fromHost: true };
}

/** The keys for a --mirror/--repo/config root: its config `signedBy`, else the trusted keyrings. */
export function configKeys(root: string, trust: DebTrust): SourceKeys {
  return { signedBy: trust.signedBy.get(root) ?? null, trusted: false, fromHost: false };
}

export interface ListedIndex {
  url: string;
  /** The SHA256 and size the verified Release names; null only when signatures are not checked. */
  sha256: string | null;
  size: number | null;
}

export interface LocationLike {
  root: string;
  indexUrls: string[];
  suiteBase?: string;
  suitePath?: string;
}

const warned = new Set<string>();

function warnOnce(key: string, message: string, onProgress: ProgressListener | undefined): void {
  if (warned.has(key)) return;
  warned.add(key);
  onProgress?.({ kind: 'warning', code: 'KDBG_E_SIGNATURE', message });
}

/**
 * The index URLs to read at `loc`, with their signed digests; or the attempts that say why none
 * (a suite the mirror lacks, a mirror failing in passing). Throws SignatureError for a refusal.
 */
export async function listedIndexes(
  loc: LocationLike,
  keys: SourceKeys,
  trust: DebTrust,
  aptRoot: string | null,
  io: IndexCacheOptions,
  probe: (url: string) => Promise<HttpResponse | string>,
): Promise<{ indexes: ListedIndex[]; attempts: { url: string; result: string; transient?: boolean }[] }> {
  // (--insecure-skip-signatures is warned about by the CLI on every run, the config key by the fetch plan)
  if (!trust.skip && keys.trusted) warnOnce(`trusted:${loc.root}`, `${loc.root}: read without a signature check ([trusted=yes] in the apt source)`, io.onProgress);
  const base = loc.suiteBase ?? loc.root;
  const path = loc.suitePath ?? '';
  const r = await signedRelease(base, io, keys, trust, aptRoot);
  if (r.state === 'failed') return { indexes: [], attempts: [{ url: r.url, result: r.result, transient: TRANSIENT.test(r.result) || r.result.endsWith(' tries)') }] };
  if (r.state === 'unlisted') return { indexes: loc.indexUrls.map((url) => ({ url, sha256: null, size: null })), attempts: [] };
  if (r.state === 'absent') {
    // No Release at all: a suite this mirror lacks, or an unsigned repository. An index that is
    // there anyway is refused (never read), so a man in the middle cannot serve a bare Packages.
    const attempts: { url: string; result: string }[] = [{ url: r.url, result: 'HTTP 404' }];
    // (through the index cache: a 404 is remembered for the batch, as the suite's InRelease 404 is)
    const get = cachedIndexGet(null, io, probe);
    for (const url of loc.indexUrls) {
      const res = await get(url);
      if (typeof res === 'string') {
        attempts.push({ url, result: res });
        continue;
      }
      await res.body[Symbol.asyncIterator]().return?.();
      throw signatureError('no-signature', url, `no signature: ${base} publishes no InRelease or Release, so this index is not read (unsigned repository)`);
    }
    return { indexes: [], attempts };
  }
  if (r.fingerprint !== null) {
    io.onProgress?.({ kind: 'signature', url: r.url, fingerprint: r.fingerprint, ms: r.ms });
    io.onProgress?.({ kind: 'info', message: `${r.url}: good signature by ${r.fingerprint} (gpgv ${r.ms.toFixed(1)} ms)` });
  }
  const indexes: ListedIndex[] = [];
  for (const url of loc.indexUrls) {
    const d = r.digests.get(`${path}${url.slice(url.lastIndexOf('/') + 1)}`);
    if (d) indexes.push({ url, sha256: d.sha256, size: d.size });
  }
  if (indexes.length === 0) return { indexes, attempts: [{ url: r.url, result: `no ${path}Packages index listed` }] };
  return { indexes, attempts: [] };
}

/**
 * `get` whose bodies are hashed as they stream; `check()` after the read throws SignatureError
 * (index-mismatch) when the bytes read from the network are not the ones the Release signed.
 */
export function hashCheckedGet(get: (url: string) => Promise<HttpResponse | string>, want: ListedIndex): { get: (url: string) => Promise<HttpResponse | string>; check: () => void } {
  let state: { hash: ReturnType<typeof createHash>; bytes: number; done: boolean } | null = null;
  const wrapped = async (url: string): Promise<HttpResponse | string> => {
    const res = await get(url);
    if (typeof res === 'string' || want.sha256 === null) return res;
    const s = { hash: createHash('sha256'), bytes: 0, done: false };
    state = s;
    const src = res.body;
    const body = async function* (): AsyncGenerator<Uint8Array> {
      for await (const c of src) {
        s.hash.update(c);
        s.bytes += c.length;
        yield c;
      }
      s.done = true;
    };
    return { ...res, body: body() };
  };
  const check = (): void => {
    const s = state as { hash: ReturnType<typeof createHash>; bytes: number; done: boolean } | null;
    if (s === null || want.sha256 === null) return; // from the cache: stored under, and checked against, the signed digest
    const got = s.done ? s.hash.digest('hex') : null;
    if (got !== want.sha256 || (want.size !== null && s.bytes !== want.size))
      throw signatureError('index-mismatch', want.url, `does not match the signed Release: ${s.done ? `sha256 ${got}, ${s.bytes} bytes` : `read ${s.bytes} bytes, not to the end`}; signed ${want.sha256}, ${want.size ?? '?'} bytes`);
  };
  return { get: wrapped, check };
}

/** One plain GET of an index (200: the response; else `HTTP n` / `network: …`). */
export async function netIndexGet(u: string, opts: { http: HttpFetcher; signal?: AbortSignal | undefined; idleTimeoutMs?: number | undefined }): Promise<HttpResponse | string> {
  try {
    const res = await opts.http.get(u, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.idleTimeoutMs !== undefined ? { idleMs: opts.idleTimeoutMs } : {}) });
    if (res.status === 200) return res;
    await res.body[Symbol.asyncIterator]().return?.();
    return `HTTP ${res.status}`;
  } catch (e) {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : e;
    return `network: ${(e as Error).message}`;
  }
}
