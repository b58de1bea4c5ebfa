// Ids kdbg cannot resolve from the cache or the repositories' indexes go to kdbg's own upstream
// debuginfod servers (DEBUGINFOD_URLS, as elfutils federates): the first 200 is relayed to the
// client as it streams (not stored: an upstream debuginfod already caches, and kdbg's cache
// holds releases, not loose files). A 404 from every upstream is a 404.

import type { HttpFetcher, HttpResponse } from '../core/types.js';

export interface Forwarded {
  server: string;
  res: HttpResponse;
}

/** The first upstream answering 200 for `path` (`/buildid/<id>/debuginfo`…), or null. */
export async function forwardRequest(servers: readonly string[], path: string, http: HttpFetcher, idleMs = 30_000): Promise<Forwarded | null> {
  for (const s of servers) {
    let res: HttpResponse;
    try {
      res = await http.get(`${s.replace(/\/+$/, '')}${path}`, { idleMs });
    } catch {
      continue; // an unreachable upstream is the same as one that lacks the id
    }
    if (res.status === 200) return { server: s, res };
    for await (const _ of res.body) void _;
  }
  return null;
}
