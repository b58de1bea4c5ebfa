// Kernel release strings → a typed KernelRelease → the debug packages that hold vmlinux (and
// sources) → the vmlinux path inside them. Distro knowledge lives here and in resolve/ only.

import { UsageError } from '../core/errors.js';
import type { DistroFamily, KernelRelease, WantedPackage } from '../core/types.js';
import { normalizeDebArch, parseDebianRelease, parseUbuntuRelease } from './deb.js';
import { normalizeRpmArch, parseRpmRelease as parseRpmOnly, type RpmNaming } from './rpm.js';
import { CHINA_DISTROS, CHINA_SUPPORTED, chinaVmlinuxPath, chinaWantedPackages, isChinaFamily, parseChinaRelease } from './china.js';
import { parseSuseRelease, suseDebugMember, wantedSusePackages } from './suse.js';

export { compareEvr, rpmvercmp } from './rpmvercmp.js';
export { normalizeDebArch } from './deb.js';
export { normalizeRpmArch, UEK_MAJOR, type RpmNaming } from './rpm.js';
export { suseImageMembers, suseLeapVersion } from './suse.js';
export { anolisLine, isChinaFamily } from './china.js';

/** The RPM grammars: the Chinese CentOS successors first (BCLinux's `.el8_2.bclinux`), then RHEL's. */
function parseRpmRelease(s: string, opts: { arch?: string }): ReturnType<typeof parseRpmOnly> {
  return parseChinaRelease(s, opts) ?? parseRpmOnly(s, opts);
}

/** --distro names kdbg accepts, their canonical spelling and the families they can mean. */
const DISTROS: Readonly<Record<string, { name: string; families: DistroFamily[] }>> = {
  centos: { name: 'centos', families: ['rhel'] },
  'centos-stream': { name: 'centos', families: ['rhel'] },
  rhel: { name: 'rhel', families: ['rhel'] },
  redhat: { name: 'rhel', families: ['rhel'] },
  rocky: { name: 'rocky', families: ['rhel'] },
  alma: { name: 'alma', families: ['rhel'] },
  almalinux: { name: 'alma', families: ['rhel'] },
  oracle: { name: 'oracle', families: ['rhel', 'oracle-uek'] },
  ol: { name: 'oracle', families: ['rhel', 'oracle-uek'] },
  oraclelinux: { name: 'oracle', families: ['rhel', 'oracle-uek'] },
  fedora: { name: 'fedora', families: ['fedora'] },
  amazon: { name: 'amazon', families: ['amazon'] },
  amzn: { name: 'amazon', families: ['amazon'] },
  amazonlinux: { name: 'amazon', families: ['amazon'] },
  debian: { name: 'debian', families: ['debian'] },
  ubuntu: { name: 'ubuntu', families: ['ubuntu'] },
  suse: { name: 'suse', families: ['suse'] },
  sles: { name: 'suse', families: ['suse'] },
  sle: { name: 'suse', families: ['suse'] },
  opensuse: { name: 'suse', families: ['suse'] },
  leap: { name: 'suse', families: ['suse'] },
  tumbleweed: { name: 'suse', families: ['suse'] },
  ...CHINA_DISTROS,
};

export const SUPPORTED_FAMILIES =
  'RHEL/CentOS/Rocky/Alma/Oracle RHCK (3.10.0-327.el7.x86_64, 4.18.0-348.7.1.el8_5.x86_64+debug), Oracle UEK (5.4.17-2136.300.7.el8uek.x86_64), ' +
  'Fedora (6.5.6-300.fc39.x86_64), Amazon Linux (4.14.355-271.569.amzn2.x86_64), Debian (6.1.0-56-amd64), Ubuntu (5.15.0-91-generic), SUSE (5.14.21-150500.55.39-default)' +
  `, ${CHINA_SUPPORTED}`;

export interface ParseReleaseOptions {
  /** Architecture when the string has none (--arch); RPM or dpkg spelling. */
  arch?: string;
  /** Distribution name (--distro): centos, rhel, rocky, alma, oracle, fedora, amazon, debian, ubuntu. */
  distro?: string;
  /** Debian/Ubuntu package version `uname -r` lacks (--pkg-version, or from a dump banner). */
  packageVersion?: string;
}

