// HTTP to the historical archives' metadata services (Debian snapshot, Launchpad), which
// rate-limit hard: every answer worth keeping is kept in the cache (cache/meta.ts) and asked again
// only when absent or stale; 429 and 503 are retried after the Retry-After the service gives (else
// 1 s, 2 s), at most ARCHIVE_ATTEMPTS times, then a NetworkError (exit 75) says so in one line.
// A service that cannot be reached at all is an ArchiveUnreachable, which the caller turns into
// "not found anywhere" with every URL tried.

import { readMeta, writeMeta } from '../cache/meta.js';
import { InputFormatError, NetworkError } from '../core/errors.js';
import { parseRetryAfter } from '../core/retry.js';
import { discardBody as drain } from '../core/http-body.js';
import type { HttpFetcher, HttpResponse, ProgressListener } from '../core/types.js';

/** Tries of one metadata request while the service answers 429/503. */
export const ARCHIVE_ATTEMPTS = 3;
/** A Retry-After longer than this is not waited for: the one line tells the user when to come back. */
export const ARCHIVE_MAX_WAIT_MS = 60_000;
/** Largest JSON answer read (a version list of a kernel package is a few kB). */
const MAX_JSON_BYTES = 8 << 20;

export interface ArchiveAttempt {
  url: string;
  result: string;
}

/** The service has the file but kdbg cannot verify it (no archived index names it): said, not guessed around. */
export class ArchiveMiss extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'ArchiveMiss';
  }
}

/** The service could not be reached (connection refused, DNS, timeout, 5xx other than 503). */
export class ArchiveUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly why: string,
  ) {
    super(`${url}: ${why}`);
    this.name = 'ArchiveUnreachable';
  }
}

export interface ArchiveClientOptions {
  http: HttpFetcher;
  /** `snapshot` or `launchpad`: names the cache directory and the messages. */
  service: string;
  /** Cache root holding meta/ (null: keep nothing). */
  cacheRoot: string | null;
  timeoutMs: number;
  attempts: ArchiveAttempt[];
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Test seam for the backoff; real sleeps by default. */
  sleep?: (ms: number) => Promise<void>;
}


export class ArchiveClient {
  /** Requests sent to the service by this client (cache answers not counted). */
  requests = 0;
  /** Whether the last json() answer came from the cache. */
  lastFromCache = false;

  constructor(private readonly o: ArchiveClientOptions) {}

  get timeoutMs(): number {
    return this.o.timeoutMs;
  }

  /** The caller's progress listener, for events of work done around this client's answers (signatures). */
  get onProgress(): ProgressListener | undefined {
    return this.o.onProgress;
  }

  private signal(ms: number): AbortSignal {
    const t = AbortSignal.timeout(ms);
    return this.o.signal ? AbortSignal.any([this.o.signal, t]) : t;
  }

  /**
   * GET with the rate-limit policy. Returns the 2xx response, or the status of any other answer
   * (404: not there). Throws NetworkError (75) when the service keeps refusing, ArchiveUnreachable
   * when it cannot be reached or fails (5xx other than 503).
   */
  async get(url: string, headers: Record<string, string> = {}, timeoutMs = this.o.timeoutMs): Promise<HttpResponse | number> {
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      this.requests++;
      try {
        res = await this.o.http.get(url, { signal: this.signal(timeoutMs), headers });
      } catch (e) {
        if (this.o.signal?.aborted) throw e;
        const err = e as Error;
        const why = err.name === 'TimeoutError' || /abort|timeout/i.test(err.message) ? 'timeout' : `network: ${err.message.startsWith(`${url}: `) ? err.message.slice(url.length + 2) : err.message}`;
        this.o.attempts.push({ url, result: why });
        throw new ArchiveUnreachable(url, why);
      }
      if (res.status >= 200 && res.status < 300) return res;
      await drain(res);
      if (res.status === 429 || res.status === 503) {
        const after = parseRetryAfter(res.headers['retry-after']);
        const wait = after ?? 1000 * 2 ** (attempt - 1);
        this.o.attempts.push({ url, result: `HTTP ${res.status}` });
        if (attempt >= ARCHIVE_ATTEMPTS || wait > ARCHIVE_MAX_WAIT_MS) {
          const later = after !== null ? ` (it asks to retry after ${Math.ceil(after / 1000)} s)` : '';
          throw new NetworkError(`${url}: the ${this.o.service} service refused with HTTP ${res.status} ${attempt} time${attempt === 1 ? '' : 's'}${later}; try again later`, {
            details: { url, status: res.status, attempts: this.o.attempts, service: this.o.service },
            hint: 'archive services rate-limit; a second run reads its answers from the cache, or point the base URL at a local copy (docs/mirrors.md, "Archives")',
          });
        }
        this.o.onProgress?.({ kind: 'retry', name: this.o.service, url, attempt, delayMs: wait, reason: `HTTP ${res.status}` });
        await sleep(wait);
        continue;
      }
      this.o.attempts.push({ url, result: `HTTP ${res.status}` });
      if (res.status >= 500) throw new ArchiveUnreachable(url, `HTTP ${res.status}`);
      return res.status;
    }
  }

  /**
   * A JSON answer, from the cache when it holds one younger than maxAgeMs; null on 404/410.
   * `fresh` skips the cache (a cached list that lacks what is asked for).
   */
  async json<T>(url: string, maxAgeMs: number, fresh = false): Promise<T | null> {
    if (!fresh && this.o.cacheRoot) {
      const hit = await readMeta<T>(this.o.cacheRoot, this.o.service, url, maxAgeMs);
      if (hit !== null) {
        this.o.attempts.push({ url, result: 'cached' });
        this.lastFromCache = true;
        return hit;
      }
    }
    this.lastFromCache = false;
    const res = await this.get(url, { accept: 'application/json' });
    if (typeof res === 'number') return null;
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of res.body) {
      n += c.length;
      if (n > MAX_JSON_BYTES) throw new InputFormatError(`${url}: answer larger than ${MAX_JSON_BYTES} bytes; not the ${this.o.service} service's JSON`, { file: url, format: 'json' });
      chunks.push(c);
    }
    let value: T;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
    } catch (e) {
      throw new InputFormatError(`${url}: not JSON (${(e as Error).message})`, { file: url, format: 'json' });
    }
    this.o.attempts.push({ url, result: 'read' });
    if (this.o.cacheRoot) await writeMeta(this.o.cacheRoot, this.o.service, url, value);
    return value;
  }

  /** Note what a request this client made turned out to be (`found`, `not in index`). */
  record(url: string, result: string): void {
    this.o.attempts.push({ url, result });
  }

  async cached<T>(key: string): Promise<T | null> {
    return this.o.cacheRoot ? readMeta<T>(this.o.cacheRoot, this.o.service, key) : null;
  }

  async keep<T>(key: string, value: T): Promise<void> {
    if (this.o.cacheRoot) await writeMeta(this.o.cacheRoot, this.o.service, key, value);
  }
}
