// One page of a kdump-compressed dump, decoded: each page is compressed on its own (zlib, lzo,
// zstd or snappy, the page descriptor's flags say which) or stored. Shared by the banner scan
// (kdump-pages.ts) and the memory reader (memory.ts).

import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB, DUMP_DH_COMPRESSED_ZSTD } from '../formats/kdump.js';
import { lzo1xDecompress } from './lzo.js';
import { snappyDecompress } from './snappy.js';

/** The page's bytes (at most `blockSize`), or null when it does not decode. */
export function decodeKdumpPage(flags: number, data: Uint8Array, blockSize: number): Uint8Array | null {
  try {
    if (flags & DUMP_DH_COMPRESSED_ZLIB) return inflateSync(data, { maxOutputLength: blockSize });
    if (flags & DUMP_DH_COMPRESSED_ZSTD) return zstdDecompress(data, new Uint8Array(blockSize));
    if (flags & DUMP_DH_COMPRESSED_LZO) return lzo1xDecompress(data, blockSize);
    if (flags & DUMP_DH_COMPRESSED_SNAPPY) return snappyDecompress(data, blockSize);
    return data;
  } catch {
    return null;
  }
}
