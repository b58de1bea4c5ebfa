// Building .xz framing around raw blocks: a stream header, an index and footer, so one or more
// blocks cut out of a bigger stream decode on their own.

import { crc32, encodeVli, putU32le, XZ_HEADER_MAGIC } from './xz-headers.js';
import type { XzBlock, XzIndexRecord } from './xz-index.js';

/** A Stream Header for the given check id. */
export function buildStreamHeader(checkId: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set(XZ_HEADER_MAGIC, 0);
  b[6] = 0;
  b[7] = checkId;
  putU32le(b, 8, crc32(b.subarray(6, 8)));
  return b;
}

/** An Index (with padding and CRC) and Stream Footer for the given blocks. */
export function buildIndexAndFooter(records: readonly XzIndexRecord[], checkId: number): Uint8Array {
  const body: number[] = [0, ...encodeVli(records.length)];
  for (const r of records) body.push(...encodeVli(r.unpaddedSize), ...encodeVli(r.uncompressedSize));
  while (body.length % 4 !== 0) body.push(0);
  const indexSize = body.length + 4;
  const out = new Uint8Array(indexSize + 12);
  out.set(body, 0);
  putU32le(out, body.length, crc32(out.subarray(0, body.length)));
  const f = out.subarray(indexSize);
  putU32le(f, 4, indexSize / 4 - 1);
  f[8] = 0;
  f[9] = checkId;
  putU32le(f, 0, crc32(f.subarray(4, 10)));
  f[10] = 0x59;
  f[11] = 0x5a;
  return out;
}

/**
 * Wrap consecutive raw blocks (their `totalSize` bytes each, concatenated) into a stand-alone xz
 * stream: header, the blocks, a fresh index and footer. Any xz decoder then decodes exactly these
 * blocks and verifies each block's check (CRC64/SHA-256) against its data.
 */
export function wrapBlocks(blocks: readonly XzBlock[]): { head: Uint8Array; tail: Uint8Array } {
  const checkId = blocks[0]?.checkId ?? 0;
  return {
    head: buildStreamHeader(checkId),
    tail: buildIndexAndFooter(
      blocks.map((b) => ({ unpaddedSize: b.unpaddedSize, uncompressedSize: b.uncompressedSize })),
      checkId,
    ),
  };
}
