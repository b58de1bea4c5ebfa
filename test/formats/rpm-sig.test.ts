// formats/rpm-sig.ts on packages signed by real rpmsign (scripts/fixtures/80-signed-rpms.sh): the
// header signatures are found under the tag rpm puts them (DSAHEADER for the EdDSA fixture key,
// RSAHEADER for an RSA key), none in an unsigned package, and the bytes they cover are rpm's
// header blob: the main header as stored in the file (rpmbuild writes zero reserved bytes).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigestName, rpmHeaderSignatures, signedHeaderBytes } from '../../src/formats/rpm.js';
import { rpmHeadOf } from '../helpers/rpm-head.js';
import { requireFixture } from '../helpers/fixtures.js';

const root = requireFixture('signed-rpms');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { packages: { file: string; role: string; set: string; fileDigestAlgo: number }[] };
const el9 = manifest.packages.find((p) => p.set === 'el9' && p.role === 'vmlinux')!;
const el7 = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;

const head = rpmHeadOf;

describe('RPM header signatures', () => {
  it('an EdDSA signature is a DSAHEADER packet; the covered bytes are the main header as stored', async () => {
    const { bytes, head: h } = await head(join(root, 'good', el9.file));
    const sigs = rpmHeaderSignatures(h.signature);
    expect(sigs.map((s) => s.tag)).toEqual(['DSAHEADER']);
    // An OpenPGP signature packet: new-format tag 2 (0xc2) or old-format tag 2 (0x88/0x89).
    expect([0xc2, 0x88, 0x89]).toContain(sigs[0]!.packet[0]);
    const blob = signedHeaderBytes(h.header);
    expect(blob.length).toBe(h.header.size);
    expect(Buffer.from(blob).equals(bytes.subarray(h.header.offset, h.header.offset + h.header.size))).toBe(true);
  });

  it('an RSA signature is an RSAHEADER packet; an unsigned package has none', async () => {
    expect(rpmHeaderSignatures((await head(join(root, 'good-rsa', el9.file))).head.signature).map((s) => s.tag)).toEqual(['RSAHEADER']);
    expect(rpmHeaderSignatures((await head(join(root, 'unsigned', el9.file))).head.signature)).toEqual([]);
  });

  it('FILEDIGESTALGO names: sha256 (rpm ≥ 4.14), MD5 when the tag is absent (older rpm)', async () => {
    expect(fileDigestName((await head(join(root, 'good', el9.file))).head.info.fileDigestAlgo)).toBe('sha256');
    expect(el7.fileDigestAlgo).toBe(1);
    expect(fileDigestName((await head(join(root, 'good', el7.file))).head.info.fileDigestAlgo)).toBe('md5');
    expect(fileDigestName(3)).toBeNull(); // RIPEMD-160: not computed, so a signed package using it is refused
  });
});
