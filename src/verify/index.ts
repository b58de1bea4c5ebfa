// The verify stage: does this vmlinux belong to this dump? Checked before crash runs, because
// crash with the wrong vmlinux either refuses late ("do not match!", after a 15 s load) or, worse,
// prints plausible nonsense. Evidence compared:
//   - the vmlinux's `linux_banner` (symbol table → .rodata bytes) against the dump's banner and
//     VMCOREINFO OSRELEASE;
//   - the vmlinux's GNU build-id note against VMCOREINFO BUILD-ID (kernels ≥ 5.9), except where
//     that value is known to be wrong (stable ranges with a garbage BUILD-ID, old UEK builds).
// Only positioned reads are used: a 633 MB vmlinux costs a few MB of I/O.

import { open, stat } from 'node:fs/promises';
import { cString } from '../core/byte-source.js';
import { InputNotFoundError, MismatchError } from '../core/errors.js';
import type { DumpIdentity } from '../core/types.js';
import { findGnuBuildId, parseNotes, readElfTables, SHT_NOTE } from '../formats/elf.js';
import type { ElfTables } from '../formats/elf.js';
import { findSymbols, readSymbolBytes } from '../formats/elf-symbols.js';
import type { RandomAccess } from '../core/byte-source.js';
import { FileRandomAccess } from '../core/file-access.js';

/** What a vmlinux says about itself. */
export interface VmlinuxIdentity {
  path: string;
  /** `linux_banner` without the trailing newline, or null (stripped, or a debug-only file). */
  banner: string | null;
  /** The token after "Linux version " in the banner. */
  release: string | null;
  /** GNU build-id note, lowercase hex. */
  buildId: string | null;
  /** Why banner or build-id could not be read, for the report. */
  notes: string[];
}

export type CheckKind = 'release' | 'banner' | 'build-id';
export type CheckStatus = 'match' | 'mismatch' | 'skipped' | 'unavailable';

export interface MatchCheck {
  kind: CheckKind;
  status: CheckStatus;
  dump: string | null;
  vmlinux: string | null;
  /** Why skipped/unavailable. */
  note: string | null;
}

export interface MatchResult {
  /** No check mismatched (skipped/unavailable checks do not fail). */
  ok: boolean;
  /** At least one check actually compared two values and agreed. */
  verified: boolean;
  forced: boolean;
  checks: MatchCheck[];
  warnings: string[];
}

/** The dump facts verify needs (a DumpIdentity, or a subset of it). */
export type DumpFacts = Pick<DumpIdentity, 'release' | 'buildId' | 'banner'> & { packageVersion?: string | null };

const BANNER_PREFIX = 'Linux version ';
/** linux_banner is ~200 bytes; read this much when st_size is 0. */
const BANNER_READ = 1024;

export function releaseFromBanner(banner: string): string | null {
  const i = banner.indexOf(BANNER_PREFIX);
  if (i === -1) return null;
  const rest = banner.slice(i + BANNER_PREFIX.length);
  const tok = rest.split(/\s/, 1)[0] ?? '';
  return tok === '' ? null : tok;
}

/** Read `linux_banner` and the build-id of an ELF vmlinux through positioned reads. */
export async function readVmlinuxIdentityFrom(src: RandomAccess, path: string): Promise<VmlinuxIdentity> {
  const tables = await readElfTables(src);
  const notes: string[] = [];
  const buildId = await buildIdFromSections(src, tables);
  if (buildId === null) notes.push('no GNU build-id note');
  let banner: string | null = null;
  const syms = (await findSymbols(src, tables, 'linux_banner')).filter((s) => s.st_shndx !== 0);
  const sym = syms[0];
  if (sym === undefined) {
    notes.push('no linux_banner symbol (stripped vmlinux?)');
  } else {
    // st_size covers the string and its NUL; some toolchains emit 0, then read a bounded window.
    const b = await readSymbolBytes(src, tables, sym, sym.st_size > 0 && sym.st_size <= BANNER_READ ? sym.st_size : BANNER_READ);
    if (b === null) notes.push('linux_banner has no file bytes (a debug-only vmlinux: .rodata is SHT_NOBITS)');
    else {
      const text = cString(b).replace(/\n+$/, '');
      if (text.startsWith(BANNER_PREFIX)) banner = text;
      else notes.push(`linux_banner does not start with "${BANNER_PREFIX}"`);
    }
  }
  return { path, banner, release: banner === null ? null : releaseFromBanner(banner), buildId, notes };
}

