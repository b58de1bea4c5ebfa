// Grammar edge cases beyond the §7 table: omitted arch, --arch/--distro, el5 glued variants,
// CentOS Plus, UEK-next without its tag, UEK test builds, AL2 5.10, Debian flavours and arches,
// and the one-line errors for strings kdbg cannot read.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseRelease, vmlinuxMemberPath, wantedPackages } from '../../src/release/index.js';

const files = (s: string, o: Parameters<typeof parseRelease>[1] = {}): (string | null)[] =>
  wantedPackages(parseRelease(s, o), { source: true }).map((w) => w.fileName);

describe('RPM grammar', () => {
  it('takes x86_64 when the arch is omitted, --arch otherwise', () => {
    const rel = parseRelease('3.10.0-327.el7');
    expect(rel).toMatchObject({ uname: '3.10.0-327.el7.x86_64', arch: 'x86_64', dist: 'el7', distMajor: 7, version: '3.10.0', release: '327.el7', variant: null });
    expect(parseRelease('3.10.0-327.el7', { arch: 'aarch64' }).uname).toBe('3.10.0-327.el7.aarch64');
    expect(parseRelease('4.18.0-348.el8', { arch: 'arm64' }).arch).toBe('aarch64');
  });
  it('refuses an --arch that contradicts the string', () => {
    expect(() => parseRelease('3.10.0-327.el7.x86_64', { arch: 'aarch64' })).toThrow(/names arch x86_64 but --arch is aarch64/);
  });
  it('reads el8_5 minors and keeps them in dist', () => {
    expect(parseRelease('4.18.0-348.7.1.el8_5.x86_64')).toMatchObject({ dist: 'el8_5', distMajor: 8, release: '348.7.1.el8_5' });
  });
  it('el5: variant glued to the dist tag, no arch in uname', () => {
    const rel = parseRelease('2.6.18-274.el5xen');
    expect(rel).toMatchObject({ uname: '2.6.18-274.el5xen', variant: 'xen', dist: 'el5', release: '274.el5', arch: 'x86_64' });
    expect(files('2.6.18-274.el5xen')).toEqual(['kernel-xen-debuginfo-2.6.18-274.el5.x86_64.rpm', 'kernel-debuginfo-common-2.6.18-274.el5.x86_64.rpm']);
    expect(vmlinuxMemberPath(rel)).toBe('usr/lib/debug/lib/modules/2.6.18-274.el5xen/vmlinux');
    expect(files('2.6.18-398.el5PAE', { arch: 'i686' })[0]).toBe('kernel-PAE-debuginfo-2.6.18-398.el5.i686.rpm');
    expect(files('2.6.18-398.el5PAE')[0]).toBe('kernel-PAE-debuginfo-2.6.18-398.el5.i686.rpm');
    expect(files('2.6.18-398.el5')[0]).toBe('kernel-debuginfo-2.6.18-398.el5.x86_64.rpm');
  });
  it('more real-world strings', () => {
    expect(files('6.9.0-0.rc1.20240322git1234.2.fc41.x86_64')[0]).toBe('kernel-debuginfo-6.9.0-0.rc1.20240322git1234.2.fc41.x86_64.rpm');
    expect(parseRelease('4.18.0-553.el8_10.x86_64')).toMatchObject({ dist: 'el8_10', distMajor: 8 });
    expect(files('5.14.0-362.8.1.el9_3.x86_64+rt')).toEqual(['kernel-rt-debuginfo-5.14.0-362.8.1.el9_3.x86_64.rpm', 'kernel-debuginfo-common-x86_64-5.14.0-362.8.1.el9_3.x86_64.rpm']);
    expect(files('4.1.12-124.48.6.el6uek.x86_64')[1]).toBe('kernel-uek-debuginfo-common-4.1.12-124.48.6.el6uek.x86_64.rpm');
    expect(files('4.18.0-305.el8.ppc64le')[1]).toBe('kernel-debuginfo-common-ppc64le-4.18.0-305.el8.ppc64le.rpm');
    expect(parseRelease('  3.10.0-327.el7.x86_64\n').uname).toBe('3.10.0-327.el7.x86_64');
  });
  it('el6 .debug variant', () => {
    expect(files('2.6.32-754.el6.x86_64.debug')[0]).toBe('kernel-debug-debuginfo-2.6.32-754.el6.x86_64.rpm');
  });
  it('CentOS Plus kernels', () => {
    const rel = parseRelease('3.10.0-1160.el7.centos.plus.x86_64');
    expect(rel.distro).toBe('centos');
    expect(files('3.10.0-1160.el7.centos.plus.x86_64')).toEqual([
      'kernel-plus-debuginfo-3.10.0-1160.el7.centos.plus.x86_64.rpm',
      'kernel-plus-debuginfo-common-x86_64-3.10.0-1160.el7.centos.plus.x86_64.rpm',
    ]);
  });
  it('el8/el9 + variants: rt-debug, 64k-debug; kernel-rt with +debug', () => {
    expect(files('5.14.0-570.el9.x86_64+rt-debug')[0]).toBe('kernel-rt-debug-debuginfo-5.14.0-570.el9.x86_64.rpm');
    expect(files('5.14.0-570.el9.aarch64+64k-debug')[0]).toBe('kernel-64k-debug-debuginfo-5.14.0-570.el9.aarch64.rpm');
    expect(files('4.18.0-353.rt7.138.el8.x86_64+debug')).toEqual([
      'kernel-rt-debug-debuginfo-4.18.0-353.rt7.138.el8.x86_64.rpm',
      'kernel-rt-debuginfo-common-x86_64-4.18.0-353.rt7.138.el8.x86_64.rpm',
    ]);
  });
  it('Oracle: RHCK .0.N implies oracle; UEK debug; UEK-next without the tag; UEK test builds', () => {
    expect(parseRelease('5.14.0-284.25.1.0.1.el9_2.x86_64').distro).toBe('oracle');
    expect(parseRelease('3.10.0-1160.99.1.0.1.el7.x86_64').distro).toBe('oracle');
    expect(parseRelease('5.14.0-284.11.1.el9_2.x86_64').distro).toBeUndefined();
    expect(files('4.14.35-2047.528.2.1.el7uek.x86_64.debug')[0]).toBe('kernel-uek-debug-debuginfo-4.14.35-2047.528.2.1.el7uek.x86_64.rpm');
    expect(files('6.8.0-2.el9uek.x86_64')[0]).toBe('kernel-ueknext-debuginfo-6.8.0-2.el9uek.x86_64.rpm');
    expect(files('6.12.0-100.28.2.el9uek.x86_64')[0]).toBe('kernel-uek-debuginfo-6.12.0-100.28.2.el9uek.x86_64.rpm');
    const odd = parseRelease('6.11.0-testingspecial.el9uek.rc1.x86_64');
    expect(odd).toMatchObject({ family: 'oracle-uek', dist: 'el9uek', release: 'testingspecial.el9uek.rc1', distro: 'oracle' });
    expect(vmlinuxMemberPath(odd)).toBe('usr/lib/debug/lib/modules/6.11.0-testingspecial.el9uek.rc1.x86_64/vmlinux');
  });
  it('Amazon Linux: AL2 extras keep the name kernel; AL2023 6.12 is kernel6.12', () => {
    expect(files('5.10.130-118.517.amzn2')[0]).toBe('kernel-debuginfo-5.10.130-118.517.amzn2.x86_64.rpm');
    expect(files('4.14.101-91.76.amzn2.aarch64')[0]).toBe('kernel-debuginfo-4.14.101-91.76.amzn2.aarch64.rpm');
    expect(files('6.12.22-27.96.amzn2023')[0]).toBe('kernel6.12-debuginfo-6.12.22-27.96.amzn2023.x86_64.rpm');
    expect(parseRelease('6.1.176-220.360.amzn2023.x86_64').distMajor).toBe(2023);
  });
  it('--distro is recorded, and a contradicting one is refused', () => {
    expect(parseRelease('5.14.0-284.11.1.el9_2.x86_64', { distro: 'AlmaLinux' }).distro).toBe('alma');
    expect(parseRelease('5.4.17-2136.300.7.el8uek.x86_64', { distro: 'ol' }).distro).toBe('oracle');
    expect(() => parseRelease('6.5.6-300.fc39.x86_64', { distro: 'centos' })).toThrow(/is a Fedora kernel \(fc39\), not centos/);
    expect(() => parseRelease('3.10.0-327.el7', { distro: 'gentoo' })).toThrow(/unknown distribution; known: centos, rhel, rocky, alma, oracle, fedora, amazon, debian, ubuntu/);
  });
});

