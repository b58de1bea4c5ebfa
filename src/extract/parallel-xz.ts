// Decode independent xz blocks concurrently and hand them back in order, with bounded memory.
//
// Each block is wrapped into a one-block stream (formats/xz.ts wrapBlocks) and decoded by
// node-liblzma's async API, which runs liblzma on libuv's thread pool — so N blocks in flight use
// N cores without worker_threads plumbing. Each block's own check (CRC64 by liblzma; SHA-256 by
// node:crypto here, faster) and our wrapper's index are verified, so a wrong or truncated block fails
// here, not later. At most `window` raw blocks and `concurrency` decodes are in flight, and at
// most `window` decoded blocks wait for the consumer.

import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createUnxz } from 'node-liblzma';
import pLimit from 'p-limit';
import { processEnv } from '../core/env.js';
import { IntegrityError } from '../core/errors.js';
import { XZ_CHECK_SHA256 } from '../formats/xz-strip.js';
import { wrapBlocks, type XzBlock } from '../formats/xz.js';

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

function check(block: XzBlock, raw: Uint8Array, label: string): void {
  if (raw.length !== block.totalSize) {
    throw new IntegrityError(`${label}: xz block ${block.index}: got ${raw.length} bytes, the index says ${block.totalSize}`, {
      details: { file: label, block: block.index, offset: block.offset },
    });
  }
}

/**
 * Decode one raw block (its `totalSize` bytes as stored) into exactly `uncompressedSize` bytes,
 * returned as the decoder's 1 MiB output pieces. The decoder runs on libuv's thread pool.
 */
export async function decodeXzBlockChunks(block: XzBlock, raw: Uint8Array, label: string): Promise<Uint8Array[]> {
  const prepared = prepareXzBlock(block, raw, label);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const u = createUnxz({ chunkSize: 1 << 20 });
      u.on('data', (...args: unknown[]) => {
        const c = args[0] as Uint8Array;
        chunks.push(c);
        prepared.hash?.update(c);
        total += c.length;
      });
      u.on('error', (...args: unknown[]) => reject(args[0]));
      u.on('end', () => resolve());
      u.write(prepared.head);
      u.write(prepared.data);
      u.end(prepared.tail);
    });
  } catch (e) {
    throw new IntegrityError(`${label}: xz block ${block.index} at offset ${block.offset} does not decode (${(e as Error).message}); its check failed or the data is corrupt`, {
      cause: e,
      details: { file: label, block: block.index, offset: block.offset },
    });
  }
  if (total !== block.uncompressedSize) {
    throw new IntegrityError(`${label}: xz block ${block.index} decoded to ${total} bytes, the index says ${block.uncompressedSize}`, {
      details: { file: label, block: block.index, offset: block.offset },
    });
  }
  prepared.verify();
  return chunks;
}

/** A raw block made ready for liblzma as a one-block stream (see prepareXzBlock). */
export interface PreparedXzBlock {
  head: Uint8Array;
  /** The block as liblzma is to see it (a SHA-256 check cut off). */
  data: Uint8Array;
  tail: Uint8Array;
  /** Feed it every decoded byte of the block, in order, when non-null. */
  hash: Hash | null;
  /** Throws IntegrityError when the fed bytes do not match the block's SHA-256 check. */
  verify(): void;
}

/**
 * Wrap one raw block (its `totalSize` bytes as stored) for decoding. A SHA-256 check is verified
 * by the caller through `hash`/`verify` with node:crypto rather than by liblzma's slower portable
 * SHA-256 on the pool thread (formats/xz-strip.ts): such a block is wrapped as check None. Other
 * checks (CRC64, CRC32) stay with liblzma.
 */
export function prepareXzBlock(block: XzBlock, raw: Uint8Array, label: string): PreparedXzBlock {
  check(block, raw, label);
  const offload = block.checkId === XZ_CHECK_SHA256;
  const stored = offload ? raw.subarray(raw.length - 32) : null;
  const wrapped: XzBlock = offload ? { ...block, checkId: 0, unpaddedSize: block.unpaddedSize - 32, totalSize: block.totalSize - 32 } : block;
  const { head, tail } = wrapBlocks([wrapped]);
  const hash = offload ? createHash('sha256') : null;
  return {
    head,
    data: offload ? raw.subarray(0, raw.length - 32) : raw,
    tail,
    hash,
    verify: () => {
      if (!hash || !stored) return;
      const digest = hash.digest();
      if (!digest.equals(stored)) {
        throw new IntegrityError(`${label}: xz block ${block.index} at offset ${block.offset}: SHA-256 of the decoded data is ${digest.toString('hex')}, the block says ${Buffer.from(stored).toString('hex')}`, {
          details: { file: label, block: block.index, offset: block.offset },
        });
      }
    },
  };
}

/** Like decodeXzBlockChunks, as one contiguous buffer (for reading headers across a block). */
export async function decodeXzBlock(block: XzBlock, raw: Uint8Array, label: string): Promise<Uint8Array> {
  const chunks = await decodeXzBlockChunks(block, raw, label);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
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
