// A RandomAccess over HTTP Range requests, for the partial-fetch planner (extract/partial.ts):
// small positioned reads (ar headers, the xz footer and index) are served from a read-ahead
// cache, large ones (compressed xz blocks) go straight to one `Range: bytes=a-b` request each,
// several of which may run at once on the shared keep-alive dispatcher.
//
// The file must not change under us: the first response's ETag/Last-Modified and total length
// (from Content-Range) are pinned and every later response must agree. A server that ignores
// Range (answers 200) or changes the file raises RangeUnsupportedError, which the planner turns
// into "fall back to the streaming download".

import { request } from 'undici';
import type { RandomAccess } from '../core/byte-source.js';
import { NetworkError } from '../core/errors.js';
import { dispatcher, flattenHeaders } from './http.js';
import { SpeedGuard, undiciTimeouts, type PaceLimits } from './pace.js';
import { backoffDelay, defaultRetryPolicy, isRetryableStatus, sleep } from '../core/retry.js';

/** The server cannot serve this file by ranges (Range ignored, file changed, size unknown). */
export class RangeUnsupportedError extends Error {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'RangeUnsupportedError';
  }
}

export interface RangeReaderOptions {
  /** Total file size when the index told it (else learnt from the first Content-Range). */
  size?: number | null;
  signal?: AbortSignal;
  /** Reads shorter than `smallRead` fetch this much around them and keep it for the next small read. */
  readAhead?: number;
  /** Below this a read counts as metadata (headers, footer, index) and goes through the read-ahead cache. */
  smallRead?: number;
  /** Transport failures/5xx retried per request. */
  retries?: number;
  headers?: Record<string, string>;
  /** Idle and low-speed bounds of each response (pace.ts). */
  pace?: PaceLimits;
}

const userAgent = 'kdbg/0.1 (+kernel debuginfo fetcher)';

