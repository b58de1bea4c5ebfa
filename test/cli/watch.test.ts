// `kdbg watch` end to end, as a real process: a crash directory receives a dump the kdump-tools
// way (dmesg, then dump-incomplete written in pieces, then renamed to dump.<stamp>); watch
// identifies it (real identify on an ELF vmcore whose VMCOREINFO names a release and a BUILD-ID),
// fetches the vmlinux by build-id from a real elfutils `debuginfod` (the package route is never
// needed), publishes it in the cache and writes the report next to the dump. A second file that
// is not a dump is logged and recorded once, never retried; SIGTERM exits 0 with the state saved;
// a restart reprocesses nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDumpName } from '../../src/pipeline/watch/loop.js';
import { startDebuginfod, metricValue, type DebuginfodProcess } from '../helpers/debuginfod.js';
import { buildElfVmcore } from './watch-fixtures.js';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'kdbg.js');
const RELEASE = '6.1.0-56-amd64';

/** The parts of watch.json the tests read (schema in docs/hosts.md). */
interface WatchReport {
  identity: { release: string; buildId: string };
  fetch: { via: string; vmlinux: string };
  dmesg: string | null;
}

interface Running {
  proc: ChildProcess;
  events: Record<string, unknown>[];
  stderr: string[];
  exit: Promise<number | null>;
}

