// The check stripper against real `xz` output: what it writes must be a valid .xz with check
// None (as `xz --robot -lv` reads it) that `xz -dc` decodes to the same bytes, and the checks it
// removed must be the SHA-256 of each block's data (block sizes from `xz --robot -lvv`). Inputs
// arrive in hostile chunk sizes; damaged containers fail with the file named.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputFormatError, TruncatedError } from '../../src/core/errors.js';
import { XzCheckStripper } from '../../src/formats/xz-strip.js';
import { HOSTILE_CHUNKS } from '../helpers/chunks.js';

/** `input` cut into copies of the given sizes, cycled. */
function* pieces(input: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let i = 0;
  for (let off = 0; off < input.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield input.slice(off, off + n);
    off += n;
  }
}

function xz(args: string[], input: Buffer): Buffer {
  return execFileSync('xz', args, { input, maxBuffer: 64 << 20 });
}

function strip(input: Uint8Array, sizes: readonly number[] = [65536]): { out: Buffer; s: XzCheckStripper } {
  const s = new XzCheckStripper('test.xz');
  const out: Uint8Array[] = [];
  for (const c of pieces(input, sizes)) for (const o of s.push(c)) out.push(Buffer.from(o));
  s.end();
  return { out: Buffer.concat(out), s };
}

function robotList(file: Buffer, verbose: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdbg-xzs-'));
  try {
    writeFileSync(join(dir, 'f.xz'), file);
    return execFileSync('xz', ['--robot', verbose, join(dir, 'f.xz')]).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `xz --robot -lvv` block lines: [block, stream, block in stream, block in file, compressed offset, uncompressed offset, total size, uncompressed size, ratio, check, check value, …]. */
function robotBlocks(file: Buffer): string[][] {
  const r = robotList(file, '-lvv');
  return r
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[0] === 'block');
}

function robotChecks(file: Buffer): string[] {
  const r = robotList(file, '-lv');
  return r
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[0] === 'stream')
    .map((f) => f[8]!);
}

let plain: Buffer;
let multiSha: Buffer; // xz -T2 --block-size=64KiB -C sha256: sizes in the block headers
let singleSha: Buffer; // one block, no sizes in the header (as rpm's w2.xzdio)
let mixed: Buffer; // a SHA-256 stream, stream padding, a CRC64 stream

beforeAll(() => {
  const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of a kernel symbol table ffffffff8100${i.toString(16)}\n`).join(''));
  plain = Buffer.concat([randomBytes(150_000), text, randomBytes(33_333)]);
  multiSha = xz(['-c', '-1', '-T2', '--block-size=65536', '-C', 'sha256'], plain);
  singleSha = xz(['-c', '-2', '-C', 'sha256'], plain);
  mixed = Buffer.concat([singleSha, Buffer.alloc(8), xz(['-c', '-1', '-C', 'crc64'], text)]);
});

describe('XzCheckStripper', () => {
  it.each([
    ['multi-block', () => multiSha],
    ['single-block', () => singleSha],
  ])('%s SHA-256 stream: check None out, same data, checks removed are the blocks’ SHA-256', (_, file) => {
    const input = file();
    const expected = robotBlocks(input);
    for (const sizes of [[65536], ...HOSTILE_CHUNKS]) {
      const { out, s } = strip(input, sizes);
      expect(robotChecks(out)).toEqual(['None']);
      expect(xz(['-dc'], out).equals(plain)).toBe(true);
      expect(out.length).toBe(input.length - 32 * expected.length);
      expect(s.blocks.map((b) => b.uncompressedSize)).toEqual(expected.map((f) => Number(f[7])));
      expect(s.blocks.map((b) => b.offset)).toEqual(expected.map((f) => Number(f[4])));
      expect(s.blocks.map((b) => Buffer.from(b.check!).toString('hex'))).toEqual(expected.map((f) => f[10]));
      let at = 0;
      for (const b of s.blocks) {
        const data = plain.subarray(at, at + b.uncompressedSize!);
        at += b.uncompressedSize!;
        expect(b.stripped).toBe(true);
        expect(Buffer.from(b.check!).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      }
    }
  });

  it('leaves a CRC64 stream byte for byte and rewrites only the SHA-256 one', () => {
    const { out, s } = strip(mixed, [5, 8, 13, 1000]);
    expect(robotChecks(out)).toEqual(['None', 'CRC64']);
    expect(xz(['-dc'], out).equals(xz(['-dc'], mixed))).toBe(true);
    const crcStream = mixed.subarray(singleSha.length + 8);
    expect(out.subarray(out.length - crcStream.length).equals(crcStream)).toBe(true);
    expect(s.blocks.map((b) => b.stripped)).toEqual([true, false]);
    expect(s.blocks[1]!.check).toBeNull();
  });

  it('names the file and offset on a damaged container', () => {
    // Stream header CRC.
    const badHeader = Buffer.from(singleSha);
    badHeader[8]! ^= 1;
    expect(() => strip(badHeader)).toThrow(InputFormatError);
    expect(() => strip(badHeader)).toThrow(/test\.xz: bad xz stream header CRC32 at offset 8/);
    // Index record that disagrees with the walked block (its CRC recomputed, so only the walk notices).
    const robot = robotBlocks(singleSha)[0]!;
    const indexAt = Number(robot[4]) + Number(robot[6]);
    const badIndex = Buffer.from(singleSha);
    badIndex[indexAt + 3]! ^= 1; // low byte of the uncompressed size VLI
    const body = badIndex.subarray(indexAt, badIndex.length - 12 - 4);
    badIndex.writeUInt32LE(crc32(body), badIndex.length - 16);
    expect(() => strip(badIndex)).toThrow(/index record 0/);
    // An LZMA2 control byte no encoder writes.
    const badControl = Buffer.from(singleSha);
    const headerSize = (badControl[12]! + 1) * 4;
    badControl[12 + headerSize] = 0x10;
    expect(() => strip(badControl)).toThrow(/LZMA2 control byte 0x10/);
    // Stream padding that is not a multiple of 4.
    expect(() => strip(Buffer.concat([singleSha, Buffer.alloc(3)]))).toThrow(/stream padding \(3 bytes/);
  });

  it('reports truncation at every kind of cut', () => {
    const cuts = [0, 5, 12, 14, 40, singleSha.length - 60, singleSha.length - 20, singleSha.length - 1];
    for (const cut of cuts) {
      const s = new XzCheckStripper('cut.xz');
      s.push(singleSha.subarray(0, cut));
      expect(() => s.end(), `cut at ${cut}`).toThrow(TruncatedError);
    }
  });
});
