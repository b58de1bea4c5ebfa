// Streaming decompression of repository index files (primary.xml.{gz,xz,zst}), chosen from the
// first bytes rather than the file name: mirrors have served `.gz` names with other content. Each
// codec is a pull pipeline, so an early `break` by the consumer stops reading the network body.

import { Readable, pipeline, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputFormatError } from '../core/errors.js';

export type IndexCodec = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

export function detectCodec(head: Uint8Array): IndexCodec {
  const is = (...b: number[]): boolean => b.every((x, i) => head[i] === x);
  if (is(0x1f, 0x8b)) return 'gzip';
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (is(0x42, 0x5a, 0x68)) return 'bzip2';
  return 'none';
}

/** Re-yield `first` then the rest of an iterator (after peeking at the first chunk). */
async function* prepend(first: Uint8Array, it: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

async function* viaTransform(src: AsyncIterable<Uint8Array>, t: Transform): AsyncGenerator<Uint8Array> {
  // Errors of either side end up destroying `t`, which makes the loop below throw.
  pipeline(Readable.from(src), t, () => {});
  try {
    for await (const c of t as AsyncIterable<Uint8Array>) yield c;
  } finally {
    t.destroy();
  }
}

async function* unzstd(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const { Decompress } = await import('fzstd');
  const out: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    out.push(chunk);
  });
  for await (const c of src) {
    d.push(c);
    while (out.length > 0) yield out.shift()!;
  }
  d.push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}

/** Decompress a stream whose codec is told by its magic bytes. `label` names it in errors. */
export async function* decompressIndex(chunks: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  let first: Uint8Array | undefined;
  // Skip empty chunks; the magic needs at most 6 bytes and HTTP bodies never split that finely
  // in practice, but join small chunks anyway so detection is chunking-independent.
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 6) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    have += r.value.length;
  }
  first = head.length === 1 ? head[0]! : Buffer.concat(head);
  if (first.length === 0) return;
  const codec = detectCodec(first);
  const src = prepend(first, it);
  try {
    switch (codec) {
      case 'none':
        yield* src;
        return;
      case 'gzip':
        yield* viaTransform(src, createGunzip());
        return;
      case 'xz': {
        const { createUnxz } = await import('node-liblzma');
        yield* viaTransform(src, createUnxz() as unknown as Transform);
        return;
      }
      case 'zstd':
        yield* unzstd(src);
        return;
      case 'bzip2':
        throw new InputFormatError(`${label}: bzip2-compressed index not supported`, { file: label, format: 'repodata', offset: 0, expected: 'gzip, xz, zstd or plain XML', found: 'bzip2' });
    }
  } catch (e) {
    if (e instanceof InputFormatError) throw e;
    throw new InputFormatError(`${label}: cannot decompress ${codec} data (${(e as Error).message})`, { file: label, format: codec }, { cause: e });
  } finally {
    await it.return?.();
  }
}
