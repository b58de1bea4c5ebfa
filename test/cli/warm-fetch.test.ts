// The warm-cache fast path of `kdbg fetch` (src/cli/fast-fetch.ts): its argument grammar agrees
// with yargs wherever it answers, and the built CLI answers a warm cache with exactly the output
// of the ordinary path (KDBG_NO_FAST_PATH=1) while loading neither yargs, undici nor any stage
// beyond release/ and cache/. The cache is filled by a real fetch from the rpmbuild-made fixture
// mirror (scripts/fixtures/10-rpm-mirror.sh) over a real HTTP server on 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCommand, type FetchArgs } from '../../src/cli/commands/fetch.js';
import { parseWarmFetchArgs } from '../../src/cli/fast-fetch.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, moduleLogHooks, repoRoot, runKdbg, tmpDir } from './fetch-cli.js';

/** What yargs makes of `kdbg fetch …args` with the real fetch command's builder (handler not run). */
async function yargsFetchArgs(args: string[]): Promise<FetchArgs | Error> {
  let got: FetchArgs | undefined;
  try {
    await yargs(['fetch', ...args])
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .command({ ...fetchCommand, handler: (a: FetchArgs) => void (got = a) })
      .parseAsync();
  } catch (e) {
    return e as Error;
  }
  return got ?? new Error('handler not reached');
}

describe('parseWarmFetchArgs', () => {
  const answered: string[][] = [
    ['3.10.0-327.el7'],
    ['3.10.0-327.el7', '--cache-dir', '/c', '--quiet'],
    // scripts/bench/run.mjs scenario (e)
    ['3.10.0-327.el7', '--repo', 'http://127.0.0.1:1/centos/7/x86_64', '--cache-dir', '/c', '--quiet'],
    ['--quiet', '3.10.0-327.el7', '--json'],
    ['3.10.0-327.el7', '--mirror', 'http://a', 'http://b', '--json', '--config', '/etc/kdbg.json'],
    ['-q', '3.10.0-327.el7', '--vmlinux-only', '--modules', '--offline', '--no-keep-packages', '-j', '3'],
    ['6.1.0-56-amd64', '--pkg-version', '6.1.192-2', '--distro', 'debian', '--arch', 'amd64', '--keep-packages'],
    ['5.10'],
  ];
  const declined: string[][] = [
    [],
    ['--help'],
    ['3.10.0-327.el7', '--version'],
    ['3.10.0-327.el7', '--json=true'],
    ['3.10.0-327.el7', '--cache-dir=/c'],
    ['3.10.0-327.el7', '5.14.0-70.el9'],
    ['-'],
    ['--from-file', 'list.txt'],
    ['3.10.0-327.el7', '--cacheDir', '/c'],
    ['3.10.0-327.el7', '--cache-dir', '/c', '--cache-dir', '/d'],
    ['3.10.0-327.el7', '--quiet', 'true'],
    ['3.10.0-327.el7', '--no-json'],
    ['3.10.0-327.el7', '--', 'x'],
    ['3.10.0-327.el7', '--cache-dir'],
    ['3.10.0-327.el7', '--cache-dir', ''],
    ['3.10.0-327.el7', '-qj', '2'],
    ['3.10.0-327.el7', '--jobs', 'many'],
    ['3.10.0-327.el7', '--bogus'],
    // yargs' arrays are greedy: the release becomes a second --repo value and no input is left.
    ['--repo', 'http://a', '3.10.0-327.el7'],
  ];

  it('reads every answered form exactly as yargs does', async () => {
    for (const args of answered) {
      const fast = parseWarmFetchArgs(args);
      expect(fast, args.join(' ')).not.toBeNull();
      const y = await yargsFetchArgs(args);
      expect(y, args.join(' ')).not.toBeInstanceOf(Error);
      const ya = y as FetchArgs;
      expect(ya.input, args.join(' ')).toEqual([fast!.input]);
      expect(ya.fromFile).toBeUndefined();
      expect({ cacheDir: ya.cacheDir, arch: ya.arch, distro: ya.distro, pkgVersion: ya.pkgVersion, vmlinuxOnly: ya.vmlinuxOnly, modules: ya.modules, json: ya.json }, args.join(' ')).toEqual({
        cacheDir: fast!.cacheDir,
        arch: fast!.arch,
        distro: fast!.distro,
        pkgVersion: fast!.pkgVersion,
        vmlinuxOnly: fast!.vmlinuxOnly,
        modules: fast!.modules,
        json: fast!.json,
      });
    }
  });

  it('declines everything else, including forms yargs reads differently from a naive reading', async () => {
    for (const args of declined) expect(parseWarmFetchArgs(args), args.join(' ')).toBeNull();
    // The greedy case really is different in yargs: no release is left for the command.
    const y = await yargsFetchArgs(['--repo', 'http://a', '3.10.0-327.el7']);
    expect(y).not.toBeInstanceOf(Error);
    expect((y as FetchArgs).repo).toEqual(['http://a', '3.10.0-327.el7']);
    expect((y as FetchArgs).input ?? []).toEqual([]);
  });
});

