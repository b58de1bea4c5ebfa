// Where the fixture scripts put their (git-ignored, cached) output.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const fixturesRoot = process.env['KDBG_FIXTURES'] ?? join(homedir(), '.cache', 'kdbg-fixtures');

export function fixturePath(...parts: string[]): string {
  return join(fixturesRoot, ...parts);
}

/** Throws with the command to run when a fixture is missing (npm test builds them first). */
export function requireFixture(...parts: string[]): string {
  const p = fixturePath(...parts);
  if (!existsSync(p)) throw new Error(`fixture missing: ${p} (run: npm run fixtures)`);
  return p;
}

/** The first `n` bytes of a (possibly huge) file, without reading the rest. */
export function readHead(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return new Uint8Array(b.subarray(0, got));
  } finally {
    closeSync(fd);
  }
}

/**
 * What scripts/fixtures/40-debian-vmlinux.sh recorded about the real Debian vmlinux it extracted:
 * the kernel comes from whatever the archive carries on the day the fixture is built, so tests
 * read release, version, digests and build-id from here, never from a literal.
 */
export interface DebianVmlinuxManifest {
  release: string;
  packageVersion: string;
  package: string;
  /** File name of the -dbg .deb in $KDBG_FIXTURES/debian-pkgs. */
  deb: string;
  debSize: number;
  debSha256: string;
  /** Path of the vmlinux inside the package and under $KDBG_FIXTURES/debian-vmlinux. */
  member: string;
  vmlinuxSha256: string;
  buildId: string;
  banner: string;
}

export function debianVmlinux(): DebianVmlinuxManifest & { path: string } {
  const m = JSON.parse(readFileSync(requireFixture('debian-vmlinux', 'manifest.json'), 'utf8')) as DebianVmlinuxManifest;
  return { ...m, path: fixturePath('debian-vmlinux', m.member) };
}

/** The kernel the QEMU dumps of scripts/fixtures/30-vmcores.sh booted (vmcores/manifest.json). */
export function vmcoreKernel(): { release: string; packageVersion: string } {
  const m = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as { kernel: { release: string; packageVersion: string } };
  return m.kernel;
}

/** The CPU the fixture crash of `kind` ran on, as makedumpfile --dump-dmesg read it (it varies per boot). */
export function guestCpu(kind: string): number {
  const text = readFileSync(requireFixture('vmcores', kind, 'vmcore-dmesg.txt'), 'latin1');
  return Number(/CPU: (\d+) PID: \d+ Comm: /.exec(text)![1]);
}

/** The fixture directories whose RPMs and repomd.xml are signed (rpmsign, repomd.xml.asc; scripts/fixtures/rpm-sign.sh). */
export const SIGNED_RPM_FIXTURES = ['rpm', 'big-rpm', 'china', 'suse', 'buildid-mirror', 'el7-modules-rpm', 'entitled', 'signed-rpms'] as const;

/**
 * The public keys the RPM fixture mirrors were signed with, as each fixture's manifest names it
 * (`gpgkey`, the copy beside its packages, so a key made again never mismatches a fixture signed
 * before): what the tests' configs give as `gpgkey`, so RPM fetches run with verification on.
 */
export function rpmFixtureKeys(): string[] {
  const keys = new Set<string>();
  for (const d of SIGNED_RPM_FIXTURES) {
    const m = fixturePath(d, 'manifest.json');
    if (!existsSync(m)) continue;
    const { gpgkey, key } = JSON.parse(readFileSync(m, 'utf8')) as { gpgkey?: string; key?: string };
    const f = gpgkey ?? key;
    if (f !== undefined && existsSync(fixturePath(d, f))) keys.add(fixturePath(d, f));
  }
  return [...keys];
}

/**
 * The config keys (docs/signatures.md) that make every `--mirror`, `--repo` and config entry of a
 * test verify the fixture RPMs: each header signature (gpgcheck) and each repomd.xml.asc.
 */
export function rpmVerification(): { gpgkey: string[]; repoGpgcheck: true } {
  const keys = rpmFixtureKeys();
  return { gpgkey: keys.length > 0 ? keys : [fixturePath('keys', 'archive.asc')], repoGpgcheck: true };
}
