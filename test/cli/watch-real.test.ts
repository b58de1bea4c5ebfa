// Two kdbg hosts on real artefacts: host A's cache holds Debian's real vmlinux (of the kernel the
// archive carried when the fixtures were built)
// (extracted by kdbg from the -dbg package, scripts/fixtures/40-debian-vmlinux.sh) and runs
// `kdbg serve`; host B runs `kdbg watch` on a RHEL-style crash directory into which a real QEMU +
// makedumpfile dump (scripts/fixtures/30-vmcores.sh) arrives as vmcore-incomplete → vmcore.
// B identifies the dump, gets the vmlinux from A by the dump's BUILD-ID over the debuginfod API,
// and its cache then holds a byte-identical vmlinux (sha256 as dpkg-deb | tar gives it).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';
import { startServe, type RunningServer } from '../../src/serve/server.js';
import { debianVmlinux, guestCpu, requireFixture } from '../helpers/fixtures.js';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'kdbg.js');
const { release: RELEASE, path: vmlinuxFx, vmlinuxSha256: vmlinuxSha } = debianVmlinux();
const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as {
  dumps: { file: string; format: string; expected: { release: string | null; buildId: string | null } }[];
  kinds: Record<string, { panicConsole: string[] }>;
};
const crashBin = requireFixture('crash-trixie', 'crash');
const dumpFx = manifest.dumps.find((d) => d.file === 'oops/vmcore.kdump-zlib')!;

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

