// Dumps compressed as a whole file (vmcore.gz, .xz, .zst, .bz2; formats.md §A.6): headers and
// notes are at the front, so decompressing the first KBs is enough. The output is consumed by
// identifyStream, which stops pulling early; returning from the generator tears the decoder and
// the input down. The decoders are the registry's (core/decompress.ts).

import { decodeStream, detectCompression, type Compression } from '../core/decompress.js';
import { InputFormatError, isKdbgError } from '../core/errors.js';

export type WholeFileCompression = Exclude<Compression, 'lzma'>;

/** Legacy .lzma is not a dump format anyone writes; its loose "magic" would only misfire here. */
const WHOLE_FILE: readonly WholeFileCompression[] = ['gzip', 'xz', 'zstd', 'bzip2'];

export function detectWholeFileCompression(head: Uint8Array): WholeFileCompression | null {
  return detectCompression(head, WHOLE_FILE) as WholeFileCompression | null;
}

function decodeError(kind: WholeFileCompression, label: string, e: unknown): Error {
  if (isKdbgError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new InputFormatError(`${label}: corrupt ${kind} data: ${msg}`, { file: label, format: kind }, { cause: e });
}

export function decompressWhole(kind: WholeFileCompression, chunks: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  return decodeStream(kind, chunks, { mapError: (e) => decodeError(kind, label, e) });
}
