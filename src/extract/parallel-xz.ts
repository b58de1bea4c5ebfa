// Decode independent xz blocks concurrently and hand them back in order, with bounded memory.
//
// Each block goes through the one block decoder (xz-block.ts: liblzma on libuv's thread pool, so
// N blocks in flight use N cores; every block's check and size verified there). At most `window`
// raw blocks and `concurrency` decodes are in flight, and at most `window` decoded blocks wait for
// the consumer.

import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { processEnv } from '../core/env.js';
import type { XzBlock } from '../formats/xz.js';
import { decodeXzBlockChunks } from './xz-block.js';

export interface DecodedBlock {
  block: XzBlock;
  /** The block's bytes as decoded, in 1 MiB pieces (no concatenated copy: bounded memory). */
  chunks: Uint8Array[];
}

export interface ParallelDecodeOptions {
  /** Decodes at once; default: the machine's cores (at most 4, libuv's default pool size). */
  concurrency?: number;
  /** Blocks in flight or held by the consumer (bounds memory: window × block size); default concurrency + 1. */
  window?: number;
  label: string;
  signal?: AbortSignal;
}

/** libuv's pool has 4 threads unless UV_THREADPOOL_SIZE says otherwise; more decodes than threads only queue. */
export function threadPoolSize(): number {
  return Number(processEnv()['UV_THREADPOOL_SIZE'] ?? 4) || 4;
}

export function defaultDecodeConcurrency(): number {
  return Math.max(1, Math.min(availableParallelism(), threadPoolSize()));
}

/**
 * Fetch (`readRaw`) and decode `blocks` with bounded concurrency, yielding them in the given order.
 * `predecoded` supplies blocks already decoded (e.g. the first block, read to find the tar header);
 * entries are removed from it as they are handed out.
 */
export async function* decodeBlocksInOrder(
  blocks: readonly XzBlock[],
  readRaw: (b: XzBlock) => Promise<Uint8Array>,
  opts: ParallelDecodeOptions,
  predecoded: Map<number, Uint8Array> = new Map(),
): AsyncGenerator<DecodedBlock> {
  const concurrency = Math.max(1, opts.concurrency ?? defaultDecodeConcurrency());
  const window = Math.max(concurrency, opts.window ?? concurrency + 1);
  const decodeLimit = pLimit(concurrency);
  const pending: Promise<DecodedBlock>[] = [];
  let next = 0;
  const start = (): void => {
    const b = blocks[next++]!;
    const ready = predecoded.get(b.index);
    predecoded.delete(b.index); // handed over: hold no second reference
    const p = ready
      ? Promise.resolve({ block: b, chunks: [ready] })
      : readRaw(b).then((raw) => decodeLimit(async () => ({ block: b, chunks: await decodeXzBlockChunks(b, raw, opts.label) })));
    // A rejection is observed when its turn comes; until then keep it from being "unhandled".
    p.catch(() => undefined);
    pending.push(p);
  };
  try {
    while (next < blocks.length && pending.length < window) start();
    while (pending.length > 0) {
      opts.signal?.throwIfAborted();
      const d = await pending.shift()!;
      yield d;
      // Refill only once the consumer is done with `d`: the block it holds counts in the window.
      if (next < blocks.length) start();
    }
  } finally {
    // Early exit (consumer stopped or an error): let in-flight work finish quietly.
    decodeLimit.clearQueue();
  }
}
