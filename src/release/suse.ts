// `uname -r` grammar of the SUSE family: SLES 12/15, openSUSE Leap, Tumbleweed. Facts from
// design/mirrors.md §1.4 and §2.6:
//
//   uname   := VERSION "-" SOURCE_REL "-" FLAVOR      (CONFIG_LOCALVERSION=-%source_rel-%build_flavor)
//              5.14.21-150500.55.39-default, 5.3.18-57-default, 5.3.18-lp152.19-default, 6.6.6-1-default
//   package := kernel-FLAVOR[-debuginfo|-debugsource]-VERSION-SOURCE_REL.BUILDCOUNTER.ARCH.rpm
//
// The OBS build counter (the last `.N` of the RPM release) is not in `uname -r`, so packages are
// matched by release prefix. The RPM-version form with the counter (`5.3.18-150300.59.43.1-default`,
// seen in btfhub's archive) is accepted: for SLE 15's `1X0Y00.` source releases a fourth
// component can only be the counter, and is dropped.
//
// A SUSE debuginfo package holds `/usr/lib/debug/boot/vmlinux-<uname>.debug` (objcopy
// --only-keep-debug: DWARF and symbols, no code); crash also needs the stripped image, which the
// main `kernel-FLAVOR` package carries as `/boot/vmlinux-<uname>.{xz,gz}`.

import type { KernelRelease, WantedPackage } from '../core/types.js';

/** Kernel flavours SUSE builds (kernel-source's config/<arch>/<flavor>). */
export const SUSE_FLAVORS = new Set(['default', 'azure', 'rt', 'rt_debug', '64kb', 'kvmsmall', 'preempt', 'debug', 'vanilla', 'zfcpdump', 'lpae', 'pae', 'kvmsmall', 'cloud']);

/** SLE 15's source releases start with 150<SP>00 (150300 = SP3) since SP3's maintenance updates. */
const SLE15_SP = /^1([5-9])0(\d)00$/;

export interface SuseParse {
  release: KernelRelease;
  /** Source release as in `uname -r` (no build counter). */
  sourceRel: string;
}

function label(sourceRel: string): { dist: string; distMajor: number | null } {
  const first = sourceRel.split('.')[0]!;
  const sle = SLE15_SP.exec(first);
  if (sle) return { dist: `sle1${sle[1]}sp${sle[2]}`, distMajor: Number(`1${sle[1]}`) };
  const lp = /^lp(\d\d)(\d)$/.exec(first);
  if (lp) return { dist: `leap${lp[1]}.${lp[2]}`, distMajor: Number(lp[1]) };
  // Tumbleweed rebuilds from 1 for each upstream version (6.6.6-1); SLE's releases (57, 122.37) do not.
  if (/^[1-9]$/.test(sourceRel)) return { dist: 'tumbleweed', distMajor: null };
  return { dist: 'sle', distMajor: null };
}

/** Parse a SUSE release; null when the string is not VERSION-SOURCE_REL-FLAVOR with a known flavour. */
export function parseSuseRelease(input: string, opts: { arch?: string } = {}): SuseParse | null {
  const m = /^(\d+\.\d+(?:\.\d+)?)-((?:lp\d+\.)?\d+(?:\.\d+)*)-([a-z0-9_]+)$/.exec(input);
  if (!m) return null;
  const version = m[1]!;
  const flavor = m[3]!;
  if (!SUSE_FLAVORS.has(flavor)) return null;
  let parts = m[2]!.split('.');
  // 150300.59.43.1: SLE 15's source release has three parts; a fourth is the OBS build counter.
  if (SLE15_SP.test(parts[0]!) && parts.length > 3) parts = parts.slice(0, 3);
  const sourceRel = parts.join('.');
  const l = label(sourceRel);
  const arch = opts.arch ?? 'x86_64';
  const uname = `${version}-${sourceRel}-${flavor}`;
  return {
    release: { input, uname, family: 'suse', dist: l.dist, distMajor: l.distMajor, version, release: sourceRel, arch, variant: flavor, packageVersion: null },
    sourceRel,
  };
}

/**
 * The packages of a SUSE release: the debuginfo (the .debug file), the main kernel package (the
 * stripped image crash needs beside it) and, for sources, the debugsource package. Their RPM
 * release is SOURCE_REL plus a build counter, hence `evrPrefix` and no file name.
 */
export function wantedSusePackages(rel: KernelRelease, opts: { source: boolean }): WantedPackage[] {
  const flavor = rel.variant ?? 'default';
  const evrPrefix = `${rel.version}-${rel.release}`;
  const mk = (role: WantedPackage['role'], name: string, required: boolean): WantedPackage => ({ role, name, fileName: null, evr: null, evrPrefix, arch: rel.arch, kind: 'rpm', required });
  const out = [mk('vmlinux', `kernel-${flavor}-debuginfo`, true), mk('image', `kernel-${flavor}`, true)];
  if (opts.source) out.push(mk('source', `kernel-${flavor}-debugsource`, false));
  return out;
}

/** The debug file inside kernel-FLAVOR-debuginfo. */
export function suseDebugMember(rel: KernelRelease): string {
  return `usr/lib/debug/boot/vmlinux-${rel.uname}.debug`;
}

/** Where the main package may keep the stripped image, most likely first (x86_64: .xz on newer, .gz on older). */
export function suseImageMembers(rel: KernelRelease): string[] {
  return ['xz', 'gz', 'zst'].map((e) => `boot/vmlinux-${rel.uname}.${e}`).concat(`boot/vmlinux-${rel.uname}`);
}

/** The openSUSE Leap release whose debug update tree carries this SLE 15 kernel (`15.5`), or null. */
export function suseLeapVersion(rel: KernelRelease): string | null {
  const m = /^(?:sle(\d+)sp(\d+)|leap(\d+)\.(\d+))$/.exec(rel.dist);
  if (!m) return null;
  return m[1] !== undefined ? `${m[1]}.${m[2]}` : `${m[3]}.${m[4]}`;
}
