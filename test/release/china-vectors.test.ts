// Every release string of design/mirrors-china.md (the CentOS successors in China) as a grammar
// vector: the distribution it names and why, the vmlinux package file, the sources package and the
// vmlinux path inside the package; the strings that are no `uname -r` are refused with one line.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseRelease, vmlinuxMemberPath, wantedPackages } from '../../src/release/index.js';

interface V {
  input: string;
  arch?: string;
  family: string;
  /** vmlinux package file name. */
  file: string;
  /** sources package file name. */
  src?: string;
  /** vmlinux path in the package; default usr/lib/debug/lib/modules/<uname>/vmlinux. */
  boot?: boolean;
  uname?: string;
  /** words the reason must contain. */
  why?: string;
}

const x = (s: string): string => s; // keeps the table readable
const V: V[] = [
  // openEuler 20.03 LTS (all SPs: .oe1)
  { input: '4.19.90-2003.4.0.0036.oe1.aarch64', family: 'openeuler', file: 'kernel-debuginfo-4.19.90-2003.4.0.0036.oe1.aarch64.rpm', src: 'kernel-debugsource-4.19.90-2003.4.0.0036.oe1.aarch64.rpm', why: 'openEuler 20.03 LTS' },
  { input: '4.19.90-2112.8.0.0131.oe1.x86_64', family: 'openeuler', file: 'kernel-debuginfo-4.19.90-2112.8.0.0131.oe1.x86_64.rpm', src: 'kernel-debugsource-4.19.90-2112.8.0.0131.oe1.x86_64.rpm' },
  { input: '4.19.90-2206.1.0.0153.oe1.x86_64', family: 'openeuler', file: 'kernel-debuginfo-4.19.90-2206.1.0.0153.oe1.x86_64.rpm' },
  { input: x('4.19.90-2412.3.0.0308.oe1.x86_64'), family: 'openeuler', file: 'kernel-debuginfo-4.19.90-2412.3.0.0308.oe1.x86_64.rpm', why: 'service pack not named' }, // 4.19.90-YYMM.N.0.NNNN.oe1.<arch> with the SP4 spec's hulkrelease
  // openEuler 22.03 / 24.03 LTS [SPn]
  { input: '5.10.0-60.18.0.50.oe2203.x86_64', family: 'openeuler', file: 'kernel-debuginfo-5.10.0-60.18.0.50.oe2203.x86_64.rpm', why: 'openEuler 22.03 LTS' },
  { input: '5.10.0-60.66.0.91.oe2203.x86_64', family: 'openeuler', file: 'kernel-debuginfo-5.10.0-60.66.0.91.oe2203.x86_64.rpm' },
  { input: '5.10.0-136.12.0.86.oe2203sp1.x86_64', family: 'openeuler', file: 'kernel-debuginfo-5.10.0-136.12.0.86.oe2203sp1.x86_64.rpm', src: 'kernel-debugsource-5.10.0-136.12.0.86.oe2203sp1.x86_64.rpm', why: 'openEuler 22.03 LTS SP1' },
  { input: '5.10.0-136.65.0.145.oe2203sp1.aarch64', family: 'openeuler', file: 'kernel-debuginfo-5.10.0-136.65.0.145.oe2203sp1.aarch64.rpm' },
  { input: '6.6.0-28.0.0.34.oe2403.x86_64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-28.0.0.34.oe2403.x86_64.rpm', why: 'openEuler 24.03 LTS' },
  { input: '6.6.0-85.0.0.79.oe2403.x86_64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-85.0.0.79.oe2403.x86_64.rpm' },
  { input: '6.6.0-72.0.0.76.oe2403sp1.x86_64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-72.0.0.76.oe2403sp1.x86_64.rpm', why: 'openEuler 24.03 LTS SP1' },
  { input: '6.6.0-127.0.0.125.oe2403sp1.x86_64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-127.0.0.125.oe2403sp1.x86_64.rpm' },
  // loongarch64 and riscv64 (24.03's ExclusiveArch)
  { input: '6.6.0-72.0.0.76.oe2403sp1.loongarch64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-72.0.0.76.oe2403sp1.loongarch64.rpm' },
  { input: '6.6.0-72.0.0.76.oe2403sp1.riscv64', family: 'openeuler', file: 'kernel-debuginfo-6.6.0-72.0.0.76.oe2403sp1.riscv64.rpm' },
  // Anolis OS
  { input: '4.19.91-26.an7.x86_64', family: 'anolis', file: 'kernel-debuginfo-4.19.91-26.an7.x86_64.rpm', src: 'kernel-debuginfo-common-x86_64-4.19.91-26.an7.x86_64.rpm', why: 'Anolis OS 7' },
  { input: '4.19.91-23.4.an8.x86_64', family: 'anolis', file: 'kernel-debuginfo-4.19.91-23.4.an8.x86_64.rpm', why: 'ANCK' },
  { input: '4.19.91-27.an8.x86_64', family: 'anolis', file: 'kernel-debuginfo-4.19.91-27.an8.x86_64.rpm' },
  { input: '5.10.134-13.an8.x86_64', family: 'anolis', file: 'kernel-debuginfo-5.10.134-13.an8.x86_64.rpm', why: 'Anolis Cloud Kernel' },
  { input: '5.10.134-16.1.an8', family: 'anolis', file: 'kernel-debuginfo-5.10.134-16.1.an8.x86_64.rpm', uname: '5.10.134-16.1.an8.x86_64' },
  { input: '5.10.134-16.3.an8', arch: 'aarch64', family: 'anolis', file: 'kernel-debuginfo-5.10.134-16.3.an8.aarch64.rpm', src: 'kernel-debuginfo-common-aarch64-5.10.134-16.3.an8.aarch64.rpm' },
  { input: '5.10.134-18.an8', family: 'anolis', file: 'kernel-debuginfo-5.10.134-18.an8.x86_64.rpm' },
  { input: '5.10.134-19.3.1.an8', family: 'anolis', file: 'kernel-debuginfo-5.10.134-19.3.1.an8.x86_64.rpm' },
  { input: '6.6.102-5.2.an23.x86_64', family: 'anolis', file: 'kernel-debuginfo-6.6.102-5.2.an23.x86_64.rpm', why: 'Anolis OS 23' },
  { input: '6.6.102-5.2.an23', family: 'anolis', file: 'kernel-debuginfo-6.6.102-5.2.an23.x86_64.rpm' },
  { input: x('4.18.0-477.10.1.an8.x86_64'), family: 'anolis', file: 'kernel-debuginfo-4.18.0-477.10.1.an8.x86_64.rpm', why: 'RHCK' }, // 4.18.0-*.an8
  { input: x('3.10.0-1160.an7.x86_64'), family: 'anolis', file: 'kernel-debuginfo-3.10.0-1160.an7.x86_64.rpm' }, // 3.10.0-*.an7
  { input: '4.19.91-23.4.an8.x86_64+debug', family: 'anolis', file: 'kernel-debug-debuginfo-4.19.91-23.4.an8.x86_64.rpm' },
  // Alibaba Cloud Linux 2 / 3 / 4: same versions as Anolis, their own tags
  { input: '4.19.91-26.al7.x86_64', family: 'alinux', file: 'kernel-debuginfo-4.19.91-26.al7.x86_64.rpm', why: 'Alibaba Cloud Linux 2' },
  { input: '5.10.134-16.1.al8', family: 'alinux', file: 'kernel-debuginfo-5.10.134-16.1.al8.x86_64.rpm', why: 'Alibaba Cloud Linux 3' },
  { input: '5.10.134-18.al8', family: 'alinux', file: 'kernel-debuginfo-5.10.134-18.al8.x86_64.rpm' },
  { input: '5.10.134-19.1.al8', family: 'alinux', file: 'kernel-debuginfo-5.10.134-19.1.al8.x86_64.rpm' },
  { input: '5.10.134-19.2.al8', arch: 'arm64', family: 'alinux', file: 'kernel-debuginfo-5.10.134-19.2.al8.aarch64.rpm' },
  { input: '6.6.102-5.2.alnx4.x86_64', family: 'alinux', file: 'kernel-debuginfo-6.6.102-5.2.alnx4.x86_64.rpm', why: 'Alibaba Cloud Linux 4' },
  { input: '6.6.102-5.2.alnx4.aarch64', family: 'alinux', file: 'kernel-debuginfo-6.6.102-5.2.alnx4.aarch64.rpm' },
  { input: '6.6.102-5.2.alnx4', family: 'alinux', file: 'kernel-debuginfo-6.6.102-5.2.alnx4.x86_64.rpm' },
  { input: '6.6.102-6.alnx4.x86_64', family: 'alinux', file: 'kernel-debuginfo-6.6.102-6.alnx4.x86_64.rpm' },
  { input: '6.6.102-5.3.1.alnx4.x86_64', family: 'alinux', file: 'kernel-debuginfo-6.6.102-5.3.1.alnx4.x86_64.rpm' },
  // OpenCloudOS 8 (no dist, no arch in uname; /boot/vmlinux-<uname>) and 9
  { input: '5.4.119-19.0010.ocrelease.6', family: 'opencloudos', file: 'kernel-debuginfo-5.4.119-19.0010.ocrelease.6.oc8.x86_64.rpm', boot: true, uname: '5.4.119-19.0010.ocrelease.6', why: 'OpenCloudOS 8' },
  { input: '5.4.119-19.0010.ocrelease.6', arch: 'aarch64', family: 'opencloudos', file: 'kernel-debuginfo-5.4.119-19.0010.ocrelease.6.oc8.aarch64.rpm', boot: true, uname: '5.4.119-19.0010.ocrelease.6' },
  { input: '6.6.117-45.oc9.x86_64', family: 'opencloudos', file: 'kernel-debuginfo-6.6.117-45.oc9.x86_64.rpm', src: 'kernel-debuginfo-common-6.6.117-45.oc9.x86_64.rpm', why: 'OpenCloudOS 9' },
  { input: '6.6.117-45.1.oc9.x86_64', family: 'opencloudos', file: 'kernel-debuginfo-6.6.117-45.1.oc9.x86_64.rpm' },
  { input: '6.6.117-45.2.oc9.x86_64', family: 'opencloudos', file: 'kernel-debuginfo-6.6.117-45.2.oc9.x86_64.rpm' },
  { input: '6.6.117-45.oc9.loongarch64', family: 'opencloudos', file: 'kernel-debuginfo-6.6.117-45.oc9.loongarch64.rpm' },
  { input: '6.6.117-45.oc9.riscv64', family: 'opencloudos', file: 'kernel-debuginfo-6.6.117-45.oc9.riscv64.rpm' },
  // TencentOS tkernel tags (no dist, no arch) and the TK build system's uname
  { input: '4.14.105-1-tlinux3-0008', family: 'tencentos', file: 'kernel-debuginfo-4.14.105-1.0008.tl2.x86_64.rpm', boot: true, uname: '4.14.105-1-tlinux3-0008', why: 'tkernel' },
  { input: '4.14.105-1-tlinux3-0011', family: 'tencentos', file: 'kernel-debuginfo-4.14.105-1.0011.tl2.x86_64.rpm', boot: true, uname: '4.14.105-1-tlinux3-0011' },
  { input: '4.14.105-1-tlinux3-0013', family: 'tencentos', file: 'kernel-debuginfo-4.14.105-1.0013.tl2.x86_64.rpm', boot: true, uname: '4.14.105-1-tlinux3-0013' },
  { input: '4.14.105-1-tlinux3-0023.1', family: 'tencentos', file: 'kernel-debuginfo-4.14.105-1.0023.1.tl2.x86_64.rpm', boot: true, uname: '4.14.105-1-tlinux3-0023.1' },
  { input: '5.4.119-1-tlinux4-0007', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.119-1.0007.tl3.x86_64.rpm', boot: true, uname: '5.4.119-1-tlinux4-0007' },
  { input: '5.4.119-1-tlinux4-0009.1', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.119-1.0009.1.tl3.x86_64.rpm', boot: true, uname: '5.4.119-1-tlinux4-0009.1' },
  { input: '5.4.203-1-tlinux4-0011', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.203-1.0011.tl3.x86_64.rpm', boot: true, uname: '5.4.203-1-tlinux4-0011' },
  { input: '5.4.241-1-tlinux4-0017.3', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.241-1.0017.3.tl3.x86_64.rpm', boot: true, uname: '5.4.241-1-tlinux4-0017.3' },
  { input: '5.4.241-1-tlinux4-0017.7', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.241-1.0017.7.tl3.x86_64.rpm', src: 'kernel-tlinux4-debuginfo-common-5.4.241-1.0017.7.tl3.x86_64.rpm', boot: true, uname: '5.4.241-1-tlinux4-0017.7' },
  { input: '5.4.241-1-tlinux4-0017.7', arch: 'aarch64', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.241-1.0017.7.tl3.aarch64.rpm', boot: true, uname: '5.4.241-1-tlinux4-0017.7' },
  { input: '5.4.241-1-tlinux4-0017.16', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.241-1.0017.16.tl3.x86_64.rpm', boot: true, uname: '5.4.241-1-tlinux4-0017.16' },
  { input: '5.4.241-1-tlinux4-0017.prerelease4', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.241-1.0017.prerelease4.tl3.x86_64.rpm', boot: true, uname: '5.4.241-1-tlinux4-0017.prerelease4' },
  { input: '5.4.119-1.0007.tlinux4', family: 'tencentos', file: 'kernel-tlinux4-debuginfo-5.4.119-1.0007.tl3.x86_64.rpm', boot: true, uname: '5.4.119-1.0007.tlinux4' },
  { input: x('5.4.241-1.0017.7.tl3.x86_64'), family: 'tencentos', file: 'kernel-debuginfo-5.4.241-1.0017.7.tl3.x86_64.rpm', src: 'kernel-debuginfo-common-5.4.241-1.0017.7.tl3.x86_64.rpm', why: 'TencentOS Server 3' },
  { input: x('6.6.117-45.tl2.x86_64'), family: 'tencentos', file: 'kernel-debuginfo-6.6.117-45.tl2.x86_64.rpm' },
  // Kylin, UOS: openEuler-style releases under their own tags
  { input: '4.19.90-24.4.v2101.ky10.x86_64', family: 'kylin', file: 'kernel-debuginfo-4.19.90-24.4.v2101.ky10.x86_64.rpm', why: 'Kylin' },
  { input: '4.19.90-89.11.v2401.ky10.aarch64', family: 'kylin', file: 'kernel-debuginfo-4.19.90-89.11.v2401.ky10.aarch64.rpm' },
  { input: '4.19.90-89.40.v2401.ky10.x86_64', family: 'kylin', file: 'kernel-debuginfo-4.19.90-89.40.v2401.ky10.x86_64.rpm' },
  { input: '4.19.90-17.ky10.x86_64', family: 'kylin', file: 'kernel-debuginfo-4.19.90-17.ky10.x86_64.rpm' },
  { input: '4.19.90-25.17.v2101.osc.sfc.6.10.0.0030.ky10.x86_64+debug', family: 'kylin', file: 'kernel-debug-debuginfo-4.19.90-25.17.v2101.osc.sfc.6.10.0.0030.ky10.x86_64.rpm', uname: '4.19.90-25.17.v2101.osc.sfc.6.10.0.0030.ky10.x86_64+debug' },
  { input: '5.10.0-136.37.0.113.ky10.x86_64', family: 'kylin', file: 'kernel-debuginfo-5.10.0-136.37.0.113.ky10.x86_64.rpm' },
  { input: '5.10.0-136.37.0.113.ky10', family: 'kylin', file: 'kernel-debuginfo-5.10.0-136.37.0.113.ky10.x86_64.rpm' },
  { input: x('5.10.0-136.37.0.113.ky11.x86_64'), family: 'kylin', file: 'kernel-debuginfo-5.10.0-136.37.0.113.ky11.x86_64.rpm', why: 'V11' },
  { input: '4.19.90-2109.1.0.0108.up2.uel20.x86_64', family: 'uos', file: 'kernel-debuginfo-4.19.90-2109.1.0.0108.up2.uel20.x86_64.rpm', why: 'UOS Server 20' },
  { input: '4.19.90-2201.4.0.0135.up1.uel20.x86_64', family: 'uos', file: 'kernel-debuginfo-4.19.90-2201.4.0.0135.up1.uel20.x86_64.rpm' },
  { input: '4.19.90-2201.4.0.0135.up1.uel20', family: 'uos', file: 'kernel-debuginfo-4.19.90-2201.4.0.0135.up1.uel20.x86_64.rpm' },
  { input: '4.19.90-2305.1.0.0199.56.uel20.x86_64', family: 'uos', file: 'kernel-debuginfo-4.19.90-2305.1.0.0199.56.uel20.x86_64.rpm' },
  { input: '4.19.90-2403.3.0.0270.87.uel20.x86_64', family: 'uos', file: 'kernel-debuginfo-4.19.90-2403.3.0.0270.87.uel20.x86_64.rpm' },
  { input: '5.10.0-46.uel20.x86_64', family: 'uos', file: 'kernel-debuginfo-5.10.0-46.uel20.x86_64.rpm' },
  // BCLinux: never openEuler, never RHEL
  { input: '4.19.90-2107.6.0.0100.oe1.bclinux.x86_64', family: 'bclinux', file: 'kernel-debuginfo-4.19.90-2107.6.0.0100.oe1.bclinux.x86_64.rpm', why: 'BCLinux' },
  { input: '4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64', family: 'bclinux', file: 'kernel-debuginfo-4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64.rpm' },
  { input: x('4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64'), family: 'bclinux', file: 'kernel-debuginfo-4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64.rpm' }, // ...0248.35.oe1.bclinux
  { input: '4.19.0-240.23.11.el8_2.bclinux.x86_64', family: 'bclinux', file: 'kernel-debuginfo-4.19.0-240.23.11.el8_2.bclinux.x86_64.rpm', why: 'RHEL 8' },
  { input: '5.4.18-200.el7.bclinux.x86_64', family: 'bclinux', file: 'kernel-debuginfo-5.4.18-200.el7.bclinux.x86_64.rpm' },
  { input: '4.14.78-300.el7.bclinux.x86_64', family: 'bclinux', file: 'kernel-debuginfo-4.14.78-300.el7.bclinux.x86_64.rpm' },
  // ANCK rebuilds seen in the wild
  { input: '5.10.134-17.2.2.kos5.x86_64', family: 'keyarchos', file: 'kernel-debuginfo-5.10.134-17.2.2.kos5.x86_64.rpm' },
  { input: '5.10.134-13.1.zncgsl6.x86_64', family: 'cgsl', file: 'kernel-debuginfo-5.10.134-13.1.zncgsl6.x86_64.rpm' },
];

describe('CentOS successors: release grammar vectors (design/mirrors-china.md)', () => {
  it.each(V)('$input → $family, $file', (v) => {
    const rel = parseRelease(v.input, v.arch !== undefined ? { arch: v.arch } : {});
    expect(rel.family).toBe(v.family);
    expect(rel.distro).toBe(v.family);
    const uname = v.uname ?? rel.uname;
    expect(rel.uname).toBe(uname);
    if (v.uname === undefined && !v.input.includes('+')) expect(uname.startsWith(v.input)).toBe(true);
    expect(rel.reason).toBeTypeOf('string');
    if (v.why) expect(rel.reason).toContain(v.why);
    const w = wantedPackages(rel, { source: true });
    expect(w[0]).toMatchObject({ role: 'vmlinux', fileName: v.file, required: true, kind: 'rpm' });
    expect(w[1]).toMatchObject({ role: 'source', required: false });
    if (v.src) expect(w[1]!.fileName).toBe(v.src);
    expect(vmlinuxMemberPath(rel)).toBe(v.boot ? `boot/vmlinux-${uname}` : `usr/lib/debug/lib/modules/${uname}/vmlinux`);
    // The package's arch is the string's, else --arch, else x86_64.
    expect(v.file.endsWith(`.${rel.arch}.rpm`)).toBe(true);
  });

  it('counts every vector', () => {
    expect(V.length).toBeGreaterThanOrEqual(80);
  });

  it('never takes BCLinux for openEuler or RHEL, nor Anolis for Alinux', () => {
    expect(parseRelease('4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64').family).toBe('bclinux');
    expect(parseRelease('4.19.0-240.23.11.el8_2.bclinux.x86_64').family).toBe('bclinux');
    expect(() => parseRelease('4.19.90-2107.6.0.0192.8.oe1.bclinux.x86_64', { distro: 'openeuler' })).toThrow(UsageError);
    expect(() => parseRelease('4.19.0-240.23.11.el8_2.bclinux.x86_64', { distro: 'rhel' })).toThrow(UsageError);
    expect(() => parseRelease('5.10.134-16.1.al8', { distro: 'anolis' })).toThrow(/not anolis/);
    const an = parseRelease('5.10.134-16.1.an8');
    const al = parseRelease('5.10.134-16.1.al8');
    expect([an.family, al.family]).toEqual(['anolis', 'alinux']);
    expect(an.version).toBe(al.version);
  });

  it('tells the two Anolis 8 kernel lines apart by version', () => {
    expect(parseRelease('4.18.0-477.10.1.an8.x86_64').reason).toContain('RHCK');
    expect(parseRelease('4.19.91-27.an8.x86_64').reason).toContain('ANCK');
    expect(parseRelease('5.10.134-13.an8.x86_64').reason).toContain('ANCK');
  });

  it('takes the arch of arch-less strings from --arch, and refuses a conflicting one', () => {
    expect(parseRelease('5.4.241-1-tlinux4-0017.7', { arch: 'arm64' }).arch).toBe('aarch64');
    expect(parseRelease('5.4.119-19.0010.ocrelease.6').arch).toBe('x86_64');
    expect(() => parseRelease('6.6.117-45.oc9.x86_64', { arch: 'aarch64' })).toThrow(/--arch is aarch64/);
  });

  it.each(['6.6.102-5.2', '5.4.119-1+debug', '4.19.90-2107.6.0.0100.oe2.bclinux.x86_64', '5.10.134-13.an8.sparc'])('refuses %s with one line', (s) => {
    expect(() => parseRelease(s)).toThrow(UsageError);
    try {
      parseRelease(s);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message).toContain('openEuler');
    }
  });

  it('--distro accepts the new names', () => {
    expect(parseRelease('5.10.134-16.1.al8', { distro: 'alibaba' }).distro).toBe('alinux');
    expect(parseRelease('5.4.241-1-tlinux4-0017.7', { distro: 'tlinux' }).family).toBe('tencentos');
  });
});