/** Parse a `uname -r` style string. Throws UsageError naming what was understood. */
export function parseRelease(input: string, opts: ParseReleaseOptions = {}): KernelRelease {
  const s = input.trim();
  let distro: { name: string; families: DistroFamily[] } | undefined;
  if (opts.distro !== undefined) {
    distro = DISTROS[opts.distro.toLowerCase()];
    if (!distro) throw new UsageError(`--distro ${opts.distro}: unknown distribution; known: ${[...new Set(Object.values(DISTROS).map((d) => d.name))].join(', ')}`);
  }
  if (s === '') throw new UsageError(`empty kernel release; supported families: ${SUPPORTED_FAMILIES}`);
  const want = (f: DistroFamily): boolean => !distro || distro.families.includes(f);

  const rpm = parseRpmRelease(s, opts.arch !== undefined ? { arch: opts.arch } : {});
  if (rpm) {
    const rel = rpm.release;
    if (!want(rel.family)) throw new UsageError(`kernel release ${s} is ${describeFamily(rel)}, not ${distro!.name} (--distro ${opts.distro})`);
    if (opts.arch !== undefined && normalizeRpmArch(opts.arch) !== rel.arch)
      throw new UsageError(`kernel release ${s} names arch ${rel.arch} but --arch is ${opts.arch}`);
    const hint = distro?.name ?? rpm.naming.impliedDistro;
    if (hint) rel.distro = hint;
    rel.reason ??= `dist tag .${rel.dist}: ${describeFamily(rel)}`;
    return rel;
  }
  const debOpts = {
    ...(opts.arch !== undefined ? { arch: opts.arch } : {}),
    ...(opts.packageVersion !== undefined ? { packageVersion: opts.packageVersion } : {}),
  };
  if (want('debian')) {
    const rel = parseDebianRelease(s, { ...debOpts, anyFlavour: distro?.name === 'debian' });
    if (rel) {
      rel.distro = 'debian';
      rel.reason = `the flavour ${rel.variant ?? ''} and ABI form are Debian's`;
      return rel;
    }
  }
  if (want('ubuntu')) {
    const rel = parseUbuntuRelease(s, { ...debOpts, anyFlavour: distro?.name === 'ubuntu' });
    if (rel) {
      rel.distro = 'ubuntu';
      rel.reason = `X.Y.Z-N-${rel.variant ?? 'flavour'} is Ubuntu's form`;
      return rel;
    }
  }
  // After Ubuntu: `6.8.0-31-azure` is Ubuntu's linux-azure; SUSE's azure kernels have SLE releases.
  if (want('suse')) {
    const suse = parseSuseRelease(s, opts.arch !== undefined ? { arch: normalizeRpmArch(opts.arch) } : {});
    if (suse) {
      if (distro) suse.release.distro = distro.name;
      return suse.release;
    }
  }
  throw new UsageError(`cannot parse kernel release "${s}": ${understood(s)}; supported: ${SUPPORTED_FAMILIES}`, {
    details: { input: s },
    hint: 'give the full `uname -r` string; --distro and --arch help with ambiguous ones',
  });
}

function describeFamily(rel: KernelRelease): string {
  switch (rel.family) {
    case 'rhel':
      return `a RHEL-family kernel (${rel.dist})`;
    case 'oracle-uek':
      return `an Oracle UEK kernel (${rel.dist})`;
    case 'fedora':
      return `a Fedora kernel (${rel.dist})`;
    case 'amazon':
      return `an Amazon Linux kernel (${rel.dist})`;
    case 'suse':
      return `a SUSE kernel (${rel.dist})`;
    default:
      return rel.reason ? `a kernel of ${rel.family} (${rel.reason})` : `a ${rel.family} kernel`;
  }
}

/** A short account of what the parser could make of an unparseable string. */
function understood(s: string): string {
  const m = /^(\d+\.\d+(?:\.\d+)*)([-+].*)?$/.exec(s);
  if (!m) return 'it does not start with a kernel version X.Y.Z';
  const rest = m[2] ?? '';
  if (rest === '') return `understood version ${m[1]} but nothing after it (no release, dist tag or flavour)`;
  if (/-\d+(\.\d+)*-(default|azure|kvmsmall|preempt|64kb|vanilla|zfcpdump|rt)$/.test(s))
    return `understood version ${m[1]}; the form VERSION-N.N-FLAVOR looks like SUSE but is not VERSION-SOURCE_REL-FLAVOR (e.g. 5.14.21-150500.55.39-default)`;
  const tail = rest.slice(1);
  const dist = /(?:^|\.)(el\d+(?:_\d+)?(?:uek|ueknext)?|fc\d+|amzn2(?:023)?)(?:\.(.*))?$/.exec(tail.split('+')[0]!);
  if (dist) {
    return `understood version ${m[1]} and dist tag ${dist[1]}, but not what follows it ("${dist[2] ?? ''}${tail.includes('+') ? tail.slice(tail.indexOf('+')) : ''}"; expected .ARCH, .ARCH.debug or .ARCH+VARIANT with ARCH one of x86_64, aarch64, ppc64le, s390x, i686, …)`;
  }
  const last = tail.split(/[.-]/).pop() ?? '';
  return `understood version ${m[1]} and release "${tail}", but found no known dist tag (elN, elN_M, elNuek, fcNN, amzn2, amzn2023, oe1, oeYYMM[spN], anN, al7, al8, alnxN, ocN, tlN, kyN, uelN) and "${last}" is not a known Debian or Ubuntu flavour`;
}

