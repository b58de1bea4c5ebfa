// Indexes read once (issue 19, item 4). Two kinds of file:
//
// - the small files that name the indexes (Debian `dists/<suite>/Release`, RPM
//   `repodata/repomd.xml`) are asked again on every run, conditionally (If-None-Match /
//   If-Modified-Since with what the mirror said last time): a 304 costs one round trip and no
//   body. Within one process (a batch) each is asked once at most, for FRESH_MS.
// - the indexes themselves (Packages.xz, primary.xml.gz) are named by the checksum those files
//   give, and kept under it (cache/index-store.ts). A stored index is used without any request;
//   a repository that changed names a new checksum, which is not stored, so the new index is read.
//
// Caching is an optimisation: a cache that cannot be read or written is the network as before.

import { readIndexBlob, writeIndexBlob } from '../cache/index-store.js';
import { readMeta, writeMeta } from '../cache/meta.js';
import { discardBody as discard } from '../core/http-body.js';
import { serialByKey } from '../core/serial-by-key.js';
import type { HttpFetcher, HttpResponse, ProgressListener } from '../core/types.js';
import { readIndexWithRetry } from './index-read.js';
import { forgetRows } from './deb-parsed.js';

export interface IndexCacheOptions {
  /** The kdbg cache root; null or undefined: no cache (every index from the network). */
  cacheRoot?: string | null | undefined;
  http: HttpFetcher;
  onProgress?: ProgressListener | undefined;
  signal?: AbortSignal | undefined;
  idleMs?: number | undefined;
  /** The raw GET (RPM: the lookup's own, with its timeouts and access errors); default `http.get`. */
  rawGet?: ((url: string, headers: Record<string, string>) => Promise<HttpResponse>) | undefined;
  /** A thrown failure in words (default `network: <message>`). */
  why?: ((e: unknown) => string) | undefined;
  /**
   * Keep index bodies in memory for the rest of the process (default true). Debian keeps its
   * parsed rows instead (deb-parsed.ts), so its 9 MB Packages.xz would only add to the peak RSS
   * of the extraction that follows.
   */
  memo?: boolean | undefined;
  /**
   * Read a body whole as it arrives, whatever the reader's pace, and keep it (write, fsync) while
   * the reader goes on; the returned get's `settled()` waits for that. Debian: bookworm's 8.8 MB
   * Packages.xz arrives in tens of ms and decodes for ~0.45 s; kept after the reader's last pull,
   * its write and fsync (20-50 ms) were added to the decode.
   */
  writeBehind?: boolean | undefined;
}

/** How long one process trusts a Release/repomd.xml it has validated (a batch asks once). */
export const FRESH_MS = 5 * 60 * 1000;
/** Index bodies kept in memory for the rest of a batch, at most this many bytes together. */
const MEMO_BYTES = 64 << 20;

const SERVICE = 'index-validators';

interface Validators {
  etag: string | null;
  lastModified: string | null;
  /** The body, base64 (Release and repomd.xml are small). */
  body: string;
}

const validatedThisRun = new Map<string, { at: number; body: Buffer }>();
const blobsThisRun = new Map<string, Buffer>();
let memoBytes = 0;
/** URLs answered 404 in this process (a suite the mirror lacks): not asked again for FRESH_MS. */
const absentThisRun = new Map<string, number>();

function knownAbsent(url: string): boolean {
  const at = absentThisRun.get(url);
  return at !== undefined && Date.now() - at <= FRESH_MS;
}

/** Forget what this process has read (as a new process would); for tests of revalidation. */
export function forgetIndexMemo(): void {
  validatedThisRun.clear();
  blobsThisRun.clear();
  absentThisRun.clear();
  forgetRows();
  memoBytes = 0;
}

function remember(sha256: string, buf: Buffer): void {
  if (blobsThisRun.has(sha256) || memoBytes + buf.length > MEMO_BYTES) return;
  blobsThisRun.set(sha256, buf);
  memoBytes += buf.length;
}

export async function* oneChunk(buf: Uint8Array): AsyncGenerator<Uint8Array> {
  yield buf;
}


async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

/**
 * A Release or repomd.xml: from this process's memory (validated within FRESH_MS), else asked
 * conditionally when the cache has it (304: the stored body), else read whole. Returns the body
 * or the failure as readIndexWithRetry words it (`HTTP 404`, `network: …`).
 */
