// What downloadPackage takes and returns.

import type { Cache } from '../cache/index.js';
import type { ProgressListener } from '../core/types.js';
import type { PaceLimits } from './pace.js';
import type { RetryPolicy } from '../core/retry.js';

/** Reads the package bytes as they arrive. Called again (attempt + 1) after a restart from byte 0. */
export type PackageConsumer<T> = (chunks: AsyncIterable<Uint8Array>, attempt: number) => Promise<T>;

export interface DownloadOptions<T> {
  cache: Cache;
  consume?: PackageConsumer<T>;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  /** Idle and low-speed bounds of each response (pace.ts); none: undici's defaults. */
  pace?: PaceLimits;
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
