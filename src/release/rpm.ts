// `uname -r` grammar of the RPM family: RHEL and its rebuilds (elN, elN_M), Oracle RHCK (extra
// `.0.N`) and UEK (elNuek, elNueknext), Fedora (fcNN), Amazon Linux (amzn2, amzn2023). Facts
// from design/mirrors.md §1.1 and §2.1–2.5:
//
//   uname   := VERSION "-" RELEASE [ "." ARCH ] [ VARIANT_SUFFIX ]
//   suffix  := "." variant   (el6/el7/UEK: `3.10.0-1127.el7.x86_64.debug`)
//            | "+" variant   (el8+/Fedora: `4.18.0-228.el8.x86_64+debug`, `+64k`, `+rt-debug`)
//   el5     := the variant is glued to the dist tag and there is no arch (`2.6.18-274.el5xen`)
//   kernel-rt (el7, el8, el9 ≤ 9.2): `.rtN.M` inside RELEASE → package base `kernel-rt`
//
// The arch may be missing (`3.10.0-327.el7`): the caller's --arch, else x86_64.

import type { DistroFamily, KernelRelease } from '../core/types.js';

/** RPM architectures kdbg recognises as the last dot-field of a release. */
export const RPM_ARCHES = new Set(['x86_64', 'aarch64', 'ppc64le', 'ppc64', 's390x', 'i686', 'i586', 'i386', 'armv7hl', 'riscv64']);

/** Variants written with a dot after the arch (el6/el7 and UEK). */
const DOT_VARIANTS = new Set(['debug', 'trace', 'kdump', 'xen', 'PAE', '64k', '64kdebug', 'emb3', 'emb3debug', 'container', 'containerdebug']);

/** el5 variants glued to the dist tag (`el5xen`, `el5debug`, `el5PAE`). */
const GLUED = /^el([45])(xen|debug|PAE|PAE-debug|PAEdebug|kdump|xendebug|smp|hugemem|largesmp)$/;

/** Dist-tag components: el8, el8_5, el9uek, el9ueknext, fc39, amzn2, amzn2023. */
const DIST = /^(?:el(\d+)(?:_(\d+))?(uek|ueknext)?|fc(\d+)|amzn(2|2023))$/;

/** Oracle UEK major by kernel VERSION (drgn-tools' table); anything else on elNuek is UEK-next. */
export const UEK_MAJOR: Readonly<Record<string, number>> = {
  '2.6.32': 1,
  '2.6.39': 2,
  '3.8.13': 3,
  '4.1.12': 4,
  '4.14.35': 5,
  '5.4.17': 6,
  '5.15.0': 7,
  '6.12.0': 8,
};

/** How the package names are built; internal to release/ (wantedPackages reads it). */
export interface RpmNaming {
  /** `kernel`, `kernel-rt`, `kernel-uek`, `kernel-ueknext`, `kernel-plus`, `kernel6.12`. */
  base: string;
  /** RPM release as in the package file name (el5: without the glued variant). */
  pkgRelease: string;
  /** Minor release of elN_M, else null (used for vault paths like 9.2). */
  distMinor: number | null;
  /** Distribution the string itself names (oracle for UEK or `.0.N` RHCK, centos for centos.plus). */
  impliedDistro: string | null;
}

export interface RpmParse {
  release: KernelRelease;
  naming: RpmNaming;
}

export function normalizeRpmArch(arch: string): string {
  if (arch === 'amd64') return 'x86_64';
  if (arch === 'arm64') return 'aarch64';
  if (arch === 'ppc64el') return 'ppc64le';
  return arch;
}

/**
 * Parse an RPM-family release. Returns null when the string does not carry an RPM dist tag
 * (the caller then tries the other families and builds the error message).
 */
