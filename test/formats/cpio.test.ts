// cpio (newc/crc) walking against archives made by the real tools: rpm2cpio (rpm's own newc
// writer) and GNU cpio -o -H newc / -H crc. Hostile archives from scripts/fixtures/rpm/make-hostile.mjs.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../../src/core/errors.js';
import { parseCpioHeader, walkCpio, type CpioHeader } from '../../src/formats/cpio.js';
import { chunked } from '../helpers/chunks.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const root = rpmFixtureRoot;
const manifest = readRpmManifest();
const common = join(root, manifest.packages.find((p) => p.set === 'el7' && p.role === 'source')!.file);
const rpmCpio = execSync(`rpm2cpio ${common}`, { maxBuffer: 64 << 20 });

const tmp = mkdtempSync(join(tmpdir(), 'kdbg-cpio-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A small tree for GNU cpio (which stores `./d/f0` as `d/f0`): files of awkward sizes (0..5 bytes, so every padding case), a
// symlink, a directory.
const tree = join(tmp, 'tree');
mkdirSync(join(tree, 'd/e'), { recursive: true });
for (let i = 0; i < 6; i++) writeFileSync(join(tree, `d/f${i}`), 'x'.repeat(i));
writeFileSync(join(tree, 'd/e/long-name-to-shift-the-padding-around.txt'), 'hello\n');
symlinkSync('../d/f3', join(tree, 'd/e/link'));
const gnu = (fmt: string): Buffer => execSync(`cd ${tree} && find . | sort | cpio --quiet -o -H ${fmt}`, { maxBuffer: 64 << 20 });

async function walkAll(src: ByteSource): Promise<{ header: CpioHeader; sha: string }[]> {
  const out: { header: CpioHeader; sha: string }[] = [];
  for await (const { header, body } of walkCpio(src)) {
    const h = createHash('sha256');
    for await (const c of body) h.update(c);
    out.push({ header, sha: h.digest('hex') });
  }
  return out;
}

const cpioNames = (b: Buffer): string[] => execSync('cpio --quiet -it', { input: b }).toString().trim().split('\n');

describe('walkCpio on real archives', () => {
  it('rpm2cpio output: names in order as cpio -it lists them; data as cpio extracts it', async () => {
    const entries = await walkAll(ByteSource.fromBytes(rpmCpio, 'rpm2cpio', 'cpio'));
    expect(entries.map((e) => e.header.name)).toEqual(cpioNames(rpmCpio));
    expect(entries.every((e) => e.header.c_magic === '070701')).toBe(true);
    const mk = entries.find((e) => e.header.name.endsWith('/Makefile'))!;
    const want = execSync(`cpio --quiet -i --to-stdout '${mk.header.name}' | sha256sum`, { input: rpmCpio }).toString().slice(0, 64);
    expect(mk.sha).toBe(want);
  });

  for (const fmt of ['newc', 'crc']) {
    it(`GNU cpio -H ${fmt}: every padding case`, async () => {
      const b = gnu(fmt);
      const entries = await walkAll(ByteSource.fromBytes(b, fmt, 'cpio'));
      expect(entries.map((e) => e.header.name)).toEqual(cpioNames(b));
      expect(entries[0]!.header.c_magic).toBe(fmt === 'newc' ? '070701' : '070702');
      for (let i = 0; i < 6; i++) {
        const e = entries.find((x) => x.header.name === `d/f${i}`)!;
        expect(e.header.c_filesize).toBe(i);
        expect(e.sha).toBe(createHash('sha256').update('x'.repeat(i)).digest('hex'));
      }
      const link = entries.find((x) => x.header.name === 'd/e/link')!;
      expect(link.header.c_mode & 0o170000).toBe(0o120000);
    });
  }

  for (const sizes of [[1], [2], [3], [5], [8], [13], [1, 2, 3, 5, 8, 13, 1000]]) {
    it(`chunks of ${sizes.join(',')}: same entries`, async () => {
      const want = await walkAll(ByteSource.fromBytes(rpmCpio, 'x', 'cpio'));
      const got = await walkAll(new ByteSource(chunked(rpmCpio, sizes), 'x', 'cpio'));
      expect(got).toEqual(want);
    });
  }

  it('drain-or-skip: bodies read partly or not at all are skipped correctly', async () => {
    const names: string[] = [];
    let i = 0;
    for await (const { header, body } of walkCpio(new ByteSource(chunked(rpmCpio, [7]), 'x', 'cpio'))) {
      names.push(header.name);
      if (i++ % 2 === 0) {
        // Read only the first chunk of every other body.
        for await (const _ of body) break;
      }
    }
    expect(names).toEqual(cpioNames(rpmCpio));
  });
});

describe('hostile cpio', () => {
  const raw = (n: string): Buffer => readFileSync(join(root, 'hostile', `${n}.cpio`));
  it('a huge c_namesize → LimitError naming the field and offset', async () => {
    const err = await walkAll(ByteSource.fromBytes(raw('huge-namesize'), 'h.cpio', 'cpio')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as Error).message).toMatch(/h\.cpio: cpio field c_namesize is 2147483647 at offset 94, over the limit of 4096/);
  });
  it('a body longer than the archive → TruncatedError', async () => {
    await expect(walkAll(ByteSource.fromBytes(raw('truncated-body'), 'h.cpio', 'cpio'))).rejects.toThrow(TruncatedError);
  });
  it('garbage instead of a header → InputFormatError with the offset', async () => {
    const err = await walkAll(ByteSource.fromBytes(raw('bad-magic'), 'h.cpio', 'cpio')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as Error).message).toMatch(/h\.cpio: bad cpio header at offset 144: magic "0707ZZ"/);
  });
  it('the stripped variant without a file list → LimitError', async () => {
    const err = await walkAll(ByteSource.fromBytes(raw('stripped'), 'h.cpio', 'cpio')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect((err as Error).message).toMatch(/07070X/);
  });
  it('the stripped variant with a file list resolves names and sizes from it', async () => {
    // 07070X + index 0 + 2 padding bytes, then 5 data bytes + 3 padding, then a newc trailer.
    const trailer = raw('stripped').subarray(16);
    const b = Buffer.concat([Buffer.from('07070X00000000\0\0'), Buffer.from('hello\0\0\0'), trailer]);
    const out: string[] = [];
    for await (const { header, body } of walkCpio(ByteSource.fromBytes(b, 's', 'cpio'), {
      stripped: (fx) => ({ name: `./file${fx}`, mode: 0o100644, filesize: 5, nlink: 1, ino: fx }),
    })) {
      let s = '';
      for await (const c of body) s += Buffer.from(c).toString();
      out.push(`${header.name}=${s}`);
    }
    expect(out).toEqual(['./file0=hello']);
  });
  it('odc (070707) is named, not misparsed', () => {
    const b = Buffer.alloc(110, 0x30);
    b.write('070707', 0);
    expect(() => parseCpioHeader(b, { label: 'o.cpio', offset: 0 })).toThrow(/odc \(070707\)/);
  });
  it('non-hex digits in a field', () => {
    const b = Buffer.from(rpmCpio.subarray(0, 110));
    b.write('zz', 54 + 2);
    expect(() => parseCpioHeader(b, { label: 'o.cpio', offset: 0 })).toThrow(/c_filesize is not 8 hex digits/);
  });
});