describe('kdbg watch on host B ← kdbg serve on host A (real vmlinux, real dump)', () => {
  const work = mkdtempSync(join(tmpdir(), 'kdbg-watch-real-'));
  let server: RunningServer;

  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist', 'cli', 'commands', 'watch.js'))) throw new Error('dist/ is not built (npm run build)');
    const cacheA = await Cache.open(join(work, 'cache-a'));
    const staging = await cacheA.makeStagingDir(RELEASE);
    // A hard link when the fixture cache is on the same file system (633 MB not copied), else a copy.
    try {
      linkSync(vmlinuxFx, join(staging, 'vmlinux'));
    } catch {
      copyFileSync(vmlinuxFx, join(staging, 'vmlinux'));
    }
    await cacheA.publishEntry(
      staging,
      {
        release: RELEASE,
        family: 'debian',
        vmlinux: join(staging, 'vmlinux'),
        vmlinuxSha256: vmlinuxSha,
        source: null,
        modules: null,
        buildId: dumpFx.expected.buildId,
        banner: null,
        packages: [],
        createdAt: new Date().toISOString(),
      },
      { source: false, modules: false },
    );
    server = await startServe({ cacheDir: cacheA.root, host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    // Host B's cache holds a 633 MB copy of the vmlinux: leave nothing behind in /tmp.
    rmSync(work, { recursive: true, force: true });
  });

  it('fetches the vmlinux by the dump build-id from the other host, byte-identical', async () => {
    expect(dumpFx.expected.release).toBe(RELEASE);
    expect(dumpFx.expected.buildId).toMatch(/^[0-9a-f]{40}$/);
    const crash = join(work, 'crash');
    const crashDir = join(crash, '127.0.0.1-2026-11-25-12:00:00');
    mkdirSync(crashDir, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: server.url, KDBG_CACHE_DIR: join(work, 'cache-b') };
    delete env['KDBG_NO_DEBUGINFOD'];
    const p = spawn(process.execPath, [bin, 'watch', '--json', '--settle', '0.5', '--rescan', '0.5', '--state', join(work, 'state.json'), crash], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((res) => p.once('exit', (c) => res(c)));
    const events: Record<string, unknown>[] = [];
    let out = '';
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        events.push(JSON.parse(out.slice(0, i)) as Record<string, unknown>);
        out = out.slice(i + 1);
      }
    });
    p.stderr!.resume();
    try {
      // RHEL kdump: vmcore-dmesg.txt, then the dump under vmcore-incomplete, renamed when complete.
      copyFileSync(requireFixture('vmcores', 'oops', 'vmcore-dmesg.txt'), join(crashDir, 'vmcore-dmesg.txt'));
      copyFileSync(requireFixture('vmcores', dumpFx.file), join(crashDir, 'vmcore-incomplete'));
      await new Promise((r) => setTimeout(r, 1000));
      renameSync(join(crashDir, 'vmcore-incomplete'), join(crashDir, 'vmcore'));
      const t0 = Date.now();
      const deadline = t0 + 110_000;
      while (!events.some((e) => e['event'] === 'done' || e['event'] === 'failed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const done = events.find((e) => e['event'] === 'done');
      expect(done, JSON.stringify(events.filter((e) => e['event'] === 'failed'))).toBeDefined();
      console.log(`watch (real dump, 633 MB vmlinux from kdbg serve): rename → report in ${Date.now() - t0} ms`);
      const report = JSON.parse(readFileSync(join(crashDir, 'vmcore.kdbg', 'watch.json'), 'utf8')) as {
        identity: { release: string; buildId: string };
        fetch: { via: string; vmlinux: string };
        dmesg: string;
      };
      expect(report.identity.release).toBe(RELEASE);
      expect(report.identity.buildId).toBe(dumpFx.expected.buildId);
      expect(report.fetch.via).toBe('debuginfod');
      expect(report.dmesg).toBe(join(crashDir, 'vmcore-dmesg.txt'));
      expect(report.fetch.vmlinux).toBe(join(work, 'cache-b', 'releases', RELEASE, 'vmlinux'));
      expect(await sha256(report.fetch.vmlinux)).toBe(vmlinuxSha);
      expect(server.metrics.requestCount('debuginfo', 200)).toBe(1);
      p.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  });

  it('--analyze: a second real dump (sysrq, kdump-tools layout) gets a crash triage report next to it', async () => {
    const crash = join(work, 'crash2');
    const stamp = '202611251230';
    const d = join(crash, stamp);
    mkdirSync(d, { recursive: true });
    const sysrq = manifest.dumps.find((x) => x.file === 'sysrq/vmcore.kdump-zlib')!;
    copyFileSync(requireFixture('vmcores', 'sysrq', 'vmcore-dmesg.txt'), join(d, `dmesg.${stamp}`));
    copyFileSync(requireFixture('vmcores', sysrq.file), join(d, `dump.${stamp}`));
    const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_URLS: server.url, KDBG_CACHE_DIR: join(work, 'cache-b'), KDBG_CRASH: crashBin };
    const t0 = Date.now();
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [bin, 'watch', '--json', '--once', '--analyze', '--settle', '0.2', '--state', join(work, 'state2.json'), crash], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      p.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      p.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = events.find((e) => e['event'] === 'done');
    expect(done, r.stderr).toBeDefined();
    console.log(`watch --analyze (real sysrq dump, crash ${crashBin}): ${Date.now() - t0} ms`);
    const out = join(d, `dump.${stamp}.kdbg`);
    expect(done!['reports']).toEqual(['watch.json', 'report.md', 'report.json', 'report.html', 'crash-transcript.txt'].map((f) => join(out, f)));
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { summary: { panicClass: string; panicMessage: string | null }; dump: { buildId: string } };
    expect(report.dump.buildId).toBe(sysrq.expected.buildId);
    // The oracle: what the guest console printed at the panic.
    const consoleLine = manifest.kinds['sysrq']!.panicConsole[0]!;
    expect(consoleLine).toContain('sysrq triggered crash');
    expect(report.summary.panicClass).toBe('sysrq');
    expect(consoleLine).toContain(report.summary.panicMessage ?? '<none>');
    const watchJson = JSON.parse(readFileSync(join(out, 'watch.json'), 'utf8')) as { fetch: { via: string }; analysis: { panicClass: string }; firstLook: { headline: string; oops: { kind: string; panic: string } } | null };
    // The first look, from the dump's log alone, came before the fetch and is kept in watch.json.
    expect(watchJson.firstLook?.headline).toMatch(new RegExp(`^panic: sysrq triggered crash in sysrq_handle_crash\\+0x[0-9a-f]+ \\(init, pid 1, CPU ${guestCpu('sysrq')}\\), tainted: none$`));
    expect(watchJson.firstLook?.oops.kind).toBe('panic');
    expect(r.stderr).toContain(`first look: ${watchJson.firstLook!.headline}`);
    expect(watchJson.fetch.via).toBe('cache');
    expect(watchJson.analysis.panicClass).toBe('sysrq');
    expect(readFileSync(join(out, 'report.md'), 'utf8').length).toBeGreaterThan(200);
    // kdbg reports over the watched directory: one analysed dump, the signature watch.json names.
    const sig = (watchJson as unknown as { analysis: { signature: { id: string } }; firstLook: { signature: { id: string } } });
    expect(sig.firstLook.signature.id).toBe(sig.analysis.signature.id);
    const listed = spawnSync(process.execPath, [bin, 'reports', '--json', crash], { encoding: 'utf8' });
    expect(listed.status, listed.stderr).toBe(0);
    const j = JSON.parse(listed.stdout) as { reports: { file: string; status: string; signature: { id: string } | null }[]; groups: { id: string | null; count: number }[] };
    expect(j.reports.map((x) => [x.file, x.status, x.signature?.id])).toEqual([[join(out, 'report.json'), 'analyzed', sig.analysis.signature.id]]);
    expect(j.groups).toMatchObject([{ id: sig.analysis.signature.id, count: 1 }]);
  });
});
