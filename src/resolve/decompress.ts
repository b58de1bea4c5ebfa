// Streaming decompression of repository index files (primary.xml.{gz,xz,zst,bz2}), chosen from the
// first bytes rather than the file name: mirrors have served `.gz` names with other content. The
// decoders are the registry's (core/decompress.ts), pull pipelines, so an early `break` by the
// consumer stops reading the network body.

import { decodeStream, detectCompression, MAGIC_BYTES } from '../core/decompress.js';
import { InputFormatError } from '../core/errors.js';

export type IndexCodec = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

const INDEX_CODECS = ['gzip', 'xz', 'zstd', 'bzip2'] as const;

export function detectCodec(head: Uint8Array): IndexCodec {
  return (detectCompression(head, INDEX_CODECS) as IndexCodec | null) ?? 'none';
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

/**
 * Decompress a stream whose codec is told by its magic bytes. `label` names it in errors. `whole`:
 * the reader reads to the end (a Debian Packages scan), so large pieces cost less than small ones.
 */
export async function* decompressIndex(chunks: AsyncIterable<Uint8Array>, label: string, opts: { whole?: boolean } = {}): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  // Join small chunks until the magic can be seen, so detection is chunking-independent.
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < MAGIC_BYTES) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    have += r.value.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  if (first.length === 0) return;
  const codec = detectCodec(first);
  const src = prepend(first, it);
  const cannot = (e: unknown): Error =>
    e instanceof InputFormatError ? e : new InputFormatError(`${label}: cannot decompress ${codec} data (${(e as Error).message})`, { file: label, format: codec }, { cause: e });
  try {
    switch (codec) {
      case 'none':
        yield* src;
        return;
      // bzip2 as any other codec: createrepo_c writes it (--general-compress-type=bz2), and which
      // codec the CentOS successors' mirrors use is not known (design/mirrors-china.md §7).
      default:
        // Small pieces and read-ahead: a search that stops at the first match reads little more.
        // A whole read takes bigger pieces. bookworm's 8.95 MB Packages.xz (50 MB out) decoded and
        // scanned (deb-scan.ts) in one process: 16 KiB pieces 0.70-0.89 s and 80 MB peak RSS,
        // 256 KiB 0.59 s and 86 MB, 1 MiB 0.60 s and 89-90 MB.
        const size = opts.whole ? 256 * 1024 : 16 * 1024;
        yield* decodeStream(codec, src, { mapError: cannot, chunkSize: size, readAhead: size });
        return;
    }
  } catch (e) {
    throw cannot(e);
  } finally {
    await it.return?.();
  }
}
