// One page of a kdump-compressed dump, decoded: each page is compressed on its own (zlib, lzo,
// zstd or snappy, the page descriptor's flags say which) or stored. Shared by the banner scan
// (kdump-pages.ts) and the memory reader (memory.ts).

import { inflateSync } from 'node:zlib';
import { DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB, DUMP_DH_COMPRESSED_ZSTD } from '../formats/kdump.js';
import { lzo1xDecompress } from './lzo.js';
import { snappyDecompress } from './snappy.js';

/**
 * fzstd, once a zstd page was met (zstdReady): the module builds its decoding tables when it is
 * loaded, which every `kdbg log` paid before, whatever its pages (about 0.15 ms of the bundle's
 * top levels, from phase marks on the sysrq ELF).
 */
let fzstd: typeof import('fzstd') | null = null;

/** Load fzstd when `flags` (a page descriptor's) say zstd; await it before decodeKdumpPage. */
export async function zstdReady(flags: number): Promise<void> {
  if (flags & DUMP_DH_COMPRESSED_ZSTD && !(flags & DUMP_DH_COMPRESSED_ZLIB) && fzstd === null) fzstd = await import('fzstd');
}

/** The page's bytes (at most `blockSize`), or null when it does not decode (zstd: after zstdReady). */
export function decodeKdumpPage(flags: number, data: Uint8Array, blockSize: number): Uint8Array | null {
  try {
    if (flags & DUMP_DH_COMPRESSED_ZLIB) return inflateSync(data, { maxOutputLength: blockSize });
    if (flags & DUMP_DH_COMPRESSED_ZSTD) return fzstd ? fzstd.decompress(data, new Uint8Array(blockSize)) : null;
    if (flags & DUMP_DH_COMPRESSED_LZO) return lzo1xDecompress(data, blockSize);
    if (flags & DUMP_DH_COMPRESSED_SNAPPY) return snappyDecompress(data, blockSize);
    return data;
  } catch {
    return null;
  }
}
