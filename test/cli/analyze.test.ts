// End to end: `kdbg analyze` with the real crash (trixie's 8.0.6, fixture 50) on D's QEMU dumps of
// the Debian kernel the archive carried when fixture 30 was built with the vmlinux kdbg extracted from Debian's -dbg package
// (fixture 40). One crash session per dump kind, shared by the assertions. Expected values come
// from what the guest printed on its serial console at the panic (and, for the NMI, whose panic
// text never reaches the console, from crash's own `log`).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisReport } from '../../src/analyze/index.js';
import { parseLog } from '../../src/analyze/parsers/log.js';
import { outputOf, splitTranscript } from '../../src/analyze/transcript.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);
const kdbg = join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js');

interface Outcome {
  dir: string;
  report: AnalysisReport;
  md: string;
  transcript: ReturnType<typeof splitTranscript>;
  console: string[];
  stderr: string;
}

async function analyze(kind: string, extra: string[] = []): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), `kdbg-analyze-${kind}-`));
  const dump = requireFixture('vmcores', kind, 'vmcore.kdump-zlib');
  const r = await run('node', [kdbg, 'analyze', dump, '--vmlinux', debianVmlinux().path, '--crash', requireFixture('crash-trixie', 'crash'), '-o', dir, ...extra], { maxBuffer: 64 << 20 });
  const consoleText = readFileSync(requireFixture('vmcores', kind, 'console.log'), 'utf8');
  return {
    dir,
    report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as AnalysisReport,
    md: readFileSync(join(dir, 'report.md'), 'utf8'),
    transcript: splitTranscript(readFileSync(join(dir, 'crash-transcript.txt'), 'utf8')),
    console: parseLog(consoleText).map((l) => l.text),
    stderr: r.stderr,
  };
}

/** "CPU: 0 PID: 1 Comm: init …" printed with the panic. */
function consoleTask(lines: string[]): { cpu: number; pid: number; comm: string } {
  const l = lines.find((x) => /^CPU: \d+ PID: \d+ Comm: \S+/.test(x))!;
  const m = /^CPU: (\d+) PID: (\d+) Comm: (\S+)/.exec(l)!;
  return { cpu: Number(m[1]), pid: Number(m[2]), comm: m[3]! };
}

