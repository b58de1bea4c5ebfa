// Writing a located member from the xz blocks that cover it, several blocks decoding at once,
// each piece written straight to its place in the file; published only when every block passed.

import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { busyClock, BusySpans } from '../core/busy.js';
import { IntegrityError, UnsafePathError } from '../core/errors.js';
import type { XzBlock } from '../formats/xz.js';
import { RawPrefetcher, type BlockReader } from './block-reader.js';
import { defaultDecodeConcurrency, threadPoolSize } from './parallel-xz.js';
import type { PartialExtractOptions, TarMember } from './partial-types.js';
import type { WrittenMember } from './types.js';
import { borrowXzBlockDecoder, returnXzBlockDecoder } from './xz-block.js';

function safeJoin(destDir: string, path: string, label: string): string {
  const n = normalize(path);
  if (path === '' || n.startsWith('..') || n.startsWith('/') || n.split('/').includes('..')) {
    throw new UnsafePathError(`${label}: refusing member path ${JSON.stringify(path)} (escapes the target directory)`, { file: label, format: 'tar', found: path });
  }
  return join(destDir, n);
}

/** Bytes of a member written between two fdatasync calls while it is extracted. */
const SYNC_EVERY = 64 << 20;

/**
 * Write member `m` from the xz blocks that cover it. `concurrency` blocks decode at once, each
 * streaming its pieces straight to their place in the file (positional writes), so memory is
 * bounded by the decoders' dictionaries plus a piece each — not by whole decoded blocks (24 MiB
 * each in Debian's debs) waiting for their turn. The member's sha256 is computed in order by
 * reading back each block's slice once it and all before it are on disk (page cache), overlapping
 * the later blocks' decoding. The file is published only when every block passed its checks.
 */
