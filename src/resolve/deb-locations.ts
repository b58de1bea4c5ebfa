// Reading a release's Debian/Ubuntu index locations (deb.ts) concurrently, with the outcome of the
// one-after-another loop it replaced (issues 16 and 19). On the host's archive a first fetch reads
// three suites; one after another, each waited for the last one's InRelease request, its gpgv
// check (18-21 ms each on a quiet machine), its Packages request and the cache writes, while the
// big main index was decoded alone. Now the suites of a group are read at the same time, at most
// LOCATION_LANES at once, and the results are taken in location order, so:
//   - the candidates and the attempts come out in the same order as before;
//   - the same indexes are read (the same requests, the same counts): without a pinned version
//     every location of a group was read anyway; with one, the first location that has it ends
//     the search, so those groups are still read one location at a time (reading ahead would ask
//     for indexes the old loop never asked for);
//   - the host's archives are read only when the configured ones (--mirror, --repo, config) had no
//     candidate at all, as before;
//   - the error thrown is the one the loop would have thrown first: the first location, in order,
//     that fails. Locations after it are cancelled (their signal aborts) or never started, and
//     the ones before it are waited for (one of them may still fail first).
// Every check is the location's own (deb.ts scanIndex): signature, dates, index digests.

/** Locations read at the same time (a suite holds one Packages read and one gpgv process at most). */
export const LOCATION_LANES = 4;

export interface LocationLike {
  /** From the host's apt sources: read only when the configured locations had no candidate. */
  fromHost: boolean;
}

/**
 * Read `locations` with `scan` (which records its attempts in the array it is given), as the loop
 * of deb.ts did: configured locations first, host ones when those found nothing; with `pinHit`
 * (a pinned version), one at a time until `pinHit(all candidates so far)`.
 */
export async function readLocations<L extends LocationLike, C, A>(
  locations: readonly L[],
  scan: (loc: L, attempts: A[], signal: AbortSignal | undefined) => Promise<C[]>,
  opts: { pinHit: ((all: readonly C[]) => boolean) | null; signal?: AbortSignal | undefined; lanes?: number },
): Promise<{ all: C[]; attempts: A[] }> {
  const all: C[] = [];
  const attempts: A[] = [];
  const groups = [locations.filter((l) => !l.fromHost), locations.filter((l) => l.fromHost)];
  for (const [g, group] of groups.entries()) {
    // What the user configured wins: the host's archives are read only when it had nothing.
    if (g === 1 && all.length > 0) break;
    if (opts.pinHit) {
      for (const loc of group) {
        throwIfAborted(opts.signal);
        all.push(...(await scan(loc, attempts, opts.signal)));
        // With a pinned version the first archive that has it is enough (mirrors come first).
        if (opts.pinHit(all)) return { all, attempts };
      }
      continue;
    }
    const results = await inOrder(group, opts.lanes ?? LOCATION_LANES, opts.signal, async (loc, signal) => {
      const mine: A[] = [];
      const found = await scan(loc, mine, signal);
      return { found, mine };
    });
    for (const r of results) {
      attempts.push(...r.mine);
      all.push(...r.found);
    }
  }
  return { all, attempts };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * `fn` over `items`, at most `lanes` at a time, results in item order. When item i fails, the
 * items after it are cancelled (their signal aborts) or not started, the ones before it finish,
 * and the first failure in item order is thrown: the failure a loop over the items would throw.
 */
export async function inOrder<T, R>(items: readonly T[], lanes: number, parent: AbortSignal | undefined, fn: (item: T, signal: AbortSignal) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const controllers = items.map(() => new AbortController());
  const failures = new Map<number, unknown>();
  let failedAt = Infinity;
  let next = 0;
  const fail = (i: number, e: unknown): void => {
    failures.set(i, e);
    if (i >= failedAt) return;
    failedAt = i;
    for (let j = i + 1; j < items.length; j++) controllers[j]!.abort(new Error(`cancelled: item ${i} failed`));
  };
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length || i > failedAt) return;
      try {
        throwIfAborted(parent);
        const signal = parent ? AbortSignal.any([parent, controllers[i]!.signal]) : controllers[i]!.signal;
        results[i] = await fn(items[i]!, signal);
      } catch (e) {
        fail(i, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
  if (failedAt !== Infinity) throw failures.get(failedAt);
  return results;
}