describe('kdbg analyze end to end (crash 8.0.6)', () => {
  const got: Record<string, Outcome> = {};
  beforeAll(async () => {
    got['sysrq'] = await analyze('sysrq');
    // The oops module's source sits next to the dump: it doubles as the "sources" for quoting.
    got['oops'] = await analyze('oops', ['--modules-dir', requireFixture('vmcores', 'oops'), '--source-dir', requireFixture('vmcores', 'oops')]);
    got['nmi'] = await analyze('nmi', ['--cmd', 'sys -i']);
  }, 540_000);

  it('sysrq: class, task and panic text as the console printed them', () => {
    const { report, console: con, md } = got['sysrq']!;
    const panic = con.find((l) => l.startsWith('Kernel panic - not syncing'))!;
    expect(report.schema).toBe('kdbg.analyze/v1');
    expect(report.summary.panicClass).toBe('sysrq');
    expect(report.summary.panicMessage).toBe(panic);
    const t = consoleTask(con);
    expect(report.summary.task).toMatchObject({ pid: t.pid, command: t.comm, cpu: t.cpu });
    // The console's call trace: the first reliable ("?"-less) entry after panic+… called panic().
    const trace = con.slice(con.findIndex((l) => /Call Trace:/.test(l)));
    const afterPanic = trace.slice(trace.findIndex((l) => /^\s*panic\+/.test(l)) + 1);
    const caller = afterPanic.find((l) => /^\s*[\w.]+\+0x/.test(l))!.trim().split('+')[0];
    expect(report.summary.location?.function).toBe(caller);
    expect(report.crash.version).toBe(readFileSync(requireFixture('crash-trixie', 'VERSION'), 'utf8').trim());
    expect(report.warnings.filter((w) => /too old|PID hash/.test(w))).toEqual([]);
    expect(report.processes!.total).toBe(report.system.tasks);
    // First screen: what, where, why.
    const first = md.split('\n').slice(0, 12).join('\n');
    expect(first).toContain(panic);
    expect(first).toMatch(/\*\*Why \(probably\):\*\* Deliberately triggered/);
  });

  it('oops: NULL dereference, address, function+offset, module and source line', () => {
    const { report, console: con } = got['oops']!;
    const bug = con.find((l) => /NULL pointer dereference/.test(l))!;
    const rip = /RIP: 0010:(\w+)\+(0x[0-9a-f]+)\/0x[0-9a-f]+ \[(\w+)\]/.exec(con.find((l) => /RIP: 0010:/.test(l))!)!;
    expect(report.summary.panicClass).toBe('null-dereference');
    expect(bug).toContain(report.summary.faultAddress!);
    expect(report.summary.location).toMatchObject({ function: rip[1], offset: parseInt(rip[2]!, 16), module: rip[3] });
    expect(report.summary.location?.file).toMatch(/kdbg_oops\.c$/);
    expect(report.summary.location?.line).toBeGreaterThan(0);
    const t = consoleTask(con);
    expect(report.summary.task).toMatchObject({ pid: t.pid, command: t.comm, cpu: t.cpu });
    expect(report.summary.panicMessage).toBe(con.find((l) => l.startsWith('Kernel panic - not syncing'))!);
    expect(report.modules.map((m) => m.name)).toContain(rip[3]);
    // The quoted source: the faulting line of the real file, with context.
    const src = readFileSync(requireFixture('vmcores', 'oops', 'kdbg_oops.c'), 'utf8').split('\n');
    const q = report.source!;
    expect(q.line).toBe(report.summary.location!.line);
    expect(q.lines[q.line - q.first]).toBe(src[q.line - 1]);
    expect(got['oops']!.md).toContain(`## Source: ${q.file}:${q.line}`);
    // With the module's debuginfo loaded, the module frames have their place too; the fault's
    // caller (kdbg_oops_write) is quoted third, after the call chain and the faulting line.
    const chain = report.callChain;
    const fault = chain[report.faultIndex!]!;
    expect(fault).toMatchObject({ kind: 'exception', function: rip[1], file: report.summary.location!.file, line: q.line });
    const caller = chain[report.callerIndex!]!;
    expect(caller.module).toBe(rip[3]);
    expect(caller.file).toMatch(/kdbg_oops\.c$/);
    const writeLine = src.findIndex((l) => /kdbg_oops_read_value\(kdbg_oops_current\)/.test(l)) + 1;
    expect(caller.line).toBe(writeLine);
    expect(report.callerSource!.lines[writeLine - report.callerSource!.first]).toBe(src[writeLine - 1]);
    const md = got['oops']!.md;
    const at = ['## Call chain', `## Source: ${q.file}:${q.line}`, '## Caller: '].map((h) => md.indexOf(h));
    expect(at[0]).toBeGreaterThan(0);
    expect(at[1]).toBeGreaterThan(at[0]!);
    expect(at[2]).toBeGreaterThan(at[1]!);
  });

  it('sysrq: every frame of the backtrace has the file:line binutils\' addr2line reads from the DWARF', async () => {
    const { report, md } = got['sysrq']!;
    const frames = report.callChain.filter((c) => c.kind === 'frame');
    expect(frames.length).toBe(report.backtrace!.frames.length);
    expect(frames.length).toBeGreaterThan(3);
    // An independent DWARF reader, on the same return addresses crash's bt -l looked up.
    const a2l = await run('addr2line', ['-e', debianVmlinux().path, ...frames.map((f) => f.address!)]);
    const want = a2l.stdout.trim().split('\n');
    expect(want.length).toBe(frames.length);
    frames.forEach((f, i) => {
      if (/^\?\?|:\?$|:0$/.test(want[i]!)) return; // no line in the DWARF: nothing to demand
      expect(`${f.file}:${f.line}`).toBe(want[i]!.replace(/ \(discriminator \d+\)$/, ''));
    });
    expect(frames.every((f) => f.file !== null && f.line !== null)).toBe(true);
    // The caller of the located function is the next frame, and the report reads chain → (source) → caller.
    expect(report.faultIndex).not.toBeNull();
    expect(report.callChain[report.faultIndex!]!.function).toBe(report.summary.location!.function);
    expect(report.callerIndex).toBe(report.faultIndex! + 1);
    // Run with --vmlinux and no --source-dir: no sources, and the report says so instead of failing.
    expect(report.source).toBeNull();
    expect(report.sourceNote).toMatch(/no kernel sources/);
    expect(md.indexOf('## Call chain')).toBeGreaterThan(0);
    expect(md.indexOf('## Call chain')).toBeLessThan(md.indexOf('## Findings'));
    expect(md).toContain(`${frames[0]!.file}:${frames[0]!.line}`);
  });

  it('nmi: class and message from crash\'s log (the console never saw them), --cmd output kept', () => {
    const { report, transcript, console: con } = got['nmi']!;
    const log = parseLog(outputOf(transcript, 'log')!).map((l) => l.text);
    const panic = log.find((l) => l.startsWith('Kernel panic - not syncing'))!;
    expect(con.some((l) => l.startsWith('Kernel panic'))).toBe(false);
    expect(panic).toMatch(/NMI/);
    expect(report.summary.panicClass).toBe('nmi');
    expect(report.summary.panicMessage).toBe(panic);
    const rip = /RIP: 0010:(\w+)\+(0x[0-9a-f]+)/.exec(log.find((l) => /RIP: 0010:/.test(l))!)!;
    expect(report.summary.location).toMatchObject({ function: rip[1], offset: parseInt(rip[2]!, 16) });
    expect(report.backtrace?.stackSwitches).toContain('NMI exception stack');
    expect(transcript.map((s) => s.command)).toContain('sys -i');
  });

  it('writes all four files and one HTML page without external resources', () => {
    const html = readFileSync(join(got['oops']!.dir, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain(got['oops']!.report.summary.location!.function);
  });

  it('gives the three crashes three signatures, each the one the first look of the same dump gives', async () => {
    const { analyzeDumpOnly } = await import('../../src/pipeline/analyze.js');
    const ids = new Set<string>();
    for (const k of ['sysrq', 'oops', 'nmi']) {
      const s = got[k]!.report.summary.signature;
      expect(s.id).toMatch(/^[0-9a-f]{12}$/);
      ids.add(s.id);
      const look = await analyzeDumpOnly({ dump: requireFixture('vmcores', k, 'vmcore.kdump-zlib') });
      expect(look.report.firstLook!.signature).toEqual(s);
      expect(got[k]!.md).toContain(`**Signature:** \`${s.id}\` ${s.text}`);
    }
    expect(ids.size).toBe(3);
  });

  it('sets the dump\'s own logged trace beside bt: the log side is makedumpfile\'s Call Trace, every bt frame appears once', () => {
    for (const kind of ['sysrq', 'oops', 'nmi']) {
      const { report, md } = got[kind]!;
      const c = report.logVsBt!;
      expect(c, kind).not.toBeNull();
      // The oracle for the log side: makedumpfile --dump-dmesg's text of the same dump, read here
      // with a regex: the kernel-mode RIP lines and frame lines, up to the end of the first trace.
      const text = readFileSync(requireFixture('vmcores', kind, 'vmcore-dmesg.txt'), 'utf8').split('\n').map((l) => l.replace(/^\[[ \d.]+\] /, ''));
      const end = text.findIndex((l, i) => i > text.findIndex((x) => x === 'Call Trace:') && /<\/TASK>|^---\[ end|^Modules linked in|^Kernel Offset/.test(l));
      const want = text.slice(0, end).flatMap((l) => {
        const rip = /^RIP: 0010:(\S+)\/0x[0-9a-f]+( \[\w+\])?$/.exec(l);
        if (rip) return [`${rip[1]}${rip[2] ?? ''}`];
        const fr = /^ (\? )?([\w.]+\+0x[0-9a-f]+)\/0x[0-9a-f]+( \[\w+\])?$/.exec(l);
        return fr ? [`${fr[1] ?? ''}${fr[2]}${fr[3] ?? ''}`] : [];
      });
      expect(want.length, kind).toBeGreaterThan(4);
      expect(c.rows.filter((r) => r.log !== null).map((r) => r.log), kind).toEqual(want);
      // The bt side: every call-chain entry once, in order; a "both" row names one function on each side.
      expect(c.rows.filter((r) => r.chainIndex !== null).map((r) => r.chainIndex), kind).toEqual(report.callChain.map((_, i) => i));
      const base = (s: string): string => s.replace(/^\? /, '').replace(/^#\d+ |^\[exception RIP: /, '').replace(/[+\] ].*$/, '').replace(/\.(cold|isra\.\d+|constprop\.\d+|part\.\d+)$/, '');
      for (const r of c.rows.filter((x) => x.status === 'both')) expect(base(r.log!), kind).toBe(base(r.bt!));
      expect(c.matched, kind).toBeGreaterThan(4);
      // What one side has and the other lacks is named in the verdict and marked in report.md.
      for (const x of c.logOnly) expect(report.callChain.some((e) => base(x) === e.function.replace(/\.cold$/, '')), `${kind}: ${x}`).toBe(false);
      expect(md).toContain("## The dump's own log beside `bt`");
      expect(md).toContain(`${c.verdict}.`);
    }
    // The oops: the exception RIP of both sides is one row, with the module.
    const oops = got['oops']!.report;
    const exc = oops.logVsBt!.rows.find((r) => r.bt?.startsWith('[exception RIP: '))!;
    expect(exc.status).toBe('both');
    expect(exc.log).toContain(` [${oops.summary.location!.module}]`);
  });

  it('runs exactly one crash session per dump and keeps the plan', () => {
    const cmds = got['sysrq']!.transcript.map((s) => s.command);
    for (const c of ['sys', 'bt -l', 'log', 'bt -a', 'kmem -i', 'ps', 'foreach UN bt', 'mod']) expect(cmds).toContain(c);
    expect(cmds.some((c) => c.startsWith('dis -rl '))).toBe(true);
    expect(got['sysrq']!.report.timings['crashMs']).toBeGreaterThan(0);
  });
});