function startWatch(args: string[], env: NodeJS.ProcessEnv): Running {
  const proc = spawn(process.execPath, [bin, 'watch', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = { proc, events: [], stderr: [], exit: new Promise((res) => proc.once('exit', (code) => res(code))) };
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      if (line.trim()) r.events.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    let i;
    while ((i = err.indexOf('\n')) >= 0) {
      r.stderr.push(err.slice(0, i));
      err = err.slice(i + 1);
    }
  });
  return r;
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kdbg watch on a kdump-tools crash directory', () => {
  const work = mkdtempSync(join(tmpdir(), 'kdbg-watch-'));
  const crash = join(work, 'crash');
  const cacheDir = join(work, 'cache');
  const stateFile = join(work, 'state', 'watch.json');
  const served = join(work, 'served');
  let vmlinuxId = '';
  let dbg: DebuginfodProcess;
  let env: NodeJS.ProcessEnv;
  const stamp = '202611251200';
  const stampDir = join(crash, stamp);
  const dumpPath = join(stampDir, `dump.${stamp}`);
  const badDir = join(crash, '127.0.0.1-2026-11-25-12:05:00');
  const badPath = join(badDir, 'vmcore');

  beforeAll(async () => {
    if (!existsSync(join(repo, 'dist', 'cli', 'commands', 'watch.js'))) throw new Error('dist/ is not built (npm run build)');
    mkdirSync(crash, { recursive: true });
    mkdirSync(served, { recursive: true });
    // The kernel the "dump" claims to come from: a real ELF with a GNU build-id, served by debuginfod.
    writeFileSync(join(work, 'k.c'), 'int kdbg_watch_kernel(void) { return 42; }\nint main(void) { return kdbg_watch_kernel() - 42; }\n');
    execFileSync('gcc', ['-g', '-O0', '-Wl,--build-id=sha1', '-o', join(served, 'vmlinux'), join(work, 'k.c')]);
    const re = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', join(served, 'vmlinux')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    vmlinuxId = re![1]!;
    dbg = await startDebuginfod(['-F'], [served], (t) => metricValue(t, 'found_debuginfo_total{source="files"}') >= 1);
    env = { ...process.env, DEBUGINFOD_URLS: dbg.url, KDBG_CACHE_DIR: cacheDir, XDG_STATE_HOME: join(work, 'xdg') };
    delete env['KDBG_NO_DEBUGINFOD'];
  });

  afterAll(async () => {
    await dbg?.stop();
  });

  it('isDumpName knows the RHEL and kdump-tools names, and nothing else', () => {
    for (const n of ['vmcore', 'vmcore.flat', `dump.${stamp}`, `dump.${stamp}.xz`, `vmcore.${stamp}`]) expect(isDumpName(n)).toBe(true);
    for (const n of ['vmcore-incomplete', 'dump-incomplete.gz', 'vmcore-dmesg.txt', `dmesg.${stamp}`, 'vmcore.kdbg-report.json', 'kexec_cmd', 'vmcore.json']) {
      expect(isDumpName(n)).toBe(false);
    }
  });

  it('processes a renamed dump once, records an unreadable one once, stops on SIGTERM with exit 0', async () => {
    const w = startWatch(['--json', '--settle', '0.4', '--rescan', '0.3', '--state', stateFile, crash], env);
    try {
      await waitFor('started', () => w.events.find((e) => e['event'] === 'started'));
      // kdump-tools: stamp dir, dmesg first, then makedumpfile into dump-incomplete, then mv.
      mkdirSync(stampDir);
      writeFileSync(join(stampDir, `dmesg.${stamp}`), '[    0.000000] Linux version 6.1.0-56-amd64\n');
      const bytes = buildElfVmcore({ release: RELEASE, buildId: vmlinuxId, loadBytes: 256 * 1024 });
      const tmp = join(stampDir, 'dump-incomplete');
      const fd = openSync(tmp, 'w');
      for (let off = 0; off < bytes.length; off += 64 * 1024) {
        writeSync(fd, bytes, off, Math.min(64 * 1024, bytes.length - off));
        await new Promise((r) => setTimeout(r, 150));
      }
      closeSync(fd);
      // Longer than --settle: a watcher that only looked at size stability would start now.
      await new Promise((r) => setTimeout(r, 1200));
      expect(w.events.some((e) => e['event'] === 'processing')).toBe(false);
      const renamedAt = Date.now();
      renameSync(tmp, dumpPath);
      const done = await waitFor('done', () => w.events.find((e) => e['event'] === 'done' && e['dump'] === dumpPath));
      console.log(`watch: rename → report in ${Date.now() - renamedAt} ms`);

      // The report is next to the dump and says where the vmlinux came from.
      const reportFile = join(`${dumpPath}.kdbg`, 'watch.json');
      expect(done['reports']).toEqual([reportFile]);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as WatchReport;
      expect(report.identity.release).toBe(RELEASE);
      expect(report.identity.buildId).toBe(vmlinuxId);
      expect(report.fetch.via).toBe('debuginfod');
      expect(report.dmesg).toBe(join(stampDir, `dmesg.${stamp}`));
      // The cache now holds the served vmlinux, byte for byte, indexed by build-id.
      const cached = join(cacheDir, 'releases', RELEASE, 'vmlinux');
      expect(report.fetch.vmlinux).toBe(cached);
      expect(readFileSync(cached).equals(readFileSync(join(served, 'vmlinux')))).toBe(true);
      expect(readFileSync(join(cacheDir, 'buildid', vmlinuxId), 'utf8').trim()).toBe(RELEASE);

      // A file named like a dump that is not one (RHEL layout, written directly: settle path).
      mkdirSync(badDir);
      writeFileSync(badPath, Buffer.alloc(8192, 0x41));
      const failed = await waitFor('failed', () => w.events.find((e) => e['event'] === 'failed' && e['dump'] === badPath));
      expect((failed['error'] as Record<string, unknown>)['code']).toMatch(/^KDBG_E_/);
      // Several rescans later it has not been retried.
      await new Promise((r) => setTimeout(r, 1500));
      expect(w.events.filter((e) => e['event'] === 'failed')).toHaveLength(1);
      expect(w.events.filter((e) => e['event'] === 'processing')).toHaveLength(2);
      expect(w.stderr.filter((l) => l.includes(`failed ${badPath}`))).toHaveLength(1);

      w.proc.kill('SIGTERM');
      expect(await w.exit).toBe(0);
      expect(w.events.at(-1)).toEqual({ event: 'stopped', processed: 1, failed: 1 });
    } finally {
      if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
    }
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { items: Record<string, { status: string }> };
    expect(state.items[`${stamp}/dump.${stamp}`]?.status).toBe('done');
    expect(state.items['127.0.0.1-2026-11-25-12:05:00/vmcore']?.status).toBe('failed');
  });

  it('after a restart, processes nothing it already handled', async () => {
    const w = startWatch(['--json', '--once', '--settle', '0.2', '--state', stateFile, crash], env);
    expect(await w.exit).toBe(0);
    expect(w.events.map((e) => e['event'])).toEqual(['started', 'stopped']);
    expect(w.events[0]!['known']).toBe(2);
    expect(w.events[1]).toEqual({ event: 'stopped', processed: 0, failed: 0 });
  });

  it('a dump replaced at the same path (new size/mtime) is processed again; --report-dir is honoured', async () => {
    const reportDir = join(work, 'reports');
    writeFileSync(dumpPath, buildElfVmcore({ release: RELEASE, buildId: vmlinuxId, loadBytes: 128 * 1024 }));
    const w = startWatch(['--json', '--once', '--settle', '0.2', '--report-dir', reportDir, '--state', stateFile, crash], env);
    expect(await w.exit).toBe(0);
    const done = w.events.find((e) => e['event'] === 'done');
    expect(done?.['reports']).toEqual([join(reportDir, stamp, `dump.${stamp}.kdbg`, 'watch.json')]);
    const report = JSON.parse(readFileSync(join(reportDir, stamp, `dump.${stamp}.kdbg`, 'watch.json'), 'utf8')) as WatchReport;
    // Second time round the vmlinux is already cached: no debuginfod request.
    expect(report.fetch.via).toBe('cache');
  });
});
