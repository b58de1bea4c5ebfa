// Parser and triage tests on transcripts recorded from the real crash (scripts/record-crash-
// transcripts.sh; one folder per crash version) and on the CentOS 7 seed shapes from issue 5.
// Expected values are read from other parts of the same transcript (the kernel log, sys) rather
// than typed in, so a re-recording with another dump keeps the tests meaningful.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSections } from '../../src/analyze/index.js';
import { parseBt, splitLocation } from '../../src/analyze/parsers/bt.js';
import { parseDis } from '../../src/analyze/parsers/dis.js';
import { parseKmemInfo } from '../../src/analyze/parsers/kmem.js';
import { parseLog } from '../../src/analyze/parsers/log.js';
import { parseMod } from '../../src/analyze/parsers/mod.js';
import { parsePs } from '../../src/analyze/parsers/ps.js';
import { parseSym } from '../../src/analyze/parsers/sym.js';
import { parseSys } from '../../src/analyze/parsers/sys.js';
import { outputOf, splitTranscript, formatTranscript } from '../../src/analyze/transcript.js';
import { triage } from '../../src/analyze/triage.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'crash');
const versions = readdirSync(dir).filter((d) => /^\d/.test(d));

function load(version: string, kind: string) {
  return splitTranscript(readFileSync(join(dir, version, `${kind}.txt`), 'utf8'));
}

function triageOf(sections: ReturnType<typeof splitTranscript>) {
  const p = parseSections(sections);
  return { p, t: triage({ sys: p.sys, bt: p.bt, log: p.log, kmem: p.kmem, ps: p.ps, dis: p.dis, sym: p.sym, hung: p.hung }) };
}

/** The "Kernel panic - not syncing: …" text from the transcript's own log. */
function logPanic(sections: ReturnType<typeof splitTranscript>): string {
  const l = parseLog(outputOf(sections, 'log') ?? '').find((x) => x.text.startsWith('Kernel panic - not syncing'));
  if (!l) throw new Error('no panic line in the recorded log');
  return l.text;
}

it('has recorded transcripts for at least one crash version', () => {
  expect(versions.length).toBeGreaterThan(0);
});

for (const v of versions) {
  describe(`crash ${v} transcripts`, () => {
    it('sysrq: sys PANIC equals the log, class sysrq, task from the log CPU/PID line', () => {
      const s = load(v, 'sysrq');
      const { p, t } = triageOf(s);
      expect(p.sys?.panic).toBe(logPanic(s));
      expect(p.sys?.release).toMatch(/^\d+\.\d+/);
      expect(t.panicClass).toBe('sysrq');
      const cpuLine = /CPU: (\d+) PID: (\d+) Comm: (\S+)/.exec(p.log.map((l) => l.text).join('\n'))!;
      expect(t.task).toMatchObject({ cpu: Number(cpuLine[1]), pid: Number(cpuLine[2]), command: cpuLine[3] });
      expect(p.bt?.tasks[0]?.frames[0]?.function).toBe('panic');
      // The log's own call trace: the first reliable entry after panic+… is the caller of panic().
      const texts = p.log.map((l) => l.text);
      const trace = texts.slice(texts.lastIndexOf('Call Trace:'));
      const afterPanic = trace.slice(trace.findIndex((l) => /^\s*panic\+/.test(l)) + 1);
      expect(t.location?.function).toBe(afterPanic.find((l) => /^\s*[\w.]+\+0x/.test(l))!.trim().split('+')[0]);
      expect(Object.values(p.ps?.stateCounts ?? {}).reduce((a, b) => a + b, 0)).toBe(p.ps?.rows.length);
    });

    it('oops: NULL dereference with the address and the RIP function from the log', () => {
      const s = load(v, 'oops');
      const { p, t } = triageOf(s);
      const logText = p.log.map((l) => l.text);
      const bug = logText.find((l) => /NULL pointer dereference/.test(l))!;
      const rip = /RIP: \w+:(\w+)\+(0x[0-9a-f]+)/.exec(logText.find((l) => /RIP: 0010:/.test(l))!)!;
      expect(t.panicClass).toBe('null-dereference');
      expect(bug).toContain(t.faultAddress!);
      expect(t.location?.function).toBe(rip[1]);
      expect(t.location?.offset).toBe(parseInt(rip[2]!, 16));
      // crash 8.0.6 shows the panic() text, 8.0.2 the Oops line: either way a line of the log.
      expect(logText).toContain(p.sys?.panic);
      expect(t.panicMessage).toBe(logPanic(s));
      expect(t.findings.find((f) => f.id === 'panic-class')?.evidence.some((e) => e.line === bug)).toBe(true);
    });

    it('nmi: class nmi, PANIC from sys equals the log, bt shows the NMI stack', () => {
      const s = load(v, 'nmi');
      const { p, t } = triageOf(s);
      expect(t.panicClass).toBe('nmi');
      expect(p.sys?.panic).toBe(logPanic(s));
      expect(p.bt?.tasks[0]?.stackSwitches).toContain('NMI exception stack');
      const exc = p.bt?.tasks[0]?.exceptions[0];
      expect(exc?.registers['RIP']).toMatch(/^[0-9a-f]{16}$/);
      // The log's "RIP: 0010:native_safe_halt+0xb/0x10" and bt's "[exception RIP: native_safe_halt+11]" agree.
      expect(t.location?.function).toBe(exc?.function);
      expect(t.location?.offset).toBe(exc?.offset);
    });

    it('kmem -i rows add up and percentages are read', () => {
      const k = parseKmemInfo(outputOf(load(v, 'sysrq'), 'kmem -i')!);
      const total = k.byLabel['TOTAL MEM']!;
      expect(total.pages).toBeGreaterThan(0);
      expect(k.byLabel['FREE']!.pages + k.byLabel['USED']!.pages).toBe(total.pages);
      expect(k.usedPercent).toBe(k.byLabel['USED']!.percent);
      expect(k.byLabel['FREE']!.of).toBe('TOTAL MEM');
    });

    it('mod lists the modules the guest loaded', () => {
      const mods = parseMod(outputOf(load(v, 'oops'), 'mod')!);
      expect(mods.map((m) => m.name)).toContain('kdbg_oops');
    });

    it('split/format round-trips', () => {
      const s = load(v, 'nmi');
      expect(splitTranscript(formatTranscript(['x'], s)).map((x) => x.command)).toEqual(s.map((x) => x.command));
    });
  });
}

