// Deliver bytes as a stream of hostile chunk sizes, so every parser test also proves the parser
// does not assume a value arrives in one piece (file-type's hostile chunk patterns).

/** The chunk-size patterns every parser test runs under (cycled over the input). */
export const HOSTILE_CHUNKS: number[][] = [[1], [2], [3], [5], [8], [13], [1, 7, 2, 4093, 3, 65536, 5]];

/** Yield `bytes` as copies of the given sizes, cycled; copies catch parsers that keep views too long. */
export async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (let off = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.slice(off, off + n);
    off += n;
  }
}
