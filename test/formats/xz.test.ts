// The xz container parser against real `xz` output: indexes, block headers and the one-block
// wrapper are checked against `xz --robot -lvv` and against `xz -dc` of what we wrap.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytesRandomAccess, type RandomAccess } from '../../src/core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../../src/core/errors.js';
import {
  blockAt,
  blocksForRange,
  buildIndexAndFooter,
  crc32,
  parseBlockHeader,
  parseIndex,
  parseStreamFooter,
  parseStreamHeader,
  readXzIndex,
  wrapBlocks,
  type XzFileIndex,
} from '../../src/formats/xz.js';

let dir: string;
let plain: Buffer;
let multi: Buffer; // xz -T2 --block-size=64KiB
let single: Buffer; // plain xz: one block, no sizes in the header
let twoStreams: Buffer; // two streams with stream padding between and after
let robot: string[][];

function xz(args: string[], input: Buffer): Buffer {
  return execFileSync('xz', args, { input, maxBuffer: 64 << 20 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kdbg-xz-'));
  // Half random, half compressible text, so blocks differ in ratio.
  const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of a kernel symbol table ffffffff8100${i.toString(16)}\n`).join(''));
  plain = Buffer.concat([randomBytes(200_000), text, randomBytes(77_777)]);
  multi = xz(['-T2', '--block-size=65536', '-c'], plain);
  single = xz(['-T1', '-c'], plain);
  const a = xz(['-T2', '--block-size=100000', '--check=crc32', '-c'], plain.subarray(0, 300_000));
  const b = xz(['-T2', '--block-size=100000', '--check=sha256', '-c'], plain.subarray(300_000));
  twoStreams = Buffer.concat([a, Buffer.alloc(8), b, Buffer.alloc(4)]);
  writeFileSync(join(dir, 'multi.xz'), multi);
  robot = execFileSync('xz', ['--robot', '-lvv', join(dir, 'multi.xz')], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('block\t'))
    .map((l) => l.split('\t'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A RandomAccess over bytes stored in hostile chunk sizes (reads must stitch them together). */
function chunkedAccess(bytes: Uint8Array, sizes: number[]): RandomAccess {
  const chunks: { off: number; b: Uint8Array }[] = [];
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = sizes[i++ % sizes.length]!;
    chunks.push({ off, b: bytes.slice(off, off + n) });
    off += n;
  }
  return {
    label: `chunked(${sizes.join(',')})`,
    size: bytes.length,
    async readAt(offset, length) {
      const end = Math.min(bytes.length, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      for (const c of chunks) {
        if (c.off + c.b.length <= offset || c.off >= end) continue;
        const from = Math.max(offset, c.off);
        const to = Math.min(end, c.off + c.b.length);
        out.set(c.b.subarray(from - c.off, to - c.off), from - offset);
      }
      return out;
    },
  };
}

function decodeWrapped(idx: XzFileIndex, file: Uint8Array, first: number, last: number): Buffer {
  const blocks = idx.blocks.slice(first, last + 1);
  const { head, tail } = wrapBlocks(blocks);
  const raw = file.subarray(blocks[0]!.offset, blocks.at(-1)!.offset + blocks.at(-1)!.totalSize);
  return xz(['-dc'], Buffer.concat([head, raw, tail]));
}

describe('xz index', () => {
  it('matches xz --robot -lvv for a threaded multi-block file', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(multi, 'multi.xz'));
    expect(idx.blocks.length).toBe(robot.length);
    expect(idx.blocks.length).toBeGreaterThan(4);
    expect(idx.uncompressedSize).toBe(plain.length);
    expect(idx.compressedSize).toBe(multi.length);
    idx.blocks.forEach((b, i) => {
      const r = robot[i]!;
      expect(b.offset).toBe(Number(r[4]));
      expect(b.uncompressedOffset).toBe(Number(r[5]));
      expect(b.totalSize).toBe(Number(r[6])); // robot "total size" includes the block padding
      expect(b.uncompressedSize).toBe(Number(r[7]));
      expect(b.checkId).toBe(4);
      const h = parseBlockHeader(multi.subarray(b.offset, b.offset + 1024), 'multi.xz', b.offset);
      expect(h.headerSize).toBe(Number(r[11]));
      expect(h.compressedSize).toBe(Number(r[13]));
      expect(h.uncompressedSize).toBe(b.uncompressedSize);
      expect(h.filters.map((f) => f.id)).toEqual([0x21]);
    });
  });

  it('gives the same answer with the bytes delivered in hostile chunk sizes', async () => {
    const want = await readXzIndex(new BytesRandomAccess(multi));
    for (const sizes of [[1], [2], [3], [5], [8], [13], [1, 13, 2, 8, 3, 5]]) {
      const got = await readXzIndex(chunkedAccess(multi, sizes));
      expect(got.blocks).toEqual(want.blocks);
    }
  });

  it('wraps any run of blocks into a stream xz decodes to the right slice', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(multi));
    const n = idx.blocks.length;
    for (const [a, z] of [
      [0, 0],
      [1, 1],
      [2, 4],
      [n - 1, n - 1],
      [0, n - 1],
    ] as const) {
      const out = decodeWrapped(idx, multi, a, z);
      const start = idx.blocks[a]!.uncompressedOffset;
      expect(out.equals(plain.subarray(start, start + out.length))).toBe(true);
      expect(start + out.length).toBe(idx.blocks[z]!.uncompressedOffset + idx.blocks[z]!.uncompressedSize);
    }
  });

  it('reads a single-block file (plain xz: no sizes in the block header)', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(single));
    expect(idx.blocks.length).toBe(1);
    expect(idx.blocks[0]!.uncompressedSize).toBe(plain.length);
    const h = parseBlockHeader(single.subarray(12, 12 + 1024), 'single.xz', 12);
    expect(h.compressedSize).toBeNull();
    expect(h.uncompressedSize).toBeNull();
  });

  it('walks several streams with stream padding and different checks', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(twoStreams));
    expect(idx.streams.length).toBe(2);
    expect(idx.streams.map((s) => s.checkId)).toEqual([1, 10]);
    expect(idx.streams.map((s) => s.padding)).toEqual([8, 4]);
    expect(idx.uncompressedSize).toBe(plain.length);
    const second = idx.blocks.find((b) => b.stream === 1)!;
    expect(second.uncompressedOffset).toBe(300_000);
    const out = decodeWrapped(idx, twoStreams, second.index, second.index);
    expect(out.equals(plain.subarray(300_000, 300_000 + out.length))).toBe(true);
  });

  it('maps uncompressed ranges to blocks', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(multi));
    expect(blockAt(idx.blocks, 0)).toBe(0);
    expect(blockAt(idx.blocks, 65535)).toBe(0);
    expect(blockAt(idx.blocks, 65536)).toBe(1);
    expect(blockAt(idx.blocks, plain.length)).toBe(-1);
    expect(blocksForRange(idx.blocks, 65000, 65536 * 3 + 1).map((b) => b.index)).toEqual([0, 1, 2, 3]);
    expect(blocksForRange(idx.blocks, 10, 10)).toEqual([]);
  });

  it('round-trips an index it builds', () => {
    const records = [
      { unpaddedSize: 65543, uncompressedSize: 65536 },
      { unpaddedSize: 200, uncompressedSize: 1 << 40 },
    ];
    const b = buildIndexAndFooter(records, 4);
    const indexSize = b.length - 12;
    expect(parseIndex(b.subarray(0, indexSize), 'built')).toEqual(records);
    const f = parseStreamFooter(b.subarray(indexSize), 'built');
    expect(f).toEqual({ checkId: 4, checkSize: 8, indexSize });
  });

  it('computes the CRC32 xz uses', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('xz corrupt and hostile input', () => {
  const footerAt = () => multi.length - 12;

  it('rejects a bad stream header magic and CRC with the offset', () => {
    const h = Buffer.from(multi.subarray(0, 12));
    h[0] = 0;
    expect(() => parseStreamHeader(h, 'x.xz')).toThrow(/magic at offset 0/);
    const h2 = Buffer.from(multi.subarray(0, 12));
    h2[7] = h2[7]! ^ 0x01;
    expect(() => parseStreamHeader(h2, 'x.xz')).toThrow(InputFormatError);
  });

  it('rejects a corrupted index (CRC) naming its offset', async () => {
    const bad = Buffer.from(multi);
    const idx = await readXzIndex(new BytesRandomAccess(multi));
    const at = idx.streams[0]!.indexOffset + 2;
    bad[at] = bad[at]! ^ 0x40;
    await expect(readXzIndex(new BytesRandomAccess(bad, 'bad.xz'))).rejects.toThrow(new RegExp(`bad.xz: bad xz index CRC32 at offset ${idx.streams[0]!.indexOffset + idx.streams[0]!.indexSize - 4}`));
  });

  it('rejects an index whose records do not add up to the file', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(multi));
    // Re-encode the index with the first block 1 MiB larger (valid CRCs, wrong sizes).
    const recs = idx.blocks.map((b, i) => ({ unpaddedSize: b.unpaddedSize + (i === 0 ? 1 << 20 : 0), uncompressedSize: b.uncompressedSize }));
    const tail = buildIndexAndFooter(recs, 4);
    const forged = Buffer.concat([multi.subarray(0, idx.streams[0]!.indexOffset), tail]);
    await expect(readXzIndex(new BytesRandomAccess(forged, 'forged.xz'))).rejects.toThrow(/blocks add up to/);
  });

  it('rejects a backward size pointing before the start', async () => {
    const bad = Buffer.from(multi);
    const f = footerAt();
    bad.writeUInt32LE(0x00ffffff, f + 4);
    bad.writeUInt32LE(crc32(bad.subarray(f + 4, f + 10)), f);
    await expect(readXzIndex(new BytesRandomAccess(bad, 'bs.xz'))).rejects.toThrow(/does not fit|over the limit/);
  });

  it('bounds the record count', () => {
    const b = Buffer.from([0x00, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0]);
    b.writeUInt32LE(crc32(b.subarray(0, 8)), 8);
    expect(() => parseIndex(b.subarray(0, 12), 'huge.xz', 100)).toThrow(LimitError);
  });

  it('rejects truncated files and non-xz input', async () => {
    await expect(readXzIndex(new BytesRandomAccess(multi.subarray(0, multi.length - 4), 'short.xz'))).rejects.toThrow(InputFormatError);
    await expect(readXzIndex(new BytesRandomAccess(Buffer.alloc(64, 0x41), 'text'))).rejects.toThrow(/stream footer magic/);
    const ra: RandomAccess = { label: 'liar', size: 4096, readAt: async () => new Uint8Array(0) };
    await expect(readXzIndex(ra)).rejects.toThrow(TruncatedError);
  });

  it('rejects block headers with a bad CRC, reserved bits, or a VLI past the header', () => {
    const h = Buffer.from(multi.subarray(12, 12 + 64));
    const size = (h[0]! + 1) * 4;
    const bad = Buffer.from(h);
    bad[size - 5] = bad[size - 5]! ^ 1;
    expect(() => parseBlockHeader(bad, 'b.xz', 12)).toThrow(/CRC32 at offset/);
    const reserved = Buffer.from(h);
    reserved[1] = reserved[1]! | 0x04;
    reserved.writeUInt32LE(crc32(reserved.subarray(0, size - 4)), size - 4);
    expect(() => parseBlockHeader(reserved, 'b.xz', 12)).toThrow(/reserved/);
    expect(() => parseBlockHeader(Buffer.from([0]), 'b.xz', 12)).toThrow(/index indicator/);
    expect(() => parseBlockHeader(h.subarray(0, 5), 'b.xz', 12)).toThrow(/needs/);
    const fileBytes = readFileSync(join(dir, 'multi.xz'));
    expect(fileBytes.length).toBe(multi.length);
  });
});
