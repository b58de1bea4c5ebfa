// The fast Packages pass (resolve/deb-scan.ts) gives exactly the stanzas the full parse gives for
// debug packages, and fails where it fails: on the fixture archive's real index in hostile chunk
// sizes, and on hand-made edge cases (CRLF, a byte order mark, comments, a Package field continued
// or given twice, a stanza split across chunks, garbage, an over-long line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputFormatError } from '../../src/core/errors.js';
import { parsePackagesStanzas, type Stanza } from '../../src/resolve/deb-index.js';
import { isDebugPackageName, scanPackagesStanzas } from '../../src/resolve/deb-scan.js';
import { requireFixture } from '../helpers/fixtures.js';
import { chunked, HOSTILE_CHUNKS } from '../helpers/chunks.js';

const FIELDS = new Set(['Package', 'Version', 'Architecture', 'Filename', 'Size', 'SHA256']);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function all(it: AsyncIterable<Stanza>): Promise<Stanza[]> {
  const out: Stanza[] = [];
  for await (const s of it) out.push(s);
  return out;
}

/** What the full parse gives, kept to the stanzas whose Package passes `keep`. */
async function reference(bytes: Uint8Array, keep: (n: string) => boolean, fields?: ReadonlySet<string>): Promise<Stanza[]> {
  const s = await all(parsePackagesStanzas(chunked(bytes, [bytes.length]), fields ? { fields } : {}));
  return s.filter((x) => x['Package'] !== undefined && keep(x['Package']));
}

/** Both outcomes as values: the stanzas, or the error's class and message. */
async function outcome(p: Promise<Stanza[]>): Promise<Stanza[] | string> {
  try {
    return await p;
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

describe('scanPackagesStanzas', () => {
  const text = gunzipSync(readFileSync(join(requireFixture('deb', 'debian'), 'dists/bookworm/main/binary-amd64/Packages.gz')));

  it('the fixture index: the debug packages, as the full parse gives them', async () => {
    const want = await reference(text, isDebugPackageName, FIELDS);
    // The fixture index has debug and other packages: the scan drops the others.
    expect(want.map((s) => s['Package'])).toEqual(['linux-image-6.1.0-99-cloud-amd64-dbg', 'linux-image-6.1.0-99-amd64-dbg']);
    for (const sizes of [[text.length], ...HOSTILE_CHUNKS]) {
      expect(await all(scanPackagesStanzas(chunked(text, sizes), isDebugPackageName, { fields: FIELDS }))).toEqual(want);
    }
    // Every field, and another predicate.
    const keepAll = (): boolean => true;
    expect(await all(scanPackagesStanzas(chunked(text, [7]), keepAll))).toEqual(await reference(text, keepAll));
  });

  const cases: [string, string][] = [
    ['CRLF and no trailing newline', 'Package: a-dbg\r\nVersion: 1\r\n\r\nPackage: b-dbg\r\nVersion: 2'],
    ['byte order mark', '\ufeffPackage: a-dbg\nVersion: 1\n'],
    ['comments between stanzas, blank lines of spaces', '# head\nPackage: a-dbg\nVersion: 1\n \t \n# between\n\n\nPackage: x\n\nPackage: b-dbg\n'],
    ['Package not first, duplicate Package (the last wins)', 'Version: 1\nPackage: a\nPackage: a-dbg\n\nVersion: 2\nPackage: b-dbg\nPackage: b\n\n'],
    ['a continued Package value', 'Package: a\n -dbg\nVersion: 1\n\nPackage: b-dbg\n x\n\nPackage: c\nDescription: d\n e-dbg\n'],
    ['continuations that belong to no field', 'Package: a-dbg\n\n ignored\nVersion: 3\nPackage: z-dbg\n'],
    ['a stanza without Package', 'Version: 1\nFilename: f\n\nPackage: a-dbgsym\nFilename: g\n'],
    ['spaces and tabs around values', 'Package: \t a-dbg \t\nSize:  5 \n'],
    ['non-ASCII in other fields and a bad byte', 'Package: a-dbg\nDescription: caf\u00e9 \u2014 x\nMaintainer: \u00ff\n\nPackage: b\u00e9-dbg\n'],
    ['garbage line', 'Package: a-dbg\nthis is not a field\n'],
    ['garbage in a skipped stanza', 'Package: other\nVersion: 1\nno colon here\n\nPackage: a-dbg\n'],
    ['a continuation on line 1', ' Package: a-dbg\n'],
    ['an empty key', 'Package: a-dbg\n: value\n'],
    ['a comment inside a stanza is a field line', 'Package: a-dbg\n#x: y\n# no colon\n'],
    ['only blank lines', '\n\n \n'],
    ['empty', ''],
  ];
  for (const [name, body] of cases) {
    it(name, async () => {
      const bytes = name === 'non-ASCII in other fields and a bad byte' ? Uint8Array.from([...enc(body), 0x0a, 0xc3, 0x0a, ...enc('Package: c-dbg\n')]) : enc(body);
      const want = await outcome(reference(bytes, isDebugPackageName));
      for (const sizes of [[bytes.length || 1], ...HOSTILE_CHUNKS]) {
        expect(await outcome(all(scanPackagesStanzas(chunked(bytes, sizes), isDebugPackageName, { label: 'P' })))).toEqual(
          typeof want === 'string' ? want.replace('Packages:', 'P:') : want,
        );
      }
    });
  }

  it('an over-long line is refused, as by the full parse', async () => {
    const long = new Uint8Array(100).fill(0x41);
    await expect(all(scanPackagesStanzas(chunked(long, [7]), isDebugPackageName, { maxLineLength: 50 }))).rejects.toBeInstanceOf(InputFormatError);
    await expect(all(parsePackagesStanzas(chunked(long, [7]), { maxLineLength: 50 }))).rejects.toBeInstanceOf(InputFormatError);
  });

  it('names kdbg asks an index for are debug package names', () => {
    for (const n of ['linux-image-6.1.0-57-amd64-dbg', 'linux-image-unsigned-5.15.0-91-generic-dbgsym', 'linux-image-5.15.0-91-generic-dbgsym', 'zfs-modules-6.1.0-57-amd64-dbg'])
      expect(isDebugPackageName(n)).toBe(true);
    for (const n of ['linux-image-6.1.0-57-amd64', 'libc6-dbg-extra', 'dbg']) expect(isDebugPackageName(n)).toBe(false);
  });
});