export function parseRpmRelease(input: string, opts: { arch?: string } = {}): RpmParse | null {
  const m = /^(\d+\.\d+(?:\.\d+)*)-(.+)$/.exec(input);
  if (!m) return null;
  const version = m[1]!;
  let rest = m[2]!;
  let variant: string | null = null;
  let variantSep: '+' | '.' | 'glued' | null = null;

  const plus = rest.indexOf('+');
  if (plus >= 0) {
    const v = rest.slice(plus + 1);
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(v)) return null;
    variant = v;
    variantSep = '+';
    rest = rest.slice(0, plus);
  }
  const parts = rest.split('.');
  if (parts.some((p) => p === '' || !/^[A-Za-z0-9_~-]+$/.test(p))) return null;

  let arch: string | null = null;
  const n = parts.length;
  if (variant === null && n >= 3 && RPM_ARCHES.has(parts[n - 2]!) && DOT_VARIANTS.has(parts[n - 1]!)) {
    variant = parts.pop()!;
    variantSep = '.';
  }
  if (RPM_ARCHES.has(parts[parts.length - 1]!)) arch = parts.pop()!;
  const archGiven = arch !== null;

  // Find the dist tag; it is usually the last component but centos.plus and UEK test builds
  // (`testingspecial.el9uek.rc1`) put text after it.
  let distIdx = -1;
  let glued: RegExpExecArray | null = null;
  for (let k = parts.length - 1; k >= 1; k--) {
    if (DIST.test(parts[k]!)) {
      distIdx = k;
      break;
    }
    const g = GLUED.exec(parts[k]!);
    if (g && k === parts.length - 1 && variant === null) {
      distIdx = k;
      glued = g;
      break;
    }
  }
  // UEK test builds may have nothing numeric before the dist tag; the index-0 component can
  // still be a dist tag only if something precedes it in RELEASE, which it cannot.
  if (distIdx < 0) return null;

  let dist: string;
  let distMajor: number;
  let distMinor: number | null = null;
  let family: DistroFamily;
  let base = 'kernel';
  let impliedDistro: string | null = null;
  const pkgParts = [...parts];

  if (glued) {
    dist = `el${glued[1]}`;
    distMajor = Number(glued[1]);
    variant = glued[2]!;
    variantSep = 'glued';
    pkgParts[distIdx] = dist;
    family = 'rhel';
  } else {
    const d = DIST.exec(parts[distIdx]!)!;
    dist = parts[distIdx]!;
    if (d[1] !== undefined) {
      distMajor = Number(d[1]);
      distMinor = d[2] !== undefined ? Number(d[2]) : null;
      if (d[3]) {
        family = 'oracle-uek';
        impliedDistro = 'oracle';
        // Early UEK-next builds (6.8.0) were tagged elNuek; drgn-tools treats them as UEK-next.
        base = d[3] === 'ueknext' || (UEK_MAJOR[version] === undefined && version === '6.8.0') ? 'kernel-ueknext' : 'kernel-uek';
      } else {
        family = 'rhel';
      }
    } else if (d[4] !== undefined) {
      distMajor = Number(d[4]);
      family = 'fedora';
    } else {
      distMajor = Number(d[5]);
      family = 'amazon';
      // AL2023 ships newer kernels as kernel6.12 etc.; nothing in uname says so, the default
      // AL2023 kernel is 6.1 (mirrors.md §1.5: a heuristic by VERSION major.minor).
      const mm = /^(\d+\.\d+)/.exec(version)![1]!;
      if (distMajor === 2023 && mm !== '6.1') base = `kernel${mm}`;
    }
  }

  const before = parts.slice(0, distIdx);
  const after = parts.slice(distIdx + 1);
  if (family === 'rhel') {
    if (after.join('.') === 'centos.plus') {
      base = 'kernel-plus';
      impliedDistro = 'centos';
    } else if (after.length > 0) {
      return null;
    }
    // Oracle's RHCK rebuilds append `.0.N` to Red Hat's release (284.25.1.0.1.el9_2).
    if (before.length >= 3 && before[before.length - 2] === '0' && /^\d+$/.test(before[before.length - 1]!)) impliedDistro ??= 'oracle';
  } else if (family !== 'oracle-uek' && after.length > 0) {
    return null;
  }
  // kernel-rt: an `rtN` component before the dist tag.
  if (before.some((p) => /^rt\d+$/.test(p))) base = base === 'kernel' ? 'kernel-rt' : base;

  // The string's own arch wins; parseRelease reports a conflicting --arch.
  // el5's PAE kernels only exist for i686.
  if (!archGiven) arch = normalizeRpmArch(opts.arch ?? (variant?.startsWith('PAE') ? 'i686' : 'x86_64'));

  const release = parts.join('.');
  const pkgRelease = pkgParts.join('.');
  let uname: string;
  if (variantSep === 'glued') uname = `${version}-${release}`; // el5 uname has no arch
  else if (dist === 'el5' || dist === 'el4') uname = archGiven ? `${version}-${release}.${arch!}` : `${version}-${release}`;
  else uname = `${version}-${release}.${arch!}${variant ? (variantSep === '+' ? `+${variant}` : `.${variant}`) : ''}`;

  return {
    release: {
      input,
      uname,
      family,
      dist,
      distMajor,
      version,
      release: pkgRelease,
      arch: arch!,
      variant,
      packageVersion: null,
    },
    naming: { base, pkgRelease, distMinor, impliedDistro },
  };
}
