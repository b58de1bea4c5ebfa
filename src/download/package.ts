// Download one package, verified, into the cache's content store (or serve it from there),
// while a consumer (the extractor) reads the same bytes as they arrive.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ResolvedPackage } from '../core/types.js';
import { RestartError } from './channel.js';
import type { DownloadOptions, DownloadResult } from './types.js';
import { ConsumerRun } from './consumer-run.js';
import { fromNetwork } from './network.js';

/**
 * Download `pkg` (failing over along pkg.urls), feed its bytes to `opts.consume`, verify size
 * and sha256, and store it in the cache's content store. Throws NotFoundError (69) when every
 * URL said 404, IntegrityError (65) on a digest/size mismatch (nothing stored, partial removed),
 * NetworkError (75) when every mirror failed after retries (partial kept for a later resume).
 */
export async function downloadPackage<T = undefined>(pkg: ResolvedPackage, opts: DownloadOptions<T>): Promise<DownloadResult<T>> {
  const { cache } = opts;
  const useStore = opts.useStore ?? true;
  const key = cache.packageKey(pkg.sha256, pkg.fileName);
  if (useStore) {
    const hit = await fromStore(pkg, opts);
    if (hit) {
      await cache.dropOrphanSidecar(key);
      return hit;
    }
  }
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
  try {
    for await (const chunk of createReadStream(hit.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await consumer.push(chunk);
    }
  } catch (e) {
    await consumer.abort(e); // as in fromNetwork: no extractor is left waiting for bytes
    throw e;
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
