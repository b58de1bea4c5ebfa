// The partial branch of the download stage: only the xz blocks holding the vmlinux, by HTTP Range.

import type { Cache } from '../../cache/index.js';
import type { PaceLimits } from '../../download/pace.js';
import { IntegrityError, SignatureError } from '../../core/errors.js';
import type { PartialFetchProvenance, ProgressListener } from '../../core/types.js';
import type { ExtractJob, JobResult } from './options.js';
import { rpmHeadCheck } from './rpm-signature.js';

/**
 * Below this size a package is downloaded whole: the partial path's own reads (a 64 KiB window at
 * each end for the archive headers and the xz index, one request per block) would save little or
 * nothing — on a 1 MB package they cost more than the package — and the sha256 check is kept.
 */
const PARTIAL_MIN_SIZE = 4 << 20;

/**
 * Unless the package is to be kept (--keep-packages), a block-indexed package (multi-block xz:
 * Debian debs, RHEL 8+ RPMs) need not be downloaded whole: only the xz blocks holding the vmlinux
 * are fetched by Range and checked by their own xz checks and the archive's sizes (docs/speed.md).
 * The package's own sha256 cannot be checked on a part of it: the provenance keeps the index's
 * digest with `sha256Verified: false` and an info line says so. Null: not applicable (single
 * block, no Range, a full walk, no size, already in the store) — download it whole.
 */
export async function partialFetch(job: ExtractJob, cache: Cache, emit: ProgressListener, signal: AbortSignal | undefined, pace?: PaceLimits): Promise<JobResult | null> {
  const { pkg } = job;
  const url = pkg.urls[0];
  if (job.stopAfter === undefined || pkg.size === null || pkg.size < PARTIAL_MIN_SIZE || url === undefined || (await cache.findPackage(pkg.sha256, pkg.fileName))) return null;
  // An interrupted whole download (a --keep-packages run, or one that fell back) is resumed
  // instead: only its rest is fetched, and no stale partial file is left behind.
  if ((await cache.partialBytes(cache.packageKey(pkg.sha256, pkg.fileName))) > 0) return null;
  const { openRangeReader } = await import('../../download/range-reader.js');
  const { tryPartialExtract } = await import('../../extract/partial.js');
  try {
    const ra = await openRangeReader(url, pkg.size, { ...(signal ? { signal } : {}), ...(pace ? { pace } : {}) });
    if (!ra) return null;
    const check = rpmHeadCheck(pkg, emit);
    const r = await tryPartialExtract(ra, pkg.kind, { destDir: job.dir, select: job.selector, stopAfter: job.stopAfter, label: pkg.fileName, onProgress: emit, ...(signal ? { signal } : {}), ...(check ? { rpmHeadCheck: check } : {}) });
    if (!r) return null;
    const partial: PartialFetchProvenance = { bytesFetched: ra.bytesReceived, blocksDecoded: r.partial.blocksDecoded, blocksTotal: r.partial.blocksTotal, hedged: ra.hedges };
    emit({
      kind: 'info',
      message: `${pkg.fileName}: fetched ${partial.bytesFetched} of ${pkg.size} bytes (${partial.blocksDecoded} of ${partial.blocksTotal} xz blocks${ra.hedges > 0 ? `; ${ra.hedges} straggling range${ra.hedges === 1 ? '' : 's'} asked for again, ${ra.hedgesWon} answered first by the second request` : ''}), each block checked by its xz check; the package sha256 covers the whole file and was not checked (--no-partial downloads and checks it whole)`,
    });
    return { job, r: { url, sha256: pkg.sha256 ?? '', size: pkg.size, cached: false, path: null, consumed: r, sha256Verified: false, partial } };
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof IntegrityError || e instanceof SignatureError) throw e; // the whole package would be refused too
    emit({ kind: 'warning', code: 'KDBG_E_NETWORK', message: `${pkg.fileName}: partial fetch failed (${(e as Error).message}); downloading the whole package` });
    await cache.removeTree(job.dir);
    return null;
  }
}