export async function writeMember(m: TarMember, blocks: XzBlock[], reader: BlockReader, opts: PartialExtractOptions): Promise<WrittenMember> {
  const final = safeJoin(opts.destDir, m.path, opts.label);
  await mkdir(dirname(final), { recursive: true });
  const tmp = `${final}.kdbg-partial-${process.pid}`;
  const fh = await open(tmp, 'w+', m.mode & 0o777 || 0o644);
  const hash = createHash('sha256');
  const other = m.digest && m.digest.algo !== 'sha256' ? createHash(m.digest.algo) : null;
  const start = m.dataOffset;
  const end = m.dataOffset + m.size;
  let written = 0;
  // The timings' decode busy and write (core/busy.ts): a lane decoding a block (its writes
  // included), and the positional writes themselves.
  const decodeSpans = new BusySpans(opts.onProgress, 'decode');
  const writeSpans = new BusySpans(opts.onProgress, 'write');
  // Write the part of a decoded piece (at `at` in block b) that belongs to the member.
  const put = async (b: XzBlock, piece: Uint8Array, at: number): Promise<void> => {
    const lo = Math.max(start, b.uncompressedOffset + at);
    const hi = Math.min(end, b.uncompressedOffset + at + piece.length);
    if (hi <= lo) return;
    const slice = piece.subarray(lo - b.uncompressedOffset - at, hi - b.uncompressedOffset - at);
    let done = 0;
    while (done < slice.length) done += (await writeSpans.time(fh.write(slice, done, slice.length - done, lo - start + done))).bytesWritten;
    written += slice.length;
  };
  // In-order hashing of what is on disk: blocks[hashed] is the next block to hash.
  const complete = new Set<number>();
  let hashed = 0;
  let hashing: Promise<void> = Promise.resolve();
  const readBack = Buffer.allocUnsafe(1 << 20);
  let sha256 = '';
  let unsynced = 0;
  const hashCompleted = (): void => {
    while (hashed < blocks.length && complete.has(blocks[hashed]!.index)) {
      const b = blocks[hashed++]!;
      const lo = Math.max(start, b.uncompressedOffset) - start;
      const hi = Math.min(end, b.uncompressedOffset + b.uncompressedSize) - start;
      hashing = hashing.then(async () => {
        for (let pos = lo; pos < hi; ) {
          const { bytesRead } = await fh.read(readBack, 0, Math.min(readBack.length, hi - pos), pos);
          if (bytesRead === 0) throw new IntegrityError(`${opts.label}: ${m.path}: short read back at ${pos} of the file being written`, { details: { file: opts.label, member: m.path } });
          hash.update(readBack.subarray(0, bytesRead));
          other?.update(readBack.subarray(0, bytesRead));
          pos += bytesRead;
        }
        // Hand the written bytes to the disk as the extraction goes (fdatasync on this chain's
        // pool thread, while the lanes decode on theirs), so the cache's fsync before it publishes
        // the entry finds little left: it alone took 145-196 ms for a 633 MB vmlinux, after
        // everything else (issue 19, the bench's R row). Durability is the same: fsyncTree still runs.
        unsynced += hi - lo;
        if (unsynced >= SYNC_EVERY) {
          unsynced = 0;
          await fh.datasync();
        }
      });
    }
  };
  try {
    const predecoded = reader.takeCached(blocks);
    // One lane more than cores: a lane waits for its raw block, its writes and the main thread
    // between decodes, and the spare lane keeps the cores decoding meanwhile (Debian's vmlinux on
    // 2 cores: 2 lanes 4.0–4.5 s, 4 lanes 3.5–4.0 s). Each lane holds a decoder (9 MiB for
    // Debian's xz -6) and a raw block (1.8–7.4 MB in Debian's kernel debs), and each block fetched
    // ahead one more raw block: with 4 lanes and 2 ahead the extraction alone peaked at 196–204 MB
    // RSS, with 3 lanes and 1 ahead at 171–176 MB (session 6, scripts/bench/partial.mjs over HTTP
    // on 127.0.0.1, two runs each at load 9–11; the wall times at that load said nothing), which
    // keeps the whole fetch under the 200 MB of issue 19. Bounded by the pool.
    const concurrency = Math.max(1, opts.concurrency ?? Math.min(defaultDecodeConcurrency() + 1, threadPoolSize()));
    const raw = new RawPrefetcher(reader, blocks.filter((b) => !predecoded.has(b.index)), opts.prefetch ?? 1);
    const finished = (b: XzBlock): void => {
      reader.decoded.add(b.index);
      complete.add(b.index);
      hashCompleted();
      opts.onProgress?.({ kind: 'extract', name: opts.label, member: m.path, bytes: written });
    };
    // The blocks decoded while the member was located (a 24 MiB block 0 for Debian's vmlinux) are
    // written before the lanes start, and their buffers then hold the compressed blocks the lanes
    // read: written while the lanes ran, such a block was garbage for the rest of the extraction
    // (V8 collects ArrayBuffers only after tens of MB more) beside the lanes' own raw buffers.
    for (const b of blocks) {
      const ready = predecoded.get(b.index);
      if (!ready) continue;
      await put(b, ready, 0);
      finished(b);
      raw.donate(ready);
    }
    for (const buf of reader.releaseBuffers()) raw.donate(buf);
    predecoded.clear();
    let next = 0;
    let failed = false;
    const lane = async (): Promise<void> => {
      const decoder = borrowXzBlockDecoder(opts.label);
      try {
        while (!failed && next < blocks.length) {
          const b = blocks[next++]!;
          if (complete.has(b.index)) continue;
          try {
            const bytes = await raw.take(b);
            const t0 = busyClock();
            await decoder.decode(b, bytes, (piece, at) => put(b, piece, at), opts.signal);
            decodeSpans.span(t0, busyClock());
            // decode() resolved: liblzma has consumed every input chunk and no view is kept.
            raw.release(bytes);
          } catch (e) {
            failed = true;
            throw e;
          }
          finished(b);
        }
      } finally {
        returnXzBlockDecoder(decoder);
      }
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, blocks.length) }, lane));
    const failure = lanes.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    await hashing.catch((e: unknown) => {
      if (!failure) throw e;
    });
    if (failure) throw failure.reason;
    if (written !== m.size || hashed !== blocks.length) {
      throw new IntegrityError(`${opts.label}: ${m.path}: wrote ${written} bytes, the archive header says ${m.size}`, { details: { file: opts.label, member: m.path } });
    }
    sha256 = hash.digest('hex');
    if (m.digest) {
      // The RPM header's digest of the file (FILEDIGESTS): with a verified header signature, the
      // anchor of a partial fetch, which never sees the package's own sha256.
      const got = other ? other.digest('hex') : sha256;
      if (got !== m.digest.hex.toLowerCase()) {
        throw new IntegrityError(`${opts.label}: member ${m.path} has ${m.digest.algo} ${got}, ${m.digest.source} says ${m.digest.hex}`, { details: { file: opts.label, member: m.path, expected: m.digest.hex, found: got, algo: m.digest.algo } });
      }
    }
    // No fsync here: `kdbg unpack` promises what tar and cpio promise, and the cache fsyncs
    // the whole entry before it publishes it (cache/fs-util.ts fsyncTree). 633 MB: ~0.3 s.
    await fh.close();
    await rename(tmp, final);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  } finally {
    decodeSpans.flush();
    writeSpans.flush();
  }
  return { member: { path: m.path, size: m.size, mode: m.mode, type: 'file', linkTarget: null }, path: final, sha256 };
}
