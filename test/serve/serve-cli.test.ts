// `kdbg serve` as the process a systemd unit runs: --json announces the URL once listening,
// debuginfod-find gets the vmlinux from it, SIGTERM exits 0; a directory that is not a cache is
// refused with the documented exit code.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'kdbg.js');
const work = mkdtempSync(join(tmpdir(), 'kdbg-serve-cli-'));
const cacheDir = join(work, 'cache');
let vmlinux = '';
let buildId = '';

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'cli', 'commands', 'serve.js'))) throw new Error('dist/ is not built (npm run build)');
  writeFileSync(join(work, 'k.c'), 'int kdbg_cli_kernel(void) { return 7; }\nint main(void) { return kdbg_cli_kernel() - 7; }\n');
  execFileSync('gcc', ['-g', '-O0', '-Wl,--build-id=sha1', '-o', join(work, 'vmlinux'), join(work, 'k.c')]);
  buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', join(work, 'vmlinux')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![1]!;
  const cache = await Cache.open(cacheDir);
  const staging = await cache.makeStagingDir('5.14.0-kdbgcli.el9.x86_64');
  writeFileSync(join(staging, 'vmlinux'), readFileSync(join(work, 'vmlinux')));
  const e = await cache.publishEntry(
    staging,
    {
      release: '5.14.0-kdbgcli.el9.x86_64',
      family: 'rhel',
      vmlinux: join(staging, 'vmlinux'),
      vmlinuxSha256: '0'.repeat(64),
      source: null,
      modules: null,
      buildId,
      banner: null,
      packages: [],
      createdAt: new Date().toISOString(),
    },
    { source: false, modules: false },
  );
  vmlinux = e.entry.vmlinux;
});

describe('kdbg serve (process)', () => {
  it('announces its URL, serves debuginfod-find, exits 0 on SIGTERM', async () => {
    const p = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--cache-dir', cacheDir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        p.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          const i = out.indexOf('\n');
          if (i >= 0) resolve(out.slice(0, i));
        });
        p.once('exit', () => reject(new Error('kdbg serve exited before announcing its URL')));
      });
      const info = JSON.parse(line) as { url: string; port: number; cacheDir: string; entries: number };
      expect(info.url).toBe(`http://127.0.0.1:${info.port}`);
      expect(info.cacheDir).toBe(cacheDir);
      expect(info.entries).toBe(1);
      const env = { ...process.env, DEBUGINFOD_URLS: info.url, DEBUGINFOD_CACHE_PATH: join(work, 'client-cache') };
      const found = await new Promise<string>((resolve, reject) =>
        execFile('debuginfod-find', ['debuginfo', buildId], { env, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
      );
      expect(readFileSync(found).equals(readFileSync(vmlinux))).toBe(true);
      p.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });

  it('refuses a directory that is not a kdbg cache (exit 66, one line)', async () => {
    const empty = join(work, 'not-a-cache');
    mkdirSync(empty);
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--cache-dir', empty], { encoding: 'utf8' }, (err, _o, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(66);
    expect(r.stderr.split('\n')[0]).toBe(`kdbg: ${empty}: not a kdbg cache (no releases/ directory)`);
  });
});
