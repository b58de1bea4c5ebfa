// Memory held by V8 during a fetch (issue 19: peak RSS ≤ 200 MB in every bench row). Two knobs,
// both set while a fetch runs and undone after it:
//
// 1. The young generation stays at the size it has when the fetch starts (4-8 MB in a `kdbg
//    fetch` process) instead of growing to V8's default of 2 × 16 MB. A download and its decoders
//    allocate hundreds of MB of short-lived objects and ArrayBuffers; with 32 MB of new space,
//    both semi-spaces are touched and kept, and each dead buffer's backing store waits for the
//    next scavenge, so the malloc heap grows with them. V8 takes the semi-space size only from
//    the command line, but it grows the new space step by step by `--semi-space-growth-factor`,
//    which it reads at each step: 1 stops the growth. Every new isolate (a worker thread: the xz
//    decoder's) puts a factor below 2 back to 2, so it is set again after each GC and each tick.
// 2. An asynchronous major GC when the process's ArrayBuffer bytes have grown by `stepBytes` since
//    the low point after the last major GC (V8's or ours). V8 starts one on its own only after
//    about 64 MB of external growth; buffers that reached the old generation wait until then.
//    Session 8 forced a full GC every 200 ms instead: the peak went down, 9-17 s of CPU went up,
//    as most of those collections found nothing.
//
// Neither changes what is computed. Where the runtime does not allow them (no gc function, a
// flag V8 refuses), they are skipped and nothing else changes.

import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

/** V8's gc() with the options its gc extension takes. */
export type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

export interface MemoryWatchOptions {
  /** Keep the young generation at its current size (default true). */
  capYoung?: boolean;
  /** ArrayBuffer growth since the last major GC that asks for the next one (default 16 MiB; 0: never). */
  stepBytes?: number;
  /** How often the ArrayBuffer bytes are read (default 50 ms). */
  intervalMs?: number;
  /** The gc function to call; null: none (the fallback). Default: taken from V8 (gcFunction()). */
  gc?: GcFunction | null;
}

export interface MemoryWatch {
  /** Major GCs asked for so far. */
  readonly fired: number;
  /** False once the second knob is known to be unavailable (no gc function, or it threw). */
  readonly gcAvailable: boolean;
  /** The young generation's size (bytes) when the watch started. */
  readonly youngAtStart: number;
  stop(): void;
}

let cached: GcFunction | null | undefined;

/** V8's gc function, exposed at run time; null when this runtime does not allow it. */
export function gcFunction(): GcFunction | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    if (typeof gc === 'function') cached = gc as GcFunction;
  } catch {
    cached = null;
  }
  return cached;
}

/** The young generation's size now (V8's new_space, both semi-spaces). */
export function youngGenerationBytes(): number {
  try {
    return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  } catch {
    return 0;
  }
}

function setGrowth(factor: number): void {
  try {
    setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  } catch {
    // a V8 without the flag: the young generation grows as it would anyway
  }
}

/** Watches running (fetches in one process, as under `kdbg serve`): the factor goes back at the last stop. */
let capped = 0;
const totals = { watches: 0, fired: 0 };

/** Watches started and major GCs they asked for in this process (tests read them). */
export function memoryWatchTotals(): { watches: number; fired: number } {
  return { ...totals };
}

/** Start both knobs; stop() undoes them. */
export function watchMemory(opts: MemoryWatchOptions = {}): MemoryWatch {
  const capYoung = opts.capYoung !== false;
  const step = opts.stepBytes ?? 16 << 20;
  // Taken at the first request, not here: a fetch answered from the cache never needs it, and
  // making the context that hands it out costs milliseconds.
  let gc: GcFunction | null | undefined = step > 0 ? opts.gc : null;
  const youngAtStart = youngGenerationBytes();
  totals.watches++;
  if (capYoung) {
    capped++;
    setGrowth(1);
  }
  let low = process.memoryUsage().arrayBuffers;
  let pending = false;
  let fired = 0;
  let observer: PerformanceObserver | null = null;
  try {
    observer = new PerformanceObserver((list) => {
      if (capYoung) setGrowth(1); // a worker started since may have put it back to 2
      if (gc === null) return;
      // Any major GC (V8's own too) starts a new count: the growth that matters is since the last one.
      if (list.getEntries().some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) {
        low = process.memoryUsage().arrayBuffers;
        pending = false;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  } catch {
    observer = null;
  }
  const timer = setInterval(() => {
    if (capYoung) setGrowth(1);
    if (gc === null) return;
    const ab = process.memoryUsage().arrayBuffers;
    if (ab < low) low = ab;
    if (pending || ab - low < step) return;
    if (gc === undefined) gc = gcFunction();
    if (gc === null) return;
    fired++;
    totals.fired++;
    const done = (): void => {
      // Counted from what is left after it, so the next one waits for another step of growth.
      low = process.memoryUsage().arrayBuffers;
      pending = false;
    };
    try {
      const r = gc({ type: 'major', execution: 'async' });
      if (r instanceof Promise) {
        pending = true;
        r.then(done, done);
      } else done();
    } catch {
      gc = null; // a gc that throws is not called again
    }
  }, opts.intervalMs ?? 50);
  timer.unref();
  let stopped = false;
  return {
    get fired() {
      return fired;
    },
    get gcAvailable() {
      return gc !== null;
    },
    youngAtStart,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      observer?.disconnect();
      if (capYoung && --capped === 0) setGrowth(2);
    },
  };
}