describe('Debian and Ubuntu grammar', () => {
  it('Debian flavours and their dpkg arches', () => {
    expect(parseRelease('6.1.0-56-amd64')).toMatchObject({ family: 'debian', version: '6.1.0', release: '56', dist: 'deb12', distMajor: 12, variant: 'amd64', arch: 'amd64', distro: 'debian' });
    expect(parseRelease('6.1.0-56-cloud-amd64').variant).toBe('cloud-amd64');
    expect(parseRelease('6.1.0-56-rt-amd64').arch).toBe('amd64');
    expect(parseRelease('6.1.0-56-arm64').arch).toBe('arm64');
    expect(parseRelease('6.1.0-56-686-pae').arch).toBe('i386');
    expect(parseRelease('6.1.0-56-armmp-lpae').arch).toBe('armhf');
    expect(parseRelease('6.12.38+deb13-octeon')).toMatchObject({ arch: 'mips64el', dist: 'deb13', distMajor: 13 });
    expect(parseRelease('6.1.0-0.deb11.17-686')).toMatchObject({ release: '0.deb11.17', dist: 'deb11', distMajor: 11, arch: 'i386' });
    expect(parseRelease('6.10.6+bpo-amd64')).toMatchObject({ release: 'bpo', dist: 'bpo', version: '6.10.6' });
    expect(parseRelease('4.19.0-0.bpo.9-amd64')).toMatchObject({ release: '0.bpo.9', dist: 'bpo' });
    expect(parseRelease('6.12.30-amd64')).toMatchObject({ dist: 'sid', release: '' });
  });
  it('--arch x86_64 becomes amd64 for deb families', () => {
    expect(parseRelease('5.15.0-91-generic', { arch: 'x86_64' }).arch).toBe('amd64');
    expect(parseRelease('5.15.0-91-generic', { arch: 'aarch64' }).arch).toBe('arm64');
  });
  it('Ubuntu flavours with dashes', () => {
    for (const f of ['generic', 'lowlatency', 'aws', 'azure', 'gcp', 'oem', 'generic-64k', 'lowlatency-64k', 'generic-lpae', 'raspi', 'nvidia']) {
      const rel = parseRelease(`6.8.0-31-${f}`);
      expect(rel.family, f).toBe('ubuntu');
      expect(rel.variant).toBe(f);
    }
    expect(parseRelease('6.8.0-31-generic-64k').arch).toBe('arm64');
  });
  it('--distro lets unknown flavours through for the named family', () => {
    expect(() => parseRelease('6.1.0-56-weirdflavour')).not.toThrow(); // Ubuntu-shaped
    expect(parseRelease('6.1.0-56-weirdflavour', { distro: 'debian' }).family).toBe('debian');
    expect(() => parseRelease('6.1.0-56-amd64', { distro: 'fedora' })).toThrow(UsageError);
    expect(parseRelease('5.15.0-91-amd64', { distro: 'ubuntu' }).family).toBe('ubuntu');
  });
});

describe('errors', () => {
  const cases: [string, RegExp][] = [
    ['', /empty kernel release/],
    ['linux', /does not start with a kernel version/],
    ['3.10.0', /understood version 3\.10\.0 but nothing after it/],
    ['3.10.0-327.foo.x86_64', /understood version 3\.10\.0 and release "327\.foo\.x86_64", but found no known dist tag/],
    ['5.10.0-30-amd64-extra+junk', /no known dist tag/],
    ['3.10.0-327.el7.x86_64.foo', /understood version 3\.10\.0 and dist tag el7, but not what follows it \("x86_64\.foo"; expected \.ARCH/],
    ['4.18.0-348.el8.sparc+debug', /dist tag el8, but not what follows it \("sparc\+debug"/],
    ['6.6.6.1-1-default', /looks like SUSE/],
  ];
  for (const [input, re] of cases) {
    it(`"${input}" → one-line UsageError`, () => {
      let err: unknown;
      try {
        parseRelease(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      const msg = (err as UsageError).message;
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
      if (input !== '' && !/SUSE/.test(msg)) expect(msg).toMatch(/supported: RHEL.*Debian.*Ubuntu/);
      expect((err as UsageError).exitCode).toBe(64);
    });
  }
});
