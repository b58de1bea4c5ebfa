// `uname -r` grammar of the distributions that replaced CentOS in China (design/mirrors-china.md):
// openEuler (oe1, oeYYMM[spN]), Anolis OS (anN), Alibaba Cloud Linux (al7, al8, alnxN),
// OpenCloudOS (ocN, and OC 8's `.ocrelease.` strings), TencentOS (tlN, tkernel's `-tlinuxN-`
// tags), Kylin (kyN), UOS (uelN), BCLinux (`.bclinux` after another distribution's tag) and two
// ANCK rebuilds seen in the wild (KeyarchOS kosN, CGSL zncgslN).
//
//   tagged   := VERSION "-" RELEASE "." DIST [ "." ARCH ] [ "+" VARIANT ]
//   bclinux  := VERSION "-" RELEASE "." (oe1 | elN[_M]) ".bclinux" [ "." ARCH ]
//   tkernel  := VERSION "-" N "-tlinux" G "-" BUILD            (no dist, no arch)
//   tk-new   := VERSION "-" N "." BUILD ".tlinux4"              (TK build system, no arch)
//   oc8      := VERSION "-" N "." BUILD ".ocrelease." M         (no dist, no arch)
//
// Strings without an arch take --arch, else the dump's, else x86_64 (the caller passes it).
// BCLinux is tested first: `.oe1.bclinux` and `.el8_2.bclinux` are neither openEuler nor RHEL,
// and their binaries would not match the dump.

import type { DistroFamily, KernelRelease, WantedPackage } from '../core/types.js';
import { normalizeRpmArch, RPM_ARCHES, type RpmParse } from './rpm.js';

/** The families of this module (DistroFamily members). */
export const CHINA_FAMILIES: ReadonlySet<DistroFamily> = new Set<DistroFamily>([
  'openeuler', 'anolis', 'alinux', 'opencloudos', 'tencentos', 'kylin', 'uos', 'bclinux', 'keyarchos', 'cgsl',
]);

export function isChinaFamily(f: DistroFamily): boolean {
  return CHINA_FAMILIES.has(f);
}

/** --distro spellings for these families. */
export const CHINA_DISTROS: Readonly<Record<string, { name: string; families: DistroFamily[] }>> = {
  openeuler: { name: 'openeuler', families: ['openeuler'] },
  anolis: { name: 'anolis', families: ['anolis'] },
  alinux: { name: 'alinux', families: ['alinux'] },
  alibaba: { name: 'alinux', families: ['alinux'] },
  'alibaba-cloud-linux': { name: 'alinux', families: ['alinux'] },
  opencloudos: { name: 'opencloudos', families: ['opencloudos'] },
  tencentos: { name: 'tencentos', families: ['tencentos'] },
  tlinux: { name: 'tencentos', families: ['tencentos'] },
  kylin: { name: 'kylin', families: ['kylin'] },
  uos: { name: 'uos', families: ['uos'] },
  bclinux: { name: 'bclinux', families: ['bclinux'] },
  keyarchos: { name: 'keyarchos', families: ['keyarchos'] },
  cgsl: { name: 'cgsl', families: ['cgsl'] },
};

export const CHINA_SUPPORTED =
  'openEuler (5.10.0-136.12.0.86.oe2203sp1.x86_64, 4.19.90-2112.8.0.0131.oe1.x86_64), Anolis (5.10.134-13.an8.x86_64), Alibaba Cloud Linux (5.10.134-16.1.al8, 6.6.102-5.2.alnx4.x86_64), ' +
  'OpenCloudOS (6.6.117-45.oc9.x86_64, 5.4.119-19.0010.ocrelease.6), TencentOS (5.4.241-1-tlinux4-0017.7), Kylin (ky10), UOS (uel20), BCLinux (….oe1.bclinux.x86_64)';

/** How the packages of a release are named and where its vmlinux sits. */
type SourceStyle = 'debugsource' | 'common-arch' | 'common-noarch';

