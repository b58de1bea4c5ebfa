// rpm's rule for an expired signing key (issue 16, item 2; the distributions' old keys that the
// presets ship, CentOS 5/6 and AlmaLinux 8's first one, have expired since they signed packages
// that are still served): a header signed while the key was valid is good, as rpm takes it; the
// same key revoked is refused. The package is signed by real `rpmsign --addsign` with a key gpg
// made at a faked time that expired in 2021 (scripts/fixtures/81-expired-key-rpm.sh); gpgv checks it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/core/errors.js';
import { hasKeyRevocation } from '../../src/formats/openpgp-revocation.js';
import { BUILTIN_KEYS } from '../../src/resolve/keys/index.js';
import { verifyRpmHeader } from '../../src/resolve/rpm-header-trust.js';
import { requireFixture } from '../helpers/fixtures.js';
import { rpmHeadOf } from '../helpers/rpm-head.js';

const root = requireFixture('expired-key-rpm');
const m = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { fingerprint: string; keyExpires: number; signedAt: number; package: string; key: string; revokedKey: string };

describe('an RPM header signed before its key expired', () => {
  it('the fixture is what it says: the key has expired, the signature is older than the expiry', () => {
    expect(m.keyExpires * 1000).toBeLessThan(Date.now());
    expect(m.signedAt).toBeLessThan(m.keyExpires);
  });

  it('is good (rpm takes it), by the expired key’s fingerprint', async () => {
    const { head } = await rpmHeadOf(join(root, m.package));
    const v = await verifyRpmHeader(`file://${join(root, m.package)}`, head, { repo: 'test expired', keys: [join(root, m.key)], remote: [] });
    expect(v.fingerprint).toBe(m.fingerprint);
    expect(v.tag).toBe('RSAHEADER');
  });

  it('the same key revoked: refused (expired-key), one good signature time does not matter', async () => {
    const { head } = await rpmHeadOf(join(root, m.package));
    const e = await verifyRpmHeader(`file://${join(root, m.package)}`, head, { repo: 'test revoked', keys: [join(root, m.revokedKey)], remote: [] }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SignatureError);
    expect((e as SignatureError).message).toMatch(/signed by an expired or revoked key/);
    expect((e as SignatureError).details).toMatchObject({ reason: 'expired-key' });
  });
});

describe('hasKeyRevocation, on keys gpg wrote (gpg --dearmor)', () => {
  const binary = (armor: Buffer | string): Buffer => execFileSync('gpg', ['--dearmor'], { input: armor });
  it('finds the revocation gpg imported, and none in the same key unrevoked', () => {
    expect(hasKeyRevocation(binary(readFileSync(join(root, m.revokedKey))))).toBe(true);
    expect(hasKeyRevocation(binary(readFileSync(join(root, m.key))))).toBe(false);
  });
  it('none of the shipped distribution keys is revoked', () => {
    for (const [name, k] of BUILTIN_KEYS) expect(hasKeyRevocation(binary(k.armor)), name).toBe(false);
  });
});
