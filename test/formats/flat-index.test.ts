// The lazy record index of flattened files (formats/flat-index.ts) and the block reads under it
// (core/read-cache.ts): records in one ordered stream, in two interleaved streams (QEMU's page
// descriptors and page data), shuffled, and overlapping (last writer wins), read back exactly;
// small reads in file order cost one read of the file per block.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BytesRandomAccess, type RandomAccess } from '../../src/core/byte-source.js';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { CachedRandomAccess } from '../../src/core/read-cache.js';
import { FlatIndexAccess } from '../../src/formats/flat-index.js';
import { flatten } from '../builders/vmcore.js';

const inner = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
const dir = mkdtempSync(join(tmpdir(), 'kdbg-flat-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real file's reads, counted. */
class Counted implements RandomAccess {
  reads = 0;
  constructor(private readonly ra: RandomAccess) {}
  get label(): string {
    return this.ra.label;
  }
  get size(): number | null {
    return this.ra.size;
  }
  readAt(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    return this.ra.readAt(offset, length);
  }
}

/** A flattened file from explicit records {offset, bytes}, in the order given. */
function flatFrom(records: [number, Uint8Array][]): Uint8Array {
  const size = 4096 + records.reduce((a, [, d]) => a + 16 + d.length, 0) + 16;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode('makedumpfile'));
  dv.setBigInt64(16, 1n, false);
  dv.setBigInt64(24, 1n, false);
  let p = 4096;
  for (const [off, d] of records) {
    dv.setBigInt64(p, BigInt(off), false);
    dv.setBigInt64(p + 8, BigInt(d.length), false);
    out.set(d, p + 16);
    p += 16 + d.length;
  }
  dv.setBigInt64(p, -1n, false);
  dv.setBigInt64(p + 8, -1n, false);
  return out;
}

async function expectReadsBack(idx: FlatIndexAccess): Promise<void> {
  for (const [o, n] of [[0, 100], [999, 2], [4000, 9000], [24_990, 20], [30_001, 19_999], [0, 50_000]] as const) {
    expect(await idx.readAt(o, n)).toEqual(inner.subarray(o, o + n));
  }
}

describe('FlatIndexAccess', () => {
  it('reads two interleaved record streams back exactly (QEMU: descriptors between page data)', async () => {
    const a: [number, Uint8Array][] = [];
    const b: [number, Uint8Array][] = [];
    for (let off = 0; off < 10_000; off += 500) a.push([off, inner.subarray(off, off + 500)]);
    for (let off = 10_000; off < 50_000; off += 2000) b.push([off, inner.subarray(off, off + 2000)]);
    const recs: [number, Uint8Array][] = [];
    while (a.length || b.length) {
      if (a.length) recs.push(a.shift()!);
      if (b.length) recs.push(b.shift()!);
    }
    await expectReadsBack(await FlatIndexAccess.build(new BytesRandomAccess(flatFrom(recs), 'f')));
  });

  it('reads shuffled records back exactly (more orders than it keeps runs for)', async () => {
    await expectReadsBack(await FlatIndexAccess.build(new BytesRandomAccess(flatten(inner, { recordSize: 999, shuffle: true }), 'f')));
  });

  it('lets the later of overlapping records win, across runs', async () => {
    // [2000, 3000) zeros opens a run; [0, 4000) zeros cannot follow it and opens a second; the
    // real [3000, 3500) then joins the first run, yet must overwrite the second run's zeros.
    const z = (n: number): Uint8Array => new Uint8Array(n);
    const recs: [number, Uint8Array][] = [
      [2000, z(1000)],
      [0, z(4000)],
      [3000, inner.slice(3000, 3500)],
      [0, inner.slice(0, 3000)],
      [3500, inner.slice(3500)],
    ];
    const idx = await FlatIndexAccess.build(new BytesRandomAccess(flatFrom(recs), 'f'));
    // Index every record first: a range is served as soon as the records seen cover it.
    expect(await idx.readAt(49_990, 100)).toEqual(inner.subarray(49_990));
    expect(idx.size).toBe(50_000);
    await expectReadsBack(idx);
  });

  it('hops 5000 small records with a few reads of the file', async () => {
    const path = join(dir, 'small-records.flat');
    writeFileSync(path, flatten(inner, { recordSize: 10 }));
    const file = await FileRandomAccess.open(path);
    try {
      const counted = new Counted(file);
      const idx = await FlatIndexAccess.build(counted);
      for (let o = 0; o < 50_000; o += 4096) expect(await idx.readAt(o, 4096)).toEqual(inner.subarray(o, o + 4096));
      // 50 000 bytes in 10-byte records: 130 KB of file, one block; the header check is one read.
      expect(counted.reads).toBeLessThanOrEqual(3);
    } finally {
      await file.close();
    }
  });
});

describe('CachedRandomAccess', () => {
  const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 13) & 0xff);

  it('returns what the file returns, across blocks, at the end and past it', async () => {
    const path = join(dir, 'plain.bin');
    writeFileSync(path, bytes);
    const file = await FileRandomAccess.open(path);
    try {
      const counted = new Counted(file);
      const c = new CachedRandomAccess(counted, 1024, 2);
      for (const [o, n] of [[0, 10], [1020, 10], [1000, 1024], [9990, 100], [10_000, 5], [12_000, 1], [3000, 5000], [0, 10_000]] as const) {
        expect(await c.readAt(o, n)).toEqual(bytes.subarray(o, Math.min(o + n, bytes.length)));
      }
      // A copy: changing it does not change what the next reader gets.
      const r = await c.readAt(0, 4);
      r.fill(0);
      expect(await c.readAt(0, 4)).toEqual(bytes.subarray(0, 4));
    } finally {
      await file.close();
    }
  });

  it('reads a walk in file order once per block', async () => {
    const counted = new Counted(new BytesRandomAccess(bytes, 'b'));
    const c = new CachedRandomAccess(counted, 4096, 2);
    for (let o = 0; o < bytes.length; o += 16) await c.readAt(o, 16);
    expect(counted.reads).toBe(3);
  });
});
