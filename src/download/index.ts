// Download one package, verified, into the cache's content store, while a consumer (the
// extractor) reads the same bytes as they arrive.
//
// Files: package.ts (downloadPackage: the store, the lock, then the network), network.ts (resume,
// retries and failover), consumer-run.ts (the consumer beside the download), types.ts.

export type { PackageConsumer, DownloadOptions, DownloadResult } from './types.js';
export { downloadPackage } from './package.js';
export { ByteChannel, RestartError } from './channel.js';
export { defaultRetryPolicy, type RetryPolicy } from '../core/retry.js';
export { undiciFetcher } from './http.js';
