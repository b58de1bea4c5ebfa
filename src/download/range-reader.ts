// A RandomAccess over HTTP Range requests, for the partial-fetch planner (extract/partial.ts):
// small positioned reads (ar headers, the xz footer and index) are served from a read-ahead
// cache, large ones (compressed xz blocks) go straight to one `Range: bytes=a-b` request each,
// several of which may run at once on the shared keep-alive dispatcher.
//
// A read that takes far longer than the reads before it gets a second request for the same bytes,
// and the first to finish is used (a hedged request): on the host's Debian archive most 6 MB block
// ranges came in 10-30 ms while one in five or so took 500-600 ms (first byte after 90-300 ms,
// then ~13 MB/s), and the reads that locate the vmlinux run one after another, so each such
// straggler added its whole delay to the fetch (the bench's R row: the same fetch 3.7 s or 4.9 s).
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
  /**
   * Send a second request for a read still running after this long, before two reads have
   * finished to set the pace (default 1000 ms). 0: never hedge (segmented.ts, whose segments run
   * side by side in a bounded buffer pool).
   */
  hedgeFirstMs?: number;
}

/** A hedge is never sent sooner than this (a straggler, not a read at a normal pace). */
const HEDGE_MIN_MS = 200;
/** …nor before the read has taken this many times what the recent reads' median pace predicts. */
const HEDGE_FACTOR = 4;
/** Reads counted as this big for their pace: below it a read's time is mostly the round trip. */
const PACE_MIN_BYTES = 64 * 1024;
/** Completed reads the pace is taken from. */
const PACE_WINDOW = 8;

/** One request of a (possibly hedged) read: its result, and how to call it off. */
interface Attempt {
  done: Promise<Uint8Array>;
  cancel(): void;
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
  /** Second requests sent for reads that were running late, and how many of them finished first. */
  hedges = 0;
  hedgesWon = 0;
  /** ms per byte of the last completed reads (each counted as at least PACE_MIN_BYTES). */
  private readonly paces: number[] = [];
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
   * Large reads straight into the caller's buffer (the compressed xz blocks of a partial fetch,
   * one buffer reused for many); small ones through readAt's window.
   */
  async readInto(offset: number, dest: Uint8Array): Promise<number> {
    const size = this.knownSize;
    const end = size === null ? offset + dest.length : Math.min(offset + dest.length, size);
    if (offset >= end) return 0;
    if (end - offset < this.smallRead) {
      const b = await this.readAt(offset, end - offset);
      dest.set(b);
      return b.length;
    }
    const got = await this.fetchRange(offset, end, dest);
    const n = Math.min(got.length, end - offset);
    if (got.buffer !== dest.buffer || got.byteOffset !== dest.byteOffset) dest.set(got.subarray(0, n));
    return n;
  }

  /** One ranged GET of [start, end), retried on transport errors and 5xx; into `dest` if given. */
  async fetchRange(start: number, end: number, dest?: Uint8Array): Promise<Uint8Array> {
    let failures = 0;
    for (;;) {
      try {
        return await this.fetchHedged(start, end, dest);
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

  /** How long a read of `bytes` may run before a second request is sent for it. */
  private hedgeAfterMs(bytes: number): number {
    if (this.paces.length < 2) return this.opts.hedgeFirstMs ?? 1000;
    const sorted = [...this.paces].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return Math.max(HEDGE_MIN_MS, HEDGE_FACTOR * median * Math.max(bytes, PACE_MIN_BYTES));
  }

  private notePace(bytes: number, ms: number): void {
    this.paces.push(ms / Math.max(bytes, PACE_MIN_BYTES));
    if (this.paces.length > PACE_WINDOW) this.paces.shift();
  }

  /**
   * One read of [start, end): a request, and when it runs late (hedgeAfterMs) a second one for
   * the same bytes into a buffer of its own; the first to finish is returned and the other is
   * called off. Either may fail while the other goes on; both failing throws the first's error.
   */
  private async fetchHedged(start: number, end: number, dest?: Uint8Array): Promise<Uint8Array> {
    const t0 = performance.now();
    const a = this.attempt(start, end, dest);
    const wait = this.opts.hedgeFirstMs === 0 ? Infinity : this.hedgeAfterMs(end - start);
    let timer: NodeJS.Timeout | undefined;
    const late = wait === Infinity ? null : new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), wait)));
    const first = late === null ? 'done' : await Promise.race([a.done.then(() => 'done' as const, () => 'done' as const), late]);
    clearTimeout(timer);
    if (first === 'done') {
      const out = await a.done;
      this.notePace(end - start, performance.now() - t0);
      return out;
    }
    this.hedges++;
    const b = this.attempt(start, end);
    try {
      const won = await Promise.any([a.done.then((v) => ({ v, by: a })), b.done.then((v) => ({ v, by: b }))]);
      (won.by === a ? b : a).cancel();
      if (won.by === b) this.hedgesWon++;
      this.notePace(end - start, performance.now() - t0);
      return won.v;
    } catch (e) {
      // Both failed: the first request's error decides (retry, or "ranges unsupported").
      throw e instanceof AggregateError ? (e.errors[0] as Error) : e;
    }
  }

  /** Start one request for [start, end), into `dest` if given; cancel() stops it writing and drops it. */
  private attempt(start: number, end: number, dest?: Uint8Array): Attempt {
    const ac = new AbortController();
    const token = { cancelled: false };
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, ac.signal]) : ac.signal;
    const done = this.fetchOnce(start, end, dest, signal, token);
    done.catch(() => undefined); // a cancelled or losing request's error is nobody's
    return {
      done,
      cancel: () => {
        token.cancelled = true;
        ac.abort();
      },
    };
  }

  private async fetchOnce(start: number, end: number, dest: Uint8Array | undefined, signal: AbortSignal, token: { cancelled: boolean }): Promise<Uint8Array> {
    this.requests++;
    const res = await request(this.url, {
      method: 'GET',
      dispatcher: dispatcher(this.url),
      headers: { 'user-agent': userAgent, ...(this.opts.headers ?? {}), range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' },
      ...undiciTimeouts(this.opts.pace),
      signal,
    });
    if (token.cancelled) {
      drop(res.body);
      throw new Error('called off');
    }
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
    const out = dest && dest.length >= want ? dest.subarray(0, want) : new Uint8Array(want);
    let got = 0;
    const guard = new SpeedGuard(this.opts.pace, this.url);
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        // Called off (the other request of a hedged read finished first): not one more byte into `dest`.
        if (token.cancelled) throw new Error('called off');
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
