// analyze's failure paths and the old-crash warning, with real binaries: Debian 12's own crash
// 8.0.2 (too old for 6.1.192: misses most tasks), a missing crash, a crash session that times
// out, and a vmlinux of another kernel.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { debianVmlinux, requireFixture, vmcoreKernel } from '../helpers/fixtures.js';

const run = promisify(execFile);
const kdbg = join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js');

async function kdbgRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [kdbg, ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('kdbg analyze: errors and warnings', () => {
  const dump = (): string => requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib');

  it.runIf(existsSync('/usr/bin/crash'))('warns that bookworm\'s crash 8.0.2 is too old for 6.1.192, and shows why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-old-'));
    const r = await kdbgRun(['analyze', dump(), '--vmlinux', debianVmlinux().path, '--crash', '/usr/bin/crash', '-o', dir]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as AnalysisReport;
    expect(rep.crash.version).toMatch(/^8\.0\.[0-3]$/);
    expect(rep.crash.tooOld).toMatch(/crash >= 8\.0\.4 is needed/);
    expect(r.stderr).toMatch(/too old/);
    // The same advice as kdbg doctor: the command that gets a new enough crash on this host.
    expect(rep.crash.fix).toMatch(/apt-get|dnf|zypper|--crash/);
    expect(r.stderr).toContain(`fix on this host: ${rep.crash.fix}`);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(`**Fix:** \`${rep.crash.fix}\``);
    // The evidence crash itself prints while loading, surfaced as a warning.
    expect(rep.warnings.join('\n')).toMatch(/not found in PID hash.*the process list is incomplete/);
    expect(rep.summary.panicClass).toBe('sysrq');
  }, 300_000);

  it('crash missing: one line with the install hint, exit 69', async () => {
    const r = await kdbgRun(['analyze', dump(), '--vmlinux', debianVmlinux().path, '--crash', '/nonexistent/crash', '-q']);
    expect(r.code).toBe(69);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^kdbg: crash not found: --crash names \/nonexistent\/crash/);
    expect(r.stderr).toMatch(/hint: install crash/);
  });

  it('crash timing out: AnalysisError exit 1, transcript kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-timeout-'));
    const r = await kdbgRun(['analyze', dump(), '--vmlinux', debianVmlinux().path, '--crash', requireFixture('crash-trixie', 'crash'), '--timeout', '2', '-o', dir, '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/crash timed out after 2 s/);
    expect(readFileSync(join(dir, 'crash-transcript.txt'), 'utf8')).toMatch(/^# kdbg analyze transcript/);
  });

  it('a dump crash cannot read: its own message surfaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-bad-'));
    // A real ELF core header of the dump but nothing else: identify succeeds, crash gives up.
    const elf = requireFixture('vmcores', 'sysrq', 'vmcore.elf');
    const cut = join(dir, 'vmcore.truncated');
    const fd = readFileSync(elf).subarray(0, 1 << 20);
    writeFileSync(cut, fd);
    const r = await kdbgRun(['analyze', cut, '--vmlinux', debianVmlinux().path, '--crash', requireFixture('crash-trixie', 'crash'), '-o', dir, '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kdbg: crash exited .*: .+/m);
  }, 300_000);

  it('without --vmlinux the dump\'s kernel goes to the fetch stage (--offline, empty cache: exit 69 naming the release)', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-cache-'));
    const r = await kdbgRun(['analyze', dump(), '--offline', '--cache-dir', cache, '--crash', '/nonexistent', '-q']);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`kdbg: ${vmcoreKernel().release}: not in the cache`);
  });

  it('another kernel\'s vmlinux is refused before crash runs (exit 67)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-mm-'));
    const src = join(dir, 'b.c');
    writeFileSync(src, 'const char linux_banner[] = "Linux version 5.10.0-99-amd64 (a@b) (gcc) #1 SMP\\n";\nint main(void) { return linux_banner[0]; }\n');
    await run('gcc', ['-o', join(dir, 'vmlinux'), src]);
    const r = await kdbgRun(['analyze', dump(), '--vmlinux', join(dir, 'vmlinux'), '--crash', '/nonexistent', '-q']);
    expect(r.code).toBe(67);
    expect(r.stderr).toContain(`release: dump "${vmcoreKernel().release}" vs vmlinux "5.10.0-99-amd64"`);
  });
});
