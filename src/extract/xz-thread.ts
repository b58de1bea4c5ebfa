// An xz decoder driven from its own worker thread.
//
// Why: node-liblzma decodes on libuv's pool, but every 1 MiB of output and every input chunk is a
// round trip through the JavaScript thread that drives it. On the main thread that thread is
// also parsing cpio, hashing, writing files and running the download; each time it is busy the
// decoder waits, and a single-block payload (el7) has no second decoder to fill the gap. Driven
// from a worker whose event loop does nothing else, the decoder runs back to back, while the main
// thread keeps up to INPUT_AHEAD bytes of input queued for it and reads its output.
//
// The worker is small and self-contained (its source is `xzWorkerMain` below, run with
// `eval: true`, so the same code runs from dist/ and under the test runner). Memory is bounded
// both ways: at most INPUT_AHEAD bytes of input are unconsumed and at most OUTPUT_AHEAD bytes of
// output are unread.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { BufferReturn } from '../core/buffer-return.js';
import type { BusySpans } from '../core/busy.js';

/** Compressed bytes queued ahead of the decoder: ~50 ms of el7 payload, more than the main thread's usual pauses; small enough that an early stop reads little past what it needed. */
const INPUT_AHEAD = 1 << 20;
/** Decoded bytes the worker may hold or have in flight before the reader catches up (~20 ms of output). */
const OUTPUT_AHEAD = 2 << 20;
/** Input is sent in pieces of this size (fewer messages than network-sized chunks). */
const INPUT_PIECE = 256 << 10;

type ToWorker = { type: 'input'; chunk: Uint8Array } | { type: 'end' } | { type: 'read'; bytes: number } | { type: 'spare'; buffer: ArrayBuffer } | { type: 'stop' };
type FromWorker =
  | { type: 'output'; chunk: Uint8Array }
  | { type: 'consumed'; bytes: number; buffer: ArrayBuffer }
  | { type: 'end'; reused: number }
  | { type: 'error'; message: string };

/** The decoder's output buffer size (node-liblzma's chunkSize). */
const OUTPUT_BUFFER = 1 << 20;

/** The worker's whole program. It must not refer to anything outside its own body. */
function xzWorkerMain(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const port = parentPort!;
  const { liblzmaPath, outputAhead, outputBuffer, reuse } = workerData as { liblzmaPath: string; outputAhead: number; outputBuffer: number; reuse: boolean };
  // require, not import(): test runners rewrite import() in the function's source text. Node
  // ≥ 20.19 loads node-liblzma's ES module through require.
  const { createUnxz } = require(liblzmaPath) as typeof import('node-liblzma');
  const unxz = createUnxz({ chunkSize: outputBuffer }, { readableHighWaterMark: outputBuffer });
  // Buffers the main thread handed back (BufferReturn): the decoder's next output buffer is one
  // of them when there is one. node-liblzma takes a fresh buffer in _reallocateBuffer (4.x); if a
  // later version does not, nothing is reused and nothing else changes.
  const spare: ArrayBuffer[] = [];
  let reused = 0;
  if (reuse) {
    const engine = unxz as unknown as { _reallocateBuffer(): void; _offset: number; _buffer: Buffer };
    engine._reallocateBuffer = function (this: typeof engine): void {
      this._offset = 0;
      const b = spare.pop();
      if (b !== undefined) reused++;
      this._buffer = b !== undefined ? Buffer.from(b) : Buffer.alloc(outputBuffer);
    };
  }
  let unread = 0; // output posted and not yet read by the main thread
  const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  // The decoder writes into a 1 MiB buffer piece by piece and starts a new one only when it is
  // full. Each buffer is handed over whole once its last piece is out: transferred, not copied,
  // and nothing left behind for this thread's garbage collector (copying the pieces left ~35 MB
  // of dead buffers waiting here).
  let current: ArrayBuffer | null = null;
  let start = 0;
  let end = 0;
  const handOver = (): void => {
    if (current === null || end === start) return;
    const view = new Uint8Array(current, start, end - start);
    current = null;
    unread += view.length;
    post({ type: 'output', chunk: view }, [view.buffer as ArrayBuffer]);
    if (unread >= outputAhead) unxz.pause();
  };
  unxz.on('data', (...args: unknown[]) => {
    const c = args[0] as Uint8Array;
    if (c.buffer !== current) {
      handOver(); // not reached while the decoder fills buffers in turn; kept for safety
      current = c.buffer as ArrayBuffer;
      start = c.byteOffset;
    }
    end = c.byteOffset + c.length;
    if (end === current!.byteLength) handOver();
  });
  unxz.on('end', () => {
    handOver();
    post({ type: 'end', reused });
  });
  unxz.on('error', (...args: unknown[]) => post({ type: 'error', message: (args[0] as Error).message }));
  port.on('message', (m: ToWorker) => {
    if (m.type === 'input') {
      const n = m.chunk.length;
      unxz.write(m.chunk, () => {
        // The input buffer goes back for reuse: left here, hundreds of MB of dead buffers would
        // wait for this thread's GC.
        post({ type: 'consumed', bytes: n, buffer: m.chunk.buffer as ArrayBuffer }, [m.chunk.buffer as ArrayBuffer]);
      });
    } else if (m.type === 'end') {
      unxz.end();
    } else if (m.type === 'spare') {
      // A buffer the main thread holds no view into: the decoder may write into it again.
      if (m.buffer.byteLength === outputBuffer) spare.push(m.buffer);
    } else if (m.type === 'stop') {
      // Stop taking work and let the thread end on its own once a decode in flight returns
      // (terminating it mid-call, or while it still loads the addon, is not safe).
      unxz.pause();
      port.close();
    } else {
      unread -= m.bytes;
      if (unread < outputAhead && unxz.isPaused()) unxz.resume();
    }
  });
}

