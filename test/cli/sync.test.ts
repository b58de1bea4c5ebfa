// `kdbg sync` (issue 20, item 3) over fixture 10's RPM mirror (rpmbuild packages with real
// vmlinux build-id links, createrepo_c gz/xz metadata) on a 127.0.0.1 server: the kernels are
// the ones the repositories' filelists list, filtered and ordered newest first; a second run
// finds everything cached (a sync resumes by running again); --max-size prunes. Expected
// releases come from the fixture manifest, ordered by GNU `sort -V`, not by kdbg.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, startKdbg, tmpDir } from './fetch-cli.js';

interface Line {
  release?: string;
  status?: string;
  bytes?: number;
  summary?: { kernels: number; fetched: number; cached: number; failed: number; bytes: number; prunedBytes: number };
}

const config = loopbackOnlyConfig();
let mirror: MirrorServer;
/** The el7/el8/el9 kernels of the mirror's debuginfo packages (x86_64), newest first by sort -V. */
let expected: string[];

beforeAll(async () => {
  mirror = await startMirrorServer(join(rpmFixtureRoot, 'mirror'));
  const unames = readRpmManifest()
    .packages.filter((p) => /^mirror\/[789]\/x86_64\//.test(p.file) && p.role === 'vmlinux' && p.buildId)
    .map((p) => p.uname);
  // Order by version-release (arch and +debug/.debug suffixes off), as rpm would.
  const key = (u: string): string => u.replace(/([.+](debug|x86_64))+$/, '');
  const sorted = execFileSync('sort', ['-V', '-r'], { input: [...new Set(unames.map(key))].join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
  expected = sorted.flatMap((k) => unames.filter((u) => key(u) === k).sort());
});

afterAll(async () => {
  await mirror.close();
  cleanupTmp();
});

async function sync(cacheDir: string, extra: string[]): Promise<{ lines: Line[]; code: number | null; stderr: string }> {
  const r = await runKdbg(['sync', '--mirror', mirror.url, '--config', config, '--cache-dir', cacheDir, '--json', '--family', 'rhel', '--arch', 'x86_64', ...extra]);
  return { lines: r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line), code: r.code, stderr: r.stderr };
}

describe('kdbg sync', () => {
  it('fetches the N newest kernels the repositories list; a second run finds them cached', async () => {
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const cacheDir = tmpDir('kdbg-sync-');
    const a = await sync(cacheDir, ['--newest', '2']);
    expect(a.code, a.stderr).toBe(0);
    const items = a.lines.filter((l) => l.release);
    expect(items.map((l) => l.release)).toEqual(expected.slice(0, 2));
    expect(items.map((l) => l.status)).toEqual(['fetched', 'fetched']);
    expect(a.lines.at(-1)?.summary).toMatchObject({ kernels: 2, fetched: 2, cached: 0, failed: 0 });
    expect(readdirSync(join(cacheDir, 'releases')).sort()).toEqual(expected.slice(0, 2).sort());
    expect(a.stderr).toMatch(/\[1\] .*: fetched/);

    const b = await sync(cacheDir, ['--newest', '3']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.lines.filter((l) => l.release).map((l) => l.status)).toEqual(['cached', 'cached', 'fetched']);
    expect(b.lines.at(-1)?.summary).toMatchObject({ kernels: 3, fetched: 1, cached: 2 });
  });

  it('--since keeps releases at or above it; --max-size prunes the least recently used entries', async () => {
    const cacheDir = tmpDir('kdbg-sync-');
    const since = expected[1]!.replace(/([.+](debug|x86_64))+$/, '');
    const a = await sync(cacheDir, ['--since', since, '--max-size', '1K']);
    expect(a.code, a.stderr).toBe(0);
    const got = a.lines.filter((l) => l.release).map((l) => l.release!);
    const key = (u: string): string => u.replace(/([.+](debug|x86_64))+$/, '');
    expect(got.length).toBeGreaterThanOrEqual(2);
    for (const u of got) expect(execFileSync('sort', ['-V'], { input: `${since}\n${key(u)}\n`, encoding: 'utf8' }).trim().split('\n')[0]).toBe(since);
    expect(a.lines.at(-1)?.summary?.prunedBytes).toBeGreaterThan(0);
    expect(readdirSync(join(cacheDir, 'releases')).length).toBeLessThan(got.length);
  });

  it('resumes after a kill: a sync killed during a download, run again, answers what was published from the cache and fetches the rest', async () => {
    const cacheDir = tmpDir('kdbg-sync-');
    const el7 = readRpmManifest().packages.find((p) => p.file.startsWith('mirror/7/x86_64/kernel-debuginfo-') && p.role === 'vmlinux')!;
    const el7Path = `/${el7.file.replace(/^mirror\//, '')}`;
    mirror.setRateLimit(500_000); // the el7 package takes ~9 s: time to kill mid-download
    try {
      const args = ['sync', '--mirror', mirror.url, '--config', config, '--cache-dir', cacheDir, '--json', '--family', 'rhel', '--arch', 'x86_64'];
      const { child, done } = startKdbg(args);
      // Killed one second into the el7 package's download (its first request logged = under way).
      for (let i = 0; i < 600 && !mirror.requests.some((r) => r.path === el7Path); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGKILL');
      const killed = await done;
      expect(killed.signal).toBe('SIGKILL');
      const before = killed.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as Line).release);
      expect(before).not.toContain(el7.uname);
      mirror.setRateLimit(null);
      const again = await sync(cacheDir, []);
      expect(again.code, again.stderr).toBe(0);
      const items = again.lines.filter((l) => l.release);
      expect(items.filter((l) => l.status === 'cached').map((l) => l.release).sort()).toEqual(before.filter((x): x is string => !!x).sort());
      expect(items.find((l) => l.release === el7.uname)?.status).toBe('fetched');
      expect(items.map((l) => l.release).sort()).toEqual([...expected].sort());
      expect(again.lines.at(-1)?.summary?.failed).toBe(0);
    } finally {
      mirror.setRateLimit(null);
    }
  });

  it('a bad --newest is a usage error (exit 64)', async () => {
    const r = await runKdbg(['sync', '--newest', '0', '--config', config, '--cache-dir', tmpDir('kdbg-sync-')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--newest 0/);
  });
});