async function buildIdFromSections(src: RandomAccess, tables: ElfTables): Promise<string | null> {
  for (const s of tables.sections) {
    if (s.sh_type !== SHT_NOTE || s.sh_size === 0 || s.sh_size > 1 << 20) continue;
    const b = await src.readAt(s.sh_offset, s.sh_size);
    try {
      const id = findGnuBuildId(parseNotes(b, tables.header.endianness, src.label, { align: s.sh_addralign === 8 ? 8 : 4, baseOffset: s.sh_offset }));
      if (id) return id;
    } catch {
      // A malformed unrelated note section must not hide the build-id in another one.
    }
  }
  return null;
}

export async function readVmlinuxIdentity(path: string): Promise<VmlinuxIdentity> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputNotFoundError(`${path}: no such vmlinux file`, { details: { file: path }, cause: e });
  }
  if (!st.isFile()) throw new InputNotFoundError(`${path}: not a regular file`, { details: { file: path } });
  const fh = await open(path, 'r');
  try {
    return await readVmlinuxIdentityFrom(new FileRandomAccess(fh, path, st.size), path);
  } finally {
    await fh.close();
  }
}

/** Parse "a.b.c" at the start of a string. */
function triple(s: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(s);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function cmpNums(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The upstream stable version the kernel was built from. For most distros the release string
 * carries it (5.15.168-…), but Debian's `6.1.0-56-amd64` does not: its banner/VERSION says
 * "Debian 6.1.192-2", so that wins when present.
 */
export function upstreamVersion(release: string, banner: string | null, packageVersion: string | null = null): string | null {
  const fromPkg = packageVersion ? triple(packageVersion) : null;
  if (fromPkg) return fromPkg.join('.');
  const deb = banner ? /Debian (\d+\.\d+\.\d+)/.exec(banner) : null;
  if (deb) return deb[1]!;
  const t = triple(release);
  return t ? t.join('.') : null;
}

/**
 * Why VMCOREINFO BUILD-ID cannot be trusted for this kernel, or null when it can.
 * Facts from mirrors.md §0 item 5 (drgn's broken-range list and drgn-tools' UEK rules).
 */
export function buildIdUnreliable(release: string, banner: string | null = null, packageVersion: string | null = null): string | null {
  const uek = /\.el\d+uek/.exec(release);
  if (uek) {
    const v = triple(release);
    const build = /^[\d.]+-([\d.]+?)\.el\d+uek/.exec(release)?.[1]?.split('.').map(Number) ?? [];
    if (v) {
      const key = v.join('.');
      if (key === '4.1.12') return 'UEK4 kernels ship a vmlinux whose build-id differs from the running kernel';
      if (key === '4.14.35' && cmpNums(build, [2047, 537, 3]) < 0) return 'UEK5 before 2047.537.3 ships a vmlinux whose build-id differs from the running kernel';
      if (key === '5.4.17' && cmpNums(build, [2136, 332, 2]) < 0) return 'UEK6 before 2136.332.2 ships a vmlinux whose build-id differs from the running kernel';
    }
  }
  const up = upstreamVersion(release, banner, packageVersion);
  const t = up ? triple(up) : null;
  if (!t) return null;
  const [a, b, c] = t;
  const bad =
    (a === 6 && b === 11 && c >= 3 && c <= 9) ||
    (a === 6 && b === 10 && c >= 14) ||
    (a === 6 && b === 6 && c >= 55 && c <= 62) ||
    (a === 6 && b === 1 && c >= 113 && c <= 118) ||
    (a === 5 && b === 15 && c >= 168);
  return bad ? `Linux ${a}.${b}.${c} is in a stable range that writes a wrong BUILD-ID into VMCOREINFO` : null;
}

/** Compare what the dump says with what the vmlinux says. Pure. */
export function compareIdentities(dump: DumpFacts, vm: VmlinuxIdentity): MatchResult {
  const checks: MatchCheck[] = [];
  const warnings: string[] = [];
  // release: VMCOREINFO OSRELEASE (or the dump's banner) vs the vmlinux banner's release token.
  const dumpRelease = dump.release ?? (dump.banner ? releaseFromBanner(dump.banner) : null);
  if (dumpRelease && vm.release) {
    checks.push({ kind: 'release', status: dumpRelease === vm.release ? 'match' : 'mismatch', dump: dumpRelease, vmlinux: vm.release, note: null });
  } else {
    checks.push({ kind: 'release', status: 'unavailable', dump: dumpRelease, vmlinux: vm.release, note: dumpRelease ? vm.notes.join('; ') || 'vmlinux banner unreadable' : 'the dump names no release' });
  }
  // banner: the full string (build host, compiler, date — what crash itself compares).
  if (dump.banner && vm.banner) {
    const a = dump.banner.trim();
    const b = vm.banner.trim();
    checks.push({ kind: 'banner', status: a === b ? 'match' : 'mismatch', dump: a, vmlinux: b, note: null });
  } else {
    checks.push({ kind: 'banner', status: 'unavailable', dump: dump.banner, vmlinux: vm.banner, note: dump.banner ? 'vmlinux banner unreadable' : 'the dump carries no banner (VMCOREINFO has none)' });
  }
  // build-id
  if (dump.buildId && vm.buildId) {
    const why = buildIdUnreliable(dumpRelease ?? vm.release ?? '', vm.banner ?? dump.banner, dump.packageVersion ?? null);
    if (why) {
      checks.push({ kind: 'build-id', status: 'skipped', dump: dump.buildId, vmlinux: vm.buildId, note: why });
      warnings.push(`build-id check skipped: ${why}`);
    } else {
      checks.push({ kind: 'build-id', status: dump.buildId.toLowerCase() === vm.buildId.toLowerCase() ? 'match' : 'mismatch', dump: dump.buildId, vmlinux: vm.buildId, note: null });
    }
  } else {
    checks.push({ kind: 'build-id', status: 'unavailable', dump: dump.buildId, vmlinux: vm.buildId, note: dump.buildId ? 'the vmlinux has no build-id note' : 'the dump has no VMCOREINFO BUILD-ID (kernel < 5.9?)' });
  }
  const ok = !checks.some((c) => c.status === 'mismatch');
  const verified = checks.some((c) => c.status === 'match');
  if (ok && !verified) warnings.push('could not verify that the vmlinux matches the dump (nothing comparable on both sides)');
  return { ok, verified, forced: false, checks, warnings };
}

/** One line per mismatching check: "build-id: dump abc… ≠ vmlinux def…". */
export function describeMismatch(r: MatchResult): string {
  return r.checks
    .filter((c) => c.status === 'mismatch')
    .map((c) => `${c.kind}: dump "${c.dump}" vs vmlinux "${c.vmlinux}"`)
    .join('; ');
}

/**
 * Verify a vmlinux against a dump. Throws MismatchError (exit 67) naming both values unless
 * `force`; with force the result says `forced: true` and carries a warning instead.
 */
export async function verifyVmlinux(
  dump: DumpFacts & { path?: string },
  vmlinuxPath: string,
  opts: { force?: boolean; image?: string | null } = {},
): Promise<{ result: MatchResult; vmlinux: VmlinuxIdentity }> {
  let vm = await readVmlinuxIdentity(vmlinuxPath);
  // SUSE: a debug-only vmlinux has no banner bytes; its stripped image has them (and a build-id).
  if (opts.image) {
    const img = await readVmlinuxIdentity(opts.image);
    vm = {
      path: vmlinuxPath,
      banner: vm.banner ?? img.banner,
      release: vm.release ?? img.release,
      buildId: vm.buildId ?? img.buildId,
      notes: vm.banner || img.banner ? [] : [...vm.notes, ...img.notes.map((n) => `image: ${n}`)],
    };
  }
  const result = compareIdentities(dump, vm);
  if (!result.ok) {
    const what = describeMismatch(result);
    if (!opts.force) {
      throw new MismatchError(`${vmlinuxPath} does not belong to ${dump.path ?? 'the dump'}: ${what}`, {
        details: { vmlinux: vmlinuxPath, dump: dump.path ?? null, checks: result.checks },
        hint: 'fetch the debuginfo of the dump\'s kernel (kdbg analyze without --vmlinux), or pass --force to run crash anyway',
      });
    }
    result.forced = true;
    result.warnings.push(`vmlinux does not match the dump (${what}); running anyway because of --force`);
  }
  return { result, vmlinux: vm };
}
