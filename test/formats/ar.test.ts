// The ar parser against real packages (dpkg-deb's "debian-binary   " names and GNU ar's
// "debian-binary/" names), with `ar tv` as the oracle, under hostile chunk sizes; plus
// synthesized corrupt headers.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../../src/core/errors.js';
import { readArEntries, type ArMemberHeader } from '../../src/formats/ar.js';
import { requireFixture } from '../helpers/fixtures.js';
import { chunked } from '../helpers/chunks.js';

const pkgs = requireFixture('deb', 'pkgs');
const debs = readdirSync(pkgs).filter((f) => f.endsWith('.deb')).map((f) => join(pkgs, f));
const CHUNKS = [[1], [2], [3], [5], [8], [13], [1, 13, 8, 4093, 5, 2, 3]];

async function walk(src: ByteSource, drain: boolean): Promise<{ h: ArMemberHeader; sha: string }[]> {
  const { createHash } = await import('node:crypto');
  const out: { h: ArMemberHeader; sha: string }[] = [];
  for await (const { header, body } of readArEntries(src)) {
    const hash = createHash('sha256');
    if (drain) for await (const c of body) hash.update(c);
    out.push({ h: header, sha: drain ? hash.digest('hex') : '' });
  }
  return out;
}

/** `ar tv` lines: "rw-r--r-- 0/0   4 Jan  1 00:00 1970 debian-binary" → name and size. */
function arTv(file: string): { name: string; size: number }[] {
  return execFileSync('ar', ['tv', file], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^\S+\s+\d+\/\d+\s+(\d+)\s+.*\d{4}\s+(\S+)$/.exec(l);
      if (!m) throw new Error(`unparsed ar tv line ${l}`);
      return { name: m[2]!, size: Number(m[1]) };
    });
}

function arPrint(file: string, member: string): string {
  return execFileSync('sh', ['-c', `ar p "$0" "$1" | sha256sum`, file, member], { encoding: 'utf8' }).split(' ')[0]!;
}

describe('ar members of real debs equal `ar tv` / `ar p`', () => {
  for (const f of debs) {
    it(f.split('/').pop()!, async () => {
      const want = arTv(f);
      const got = await walk(ByteSource.fromBytes(readFileSync(f), f, 'ar'), true);
      expect(got.map((g) => ({ name: g.h.ar_name, size: g.h.ar_size }))).toEqual(want);
      for (const g of got) expect(g.sha, g.h.ar_name).toBe(arPrint(f, g.h.ar_name));
      // Headers sit at even offsets; data right after the 60-byte header.
      for (const g of got) {
        expect(g.h.headerOffset % 2).toBe(0);
        expect(g.h.dataOffset).toBe(g.h.headerOffset + 60);
      }
    });
  }
});

describe('hostile chunk sizes', () => {
  const f = debs.find((d) => d.endsWith('.xz.deb'))!;
  const bytes = readFileSync(f);
  for (const sizes of CHUNKS) {
    it(`chunks ${sizes.join(',')}: same members and digests, drained or skipped`, async () => {
      const whole = await walk(ByteSource.fromBytes(bytes, f), true);
      expect(await walk(new ByteSource(chunked(bytes, sizes), f), true)).toEqual(whole);
      const skipped = await walk(new ByteSource(chunked(bytes, sizes), f), false);
      expect(skipped.map((s) => s.h)).toEqual(whole.map((w) => w.h));
    });
  }
});

function hdr(name: string, size: string, opts: { fmag?: string; mode?: string } = {}): string {
  return name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + (opts.mode ?? '100644').padEnd(8) + size.padEnd(10) + (opts.fmag ?? '`\n');
}
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('synthesized archives', () => {
  it('BSD long names (#1/N) and odd sizes with padding', async () => {
    const a = enc(`!<arch>\n${hdr('#1/20', '23')}a-very-long-name.txtabc\n${hdr('x/', '2')}hi`);
    const got = await walk(ByteSource.fromBytes(a, 'bsd.a'), true);
    expect(got.map((g) => [g.h.ar_name, g.h.ar_size])).toEqual([
      ['a-very-long-name.txt', 3],
      ['x', 2],
    ]);
  });
  it('bad magic', async () => {
    await expect(walk(ByteSource.fromBytes(enc('!<arch>X'), 'm.a'), true)).rejects.toThrow(/m\.a: not an ar archive \(bad magic\) at offset 0/);
  });
  it('bad ar_fmag names the offset', async () => {
    const e = await walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('debian-binary', '4', { fmag: 'XX' })}2.0\n`), 'f.deb'), true).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFormatError);
    expect((e as InputFormatError).details['offset']).toBe(8 + 58);
  });
  it('non-decimal size', async () => {
    await expect(walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('a', '12x')}`), 's.a'), true)).rejects.toThrow(/ar_size is not decimal at offset 56/);
  });
  it('non-octal mode', async () => {
    await expect(walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('a', '1', { mode: '100689' })}x\n`), 's.a'), true)).rejects.toThrow(/ar_mode is not octal/);
  });
  it('size beyond what the field can hold is a LimitError; a short body a TruncatedError', async () => {
    // 10 digits max: "99999999999" does not fit the field, so use the BSD name bound instead.
    const e1 = await walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('#1/99999', '10')}`), 'l.a'), true).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(LimitError);
    const e2 = await walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('data.tar.xz', '1000')}short`), 't.a'), true).catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(TruncatedError);
    expect((e2 as Error).message).toMatch(/t\.a: truncated .*data\.tar\.xz/);
    const e3 = await walk(ByteSource.fromBytes(enc(`!<arch>\n${hdr('a', '1')}`.slice(0, 40)), 'h.a'), true).catch((x: unknown) => x);
    expect(e3).toBeInstanceOf(TruncatedError);
    expect((e3 as Error).message).toMatch(/ar member header needs 60 bytes at offset 8/);
  });
});
