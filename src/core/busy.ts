// Clocks for the phase timings inside extraction (issue 19, item 1: decode busy and idle, write).
// A stage wraps each piece of work (a block decoded, a write) in a span and emits it as a `busy`
// event (core/types.ts); pipeline/timings.ts merges the spans. Nothing is estimated: a path that
// has no clock emits nothing, and its figures stay "not measured".

import type { ProgressListener } from './types.js';

/** Milliseconds with sub-millisecond resolution on one clock for every thread of the process. */
export function busyClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Spans of one kind of work, emitted as `busy` events. A span that starts at most JOIN_MS after
 * the previous one ended (or overlaps it: several lanes) extends it instead of making an event of
 * its own: a 2 GB decode fed piece by piece would otherwise emit thousands. The join changes the
 * figure by at most JOIN_MS per gap it closes. `flush()` emits what is held; call it when the
 * work ends, whichever way.
 */
export class BusySpans {
  private from = 0;
  private to = 0;
  private held = false;
  private openedAt: number | null = null;

  constructor(
    private readonly emit: ProgressListener | undefined,
    private readonly what: 'decode' | 'write',
  ) {}

  /** True when nobody listens: callers may skip their clock reads. */
  get off(): boolean {
    return this.emit === undefined;
  }

  /** Record the span [from, to]. */
  span(from: number, to: number): void {
    if (this.emit === undefined) return;
    if (this.held && from <= this.to + JOIN_MS && to >= this.from - JOIN_MS) {
      this.from = Math.min(this.from, from);
      this.to = Math.max(this.to, to);
      return;
    }
    this.emitHeld();
    this.from = from;
    this.to = to;
    this.held = true;
  }

  /** The work started (a no-op when it is already running). */
  start(): void {
    if (this.emit !== undefined && this.openedAt === null) this.openedAt = busyClock();
  }

  /** The work stopped: the span since start() is recorded. */
  stop(): void {
    const openedAt = this.openedAt;
    if (openedAt === null) return;
    this.openedAt = null;
    this.span(openedAt, busyClock());
  }

  /** Time `work` as one span (also when it throws). */
  async time<T>(work: Promise<T>): Promise<T> {
    if (this.emit === undefined) return work;
    const t0 = busyClock();
    try {
      return await work;
    } finally {
      this.span(t0, busyClock());
    }
  }

  flush(): void {
    this.stop();
    this.emitHeld();
  }

  private emitHeld(): void {
    if (!this.held || this.emit === undefined) return;
    this.held = false;
    this.emit({ kind: 'busy', what: this.what, from: this.from, to: this.to });
  }
}

/** Gaps up to this long between two spans are counted as busy (see BusySpans). */
const JOIN_MS = 1;
