// The block-parallel streaming xz decoder used for data.tar.xz: output equals `xz -dc`, under
// hostile chunk sizes; a tampered index/footer or a corrupt block is refused; a single-block
// stream (no sizes in the block header) goes through the sequential decoder.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KdbgError } from '../../src/core/errors.js';
import { decompressDebPayload, xzBlocksParallel } from '../../src/extract/deb.js';
import { requireFixture } from '../helpers/fixtures.js';
import { chunked } from '../helpers/chunks.js';

const pkgs = requireFixture('deb', 'pkgs');
const work = mkdtempSync(join(tmpdir(), 'kdbg-xzp-'));

function dataTarXz(deb: string): Buffer {
  execFileSync('ar', ['x', deb, 'data.tar.xz'], { cwd: work });
  return readFileSync(join(work, 'data.tar.xz'));
}

async function digest(it: AsyncIterable<Uint8Array>): Promise<{ sha: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of it) {
    h.update(c);
    bytes += c.length;
  }
  return { sha: h.digest('hex'), bytes };
}

const multi = dataTarXz(join(pkgs, 'linux-image-6.1.0-99-amd64-dbg_6.1.999-2_amd64.xz.deb'));
writeFileSync(join(work, 'multi.xz'), multi);
const single = dataTarXz(join(pkgs, 'linux-image-6.1.0-99-amd64-dbg_6.1.999-2_amd64.xz1.deb'));
const want = (b: Buffer): { sha: string; bytes: number } => {
  const out = execFileSync('xz', ['-dc'], { input: b, maxBuffer: 256 << 20 });
  return { sha: createHash('sha256').update(out).digest('hex'), bytes: out.length };
};

describe('xzBlocksParallel', () => {
  it('the fixture really is multi-block with sizes in the headers', () => {
    const robot = execFileSync('xz', ['--robot', '-lvv', join(work, 'multi.xz')], { encoding: 'utf8' });
    const blocks = robot.split('\n').filter((l) => l.startsWith('block\t'));
    expect(blocks.length).toBeGreaterThan(3);
    // --robot -lvv block lines carry the header's size fields ("cu" = both sizes present).
    for (const b of blocks) expect(b.split('\t')).toContain('cu');
  });
  for (const sizes of [[multi.length], [1, 13, 8, 4093, 5, 2, 3], [65536], [7]]) {
    it(`equals xz -dc (chunks ${sizes.slice(0, 3).join(',')}…)`, async () => {
      expect(await digest(xzBlocksParallel(chunked(multi, sizes), 'm.xz', 2))).toEqual(want(multi));
    });
  }
  it('single-block xz (no sizes) takes the sequential decoder', async () => {
    expect(await digest(xzBlocksParallel(chunked(single, [4096]), 's.xz', 2))).toEqual(want(single));
  });
  it('a tampered index is refused', async () => {
    const t = Buffer.from(multi);
    // The index sits just before the 12-byte footer; change one record byte (after the indicator/count).
    const footer = t.length - 12;
    const indexSize = (t.readUInt32LE(footer + 4) + 1) * 4;
    t[footer - indexSize + 3] = t[footer - indexSize + 3]! ^ 0x01;
    const e = await digest(xzBlocksParallel(chunked(t, [65536]), 'bad-index.xz', 2)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KdbgError);
    expect((e as Error).message).toMatch(/bad-index\.xz: xz index\/footer does not match the \d+ blocks read at offset \d+/);
  });
  it('a corrupt block is refused (its check fails)', async () => {
    const t = Buffer.from(multi);
    t[Math.floor(t.length / 2)] = t[Math.floor(t.length / 2)]! ^ 0xff;
    const e = await digest(xzBlocksParallel(chunked(t, [65536]), 'bad-block.xz', 2)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KdbgError);
    expect((e as KdbgError).exitCode).toBe(65);
  });
  it('a truncated stream is a TruncatedError, not silent success', async () => {
    const e = await digest(xzBlocksParallel(chunked(multi.subarray(0, multi.length - 100), [65536]), 'cut.xz', 2)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KdbgError);
    expect((e as Error).message).toMatch(/cut\.xz: truncated/);
  });
});

// decodeAhead 0 (the fetch pipeline's whole downloads): no decoded block held, one decoder
// streaming on its own thread; liblzma checks every block and the index itself.
describe('decompressDebPayload with decodeAhead 0', () => {
  it('equals xz -dc on the multi-block payload, under small chunks', async () => {
    expect(await digest(decompressDebPayload('xz', chunked(multi, [1, 7, 4096, 65536]), 'm.deb', 0))).toEqual(want(multi));
    // A small payload (its compressed size given) is decoded on the main thread: the same bytes.
    expect(await digest(decompressDebPayload('xz', chunked(multi, [4096]), 'm.deb', 0, multi.length))).toEqual(want(multi));
  });
  it('a corrupt block is refused with exit 65, a tampered index too', async () => {
    const t = Buffer.from(multi);
    t[Math.floor(t.length / 2)] = t[Math.floor(t.length / 2)]! ^ 0xff;
    const e = await digest(decompressDebPayload('xz', chunked(t, [65536]), 'bad-block.deb', 0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KdbgError);
    expect((e as KdbgError).exitCode).toBe(65);
    const u = Buffer.from(multi);
    const footer = u.length - 12;
    const indexSize = (u.readUInt32LE(footer + 4) + 1) * 4;
    u[footer - indexSize + 3] = u[footer - indexSize + 3]! ^ 0x01;
    const f = await digest(decompressDebPayload('xz', chunked(u, [65536]), 'bad-index.deb', 0)).catch((x: unknown) => x);
    expect(f).toBeInstanceOf(KdbgError);
    expect((f as KdbgError).exitCode).toBe(65);
  });
  it('a truncated stream is refused, not silent success', async () => {
    const e = await digest(decompressDebPayload('xz', chunked(multi.subarray(0, multi.length - 100), [65536]), 'cut.deb', 0)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KdbgError);
    expect((e as Error).message).toMatch(/cut\.deb data\.tar\.xz: .*truncated/);
  });
});