/** Abandon a response body (closes the connection); undici's AbortError on it is expected. */
function drop(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

export class HttpRangeReader implements RandomAccess {
  readonly label: string;
  private knownSize: number | null;
  private validator: string | null = null;
  /** Body bytes received so far (what this reader cost on the wire). */
  bytesReceived = 0;
  requests = 0;
  private readonly cache: { offset: number; bytes: Uint8Array }[] = [];
  private readonly readAhead: number;
  private readonly smallRead: number;
  private readonly retries: number;

  constructor(
    readonly url: string,
    private readonly opts: RangeReaderOptions = {},
  ) {
    this.label = url;
    this.knownSize = opts.size ?? null;
    this.readAhead = opts.readAhead ?? 64 * 1024;
    this.smallRead = Math.min(this.readAhead, opts.smallRead ?? 16 * 1024);
    this.retries = opts.retries ?? 3;
  }

  get size(): number | null {
    return this.knownSize;
  }

  /** Learn the size (and pin the validators) with a one-byte ranged GET, if not known yet. */
  async open(): Promise<this> {
    if (this.knownSize === null) await this.fetchRange(0, 1);
    return this;
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    const size = this.knownSize;
    const end = size === null ? offset + length : Math.min(offset + length, size);
    if (offset >= end) return new Uint8Array(0);
    for (const c of this.cache) {
      if (offset >= c.offset && end <= c.offset + c.bytes.length) return c.bytes.subarray(offset - c.offset, end - c.offset);
    }
    // Data reads (compressed blocks) go straight out: several run at once, and a read-ahead window
    // would fetch bytes the neighbouring request is already fetching.
    if (end - offset >= this.smallRead) return this.fetchRange(offset, end);
    // Small read: fetch an aligned window around it; the xz footer/index and ar headers come in
    // runs of tiny reads next to each other.
    const start = Math.max(0, Math.min(offset, end - this.readAhead));
    const stop = size === null ? start + this.readAhead : Math.min(size, start + this.readAhead);
    const bytes = await this.fetchRange(start, Math.max(stop, end));
    this.cache.unshift({ offset: start, bytes });
    if (this.cache.length > 4) this.cache.pop();
    return bytes.subarray(offset - start, Math.min(end, start + bytes.length) - start);
  }

  /**
   * One ranged GET of [start, end), retried on transport errors and 5xx. With `into` (at least
   * end - start bytes) the body is written there and a view of it returned, not a new buffer.
   */
  async fetchRange(start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    let failures = 0;
    for (;;) {
      try {
        return await this.fetchOnce(start, end, into);
      } catch (e) {
        if (e instanceof RangeUnsupportedError || this.opts.signal?.aborted) throw e;
        failures++;
        if (failures > this.retries) {
          if (e instanceof NetworkError) throw e;
          throw new NetworkError(`${this.url}: ${(e as Error).message}`, { cause: e, details: { url: this.url, range: `${start}-${end - 1}` } });
        }
        await sleep(backoffDelay(failures, { ...defaultRetryPolicy, minDelayMs: 200 }), this.opts.signal);
      }
    }
  }

  private async fetchOnce(start: number, end: number, into: Uint8Array | undefined): Promise<Uint8Array> {
    this.requests++;
    const res = await request(this.url, {
      method: 'GET',
      dispatcher: dispatcher(this.url),
      headers: { 'user-agent': userAgent, ...(this.opts.headers ?? {}), range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' },
      ...undiciTimeouts(this.opts.pace),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    const headers = flattenHeaders(res.headers);
    if (res.statusCode !== 206) {
      // Never read a whole package we did not ask for: drop the connection.
      drop(res.body);
      if (res.statusCode === 200) throw new RangeUnsupportedError(this.url, 'the server ignored the Range request (200)');
      if (isRetryableStatus(res.statusCode)) throw new NetworkError(`${this.url}: HTTP ${res.statusCode}`, { details: { url: this.url, status: res.statusCode } });
      throw new RangeUnsupportedError(this.url, `HTTP ${res.statusCode} to a Range request`);
    }
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers['content-range'] ?? '');
    if (!cr || Number(cr[1]) !== start) {
      drop(res.body);
      throw new RangeUnsupportedError(this.url, `unexpected Content-Range "${headers['content-range'] ?? ''}" for bytes ${start}-${end - 1}`);
    }
    const total = cr[3] === '*' ? null : Number(cr[3]);
    const validator = headers['etag'] ?? headers['last-modified'] ?? null;
    if (this.validator === null) this.validator = validator;
    else if (validator !== this.validator) {
      drop(res.body);
      throw new RangeUnsupportedError(this.url, 'the file changed on the server during the partial fetch');
    }
    if (total !== null) {
      if (this.knownSize === null) this.knownSize = total;
      else if (total !== this.knownSize) {
        drop(res.body);
        throw new RangeUnsupportedError(this.url, `size ${total} differs from the expected ${this.knownSize}`);
      }
    }
    const want = Number(cr[2]) - start + 1;
    const out = into !== undefined && into.length >= want ? into.subarray(0, want) : new Uint8Array(want);
    let got = 0;
    const guard = new SpeedGuard(this.opts.pace, this.url);
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const k = Math.min(chunk.length, want - got);
        out.set(chunk.subarray(0, k), got);
        got += k;
        this.bytesReceived += chunk.length;
        guard.onBytes(chunk.length);
      }
    } catch (e) {
      drop(res.body);
      throw e;
    }
    if (got !== want) throw new NetworkError(`${this.url}: connection closed after ${got} of ${want} bytes of range ${start}-${end - 1}`, { details: { url: this.url } });
    return out;
  }
}

/**
 * A range reader for `url`, or null when the server does not do ranges (so the caller streams the
 * whole file instead). `size` from the index saves the probe request.
 */
export async function openRangeReader(url: string, size: number | null, opts: Omit<RangeReaderOptions, 'size'> = {}): Promise<HttpRangeReader | null> {
  const r = new HttpRangeReader(url, { ...opts, size });
  try {
    // Probe with the last bytes of the file: the xz footer is what the planner reads first anyway.
    if (size !== null && size > 0) await r.readAt(Math.max(0, size - 4096), Math.min(size, 4096));
    else await r.open();
  } catch (e) {
    if (e instanceof RangeUnsupportedError) return null;
    throw e;
  }
  return r;
}
