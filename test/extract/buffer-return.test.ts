// Decoded buffers handed back to the xz decoder (core/buffer-return.ts) through ByteSource's
// `release`: the bytes read out must stay exactly the decoder's output while the decoder writes
// into returned buffers again, under odd chunk and read sizes, on the main thread and on the
// decoder thread; corrupt and truncated payloads still fail with their classes.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BufferReturn } from '../../src/core/buffer-return.js';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, TruncatedError } from '../../src/core/errors.js';
import { decompressStream } from '../../src/extract/decompress.js';
import { chunked } from '../helpers/chunks.js';

// ~7 MiB, several of the decoder's 1 MiB output buffers: random and text, like a payload.
const plain = Buffer.concat([randomBytes(3 << 20), Buffer.from(Array.from({ length: 500_000 }, (_, i) => `line ${i}\n`).join(''))]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
// As rpmbuild writes payloads: xz with SHA-256 block checks (moved off the decoder, decompress.ts).
const xz = execFileSync('xz', ['-c', '-2', '--check=sha256'], { input: plain, maxBuffer: 64 << 20 });

/** Read all of `src` with reads of the given sizes (cycled), hashing as it goes. */
async function readAll(src: ByteSource, sizes: number[]): Promise<{ digest: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (let i = 0; ; i++) {
    const want = sizes[i % sizes.length]!;
    const b = await src.peek(want);
    if (b.length === 0) break;
    const got = await src.read(b.length);
    h.update(got);
    bytes += got.length;
  }
  return { digest: h.digest('hex'), bytes };
}

describe('BufferReturn', () => {
  it('hands a buffer back only when the decoder has moved on and every chunk of it came back', () => {
    const r = new BufferReturn();
    const back: ArrayBuffer[] = [];
    r.attach((b) => back.push(b));
    const a = new ArrayBuffer(16);
    const b = new ArrayBuffer(16);
    const a1 = new Uint8Array(a, 0, 8);
    const a2 = new Uint8Array(a, 8, 8);
    r.lend(a1);
    r.giveBack(a1);
    expect(back).toEqual([]); // the decoder may still write a2 into it
    r.lend(a2);
    r.lend(new Uint8Array(b, 0, 4)); // the decoder moved on to b
    expect(back).toEqual([]); // a2 is still out
    r.giveBack(a2);
    expect(back).toEqual([a]);
    r.giveBack(a2); // twice, or a chunk it never lent: ignored
    r.giveBack(new Uint8Array(8));
    expect(back).toEqual([a]);
    r.giveBack(new Uint8Array(b, 0, 4));
    expect(back).toEqual([a]); // b is still the current buffer
    r.finish();
    expect(back).toEqual([a, b]);
    expect(r.returned).toBe(2);
  });
});

describe('ByteSource release', () => {
  it('releases each chunk once, only after the next call; views stay intact until then (chunks poisoned on release)', async () => {
    const data = new Uint8Array(randomBytes(200_000)); // a Uint8Array: chunked() then yields copies, each its own buffer
    const released: Uint8Array[] = [];
    const chunks = chunked(data, [1, 7, 2, 4093, 3, 65536, 5]);
    const src = new ByteSource(chunks, 'poisoned', 'bytes', {
      release: (c) => {
        released.push(c);
        new Uint8Array(c.buffer, c.byteOffset, c.byteLength).fill(0xee); // as a decoder writing into it again
      },
    });
    const out: Uint8Array[] = [];
    const sizes = [1, 13, 4096, 5, 70_000, 2];
    for (let i = 0; out.reduce((n, b) => n + b.length, 0) < data.length; i++) {
      const left = data.length - out.reduce((n, b) => n + b.length, 0);
      const v = await src.read(Math.min(sizes[i % sizes.length]!, left));
      out.push(Buffer.from(v)); // copied before the next call, as the contract says
    }
    // A body streamed view by view (writeMember's pattern) is intact when each view is used before the next pull.
    expect(sha(Buffer.concat(out))).toBe(sha(data));
    expect(await src.atEnd()).toBe(true);
    const ids = new Set(released.map((c) => c.buffer));
    expect(ids.size).toBe(released.length); // none twice
    expect(released.reduce((n, c) => n + c.length, 0)).toBeGreaterThan(data.length * 0.9);
  });

  it('stream(): each yielded view is whole while the consumer holds it', async () => {
    const data = new Uint8Array(randomBytes(300_000));
    const src = new ByteSource(chunked(data, [3, 65536, 4093]), 'poisoned', 'bytes', {
      release: (c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength).fill(0xee),
    });
    const h = createHash('sha256');
    for await (const v of src.stream(data.length)) {
      await new Promise((r) => setImmediate(r)); // a file write in between
      h.update(v);
    }
    expect(h.digest('hex')).toBe(sha(data));
  });
});

describe.each([
  ['main thread', false],
  ['decoder thread', true],
])('xz decoded with returned buffers (%s)', (_name, offThread) => {
  it.each([[[1, 7, 2, 4093, 3, 65536, 5]], [[13]], [[1 << 20]]])('same bytes as xz -dc under input chunks %j, buffers reused', async (sizes) => {
    const returns = new BufferReturn();
    const src = new ByteSource(decompressStream('xz', chunked(xz, sizes), 'odd.xz', { offThread, returns }), 'odd.xz', 'cpio payload', {
      release: (c) => returns.giveBack(c),
    });
    const got = await readAll(src, [6, 110, 4093, 1, 300_000, 65536]);
    expect(got.bytes).toBe(plain.length);
    expect(got.digest).toBe(sha(execFileSync('xz', ['-dc'], { input: xz, maxBuffer: 64 << 20 })));
    expect(returns.returned).toBeGreaterThan(0);
    expect(returns.reused).toBeGreaterThan(0);
  });

  it('a corrupt block is an InputFormatError naming the file', async () => {
    const bad = Buffer.from(xz);
    bad[Math.floor(bad.length / 2)]! ^= 0x55;
    const returns = new BufferReturn();
    const src = new ByteSource(decompressStream('xz', chunked(bad, [4093]), 'bad.xz', { offThread, returns }), 'bad.xz', 'cpio payload', {
      release: (c) => returns.giveBack(c),
    });
    const e = await readAll(src, [65536]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFormatError);
    expect((e as Error).message).toContain('bad.xz');
  });

  it('a truncated stream is a TruncatedError naming the file', async () => {
    const cut = xz.subarray(0, xz.length - 100);
    const returns = new BufferReturn();
    const src = new ByteSource(decompressStream('xz', chunked(cut, [4093]), 'cut.xz', { offThread, returns }), 'cut.xz', 'cpio payload', {
      release: (c) => returns.giveBack(c),
    });
    const e = await readAll(src, [65536]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TruncatedError);
    expect((e as Error).message).toContain('cut.xz');
  });
});
