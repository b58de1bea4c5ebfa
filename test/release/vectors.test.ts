// The 47 test vectors of design/mirrors.md §7: release string → package file name and the vmlinux
// path inside it. RPM rows check the exact file name (and the -common name where the table gives
// it); Debian/Ubuntu rows the package name (and the file name when `uname -v` gives the version).
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseRelease, suseImageMembers, vmlinuxMemberPath, wantedPackages } from '../../src/release/index.js';

interface RpmVector {
  n: number;
  input: string;
  distro?: string;
  file: string;
  common?: string;
  family: string;
  vmlinux?: string;
}

const rpm: RpmVector[] = [
  { n: 1, input: '3.10.0-327.el7.x86_64', family: 'rhel', file: 'kernel-debuginfo-3.10.0-327.el7.x86_64.rpm', common: 'kernel-debuginfo-common-x86_64-3.10.0-327.el7.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/3.10.0-327.el7.x86_64/vmlinux' },
  { n: 2, input: '3.10.0-1160.el7.x86_64', family: 'rhel', file: 'kernel-debuginfo-3.10.0-1160.el7.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/3.10.0-1160.el7.x86_64/vmlinux' },
  { n: 3, input: '3.10.0-957.21.3.el7.x86_64', family: 'rhel', file: 'kernel-debuginfo-3.10.0-957.21.3.el7.x86_64.rpm' },
  { n: 4, input: '3.10.0-1127.el7.x86_64.debug', family: 'rhel', file: 'kernel-debug-debuginfo-3.10.0-1127.el7.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/3.10.0-1127.el7.x86_64.debug/vmlinux' },
  { n: 5, input: '3.10.0-327.rt56.204.el7.x86_64', family: 'rhel', file: 'kernel-rt-debuginfo-3.10.0-327.rt56.204.el7.x86_64.rpm', common: 'kernel-rt-debuginfo-common-x86_64-3.10.0-327.rt56.204.el7.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/3.10.0-327.rt56.204.el7.x86_64/vmlinux' },
  { n: 6, input: '4.18.0-348.7.1.el8_5.x86_64', distro: 'centos', family: 'rhel', file: 'kernel-debuginfo-4.18.0-348.7.1.el8_5.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.18.0-348.7.1.el8_5.x86_64/vmlinux' },
  { n: 7, input: '4.18.0-228.el8.x86_64+debug', family: 'rhel', file: 'kernel-debug-debuginfo-4.18.0-228.el8.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.18.0-228.el8.x86_64+debug/vmlinux' },
  { n: 8, input: '4.18.0-372.32.1.rt7.189.el8_6.x86_64', distro: 'rocky', family: 'rhel', file: 'kernel-rt-debuginfo-4.18.0-372.32.1.rt7.189.el8_6.x86_64.rpm', common: 'kernel-rt-debuginfo-common-x86_64-4.18.0-372.32.1.rt7.189.el8_6.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.18.0-372.32.1.rt7.189.el8_6.x86_64/vmlinux' },
  { n: 9, input: '4.18.0-372.19.1.el8_6.x86_64', distro: 'rocky', family: 'rhel', file: 'kernel-debuginfo-4.18.0-372.19.1.el8_6.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.18.0-372.19.1.el8_6.x86_64/vmlinux' },
  { n: 10, input: '5.14.0-284.11.1.el9_2.x86_64', distro: 'rocky', family: 'rhel', file: 'kernel-debuginfo-5.14.0-284.11.1.el9_2.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.14.0-284.11.1.el9_2.x86_64/vmlinux' },
  { n: 11, input: '5.14.0-284.11.1.el9_2.x86_64', distro: 'alma', family: 'rhel', file: 'kernel-debuginfo-5.14.0-284.11.1.el9_2.x86_64.rpm' },
  { n: 12, input: '5.14.0-284.11.1.el9_2.x86_64', distro: 'rhel', family: 'rhel', file: 'kernel-debuginfo-5.14.0-284.11.1.el9_2.x86_64.rpm' },
  { n: 13, input: '5.14.0-687.el9.x86_64', distro: 'centos', family: 'rhel', file: 'kernel-debuginfo-5.14.0-687.el9.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.14.0-687.el9.x86_64/vmlinux' },
  { n: 14, input: '5.14.0-611.35.1.el9_7.x86_64+rt', family: 'rhel', file: 'kernel-rt-debuginfo-5.14.0-611.35.1.el9_7.x86_64.rpm', common: 'kernel-debuginfo-common-x86_64-5.14.0-611.35.1.el9_7.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.14.0-611.35.1.el9_7.x86_64+rt/vmlinux' },
  { n: 15, input: '5.14.0-284.11.1.el9_2.aarch64+64k', family: 'rhel', file: 'kernel-64k-debuginfo-5.14.0-284.11.1.el9_2.aarch64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.14.0-284.11.1.el9_2.aarch64+64k/vmlinux' },
  { n: 16, input: '5.4.17-2136.300.7.el8uek.x86_64', family: 'oracle-uek', file: 'kernel-uek-debuginfo-5.4.17-2136.300.7.el8uek.x86_64.rpm', common: 'kernel-uek-debuginfo-common-5.4.17-2136.300.7.el8uek.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.4.17-2136.300.7.el8uek.x86_64/vmlinux' },
  { n: 17, input: '4.14.35-2047.528.2.1.el7uek.x86_64', family: 'oracle-uek', file: 'kernel-uek-debuginfo-4.14.35-2047.528.2.1.el7uek.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.14.35-2047.528.2.1.el7uek.x86_64/vmlinux' },
  { n: 18, input: '5.15.0-104.119.4.2.el9uek.aarch64', family: 'oracle-uek', file: 'kernel-uek-debuginfo-5.15.0-104.119.4.2.el9uek.aarch64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.15.0-104.119.4.2.el9uek.aarch64/vmlinux' },
  { n: 19, input: '6.11.0-0.el9ueknext.x86_64', family: 'oracle-uek', file: 'kernel-ueknext-debuginfo-6.11.0-0.el9ueknext.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/6.11.0-0.el9ueknext.x86_64/vmlinux' },
  { n: 20, input: '5.14.0-284.25.1.0.1.el9_2.x86_64', family: 'rhel', file: 'kernel-debuginfo-5.14.0-284.25.1.0.1.el9_2.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/5.14.0-284.25.1.0.1.el9_2.x86_64/vmlinux' },
  { n: 21, input: '6.5.6-300.fc39.x86_64', family: 'fedora', file: 'kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm', common: 'kernel-debuginfo-common-x86_64-6.5.6-300.fc39.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/6.5.6-300.fc39.x86_64/vmlinux' },
  { n: 22, input: '6.5.6-300.fc39.x86_64+debug', family: 'fedora', file: 'kernel-debug-debuginfo-6.5.6-300.fc39.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/6.5.6-300.fc39.x86_64+debug/vmlinux' },
  { n: 23, input: '6.8.11-300.fc40.x86_64', family: 'fedora', file: 'kernel-debuginfo-6.8.11-300.fc40.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/6.8.11-300.fc40.x86_64/vmlinux' },
  { n: 24, input: '4.18.16-300.fc29.x86_64', family: 'fedora', file: 'kernel-debuginfo-4.18.16-300.fc29.x86_64.rpm' },
  { n: 25, input: '6.14.0-63.fc42.ppc64le', family: 'fedora', file: 'kernel-debuginfo-6.14.0-63.fc42.ppc64le.rpm' },
  { n: 26, input: '4.14.355-271.569.amzn2.x86_64', family: 'amazon', file: 'kernel-debuginfo-4.14.355-271.569.amzn2.x86_64.rpm', common: 'kernel-debuginfo-common-x86_64-4.14.355-271.569.amzn2.x86_64.rpm', vmlinux: 'usr/lib/debug/lib/modules/4.14.355-271.569.amzn2.x86_64/vmlinux' },
  { n: 27, input: '6.1.176-220.360.amzn2023.x86_64', family: 'amazon', file: 'kernel-debuginfo-6.1.176-220.360.amzn2023.x86_64.rpm' },
  { n: 28, input: '6.12.22-27.96.amzn2023.x86_64', family: 'amazon', file: 'kernel6.12-debuginfo-6.12.22-27.96.amzn2023.x86_64.rpm', common: 'kernel6.12-debuginfo-common-x86_64-6.12.22-27.96.amzn2023.x86_64.rpm' },
];

