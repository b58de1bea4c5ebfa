// How long kdbg waits on a mirror that stopped sending, and how slow a transfer may be before it
// is dropped and resumed (on the same mirror, or the next). One setting for every request kdbg
// makes: the config key `timeoutSeconds` (default 30 s). Before, package bodies had a fixed 60 s
// body timeout whatever the key said, and a mirror that trickled bytes (1 KB/s) held a fetch for
// hours (design/faults-found.md, "fell short" 2 and 3).
//
// - idle: no byte for `idleMs` ends the attempt (undici's headersTimeout and bodyTimeout).
// - slow: fewer than `minBytesPerSecond` on average over a window of `idleMs` ends it too, the
//   rule curl's --speed-limit/--speed-time apply. The floor is low on purpose (16 KiB/s): only a
//   transfer that could not finish a kernel package in hours trips it.

import { NetworkError } from '../core/errors.js';

export interface PaceLimits {
  idleMs: number;
  minBytesPerSecond: number;
}

export const DEFAULT_IDLE_MS = 30_000;
export const MIN_BYTES_PER_SECOND = 16 << 10;

export function paceLimits(idleMs: number | undefined): PaceLimits {
  return { idleMs: idleMs ?? DEFAULT_IDLE_MS, minBytesPerSecond: MIN_BYTES_PER_SECOND };
}

/** The undici request options that bound the silent gaps. */
export function undiciTimeouts(p: PaceLimits | undefined): { headersTimeout?: number; bodyTimeout?: number } {
  return p ? { headersTimeout: p.idleMs, bodyTimeout: p.idleMs } : {};
}

/** Counts a response's bytes and throws a NetworkError once it is slower than the floor. */
export class SpeedGuard {
  private windowStart = Date.now();
  private windowBytes = 0;

  constructor(
    private readonly limits: PaceLimits | undefined,
    private readonly url: string,
  ) {}

  onBytes(n: number): void {
    if (!this.limits) return;
    this.windowBytes += n;
    const elapsed = Date.now() - this.windowStart;
    if (elapsed < this.limits.idleMs) return;
    const rate = (this.windowBytes * 1000) / elapsed;
    if (rate < this.limits.minBytesPerSecond) {
      throw new NetworkError(`${this.url}: too slow: ${Math.round(rate)} bytes/s over ${(elapsed / 1000).toFixed(0)} s (the floor is ${this.limits.minBytesPerSecond} bytes/s; timeoutSeconds sets the window)`, {
        details: { url: this.url, bytesPerSecond: rate },
      });
    }
    this.windowStart = Date.now();
    this.windowBytes = 0;
  }
}
