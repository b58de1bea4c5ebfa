// makedumpfile flattened format: record replay (last writer wins), the header window, early stop,
// and hostile input — from a stream in hostile chunk sizes and from a file.
import { describe, expect, it } from 'vitest';
import { ByteSource, BytesRandomAccess } from '../../src/core/byte-source.js';
import { LimitError, TruncatedError } from '../../src/core/errors.js';
import { FlatIndexAccess } from '../../src/formats/flat-index.js';
import { isFlattened, reassembleFlattenedFile, reassembleFlattenedStream } from '../../src/formats/flattened.js';
import { chunked, flatten, HOSTILE_CHUNKS } from '../builders/vmcore.js';

const inner = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

describe('flattened format', () => {
  it('replays shuffled records into the original bytes (stream, hostile chunks)', async () => {
    const flat = flatten(inner, { recordSize: 999, shuffle: true });
    expect(isFlattened(flat)).toBe(true);
    for (const sizes of HOSTILE_CHUNKS) {
      const img = await reassembleFlattenedStream(new ByteSource(chunked(flat, sizes), 's'));
      expect(img.reachedEnd).toBe(true);
      expect(img.size).toBe(inner.length);
      expect(await img.readAt(0, inner.length)).toEqual(inner);
    }
  });

  it('lets a later record overwrite an earlier one (the -F -E phdr trap)', async () => {
    const flat = flatten(inner, { recordSize: 4096, elfTrap: { phoff: 64, phsize: 112 } });
    const img = await reassembleFlattenedFile(new BytesRandomAccess(flat, 'f'));
    expect(await img.readAt(64, 112)).toEqual(inner.subarray(64, 176));
    // The lazy record index serves data written once (pages) without visiting later records.
    const idx = await FlatIndexAccess.build(new BytesRandomAccess(flat, 'f'));
    expect(await idx.readAt(4096, 20_000)).toEqual(inner.subarray(4096, 24_096));
    expect(idx.recordsIndexed).toBeLessThan(10);
    expect(await idx.readAt(40_000, 10_000)).toEqual(inner.subarray(40_000, 50_000));
  });

  it('keeps only the window and stops when told', async () => {
    const flat = flatten(inner, { recordSize: 1000 });
    const img = await reassembleFlattenedFile(new BytesRandomAccess(flat, 'f'), { window: 8192, done: (i) => i.covers(0, 3000) });
    expect(img.reachedEnd).toBe(false);
    expect(img.records).toBe(3);
    expect(img.bytesAt(0, 3000)).toEqual(inner.subarray(0, 3000));
    await expect(img.readAt(8000, 500)).rejects.toThrow(LimitError);
  });

  it('reports a missing end marker, absurd record sizes and cut data with offsets', async () => {
    await expect(reassembleFlattenedFile(new BytesRandomAccess(flatten(inner, { noEnd: true }), 'f'))).rejects.toThrow(TruncatedError);
    const absurd = flatten(inner);
    new DataView(absurd.buffer).setBigInt64(4096 + 8, 1n << 40n, false);
    await expect(reassembleFlattenedFile(new BytesRandomAccess(absurd, 'f'))).rejects.toThrow(/buf_size is 1099511627776 at offset 4104/);
    const cut = flatten(inner).subarray(0, 9000);
    await expect(reassembleFlattenedStream(new ByteSource(chunked(cut, [5]), 's'))).rejects.toThrow(TruncatedError);
    await expect(reassembleFlattenedFile(new BytesRandomAccess(cut, 'f'))).rejects.toThrow(/truncated flattened/);
  });
});
