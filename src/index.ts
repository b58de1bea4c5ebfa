// kdbg as a library: `import { fetch } from 'kdbg'` (docs/api.md). The same pipeline functions
// the `kdbg` command calls (src/pipeline/), their options and result types, and the error classes
// whose `code` and `exitCode` the CLI reports. Nothing here writes to stdout or stderr: pass
// `onProgress` / `onEvent` to see what happens.

export { fetchRelease as fetch, fetchFromCache } from './pipeline/fetch/index.js';
export { fetchDebuginfodFirst, type DebuginfodFirstOptions, type FetchVia } from './pipeline/fetch/debuginfod-first.js';
export type { FetchOptions } from './pipeline/fetch/options.js';
export { fetchResultJson, type FetchResult, type FetchedPackage } from './core/fetch-result.js';
export { identify, type DumpIdentification } from './pipeline/identify.js';
export { analyze, analyzeFetched, findCrash, type AnalyzeOptions, type AnalyzeFetchedOptions, type AnalyzeResult, type AnalysisReport, type LocatedCrash } from './pipeline/analyze.js';
export { resolve, type ResolveOptions, type ResolveResult } from './pipeline/resolve.js';
export { listReleases, latestRelease, type ReleasesOptions, type DebKernelRelease } from './pipeline/releases.js';
export { listMembers, unpack } from './pipeline/unpack.js';
export { fetchBatch, runBatch, parseInputList, type BatchItem, type FetchBatchOptions } from './pipeline/batch.js';
export { runWatch, isDumpName, type WatchOptions, type WatchEvent, type WatchItem, type WatchSummary, type DumpProcessor, type ProcessedDump } from './pipeline/watch/loop.js';
export { makeDumpProcessor, type DumpProcessorOptions } from './pipeline/watch/process.js';
export type { PipelineEvent, PipelineListener, PipelineStage } from './pipeline/events.js';
export type { CacheEntry, DumpIdentity, KernelRelease, PackageProvenance, ProgressEvent, ResolvedPackage } from './core/types.js';
export {
  AnalysisError,
  CacheError,
  ConfigError,
  InputFormatError,
  InputNotFoundError,
  IntegrityError,
  InternalError,
  isKdbgError,
  KdbgError,
  LimitError,
  MismatchError,
  NetworkError,
  NotFoundError,
  TruncatedError,
  UnavailableError,
  UnsafePathError,
  UsageError,
} from './core/errors.js';
