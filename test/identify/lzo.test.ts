// The LZO1X decoder (src/identify/lzo.ts) on real makedumpfile -l pages: every page of the sysrq
// LZO kdump decodes to the bytes of the same page in the zlib kdump of the same crash (node's
// zlib decodes those), and on corrupt input it does what the plain byte-by-byte decoder below
// does (the first version of lzo.ts, kept here as the reference): the same bytes, or an LzoError,
// never another exception.
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_ZLIB, pageDescStart, parseKdumpHeader, parsePageDescs } from '../../src/formats/kdump.js';
import type { KdumpHeader, PageDesc } from '../../src/formats/kdump.js';
import { lzo1xDecompress, LzoError } from '../../src/identify/lzo.js';
import { requireFixture } from '../helpers/fixtures.js';

function load(name: string): { file: Uint8Array; h: KdumpHeader; descs: PageDesc[]; bitmap: Uint8Array } {
  const file = new Uint8Array(readFileSync(requireFixture('vmcores', 'sysrq', name)));
  const h = parseKdumpHeader(file.subarray(0, 4096), name);
  const bs = h.block_size;
  const bitmapLen = (h.bitmap_blocks * bs) / 2;
  const bitmap = file.subarray((1 + h.sub_hdr_size) * bs + bitmapLen, (1 + h.sub_hdr_size) * bs + 2 * bitmapLen);
  let dumped = 0;
  for (const b of bitmap) for (let x = b; x; x >>= 1) dumped += x & 1;
  const at = pageDescStart(h);
  const descs = parsePageDescs(file.subarray(at, at + dumped * 24), h.endianness);
  return { file, h, descs, bitmap };
}

/** The first lzo.ts: liblzo2's lzo1x_decompress_safe, one byte at a time. */
function reference(src: Uint8Array, maxOut: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  let ip = 0;
  let op = 0;
  let state = 0;
  let t = 0;
  let next = 0;
  let mPos = 0;
  const needIp = (n: number): void => {
    if (ip + n > src.length) throw new LzoError('input overrun');
  };
  const needOp = (n: number): void => {
    if (op + n > maxOut) throw new LzoError('output overrun');
  };
  const byte = (): number => {
    needIp(1);
    return src[ip++]!;
  };
  const literals = (n: number): void => {
    needIp(n);
    needOp(n);
    for (let i = 0; i < n; i++) out[op++] = src[ip++]!;
  };
  const zeroRun = (base: number): number => {
    let zeros = 0;
    needIp(1);
    while (src[ip] === 0) {
      ip++;
      zeros++;
      needIp(1);
      if (zeros > 1 << 24) throw new LzoError('length run too long');
    }
    return zeros * 255 + base + byte();
  };
  let skip = false;
  if (src.length > 0 && src[0]! > 17) {
    t = src[ip++]! - 17;
    if (t < 4) {
      next = t;
      skip = true;
    } else {
      literals(t);
      state = 4;
    }
  }
  for (;;) {
    if (!skip) {
      t = byte();
      let copy = true;
      if (t < 16) {
        if (state === 0) {
          if (t === 0) t = zeroRun(15);
          literals(t + 3);
          state = 4;
          continue;
        } else if (state !== 4) {
          next = t & 3;
          mPos = op - 1 - (t >> 2) - (byte() << 2);
          if (mPos < 0) throw new LzoError('lookbehind overrun');
          needOp(2);
          out[op++] = out[mPos++]!;
          out[op++] = out[mPos]!;
          copy = false;
        } else {
          next = t & 3;
          mPos = op - (1 + 0x0800) - (t >> 2) - (byte() << 2);
          t = 3;
        }
      } else if (t >= 64) {
        next = t & 3;
        mPos = op - 1 - ((t >> 2) & 7) - (byte() << 3);
        t = (t >> 5) + 1;
      } else if (t >= 32) {
        t = (t & 31) + 2;
        if (t === 2) t = zeroRun(31) + 2;
        needIp(2);
        next = src[ip]! | (src[ip + 1]! << 8);
        ip += 2;
        mPos = op - 1 - (next >> 2);
        next &= 3;
      } else {
        mPos = op - ((t & 8) << 11);
        t = (t & 7) + 2;
        if (t === 2) t = zeroRun(7) + 2;
        needIp(2);
        next = src[ip]! | (src[ip + 1]! << 8);
        ip += 2;
        mPos -= next >> 2;
        next &= 3;
        if (mPos === op) {
          if (t !== 3) throw new LzoError('bad end marker');
          return out.subarray(0, op);
        }
        mPos -= 0x4000;
      }
      if (copy) {
        if (mPos < 0) throw new LzoError('lookbehind overrun');
        needOp(t);
        for (let i = 0; i < t; i++) out[op++] = out[mPos++]!;
      }
    }
    skip = false;
    state = next;
    if (next) literals(next);
  }
}

