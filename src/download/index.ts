// Download one package, verified, into the cache's content store, while a consumer (the
// extractor) reads the same bytes as they arrive.
//
// Resume rules (after undici's retry-handler): bytes are spliced only onto bytes of the same
// file. On the same URL that means a 206 whose Content-Range starts exactly at our offset, whose
// total equals the size we expect, sent in answer to an If-Range carrying the strong ETag (or
// Last-Modified) we saw before — a changed file makes the server answer 200 and we start over.
// On another mirror (failover) validators differ by nature, so the 206 must match offset and
// total size, and the sha256 over the whole file decides; a file that fails its digest after a
// splice is fetched once more from byte 0 before we call it corrupt. A 200 where a 206 was
// asked for (Range ignored) restarts from 0, except on the same URL with the same strong ETag,
// where the first bytes of the body are skipped instead (same entity, no need to re-extract).
//
// Whenever the bytes a consumer has seen become void (restart from 0), the consumer is told with
// a RestartError and started again; it never sees a corrupt splice.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request } from 'undici';
import type { Cache } from '../cache/index.js';
import type { PartialFile } from '../cache/partial.js';
import { CacheError, IntegrityError, KdbgError, NetworkError, NotFoundError } from '../core/errors.js';
import type { ProgressListener, ResolvedPackage } from '../core/types.js';
import { ByteChannel, RestartError } from './channel.js';
import { dispatcher, flattenHeaders } from './http.js';
import { backoffDelay, defaultRetryPolicy, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from './retry.js';

export { ByteChannel, RestartError } from './channel.js';
export { defaultRetryPolicy, type RetryPolicy } from './retry.js';
export { undiciFetcher } from './http.js';

/** Reads the package bytes as they arrive. Called again (attempt + 1) after a restart from byte 0. */
export type PackageConsumer<T> = (chunks: AsyncIterable<Uint8Array>, attempt: number) => Promise<T>;

export interface DownloadOptions<T> {
  cache: Cache;
  consume?: PackageConsumer<T>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  /** How long to wait for another process downloading the same package. */
  lockTimeoutMs?: number;
  /** Answer from a stored package with the same digest (default true). */
  useStore?: boolean;
  /**
   * Fetch large packages over several Range connections (and mirrors) at once, consumed in order
   * (src/download/segmented.ts): mirrors cap each connection, el7 payloads are one xz stream.
   * Used, when given, for a fresh download of a package of known size ≥ minSize (default 32 MiB).
   * Off by default: measured on the el7 bench package at 40 MB/s per connection the decoder, not
   * the connection, is the bottleneck, and the segment window raised peak RSS from ~140 MB to
   * ~220–285 MB (the goal is ≤ 250 MB). Turn it on where mirrors cap connections far below the
   * decoder's speed.
   */
  segmented?: false | { minSize?: number; connections?: number; segmentSize?: number };
}

export interface DownloadResult<T> {
  name: string;
  fileName: string;
  /** The verified package in the content store. */
  path: string;
  sha256: string;
  size: number;
  /** URL that delivered the last bytes (the first candidate when answered from the store). */
  url: string;
  /** True when no network transfer was needed. */
  cached: boolean;
  bytesFromNetwork: number;
  /** Bytes reused from a partial download left by an earlier run. */
  resumedFrom: number;
  /** What the consumer returned (undefined without a consumer). */
  consumed: T | undefined;
}

interface UrlOutcome {
  url: string;
  reason: string;
  notFound: boolean;
  sizeMismatch: boolean;
}

/** Runs the consumer and restarts it when its bytes become void. */
class ConsumerRun<T> {
  private channel: ByteChannel | null = null;
  private promise: Promise<void> = Promise.resolve();
  private attempt = 0;
  value: T | undefined;
  error: unknown = null;
  settled = false;

  constructor(private readonly consume: PackageConsumer<T> | undefined) {
    this.start();
  }

  private start(): void {
    if (!this.consume) return;
    const ch = new ByteChannel();
    this.channel = ch;
    this.value = undefined;
    this.error = null;
    this.settled = false;
    const attempt = this.attempt++;
    this.promise = Promise.resolve()
      .then(() => this.consume!(ch, attempt))
      .then(
        (v) => {
          this.value = v;
        },
        (e: unknown) => {
          this.error = e;
        },
      )
      .finally(() => {
        this.settled = true;
        ch.detach();
      });
  }

  /** The consumer stopped with an error that is not ours (not a restart). */
  get failed(): boolean {
    return this.settled && this.error !== null && !(this.error instanceof RestartError);
  }

  async push(chunk: Uint8Array): Promise<void> {
    await this.channel?.push(chunk);
  }

  async restart(): Promise<void> {
    if (!this.consume || !this.channel) return;
    this.channel.fail(new RestartError());
    await this.promise;
    this.start();
  }

  async abort(err: unknown): Promise<void> {
    if (!this.channel) return;
    this.channel.fail(err);
    await this.promise;
  }

  async finish(): Promise<void> {
    this.channel?.end();
    await this.promise;
  }
}

function isStrongEtag(etag: string | null | undefined): etag is string {
  return typeof etag === 'string' && etag.length > 0 && !etag.startsWith('W/');
}

function parseContentRange(v: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

function errText(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return [err.code, err.message].filter(Boolean).join(' ') || String(e);
}

/**
 * Download `pkg` (failing over along pkg.urls), feed its bytes to `opts.consume`, verify size
 * and sha256, and store it in the cache's content store. Throws NotFoundError (69) when every
 * URL said 404, IntegrityError (65) on a digest/size mismatch (nothing stored, partial removed),
 * NetworkError (75) when every mirror failed after retries (partial kept for a later resume).
 */
export async function downloadPackage<T = undefined>(pkg: ResolvedPackage, opts: DownloadOptions<T>): Promise<DownloadResult<T>> {
  const { cache } = opts;
  const useStore = opts.useStore ?? true;
  if (useStore) {
    const hit = await fromStore(pkg, opts);
    if (hit) return hit;
  }
  const key = cache.packageKey(pkg.sha256, pkg.fileName);
  const lock = await cache.lockPackage(key, {
    ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onWait: (h) => opts.onProgress?.({ kind: 'info', message: `${pkg.fileName}: waiting for ${h ? `pid ${h.pid} on ${h.host}` : 'another process'} downloading it` }),
  });
  try {
    // Another process may have stored it while we waited for the lock.
    if (useStore) {
      const hit = await fromStore(pkg, opts);
      if (hit) return hit;
    }
    const partial = await cache.openPartial(key);
    try {
      return await fromNetwork(pkg, partial, opts);
    } finally {
      await partial.close();
    }
  } finally {
    await lock.release();
  }
}

/** Serve a stored package: re-hash while feeding the consumer (a bad blob is evicted, then refetched). */
async function fromStore<T>(pkg: ResolvedPackage, opts: DownloadOptions<T>): Promise<DownloadResult<T> | null> {
  const hit = await opts.cache.findPackage(pkg.sha256, pkg.fileName);
  if (!hit) return null;
  if (pkg.size !== null && hit.size !== pkg.size) {
    await opts.cache.removePackage(hit.sha256, pkg.fileName);
    return null;
  }
  const consumer = new ConsumerRun(opts.consume);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(hit.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    await consumer.push(chunk);
  }
  const digest = hash.digest('hex');
  if (digest !== hit.sha256) {
    await consumer.abort(new RestartError());
    opts.onProgress?.({ kind: 'warning', code: 'KDBG_E_INTEGRITY', message: `cache: ${hit.path} does not hash to its name any more; removed, fetching again` });
    await opts.cache.removePackage(hit.sha256, pkg.fileName);
    return null;
  }
  await consumer.finish();
  if (consumer.failed) throw consumer.error;
  return {
    name: pkg.name,
    fileName: pkg.fileName,
    path: hit.path,
    sha256: digest,
    size: hit.size,
    url: pkg.urls[0] ?? hit.path,
    cached: true,
    bytesFromNetwork: 0,
    resumedFrom: 0,
    consumed: consumer.value,
  };
}

async function fromNetwork<T>(pkg: ResolvedPackage, partial: PartialFile, opts: DownloadOptions<T>): Promise<DownloadResult<T>> {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...opts.retry };
  const emit = opts.onProgress ?? ((): void => undefined);
  const consumer = new ConsumerRun(opts.consume);
  const outcomes: UrlOutcome[] = [];
  const name = pkg.fileName;

  let hash: Hash = createHash('sha256');
  /** Bytes hashed and handed to the consumer; always ≤ partial.size. */
  let fed = 0;
  // Without an index size, the size a previous run learnt lets a complete partial skip the request.
  let total: number | null = pkg.size ?? (partial.size > 0 ? (partial.meta?.size ?? null) : null);
  let spliced = false;
  let refetched = false;
  let bytesFromNetwork = 0;
  const resumable = partial.size;
  let resumedFrom = 0;
  let lastUrl = pkg.urls[0] ?? '';

  let urlIdx = 0;
  let failures = 0;

  /** Bytes seen so far are void: empty the partial file and start the consumer over. */
  const restartFromZero = async (): Promise<void> => {
    await partial.truncate();
    if (fed > 0) await consumer.restart();
    hash = createHash('sha256');
    fed = 0;
    total = pkg.size;
  };

  const nextUrl = async (reason: string, flags: { notFound?: boolean; sizeMismatch?: boolean } = {}): Promise<void> => {
    const url = pkg.urls[urlIdx] ?? '';
    outcomes.push({ url, reason, notFound: flags.notFound ?? false, sizeMismatch: flags.sizeMismatch ?? false });
    urlIdx++;
    failures = 0;
    const to = pkg.urls[urlIdx];
    if (to !== undefined) emit({ kind: 'failover', name, from: url, to, reason });
  };

  const failed = async (reason: string, retryAfterMs: number | null = null): Promise<void> => {
    failures++;
    if (failures > policy.retries || (retryAfterMs !== null && retryAfterMs > policy.maxRetryAfterMs)) {
      await nextUrl(reason);
      return;
    }
    const delayMs = retryAfterMs ?? backoffDelay(failures, policy);
    emit({ kind: 'retry', name, url: pkg.urls[urlIdx] ?? '', attempt: failures, delayMs, reason });
    await sleep(delayMs, opts.signal);
  };

  let lastProgress = 0;
  const progress = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastProgress < 100) return;
    lastProgress = now;
    emit({ kind: 'download-progress', name, received: partial.size, total });
  };

  const seg = opts.segmented ?? false;
  if (seg !== false && resumable === 0 && pkg.size !== null && pkg.size >= (seg.minSize ?? 32 << 20) && pkg.urls.length > 0) {
    // Fast path. Any failure leaves a contiguous prefix on disk that the loop below resumes.
    const url = pkg.urls[0]!;
    try {
      const head = await request(url, { method: 'HEAD', headers: { 'user-agent': 'kdbg/0.1 (+kernel debuginfo fetcher)' }, dispatcher: dispatcher(), ...(opts.signal ? { signal: opts.signal } : {}) });
      await head.body.dump().catch(() => undefined);
      const h = flattenHeaders(head.headers);
      const { openSegmentedDownload } = await import('./segmented.js');
      const dl =
        head.statusCode === 200 && Number(h['content-length'] ?? pkg.size) === pkg.size
          ? await openSegmentedDownload(pkg.urls, pkg.size, {
              ...(seg.connections !== undefined ? { connections: seg.connections } : {}),
              // Up to 4 MiB segments, connections + 2 buffered: ≤ 24 MiB on top of the decoder's
              // memory; smaller for a smaller package, so every connection gets several.
              segmentSize: seg.segmentSize ?? Math.min(4 << 20, Math.max(256 << 10, Math.floor(pkg.size / (4 * (seg.connections ?? 4))))),
              ...(opts.signal ? { signal: opts.signal } : {}),
            })
          : null;
      if (dl) {
        // Validators of the first mirror, so a later single-connection resume can use If-Range.
        await partial.setMeta({ url, etag: h['etag'] ?? null, lastModified: h['last-modified'] ?? null, size: pkg.size, bytes: 0, sha256: pkg.sha256, fileName: pkg.fileName });
        emit({ kind: 'download-start', name, url, total: pkg.size, resumedFrom: 0 });
        total = pkg.size;
        for await (const chunk of dl.chunks) {
          if (partial.size + chunk.length > pkg.size) throw new Error(`segments exceed the ${pkg.size} bytes the index announced`);
          hash.update(chunk);
          await Promise.all([partial.append(chunk), consumer.push(chunk)]);
          fed += chunk.length;
          bytesFromNetwork += chunk.length;
          progress();
        }
        progress(true);
        spliced = pkg.urls.length > 1; // segments may come from several mirrors
      }
    } catch (e) {
      opts.signal?.throwIfAborted();
      if (e instanceof CacheError) throw e; // our disk, not the network
      emit({ kind: 'warning', code: 'KDBG_E_NETWORK', message: `${name}: segmented download stopped at ${partial.size} bytes (${errText(e)}); continuing over one connection` });
    }
  }

  for (;;) {
    opts.signal?.throwIfAborted();
    if (consumer.failed && pkg.sha256 === null) break; // nothing left to verify for: stop early
    const url = pkg.urls[urlIdx];
    if (url === undefined) throw finalError(pkg, outcomes);
    lastUrl = url;

    // A partial that is already complete (killed between the last byte and the publish) needs no request.
    const disk = partial.size;
    let complete = total !== null && disk === total && partial.meta !== null;
    if (!complete) {
      const headers: Record<string, string> = { 'user-agent': 'kdbg/0.1 (+kernel debuginfo fetcher)', 'accept-encoding': 'identity' };
      const meta = partial.meta;
      if (disk > 0) {
        headers['range'] = `bytes=${disk}-`;
        if (meta && meta.url === url) {
          if (isStrongEtag(meta.etag)) headers['if-range'] = meta.etag;
          else if (meta.lastModified) headers['if-range'] = meta.lastModified;
        }
      }
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, { method: 'GET', headers, dispatcher: dispatcher(), ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (e) {
        opts.signal?.throwIfAborted();
        await failed(`request failed: ${errText(e)}`);
        continue;
      }
      const h = flattenHeaders(res.headers);
      const status = res.statusCode;
      const etag = h['etag'] ?? null;
      const lastModified = h['last-modified'] ?? null;
      let skip = 0;

      if (status === 200) {
        const len = h['content-length'] !== undefined ? Number(h['content-length']) : null;
        if (pkg.size !== null && len !== null && len !== pkg.size) {
          await res.body.dump().catch(() => undefined);
          await nextUrl(`serves ${len} bytes, the index says ${pkg.size}`, { sizeMismatch: true });
          continue;
        }
        if (disk > 0) {
          const same = meta !== null && meta.url === url && isStrongEtag(meta.etag) && meta.etag === etag && fed === disk;
          if (same) skip = disk; // Range ignored but provably the same entity: skip what we have
          else await restartFromZero();
        }
        total = len ?? total;
      } else if (status === 206) {
        const cr = parseContentRange(h['content-range']);
        const knownTotal = total ?? meta?.size ?? null;
        const sameEntity = !(meta && meta.url === url && isStrongEtag(meta.etag) && etag !== null && etag !== meta.etag);
        if (!cr || cr.start !== disk || (knownTotal !== null && cr.total !== knownTotal) || cr.total === null || !sameEntity) {
          await res.body.dump().catch(() => undefined);
          await restartFromZero();
          failures++;
          if (failures > policy.retries) await nextUrl(`answered a resume with an inconsistent range (${h['content-range'] ?? 'no Content-Range'})`);
          continue;
        }
        total = cr.total;
        if (fed < disk) {
          // Resuming a run that died: the consumer and the digest get the bytes on disk first.
          resumedFrom = disk;
          for await (const chunk of partial.readBack(fed)) {
            hash.update(chunk);
            fed += chunk.length;
            await consumer.push(chunk);
          }
        }
        spliced = true;
      } else if (status === 416 && disk > 0) {
        await res.body.dump().catch(() => undefined);
        await restartFromZero();
        continue;
      } else {
        await res.body.dump().catch(() => undefined);
        if (status === 404 || status === 410) await nextUrl(`HTTP ${status}`, { notFound: true });
        else if (isRetryableStatus(status)) await failed(`HTTP ${status}`, parseRetryAfter(h['retry-after']));
        else await nextUrl(`HTTP ${status}`);
        continue;
      }

      await partial.setMeta({ url, etag, lastModified, size: total, bytes: partial.size, sha256: pkg.sha256, fileName: pkg.fileName });
      emit({ kind: 'download-start', name, url, total, resumedFrom: partial.size });
      const before = fed;
      let tooLong = false;
      try {
        for await (const raw of res.body as AsyncIterable<Uint8Array>) {
          let chunk = raw;
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          if (total !== null && partial.size + chunk.length > total) {
            tooLong = true;
            break;
          }
          hash.update(chunk);
          // Disk write and hand-off to the extractor overlap; both must finish before the next chunk.
          await Promise.all([partial.append(chunk), consumer.push(chunk)]);
          fed += chunk.length;
          bytesFromNetwork += chunk.length;
          progress();
          if (consumer.failed && pkg.sha256 === null) break;
        }
      } catch (e) {
        opts.signal?.throwIfAborted();
        if (e instanceof KdbgError) throw e; // our own (cache I/O) failure, not the network's
        if (fed > before) failures = 0; // progress was made: the retry budget is for stalls
        await failed(`connection lost after ${partial.size} bytes: ${errText(e)}`);
        continue;
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
      progress(true);
      if (tooLong) {
        await restartFromZero();
        await nextUrl(`sent more than the ${total} bytes it announced`, { sizeMismatch: true });
        continue;
      }
      if (consumer.failed && pkg.sha256 === null) break;
      if (total !== null && partial.size < total) {
        if (fed > before) failures = 0;
        await failed(`body ended after ${partial.size} of ${total} bytes`);
        continue;
      }
      complete = true;
    } else if (fed < disk) {
      resumedFrom = disk;
      for await (const chunk of partial.readBack(fed)) {
        hash.update(chunk);
        fed += chunk.length;
        await consumer.push(chunk);
      }
    }

    // Whole file received: verify before anything is published.
    const size = partial.size;
    const digest = hash.digest('hex');
    const sizeBad = pkg.size !== null && size !== pkg.size;
    const digestBad = pkg.sha256 !== null && digest !== pkg.sha256.toLowerCase();
    if (sizeBad || digestBad) {
      if ((spliced || resumable > 0) && !refetched) {
        // A splice can hide a changed file behind matching validators: fetch it whole once more.
        refetched = true;
        spliced = false;
        emit({ kind: 'warning', code: 'KDBG_E_INTEGRITY', message: `${name}: digest mismatch after a resumed download; fetching it again from byte 0` });
        await partial.reset();
        if (fed > 0) await consumer.restart();
        hash = createHash('sha256');
        fed = 0;
        total = pkg.size;
        continue;
      }
      await partial.discard();
      const err = new IntegrityError(
        sizeBad
          ? `${name} from ${lastUrl}: ${size} bytes, the repository index says ${pkg.size}`
          : `${name} from ${lastUrl}: sha256 ${digest} does not match the repository index's ${pkg.sha256}`,
        {
          details: { file: name, url: lastUrl, expectedSha256: pkg.sha256, foundSha256: digest, expectedSize: pkg.size, foundSize: size },
          hint: 'the mirror serves a corrupted or changed file; nothing was stored. Try another mirror with --mirror',
        },
      );
      await consumer.abort(err);
      throw err;
    }
    emit({ kind: 'download-done', name, bytes: size });
    await partial.finish();
    await partial.removeSidecar();
    const stored = await opts.cache.storePackage(partial.path, digest, pkg.fileName);
    await consumer.finish();
    if (consumer.failed) throw consumer.error;
    return { name: pkg.name, fileName: pkg.fileName, path: stored, sha256: digest, size, url: lastUrl, cached: false, bytesFromNetwork, resumedFrom, consumed: consumer.value };
  }
  // The consumer failed and there is no digest to download the rest for.
  await consumer.finish();
  throw consumer.error;
}

function finalError(pkg: ResolvedPackage, outcomes: UrlOutcome[]): KdbgError {
  const tried = outcomes.map((o) => `${o.url} (${o.reason})`);
  const details = { file: pkg.fileName, tried: outcomes.map((o) => o.url), reasons: outcomes.map((o) => o.reason) };
  if (outcomes.length > 0 && outcomes.every((o) => o.notFound)) {
    return new NotFoundError(`${pkg.fileName}: not found on any mirror; tried ${tried.join(', ')}`, {
      details,
      hint: 'add a mirror that carries it with --mirror URL or --repo URL',
    });
  }
  if (outcomes.length > 0 && outcomes.every((o) => o.notFound || o.sizeMismatch)) {
    return new IntegrityError(`${pkg.fileName}: every mirror serves a file of the wrong size; tried ${tried.join(', ')}`, { details });
  }
  if (outcomes.length === 0) return new NotFoundError(`${pkg.fileName}: no URL to download it from`, { details });
  return new NetworkError(`${pkg.fileName}: download failed on every mirror after retries; tried ${tried.join(', ')}`, {
    details,
    hint: 'run the same command again to resume from where it stopped',
  });
}
