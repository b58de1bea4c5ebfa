// Fetching a package from its URLs: resume, retries and mirror failover.
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
import { request } from 'undici';
import type { PartialFile } from '../cache/partial.js';
import { CacheError, IntegrityError, KdbgError, NetworkError, NotFoundError } from '../core/errors.js';
import type { ResolvedPackage } from '../core/types.js';
import { dispatcher, flattenHeaders } from './http.js';
import { keepArrivedBytes } from './body.js';
import { SpeedGuard, undiciTimeouts } from './pace.js';
import { backoffDelay, defaultRetryPolicy, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from '../core/retry.js';
import type { DownloadOptions, DownloadResult } from './types.js';
import { ConsumerRun } from './consumer-run.js';

interface UrlOutcome {
  url: string;
  reason: string;
  notFound: boolean;
  sizeMismatch: boolean;
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

export async function fromNetwork<T>(pkg: ResolvedPackage, partial: PartialFile, opts: DownloadOptions<T>): Promise<DownloadResult<T>> {
  const consumer = new ConsumerRun(opts.consume);
  try {
    return await download(pkg, partial, opts, consumer);
  } catch (e) {
    // Whatever ends the download (the cache's disk full, every mirror gone, an abort) ends the
    // consumer with it: an extractor left waiting for bytes would keep its decoder thread, and
    // with it the process, alive after the error was reported.
    await consumer.abort(e);
    throw e;
  }
}

async function download<T>(pkg: ResolvedPackage, partial: PartialFile, opts: DownloadOptions<T>, consumer: ConsumerRun<T>): Promise<DownloadResult<T>> {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...opts.retry };
  const emit = opts.onProgress ?? ((): void => undefined);
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
  // Failures on this URL in all, progress or not: a mirror that drops every response part-way
  // still makes progress each time, and without a bound it was retried for ever (72 requests and
  // 44 s in one operator's test, longer with a trickle).
  let attemptsOnUrl = 0;
  const maxAttemptsOnUrl = 3 * (policy.retries + 1);

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
    attemptsOnUrl = 0;
    const to = pkg.urls[urlIdx];
    if (to !== undefined) emit({ kind: 'failover', name, from: url, to, reason });
  };

  const failed = async (reason: string, retryAfterMs: number | null = null): Promise<void> => {
    failures++;
    attemptsOnUrl++;
    if (attemptsOnUrl >= maxAttemptsOnUrl) {
      await nextUrl(`${reason} (${attemptsOnUrl} failed attempts in all)`);
      return;
    }
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
      const head = await request(url, { method: 'HEAD', headers: { 'user-agent': 'kdbg/0.1 (+kernel debuginfo fetcher)' }, dispatcher: dispatcher(url), ...(opts.signal ? { signal: opts.signal } : {}) });
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
        res = await request(url, { method: 'GET', headers, dispatcher: dispatcher(url), ...undiciTimeouts(opts.pace), ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (e) {
        opts.signal?.throwIfAborted();
        await failed(`request failed: ${errText(e)}`);
        continue;
      }
      const h = flattenHeaders(res.headers);
      const status = res.statusCode;
      // Taken at once, before any await: bytes that arrive before a broken connection are kept (body.ts).
      const arriving = status === 200 || status === 206 ? keepArrivedBytes(res.body) : null;
      const etag = h['etag'] ?? null;
      const lastModified = h['last-modified'] ?? null;
      let skip = 0;

      if (status === 200) {
        const len = h['content-length'] !== undefined ? Number(h['content-length']) : null;
        if (pkg.size !== null && len !== null && len !== pkg.size) {
          arriving!.discard();
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
          arriving!.discard();
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
      const guard = new SpeedGuard(opts.pace, url);
      try {
        for await (const raw of arriving!) {
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
          guard.onBytes(chunk.length);
          if (consumer.failed && pkg.sha256 === null) break;
        }
      } catch (e) {
        opts.signal?.throwIfAborted();
        if (e instanceof KdbgError && !(e instanceof NetworkError)) throw e; // our own (cache I/O) failure, not the network's
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
    // Store first, then drop the validators: a kill between the two leaves the package stored and
    // an orphan sidecar (removed by the next run that finds the package stored), never a complete
    // .part without its sidecar, which the next run would have to truncate and fetch again.
    const stored = await opts.cache.storePackage(partial.path, digest, pkg.fileName);
    await partial.removeSidecar();
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