function outcome(fn: (b: Uint8Array, n: number) => Uint8Array, b: Uint8Array): Uint8Array | string {
  try {
    return Uint8Array.from(fn(b, 4096));
  } catch (e) {
    if (!(e instanceof LzoError)) throw e;
    return 'LzoError';
  }
}

describe('lzo1xDecompress on real makedumpfile -l pages', () => {
  const lzo = load('vmcore.kdump-lzo');
  const pages = lzo.descs.filter((d) => d.flags & DUMP_DH_COMPRESSED_LZO);

  it('decodes every page of the LZO kdump to the zlib kdump page of the same pfn', () => {
    const zlib = load('vmcore.kdump-zlib');
    // The same memory dumped with the same dump level: the same pfns, so the i-th descriptors match.
    expect(Buffer.from(lzo.bitmap).equals(Buffer.from(zlib.bitmap))).toBe(true);
    expect(lzo.descs.length).toBe(zlib.descs.length);
    expect(pages.length).toBeGreaterThan(1000);
    let compared = 0;
    for (let i = 0; i < lzo.descs.length; i++) {
      const a = lzo.descs[i]!;
      const b = zlib.descs[i]!;
      if (!(a.flags & DUMP_DH_COMPRESSED_LZO) || !(b.flags & DUMP_DH_COMPRESSED_ZLIB)) continue;
      const got = lzo1xDecompress(lzo.file.subarray(a.offset, a.offset + a.size), 4096);
      const want = inflateSync(zlib.file.subarray(b.offset, b.offset + b.size));
      if (!Buffer.from(got).equals(want)) expect.fail(`descriptor ${i}: the LZO page differs from the zlib page`);
      compared++;
    }
    expect(compared).toBe(pages.length);
  });

  it('on 30,000 corrupted pages gives what the byte-by-byte decoder gives: the same bytes or an LzoError', () => {
    let seed = 24;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const at = (n: number): number => Math.floor(rnd() * n);
    let threw = 0;
    for (let k = 0; k < 30_000; k++) {
      const d = pages[at(pages.length)]!;
      let b = lzo.file.slice(d.offset, d.offset + d.size);
      const kind = k % 4;
      if (kind === 0) b[at(b.length)] = at(256);
      else if (kind === 1) b = b.subarray(0, at(b.length));
      else if (kind === 2) for (let j = 0; j < 6; j++) b[at(b.length)]! ^= 1 << at(8);
      else b = Uint8Array.from({ length: at(64) }, () => at(256));
      const want = outcome(reference, b);
      const got = outcome(lzo1xDecompress, b);
      if (want === 'LzoError') threw++;
      if (typeof want === 'string' || typeof got === 'string' ? want !== got : !Buffer.from(got).equals(Buffer.from(want))) expect.fail(`case ${k} (kind ${kind}): ${String(got)} where the reference gives ${String(want)}`);
    }
    // Both kinds of outcome were exercised.
    expect(threw).toBeGreaterThan(3000);
    expect(threw).toBeLessThan(29_000);
  });
});
