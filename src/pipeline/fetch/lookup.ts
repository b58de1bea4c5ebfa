// Stage 2, cache look-up: answer from the cache when it holds what is asked, before any mirror
// configuration is read or any request is made. --offline ends here either way.

import type { ResolvedEntry } from '../../cache/index.js';
import { NotFoundError } from '../../core/errors.js';
import { cachedResult, entrySatisfies, type FetchResult } from '../../core/fetch-result.js';
import type { FetchContext } from './options.js';

export type Lookup = { answer: FetchResult } | { answer: null; hit: ResolvedEntry | null };

export async function lookupCache(ctx: FetchContext): Promise<Lookup> {
  const { cache, rel, dump, want } = ctx;
  // A dump's build-id names its kernel exactly: the buildid/ index answers first.
  const byId = dump?.buildId ? await cache.lookupBuildId(dump.buildId) : null;
  const hit = byId ?? (await cache.readEntry(rel.uname));
  if (hit && entrySatisfies(hit, want)) return { answer: cachedResult(cache.root, rel, hit, dump) };
  if (!ctx.opts.offline) return { answer: null, hit };
  if (hit) {
    ctx.emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `${rel.uname}: the cached entry lacks ${want.modules && !hit.wanted.modules ? 'modules' : 'sources'}; --offline answers with what is cached` });
    return { answer: cachedResult(cache.root, rel, hit, dump) };
  }
  throw new NotFoundError(`${rel.uname}: not in the cache ${cache.root}, and --offline forbids the network`, {
    details: { release: rel.uname, cache: cache.root },
    hint: 'run the same command without --offline once a mirror is reachable',
  });
}

/** Under the release lock: the holder we waited for has probably published it. */
export async function lookupAgain(ctx: FetchContext): Promise<{ answer: FetchResult | null; previous: ResolvedEntry | null }> {
  const again = await ctx.cache.readEntry(ctx.rel.uname);
  if (again && entrySatisfies(again, ctx.want)) return { answer: cachedResult(ctx.cache.root, ctx.rel, again, ctx.dump), previous: again };
  return { answer: null, previous: again };
}