interface DebVector {
  n: number;
  input: string;
  family: 'debian' | 'ubuntu';
  pkgVersion?: string;
  arch?: string;
  name: string;
  file?: string;
}

const deb: DebVector[] = [
  { n: 31, input: '5.15.0-91-generic', family: 'ubuntu', pkgVersion: '5.15.0-91.101', name: 'linux-image-unsigned-5.15.0-91-generic-dbgsym', file: 'linux-image-unsigned-5.15.0-91-generic-dbgsym_5.15.0-91.101_amd64.ddeb' },
  { n: 32, input: '5.15.0-52-generic', family: 'ubuntu', pkgVersion: '5.15.0-52.58~20.04.1', name: 'linux-image-unsigned-5.15.0-52-generic-dbgsym', file: 'linux-image-unsigned-5.15.0-52-generic-dbgsym_5.15.0-52.58~20.04.1_amd64.ddeb' },
  { n: 33, input: '5.4.0-90-lowlatency', family: 'ubuntu', pkgVersion: '5.4.0-90.101~18.04.1', name: 'linux-image-unsigned-5.4.0-90-lowlatency-dbgsym', file: 'linux-image-unsigned-5.4.0-90-lowlatency-dbgsym_5.4.0-90.101~18.04.1_amd64.ddeb' },
  { n: 34, input: '4.4.0-1061-aws', family: 'ubuntu', pkgVersion: '4.4.0-1061.70', name: 'linux-image-4.4.0-1061-aws-dbgsym', file: 'linux-image-4.4.0-1061-aws-dbgsym_4.4.0-1061.70_amd64.ddeb' },
  { n: 35, input: '5.13.0-1007-oem', family: 'ubuntu', pkgVersion: '5.13.0-1007.7', name: 'linux-image-unsigned-5.13.0-1007-oem-dbgsym', file: 'linux-image-unsigned-5.13.0-1007-oem-dbgsym_5.13.0-1007.7_amd64.ddeb' },
  { n: 36, input: '6.17.0-20-generic', family: 'ubuntu', pkgVersion: '6.17.0-20.20~24.04.1', name: 'linux-image-unsigned-6.17.0-20-generic-dbgsym', file: 'linux-image-unsigned-6.17.0-20-generic-dbgsym_6.17.0-20.20~24.04.1_amd64.ddeb' },
  { n: 37, input: '5.4.0-33-generic', family: 'ubuntu', pkgVersion: '5.4.0-33.37', name: 'linux-image-unsigned-5.4.0-33-generic-dbgsym', file: 'linux-image-unsigned-5.4.0-33-generic-dbgsym_5.4.0-33.37_amd64.ddeb' },
  { n: 38, input: '4.4.0-98-generic', family: 'ubuntu', pkgVersion: '4.4.0-98.121', name: 'linux-image-4.4.0-98-generic-dbgsym', file: 'linux-image-4.4.0-98-generic-dbgsym_4.4.0-98.121_amd64.ddeb' },
  { n: 39, input: '6.8.0-31-generic-64k', family: 'ubuntu', arch: 'arm64', name: 'linux-image-unsigned-6.8.0-31-generic-64k-dbgsym' },
  { n: 40, input: '6.1.0-13-amd64', family: 'debian', pkgVersion: '6.1.55-1', name: 'linux-image-6.1.0-13-amd64-dbg', file: 'linux-image-6.1.0-13-amd64-dbg_6.1.55-1_amd64.deb' },
  { n: 41, input: '6.1.0-13-cloud-amd64', family: 'debian', pkgVersion: '6.1.55-1', name: 'linux-image-6.1.0-13-cloud-amd64-dbg', file: 'linux-image-6.1.0-13-cloud-amd64-dbg_6.1.55-1_amd64.deb' },
  { n: 42, input: '5.10.0-30-amd64', family: 'debian', pkgVersion: '5.10.218-1', name: 'linux-image-5.10.0-30-amd64-dbg', file: 'linux-image-5.10.0-30-amd64-dbg_5.10.218-1_amd64.deb' },
  { n: 43, input: '4.19.0-20-amd64', family: 'debian', pkgVersion: '4.19.235-1', name: 'linux-image-4.19.0-20-amd64-dbg', file: 'linux-image-4.19.0-20-amd64-dbg_4.19.235-1_amd64.deb' },
  { n: 44, input: '6.1.0-0.deb11.17-686', family: 'debian', pkgVersion: '6.1.69-1~bpo11+1', arch: 'i386', name: 'linux-image-6.1.0-0.deb11.17-686-dbg', file: 'linux-image-6.1.0-0.deb11.17-686-dbg_6.1.69-1~bpo11+1_i386.deb' },
  { n: 45, input: '6.10.6+bpo-amd64', family: 'debian', pkgVersion: '6.10.6-1~bpo12+1', name: 'linux-image-6.10.6+bpo-amd64-dbg', file: 'linux-image-6.10.6+bpo-amd64-dbg_6.10.6-1~bpo12+1_amd64.deb' },
  { n: 46, input: '6.12.30-amd64', family: 'debian', pkgVersion: '6.12.30-1', name: 'linux-image-6.12.30-amd64-dbg', file: 'linux-image-6.12.30-amd64-dbg_6.12.30-1_amd64.deb' },
  { n: 47, input: '6.12.38+deb13-amd64', family: 'debian', pkgVersion: '6.12.38-1', name: 'linux-image-6.12.38+deb13-amd64-dbg', file: 'linux-image-6.12.38+deb13-amd64-dbg_6.12.38-1_amd64.deb' },
];