/** Naming facts of an RPM-family release (re-derived from its uname): package base, minor, … */
export function rpmNaming(rel: KernelRelease): RpmNaming {
  const p = parseRpmRelease(rel.uname, { arch: rel.arch });
  if (!p) throw new UsageError(`${rel.uname}: not an RPM-family kernel release`);
  return p.naming;
}

/** The RPM package-name part a variant adds: `-debug`, `-64k`, `-rt-debug`; UEK's `64k` is glued. */
function variantInfix(rel: KernelRelease): string {
  const v = rel.variant;
  if (!v) return '';
  if (rel.family === 'oracle-uek') {
    // kernel-uek.spec builds its aarch64 64k/emb3 kernels with `-o`, naming them kernel-uek64k….
    const m = /^(64k|emb3|container)(debug)?$/.exec(v);
    if (m) return `${m[1]}${m[2] ? '-debug' : ''}`;
  }
  // el5 glues `PAEdebug`/`xendebug`; the packages are kernel-PAE-debug, kernel-xen-debug.
  const el5 = /^(PAE|xen)debug$/.exec(v);
  if (el5) return `-${el5[1]}-debug`;
  return `-${v}`;
}

export interface WantedOptions {
  /** Also want the sources (`-debuginfo-common`); optional: missing is a warning. */
  source: boolean;
  /** Module debug files live in the same debuginfo package; accepted for symmetry, adds nothing. */
  modules?: boolean;
}

/** The packages to look for, vmlinux first. */
export function wantedPackages(rel: KernelRelease, opts: WantedOptions): WantedPackage[] {
  if (rel.family === 'debian' || rel.family === 'ubuntu') return wantedDebPackages(rel);
  if (rel.family === 'suse') return wantedSusePackages(rel, opts);
  if (isChinaFamily(rel.family)) return chinaWantedPackages(rel, opts);
  const naming = rpmNaming(rel);
  const evr = `${rel.version}-${naming.pkgRelease}`;
  const name = `${naming.base}${variantInfix(rel)}-debuginfo`;
  const out: WantedPackage[] = [
    { role: 'vmlinux', name, fileName: `${name}-${evr}.${rel.arch}.rpm`, evr, arch: rel.arch, kind: 'rpm', required: true },
  ];
  if (opts.source) {
    // UEK names its common package without the arch (kernel-uek.spec: debuginfo-common); so did
    // el5. Everyone else: <base>-debuginfo-common-<arch>. A `+rt` variant of `kernel` (el9.3+)
    // shares kernel's common package.
    const common =
      rel.family === 'oracle-uek' || rel.dist === 'el5' || rel.dist === 'el4' ? `${naming.base}-debuginfo-common` : `${naming.base}-debuginfo-common-${rel.arch}`;
    out.push({ role: 'source', name: common, fileName: `${common}-${evr}.${rel.arch}.rpm`, evr, arch: rel.arch, kind: 'rpm', required: false });
  }
  return out;
}

function stripEpoch(v: string): string {
  const c = v.indexOf(':');
  return c >= 0 ? v.slice(c + 1) : v;
}

function wantedDebPackages(rel: KernelRelease): WantedPackage[] {
  const arch = normalizeDebArch(rel.arch);
  const pv = rel.packageVersion;
  const mk = (name: string, ext: 'deb' | 'ddeb', required: boolean): WantedPackage => ({
    role: 'vmlinux',
    name,
    fileName: pv ? `${name}_${stripEpoch(pv)}_${arch}.${ext}` : null,
    evr: pv,
    arch,
    kind: 'deb',
    required,
  });
  if (rel.family === 'debian') return [mk(`linux-image-${rel.uname}-dbg`, 'deb', true)];
  // Ubuntu: the unsigned dbgsym holds the vmlinux for signed kernels; the signed-name dbgsym is
  // the real one only for unsigned kernels (old, aws 4.4, raspi) and is a tiny stub otherwise.
  // The second entry is an alternative to the first, hence not required on its own.
  return [mk(`linux-image-unsigned-${rel.uname}-dbgsym`, 'ddeb', true), mk(`linux-image-${rel.uname}-dbgsym`, 'ddeb', false)];
}

/** Path of the vmlinux inside the debug package, without a leading `./` or `/`. */
export function vmlinuxMemberPath(rel: KernelRelease): string {
  if (rel.family === 'debian' || rel.family === 'ubuntu') return `usr/lib/debug/boot/vmlinux-${rel.uname}`;
  if (rel.family === 'suse') return suseDebugMember(rel);
  if (isChinaFamily(rel.family)) return chinaVmlinuxPath(rel);
  return `usr/lib/debug/lib/modules/${rel.uname}/vmlinux`;
}
