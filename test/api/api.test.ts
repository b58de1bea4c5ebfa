// The library API as a user's script meets it: the package imported by its own name ('kdbg',
// resolved through package.json "exports" to dist/, so run `npm run build` first), fetching from
// the rpmbuild-made CentOS 7 fixture mirror served on 127.0.0.1. Expected digests come from the
// fixture manifest (sha256sum of the real files), not from kdbg.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kdbg from 'kdbg';
import { fetch, NotFoundError, type FetchResult, type ProgressEvent } from 'kdbg';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';
import { cleanupTmp, isolatedEnv, loopbackOnlyConfig, repoRoot, tmpDir } from '../cli/fetch-cli.js';

const manifest = readRpmManifest();
const mirrorRoot = join(rpmManifestPath, '..', manifest.mirrorBase);
const el7 = manifest.packages.filter((p) => p.set === 'el7');
const vmPkg = el7.find((p) => p.role === 'vmlinux')!;
const srcPkg = el7.find((p) => p.role === 'source')!;
const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let server: MirrorServer;
const config = loopbackOnlyConfig();
beforeAll(async () => {
  server = await startMirrorServer(mirrorRoot);
});
afterAll(async () => {
  await server.close();
  cleanupTmp();
});

describe("import('kdbg')", () => {
  it('exports the operations and the error classes from one entry', () => {
    for (const name of ['fetch', 'identify', 'analyze', 'resolve', 'fetchBatch', 'runWatch'] as const) expect(typeof kdbg[name]).toBe('function');
    for (const name of ['KdbgError', 'UsageError', 'NotFoundError', 'IntegrityError', 'NetworkError', 'AnalysisError'] as const) expect(typeof kdbg[name]).toBe('function');
    expect(new kdbg.NotFoundError('x')).toBeInstanceOf(kdbg.KdbgError);
  });

  it('fetch() returns the published, verified vmlinux; the second call answers from the cache without a request', async () => {
    const cacheDir = tmpDir('kdbg-api-cache-');
    const events: ProgressEvent[] = [];
    const opts = { cacheDir, mirrors: [server.url], configFile: config, env: {}, onProgress: (e: ProgressEvent) => events.push(e) };
    server.requests.length = 0;
    const r: FetchResult = await fetch('3.10.0-327.el7', opts);
    const entryDir = join(cacheDir, 'releases', vmPkg.uname);
    expect(r.vmlinux).toBe(join(entryDir, 'vmlinux'));
    expect(sha256File(r.vmlinux)).toBe(vmPkg.vmlinuxSha256);
    expect(r.release.uname).toBe(vmPkg.uname);
    expect(r.cached).toBe(false);
    expect(r.entry.buildId).toBe(vmPkg.buildId);
    expect(r.source).toBe(join(entryDir, 'source'));
    expect(r.packages.map((p) => [p.role, p.name, p.sha256])).toEqual([
      ['vmlinux', vmPkg.name, vmPkg.sha256],
      ['source', srcPkg.name, srcPkg.sha256],
    ]);
    expect(server.requests.length).toBeGreaterThan(0);
    // The named stages ran in order, each reported as it finished.
    const done = events.flatMap((e) => (e.kind === 'stage' && e.ms !== undefined ? [e.stage] : []));
    expect(done).toEqual(['input', 'lookup', 'plan', 'resolve', 'download', 'verify', 'publish']);

    server.requests.length = 0;
    const warm = await fetch('3.10.0-327.el7.x86_64', opts);
    expect(server.requests).toEqual([]);
    expect(warm).toMatchObject({ cached: true, vmlinux: r.vmlinux });

    const miss = fetch('3.10.0-1160.el7', { ...opts, offline: true });
    await expect(miss).rejects.toBeInstanceOf(NotFoundError);
    await expect(miss).rejects.toMatchObject({ exitCode: 69, code: 'KDBG_E_NOT_FOUND' });
  });

  it("docs/api.md's prefetch script, run by node from a project that depends on kdbg, prints each release and its path", async () => {
    const script = readFileSync(join(repoRoot, 'examples', 'prefetch.mjs'), 'utf8');
    expect(readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8')).toContain(script.trim());
    // A user's project: its own directory with kdbg in node_modules.
    const project = tmpDir('kdbg-api-user-');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(repoRoot, join(project, 'node_modules', 'kdbg'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'prefetch', type: 'module', private: true }));
    writeFileSync(join(project, 'prefetch.mjs'), script);
    const cacheDir = tmpDir('kdbg-api-cache-');
    const env = isolatedEnv({ KDBG_CACHE_DIR: cacheDir, KDBG_CONFIG: config });
    const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['prefetch.mjs', ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const r = await run(['--mirror', server.url, '3.10.0-327.el7', '3.10.0-999.el7']);
    const vmlinux = join(cacheDir, 'releases', vmPkg.uname, 'vmlinux');
    expect(r.stdout).toBe(`3.10.0-327.el7\t${vmlinux}\n`);
    expect(r.stderr).toMatch(/^3\.10\.0-999\.el7\tKDBG_E_NOT_FOUND \(exit 69\): /);
    expect(r.code).toBe(1);
    expect(existsSync(vmlinux) && sha256File(vmlinux)).toBe(vmPkg.vmlinuxSha256);
  });
});