interface Dist {
  family: DistroFamily;
  major: number | null;
  /** Human name of the release the tag stands for. */
  label: string;
  source: SourceStyle;
}

/** Architectures these distributions build (RPM spelling): RHEL's plus loongarch64 and sw_64. */
const ARCHES = new Set([...RPM_ARCHES, 'loongarch64', 'sw_64']);

function distOf(tag: string): Dist | null {
  let m: RegExpExecArray | null;
  if (tag === 'oe1') return { family: 'openeuler', major: 20, label: 'openEuler 20.03 LTS (service pack not named by the tag)', source: 'debugsource' };
  if ((m = /^oe(\d\d)(\d\d)(?:sp(\d+))?$/.exec(tag)))
    return { family: 'openeuler', major: Number(m[1]), label: `openEuler ${m[1]}.${m[2]} LTS${m[3] ? ` SP${m[3]}` : ''}`, source: 'debugsource' };
  if ((m = /^an(\d+)$/.exec(tag))) return { family: 'anolis', major: Number(m[1]), label: `Anolis OS ${m[1]}`, source: 'common-arch' };
  if (tag === 'al7') return { family: 'alinux', major: 2, label: 'Alibaba Cloud Linux 2', source: 'common-arch' };
  if (tag === 'al8') return { family: 'alinux', major: 3, label: 'Alibaba Cloud Linux 3', source: 'common-arch' };
  if ((m = /^alnx(\d+)$/.exec(tag))) return { family: 'alinux', major: Number(m[1]), label: `Alibaba Cloud Linux ${m[1]}`, source: 'common-arch' };
  if ((m = /^oc(\d+)$/.exec(tag))) return { family: 'opencloudos', major: Number(m[1]), label: `OpenCloudOS ${m[1]}`, source: 'common-noarch' };
  if ((m = /^tl(\d+)$/.exec(tag))) return { family: 'tencentos', major: Number(m[1]), label: `TencentOS Server ${m[1]}`, source: 'common-noarch' };
  if ((m = /^ky(\d+)$/.exec(tag))) return { family: 'kylin', major: Number(m[1]), label: `Kylin Linux Advanced Server V${m[1]}`, source: 'debugsource' };
  if ((m = /^uel(\d+)$/.exec(tag))) return { family: 'uos', major: Number(m[1]), label: `UOS Server ${m[1]}`, source: 'debugsource' };
  if ((m = /^kos(\d+)$/.exec(tag))) return { family: 'keyarchos', major: Number(m[1]), label: `KeyarchOS ${m[1]} (Inspur, ANCK-based)`, source: 'common-arch' };
  if ((m = /^zncgsl(\d+)$/.exec(tag))) return { family: 'cgsl', major: Number(m[1]), label: `CGSL ${m[1]} (ZTE, ANCK-based)`, source: 'common-arch' };
  return null;
}

/** Naming facts this module keeps for wantedPackages and vmlinuxMemberPath. */
export interface ChinaNaming {
  base: string;
  pkgRelease: string;
  source: SourceStyle;
  /** The vmlinux is `/boot/vmlinux-<uname>` (tkernel, OpenCloudOS 8), not under /usr/lib/debug. */
  bootVmlinux: boolean;
}

function make(
  input: string,
  o: { uname: string; family: DistroFamily; dist: string; major: number | null; version: string; release: string; arch: string; variant: string | null; reason: string },
  n: ChinaNaming,
): RpmParse & { china: ChinaNaming } {
  const release: KernelRelease = {
    input,
    uname: o.uname,
    family: o.family,
    dist: o.dist,
    distMajor: o.major,
    version: o.version,
    release: o.release,
    arch: o.arch,
    variant: o.variant,
    packageVersion: null,
    distro: o.family,
    reason: o.reason,
  };
  return { release, naming: { base: n.base, pkgRelease: n.pkgRelease, distMinor: null, impliedDistro: o.family }, china: n };
}

