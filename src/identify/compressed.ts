// Dumps compressed as a whole file (vmcore.gz, .xz, .zst, .bz2; formats.md §A.6): headers and
// notes are at the front, so decompressing the first KBs is enough. The output is consumed by
// identifyStream, which stops pulling early; returning from the generator tears the decoder and
// the input down.

import { PassThrough, Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { InputFormatError, isKdbgError } from '../core/errors.js';

export type WholeFileCompression = 'gzip' | 'xz' | 'zstd' | 'bzip2';

const starts = (head: Uint8Array, magic: number[]): boolean => head.length >= magic.length && magic.every((b, i) => head[i] === b);

export function detectWholeFileCompression(head: Uint8Array): WholeFileCompression | null {
  if (starts(head, [0x1f, 0x8b])) return 'gzip';
  if (starts(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (starts(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (starts(head, [0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  return null;
}

function decodeError(kind: WholeFileCompression, label: string, e: unknown): Error {
  if (isKdbgError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new InputFormatError(`${label}: corrupt ${kind} data: ${msg}`, { file: label, format: kind }, { cause: e });
}

export async function* decompressWhole(kind: WholeFileCompression, chunks: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  if (kind === 'zstd') {
    const out: Uint8Array[] = [];
    const dec = new ZstdDecompress((c) => out.push(c));
    try {
      for await (const c of chunks) {
        dec.push(c);
        while (out.length) yield out.shift()!;
      }
      dec.push(new Uint8Array(0), true);
      while (out.length) yield out.shift()!;
    } catch (e) {
      throw decodeError(kind, label, e);
    }
    return;
  }
  let dec: Duplex;
  if (kind === 'gzip') dec = createGunzip({ chunkSize: 256 << 10 });
  else if (kind === 'xz') {
    const { createUnxz } = await import('node-liblzma');
    dec = createUnxz({ chunkSize: 1 << 20 }) as unknown as Duplex;
  } else {
    const bz2 = (await import('unbzip2-stream')).default;
    dec = bz2() as unknown as Duplex;
  }
  const src = Readable.from(chunks, { objectMode: false, highWaterMark: 128 << 10 });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let failure: unknown = null;
  const fail = (e: unknown): void => {
    failure ??= e;
    out.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  src.on('error', fail);
  dec.on('error', fail);
  src.pipe(dec).pipe(out);
  try {
    for await (const c of out) yield c as Uint8Array;
    if (failure) throw failure;
  } catch (e) {
    throw decodeError(kind, label, failure ?? e);
  } finally {
    src.destroy();
    dec.destroy();
    out.destroy();
  }
}
