// RPM lead/header parsing against rpmbuild-built fixtures; expected values from `rpm -qp --qf`.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, LimitError, TruncatedError } from '../../src/core/errors.js';
import { detectCompressor } from '../../src/extract/decompress.js';
import {
  headerString,
  parseRpmHeader,
  parseRpmHeaderIntro,
  parseRpmLead,
  readRpmHead,
  RPM_LEAD_SIZE,
  RpmSigTag,
  RpmTag,
  RpmTagType,
} from '../../src/formats/rpm.js';
import { chunked } from '../helpers/chunks.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const root = rpmFixtureRoot;
const manifest = readRpmManifest();
const good = manifest.packages.filter((p) => p.role === 'vmlinux' || p.role === 'source');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('readRpmHead on real packages', () => {
  for (const p of good) {
    it(`${p.file}: NEVRA, payload tags, file count and header bounds agree with rpm`, async () => {
      const f = join(root, p.file);
      const bytes = readFileSync(f);
      const head = await readRpmHead(ByteSource.fromBytes(bytes, f, 'rpm'));
      const q = execSync(`rpm -qp --qf '%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{PAYLOADFORMAT}|%{PAYLOADCOMPRESSOR}|%{PAYLOADFLAGS}|%{PAYLOADDIGEST}' ${f}`).toString().split('|');
      const [name, epoch, version, release, arch, fmt, comp, flags, digest] = q;
      expect(head.info.name).toBe(name);
      expect(head.info.epoch === null ? '(none)' : String(head.info.epoch)).toBe(epoch);
      expect(head.info.version).toBe(version);
      expect(head.info.release).toBe(release);
      expect(head.info.arch).toBe(arch);
      expect(head.info.payloadFormat).toBe(fmt);
      expect(head.info.payloadCompressor ?? '(none)').toBe(comp);
      expect(head.info.payloadFlags ?? '(none)').toBe(flags);
      expect(head.info.payloadDigest ?? '(none)').toBe(digest);
      expect(head.info.files.length).toBe(Number(execSync(`rpm -qlp ${f} | wc -l`, { shell: '/bin/bash' }).toString().trim()));
      expect(head.info.nevra).toBe(`${name}-${version}-${release}.${arch}`);
      expect(head.lead.name).toBe(`${name}-${version}-${release}`);
      // The signature's SHA256 covers exactly the main header bytes: proves offsets and sizes.
      expect(sha(bytes.subarray(head.header.offset, head.header.offset + head.header.size))).toBe(headerString(head.signature, RpmSigTag.SHA256));
      expect(head.payloadOffset).toBe(head.header.offset + head.header.size);
      // And the payload digest covers the rest of the file.
      expect(sha(bytes.subarray(head.payloadOffset))).toBe(head.info.payloadDigest);
      expect(detectCompressor(bytes.subarray(head.payloadOffset, head.payloadOffset + 13))).toBe(p.compressor);
    });
  }

  for (const sizes of [[1], [2], [3], [5], [8], [13], [1, 2, 3, 5, 8, 13, 4096]]) {
    it(`chunks of ${sizes.join(',')} parse to the same header`, async () => {
      const f = join(root, good[0]!.file);
      const bytes = readFileSync(f).subarray(0, 64 * 1024);
      const a = await readRpmHead(ByteSource.fromBytes(bytes, f, 'rpm'));
      const b = await readRpmHead(new ByteSource(chunked(bytes, sizes), f, 'rpm'));
      expect(b.info).toEqual(a.info);
      expect(b.payloadOffset).toBe(a.payloadOffset);
    });
  }
});

/** A minimal header blob: intro, index, data. */
function header(entries: { tag: number; type: number; offset: number; count: number }[], data: Uint8Array, il = entries.length, dl = data.length): Uint8Array {
  const b = Buffer.alloc(16 + 16 * entries.length + data.length);
  b.set([0x8e, 0xad, 0xe8, 0x01], 0);
  b.writeUInt32BE(il, 8);
  b.writeUInt32BE(dl, 12);
  entries.forEach((e, i) => {
    b.writeUInt32BE(e.tag, 16 + 16 * i);
    b.writeUInt32BE(e.type, 20 + 16 * i);
    b.writeInt32BE(e.offset, 24 + 16 * i);
    b.writeUInt32BE(e.count, 28 + 16 * i);
  });
  b.set(data, 16 + 16 * entries.length);
  return b;
}

async function parse(blob: Uint8Array): Promise<unknown> {
  const src = ByteSource.fromBytes(blob, 'hostile.rpm', 'rpm');
  const intro = await src.read(16);
  const { il, dl } = parseRpmHeaderIntro(intro, { label: 'hostile.rpm', offset: 0 });
  return parseRpmHeader((await src.read(16 * il)).slice(), (await src.read(dl)).slice(), { label: 'hostile.rpm', offset: 0, which: 'main', il, dl });
}

describe('hostile headers', () => {
  it('bad lead magic', () => {
    expect(() => parseRpmLead(new Uint8Array(RPM_LEAD_SIZE), { label: 'x.rpm' })).toThrow(InputFormatError);
    expect(() => parseRpmLead(new Uint8Array(RPM_LEAD_SIZE), { label: 'x.rpm' })).toThrow(/x\.rpm: not a valid RPM: bad lead magic/);
  });
  it('il and dl over rpm’s limits → LimitError before anything is allocated', async () => {
    await expect(parse(header([], new Uint8Array(0), 0x10000, 0))).rejects.toThrow(LimitError);
    await expect(parse(header([], new Uint8Array(0), 1, 0x10000000))).rejects.toThrow(LimitError);
  });
  it('an entry pointing past the data section', async () => {
    await expect(parse(header([{ tag: RpmTag.NAME, type: RpmTagType.INT32, offset: 4, count: 2 }], new Uint8Array(8)))).rejects.toThrow(/overruns the 8-byte data section/);
    await expect(parse(header([{ tag: RpmTag.NAME, type: RpmTagType.STRING, offset: 9, count: 1 }], new Uint8Array(8)))).rejects.toThrow(/outside the 8-byte data section/);
  });
  it('an unterminated string is an error when read', async () => {
    const h = (await parse(header([{ tag: RpmTag.NAME, type: RpmTagType.STRING, offset: 0, count: 1 }], Buffer.from('abcd')))) as Parameters<typeof headerString>[0];
    expect(() => headerString(h, RpmTag.NAME)).toThrow(/not NUL-terminated/);
  });
  it('a header cut short → TruncatedError', async () => {
    const blob = header([{ tag: RpmTag.NAME, type: RpmTagType.STRING, offset: 0, count: 1 }], Buffer.from('kernel\0\0'));
    await expect(parse(blob.subarray(0, blob.length - 3))).rejects.toThrow(TruncatedError);
  });
});
