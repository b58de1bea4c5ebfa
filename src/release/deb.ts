// `uname -r` grammar of Debian and Ubuntu kernels (design/mirrors.md §1.2, §1.3):
//
//   Debian: ABINAME "-" FLAVOUR, ABINAME = X.Y.Z "-" N            (stable: 6.1.0-56)
//                                      | X.Y.Z "-0.deb" NN "." N  (backports to NN: 6.1.0-0.deb11.17)
//                                      | X.Y.Z "-0.bpo." N        (older backports)
//                                      | X.Y.Z "+bpo" | X.Y.Z "+deb" NN   (2024+: 6.10.6+bpo, 6.12.38+deb13)
//                                      | X.Y.Z                    (sid: 6.12.30)
//           FLAVOUR ends in a Debian arch name (amd64, cloud-amd64, rt-amd64, 686-pae, armmp, …)
//   Ubuntu: X.Y.Z "-" ABI "-" FLAVOUR, ABI numeric, FLAVOUR may contain "-" (generic-64k)
//
// Neither string carries the package version (Debian 6.1.192-2, Ubuntu 5.15.0-91.101): that
// comes from `uname -v`, --pkg-version or the archive index.

import type { KernelRelease } from '../core/types.js';

/** Debian kernel flavours (without the rt-/cloud- prefix) and the dpkg arch each builds for. */
const DEBIAN_FLAVOUR_ARCH: Readonly<Record<string, string>> = {
  amd64: 'amd64',
  arm64: 'arm64',
  'arm64-16k': 'arm64',
  '686': 'i386',
  '686-pae': 'i386',
  armmp: 'armhf',
  'armmp-lpae': 'armhf',
  marvell: 'armel',
  rpi: 'armel',
  powerpc64le: 'ppc64el',
  'powerpc64le-64k': 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  octeon: 'mips64el',
  'loongson-3': 'mips64el',
  '5kc-malta': 'mips64el',
  'mips64r2el': 'mips64el',
  'mips64r6el': 'mips64el',
  '4kc-malta': 'mipsel',
  'mips32r2el': 'mipsel',
  'mips32r6el': 'mipsel',
  sparc64: 'sparc64',
  parisc: 'hppa',
  'parisc64': 'hppa',
  alpha: 'alpha',
  'alpha-generic': 'alpha',
  m68k: 'm68k',
};

/** Debian stable kernel ABI series → Debian major release (for `dist`, informational). */
const DEBIAN_SERIES: Readonly<Record<string, number>> = {
  '3.2': 7,
  '3.16': 8,
  '4.9': 9,
  '4.19': 10,
  '5.10': 11,
  '6.1': 12,
  '6.12': 13,
};

export function normalizeDebArch(arch: string): string {
  if (arch === 'x86_64') return 'amd64';
  if (arch === 'aarch64') return 'arm64';
  if (arch === 'ppc64le') return 'ppc64el';
  if (arch === 'i686' || arch === 'i586') return 'i386';
  return arch;
}

/** The dpkg arch of a Debian flavour (`cloud-amd64` → amd64), or null when not a Debian flavour. */
export function debianFlavourArch(flavour: string): string | null {
  const bare = flavour.replace(/^(?:rt|cloud)-/, '');
  return DEBIAN_FLAVOUR_ARCH[bare] ?? null;
}

/** SUSE flavours never used by Ubuntu (Tumbleweed's `6.6.6-1-default` is Ubuntu-shaped). */
const SUSE_FLAVOURS = /^(default|kvmsmall|64kb|vanilla|zfcpdump|pae)$/;

const DEBIAN_RE = /^(\d+\.\d+(?:\.\d+)?)(?:-(\d+)|-(0\.deb(\d+)\.\d+)|-(0\.bpo\.\d+)|\+(bpo|deb(\d+)))?-([a-z0-9]+(?:-[a-z0-9]+)*)$/;
const UBUNTU_RE = /^(\d+\.\d+\.\d+)-(\d+)-([a-z][a-z0-9]*(?:-[a-z0-9]+)*)$/;

/**
 * Parse a Debian release. `anyFlavour` (from --distro debian) accepts flavours kdbg does not
 * know, taking the arch from the caller.
 */
export function parseDebianRelease(input: string, opts: { arch?: string; anyFlavour?: boolean; packageVersion?: string } = {}): KernelRelease | null {
  const m = DEBIAN_RE.exec(input);
  if (!m) return null;
  const version = m[1]!;
  const flavour = m[8]!;
  const flavourArch = debianFlavourArch(flavour);
  if (flavourArch === null && !opts.anyFlavour) return null;
  let dist: string;
  let distMajor: number | null;
  let release: string;
  if (m[2] !== undefined) {
    release = m[2];
    const series = /^(\d+\.\d+)/.exec(version)![1]!;
    distMajor = DEBIAN_SERIES[series] ?? null;
    dist = distMajor === null ? 'debian' : `deb${distMajor}`;
  } else if (m[3] !== undefined) {
    release = m[3];
    distMajor = Number(m[4]);
    dist = `deb${distMajor}`;
  } else if (m[5] !== undefined) {
    release = m[5];
    distMajor = null;
    dist = 'bpo';
  } else if (m[6] !== undefined) {
    release = m[6];
    distMajor = m[7] !== undefined ? Number(m[7]) : null;
    dist = m[6];
  } else {
    release = '';
    distMajor = null;
    dist = 'sid';
  }
  const arch = opts.arch !== undefined ? normalizeDebArch(opts.arch) : (flavourArch ?? 'amd64');
  return { input, uname: input, family: 'debian', dist, distMajor, version, release, arch, variant: flavour, packageVersion: opts.packageVersion ?? null };
}

/** Parse an Ubuntu release; flavours that are Debian flavours are refused (they are Debian). */
export function parseUbuntuRelease(input: string, opts: { arch?: string; anyFlavour?: boolean; packageVersion?: string } = {}): KernelRelease | null {
  const m = UBUNTU_RE.exec(input);
  if (!m) return null;
  const flavour = m[3]!;
  if (!opts.anyFlavour && (debianFlavourArch(flavour) !== null || SUSE_FLAVOURS.test(flavour))) return null;
  let arch: string;
  if (opts.arch !== undefined) arch = normalizeDebArch(opts.arch);
  else if (/(^|-)64k$/.test(flavour) || flavour === 'raspi' || flavour.startsWith('raspi-')) arch = 'arm64';
  else if (/lpae$/.test(flavour)) arch = 'armhf';
  else arch = 'amd64';
  return {
    input,
    uname: input,
    family: 'ubuntu',
    dist: 'ubuntu',
    distMajor: null,
    version: m[1]!,
    release: m[2]!,
    arch,
    variant: flavour,
    packageVersion: opts.packageVersion ?? null,
  };
}
