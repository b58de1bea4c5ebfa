// The "tee" between the download loop and a consumer (the extractor): an async-iterable queue
// with back-pressure. The producer awaits `push` while more than `highWaterBytes` are queued, so
// a slow decompressor slows the download instead of filling memory. When the consumer stops
// (it found everything it wanted, or failed) `detach()` turns pushes into no-ops: the download
// still runs to the end so the package's sha256 can be checked before anything is published.

export class RestartError extends Error {
  constructor() {
    super('download restarted from byte 0; the consumer must start over');
    this.name = 'RestartError';
  }
}

export class ByteChannel implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown = null;
  private detached = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  // 2 MiB: enough to keep the decoder busy across network hiccups, small next to its own buffers.
  constructor(private readonly highWaterBytes = 2 << 20) {}

  /** Queue a chunk; resolves once there is room (or at once when the consumer is gone). */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.detached || this.ended) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake('consumer');
    while (this.queued > this.highWaterBytes && !this.detached) {
      await new Promise<void>((r) => (this.wakeProducer = r));
    }
  }

  end(): void {
    this.ended = true;
    this.wake('consumer');
  }

  /** Make the consumer's next read throw (used with RestartError when the bytes it saw are void). */
  fail(err: unknown): void {
    this.failure = err;
    this.queue = [];
    this.queued = 0;
    this.wake('consumer');
  }

  /** The consumer is gone: drop queued bytes and never block the producer again. */
  detach(): void {
    this.detached = true;
    this.queue = [];
    this.queued = 0;
    this.wake('producer');
  }

  get isDetached(): boolean {
    return this.detached;
  }

  private wake(who: 'consumer' | 'producer'): void {
    const f = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = null;
    else this.wakeProducer = null;
    f?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (this.failure !== null) throw this.failure;
          const c = this.queue.shift();
          if (c !== undefined) {
            this.queued -= c.length;
            if (this.queued <= this.highWaterBytes) this.wake('producer');
            return { value: c, done: false };
          }
          if (this.ended || this.detached) return { value: undefined, done: true };
          await new Promise<void>((r) => (this.wakeConsumer = r));
        }
      },
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        this.detach();
        return { value: undefined, done: true };
      },
    };
  }
}
