// `kdbg fetch` batches end to end: the built CLI against the rpmbuild-made fixture mirror
// (scripts/fixtures/10-rpm-mirror.sh) served by a real HTTP server on 127.0.0.1. Expected
// digests come from the fixture manifest (sha256sum of the real rpm2cpio-extracted vmlinux).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { isolatedEnv, loopbackOnlyConfig, repoRoot, runKdbg, type CliResult } from './fetch-cli.js';
import { readRpmManifest, rpmManifestPath, type RpmManifestPackage as ManifestPackage } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const mirrorRoot = join(manifestPath, '..', manifest.mirrorBase);
const vmOf = (set: string): ManifestPackage => manifest.packages.find((p) => p.set === set && p.role === 'vmlinux')!;
const el7 = vmOf('el7');
const el8 = vmOf('el8');
const el9 = vmOf('el9');
const uek = vmOf('uek');

const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const newDir = (p: string): string => mkdtempSync(join(tmpdir(), p));

interface Line {
  input: string;
  ok: boolean;
  release?: string;
  vmlinux?: string;
  cached?: boolean;
  packages?: Array<{ sha256: string; cached: boolean }>;
  error?: { code: string; message: string; exitCode: number };
}
const jsonLines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

let server: MirrorServer;
const config = loopbackOnlyConfig();
const common = (cache: string): string[] => ['--mirror', server.url, '--cache-dir', cache, '--config', config];

beforeAll(async () => {
  server = await startMirrorServer(mirrorRoot);
});
afterAll(() => server.close());