describe('mirrors.md §7 vectors: RPM family', () => {
  for (const v of rpm) {
    it(`#${v.n} ${v.input}${v.distro ? ` (${v.distro})` : ''}`, () => {
      const rel = parseRelease(v.input, v.distro ? { distro: v.distro } : {});
      expect(rel.family).toBe(v.family);
      expect(rel.uname).toBe(v.input);
      const wanted = wantedPackages(rel, { source: true });
      expect(wanted[0]).toMatchObject({ role: 'vmlinux', fileName: v.file, kind: 'rpm', required: true });
      expect(wanted[1]).toMatchObject({ role: 'source', kind: 'rpm', required: false });
      if (v.common) expect(wanted[1]!.fileName).toBe(v.common);
      expect(vmlinuxMemberPath(rel)).toBe(v.vmlinux ?? `usr/lib/debug/lib/modules/${v.input}/vmlinux`);
      // Without --source only the vmlinux package is wanted.
      expect(wantedPackages(rel, { source: false })).toHaveLength(1);
    });
  }
});

describe('mirrors.md §7 vectors: SUSE (package by name and release prefix, .debug member, image package)', () => {
  // [#, uname -r, expected debuginfo file, .debug member]; the file's `.1` is OBS's build counter.
  const suse = [
    [29, '5.14.21-150500.55.39-default', 'kernel-default-debuginfo-5.14.21-150500.55.39.1.x86_64.rpm', 'usr/lib/debug/boot/vmlinux-5.14.21-150500.55.39-default.debug'],
    [30, '5.3.18-150300.59.43-default', 'kernel-default-debuginfo-5.3.18-150300.59.43.1.x86_64.rpm', 'usr/lib/debug/boot/vmlinux-5.3.18-150300.59.43-default.debug'],
  ] as const;
  for (const [n, input, file, member] of suse) {
    it(`#${n} ${input}`, () => {
      const rel = parseRelease(input);
      expect(rel).toMatchObject({ family: 'suse', uname: input, arch: 'x86_64', variant: 'default' });
      const wanted = wantedPackages(rel, { source: true });
      expect(wanted.map((w) => [w.role, w.name, w.required])).toEqual([
        ['vmlinux', 'kernel-default-debuginfo', true],
        ['image', 'kernel-default', true],
        ['source', 'kernel-default-debugsource', false],
      ]);
      const vm = wanted[0]!;
      // The index's version-release extends the prefix by the build counter.
      const vr = /^kernel-default-debuginfo-(.+)\.x86_64\.rpm$/.exec(file)![1]!;
      expect(vr.startsWith(`${vm.evrPrefix!}.`)).toBe(true);
      expect(vm.evr).toBeNull();
      expect(vmlinuxMemberPath(rel)).toBe(member);
      expect(suseImageMembers(rel)[0]).toBe(`boot/vmlinux-${input}.xz`);
    });
  }
  it('the RPM-version form with the build counter (btfhub: 5.3.18-150300.59.43.1-default) names the same kernel', () => {
    const rel = parseRelease('5.3.18-150300.59.43.1-default');
    expect(rel.uname).toBe('5.3.18-150300.59.43-default');
    expect(wantedPackages(rel, { source: false })[0]!.evrPrefix).toBe('5.3.18-150300.59.43');
  });
  it('SLES 12, SLE 15 GA releases, Leap lp15N, Tumbleweed and the flavours', () => {
    expect(parseRelease('4.12.14-122.37-default')).toMatchObject({ family: 'suse', dist: 'sle', release: '122.37' });
    expect(parseRelease('5.3.18-57-default')).toMatchObject({ family: 'suse', dist: 'sle', release: '57' });
    expect(parseRelease('5.3.18-lp152.19-default')).toMatchObject({ family: 'suse', dist: 'leap15.2', distMajor: 15 });
    expect(parseRelease('6.6.6-1-default')).toMatchObject({ family: 'suse', dist: 'tumbleweed', release: '1' });
    expect(parseRelease('5.14.21-150500.55.39-default')).toMatchObject({ dist: 'sle15sp5', distMajor: 15 });
    for (const f of ['azure', 'rt', '64kb', 'kvmsmall']) {
      const rel = parseRelease(`5.14.21-150500.33.29-${f}`, f === '64kb' ? { arch: 'aarch64' } : {});
      expect(rel.family, f).toBe('suse');
      expect(wantedPackages(rel, { source: false }).map((w) => w.name)).toEqual([`kernel-${f}-debuginfo`, `kernel-${f}`]);
    }
    expect(parseRelease('5.14.21-150500.33.29-64kb', { arch: 'aarch64' }).arch).toBe('aarch64');
    // Ubuntu keeps its single-ABI azure kernels.
    expect(parseRelease('6.8.0-31-azure').family).toBe('ubuntu');
    expect(parseRelease('6.6.6-1-default', { distro: 'opensuse' }).family).toBe('suse');
  });
});

