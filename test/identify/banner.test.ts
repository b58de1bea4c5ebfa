// Banner recognition and package-version hints (Debian, Ubuntu) from real-world banner shapes.
import { describe, expect, it } from 'vitest';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { findBanner, looksLikeDmesg, packageVersionFrom, scanForBanner } from '../../src/identify/banner.js';
import { archFromRelease } from '../../src/identify/index.js';
import { EL7_BANNER } from '../builders/vmcore.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const DEB = 'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)';
const UBU = 'Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 (Ubuntu 5.15.0-91.101-generic 5.15.131)';

describe('banner', () => {
  it('finds the banner, skipping format strings and binary garbage', () => {
    const buf = enc(`xx Linux version %s (%s) \0 Linux version 6.1\x01\x02 (\0junk ${DEB}\nrest`);
    expect(findBanner(buf)?.banner).toBe(DEB);
    expect(findBanner(buf)?.release).toBe('6.1.0-56-amd64');
    expect(findBanner(enc('Linux version 3.10.0-327.el7.x86_64 (builder@'), 0, false)).toBeNull();
  });

  it('scans in bounded chunks and finds a banner across a chunk boundary', async () => {
    const big = new Uint8Array(3 << 20);
    const at = (1 << 20) - 20;
    big.set(enc(`${EL7_BANNER}\n`), at);
    const hit = await scanForBanner(new BytesRandomAccess(big, 'mem'), { chunk: 1 << 20 });
    expect(hit).toMatchObject({ release: '3.10.0-327.el7.x86_64', offset: at, banner: EL7_BANNER });
    expect(await scanForBanner(new BytesRandomAccess(big, 'mem'), { chunk: 1 << 20, limit: 1 << 19 })).toBeNull();
  });

  it('reads package versions from Debian and Ubuntu banners, not from the compiler part', () => {
    expect(packageVersionFrom(DEB, '6.1.0-56-amd64')).toBe('6.1.192-2');
    expect(packageVersionFrom(UBU, '5.15.0-91-generic')).toBe('5.15.0-91.101');
    expect(packageVersionFrom('#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023', '5.15.0-91-generic')).toBe('5.15.0-91.101');
    expect(packageVersionFrom(EL7_BANNER, '3.10.0-327.el7.x86_64')).toBeNull();
  });

  it('tells kernel log text from binary and derives arch from release suffixes', () => {
    expect(looksLikeDmesg(enc(`[    0.000000] ${DEB}\n`))).toBe(true);
    expect(looksLikeDmesg(enc('root:x:0:0:root:/root:/bin/bash\n'))).toBe(false);
    expect(looksLikeDmesg(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1]))).toBe(false);
    expect(archFromRelease('3.10.0-327.el7.x86_64')).toBe('x86_64');
    expect(archFromRelease('5.14.0-70.el9.aarch64')).toBe('aarch64');
    expect(archFromRelease('6.1.0-56-amd64')).toBe('x86_64');
    expect(archFromRelease('6.1.0-56-cloud-arm64')).toBe('aarch64');
    expect(archFromRelease('5.15.0-91-generic')).toBeNull();
  });
});