function runWithStdin(args: string[], stdin: string): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], { cwd: repoRoot, env: isolatedEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe('kdbg fetch batch', () => {
  it('a mixed batch with one bad release fetches the others, prints JSON lines as they complete, exits 69 and names the failure', async () => {
    const cache = newDir('kdbg-batch-');
    const bad = '3.10.0-999.el7';
    const r = await runKdbg(['fetch', '3.10.0-327.el7', bad, '4.18.0-348.7.1.el8_5', '5.14.0-284.11.1.el9_2', '--json', '--jobs', '2', ...common(cache)]);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(69);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.input).sort()).toEqual(['3.10.0-327.el7', bad, '4.18.0-348.7.1.el8_5', '5.14.0-284.11.1.el9_2'].sort());
    for (const want of [el7, el8, el9]) {
      const l = lines.find((x) => x.release === want.uname)!;
      expect(l.ok).toBe(true);
      expect(Object.keys(l)).toEqual(['input', 'ok', 'release', 'family', 'vmlinux', 'source', 'packages', 'cached', 'distro', 'reason', 'timings']); // timings: issue 19 (additive)
      expect(l.vmlinux).toBe(join(cache, 'releases', want.uname, 'vmlinux'));
      expect(sha256File(l.vmlinux!)).toBe(want.vmlinuxSha256);
      expect(l.cached).toBe(false);
    }
    const failed = lines.find((l) => l.input === bad)!;
    expect(failed).toEqual({ input: bad, ok: false, error: { code: 'KDBG_E_NOT_FOUND', message: expect.stringContaining('3.10.0-999.el7') as string, exitCode: 69 } });
    // stderr: the list of failures with the reason.
    expect(r.stderr).toContain('kdbg: 1 of 4 inputs failed:');
    expect(r.stderr).toMatch(/kdbg: {3}3\.10\.0-999\.el7: .*not found on any mirror.*\(KDBG_E_NOT_FOUND, exit 69\)/);
  });

  it('--from-file with comments, blank lines and duplicate spellings: each package fetched once; the second run makes zero requests', async () => {
    const cache = newDir('kdbg-batch-');
    const list = join(newDir('kdbg-list-'), 'kernels.txt');
    writeFileSync(list, ['# fleet kernels', '', '3.10.0-327.el7', '3.10.0-327.el7.x86_64   # same kernel, other spelling', '   ', '5.4.17-2136.300.7.el8uek', '3.10.0-327.el7', ''].join('\n'));
    server.requests.length = 0;
    const first = await runKdbg(['fetch', '--from-file', list, ...common(cache)]);
    expect(first.stderr).not.toContain('internal error');
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n').sort();
    expect(lines).toEqual(
      [
        `3.10.0-327.el7\t${join(cache, 'releases', el7.uname, 'vmlinux')}`,
        `3.10.0-327.el7.x86_64\t${join(cache, 'releases', el7.uname, 'vmlinux')}`,
        `5.4.17-2136.300.7.el8uek\t${join(cache, 'releases', uek.uname, 'vmlinux')}`,
      ].sort(),
    );
    const el7Rpm = el7.file.split('/').pop()!;
    // Downloaded whole once (the other GETs are the partial-fetch probe's small Range reads).
    expect(server.requests.filter((q) => q.method === 'GET' && q.path.endsWith(`/${el7Rpm}`) && q.range === null).length).toBe(1);
    expect(sha256File(join(cache, 'releases', uek.uname, 'vmlinux'))).toBe(uek.vmlinuxSha256);

    server.requests.length = 0;
    const second = await runKdbg(['fetch', '--from-file', list, '--json', ...common(cache)]);
    expect(second.code).toBe(0);
    expect(server.requests).toEqual([]);
    const warm = jsonLines(second.stdout);
    expect(warm).toHaveLength(3);
    for (const l of warm) {
      expect(l.ok).toBe(true);
      expect(l.cached).toBe(true);
      expect(l.packages!.every((p) => p.cached)).toBe(true);
    }
  });

  it('--from-file - reads the list from stdin; inputs on the command line join it', async () => {
    const cache = newDir('kdbg-batch-');
    const r = await runWithStdin(['fetch', '4.18.0-348.7.1.el8_5', '--from-file', '-', '--json', '--vmlinux-only', ...common(cache)], '# from a provisioning script\n5.14.0-284.11.1.el9_2\n');
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.release).sort()).toEqual([el8.uname, el9.uname].sort());
    for (const l of lines) expect(sha256File(l.vmlinux!)).toBe(l.release === el8.uname ? el8.vmlinuxSha256 : el9.vmlinuxSha256);
  });

  it('text mode prints <input>\\tERROR <message> for a failure; a single input keeps the plain contract', async () => {
    const cache = newDir('kdbg-batch-');
    const r = await runKdbg(['fetch', '3.10.0-327.el7', 'not a release!', '--vmlinux-only', ...common(cache)]);
    expect(r.code).toBe(64);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines[0]).toBe(`3.10.0-327.el7\t${join(cache, 'releases', el7.uname, 'vmlinux')}`);
    expect(lines[1]).toMatch(/^not a release!\tERROR /);

    const one = await runKdbg(['fetch', '3.10.0-327.el7', '--offline', '--cache-dir', cache]);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe(`${join(cache, 'releases', el7.uname, 'vmlinux')}\n`);
    const oneBad = await runKdbg(['fetch', '3.10.0-999.el7', '--offline', '--cache-dir', cache]);
    expect(oneBad.code).toBe(69);
    expect(oneBad.stdout).toBe('');
  });

  it('usage errors: no input, an empty list, --jobs 0, stdin dump inside a batch', async () => {
    const cache = newDir('kdbg-batch-');
    const empty = join(newDir('kdbg-list-'), 'empty.txt');
    writeFileSync(empty, '# nothing\n\n');
    for (const args of [['fetch'], ['fetch', '--from-file', empty], ['fetch', 'a', 'b', '--jobs', '0'], ['fetch', '-', '3.10.0-327.el7']]) {
      const r = await runKdbg([...args, '--cache-dir', cache]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(/^kdbg: /m);
      expect(r.stderr).not.toContain('    at ');
    }
    const missing = await runKdbg(['fetch', '--from-file', join(cache, 'nope.txt'), '--cache-dir', cache]);
    expect(missing.code).toBe(66);
  });

  it('--jobs bounds the concurrency: with --jobs 1 the releases are fetched one after the other, with --jobs 3 they overlap', async () => {
    const releases = ['3.10.0-327.el7', '4.18.0-348.7.1.el8_5', '5.14.0-284.11.1.el9_2'];
    // The mirror tree of each release: /7/…, /8/…, /9/….
    const runsOf = (paths: string[]): number => paths.map((p) => p.split('/')[1]).filter((d, i, a) => i === 0 || d !== a[i - 1]).length;
    server.setFault(() => ({ delayMs: 150 }));
    try {
      server.requests.length = 0;
      const serial = await runKdbg(['fetch', ...releases, '--jobs', '1', '--vmlinux-only', ...common(newDir('kdbg-batch-'))]);
      expect(serial.code).toBe(0);
      // One contiguous run of requests per release: no request of the next before the last of the previous.
      expect(runsOf(server.requests.map((q) => q.path))).toBe(3);

      server.requests.length = 0;
      const parallel = await runKdbg(['fetch', ...releases, '--jobs', '3', '--vmlinux-only', ...common(newDir('kdbg-batch-'))]);
      expect(parallel.code).toBe(0);
      expect(runsOf(server.requests.map((q) => q.path))).toBeGreaterThan(3);
    } finally {
      server.setFault(null);
    }
  });

  it('a warm batch of 20 cached releases answers from the cache without any request', async () => {
    // Twenty entries: the real el7 entry, copied under nineteen other release names (the cache
    // looks entries up by directory name, so each is a genuine warm hit).
    const cache = newDir('kdbg-batch-');
    const r0 = await runKdbg(['fetch', '3.10.0-327.el7', '--vmlinux-only', ...common(cache)]);
    expect(r0.code).toBe(0);
    const names = [el7.uname];
    for (let i = 1; i < 20; i++) {
      const uname = `3.10.0-${327 + i}.el7.x86_64`;
      cpSync(join(cache, 'releases', el7.uname), join(cache, 'releases', uname), { recursive: true });
      names.push(uname);
    }
    const list = join(newDir('kdbg-list-'), 'twenty.txt');
    writeFileSync(list, names.join('\n') + '\n');
    server.requests.length = 0;
    const t0 = performance.now();
    const r = await runKdbg(['fetch', '--from-file', list, '--json', '--vmlinux-only', ...common(cache)]);
    const ms = performance.now() - t0;
    expect(r.code).toBe(0);
    expect(server.requests).toEqual([]);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(20);
    expect(lines.every((l) => l.ok && l.cached)).toBe(true);
    console.log(`warm batch of 20 cached releases: ${ms.toFixed(0)} ms (whole process)`);
  });
});
