// Packages stanza parsing (on the fixture archive's real indexes, in hostile chunk sizes) and
// Debian version order checked against `dpkg --compare-versions`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputFormatError } from '../../src/core/errors.js';
import { debVersionCompare, parsePackagesStanzas, type Stanza } from '../../src/resolve/deb-index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { chunked } from '../helpers/chunks.js';

async function all(it: AsyncIterable<Stanza>): Promise<Stanza[]> {
  const out: Stanza[] = [];
  for await (const s of it) out.push(s);
  return out;
}

describe('parsePackagesStanzas', () => {
  const gz = readFileSync(join(requireFixture('deb', 'debian'), 'dists/bookworm/main/binary-amd64/Packages.gz'));
  const text = gunzipSync(gz);
  it('the fixture index: every stanza, multi-line fields, fields filter', async () => {
    const s = await all(parsePackagesStanzas(chunked(text, [text.length])));
    expect(s.map((x) => x['Package'])).toEqual(['linux-image-6.1.0-99-amd64', 'linux-image-6.1.0-99-cloud-amd64-dbg', 'linux-image-6.1.0-99-amd64-dbg', 'zzz-other']);
    expect(s[0]!['Description']).toBe('filler\nmulti-line\n.\ndescription');
    const dbg = s[2]!;
    // The index agrees with the package file (what dpkg-deb says about it).
    const deb = join(requireFixture('deb', 'debian'), dbg['Filename']!);
    expect(dbg['Version']).toBe(execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim());
    expect(Number(dbg['Size'])).toBe(readFileSync(deb).length);
    const few = await all(parsePackagesStanzas(chunked(text, [text.length]), { fields: new Set(['Package', 'SHA256']) }));
    expect(Object.keys(few[2]!).sort()).toEqual(['Package', 'SHA256']);
  });
  for (const sizes of [[1], [2], [3], [5], [8], [13], [1, 13, 8, 4093, 5, 2, 3]]) {
    it(`chunks ${sizes.join(',')} give the same stanzas`, async () => {
      expect(await all(parsePackagesStanzas(chunked(text, sizes)))).toEqual(await all(parsePackagesStanzas(chunked(text, [text.length]))));
    });
  }
  it('CRLF, no trailing newline, garbage', async () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(await all(parsePackagesStanzas(chunked(enc('Package: a\r\nVersion: 1\r\n\r\nPackage: b'), [3])))).toEqual([{ Package: 'a', Version: '1' }, { Package: 'b' }]);
    await expect(all(parsePackagesStanzas(chunked(enc('Package: a\nthis is not a field\n'), [5]), { label: 'P' }))).rejects.toThrow(/P: line 2 is not a "Field: value" line/);
    await expect(all(parsePackagesStanzas(chunked(new Uint8Array(100).fill(0x41), [7]), { maxLineLength: 50 }))).rejects.toBeInstanceOf(InputFormatError);
  });
});

describe('debVersionCompare equals dpkg --compare-versions', () => {
  const pairs: [string, string][] = [
    ['6.1.192-2', '6.1.192-1'],
    ['6.1.192-1', '6.1.55-1'],
    ['6.1.69-1~bpo11+1', '6.1.69-1'],
    ['6.10.6-1~bpo12+1', '6.10.6-1'],
    ['1.0~rc1', '1.0'],
    ['1.0', '1.0+b1'],
    ['1:0.1', '2.0'],
    ['5.15.0-91.101', '5.15.0-91.99'],
    ['5.15.0-52.58~20.04.1', '5.15.0-52.58'],
    ['1.0a', '1.0+'],
    ['1.0-1', '1.0-1'],
    ['2.30-1', '2.3-1'],
    ['1.001', '1.1'],
    ['1.0~~', '1.0~'],
    ['0:1.0', '1.0'],
    ['1.2.3', '1.2.3.0'],
  ];
  for (const [a, b] of pairs) {
    it(`${a} vs ${b}`, () => {
      const dpkg = (op: string): boolean => spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
      const want = dpkg('lt') ? -1 : dpkg('eq') ? 0 : 1;
      expect(debVersionCompare(a, b)).toBe(want);
      expect(debVersionCompare(b, a)).toBe(want === 0 ? 0 : -want);
    });
  }
  it('rejects junk', () => {
    expect(() => debVersionCompare('abc', '1')).toThrow(InputFormatError);
  });
});
