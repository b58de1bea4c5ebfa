// Which cache directory an operation uses: `cacheDir` when given, else KDBG_CACHE_DIR, `./cache`
// in a checkout, else ${XDG_CACHE_HOME:-~/.cache}/kdbg (cache/index.ts defaultCacheDir). fetch
// opens this directory and `kdbg serve` serves it, so both agree on where the cache is.

import { resolve } from 'node:path';
import { defaultCacheDir } from '../cache/index.js';
import { processEnv, type Env } from '../core/env.js';

export function cacheDirOf(opts: { cacheDir?: string | undefined; env?: Env | undefined }): string {
  return resolve(opts.cacheDir ?? defaultCacheDir(opts.env ?? processEnv()));
}