export interface XzWorkerOptions {
  /**
   * The consumer hands yielded chunks back through this once it holds no view into them, and
   * the decoder writes into their buffers again. Without it every chunk is the consumer's to keep.
   */
  returns?: BufferReturn;
  /**
   * Gets the spans during which the decoder had work: input sent and not yet consumed, and room
   * for its output (the timings' decode busy; core/busy.ts). Flushed when the decode ends.
   */
  busy?: BusySpans;
}

/**
 * Decode the xz `input` on a worker-driven decoder; yields the decoded bytes in order. Errors
 * from the decoder surface as plain Errors carrying liblzma's message (the caller classifies
 * them); errors from `input` pass through. Returning early stops the worker.
 */
export async function* decodeXzOnWorker(input: AsyncIterable<Uint8Array>, opts: XzWorkerOptions = {}): AsyncGenerator<Uint8Array> {
  const returns = opts.returns ?? null;
  const worker = new Worker(`(${xzWorkerMain.toString()})();`, {
    eval: true,
    workerData: { liblzmaPath: createRequire(import.meta.url).resolve('node-liblzma'), outputAhead: OUTPUT_AHEAD, outputBuffer: OUTPUT_BUFFER, reuse: returns !== null },
  });
  const outputs: Uint8Array[] = [];
  const spare: ArrayBuffer[] = [];
  let ended = false;
  let failure: Error | null = null;
  let inFlight = 0;
  // Output received and not yet read: the worker pauses at OUTPUT_AHEAD (as it counts).
  let unread = 0;
  const busy = opts.busy;
  const clock = busy === undefined || busy.off ? null : (): void => (inFlight > 0 && unread < OUTPUT_AHEAD && !ended ? busy.start() : busy.stop());
  // Both the pump (room for input) and the reader (output) may be waiting: wake them all.
  let waiters: (() => void)[] = [];
  const wakeUp = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const until = async (ready: () => boolean): Promise<void> => {
    while (!ready() && failure === null) await new Promise<void>((r) => waiters.push(r));
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'output') {
      unread += m.chunk.length;
      outputs.push(m.chunk);
      returns?.lend(m.chunk);
    } else if (m.type === 'consumed') {
      inFlight -= m.bytes;
      spare.push(m.buffer);
    }
    else if (m.type === 'end') {
      ended = true;
      if (returns) {
        returns.reused = m.reused;
        returns.finish();
      }
    } else failure ??= new Error(m.message);
    clock?.();
    wakeUp();
  });
  worker.on('error', (e) => {
    failure ??= e;
    wakeUp();
  });
  let exited = false;
  worker.on('exit', () => {
    exited = true;
    if (!ended) failure ??= new Error('the xz decoder thread exited early');
    wakeUp();
  });
  const send = (m: ToWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer);
  returns?.attach((buffer) => {
    if (!exited && !stopped && !ended) send({ type: 'spare', buffer }, [buffer]);
  });

  // The pump feeds the worker while the generator below hands out output.
  let stopped = false;
  const it = input[Symbol.asyncIterator]();
  const pump = (async (): Promise<void> => {
    // Input is copied into INPUT_PIECE buffers that travel to the worker and back (`spare`).
    let piece: Uint8Array | null = null;
    let filled = 0;
    const sendPiece = async (): Promise<void> => {
      if (piece === null || filled === 0) return;
      const buf = piece.subarray(0, filled);
      piece = null;
      filled = 0;
      await until(() => inFlight < INPUT_AHEAD || stopped);
      if (stopped) return;
      inFlight += buf.length;
      send({ type: 'input', chunk: buf }, [buf.buffer as ArrayBuffer]);
      clock?.();
    };
    for (;;) {
      const r = await it.next();
      if (r.done || stopped) break;
      let at = 0;
      while (at < r.value.length) {
        piece ??= new Uint8Array(spare.pop() ?? new ArrayBuffer(INPUT_PIECE));
        const n = Math.min(piece.length - filled, r.value.length - at);
        piece.set(r.value.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === piece.length) await sendPiece();
      }
    }
    await sendPiece();
    if (!stopped) send({ type: 'end' });
  })().catch((e: unknown) => {
    failure ??= e instanceof Error ? e : new Error(String(e));
    wakeUp();
  });

  const stopWorker = async (w: Worker, stop: () => void): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((r) => w.once('exit', () => r()));
    stop();
    // A decode in flight returns within milliseconds; terminate only if the thread hangs.
    const timer = setTimeout(() => void w.terminate(), 10_000);
    await gone;
    clearTimeout(timer);
  };

  try {
    for (;;) {
      await until(() => outputs.length > 0 || ended);
      if (failure) throw failure;
      const chunk = outputs.shift();
      if (chunk === undefined) break; // ended and drained
      const bytes = chunk.length; // read before the consumer may hand the buffer back (detached)
      yield chunk;
      send({ type: 'read', bytes });
      unread -= bytes;
      clock?.();
    }
    await pump;
    if (failure) throw failure;
  } finally {
    stopped = true;
    busy?.flush();
    returns?.attach(null);
    wakeUp();
    // The pump may be inside it.next(); don't wait for it, but let the input clean up.
    void Promise.resolve(it.return?.()).catch(() => undefined);
    await stopWorker(worker, () => send({ type: 'stop' }));
  }
}