describe('warm kdbg fetch (built CLI, RPM fixture mirror)', () => {
  const manifest = readRpmManifest();
  const mirrorRoot = join(rpmManifestPath, '..', manifest.mirrorBase);
  const vmPkg = manifest.packages.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
  const config = loopbackOnlyConfig();
  let server: MirrorServer;
  let hooks: string;

  beforeAll(async () => {
    server = await startMirrorServer(mirrorRoot);
    hooks = moduleLogHooks(); // every module URL the child resolves goes to KDBG_TEST_MODULE_LOG
  });
  afterAll(async () => {
    await server.close();
    cleanupTmp();
  });

  /** Run the CLI; returns its result and the repository-relative paths of the modules it loaded. */
  async function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
    const log = join(tmpDir('kdbg-modlog-out-'), 'modules.txt');
    writeFileSync(log, '');
    const r = await runKdbg(args, isolatedEnv({ NODE_OPTIONS: `--import=${hooks}`, KDBG_TEST_MODULE_LOG: log, ...extra }));
    const modules = [
      ...new Set(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((u) => u.startsWith('file:'))
          .map((u) => relative(repoRoot, new URL(u).pathname)),
      ),
    ];
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, modules };
  }
  const ordinary = { KDBG_NO_FAST_PATH: '1' };

  it('answers a warm cache without yargs, undici or a request, with the output of the ordinary path', async () => {
    const cache = tmpDir('kdbg-warm-cache-');
    const cold = await runKdbg(['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--quiet']);
    expect(cold.stderr).toBe('');
    expect(cold.code).toBe(0);
    const vmlinux = join(cache, 'releases', vmPkg.uname, 'vmlinux');
    expect(cold.stdout).toBe(`${vmlinux}\n`);

    for (const extraArgs of [['--quiet'], ['--json'], ['--json', '--offline', '-q']]) {
      const args = ['fetch', '3.10.0-327.el7', '--repo', `${server.url}/7/x86_64`, '--cache-dir', cache, '--config', config, ...extraArgs];
      server.requests.length = 0;
      const fast = await run(args);
      const slow = await run(args, ordinary);
      expect(server.requests).toEqual([]);
      expect(fast.code).toBe(0);
      expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({ code: slow.code, stdout: slow.stdout, stderr: slow.stderr });
      if (!extraArgs.includes('--json')) expect(fast.stdout).toBe(`${vmlinux}\n`);
      else expect(JSON.parse(fast.stdout)).toMatchObject({ release: vmPkg.uname, vmlinux, cached: true });

      // The ordinary path did load yargs: the log does see what a command loads.
      expect(slow.modules.some((m) => m.includes('node_modules/yargs/'))).toBe(true);
      expect(fast.modules.filter((m) => m.includes('node_modules/'))).toEqual([]);
      const stages = new Set(fast.modules.filter((m) => m.startsWith('dist/')).map((m) => m.split('/')[1]));
      expect([...stages].sort()).toEqual(['cache', 'cli', 'core', 'release']);
      expect(fast.modules.filter((m) => m.startsWith('dist/cli/commands/'))).toEqual([]);
    }
  });

  it('leaves a cache miss, an entry lacking what is asked, and a bad release to the ordinary path', async () => {
    const cache = tmpDir('kdbg-warm-cache-');
    const base = ['fetch', '3.10.0-327.el7', '--mirror', server.url, '--cache-dir', cache, '--config', config, '--quiet'];
    server.requests.length = 0;
    const cold = await run([...base, '--vmlinux-only']);
    expect(cold.code).toBe(0);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(cold.modules.some((m) => m.includes('node_modules/yargs/'))).toBe(true);

    server.requests.length = 0;
    const warmVm = await run([...base, '--vmlinux-only']);
    expect(warmVm.code).toBe(0);
    expect(warmVm.stdout).toBe(cold.stdout);
    expect(server.requests).toEqual([]);
    expect(warmVm.modules.some((m) => m.includes('node_modules/'))).toBe(false);

    // The entry has no sources: a fetch that wants them goes to the mirror.
    const full = await run([...base, '--json']);
    expect(full.code).toBe(0);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ cached: false, vmlinux: cold.stdout.trim() });
    expect((JSON.parse(full.stdout) as { source: string | null }).source).not.toBeNull();

    // A bad --distro: one error line and its exit code, the same as the ordinary path's.
    const badArgs = ['fetch', '3.10.0-327.el7', '--distro', 'plan9', '--cache-dir', cache, '--quiet'];
    const bad = await run(badArgs);
    const badSlow = await run(badArgs, ordinary);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^kdbg: /);
    expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ code: badSlow.code, stdout: badSlow.stdout, stderr: badSlow.stderr });
  });
});
