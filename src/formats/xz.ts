// The .xz container (tukaani doc/xz-file-format.txt 1.2.1): stream header/footer, index, block
// headers. Enough to find, without decompressing anything, which blocks of a multi-block stream
// cover a byte range of the uncompressed data, and to wrap one or more raw blocks into a
// stand-alone stream any xz decoder accepts. Blocks are independent (LZMA2 state resets per
// block), which is what makes partial downloads and parallel decoding possible.
//
// Files: xz-headers.ts (stream and block headers, VLIs, CRC32), xz-index.ts (the index, blocks by
// range), xz-wrap.ts (framing raw blocks as a stand-alone stream).

export { XZ_HEADER_MAGIC, XZ_FOOTER_MAGIC, XZ_STREAM_HEADER_SIZE, XZ_STREAM_FOOTER_SIZE, checkSize, checkName, crc32, type XzStreamFlags, parseStreamHeader, type XzStreamFooter, parseStreamFooter, readVli, encodeVli, type XzFilter, type XzBlockHeader, XZ_FILTER_LZMA2, parseBlockHeader } from './xz-headers.js';
export { type XzIndexRecord, MAX_INDEX_RECORDS, parseIndex, roundUp4, type XzBlock, type XzStreamInfo, type XzFileIndex, MAX_INDEX_BYTES, readXzIndex, blockAt, blocksForRange } from './xz-index.js';
export { buildStreamHeader, buildIndexAndFooter, wrapBlocks } from './xz-wrap.js';
