// Run the built CLI (`node bin/kdbg.js`, needs `npm run build`) as a child process, the way a
// user or a script does. Asynchronous on purpose: tests serve HTTP from their own process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { fixturePath, rpmVerification } from '../helpers/fixtures.js';

export const repoRoot = join(import.meta.dirname, '..', '..');

const made: string[] = [];
/** A temporary directory removed by cleanupTmp() (call it in afterAll). */
export function tmpDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
/**
 * An ESM resolve hook (node:module register) that appends every module URL a child resolves to the
 * file named by its KDBG_TEST_MODULE_LOG: the path of a script for the child's
 * `NODE_OPTIONS=--import=<it>`, so a test can say which modules a command loaded.
 */
export function moduleLogHooks(): string {
  const dir = tmpDir('kdbg-modlog-');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\nlet out;\nexport function initialize(d) { out = d.out; }\n" +
      'export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(out, r.url + "\\n"); return r; }\n',
  );
  const hooks = join(dir, 'register.mjs');
  writeFileSync(hooks, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { out: process.env.KDBG_TEST_MODULE_LOG } });\n`);
  return hooks;
}

export function cleanupTmp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** An environment that cannot reach anything but loopback: no proxies, no user config. */
export function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(k) || k.startsWith('KDBG_') || k === 'DEBUGINFOD_URLS') delete env[k];
  return { ...env, XDG_CONFIG_HOME: tmpDir('kdbg-xdg-'), ...extra };
}

/**
 * A config file that turns off the built-in public presets, the host's yum repos and its apt
 * sources: tests see only 127.0.0.1. (Without aptRoot: null, a Debian release that no local
 * mirror had went on to the host's own archive, found by the fault matrix.) The fixture archives'
 * key (scripts/fixtures/sign.sh) is the one trusted keyring: Debian suites are verified. The RPM
 * fixture mirrors are signed too (rpm-sign.sh): every `--mirror`/`--repo` and entry takes their
 * keys as `gpgkey` with `repoGpgcheck` (docs/signatures.md), so each RPM's header signature and
 * each repomd.xml.asc are verified. `{ rpmSignatures: false }`: for a test of unsigned RPMs it
 * builds itself (the test says why).
 */
export function loopbackOnlyConfig(o: { rpmSignatures?: boolean } = {}): string {
  const f = join(tmpDir('kdbg-cfg-'), 'config.json');
  writeFileSync(f, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [fixturePath('keys', 'archive.asc')], ...(o.rpmSignatures === false ? {} : rpmVerification()) }));
  return f;
}


export function startKdbg(args: string[], env: NodeJS.ProcessEnv = isolatedEnv()): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runKdbg(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startKdbg(args, env).done;
}

/** Every file under `dir` (paths relative to it); [] when it does not exist. */
export function cacheFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** Nothing a crash tool could read was published: no release entry, no build-id link, no vmlinux. */
export function nothingPublished(cache: string): void {
  expect(cacheFiles(cache).filter((f) => /^(releases|buildid)\//.test(f) || /vmlinux/.test(f))).toEqual([]);
}

/** Refused as kdbg refuses: exit 65, one line matching `pattern` (besides the hint every kdbg error may carry), nothing published. Returns the line. */
export function refusedWith(r: { code: number | null; stdout: string; stderr: string; cache: string }, pattern: RegExp): string {
  expect(r.code, r.stderr).toBe(65);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  nothingPublished(r.cache);
  return lines[0]!;
}