describe('CentOS 7 seed shapes (issue 5)', () => {
  const s = splitTranscript(readFileSync(join(dir, 'seed-centos7', 'kswapd-null-deref.txt'), 'utf8'));
  const { p, t } = triageOf(s);

  it('parses sys, bt, kmem -i, ps, dis -l, sym, mod', () => {
    expect(p.sys?.panic).toBe('BUG: unable to handle kernel NULL pointer dereference at 0000000000000008');
    expect(p.sys?.cpus).toBe(16);
    expect(p.sys?.dumpfileNotes).toEqual(['PARTIAL DUMP']);
    const bt = p.bt!.tasks[0]!;
    expect(bt.command).toBe('kswapd0');
    expect(bt.exceptions[0]).toMatchObject({ function: 'down_read_trylock', offset: 9, beforeFrame: 10 });
    expect(bt.exceptions[0]!.registers['RDI']).toBe('0000000000000008');
    expect(bt.frames).toHaveLength(19);
    expect(p.kmem?.usedPercent).toBe(97);
    expect(p.kmem?.swapUsedPercent).toBe(72);
    expect(p.kmem?.overcommitted).toBe(true);
    expect(p.ps?.stateCounts['UN']).toBe(2);
    expect(p.ps?.rows.find((r) => r.active)?.comm).toBe('kswapd0');
    expect(p.dis?.instructions.at(-1)).toMatchObject({ function: 'down_read_trylock', offset: 9, line: 83 });
    expect(p.sym?.file).toMatch(/rwsem\.h$/);
    expect(p.mod?.map((m) => m.name)).toEqual(['libcrc32c', 'xfs']);
    expect(p.mod?.[0]?.base).toBeNull();
  });

  it('triage: NULL deref at 8 in down_read_trylock+9, kswapd0, memory pressure in reclaim', () => {
    expect(t.panicClass).toBe('null-dereference');
    expect(t.faultAddress).toBe('0000000000000008');
    expect(t.location).toMatchObject({ function: 'down_read_trylock', offset: 9, line: 83 });
    expect(t.location?.file).toMatch(/asm\/rwsem\.h$/);
    expect(t.task).toMatchObject({ pid: 89, command: 'kswapd0', cpu: 3 });
    expect(t.findings.find((f) => f.id === 'memory')?.severity).toBe('warning');
    expect(t.findings.find((f) => f.id === 'd-state')?.title).toMatch(/2 task\(s\) in D state \(uninterruptible\): mysqld, rsyslogd/);
    expect(t.probableCause).toMatch(/Memory pressure in page reclaim: 97% of memory used, swap 72% used/);
  });
});