/** Parse one of these distributions' strings; null when it is none of them. */
export function parseChinaRelease(input: string, opts: { arch?: string } = {}): (RpmParse & { china: ChinaNaming }) | null {
  const m = /^(\d+\.\d+(?:\.\d+)*)-(.+)$/.exec(input);
  if (!m) return null;
  const version = m[1]!;
  const rest = m[2]!;
  const defArch = normalizeRpmArch(opts.arch ?? 'x86_64');

  // tkernel tags: 5.4.241-1-tlinux4-0017.7 → kernel-tlinux4-…-5.4.241-1.0017.7.tl3 (TK4 builds
  // for TencentOS 3, TK3 for TencentOS 2: the RPM's dist is not in uname, UNVERIFIED).
  const tk = /^(\d+)-tlinux(\d+)-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)$/.exec(rest);
  if (tk) {
    const gen = Number(tk[2]);
    const tl = gen >= 4 ? 3 : 2;
    const base = gen >= 4 ? `kernel-tlinux${gen}` : 'kernel';
    return make(
      input,
      { uname: input, family: 'tencentos', dist: `tlinux${gen}`, major: tl, version, release: rest, arch: defArch, variant: null, reason: `the -tlinux${gen}- infix is a TencentOS tkernel tag (TK${gen}, packaged for TencentOS ${tl} as .tl${tl}); uname carries no arch` },
      { base, pkgRelease: `${tk[1]}.${tk[3]}.tl${tl}`, source: 'common-noarch', bootVmlinux: true },
    );
  }
  // The TK build system's own uname: 5.4.119-1.0007.tlinux4 (lib-version.sh), no arch.
  const tkn = /^(\d+\.\d+(?:\.[0-9A-Za-z]+)*)\.tlinux(\d+)$/.exec(rest);
  if (tkn) {
    const gen = Number(tkn[2]);
    return make(
      input,
      { uname: input, family: 'tencentos', dist: `tlinux${gen}`, major: 3, version, release: rest, arch: defArch, variant: null, reason: `the .tlinux${gen} suffix is a TencentOS kernel built by the TK build system; uname carries no arch` },
      { base: `kernel-tlinux${gen}`, pkgRelease: `${tkn[1]}.tl3`, source: 'common-noarch', bootVmlinux: true },
    );
  }
  // OpenCloudOS 8: 5.4.119-19.0010.ocrelease.6 → kernel-debuginfo-…-19.0010.ocrelease.6.oc8.<arch>.
  const oc = /^(\d+\.\d+\.ocrelease\.\d+)(?:\.([a-z0-9_]+))?$/.exec(rest);
  if (oc && (oc[2] === undefined || ARCHES.has(oc[2]))) {
    const arch = oc[2] ?? defArch;
    return make(
      input,
      { uname: input, family: 'opencloudos', dist: 'oc8', major: 8, version, release: oc[1]!, arch, variant: null, reason: 'the .ocrelease. infix is an OpenCloudOS 8 kernel (packaged as .oc8); uname carries no dist tag and no arch' },
      { base: 'kernel', pkgRelease: `${oc[1]}.oc8`, source: 'common-arch', bootVmlinux: true },
    );
  }

  let body = rest;
  let variant: string | null = null;
  const plus = body.indexOf('+');
  if (plus >= 0) {
    variant = body.slice(plus + 1);
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(variant)) return null;
    body = body.slice(0, plus);
  }
  const parts = body.split('.');
  if (parts.some((p) => p === '' || !/^[A-Za-z0-9_~]+$/.test(p))) return null;
  const archGiven = ARCHES.has(parts[parts.length - 1]!) ? parts.pop()! : null;
  const arch = archGiven ?? defArch;

  // BCLinux: `.bclinux` after openEuler's or RHEL's tag.
  if (parts.length >= 3 && parts[parts.length - 1] === 'bclinux') {
    const under = parts[parts.length - 2]!;
    const el = /^el(\d+)(?:_\d+)?$/.exec(under);
    if (under !== 'oe1' && !el) return null;
    const pkgRelease = parts.join('.');
    const what = el ? `RHEL ${el[1]}` : 'openEuler 20.03';
    return make(
      input,
      { uname: `${version}-${pkgRelease}.${arch}`, family: 'bclinux', dist: 'bclinux', major: el ? Number(el[1]) : null, version, release: pkgRelease, arch, variant, reason: `the .bclinux suffix after .${under} marks a BCLinux (BigCloud) rebuild of a ${what} kernel; its binaries are not ${what}'s` },
      { base: variant ? `kernel-${variant}` : 'kernel', pkgRelease, source: el ? 'common-arch' : 'debugsource', bootVmlinux: false },
    );
  }
  if (parts.length < 2) return null;
  const tag = parts[parts.length - 1]!;
  const d = distOf(tag);
  if (!d) return null;
  const pkgRelease = parts.join('.');
  let reason = `dist tag .${tag}: ${d.label}`;
  if (d.family === 'anolis' && d.major === 8) reason += `; ${anolisLine(version)}`;
  return make(
    input,
    { uname: `${version}-${pkgRelease}.${arch}${variant ? `+${variant}` : ''}`, family: d.family, dist: tag, major: d.major, version, release: pkgRelease, arch, variant, reason },
    { base: variant ? `kernel-${variant}` : 'kernel', pkgRelease, source: d.source, bootVmlinux: false },
  );
}

