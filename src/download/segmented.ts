// Segmented, multi-connection, multi-mirror download of one file, yielded IN ORDER as soon as its
// head is complete — for single-stream payloads (el7's one-block xz) where a mirror caps each TCP
// connection: N connections (spread over the mirrors that carry the same file) each fetch a
// Range segment while one decoder consumes the stream from the front.
//
// Memory is bounded by `window` segments (in flight or waiting for the consumer). A segment that
// fails on one mirror is retried on the next. Every mirror must serve the same bytes: the total
// size is pinned by the caller (from the index) and each reader pins its mirror's validator; the
// caller still checks the sha256 of the whole stream before publishing anything.

import pLimit from 'p-limit';
import { HttpRangeReader, RangeUnsupportedError } from './range-reader.js';

/**
 * The consumer gets each segment as fresh copies of this size, made as it asks for them, and the
 * segment's buffer is fetched into again. Why: a segment waits in the window for a second or
 * more, so the garbage collector counts it as old; 4 MiB segments left behind piled up to ~60 MB
 * of dead buffers before each collection (an el7 fetch with --connections 4 peaked at 240 MB).
 * A small copy the consumer is done with within milliseconds dies young and goes at once.
 */
const PIECE = 256 << 10;

export interface SegmentedOptions {
  /** Connections at once (default 4). */
  connections?: number;
  /** Bytes per Range request (default 8 MiB). */
  segmentSize?: number;
  /** Segments in flight or buffered (default connections + 2). */
  window?: number;
  signal?: AbortSignal;
  /** Called with the bytes of each segment as it arrives (progress). */
  onBytes?: (n: number) => void;
}

export interface SegmentedDownload {
  /** The file, in order. Throws RangeUnsupportedError before the first byte when no mirror does ranges. */
  chunks: AsyncGenerator<Uint8Array>;
  /** Body bytes received so far over all connections. */
  bytesReceived(): number;
}

/**
 * Open a segmented download of `size` bytes available at every URL in `urls` (mirrors of one file).
 * Resolves to null when the first mirror does not honour Range (the caller streams with one GET).
 */
export async function openSegmentedDownload(urls: readonly string[], size: number, opts: SegmentedOptions = {}): Promise<SegmentedDownload | null> {
  if (urls.length === 0 || size <= 0) return null;
  // No hedged reads here (range-reader.ts): the segments already run side by side, each into a
  // buffer of a bounded pool, and a second request would need one more buffer of its own.
  const readers = urls.map((u) => new HttpRangeReader(u, { size, ...(opts.signal ? { signal: opts.signal } : {}), retries: 2, hedgeFirstMs: 0 }));
  const segment = Math.max(64 * 1024, opts.segmentSize ?? 8 << 20);
  const connections = Math.max(1, opts.connections ?? 4);
  const window = Math.max(connections, opts.window ?? connections + 2);
  const count = Math.ceil(size / segment);
  const live = readers.map(() => true);
  // Probe the first mirror with the first segment: it both checks Range support and starts the data.
  // Segment buffers not in use (the window's worth, at most, plus the one being handed out).
  const pool: Uint8Array[] = [];
  let first: Uint8Array;
  try {
    first = await readers[0]!.fetchRange(0, Math.min(size, segment), new Uint8Array(segment));
  } catch (e) {
    if (e instanceof RangeUnsupportedError) return null;
    throw e;
  }
  opts.onBytes?.(first.length);

  async function fetchSegment(i: number): Promise<Uint8Array> {
    const start = i * segment;
    const end = Math.min(size, start + segment);
    let lastError: unknown = null;
    // Round-robin over mirrors, starting at a different one per segment; skip mirrors that failed.
    for (let k = 0; k < readers.length; k++) {
      const m = (i + k) % readers.length;
      if (!live[m]) continue;
      try {
        const b = await readers[m]!.fetchRange(start, end, pool.pop() ?? new Uint8Array(segment));
        opts.onBytes?.(b.length);
        return b;
      } catch (e) {
        lastError = e;
        live[m] = false;
        if (opts.signal?.aborted) throw e;
      }
    }
    throw lastError ?? new Error(`no mirror left for bytes ${start}-${end - 1}`);
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    // `connections` requests at once; up to `window` segments fetched ahead of the consumer.
    const limit = pLimit(connections);
    const pending: Promise<Uint8Array>[] = [Promise.resolve(first)];
    let next = 1;
    const start = (): void => {
      const i = next++;
      const p = limit(() => fetchSegment(i));
      p.catch(() => undefined); // observed in order below
      pending.push(p);
    };
    try {
      while (next < count && pending.length < window) start();
      while (pending.length > 0) {
        const b = await pending.shift()!;
        for (let at = 0; at < b.length; at += PIECE) yield b.slice(at, at + PIECE); // copies
        if (b.buffer.byteLength === segment) pool.push(new Uint8Array(b.buffer, 0, segment));
        while (next < count && pending.length < window) start();
      }
    } finally {
      limit.clearQueue();
    }
  }

  return { chunks: chunks(), bytesReceived: () => readers.reduce((a, r) => a + r.bytesReceived, 0) };
}
