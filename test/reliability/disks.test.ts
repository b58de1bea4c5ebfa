// Full, read-only and unwritable caches under a real `kdbg fetch` (issue 18, item 3): each ends
// in exit 74 within seconds, with one line naming the path (and, for a full disk, how much is
// free and needed); nothing is published, the staging area is clean, and the next run with room
// resumes. Real parts: tmpfs mounts (root only: CI runs as root; skipped with a line otherwise),
// the rpmbuild fixture mirror on 127.0.0.1, and for EACCES a second user (nobody) via setpriv.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, loopbackOnlyConfig, repoRoot, runKdbg } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('disks: skipped: mounting tmpfs and switching users need root (CI runs as root)');
const rpm = readRpmManifest();
const el7 = rpm.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const el7Path = `/7/x86_64/${el7.file.split('/').pop()}`;
const work = mkdtempSync(join(tmpdir(), 'kdbg-disks-'));
const mounts: string[] = [];
let server: MirrorServer;
let config: string;

function tmpfs(name: string, size: string, extra = ''): string {
  const d = join(work, name);
  mkdirSync(d);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra ? `,${extra}` : ''}`, 'tmpfs', d]);
  mounts.push(d);
  return d;
}

beforeAll(async () => {
  server = await startMirrorServer(join(rpmManifestPath, '..', rpm.mirrorBase));
  config = loopbackOnlyConfig();
});
afterAll(async () => {
  await server.close();
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  rmSync(work, { recursive: true, force: true });
});

const fetchArgs = (cache: string, ...more: string[]): string[] => ['fetch', '3.10.0-327.el7', '--vmlinux-only', '--mirror', server.url, '--cache-dir', cache, '--config', config, ...more];
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /^kdbg: /.test(l) && !/^kdbg: (looking|reading|kernel-|.*: resuming)/.test(l));

describe.skipIf(!isRoot)('full, read-only and unwritable caches', () => {
  it('a package larger than the free space is refused before its first byte, saying how much is needed', async () => {
    const cache = join(tmpfs('small', '2m'), 'cache');
    server.requests.length = 0;
    const t0 = Date.now();
    const r = await runKdbg(fetchArgs(cache, '--keep-packages'));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(74);
    expect(r.stderr).toMatch(new RegExp(`kdbg: cache: ${cache}: [0-9.]+ MiB free, ${el7.file.split('/').pop()!.replace(/[.+]/g, '\\$&')} \\(${el7.size} bytes, kept while it is unpacked\\) needs at least`));
    expect(server.requests.filter((q) => q.method === 'GET' && q.path === el7Path)).toEqual([]);
    expect(existsSync(join(cache, 'releases', el7.uname))).toBe(false);
  });

  it('ENOSPC while unpacking: exit 74 within seconds, the free space named, nothing published; with room the next run resumes', async () => {
    // Room for the 4.4 MB package but not for it and its 8 MB vmlinux.
    const disk = tmpfs('full', '9m');
    const cache = join(disk, 'cache');
    const t0 = Date.now();
    const r = await runKdbg(fetchArgs(cache, '--keep-packages'));
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(74);
    expect(ms).toBeLessThan(10_000);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kdbg: cache: cannot .*(ENOSPC|no space left).* \([0-9.]+ MiB free there\)$/);
    expect(existsSync(join(cache, 'releases', el7.uname))).toBe(false);
    expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
    expect(readdirSync(join(cache, 'locks'))).toEqual([]);
    execFileSync('mount', ['-o', 'remount,size=64m', disk]);
    server.requests.length = 0;
    const again = await runKdbg(fetchArgs(cache, '--keep-packages', '--json'));
    expect(again.code, again.stderr).toBe(0);
    // The package bytes already on disk were not fetched again.
    const whole = server.requests.filter((q) => q.method === 'GET' && q.path === el7Path && q.range === null);
    expect(whole).toEqual([]);
    const rerun = server.requests.filter((q) => q.method === 'GET' && q.path === el7Path);
    console.log(`disks: ENOSPC → exit 74 in ${ms} ms; the rerun sent ${rerun.length} request(s) for the package (${rerun.map((q) => q.range ?? 'whole').join(', ') || 'none: it was complete on disk'})`);
  });

  it('a read-only cache: exit 74, one line naming the path', async () => {
    const disk = tmpfs('ro', '16m');
    const cache = join(disk, 'cache');
    const first = await runKdbg(['cache', 'ls', '--cache-dir', cache]);
    expect(first.code).toBe(0);
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const r = await runKdbg(fetchArgs(cache));
    expect(r.code, r.stderr).toBe(74);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(cache);
    expect(lines[0]).toMatch(/EROFS|read-only/);
    expect(r.stderr).toMatch(/hint: the cache is on a read-only file system/);
  });

  it('a cache another user owns: exit 74 with the permissions hint', async () => {
    const cache = join(work, 'owned', 'cache');
    mkdirSync(cache, { recursive: true, mode: 0o755 });
    const first = await runKdbg(['cache', 'ls', '--cache-dir', cache]);
    expect(first.code).toBe(0);
    const env = { ...isolatedEnv(), HOME: '/tmp', XDG_CONFIG_HOME: '/tmp' };
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(repoRoot, 'bin', 'kdbg.js'), ...fetchArgs(cache).slice(0, -2)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(74);
    expect(errorLines(r.stderr)[0]).toMatch(new RegExp(`^kdbg: cache: cannot .*${cache.replace(/[.+]/g, '\\$&')}.*(EACCES|permission denied)`, 'i'));
    expect(r.stderr).toMatch(/hint: check the permissions of the cache directory/);
  });
});
