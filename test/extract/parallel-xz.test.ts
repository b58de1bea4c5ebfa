// The ordered parallel block decoder on real `xz -T2 --block-size` output.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { IntegrityError } from '../../src/core/errors.js';
import { decodeBlocksInOrder } from '../../src/extract/parallel-xz.js';
import { decodeXzBlock, XzBlockDecoder } from '../../src/extract/xz-block.js';
import { readXzIndex, type XzBlock } from '../../src/formats/xz.js';

const text = Buffer.from(Array.from({ length: 30000 }, (_, i) => `${i} mov %rax,%rbx; call ffffffff81${i.toString(16)}\n`).join(''));
const plain = Buffer.concat([text, randomBytes(250_000), text]);
const file = execFileSync('xz', ['-T2', '--block-size=50000', '-c'], { input: plain, maxBuffer: 64 << 20 });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function index() {
  return readXzIndex(new BytesRandomAccess(file, 'p.xz'));
}

describe('parallel xz block decoding', () => {
  it('yields every block in order, same bytes as the whole file, for 1–4 decoders', async () => {
    const idx = await index();
    expect(idx.blocks.length).toBeGreaterThan(20);
    for (const concurrency of [1, 2, 4]) {
      const parts: Uint8Array[] = [];
      const order: number[] = [];
      for await (const d of decodeBlocksInOrder(idx.blocks, async (b) => file.subarray(b.offset, b.offset + b.totalSize), { label: 'p.xz', concurrency })) {
        order.push(d.block.index);
        parts.push(Buffer.concat(d.chunks));
      }
      expect(order).toEqual(idx.blocks.map((b) => b.index));
      expect(sha(Buffer.concat(parts))).toBe(sha(plain));
    }
  });

  it('keeps at most `window` blocks in flight (bounded memory) even with a slow consumer', async () => {
    const idx = await index();
    let inFlight = 0;
    let peak = 0;
    const reads = async (b: XzBlock) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      return file.subarray(b.offset, b.offset + b.totalSize);
    };
    let n = 0;
    for await (const d of decodeBlocksInOrder(idx.blocks, reads, { label: 'p.xz', concurrency: 2, window: 3 })) {
      inFlight--; // consumed
      n += Buffer.concat(d.chunks).length;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(n).toBe(plain.length);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it('reuses pre-decoded blocks without reading them again', async () => {
    const idx = await index();
    const first = idx.blocks[0]!;
    const pre = new Map([[0, await decodeXzBlock(first, file.subarray(first.offset, first.offset + first.totalSize), 'p.xz')]]);
    const asked: number[] = [];
    const out: Uint8Array[] = [];
    for await (const d of decodeBlocksInOrder(idx.blocks.slice(0, 4), async (b) => (asked.push(b.index), file.subarray(b.offset, b.offset + b.totalSize)), { label: 'p.xz' }, pre)) out.push(Buffer.concat(d.chunks));
    expect(asked).toEqual([1, 2, 3]);
    expect(Buffer.concat(out).equals(plain.subarray(0, idx.blocks[4]!.uncompressedOffset))).toBe(true);
  });

  it('fails with IntegrityError naming the block when its data or check is corrupt', async () => {
    const idx = await index();
    const victim = idx.blocks[5]!;
    const bad = Buffer.from(file);
    bad[victim.offset + victim.totalSize - 3] = bad[victim.offset + victim.totalSize - 3]! ^ 0xff; // inside the CRC64
    const run = async () => {
      for await (const _ of decodeBlocksInOrder(idx.blocks, async (b) => bad.subarray(b.offset, b.offset + b.totalSize), { label: 'bad.xz', concurrency: 2 })) void _;
    };
    await expect(run()).rejects.toThrow(IntegrityError);
    await expect(run()).rejects.toThrow(/xz block 5 at offset/);
    await expect(decodeXzBlock(victim, bad.subarray(victim.offset, victim.offset + victim.totalSize - 4), 'bad.xz')).rejects.toThrow(/got \d+ bytes, the index says/);
  });

  it('SHA-256 blocks (as RPM payloads): same bytes, and a wrong stored check is caught by kdbg', async () => {
    const shaFile = execFileSync('xz', ['-T2', '--block-size=50000', '-c', '--check=sha256'], { input: plain, maxBuffer: 64 << 20 });
    const idx = await readXzIndex(new BytesRandomAccess(shaFile, 's.xz'));
    expect(idx.blocks[0]!.checkId).toBe(10);
    const parts: Uint8Array[] = [];
    for await (const d of decodeBlocksInOrder(idx.blocks, async (b) => shaFile.subarray(b.offset, b.offset + b.totalSize), { label: 's.xz', concurrency: 2 })) parts.push(...d.chunks);
    expect(sha(Buffer.concat(parts))).toBe(sha(plain));
    const victim = idx.blocks[3]!;
    const bad = Buffer.from(shaFile.subarray(victim.offset, victim.offset + victim.totalSize));
    bad[bad.length - 1]! ^= 0x80; // last byte of the stored SHA-256
    await expect(decodeXzBlock(victim, bad, 's.xz')).rejects.toThrow(/^s\.xz: xz block 3 at offset \d+: SHA-256 of the decoded data is [0-9a-f]{64}, the block says/);
  });

  it('stops cleanly when the consumer leaves early', async () => {
    const idx = await index();
    let got = 0;
    for await (const d of decodeBlocksInOrder(idx.blocks, async (b) => file.subarray(b.offset, b.offset + b.totalSize), { label: 'p.xz', concurrency: 2 })) {
      got += Buffer.concat(d.chunks).length;
      if (d.block.index === 2) break;
    }
    expect(got).toBe(idx.blocks[3]!.uncompressedOffset);
  });
});

describe('XzBlockDecoder with recycled output buffers (partial-write.ts)', () => {
  // ~7 MB over blocks of 1.5 MB: each block spans several of the decoder's 1 MiB output buffers.
  const big = Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([text, randomBytes(300_000)])));
  const bigXz = execFileSync('xz', ['-T2', '--block-size=1500000', '-c'], { input: big, maxBuffer: 64 << 20 });

  it('gives the same bytes with a slow sink, from a handful of buffers instead of one per MiB', async () => {
    const idx = await readXzIndex(new BytesRandomAccess(bigXz, 'big.xz'));
    expect(idx.blocks.length).toBeGreaterThan(3);
    for (const recycle of [false, true]) {
      const d = new XzBlockDecoder('big.xz', { recycle });
      const copies: Buffer[] = [];
      const buffers = new Set<ArrayBufferLike>();
      try {
        for (const b of idx.blocks) {
          await d.decode(b, bigXz.subarray(b.offset, b.offset + b.totalSize), async (piece, at) => {
            if (piece.buffer.byteLength === 1 << 20) buffers.add(piece.buffer); // the decoder's own (not joined copies)
            // A slow writer: later pieces queue up (the stream may join them into one copy).
            await new Promise((r) => setTimeout(r, 1));
            copies.push(Buffer.from(piece));
            expect(at).toBeGreaterThanOrEqual(0);
          });
        }
      } finally {
        await d.close();
      }
      expect(sha(Buffer.concat(copies))).toBe(sha(big));
      if (recycle) expect(buffers.size).toBeLessThanOrEqual(4);
      else expect(buffers.size).toBeGreaterThan(6);
    }
  });
});