export async function readValidated(url: string, o: IndexCacheOptions): Promise<Buffer | string> {
  const key = `${o.cacheRoot ?? ''}\0${url}`;
  // Suites read at the same time (deb-locations.ts) may share a Release (two components of one
  // suite): the second waits for the first read, then answers as it would have after it.
  return readOneAtATime(key, () => readValidatedOnce(url, key, o));
}

const readOneAtATime = serialByKey();

async function readValidatedOnce(url: string, key: string, o: IndexCacheOptions): Promise<Buffer | string> {
  const t0 = Date.now();
  const memo = validatedThisRun.get(key);
  if (memo && t0 - memo.at <= FRESH_MS) {
    o.onProgress?.({ kind: 'index', url, from: 'cache', bytes: memo.body.length, ms: 0 });
    return memo.body;
  }
  if (knownAbsent(url)) return 'HTTP 404';
  const root = o.cacheRoot ?? null;
  const stored = root ? await readMeta<Validators>(root, SERVICE, url).catch(() => null) : null;
  let from: 'network' | 'not-modified' = 'network';
  let fresh: { etag: string | null; lastModified: string | null } = { etag: null, lastModified: null };
  const r = await readIndexWithRetry(url, (res) => collect(res.body), {
    get: async (u) => {
      const headers: Record<string, string> = {};
      if (stored?.etag) headers['if-none-match'] = stored.etag;
      if (stored?.lastModified) headers['if-modified-since'] = stored.lastModified;
      try {
        const res = o.rawGet
          ? await o.rawGet(u, headers)
          : await o.http.get(u, { headers, ...(o.signal ? { signal: o.signal } : {}), ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}) });
        if (res.status === 304 && stored) {
          await discard(res);
          from = 'not-modified';
          return { ...res, status: 200, headers: {}, body: oneChunk(Buffer.from(stored.body, 'base64')) };
        }
        if (res.status === 200) {
          from = 'network';
          fresh = { etag: res.headers['etag'] ?? null, lastModified: res.headers['last-modified'] ?? null };
          return res;
        }
        await discard(res);
        return `HTTP ${res.status}`;
      } catch (e) {
        if (o.signal?.aborted) throw e;
        return o.why ? o.why(e) : `network: ${(e as Error).message}`;
      }
    },
    why: o.why ?? ((e) => (e as Error).message),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (typeof r === 'string') {
    if (r === 'HTTP 404') absentThisRun.set(url, Date.now());
    return r;
  }
  if (root && from === 'network' && (fresh.etag || fresh.lastModified)) {
    await writeMeta<Validators>(root, SERVICE, url, { ...fresh, body: r.toString('base64') }).catch(() => undefined);
  }
  validatedThisRun.set(key, { at: Date.now(), body: r });
  o.onProgress?.({ kind: 'index', url, from, bytes: r.length, ms: Date.now() - t0 });
  return r;
}

/**
 * The `get` of one index whose repository names its sha256: the stored file when there is one (no
 * request), else `realGet`, the body kept once it has arrived whole and hashes to `sha256`. A
 * reader that stops early (RPM primary: the package was found) lets the rest arrive first, so
 * that the next run has the whole file. Without a sha256 or a cache: `realGet` as it was.
 */
