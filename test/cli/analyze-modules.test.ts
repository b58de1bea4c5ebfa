// The module step of `kdbg analyze` end to end (issue 17), through a real `kdbg fetch` of the dump
// (no --vmlinux) from a 127.0.0.1 archive-style mirror (fixture 76) carrying the REAL Debian
// linux-image-<release>-dbg package and the dpkg-deb-built debug package of the out-of-tree test
// module. crash's `mod` names the modules the dump had; only their debug files are fetched (the
// kernel package by bisection over its xz blocks); `mod -S` loads them before `bt -l`. Expected
// lines come from the module's own source file (the line of the statement), never from kdbg.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { compareVersions } from '../../src/analyze/crash-binary.js';
import type { DoctorReport } from '../../src/pipeline/doctor.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, loopbackOnlyConfig, runKdbg, startKdbg, tmpDir, type CliResult } from './fetch-cli.js';

interface MirrorManifest {
  release: string;
  kernelDeb: string;
  moduleDeb: string;
  moduleMember: string;
  moduleSha256: string;
}

describe('kdbg analyze: the loaded modules\' debug files by default', () => {
  let server: MirrorServer;
  let cache: string;
  let config: string;
  const m = (): MirrorManifest => JSON.parse(readFileSync(requireFixture('modules-mirror', 'manifest.json'), 'utf8')) as MirrorManifest;
  const dump = (): string => requireFixture('vmcores', 'oops', 'vmcore.kdump-zlib');
  const src = (): string[] => readFileSync(requireFixture('vmcores', 'oops', 'kdbg_oops.c'), 'utf8').split('\n');
  const lineOf = (re: RegExp): number => src().findIndex((l) => re.test(l)) + 1;
  const analyze = (extra: string[]): Promise<CliResult> =>
    runKdbg(['analyze', dump(), '--mirror', server.url, '--config', config, '--cache-dir', cache, '--crash', requireFixture('crash-trixie', 'crash'), ...extra]);
  let first: { r: CliResult; report: AnalysisReport; md: string; dir: string };

  beforeAll(async () => {
    server = await startMirrorServer(requireFixture('modules-mirror'));
    cache = tmpDir('kdbg-modcache-');
    config = loopbackOnlyConfig();
    const dir = tmpDir('kdbg-modout-');
    const r = await analyze(['-o', dir]);
    if (r.code !== 0) throw new Error(`kdbg analyze exited ${r.code}: ${r.stderr}`);
    first = { r, dir, report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as AnalysisReport, md: readFileSync(join(dir, 'report.md'), 'utf8') };
  }, 600_000);
  afterAll(async () => {
    await server?.close();
    cleanupTmp();
  });

  it('names kdbg_oops.c:<line> for the fault and its caller through the default path', () => {
    const { report, md } = first;
    const faultLine = lineOf(/return item->value;/);
    const callLine = lineOf(/kdbg_oops_read_value\(kdbg_oops_current\)/);
    expect(report.summary.location).toMatchObject({ function: 'kdbg_oops_read_value', module: 'kdbg_oops', line: faultLine });
    expect(report.summary.location!.file).toMatch(/kdbg_oops\.c$/);
    const caller = report.callChain[report.callerIndex!]!;
    expect(caller).toMatchObject({ function: 'kdbg_oops_write', module: 'kdbg_oops', line: callLine });
    expect(md).toMatch(new RegExp(`kdbg_oops\\.c:${faultLine}\\b`));
    expect(md).toMatch(new RegExp(`kdbg_oops\\.c:${callLine}\\b`));
  });

  it('loads every module the dump had: the in-tree ones from the real package, kdbg_oops from its -dbg package', () => {
    const { report } = first;
    const names = report.modules.map((x) => x.name).sort();
    expect(names).toContain('kdbg_oops');
    expect(report.moduleDebug!.missing).toEqual([]);
    expect(report.moduleDebug!.loaded.map((x) => x.name).sort()).toEqual(names);
    const ko = report.moduleDebug!.loaded.find((x) => x.name === 'kdbg_oops')!.objectFile;
    expect(createHash('sha256').update(readFileSync(ko)).digest('hex')).toBe(m().moduleSha256);
    expect(report.timings['modulesMs']).toBeGreaterThan(0);
  });

  it('reads only part of the 858 MB kernel package, by Range, and the module package whole', () => {
    const kernel = server.requests.filter((q) => q.path === `/${m().kernelDeb}`);
    const sent = kernel.reduce((a, q) => a + q.bytesSent, 0);
    expect(kernel.every((q) => q.range !== null)).toBe(true);
    const debSize = JSON.parse(readFileSync(requireFixture('debian-vmlinux', 'manifest.json'), 'utf8')).debSize as number;
    expect(sent).toBeLessThan(debSize / 2);
    expect(server.requests.some((q) => q.path === `/${m().moduleDeb}` && q.status < 300)).toBe(true);
    console.log(`kernel package: ${kernel.length} requests, ${sent} of ${debSize} bytes; stderr tail:\n${first.r.stderr.split('\n').filter((l) => /module|blocks/.test(l)).join('\n')}`);
  });

  it('--no-modules: JSON on stdout, module frames without a line, no module step', async () => {
    const before = server.requests.length;
    const r = await analyze(['--no-modules', '--format', 'json', '-q']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AnalysisReport;
    expect(report.schema).toBe('kdbg.analyze/v1');
    expect(report.moduleDebug).toBeNull();
    const write = report.callChain.find((c) => c.function === 'kdbg_oops_write')!;
    expect(write.line).toBeNull();
    expect(report.modules.every((x) => x.objectFile === null)).toBe(true);
    // The vmlinux is cached: no request at all.
    expect(server.requests.length).toBe(before);
  }, 300_000);

  it('kdbg cache prune during the crash session skips the entry it holds in use; the analysis finishes', async () => {
    const [release] = readdirSync(join(cache, 'releases'));
    const { child, done } = startKdbg(['analyze', dump(), '--mirror', server.url, '--config', config, '--cache-dir', cache, '--crash', requireFixture('crash-trixie', 'crash'), '--no-modules', '--format', 'json', '-q']);
    const useDir = join(cache, 'locks', `use-${release!}`);
    const t0 = Date.now();
    while (!(existsSync(useDir) && readdirSync(useDir).length > 0)) {
      if (Date.now() - t0 > 120_000 || child.exitCode !== null) throw new Error('the analysis never held its entry in use');
      await new Promise((r) => setTimeout(r, 20));
    }
    const p = await runKdbg(['cache', 'prune', '--max-size', '0', '--cache-dir', cache, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const j = JSON.parse(p.stdout) as { skipped: Array<{ release: string; reason: string }>; removed: Array<{ kind: string; name: string }> };
    expect(j.skipped).toContainEqual({ release: release!, reason: 'in-use' });
    expect(j.removed.filter((x) => x.kind === 'entry')).toEqual([]);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(cache, 'releases', release!, 'vmlinux'))).toBe(true);
    // The hold went with the session.
    expect(existsSync(useDir)).toBe(false);
  }, 300_000);

  // Debian 12's own crash (8.0.2) against the 6.1 kernel this cache now holds: the real case.
  it.runIf(existsSync('/usr/bin/crash'))('kdbg doctor: the host\'s crash is too old for the cached kernel, with the fix; trixie\'s is not; mirrors answer or not', async () => {
    const dead = 'http://127.0.0.1:9/';
    const old = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--crash', '/usr/bin/crash', '--mirror', server.url, '--mirror', dead, '--config', config, '--timeout', '2']);
    const version = /crash (\S+)/.exec(execFileSync('/usr/bin/crash', ['--version']).toString())![1]!;
    const rep = JSON.parse(old.stdout) as DoctorReport;
    const k = rep.checks.find((c) => c.id === 'crash-kernel' && c.subject === m().release)!;
    if (compareVersions(version, '8.0.4') < 0) {
      expect(old.code).toBe(3);
      expect(k.status).toBe('problem');
      expect(k.message).toContain(`crash ${version} is too old for ${m().release}`);
      expect(k.fix).toMatch(/apt-get install|dnf|zypper|--crash/);
    } else expect(k.status).toBe('ok');
    expect(rep.checks.find((c) => c.id === 'mirror' && c.subject === server.url)?.status).toBe('ok');
    const d = rep.checks.find((c) => c.id === 'mirror' && c.subject === dead)!;
    expect(d.status).toBe('problem');
    expect(d.fix).toContain(dead);
    expect(rep.checks.find((c) => c.id === 'cache')?.status).toBe('ok');
    // The same host with trixie's crash: that kernel is fine.
    const good = await runKdbg(['doctor', '--json', '--cache-dir', cache, '--crash', requireFixture('crash-trixie', 'crash'), '--config', config]);
    const g = JSON.parse(good.stdout) as DoctorReport;
    expect(g.checks.find((c) => c.id === 'crash-kernel' && c.subject === m().release)?.status).toBe('ok');
    // The human form: one line per check, the fix under the problem.
    const text = await runKdbg(['doctor', '--cache-dir', cache, '--crash', '/usr/bin/crash', '--config', config]);
    if (compareVersions(version, '8.0.4') < 0) expect(text.stdout).toMatch(new RegExp(`PROBLEM  crash-kernel ${m().release.replace(/\./g, '\\.')}: .*\\n\\s+fix: `));
  }, 120_000);

  it('kdbg fetch --module: one module of the kernel package by name, a missing one named as such', async () => {
    const r = await runKdbg(['fetch', m().release, '--mirror', server.url, '--config', config, '--cache-dir', cache, '--json', '--module', 'e1000e', '--module', 'kdbg_no_such_module']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; moduleDebug: { found: { name: string; path: string; member: string }[]; missing: { name: string; reason: string }[] } };
    expect(j.moduleDebug.found.map((x) => x.name)).toEqual(['e1000e']);
    // The package's own md5 of that member (dpkg-deb -I … md5sums), against the file written.
    const md5 = execFileSync('dpkg-deb', ['-I', requireFixture('modules-mirror', m().kernelDeb), 'md5sums'], { maxBuffer: 64 << 20 }).toString();
    const line = md5.split('\n').find((l) => l.endsWith(`  ${j.moduleDebug.found[0]!.member}`))!;
    expect(createHash('md5').update(readFileSync(j.moduleDebug.found[0]!.path)).digest('hex')).toBe(line.split(' ')[0]);
    expect(j.moduleDebug.missing).toEqual([{ name: 'kdbg_no_such_module', reason: expect.stringMatching(/^not in linux-image-.*-dbg, kdbg-oops-modules-.*-dbg: built out of tree/) }]);
    expect(r.stderr).toContain('module kdbg_no_such_module: no debug file');
  }, 300_000);

  it('HTML on stdout; a second dump of the same kernel reuses the cached module files', async () => {
    const before = server.requests.length;
    const r = await analyze(['--format', 'html', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('<!doctype html>')).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`kdbg_oops\\.c:${lineOf(/return item->value;/)}\\b`));
    expect(r.stdout).not.toMatch(/<script|<link|src="http/);
    expect(server.requests.length).toBe(before);
  }, 300_000);
});