describe('mirrors.md §7 vectors: Debian and Ubuntu', () => {
  for (const v of deb) {
    it(`#${v.n} ${v.input}`, () => {
      const rel = parseRelease(v.input, v.pkgVersion ? { packageVersion: v.pkgVersion } : {});
      expect(rel.family).toBe(v.family);
      expect(rel.arch).toBe(v.arch ?? 'amd64');
      const wanted = wantedPackages(rel, { source: true });
      const hit = wanted.find((w) => w.name === v.name);
      expect(hit, `${v.name} among ${wanted.map((w) => w.name).join(', ')}`).toBeDefined();
      expect(hit!.kind).toBe('deb');
      if (v.file) expect(hit!.fileName).toBe(v.file);
      expect(vmlinuxMemberPath(rel)).toBe(`usr/lib/debug/boot/vmlinux-${v.input}`);
      // Without the version the file name is unknown and the index decides.
      const bare = wantedPackages(parseRelease(v.input, v.arch ? { arch: v.arch } : {}), { source: false });
      expect(bare.every((w) => w.fileName === null && w.evr === null)).toBe(true);
    });
  }
  it('Ubuntu wants the unsigned dbgsym first, the signed name as optional alternative', () => {
    const names = wantedPackages(parseRelease('5.15.0-91-generic'), { source: false }).map((w) => [w.name, w.required]);
    expect(names).toEqual([
      ['linux-image-unsigned-5.15.0-91-generic-dbgsym', true],
      ['linux-image-5.15.0-91-generic-dbgsym', false],
    ]);
  });
  it('Debian wants only linux-image-<uname>-dbg', () => {
    const w = wantedPackages(parseRelease('6.1.0-56-amd64'), { source: true });
    expect(w.map((x) => x.name)).toEqual(['linux-image-6.1.0-56-amd64-dbg']);
  });
});
