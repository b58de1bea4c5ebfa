// Which crash binary to run, and what version it is. Order: --crash, $KDBG_CRASH, PATH.
// The version matters: crash lags behind kernels, and bookworm's crash 8.0.2 silently misses most
// tasks on Debian's own 6.1.y kernels (struct pid.numbers[] became a flexible array; crash
// handles that from 8.0.4 on — measured on 6.1.192: `ps` lists 4 of ~60 tasks).
import { spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { UnavailableError } from '../core/errors.js';
import semver from 'semver';

export interface CrashBinary {
  path: string;
  /** "8.0.6", or null when `crash --version` said nothing recognisable. */
  version: string | null;
  from: 'flag' | 'env' | 'path';
}

export const CRASH_INSTALL_HINT =
  'install crash (Debian/Ubuntu: apt-get install crash; RHEL/Fedora: dnf install crash) or point --crash / KDBG_CRASH at a crash binary (crash >= 8.0.4 for Linux >= 6.1)';

async function isExecutable(p: string): Promise<boolean> {
  try {
    if (!(await stat(p)).isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Locate crash. `env` is the CLI's view of KDBG_CRASH and PATH (stages do not read process.env). */
export async function locateCrash(opts: { flag?: string | undefined; env?: { KDBG_CRASH?: string | undefined; PATH?: string | undefined } }): Promise<{ path: string; from: CrashBinary['from'] }> {
  const env = opts.env ?? {};
  const explicit: [string | undefined, CrashBinary['from'], string][] = [
    [opts.flag, 'flag', '--crash'],
    [env.KDBG_CRASH, 'env', 'KDBG_CRASH'],
  ];
  for (const [p, from, what] of explicit) {
    if (p === undefined || p === '') continue;
    if (await isExecutable(p)) return { path: p, from };
    throw new UnavailableError(`crash not found: ${what} names ${p}, which is not an executable file`, { hint: CRASH_INSTALL_HINT, details: { crash: p, from: what } });
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, 'crash');
    if (await isExecutable(p)) return { path: p, from: 'path' };
  }
  throw new UnavailableError('crash not found on PATH (needed to analyze a dump)', { hint: CRASH_INSTALL_HINT });
}

/** Run `crash --version` (bounded to 20 s) and pull the version out. */
export async function crashVersion(path: string, timeoutMs = 20_000): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(path, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c: string) => (out += c));
    child.stderr.on('data', (c: string) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(parseCrashVersion(out));
    });
  });
}

export function parseCrashVersion(text: string): string | null {
  const m = /^\s*crash\s+(\d+\.\d+(?:\.\d+)?[\w.+~-]*)/m.exec(text);
  return m ? m[1]! : null;
}

/** Orders two dotted versions ("8.0.2", "8.0.4++", "6.1.192"); the tails semver cannot read are ignored. */
export function compareVersions(a: string, b: string): number {
  const x = semver.coerce(a);
  const y = semver.coerce(b);
  if (x === null || y === null) return x === null ? (y === null ? 0 : -1) : 1;
  return semver.compare(x, y);
}

/**
 * A warning when this crash is known to be too old for the dump's kernel, else null.
 * `kernelVersion` is the upstream version ("6.1.192"), not the distro release string.
 */
export function crashTooOld(crash: string | null, kernelVersion: string | null): string | null {
  if (crash === null || kernelVersion === null) return null;
  if (compareVersions(kernelVersion, '6.1') >= 0 && compareVersions(crash, '8.0.4') < 0) {
    return `crash ${crash} is too old for Linux ${kernelVersion}: it does not handle struct pid.numbers[] as a flexible array and misses most tasks (ps, foreach); crash >= 8.0.4 is needed`;
  }
  return null;
}

/**
 * The oldest crash known to read a kernel series correctly, from failures measured on real dumps
 * (docs/analyze.md records each). Ordered newest kernel first; a kernel matches the first row it
 * is at or above.
 */
export const CRASH_MINIMUMS: readonly { kernel: string; crash: string; why: string }[] = [
  { kernel: '6.1', crash: '8.0.4', why: 'struct pid.numbers[] became a flexible array: older crash misses most tasks (crash 8.0.2 saw 3 of 57 on Debian 6.1.192)' },
];

/** The minimum crash for an upstream kernel version ("6.1.192"), or null when none is known. */
export function minimumCrashFor(kernelVersion: string | null): { kernel: string; crash: string; why: string } | null {
  if (kernelVersion === null) return null;
  return CRASH_MINIMUMS.find((m) => compareVersions(kernelVersion, m.kernel) >= 0) ?? null;
}