/** Anolis 8's `an8` covers two kernel lines; the version says which (and so which repository). */
export function anolisLine(version: string): string {
  if (version.startsWith('4.18.')) return 'kernel 4.18 is the RHEL-compatible kernel (RHCK, BaseOS)';
  if (version.startsWith('3.10.')) return 'kernel 3.10 is the RHEL-compatible kernel (RHCK)';
  return `kernel ${version.split('.').slice(0, 2).join('.')} is the Anolis Cloud Kernel (ANCK, Plus or kernel-5.10)`;
}

function namingOf(rel: KernelRelease): ChinaNaming {
  const p = parseChinaRelease(rel.uname, { arch: rel.arch });
  if (!p) throw new Error(`${rel.uname}: not a release of ${rel.family}`);
  return p.china;
}

/**
 * openEuler and its derivatives: one `kernel-debuginfo` and the sources in `kernel-debugsource`;
 * OpenCloudOS 9/TencentOS: `<rpm_name>-debuginfo-common` without arch; Anolis/Alinux:
 * `kernel-debuginfo-common-<arch>` (UNVERIFIED split; optional, so either answer works).
 */
export function chinaWantedPackages(rel: KernelRelease, opts: { source: boolean }): WantedPackage[] {
  const n = namingOf(rel);
  const evr = `${rel.version}-${n.pkgRelease}`;
  const name = `${n.base}-debuginfo`;
  const out: WantedPackage[] = [{ role: 'vmlinux', name, fileName: `${name}-${evr}.${rel.arch}.rpm`, evr, arch: rel.arch, kind: 'rpm', required: true }];
  if (opts.source) {
    const srcBase = rel.variant ? 'kernel' : n.base;
    const common = n.source === 'debugsource' ? `${srcBase}-debugsource` : n.source === 'common-noarch' ? `${srcBase}-debuginfo-common` : `${srcBase}-debuginfo-common-${rel.arch}`;
    out.push({ role: 'source', name: common, fileName: `${common}-${evr}.${rel.arch}.rpm`, evr, arch: rel.arch, kind: 'rpm', required: false });
  }
  return out;
}

/** Where the package puts the vmlinux (fetch also finds it elsewhere: verify's fallbacks). */
export function chinaVmlinuxPath(rel: KernelRelease): string {
  return namingOf(rel).bootVmlinux ? `boot/vmlinux-${rel.uname}` : `usr/lib/debug/lib/modules/${rel.uname}/vmlinux`;
}
