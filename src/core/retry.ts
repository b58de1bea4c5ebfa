// When to try again and how long to wait: exponential backoff with jitter, capped, overridden by
// the server's Retry-After (seconds or an HTTP date) when it sends one. One policy for every
// request kdbg makes: index lookups in resolve/, package, range and debuginfod transfers in
// download/ (so it lives in core/, which both may import).

export interface RetryPolicy {
  /** Failed attempts allowed per URL before failing over to the next one. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this fails over to the next mirror instead of waiting. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 4, minDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/** Backoff before retry number `failures` (1-based): min·2^(n-1), capped, with 50–100 % jitter. */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.5 + random() * 0.5));
}

/** Parse Retry-After (delta-seconds or HTTP-date) into milliseconds from `now`; null when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - now);
}

/** Statuses worth retrying on the same URL. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
