// Streaming decompressors against data compressed by the real tools (xz, zstd, gzip, bzip2,
// xz --format=lzma): round trip, hostile chunk sizes, truncation, corruption, early stop.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputFormatError, NetworkError, TruncatedError } from '../../src/core/errors.js';
import { decompressStream, detectCompressor, type Compressor } from '../../src/extract/decompress.js';
import { chunked } from '../helpers/chunks.js';

// ~3 MiB of mixed data: random (incompressible) and text (compressible), like a vmlinux.
const plain = Buffer.concat([randomBytes(1 << 20), Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i}\n`).join(''))]);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const tools: Record<Exclude<Compressor, 'none'>, [string, string[]]> = {
  xz: ['xz', ['-c', '-2', '--check=sha256']],
  zstd: ['zstd', ['-c', '-q', '-3']],
  gzip: ['gzip', ['-c', '-6']],
  bzip2: ['bzip2', ['-c', '-9']],
  lzma: ['xz', ['-c', '--format=lzma', '-2']],
};
const compressed = Object.fromEntries(
  Object.entries(tools).map(([k, [cmd, args]]) => [k, execFileSync(cmd, args, { input: plain, maxBuffer: 64 << 20 })]),
) as Record<Exclude<Compressor, 'none'>, Buffer>;

/** `c` in 4 KiB chunks, counting what was pulled and whether the reader called return(). */
function counted(c: Uint8Array): { input: AsyncIterable<Uint8Array>; pulled: () => number; returned: () => boolean } {
  let pulled = 0;
  let returned = false;
  const input: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      const inner = chunked(c, [4096]);
      return {
        next: async () => {
          const r = await inner.next();
          if (!r.done) pulled += r.value.length;
          return r;
        },
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { input, pulled: () => pulled, returned: () => returned };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('decompressStream', () => {
  for (const kind of Object.keys(tools) as Exclude<Compressor, 'none'>[]) {
    it(`${kind}: round trip, magic detected`, async () => {
      const c = compressed[kind];
      expect(detectCompressor(c.subarray(0, 13))).toBe(kind);
      const out = await collect(decompressStream(kind, chunked(c, [65536]), `t.${kind}`));
      expect(sha(out)).toBe(sha(plain));
    });

    it(`${kind}: hostile chunk sizes`, async () => {
      // Small chunks over a prefix keep the test quick; then large ones.
      const c = compressed[kind];
      const sizes = [1, 2, 3, 5, 8, 13, 4096, 7, 65536];
      const out = await collect(decompressStream(kind, chunked(c, sizes), `t.${kind}`));
      expect(sha(out)).toBe(sha(plain));
    });

    it(`${kind}: truncated input → TruncatedError naming the file`, async () => {
      const c = compressed[kind];
      const cut = c.subarray(0, Math.floor(c.length * 0.6));
      const err = await collect(decompressStream(kind, chunked(cut, [8192]), `/x/pkg-${kind}.rpm`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputFormatError);
      expect((err as Error).message).toContain(`/x/pkg-${kind}.rpm`);
      // Every decoder except the lzma-alone one (no end marker/size: its stream ends where the
      // data does) knows the input stopped early.
      if (kind !== 'lzma') expect(err).toBeInstanceOf(TruncatedError);
    });

    it(`${kind}: corrupted input → InputFormatError naming the file`, async () => {
      const c = Buffer.from(compressed[kind]);
      // Overwrite bytes in the middle (past headers) with garbage. zstd frames as rpm writes them
      // carry no checksum and fzstd checks none, so for zstd hit the block headers near the start;
      // damage elsewhere is caught by the RPM's digests (see test/extract/rpm.test.ts).
      const at = kind === 'zstd' ? 6 : Math.floor(c.length / 2);
      for (let i = 0; i < 64; i++) c[at + i] = (c[at + i]! ^ 0x5a) & 0xff;
      const err = await collect(decompressStream(kind, chunked(c, [8192]), `bad-${kind}.rpm`)).then(
        (out) => (sha(out) === sha(plain) ? null : new Error('decoded wrong bytes without error')),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InputFormatError);
      expect((err as Error).message).toContain(`bad-${kind}.rpm`);
    });

    it(`${kind}: early stop tears the decoder and the input down`, async () => {
      // bzip2 decodes whole 900 kB blocks, so give it several.
      const c = kind === 'bzip2' ? execFileSync('bzip2', ['-c', '-9'], { input: randomBytes(5 << 20), maxBuffer: 64 << 20 }) : compressed[kind];
      const { input, pulled, returned } = counted(c);
      let got = 0;
      for await (const chunk of decompressStream(kind, input, `t.${kind}`)) {
        got += chunk.length;
        if (got >= 64 * 1024) break;
      }
      expect(got).toBeGreaterThanOrEqual(64 * 1024);
      await new Promise((r) => setTimeout(r, 20));
      expect(returned()).toBe(true);
      expect(pulled()).toBeLessThan(c.length);
    });
  }

  describe('xz with SHA-256 checks (RPM payloads): the checks are verified by kdbg, not liblzma', () => {
    // Multi-block as RHEL 8+ writes (w3T), sizes in the block headers; and rpm's el7 single block.
    const multi = execFileSync('xz', ['-c', '-1', '-T2', '--block-size=300000', '--check=sha256'], { input: plain, maxBuffer: 64 << 20 });
    const single = compressed.xz;
    /** Offsets of each block's stored check, from `xz --robot -lvv` (block lines: offset f[4], total size f[6]). */
    const checkOffsets = (file: Buffer): number[] => {
      const dir = mkdtempSync(join(tmpdir(), 'kdbg-dec-'));
      try {
        writeFileSync(join(dir, 'f.xz'), file);
        return execFileSync('xz', ['--robot', '-lvv', join(dir, 'f.xz')])
          .toString()
          .split('\n')
          .map((l) => l.split('\t'))
          .filter((f) => f[0] === 'block')
          .map((f) => Number(f[4]) + Number(f[6]) - 32);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it('multi-block: round trip under hostile chunk sizes', async () => {
      expect(checkOffsets(multi).length).toBeGreaterThan(3);
      for (const sizes of [[65536], [1, 2, 3, 5, 8, 13, 4096, 7, 65536]]) {
        const out = await collect(decompressStream('xz', chunked(multi, sizes), 'mb.rpm'));
        expect(sha(out)).toBe(sha(plain));
      }
    });

    it.each([
      ['single block', () => single, 0],
      ['multi-block, block 2', () => multi, 2],
    ])('%s: a stored check that does not match the data → InputFormatError naming file and block', async (_, file, block) => {
      const bad = Buffer.from(file());
      bad[checkOffsets(bad)[block]! + 7]! ^= 0x01;
      const run = collect(decompressStream('xz', chunked(bad, [65536]), 'badcheck.rpm'));
      await expect(run).rejects.toThrow(InputFormatError);
      await expect(collect(decompressStream('xz', chunked(bad, [65536]), 'badcheck.rpm'))).rejects.toThrow(
        new RegExp(`^badcheck\\.rpm: corrupt xz payload: block ${block} at offset \\d+: SHA-256 of the decoded data`),
      );
    });
  });

  describe('xz decoded from a worker thread (offThread, as for big RPM payloads)', () => {
    const off = { offThread: true };
    it('round trip under hostile chunk sizes, SHA-256 and CRC64 streams', async () => {
      const crc = execFileSync('xz', ['-c', '-2', '--check=crc64'], { input: plain, maxBuffer: 64 << 20 });
      for (const c of [compressed.xz, crc]) {
        const out = await collect(decompressStream('xz', chunked(c, [1, 2, 3, 5, 8, 13, 4096, 7, 65536]), 'w.xz', off));
        expect(sha(out)).toBe(sha(plain));
      }
    });

    it('truncated → TruncatedError, damaged → InputFormatError, both naming the file', async () => {
      const c = compressed.xz;
      await expect(collect(decompressStream('xz', chunked(c.subarray(0, Math.floor(c.length * 0.6)), [8192]), 'cut.rpm', off))).rejects.toThrow(TruncatedError);
      const bad = Buffer.from(c);
      for (let i = 0; i < 64; i++) bad[(c.length >> 1) + i]! ^= 0x5a;
      const err = await collect(decompressStream('xz', chunked(bad, [8192]), 'bad.rpm', off)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputFormatError);
      expect((err as Error).message).toMatch(/^bad\.rpm: /);
    });

    it('an input that fails part-way (a dropped download) surfaces its own error and stops the thread', async () => {
      const c = compressed.xz;
      async function* dropping(): AsyncGenerator<Uint8Array> {
        yield c.subarray(0, c.length >> 1);
        throw new NetworkError('mirror.test: connection reset after 50 %');
      }
      const t0 = performance.now();
      await expect(collect(decompressStream('xz', dropping(), 'drop.rpm', off))).rejects.toThrow(/^mirror\.test: connection reset after 50 %$/);
      expect(performance.now() - t0).toBeLessThan(5000); // no wait for the 10 s terminate fallback
    });

    it('an early stop reads a bounded amount ahead and stops the thread', async () => {
      // 1 MiB of input queued plus 2 MiB of unread output (as much input again for random data).
      const c = execFileSync('xz', ['-c', '--check=sha256', '--lzma2=preset=0,mf=hc3,nice=8,mode=fast'], { input: randomBytes(10 << 20), maxBuffer: 64 << 20 });
      const { input, pulled, returned } = counted(c);
      let got = 0;
      for await (const chunk of decompressStream('xz', input, 'stop.xz', off)) {
        got += chunk.length;
        if (got >= 64 * 1024) {
          await new Promise((r) => setTimeout(r, 300)); // let the decoder run ahead to its bound
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
      expect(returned()).toBe(true);
      expect(pulled()).toBeLessThan(6 << 20);
    });
  });

  it('none: passes bytes through', async () => {
    const cpio = Buffer.concat([Buffer.from('070701'), plain.subarray(0, 1000)]);
    expect(detectCompressor(cpio)).toBe('none');
    expect(sha(await collect(decompressStream('none', chunked(cpio, [3]), 'n')))).toBe(sha(cpio));
  });

  it('a payload labelled xz that is gzip is refused before decoding', async () => {
    const err = await collect(decompressStream('xz', chunked(compressed.gzip, [100]), 'mislabelled.rpm')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as Error).message).toMatch(/mislabelled\.rpm: payload is labelled xz .*looks like gzip/);
  });

  it('an empty payload is truncated', async () => {
    const err = await collect(decompressStream('zstd', chunked(new Uint8Array(0), [1]), 'empty.rpm')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedError);
  });
});