export function cachedIndexGet(
  sha256: string | null,
  o: IndexCacheOptions,
  realGet: (url: string) => Promise<HttpResponse | string>,
  /** Called when the body read is the one named `sha256` (stored, or just kept after checking it). */
  onVerified?: () => void,
): ((url: string) => Promise<HttpResponse | string>) & { settled(): Promise<void> } {
  const root = o.cacheRoot ?? null;
  const writes: Promise<void>[] = [];
  const get = async (url: string): Promise<HttpResponse | string> => {
    const t0 = Date.now();
    if (sha256 && root) {
      const buf = blobsThisRun.get(sha256) ?? (await readIndexBlob(root, sha256).catch(() => null));
      if (buf) {
        if (o.memo !== false) remember(sha256, buf);
        onVerified?.();
        // Reported when the reader is done with it, as a network read is: both include the parse.
        const body = async function* (): AsyncGenerator<Uint8Array> {
          try {
            yield buf;
          } finally {
            o.onProgress?.({ kind: 'index', url, from: 'cache', bytes: buf.length, ms: Date.now() - t0 });
          }
        };
        return { url, status: 200, headers: { 'content-length': String(buf.length) }, body: body() };
      }
    }
    if (root && knownAbsent(url)) return 'HTTP 404';
    const res = await realGet(url);
    if (typeof res === 'string') {
      if (root && res === 'HTTP 404') absentThisRun.set(url, Date.now());
      return res;
    }
    const reported = (bytes: number): void => o.onProgress?.({ kind: 'index', url, from: 'network', bytes, ms: Date.now() - t0 });
    const keep = async (buf: Buffer): Promise<void> => {
      if (sha256 && root && (await writeIndexBlob(root, sha256, buf).catch(() => false))) {
        if (o.memo !== false) remember(sha256, buf);
        onVerified?.();
      }
    };
    if (o.writeBehind) return { ...res, body: eagerTee(res.body, keep, reported, writes, sha256 !== null && root !== null) };
    const done = async (buf: Buffer): Promise<void> => {
      reported(buf.length);
      await keep(buf);
    };
    return { ...res, body: tee(res.body, done, sha256 !== null && root !== null) };
  };
  return Object.assign(get, { settled: async (): Promise<void> => void (await Promise.all(writes)) });
}

/**
 * tee for `writeBehind`: the body is read whole as fast as it comes (into the parts kept anyway),
 * `keep` starts as soon as it has all arrived, and the reader is served from the parts at its own
 * pace. `reported` when the reader is done, as tee reports (the index read includes the parse).
 * A reader that stops early: the rest still arrives and is kept when `drain`, else it is dropped.
 */
function eagerTee(src: AsyncIterable<Uint8Array>, keep: (buf: Buffer) => Promise<void>, reported: (bytes: number) => void, writes: Promise<void>[], drain: boolean): AsyncGenerator<Uint8Array> {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let complete = false;
  let failure: { e: unknown } | null = null;
  let stop = false;
  // (a holder: the reader sets it, the pump calls it)
  const waiting: { wake: (() => void) | null } = { wake: null };
  const it = src[Symbol.asyncIterator]();
  const pump = (async (): Promise<void> => {
    try {
      for (;;) {
        const n = await it.next();
        if (n.done) {
          complete = true;
          break;
        }
        parts.push(n.value);
        bytes += n.value.length;
        waiting.wake?.();
        if (stop) {
          await it.return?.().catch(() => undefined);
          break;
        }
      }
    } catch (e) {
      failure = { e };
    }
    waiting.wake?.();
    if (complete) await keep(Buffer.concat(parts));
  })();
  writes.push(pump);
  return (async function* (): AsyncGenerator<Uint8Array> {
    let i = 0;
    let finished = false;
    try {
      for (;;) {
        while (i < parts.length) yield parts[i++]!;
        if (complete || failure) break;
        await new Promise<void>((r) => (waiting.wake = r));
        waiting.wake = null;
      }
      if (failure) throw (failure as { e: unknown }).e;
      finished = true;
    } finally {
      if (!finished && !drain) stop = true;
      if (finished) reported(bytes);
    }
  })();
}

async function* tee(src: AsyncIterable<Uint8Array>, done: (buf: Buffer) => Promise<void>, drain: boolean): AsyncGenerator<Uint8Array> {
  const parts: Uint8Array[] = [];
  let complete = false;
  let failed = false;
  const it = src[Symbol.asyncIterator]();
  try {
    for (;;) {
      let n: IteratorResult<Uint8Array>;
      try {
        n = await it.next();
      } catch (e) {
        failed = true;
        throw e;
      }
      if (n.done) {
        complete = true;
        break;
      }
      parts.push(n.value);
      yield n.value;
    }
  } finally {
    if (!complete && !failed && drain) {
      try {
        for (let n = await it.next(); !n.done; n = await it.next()) parts.push(n.value);
        complete = true;
      } catch {
        // the rest did not arrive: nothing is kept
      }
    } else if (!complete) await it.return?.().catch(() => undefined);
    if (complete) await done(Buffer.concat(parts));
  }
}