describe('parser edge cases', () => {
  it('bt: module frames, stack switches, CRLF', () => {
    const r = parseBt('PID: 1   TASK: ffff1  CPU: 0   COMMAND: "a b"\r\n #0 [ffffc9] f at ffffffffc0207005 [kdbg_oops]\r\n--- <IRQ stack> ---\r\n #1 [ffffc8] g at ffffffff81000000\r\n');
    expect(r.tasks[0]).toMatchObject({ command: 'a b', pid: 1 });
    expect(r.tasks[0]!.frames.map((f) => [f.function, f.module, f.stack])).toEqual([['f', 'kdbg_oops', null], ['g', null, 'IRQ stack']]);
  });
  it('splitLocation handles hex and decimal offsets', () => {
    expect(splitLocation('fn+0x5/0x10')).toEqual({ function: 'fn', offset: 5 });
    expect(splitLocation('fn+9')).toEqual({ function: 'fn', offset: 9 });
    expect(splitLocation('fn')).toEqual({ function: 'fn', offset: 0 });
  });
  it('sym with module and without line info; dis without source lines', () => {
    expect(parseSym('ffffffffc0207005 (t) kdbg_oops_read_value+5 [kdbg_oops] /x/kdbg_oops.c: 17')).toMatchObject({ module: 'kdbg_oops', line: 17, offset: 5 });
    expect(parseSym('ffffffff81000000 (T) _stext')).toMatchObject({ function: '_stext', file: null });
    expect(parseDis('0xffffffff81a592eb <native_safe_halt+11>:\tret    \n').instructions[0]).toMatchObject({ text: 'ret', file: null, offset: 11 });
  });
  it('sys with an empty PANIC, ps and kmem on garbage', () => {
    expect(parseSys('       PANIC: ""\n').panic).toBe('');
    expect(parsePs('garbage\n').rows).toEqual([]);
    expect(parseKmemInfo('nothing').rows).toEqual([]);
  });
});

describe('panic classes from kernel log shapes', () => {
  const cases: [string[], string, Partial<{ faultAddress: string; bugAt: string }>][] = [
    [['BUG: unable to handle page fault for address: ffffc90000a3f000', 'Oops: 0000 [#1] PREEMPT SMP NOPTI', 'Kernel panic - not syncing: Fatal exception'], 'paging-request', { faultAddress: 'ffffc90000a3f000' }],
    [['general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI', 'Kernel panic - not syncing: Fatal exception'], 'general-protection-fault', {}],
    [['------------[ cut here ]------------', 'kernel BUG at mm/slub.c:4290!', 'invalid opcode: 0000 [#1] SMP NOPTI', 'Kernel panic - not syncing: Fatal exception'], 'kernel-bug', { bugAt: 'mm/slub.c:4290' }],
    [['watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:1234]', 'Kernel panic - not syncing: softlockup: hung tasks'], 'soft-lockup', {}],
    [['NMI watchdog: Watchdog detected hard LOCKUP on cpu 5', 'Kernel panic - not syncing: Hard LOCKUP'], 'hard-lockup', {}],
    [['INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.', 'Kernel panic - not syncing: hung_task: blocked tasks'], 'hung-task', {}],
    [['Out of memory: Killed process 4211 (mysqld)', 'Kernel panic - not syncing: System is deadlocked on memory'], 'oom-panic', {}],
    [['divide error: 0000 [#1] SMP PTI', 'Kernel panic - not syncing: Fatal exception'], 'divide-error', {}],
    [['mce: [Hardware Error]: CPU 0: Machine Check Exception: 5 Bank 1: b200000000000106', 'Kernel panic - not syncing: Fatal machine check'], 'machine-check', {}],
    [['Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: foo+0x1/0x2'], 'stack-overflow', {}],
    [['Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)'], 'panic', {}],
  ];
  for (const [log, cls, extra] of cases) {
    it(`${cls}: ${log[0]}`, () => {
      const lines = [{ time: 1, text: 'an older unrelated line' }, ...log.map((text, i) => ({ time: 2 + i, text }))];
      const t = triage({ sys: null, bt: null, log: lines, kmem: null, ps: null, dis: null, sym: null, hung: null });
      expect(t.panicClass).toBe(cls);
      expect(t.panicMessage).toBe(log.find((l) => l.startsWith('Kernel panic'))!);
      expect(t).toMatchObject(extra);
      expect(t.findings[0]!.evidence.length).toBeGreaterThan(0);
    });
  }
});
