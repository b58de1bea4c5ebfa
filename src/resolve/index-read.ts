// Reading one repository index (repomd.xml, primary.xml.*) with retries for what a mirror does in
// passing: 5xx, 429, a body that broke off, stalled or came short of its Content-Length. The
// decoder reports a cut body as corrupt data, but it is the connection, worth another try; a
// whole body that does not parse is an answer, not retried. Found by the fault matrix
// (test/reliability): before, one 503 on primary.xml made a package "not found" (exit 69).

import { backoffDelay, defaultRetryPolicy, sleep } from '../core/retry.js';
import type { HttpResponse } from '../core/types.js';

/**
 * Failures worth asking the same URL again for. Not a refused connection (nobody is there) and
 * not a mirror silent past the timeout (the next mirror is the faster way); a body that stalls
 * after it began is retried by readIndex itself.
 */
export const TRANSIENT = /^(HTTP 5|HTTP 429|HTTP 408|network: (?!.*(ECONNREFUSED|ENOTFOUND|EAI_AGAIN)))/;
/** Tries per index URL when the mirror fails in passing (a 503 during a sync, a reset). */
export const INDEX_TRIES = 4;

export interface IndexReadHooks {
  /** The GET: a response, or the failure as a short string (`HTTP 503`, `timeout`, `network: …`). */
  get(url: string): Promise<HttpResponse | string>;
  /** A failure in words, for the attempt record. */
  why(e: unknown): string;
  onRetry?(attempt: number, reason: string): void;
  signal?: AbortSignal;
}

/** The value `consume` made of the index, or the last failure as a string (`… (4 tries)`). */
export async function readIndexWithRetry<T>(url: string, consume: (res: HttpResponse) => Promise<T>, hooks: IndexReadHooks): Promise<T | string> {
  let last = '';
  for (let tryNo = 1; tryNo <= INDEX_TRIES; tryNo++) {
    if (tryNo > 1) await sleep(backoffDelay(tryNo - 1, { ...defaultRetryPolicy, minDelayMs: 250 }), hooks.signal);
    const res = await hooks.get(url);
    if (typeof res === 'string') {
      last = res;
      if (!TRANSIENT.test(res)) return res;
      continue;
    }
    const announced = /^\d+$/.test(res.headers['content-length'] ?? '') ? Number(res.headers['content-length']) : null;
    let received = 0;
    let bodyFailed = false;
    const body = res.body;
    const counted = async function* (): AsyncGenerator<Uint8Array> {
      try {
        for await (const c of body) {
          received += c.length;
          yield c;
        }
      } catch (e) {
        bodyFailed = true;
        throw e;
      }
    };
    try {
      return await consume({ ...res, body: counted() });
    } catch (e) {
      if (hooks.signal?.aborted) throw e;
      if (!bodyFailed && (announced === null || received >= announced)) throw e;
      last = `connection lost while reading (${hooks.why(e)})`;
      hooks.onRetry?.(tryNo, last);
    }
  }
  return `${last} (${INDEX_TRIES} tries)`;
}
