// A response body read so that the bytes that arrived before a connection broke are still
// handed out before the error. Iterating undici's body directly lost them: a server that sent
// 64 KiB and closed the connection was reported as "connection lost after 0 bytes", because the
// stream was destroyed with the error while those bytes still sat in its buffer, and the resume
// started again from 0 (design/faults-found.md, "fell short" 4).
//
// keepArrivedBytes() must be called as soon as the response head is in (no await between): from
// then on the body flows into a queue as it arrives ('data' runs when undici pushes, before any
// error). The queue is bounded (the stream is paused above HIGH_WATER bytes), and the error, if
// there is one, is thrown only once the queue is empty.

import type { Readable } from 'node:stream';

const HIGH_WATER = 4 << 20;

export interface ArrivingBody extends AsyncIterable<Uint8Array> {
  /** Not wanted after all (a wrong status or size): drop the connection. */
  discard(): void;
}

export function keepArrivedBytes(body: Readable): ArrivingBody {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = body.readableEnded || body.destroyed;
  let failure: unknown = body.errored ?? null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onData = (c: Uint8Array): void => {
    queue.push(c);
    queued += c.length;
    if (queued >= HIGH_WATER) body.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (e: unknown): void => {
    failure ??= e;
    notify();
  };
  body.on('data', onData);
  body.once('end', onEnd);
  body.once('close', onEnd);
  body.on('error', onError);
  const detach = (): void => {
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('close', onEnd);
    // An error after we stopped listening is nobody's business now.
    body.on('error', () => undefined);
    body.off('error', onError);
    if (!body.destroyed) body.destroy();
  };
  return {
    discard: detach,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const c = queue.shift();
          if (c !== undefined) {
            queued -= c.length;
            if (queued < HIGH_WATER / 2 && body.isPaused() && !body.destroyed) body.resume();
            yield c;
            continue;
          }
          if (failure !== null) throw failure;
          if (ended) return;
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        detach();
      }
    },
  };
}
