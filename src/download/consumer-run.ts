// The consumer of a download (the extractor), run beside it on the same bytes and restarted
// when those bytes become void.

import { ByteChannel, RestartError } from './channel.js';
import type { PackageConsumer } from './types.js';

/** Runs the consumer and restarts it when its bytes become void. */
export class ConsumerRun<T> {
  private channel: ByteChannel | null = null;
  private promise: Promise<void> = Promise.resolve();
  private attempt = 0;
  value: T | undefined;
  error: unknown = null;
  settled = false;

  constructor(private readonly consume: PackageConsumer<T> | undefined) {
    this.start();
  }

  private start(): void {
    if (!this.consume) return;
    const ch = new ByteChannel();
    this.channel = ch;
    this.value = undefined;
    this.error = null;
    this.settled = false;
    const attempt = this.attempt++;
    this.promise = Promise.resolve()
      .then(() => this.consume!(ch, attempt))
      .then(
        (v) => {
          this.value = v;
        },
        (e: unknown) => {
          this.error = e;
        },
      )
      .finally(() => {
        this.settled = true;
        ch.detach();
      });
  }

  /** The consumer stopped with an error that is not ours (not a restart). */
  get failed(): boolean {
    return this.settled && this.error !== null && !(this.error instanceof RestartError);
  }

  async push(chunk: Uint8Array): Promise<void> {
    await this.channel?.push(chunk);
  }

  async restart(): Promise<void> {
    if (!this.consume || !this.channel) return;
    this.channel.fail(new RestartError());
    await this.promise;
    this.start();
  }

  async abort(err: unknown): Promise<void> {
    if (!this.channel) return;
    this.channel.fail(err);
    await this.promise;
  }

  async finish(): Promise<void> {
    this.channel?.end();
    await this.promise;
  }
}
