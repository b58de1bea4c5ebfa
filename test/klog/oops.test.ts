// The oops parser on the logs of the real QEMU dumps (read by kdbg log) and on a corpus of oops
// texts quoted in public bug reports (test/fixtures/klog/oops-corpus/SOURCES.md says where each
// came from). Every field the parser fills is asserted.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { recordsText } from '../../src/klog/format.js';
import { readDumpLog } from '../../src/klog/index.js';
import { decodeTaint, formatOops, oopsHeadline, parseOops, parseTrace } from '../../src/klog/oops.js';
import { bugWhat } from '../../src/klog/oops-format.js';
import type { CodeLocation, Oops, TraceEntry } from '../../src/klog/oops.js';
import { legacyDump } from '../builders/printk.js';
import { fixturePath } from '../helpers/fixtures.js';

const corpus = (f: string): string => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'klog', 'oops-corpus', f), 'utf8');

const loc = (fn: string | null, offset: number | null, length: number | null, module: string | null = null, address: string | null = null): CodeLocation => ({ function: fn, offset, length, module, address });
const taint = (raw: string, ...bits: [number, string, string][]) => ({ raw, flags: bits.map(([bit, letter, meaning]) => ({ bit, letter, meaning })) });
const O = taint('', ...[]).flags; // typed empty list
void O;
const OE: [number, string, string][] = [
  [12, 'O', 'out-of-tree module loaded'],
  [13, 'E', 'unsigned module loaded'],
];

/** One line per trace entry: "? f+0x1/0x2 [m] @TASK", "<NMI>", "RIP 0010:f+0x…". */
function traceLines(t: readonly TraceEntry[]): string[] {
  const l = (x: CodeLocation): string =>
    (x.function === null ? `0x${x.address}` : `${x.function}+0x${x.offset!.toString(16)}/0x${x.length!.toString(16)}`) + (x.module ? ` [${x.module}]` : '') + (x.address && x.function ? ` <${x.address}>` : '');
  return t.map((e) => (e.type === 'marker' ? e.marker : e.type === 'exception' ? `RIP ${e.segment}:${l(e.location)}` : `${e.reliable ? '' : '? '}${l(e)}${e.context ? ` @${e.context}` : ''}`));
}

function base(over: Partial<Oops>): Oops {
  return {
    kind: 'oops',
    headline: '',
    line: 0,
    faultAddress: null,
    oops: null,
    pc: null,
    lr: null,
    registers: {},
    trace: [],
    modules: null,
    lastUnloaded: null,
    tainted: null,
    cpu: null,
    pid: null,
    comm: null,
    hardware: null,
    release: null,
    build: null,
    workqueue: null,
    lastSysfsFile: null,
    source: null,
    panic: null,
    ...over,
  };
}

/** base() without the fields a test checks apart (trace, line). */
function fields(over: Partial<Oops>): Omit<Oops, 'trace' | 'line'> {
  const { trace: _t, line: _l, ...rest } = base(over);
  return rest;
}

const anyModules = expect.any(Array) as unknown as Oops['modules'];

/**
 * What the guest printed, as the real makedumpfile --dump-dmesg read it from the same crash
 * (vmcore-dmesg.txt, made by scripts/fixtures/30-vmcores.sh). The CPU a crash lands on, register
 * values, unreliable `?` frames and symbol offsets change with every boot and every kernel build,
 * so the real-dump tests take them from here, never from literals.
 */
function guest(kind: string) {
  const lines = readFileSync(fixturePath('vmcores', kind, 'vmcore-dmesg.txt'), 'latin1')
    .split('\n')
    .map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, ''));
  const text = lines.join('\n');
  const task = /CPU: (\d+) PID: (\d+) Comm: (\S+)/.exec(text)!;
  const at = lines.findIndex((l) => /^Call Trace:/.test(l.trim()));
  const frames: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (/^(---\[|Modules linked in:|Kernel Offset:)/.test(l.trim())) break;
    const m = /^\s*(\? )?([\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+)( \[[\w]+\])?\s*$/.exec(l);
    if (m) frames.push(`${m[1] ?? ''}${m[2]}${m[3] ?? ''}`);
  }
  return {
    text,
    cpu: Number(task[1]),
    pid: Number(task[2]),
    comm: task[3]!,
    hardware: /Hardware name: (.*)/.exec(text)![1]!.trim(),
    rip: /RIP: (\w+):(\S+(?: \[\w+\])?)/.exec(text),
    frames,
  };
}
/** The frames of a parsed trace as the kernel printed them ("? f+0x1/0x2 [m]"), markers and exception rows left out. */
const frameLines = (t: readonly TraceEntry[]): string[] => traceLines(t.filter((e) => e.type === 'frame')).map((l) => l.replace(/ @\w+$/, ''));
const fmtLoc = (x: CodeLocation): string => `${x.function}+0x${x.offset!.toString(16)}/0x${x.length!.toString(16)}${x.module ? ` [${x.module}]` : ''}`;
/** Every register kdbg parsed appears with the same value in the text makedumpfile read. */
function expectRegistersIn(text: string, registers: Record<string, string>): void {
  for (const [k, v] of Object.entries(registers)) expect(text, k).toMatch(new RegExp(`\\b${k}:\\s*${v.replace(/[()]/g, '\\$&')}`));
}

describe('the oops in the real dumps (log read by kdbg from the dump)', async () => {
  const kernel = JSON.parse(readFileSync(fixturePath('vmcores', 'manifest.json'), 'utf8')) as { kernel: { release: string; packageVersion: string } };
  const parse = async (kind: string) => {
    const log = await readDumpLog(fixturePath('vmcores', kind, 'vmcore.kdump-zlib'));
    return parseOops(recordsText(log.records));
  };
  const build = `#1  Debian ${kernel.kernel.packageVersion}`;

  it('oops: a NULL dereference in a module, every field', async () => {
    const g = guest('oops');
    const r = await parse('oops');
    expect(r.others).toEqual([]);
    const o = r.first!;
    const { trace, line, registers, ...rest } = o;
    expect(line).toBeGreaterThan(300);
    const { registers: _r, ...expected } = fields({});
    const oopsLine = /Oops: (\w+) \[#(\d+)\] ?(.*)/.exec(g.text)!;
    expect(rest).toEqual({
      ...expected,
      kind: 'null-pointer-dereference',
      headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000008',
      faultAddress: '0000000000000008',
      oops: { trap: null, errorCode: oopsLine[1], count: Number(oopsLine[2]), flags: oopsLine[3]!.trim().split(/\s+/) },
      pc: { ...loc('kdbg_oops_read_value', o.pc!.offset, o.pc!.length, 'kdbg_oops'), segment: '0010' },
      modules: [
        { name: 'kdbg_oops', taint: 'OE' },
        { name: 'pvpanic_mmio', taint: null },
        { name: 'pvpanic', taint: null },
        { name: 'qemu_fw_cfg', taint: null },
      ],
      tainted: taint('G           OE', ...OE),
      cpu: g.cpu,
      pid: 1,
      comm: 'init',
      hardware: g.hardware,
      release: kernel.kernel.release,
      build,
      panic: 'Fatal exception',
    });
    expect(`${g.rip![1]}:${g.rip![2]}`).toBe(`0010:${fmtLoc(o.pc!)}`);
    expect(Object.keys(registers)).toEqual(['RSP', 'EFLAGS', 'RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'R08', 'R09', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15', 'FS', 'GS', 'knlGS', 'CS', 'DS', 'ES', 'CR0', 'CR2', 'CR3', 'CR4']);
    expectRegistersIn(g.text, registers);
    expect(frameLines(trace)).toEqual(g.frames);
    expect(traceLines(trace)[0]).toBe('<TASK>');
    expect(traceLines(trace)[1]).toMatch(/^kdbg_oops_write\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kdbg_oops\] @TASK$/);
    expect(traceLines(trace).at(-1)).toBe('</TASK>');
    expect(oopsHeadline(o)).toBe(`NULL pointer dereference at 0000000000000008 in kdbg_oops_read_value+0x${o.pc!.offset!.toString(16)} [kdbg_oops] (init, pid 1, CPU ${g.cpu}), tainted: OE`);
  }, 60_000);

  it('sysrq: a plain panic; the headline names the first reliable frame past panic()', async () => {
    const g = guest('sysrq');
    const r = await parse('sysrq');
    const { trace, line, ...rest } = r.first!;
    expect(line).toBeGreaterThan(300);
    expect(rest).toEqual({
      ...fields({}),
      kind: 'panic',
      headline: 'Kernel panic - not syncing: sysrq triggered crash',
      tainted: taint(''),
      cpu: g.cpu,
      pid: 1,
      comm: 'init',
      hardware: g.hardware,
      release: kernel.kernel.release,
      build,
      panic: 'sysrq triggered crash',
    });
    expect(frameLines(trace)).toEqual(g.frames);
    expect(traceLines(trace)[0]).toBe('<TASK>');
    expect(traceLines(trace).slice(-2)[1]).toBe('</TASK>');
    expect(trace.filter((e) => e.type === 'frame' && !e.reliable)).toHaveLength(g.frames.filter((f) => f.startsWith('? ')).length);
    const crashFrame = trace.find((e) => e.type === 'frame' && e.function === 'sysrq_handle_crash');
    expect(crashFrame?.type === 'frame' && crashFrame.reliable).toBe(true);
    expect(oopsHeadline(r.first!)).toBe(`panic: sysrq triggered crash in sysrq_handle_crash+0x${(crashFrame as CodeLocation).offset!.toString(16)} (init, pid 1, CPU ${g.cpu}), tainted: none`);
  }, 60_000);

  it('nmi: the interrupted RIP inside <NMI> is the pc, with its registers; NMI and TASK stacks kept apart', async () => {
    const g = guest('nmi');
    const r = await parse('nmi');
    const { trace, line, registers, pc, ...rest } = r.first!;
    expect(line).toBeGreaterThan(300);
    const { registers: _r, pc: _p, ...expected } = fields({});
    expect(rest).toEqual({
      ...expected,
      kind: 'panic',
      headline: 'Kernel panic - not syncing: NMI: Not continuing',
      tainted: taint(''),
      cpu: g.cpu,
      pid: 0,
      comm: g.comm,
      hardware: g.hardware,
      release: kernel.kernel.release,
      build,
      panic: 'NMI: Not continuing',
    });
    expect(g.comm).toMatch(/^swapper\/\d+$/);
    expect(`${g.rip![1]}:${g.rip![2]}`).toBe(`${pc!.segment}:${fmtLoc(pc!)}`);
    expect(Object.keys(registers)).toEqual(['RSP', 'EFLAGS', 'RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'R08', 'R09', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15']);
    expectRegistersIn(g.text, registers);
    expect(frameLines(trace)).toEqual(g.frames);
    const t = traceLines(trace);
    expect(t[0]).toBe('<NMI>');
    expect(t).toContain('</NMI>');
    expect(t.slice(t.indexOf('</NMI>') + 1)[0]).toBe('<TASK>');
    expect(t.at(-1)).toBe('</TASK>');
    expect(t.slice(0, t.indexOf('</NMI>')).every((x) => x.startsWith('<') || x.startsWith('RIP ') || x.endsWith(' @NMI'))).toBe(true);
    expect(t.slice(t.indexOf('<TASK>') + 1, -1).every((x) => x.endsWith(' @TASK'))).toBe(true);
    expect(formatOops(r.first!)).toContain(`-- exception at ${pc!.segment}:${fmtLoc(pc!)} --`);
  }, 60_000);
});

describe('the oops corpus (public bug reports)', () => {
  it('3.x IP: form with a module frame and [last unloaded]', () => {
    const o = parseOops(corpus('3.x-ip-iotrace.txt')).first!;
    expect(o).toEqual(
      base({
        modules: anyModules,
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 000000000000000a',
        faultAddress: '000000000000000a',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['SMP'] },
        pc: { ...loc('octf_trace_push', 0x19, 0x240, 'iotrace', 'ffffffffc0841d99'), segment: null },
        lastUnloaded: 'inteldisk',
      }),
    );
    expect(o.modules).toHaveLength(101);
    expect(o.modules!.slice(0, 4)).toEqual([
      { name: 'intelcas', taint: 'OE' },
      { name: 'inteldisk', taint: 'OE' },
      { name: 'iotrace', taint: 'OE' },
      { name: 'brd', taint: null },
    ]);
    expect(o.modules!.at(-1)).toEqual({ name: 'wmi', taint: null });
  });

  it('RHEL 7.1 (3.10): Oops 0002 and a proprietary-flagged module', () => {
    const o = parseOops(corpus('el7.1-3.10-pf_ring.txt')).first!;
    expect(o).toEqual(
      base({
        modules: anyModules,
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 000000000000000e',
        line: 1,
        faultAddress: '000000000000000e',
        oops: { trap: null, errorCode: '0002', count: 1, flags: ['SMP'] },
        pc: { ...loc('file_free_rcu', 0x11, 0x40, null, 'ffffffff811c8681'), segment: null },
      }),
    );
    expect(o.modules).toHaveLength(66);
    expect(o.modules![0]).toEqual({ name: 'pf_ring', taint: 'OF' });
  });

  it('RHEL 7.6 (3.10): "[<addr>] ? f+o/l [mod]" frames', () => {
    expect(traceLines(parseTrace(corpus('el7.6-3.10-trace-only.txt')))).toEqual([
      'queued_spin_lock_slowpath+0xb/0xf <ffffffffa535bf4b>',
      '_raw_spin_lock+0x20/0x30 <ffffffffa536a400>',
      'igrab+0x1e/0x60 <ffffffffa4e5e26e>',
      'fsnotify_add_mark_locked+0xd0/0x300 <ffffffffa4e89e90>',
      'fsnotify_add_mark+0x3f/0x60 <ffffffffa4e8a0ff>',
      '_fs_add_mark+0x9b/0xc0 [iotrace] <ffffffffc08773bb>',
      'iotrace_trace_inode+0x32c/0x37a [iotrace] <ffffffffc0877d2c>',
      '? blk_throtl_bio+0xda/0x510 <ffffffffa4f6655a>',
      'iotrace_trace_bio+0x2c1/0x360 [iotrace] <ffffffffc0876fa1>',
    ]);
  });

  it('3.11: CPU/PID/Comm line, proprietary taint by position, hardware name', () => {
    const o = parseOops(corpus('3.11-mptcp.txt')).first!;
    expect(o).toEqual(
      base({
        modules: anyModules,
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000014',
        faultAddress: '0000000000000014',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['SMP'] },
        pc: { ...loc('mptcp_reqsk_find_tk', 0x1c, 0x27, null, 'ffffffff813a9e68'), segment: null },
        lastUnloaded: 'microcode',
        tainted: taint('P', [0, 'P', 'proprietary module loaded']),
        cpu: 6,
        pid: 0,
        comm: 'swapper/6',
        hardware: 'HP ProLiant DL160 G6  , BIOS O33 02/01/2012',
        release: '3.11.10',
        build: '#5',
      }),
    );
    expect(o.modules).toHaveLength(87);
  });

  it('4.1 through syslog: wrapped module list, RIP: 0010:[<…>]  [<…>] form, registers', () => {
    const o = parseOops(corpus('4.1-syslog-kdbus.txt')).first!;
    expect(o).toEqual(
      base({
        modules: anyModules,
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000018',
        faultAddress: '0000000000000018',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['SMP'] },
        pc: { ...loc('kdbus_name_release_all', 0x32, 0xd0, 'kdbus', 'ffffffffa007c0f2'), segment: null },
        registers: { RSP: '0018:ffff8801f4207998', EFLAGS: '00010202', RAX: '0000000000000000', RBX: 'ffff8801a4d06200', RCX: 'dead000000200200', RDX: '0000000000000000', RSI: 'ffff8801a4d06200', RDI: 'ffff8801a5c15800' },
        tainted: taint('G        W  OE', [9, 'W', 'warning issued'], ...OE),
        cpu: 1,
        pid: 1689,
        comm: 'systemd',
        hardware: 'LENOVO 20AL00C7GE/20AL00C7GE, BIOS GIET77WW (2.27 ) 10/02/2014',
        release: '4.1.0-1.fc23.x86_64',
        build: '#1',
      }),
    );
    expect(o.modules!.map((m) => m.name)).toEqual(['ccm', 'cmac', 'rfcomm', 'arc4', 'snd_hda_codec_hdmi', 'bnep', 'snd_hda_codec_realtek', 'snd_hda_codec_generic', 'iTCO_wdt', 'iTCO_ven', 'crc32c_intel', 'serio_raw', 'rtsx_pci', 'mfd_core']);
  });

  it('4.18: RIP: 0010:f+o/l [mod], P4D era page tables, NOPTI', () => {
    expect(parseOops(corpus('4.18-drm.txt')).first).toEqual(
      base({
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000028',
        faultAddress: '0000000000000028',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['PREEMPT', 'SMP', 'NOPTI'] },
        pc: { ...loc('drm_debugfs_init', 0x141, 0x300, 'drm'), segment: '0010' },
        registers: { RSP: '0018:ffffc900003bbbd8', EFLAGS: '00010246', RAX: '0000000000000000', RBX: 'ffff8802307b4ea0', RCX: '0000000000000000', RDX: 'ffff88023505b800', RSI: '0000000000000100', RDI: 'ffff8802307b4ed0' },
        tainted: taint('P           O', [0, 'P', 'proprietary module loaded'], [12, 'O', 'out-of-tree module loaded']),
        cpu: 2,
        pid: 157,
        comm: 'modprobe',
        hardware: 'To be filled by O.E.M. To be filled by O.E.M./M5A99FX PRO R2.0, BIOS 2501 04/07/2014',
        release: '4.18.10-lqx1-1-lqx',
        build: '#1',
      }),
    );
  });

  it('4.19 hung task: the Tainted line on its own', () => {
    expect(parseOops(corpus('4.19-hung-task.txt')).first).toEqual(
      base({
        kind: 'hung-task',
        headline: 'INFO: task kworker/2:1:5747 blocked for more than 120 seconds.',
        tainted: taint('G        W   E', [9, 'W', 'warning issued'], [13, 'E', 'unsigned module loaded']),
        pid: 5747,
        comm: 'kworker/2:1',
        release: '4.19.0-6-amd64',
        build: '#1 Debian 4.19.67-2+deb10u2',
      }),
    );
  });

  it('5.2 Debian: RIP 0x0 (a call through a NULL function pointer), die counter 12', () => {
    expect(parseOops(corpus('5.2-debian-bad-rip.txt')).first).toEqual(
      base({
        kind: 'null-pointer-dereference',
        headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000000',
        faultAddress: '0000000000000000',
        oops: { trap: null, errorCode: '0010', count: 12, flags: ['SMP', 'PTI'] },
        pc: { ...loc(null, null, null, null, '0'), segment: '0010' },
        registers: { RSP: '0018:ffffa09c87677cd8', EFLAGS: '00010246', RAX: '0000000000000000', RBX: 'ffff8b226f739300', RCX: '0000000000000001' },
        tainted: taint('G      D    OE', [7, 'D', 'kernel died recently (oops or BUG)'], ...OE),
        cpu: 0,
        pid: 5454,
        comm: 'bpftrace',
        hardware: 'Intel Corporation NUC8i7HVK/NUC8i7HVB, BIOS HNKBLi70.86A.0054.2019.0214.1350 02/14/2019',
        release: '5.2.0-2-amd64',
        build: '#1 Debian 5.2.7-1',
      }),
    );
    // No symbol for the PC and no call trace: the address itself, and no caller to name.
    expect(oopsHeadline(parseOops(corpus('5.2-debian-bad-rip.txt')).first!)).toBe('NULL pointer dereference at 0000000000000000 in 0x0 (bpftrace, pid 5454, CPU 0), tainted: DOE');
  });

  it('5.4 Amazon Linux 2: general protection fault', () => {
    expect(parseOops(corpus('5.4-amzn2-gpf.txt')).first).toEqual(
      base({
        kind: 'general-protection',
        headline: 'general protection fault: 0000 [#1] SMP PTI',
        oops: { trap: 'general protection fault', errorCode: '0000', count: 1, flags: ['SMP', 'PTI'] },
        pc: { ...loc('string_nocheck', 0xf, 0x60), segment: '0010' },
        registers: {
          RSP: '0018:ffffc900013a7c80',
          EFLAGS: '00010086',
          RAX: 'ffffffffffffffff',
          RBX: 'ffff88d713610000',
          RCX: 'ffff0a00ffffff04',
          FS: '00007fa097fff700(0000)',
          GS: 'ffff88ddbbd80000(0000)',
          knlGS: '0000000000000000',
          CS: '0010',
          DS: '0000',
          ES: '0000',
          CR0: '0000000080050033',
          CR2: '00007fc4ad665fb8',
          CR3: '0000005d87bba004',
          CR4: '00000000007606e0',
        },
        tainted: taint(''),
        cpu: 46,
        pid: 13911,
        comm: 'kubelet',
        hardware: 'Amazon EC2 r5.12xlarge/, BIOS 1.0 10/16/2017',
        release: '5.4.110-54.189.amzn2.x86_64',
        build: '#1',
      }),
    );
  });

  it('6.1 Debian 12: out-of-tree module, taint OE', () => {
    expect(parseOops(corpus('6.1-debian-knet.txt')).first).toEqual(
      base({
        kind: 'null-pointer-dereference',
        headline: 'BUG: kernel NULL pointer dereference, address: 00000000000002e4',
        faultAddress: '00000000000002e4',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['PREEMPT', 'SMP', 'PTI'] },
        pc: { ...loc('bkn_seq_dma_next_pos', 0x2f, 0x74, 'linux_bcm_knet'), segment: '0010' },
        registers: { RSP: '0018:ffff97c1c972f9f0', EFLAGS: '00010202', RAX: '0000000000000000', RBX: 'ffff8906c91dbca8', RCX: '0000000000000001', RDX: 'ffff8900038e44f0', RSI: '0000000000000001', RDI: '0000000000000000' },
        tainted: taint('G           OE', ...OE),
        cpu: 6,
        pid: 9186,
        comm: 'cat',
        hardware: 'Juniper Networks Inc. 0DB2/0DB1, BIOS CHWL_P_XM0_00.16.01 06/07/2023',
        release: '6.1.0-22-2-amd64',
        build: '#1  Debian 6.1.94-1',
      }),
    );
  });

  it('6.15: kernel BUG after an earlier report ended; UID: and Oops: invalid opcode:', () => {
    const r = parseOops(corpus('6.15-fortify-bug.txt'));
    expect(r.others).toEqual([]);
    expect(r.first).toEqual(
      base({
        kind: 'bug',
        headline: 'kernel BUG at lib/string_helpers.c:1040!',
        line: 4,
        source: 'lib/string_helpers.c:1040',
        oops: { trap: 'invalid opcode', errorCode: '0000', count: 1, flags: ['SMP', 'NOPTI'] },
        pc: { ...loc('__fortify_panic', 0xd, 0xf), segment: '0010' },
        tainted: taint('G        W  O', [9, 'W', 'warning issued'], [12, 'O', 'out-of-tree module loaded']),
        cpu: 1,
        pid: 25564,
        comm: 'openvpn',
        hardware: 'ASUSTeK COMPUTER INC. ROG Strix G713PV_G713PV/G713PV, BIOS G713PV.334 09/03/2024',
        release: '6.15.0-rc7',
        build: '#23 PREEMPT(full)  6d874aa4653b045e1018c0454a817221b843e9d1',
      }),
    );
  });

  it('7.0 Xen PV: RIP: e030:, Workqueue', () => {
    expect(parseOops(corpus('7.0-xen-bug.txt')).first).toEqual(
      base({
        kind: 'bug',
        headline: 'kernel BUG at arch/x86/include/asm/xen/hypervisor.h:85!',
        line: 1,
        source: 'arch/x86/include/asm/xen/hypervisor.h:85',
        oops: { trap: 'invalid opcode', errorCode: '0000', count: 1, flags: ['SMP', 'NOPTI'] },
        pc: { ...loc('xen_leave_lazy_mmu', 0x44, 0x50), segment: 'e030' },
        registers: { RSP: 'e02b:ffffc900405f3cf0', EFLAGS: '00010297', RAX: '0000000000000000', RBX: 'ffff8881019a3288', RCX: '0000000000000000' },
        tainted: taint(''),
        cpu: 0,
        pid: 208,
        comm: 'kworker/0:3',
        hardware: 'LENOVO 2347A45/2347A45, BIOS CBET4000 Nitrokey-v0.2.0-2608-ga649597 01/01/1970',
        release: '7.0.1-1.qubes.1001.fc41.x86_64',
        build: '#1 PREEMPT(full)',
        workqueue: 'events delayed_vfree_work',
      }),
    );
  });

  it('aarch64 5.19: Internal error: Oops, pc/lr/sp, x registers, empty module list', () => {
    expect(parseOops(corpus('aarch64-5.19-amlogic.txt')).first).toEqual(
      base({
        kind: 'oops',
        headline: 'Internal error: Oops: 96000004 [#1] PREEMPT SMP',
        oops: { trap: null, errorCode: '96000004', count: 1, flags: ['PREEMPT', 'SMP'] },
        pc: { ...loc('page_frag_alloc_align', 0x230, 0x580), segment: null },
        lr: loc('free_reserved_area', 0x98, 0x138),
        registers: { pstate: '40000005', sp: 'ffff80000802be10', x29: 'ffff80000802be10', x28: 'ffff48cb4333c000', x27: 'ffffa7b244117630', x26: '0001000000000000', x25: 'fffffc0000000000', x24: '0000000000000001' },
        modules: [],
        tainted: taint(''),
        cpu: 0,
        pid: 1,
        comm: 'swapper/0',
        hardware: 'Unknown Unknown Product/Unknown Product, BIOS 2022.07-00302-gf2bfed3881 07/01/2022',
        release: '5.19.0-rc6-00575-g00b9cba1cc96',
        build: '#1',
      }),
    );
  });

  it('aarch64 6.12: NULL dereference at a virtual address, 64-bit ESR, UID:', () => {
    expect(parseOops(corpus('aarch64-6.12-container.txt')).first).toEqual(
      base({
        kind: 'null-pointer-dereference',
        headline: 'Unable to handle kernel NULL pointer dereference at virtual address 00000000000000a0',
        faultAddress: '00000000000000a0',
        oops: { trap: null, errorCode: '0000000096000004', count: 1, flags: ['SMP'] },
        pc: { ...loc('percpu_counter_add_batch', 0x18, 0x138), segment: null },
        lr: loc('dst_release', 0x88, 0x8c),
        registers: { pstate: '61400005', sp: 'ffff8000803c3ae0' },
        tainted: taint(''),
        cpu: 1,
        pid: 8422,
        comm: 'http',
        release: '6.12.28',
        build: '#1',
      }),
    );
  });

  it('first lines of the other report kinds', () => {
    const lines = corpus('one-liners.txt').trim().split('\n');
    const got = lines.map((l) => {
      const o = parseOops(l).first!;
      return { kind: o.kind, cpu: o.cpu, pid: o.pid, comm: o.comm, source: o.source, panic: o.panic, pc: o.pc && o.pc.function };
    });
    expect(got).toEqual([
      { kind: 'soft-lockup', cpu: 2, pid: 25629, comm: 'kworker/2:1', source: null, panic: null, pc: null },
      { kind: 'hung-task', cpu: null, pid: 5747, comm: 'kworker/2:1', source: null, panic: null, pc: null },
      { kind: 'warning', cpu: 0, pid: 1184, comm: null, source: 'net/core/stream.c:212', panic: null, pc: 'sk_stream_kill_queues' },
      { kind: 'hard-lockup', cpu: 1, pid: null, comm: null, source: null, panic: null, pc: null },
      { kind: 'oom-kill', cpu: null, pid: 15784, comm: 'python3', source: null, panic: null, pc: null },
      { kind: 'machine-check', cpu: null, pid: null, comm: null, source: null, panic: null, pc: null },
      { kind: 'panic', cpu: null, pid: null, comm: null, source: null, panic: 'softlockup: hung tasks', pc: null },
    ]);
  });

  it('several reports: the first is the cause, the others are listed', () => {
    const text = [corpus('6.1-debian-knet.txt'), '[   50.1] ---[ end trace 0000000000000000 ]---', corpus('4.18-drm.txt')].join('\n');
    const r = parseOops(text);
    expect(r.first!.pc!.function).toBe('bkn_seq_dma_next_pos');
    expect(r.others.map((o) => o.pc!.function)).toEqual(['drm_debugfs_init']);
  });

  it('taint letters are decoded by position (bit i at column i)', () => {
    expect(decodeTaint('P  R M')).toEqual([
      { bit: 0, letter: 'P', meaning: 'proprietary module loaded' },
      { bit: 3, letter: 'R', meaning: 'module force-unloaded' },
      { bit: 5, letter: 'M', meaning: 'machine check' },
    ].map((f) => (f.letter === 'M' ? { bit: 4, letter: 'M', meaning: 'machine check' } : f)));
  });
});

/** The " ? f+0x1/0x2 [m]" frame lines (4.x+ form, no addresses; "[ts]" stripped) after a corpus text's first "Call Trace:". */
function framesIn(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines.slice(lines.findIndex((x) => /Call Trace:/.test(x)) + 1)) {
    const l = line.replace(/^\[\s*\d+\.\d+\]/, '');
    const m = /^\s*(\? )?([\w.$]+\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[\w+\])?)\s*$/.exec(l);
    if (m) out.push(`${m[1] ?? ''}${m[2]}`);
    else if (l.trim() !== '') break;
  }
  return out;
}

describe('the oops corpus: RHEL 6, 8 and 9, aarch64 without kallsyms, powerpc (public reports)', () => {
  const X86_REGS = ['RSP', 'EFLAGS', 'RAX', 'RBX', 'RCX', 'RDX', 'RSI', 'RDI', 'RBP', 'R08', 'R09', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15', 'FS', 'GS', 'knlGS', 'CS', 'DS', 'ES', 'CR0', 'CR2', 'CR3'];
  const X86_REGS_DR = [...X86_REGS, 'CR4', 'DR0', 'DR1', 'DR2', 'DR3', 'DR6', 'DR7'];
  const W: [number, string, string] = [9, 'W', 'warning issued'];
  /** The fields without the registers, which a test checks apart (names in order, values against the text). */
  const noRegs = <T extends { registers: unknown }>({ registers: _r, ...rest }: T): Omit<T, 'registers'> => rest;

  it('RHEL 8 (4.18.0-160.el8): the RHEL dash field after the taint letters, an empty module list', () => {
    const text = corpus('el8-4.18-dmar.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const { registers, trace, line, ...o } = r.first!;
    expect(line).toBe(0);
    expect(o).toEqual(
      noRegs(fields({
        kind: 'null-pointer-dereference',
        headline: 'BUG: unable to handle kernel NULL pointer dereference at 000000000000004e',
        faultAddress: '000000000000004e',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['SMP', 'PTI'] },
        pc: { ...loc('__dmar_remove_one_dev_info', 0x27, 0x250), segment: '0010' },
        modules: [],
        tainted: taint('G        W', W),
        cpu: 0,
        pid: 1,
        comm: 'swapper/0',
        hardware: 'HP ProLiant DL360 Gen9/ProLiant DL360 Gen9, BIOS P89 07/21/2019',
        release: '4.18.0-160.el8.x86_64',
        build: '#1',
      })),
    );
    // The report's CR row was cut ("… C 00000000001606b0"): CR4 is not there to read.
    expect(Object.keys(registers)).toEqual(X86_REGS);
    expect(registers['RSP']).toBe('0000:ffffc900000dfd10');
    expectRegistersIn(text, registers);
    expect(traceLines(trace)).toEqual(framesIn(text));
    expect(traceLines(trace)).toHaveLength(17);
    expect(traceLines(trace).filter((l) => l.startsWith('? '))).toEqual(['? iommu_probe_device+0x40/0x40', '? down_write+0xe/0x40', '? e820__memblock_setup+0x63/0x63', '? do_early_param+0x91/0x91', '? do_early_param+0x91/0x91', '? rest_init+0xaa/0xaa']);
    expect(oopsHeadline(r.first!)).toBe('NULL pointer dereference at 000000000000004e in __dmar_remove_one_dev_info+0x27 (swapper/0, pid 1, CPU 0), tainted: W');
  });

  it('RHEL 8.0 (4.18.0-80.el8): a general protection fault in the timer softirq on an idle CPU, as mailed with 80-column wraps; <IRQ> … </IRQ> then the idle RIP', () => {
    const text = corpus('el8-4.18-timer-softirq-gpf.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const { registers, trace, line, ...o } = r.first!;
    expect(line).toBe(0);
    expect(o).toEqual(
      noRegs(fields({
        kind: 'general-protection',
        headline: 'general protection fault: 0000 [#1] SMP NOPTI',
        oops: { trap: 'general protection fault', errorCode: '0000', count: 1, flags: ['SMP', 'NOPTI'] },
        pc: { ...loc('run_timer_softirq', 0x34e, 0x440), segment: '0010' },
        // The mail wrapped the CPU: line after the taint letters: "Tainted: G    W" / "--------- -  - 4.18.0-80.el8.x86_64 #1".
        tainted: taint('G    W', W),
        cpu: 0,
        pid: 0,
        comm: 'swapper/0',
        // "… BIOS MJGS1223" / "04/07/2020": the date joined back on.
        hardware: 'Sugon I620-G30/60P24-US, BIOS MJGS1223 04/07/2020',
        release: '4.18.0-80.el8.x86_64',
        build: '#1',
      })),
    );
    // Every register whose value the mail moved to the next line ("RCX:" / "0000000000000100") is read;
    // the idle task's rows after the RIP inside the trace are not mixed in.
    expect(Object.keys(registers)).toEqual(X86_REGS_DR);
    expect(registers).toMatchObject({ RCX: '0000000000000100', RDI: 'ffff88f00081aa00', R09: '0000000000000000', R12: 'ffff88f000803ee8', R15: '0000000000000000', knlGS: '0000000000000000', CR4: '00000000007606f0', DR2: '0000000000000000', DR7: '0000000000000400' });
    expectRegistersIn(text, registers);
    // 4.18 prints no <TASK>: the frames after </IRQ> and the interrupted RIP belong to no marked stack.
    expect(traceLines(trace)).toEqual([
      '<IRQ>',
      '? __hrtimer_init+0xb0/0xb0 @IRQ',
      '? sched_clock+0x5/0x10 @IRQ',
      '__do_softirq+0xe8/0x2ef @IRQ',
      'irq_exit+0xf1/0x100 @IRQ',
      'smp_apic_timer_interrupt+0x74/0x130 @IRQ',
      'apic_timer_interrupt+0xf/0x20 @IRQ',
      '</IRQ>',
      'RIP 0010:cpuidle_enter_state+0xa0/0x2b0',
      '? cpuidle_enter_state+0x90/0x2b0',
      'do_idle+0x200/0x280',
      'cpu_startup_entry+0x6f/0x80',
      'start_kernel+0x533/0x553',
      'secondary_startup_64+0xb7/0xc0',
    ]);
    expect(oopsHeadline(r.first!)).toBe('general protection fault in run_timer_softirq+0x34e (swapper/0, pid 0, CPU 0), tainted: W');
    // Unwrapped, the same text parses the same (a wrap's tail only ever joins the line it follows).
    const unwrapped = text.replace(/\n(?!\[)(?=\S)/g, ' ');
    expect(parseOops(unwrapped).first).toEqual({ ...r.first!, line: 0 });
  });

  it('mail wraps: a tail joins only the line shape it belongs to, and its own line is left empty so line numbers hold', () => {
    const r = parseOops(['[ 1.0] BUG: kernel NULL pointer dereference, address: 0000000000000000', '[ 1.1] CPU: 1 PID: 2 Comm: x Not tainted', '5.14.0-1.el9.x86_64 #1', '[ 1.2] RIP: 0010:f+0x1/0x2', '[ 1.3] RAX: 0000000000000001 RBX:', 'ffff000000000000', '[ 1.4] RSP: 0018:ffffc90000000000', 'not a tail', '[ 1.5] Call Trace:', '[ 1.6]  g+0x3/0x4'].join('\n')).first!;
    expect([r.cpu, r.pid, r.comm, r.release, r.build]).toEqual([1, 2, 'x', '5.14.0-1.el9.x86_64', '#1']);
    expect(r.registers).toEqual({ RAX: '0000000000000001', RBX: 'ffff000000000000', RSP: '0018:ffffc90000000000' });
    expect(traceLines(r.trace)).toEqual(['g+0x3/0x4']);
  });

  it('RHEL 9 (5.14.0-496.el9): Kdump: loaded, a RIP in a module, ? frames after a blank line', () => {
    const text = corpus('el9-5.14-vdpa.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const { registers, trace, line, ...o } = r.first!;
    expect(line).toBe(1);
    expect(o).toEqual(
      noRegs(fields({
        kind: 'null-pointer-dereference',
        headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000000',
        faultAddress: '0000000000000000',
        oops: { trap: null, errorCode: '0000', count: 1, flags: ['PREEMPT', 'SMP', 'NOPTI'] },
        pc: { ...loc('vhost_iotlb_del_range', 0xf, 0xe0, 'vhost_iotlb'), segment: '0010' },
        tainted: taint(''),
        cpu: 8,
        pid: 2700,
        comm: 'vdpa',
        // The BIOS version names its build host; the test takes the line from the text rather than spell it.
        hardware: /^Hardware name: (QEMU Standard PC \(Q35 \+ ICH9, 2009\), BIOS rel-1\.13\.0-0-gf21b5a4aeb02-\S+ 04\/01\/2014)$/m.exec(text)![1]!,
        release: '5.14.0-496.el9.x86_64',
        build: '#1',
      })),
    );
    expect(Object.keys(registers)).toEqual(X86_REGS_DR);
    expectRegistersIn(text, registers);
    expect(traceLines(trace)).toEqual(framesIn(text.replace('Call Trace:\n\n', 'Call Trace:\n')));
    expect(trace).toHaveLength(45);
    expect(trace.filter((e) => e.type === 'frame' && !e.reliable)).toHaveLength(28);
    expect(traceLines(trace).slice(10, 13)).toEqual(['? vhost_iotlb_del_range+0xf/0xe0 [vhost_iotlb]', 'mlx5_vdpa_free+0x3d/0x150 [mlx5_vdpa]', 'vdpa_release_dev+0x1e/0x50 [vdpa]']);
    expect(oopsHeadline(r.first!)).toBe('NULL pointer dereference at 0000000000000000 in vhost_iotlb_del_range+0xf [vhost_iotlb] (vdpa, pid 2700, CPU 8), tainted: none');
  });

  it('RHEL 9 (5.14.0-362.el9) panic: a <TASK> trace that ends in the user RIP: 0033', () => {
    const r = parseOops(corpus('el9-5.14-shutdown-panic.txt'));
    expect(r.others).toEqual([]);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(1);
    expect(o).toEqual(
      fields({
        kind: 'panic',
        headline: 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000',
        tainted: taint(''),
        cpu: 0,
        pid: 1,
        comm: 'systemd-shutdow',
        hardware: 'QEMU Standard PC (Q35 + ICH9, 2009), BIOS 0.0.0 02/06/2015',
        release: '5.14.0-362.el9.x86_64',
        build: '#1',
        panic: 'Attempted to kill init! exitcode=0x00000000',
      }),
    );
    expect(traceLines(trace)).toEqual([
      '<TASK>',
      'dump_stack_lvl+0x34/0x48 @TASK',
      'panic+0xea/0x2e4 @TASK',
      'do_exit.cold+0x15/0x15 @TASK',
      '__do_sys_reboot+0x1e5/0x220 @TASK',
      '? vfs_writev+0xcb/0x170 @TASK',
      'do_syscall_64+0x5c/0x90 @TASK',
      '? syscall_exit_to_user_mode+0x12/0x30 @TASK',
      '? do_syscall_64+0x69/0x90 @TASK',
      '? __rseq_handle_notify_resume+0x32/0x50 @TASK',
      '? exit_to_user_mode_loop+0xd0/0x130 @TASK',
      '? exit_to_user_mode_prepare+0xec/0x100 @TASK',
      '? sysvec_apic_timer_interrupt+0x3c/0x90 @TASK',
      'entry_SYSCALL_64_after_hwframe+0x72/0xdc @TASK',
      'RIP 0033:0x7f24abebf3e7',
    ]);
    expect(oopsHeadline(r.first!)).toBe('panic: Attempted to kill init! exitcode=0x00000000 in do_exit.cold+0x15 (systemd-shutdow, pid 1, CPU 0), tainted: none');
  });

  it('RHEL 9.4 (5.14.0-427.37.1.el9_4): "BUG: Bad page state" in a NIC softirq on an idle CPU, an <IRQ> trace that ends at </IRQ> <TASK>', () => {
    const text = corpus('el9-5.14-ice-bad-page.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(0);
    expect(o).toEqual(
      fields({
        kind: 'bug',
        headline: 'BUG: Bad page state in process swapper/34  pfn:97fcd0',
        // The report cut the module list after "irqd" (the next timestamp is 75 ms on): the names as printed.
        modules: 'bonding tls sunrpc intel_rapl_msr intel_rapl_common intel_uncore_frequency intel_uncore_frequency_common i10nm_edac nfit libnvdimm x86_pkg_temp_thermal intel_powerclamp coretemp kvm_intel kvm mgag200 irqd'
          .split(' ')
          .map((name) => ({ name, taint: null })),
        tainted: taint(''),
        cpu: 34,
        pid: 0,
        comm: 'swapper/34',
        hardware: 'Dell Inc. PowerEdge R750/0216NK, BIOS 1.13.2 12/19/2023',
        release: '5.14.0-427.37.1.el9_4.x86_64',
        build: '#1',
      }),
    );
    // The page-state rows (page:, flags:, raw:, page dumped because:) are not registers: none read.
    expect(traceLines(trace)).toEqual([
      '<IRQ>',
      'dump_stack_lvl+0x34/0x48 @IRQ',
      'bad_page.cold+0x63/0x94 @IRQ',
      'check_new_pages+0xb3/0xe0 @IRQ',
      'rmqueue_bulk+0x2d2/0x9e0 @IRQ',
      '? ktime_get+0x35/0xa0 @IRQ',
      'rmqueue_pcplist+0x13b/0x210 @IRQ',
      'rmqueue+0x7d3/0xd40 @IRQ',
      '? xas_load+0x9/0xa0 @IRQ',
      '? xas_find+0x183/0x1d0 @IRQ',
      '? xa_find_after+0xd0/0x130 @IRQ',
      '? intel_iommu_iotlb_sync_map+0x89/0xe0 @IRQ',
      'get_page_from_freelist+0x11f/0x530 @IRQ',
      '__alloc_pages+0xf2/0x250 @IRQ',
      'ice_alloc_rx_bufs+0xcc/0x1c0 [ice] @IRQ',
      'ice_clean_rx_irq+0x631/0xa20 [ice] @IRQ',
      'ice_napi_poll+0xdf/0x2a0 [ice] @IRQ',
      '__napi_poll+0x27/0x170 @IRQ',
      'net_rx_action+0x233/0x2f0 @IRQ',
      '__do_softirq+0xc7/0x2ac @IRQ',
      '__irq_exit_rcu+0xa1/0xc0 @IRQ',
      'common_interrupt+0x80/0xa0 @IRQ',
      '</IRQ>',
      '<TASK>',
    ]);
    expect(oopsHeadline(r.first!)).toBe('Bad page state in bad_page.cold+0x63 (swapper/34, pid 0, CPU 34), tainted: none');
  });

  it('RHEL 9.5 (5.14.0-503.14.1.el9_5, a Rocky Linux 9.5 guest): a WARNING in the timer interrupt, <IRQ> … </IRQ> <TASK>, the idle RIP and its registers inside <TASK>', () => {
    const text = corpus('el9-5.14-pmu-warning-irq.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const { registers, trace, line, ...o } = r.first!;
    expect(line).toBe(1);
    expect(o).toEqual(
      noRegs(fields({
        kind: 'warning',
        headline: 'WARNING: CPU: 3 PID: 0 at arch/x86/events/core.c:1592 x86_pmu_stop+0xa2/0xb0',
        source: 'arch/x86/events/core.c:1592',
        pc: { ...loc('x86_pmu_stop', 0xa2, 0xb0), segment: '0010' },
        modules: 'vfio_pci vfio_pci_core vfio_iommu_type1 vfio iommufd tls rfkill vsock_loopback vmw_vsock_virtio_transport_common vmw_vsock_vmci_transport vsock vmw_balloon intel_rapl_msr vmwgfx vmw_vmci intel_rapl_common drm_ttm_helper ttm pcspkr drm_kms_helper i2c_piix4 joydev drm fuse xfs libcrc32c crct10dif_pclmul crc32_pclmul ata_generic crc32c_intel nvme ata_piix ghash_clmulni_intel libata nvme_core nvme_auth vmxnet3 t10_pi serio_raw dm_mirror dm_region_hash dm_log dm_mod'
          .split(' ')
          .map((name) => ({ name, taint: null })),
        // "G     U            -------  ---": U at bit 6, then the RHEL 9 dash field.
        tainted: taint('G     U', [6, 'U', 'taint requested by userspace']),
        cpu: 3,
        pid: 0,
        comm: 'swapper/3',
        hardware: 'VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 11/12/2020',
        release: '5.14.0-503.14.1.el9_5.x86_64',
        build: '#1',
      })),
    );
    // The registers are the WARNING's (x86_pmu_stop in the interrupt); the idle task's rows after
    // the RIP inside <TASK> stay with that exception row and are not mixed in.
    expect(Object.keys(registers)).toEqual([...X86_REGS, 'CR4']);
    expect(registers['RSP']).toBe('0018:ffffa38600570e38');
    expect(registers['RAX']).toBe('0000000000000001');
    expectRegistersIn(text, registers);
    expect(traceLines(trace)).toEqual([
      '<IRQ>',
      '? srso_alias_return_thunk+0x5/0xfbef5 @IRQ',
      '? show_trace_log_lvl+0x26e/0x2df @IRQ',
      '? show_trace_log_lvl+0x26e/0x2df @IRQ',
      '? perf_adjust_freq_unthr_context+0x121/0x200 @IRQ',
      '? x86_pmu_stop+0xa2/0xb0 @IRQ',
      '? __warn+0x7e/0xd0 @IRQ',
      '? x86_pmu_stop+0xa2/0xb0 @IRQ',
      '? report_bug+0x100/0x140 @IRQ',
      '? handle_bug+0x3c/0x70 @IRQ',
      '? exc_invalid_op+0x14/0x70 @IRQ',
      '? asm_exc_invalid_op+0x16/0x20 @IRQ',
      '? x86_pmu_stop+0xa2/0xb0 @IRQ',
      '? x86_pmu_stop+0x50/0xb0 @IRQ',
      'perf_adjust_freq_unthr_context+0x121/0x200 @IRQ',
      'perf_event_task_tick+0x51/0xa0 @IRQ',
      'scheduler_tick+0xd6/0x2c0 @IRQ',
      '? srso_alias_return_thunk+0x5/0xfbef5 @IRQ',
      'update_process_times+0x7f/0x90 @IRQ',
      '? __pfx_tick_nohz_highres_handler+0x10/0x10 @IRQ',
      'tick_sched_handle+0x21/0x60 @IRQ',
      '? __pfx_tick_nohz_highres_handler+0x10/0x10 @IRQ',
      'tick_nohz_highres_handler+0x6d/0x90 @IRQ',
      '__hrtimer_run_queues+0x112/0x2b0 @IRQ',
      'hrtimer_interrupt+0xfc/0x210 @IRQ',
      '__sysvec_apic_timer_interrupt+0x4e/0x100 @IRQ',
      'sysvec_apic_timer_interrupt+0x6d/0x90 @IRQ',
      '</IRQ>',
      '<TASK>',
      'asm_sysvec_apic_timer_interrupt+0x16/0x20 @TASK',
      'RIP 0010:acpi_safe_halt+0x1b/0x30',
      '? srso_alias_return_thunk+0x5/0xfbef5 @TASK',
      'acpi_idle_do_entry+0x2f/0x50 @TASK',
      'acpi_idle_enter+0x7b/0xc0 @TASK',
      'cpuidle_enter_state+0x7d/0x430 @TASK',
      'cpuidle_enter+0x29/0x40 @TASK',
      'cpuidle_idle_call+0xfa/0x160 @TASK',
      'do_idle+0x7b/0xe0 @TASK',
      'cpu_startup_entry+0x26/0x30 @TASK',
      'start_secondary+0x115/0x140 @TASK',
      'secondary_startup_64_no_verify+0x187/0x18b @TASK',
      '</TASK>',
    ]);
    expect(oopsHeadline(r.first!)).toBe('WARNING in x86_pmu_stop+0xa2 (swapper/3, pid 0, CPU 3), tainted: U');
    expect(formatOops(r.first!)).toContain('  -- exception at 0010:acpi_safe_halt+0x1b/0x30 --');
  });

  const el6Expected = (registers: Record<string, string>) =>
    base({
      kind: 'soft-lockup',
      headline: 'BUG: soft lockup - CPU#0 stuck for 67s! [clearcache.sh:4383]',
      pc: { ...loc('__lookup', 0x3c, 0xe0, null, 'ffffffff812a442c'), segment: '0010' },
      registers,
      modules: anyModules,
      lastUnloaded: 'scsi_wait_scan',
      // "P" at bit 0, then RHEL 6 prints bits 12 on as '-' unless set: the 'L' sits at bit 14.
      tainted: taint('P           --L', [0, 'P', 'proprietary module loaded'], [14, 'L', 'soft lockup occurred']),
      cpu: 0,
      pid: 4383,
      comm: 'clearcache.sh',
      hardware: 'VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform',
      release: '2.6.32-696.23.1.el6.x86_64',
      build: '#1',
    });
  const el6Trace = [
    '? radix_tree_gang_lookup_slot+0x81/0xf0 <ffffffff812a4641>',
    '? find_get_pages+0x3b/0x150 <ffffffff81130c0b>',
    '? pagevec_lookup+0x22/0x30 <ffffffff81147432>',
    '? invalidate_mapping_pages+0x84/0x1e0 <ffffffff81148f44>',
    '? drop_caches_sysctl_handler+0x12e/0x1d0 <ffffffff811cc2ee>',
    '? proc_sys_call_handler+0x9c/0xd0 <ffffffff81213e9c>',
    '? proc_sys_write+0x14/0x20 <ffffffff81213ee4>',
    '? vfs_write+0xba/0x1a0 <ffffffff8119cb5a>',
    '? fget_light_pos+0x16/0x50 <ffffffff8119e056>',
    '? sys_write+0x51/0xb0 <ffffffff8119d691>',
    '? symev_write+0x53/0xa0 [symev_rh_ES_6_2_6_32_431_el6_x86_64] <ffffffffa03eea23>',
    '? system_call_fastpath+0x2f/0x34 <ffffffff8155e351>',
  ];

  it('RHEL 9.2 (5.14.0-284.11.1.el9_2): a SLUB "BUG <cache> (Tainted: …)" report, then a WARNING listed after it', () => {
    const text = corpus('el9.2-5.14-slab-bug-warning.txt');
    const r = parseOops(text);
    const machine = {
      cpu: 53,
      pid: 455206,
      comm: 'rmmod',
      hardware: 'HPE ProLiant DL385 Gen10 Plus v2/ProLiant DL385 Gen10 Plus v2, BIOS A42 08/17/2023',
      release: '5.14.0-284.11.1.el9_2.x86_64',
      build: '#1',
    };
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(2);
    expect(o).toEqual(
      fields({
        kind: 'bug',
        headline: 'BUG qla2xxx_srbs (Tainted: G           OE    --------  --- ): Objects remaining in qla2xxx_srbs on __kmem_cache_shutdown()',
        tainted: taint('G           OE', ...OE),
        ...machine,
      }),
    );
    expect(traceLines(trace)).toEqual([
      '<TASK>',
      'dump_stack_lvl+0x34/0x48 @TASK',
      'slab_err.cold+0x53/0x67 @TASK',
      '__kmem_cache_shutdown+0x16e/0x320 @TASK',
      'kmem_cache_destroy+0x51/0x160 @TASK',
      'qla2x00_module_exit+0x93/0x99 [qla2xxx] @TASK',
      '? __do_sys_delete_module.constprop.0+0x178/0x280 @TASK',
      '? syscall_trace_enter.constprop.0+0x145/0x1d0 @TASK',
      '? do_syscall_64+0x5c/0x90 @TASK',
      '? exc_page_fault+0x62/0x150 @TASK',
      '? entry_SYSCALL_64_after_hwframe+0x63/0xcd @TASK',
      '</TASK>',
    ]);
    expect(oopsHeadline(r.first!)).toBe('slab qla2xxx_srbs: Objects remaining in qla2xxx_srbs on __kmem_cache_shutdown() in slab_err.cold+0x53 (rmmod, pid 455206, CPU 53), tainted: OE');
    expect(r.others).toHaveLength(1);
    const { trace: t2, line: l2, registers, ...w } = r.others[0]!;
    expect(l2).toBe(25);
    expect(w).toEqual(
      noRegs(
        fields({
          kind: 'warning',
          headline: 'WARNING: CPU: 53 PID: 455206 at mm/slab_common.c:520 kmem_cache_destroy+0x14d/0x160',
          source: 'mm/slab_common.c:520',
          pc: { ...loc('kmem_cache_destroy', 0x14d, 0x160), segment: '0010' },
          // The slab report set B (bad page) between the two: "G    B      OE    --------  ---".
          tainted: taint('G    B      OE', [5, 'B', 'bad page'], ...OE),
          ...machine,
        }),
      ),
    );
    expect(Object.keys(registers)).toEqual([...X86_REGS, 'CR4']);
    expectRegistersIn(text, registers);
    expect(traceLines(t2)).toEqual(['<TASK>', 'qla2x00_module_exit+0x93/0x99 [qla2xxx] @TASK', '? __do_sys_delete_module.constprop.0+0x178/0x280 @TASK']);
  });

  it('RHEL 6 (2.6.32-696.23.1.el6) soft lockup: Pid: with the DMI board, Process, CPU n, <d> stack rows, (P)(U) modules', () => {
    const text = corpus('el6-2.6.32-softlockup.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const o = r.first!;
    expect(o).toEqual({ ...el6Expected(o.registers), trace: o.trace });
    expect(Object.keys(o.registers)).toEqual(X86_REGS_DR);
    expectRegistersIn(text, o.registers);
    expect(o.modules).toHaveLength(43);
    expect(o.modules!.filter((m) => m.taint)).toEqual([
      { name: 'symap_rh_ES_6_2_6_32_431_el6_x86_64', taint: 'PU' },
      { name: 'symev_rh_ES_6_2_6_32_431_el6_x86_64', taint: 'U' },
      { name: 'vsock', taint: 'U' },
      { name: 'vmci', taint: 'U' },
    ]);
    expect(o.modules!.slice(0, 2).map((m) => m.name)).toEqual(['nfs', 'lockd']);
    expect(o.modules!.at(-1)).toEqual({ name: 'dm_mod', taint: null });
    expect(traceLines(o.trace)).toEqual(el6Trace);
    expect(oopsHeadline(o)).toBe('soft lockup in __lookup+0x3c (clearcache.sh, pid 4383, CPU 0), tainted: PL');
  });

  it('RHEL 6 as the pre-3.5 plain ring holds it: a "<4>" level before every line parses the same', () => {
    const text = corpus('el6-2.6.32-softlockup.txt');
    const leveled = text
      .split('\n')
      .map((l) => (l === '' ? l : `<4>${l}`))
      .join('\n');
    expect(leveled.split('\n').find((l) => l.startsWith('<4><d> '))).toBe('<4><d> ffffffff812a4641 0000000000000fff 000000000000000e 0000000000000024');
    expect(parseOops(leveled)).toEqual(parseOops(text));
  });

  it('RHEL 6 from a dump: the text in a pre-3.5 plain ring, read by kdbg (= makedumpfile --dump-dmesg), parses field for field', async () => {
    const text = corpus('el6-2.6.32-softlockup.txt');
    // As 2.6.32 vprintk stores it: "<level>[seconds.micros] " before every line (printk_time on).
    const ring = text
      .split('\n')
      .map((l, i) => `<4>[${String(5000 + i).padStart(5)}.${String(i * 1013).padStart(6, '0')}] ${l}\n`)
      .join('');
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-oops-el6-'));
    try {
      const file = join(dir, 'el6.vmcore');
      writeFileSync(file, legacyDump(ring, 16384, '2.6.32-696.23.1.el6.x86_64').bytes);
      await promisify(execFile)('makedumpfile', ['--dump-dmesg', file, `${file}.txt`]);
      const log = await readDumpLog(file);
      expect(log.layout).toBe('legacy');
      expect(log.problems).toEqual([]);
      const read = recordsText(log.records);
      expect(read).toBe(readFileSync(`${file}.txt`, 'latin1'));
      // The plain ring is printed as it is stored, level and all: the parser strips "<4>[ts] ".
      expect(read.split('\n').find((l) => l.includes('<d>'))).toMatch(/^<4>\[ *\d+\.\d{6}\] <d> ffffffff812a4641 /);
      expect(parseOops(read)).toEqual(parseOops(text));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('2.6.32 through syslog: last sysfs file, CPU n, IP with no symbol, "RIP  [<…>]" tail, a second Oops [#2]', () => {
    const text = corpus('2.6.32-ubuntu-bad-ip.txt');
    const r = parseOops(text);
    const { registers, trace, modules, line, ...o } = r.first!;
    expect(line).toBe(0);
    const common = {
      kind: 'paging-request' as const,
      headline: 'BUG: unable to handle kernel paging request at ffffffff79038760',
      faultAddress: 'ffffffff79038760',
      // "IP: [<ffffffff79038760>] 0xffffffff79038760": a jump to an address kallsyms cannot name.
      pc: { ...loc(null, null, null, null, 'ffffffff79038760'), segment: null },
      lastSysfsFile: '/sys/devices/pci0000:00/0000:00:14.0/local_cpus',
      cpu: 1,
      pid: 3999,
      comm: 'rmiregistry',
      hardware: 'VirtualBox',
      release: '2.6.32-25-generic',
      build: '#44-Ubuntu',
    };
    const { modules: _m, registers: _r, ...expected } = fields({ ...common, oops: { trap: null, errorCode: '0010', count: 1, flags: ['SMP'] }, tainted: taint('') });
    expect(o).toEqual(expected);
    expect(modules!.map((m) => m.name).slice(0, 3)).toEqual(['binfmt_misc', 'nls_cp437', 'cifs']);
    expect(modules).toHaveLength(26);
    expect(modules!.every((m) => m.taint === null)).toBe(true);
    expect(Object.keys(registers)).toEqual(X86_REGS_DR);
    expectRegistersIn(text, registers);
    expect(traceLines(trace)).toEqual([
      '? futex_wake+0x108/0x130 <ffffffff810959e8>',
      '? hrtimer_start_range_ns+0x14/0x20 <ffffffff810888f4>',
      'do_futex+0xb8/0x1b0 <ffffffff81098128>',
      '? getnstimeofday+0x60/0xf0 <ffffffff8108e970>',
      'sys_futex+0x7b/0x170 <ffffffff8109829b>',
      '? ktime_get_real+0x0/0x50 <ffffffff8108ea00>',
      '? sys_gettimeofday+0x40/0x90 <ffffffff8106b950>',
      'system_call_fastpath+0x16/0x1b <ffffffff810121b2>',
    ]);
    expect(r.others).toHaveLength(1);
    const { registers: r2, trace: t2, modules: m2, line: l2, ...second } = r.others[0]!;
    expect(l2).toBe(39);
    const { modules: _m2, registers: _r2, ...expected2 } = fields({ ...common, oops: { trap: null, errorCode: '0010', count: 2, flags: ['SMP'] }, tainted: taint('G      D', [7, 'D', 'kernel died recently (oops or BUG)']) });
    expect(second).toEqual(expected2);
    expect(m2).toEqual(modules);
    expect(r2).toEqual({});
    expect(t2).toEqual([]);
    // IP with no symbol: the address, then the first reliable frame of the trace as its caller ("?" frames passed over).
    expect(oopsHeadline(r.first!)).toBe('bad paging request at ffffffff79038760 in 0xffffffff79038760, called from do_futex+0xb8 (rmiregistry, pid 3999, CPU 1), tainted: none');
  });

  it('aarch64 6.6 without a symbol for the pc: a bare address as pc and as the first frame', () => {
    const r = parseOops(corpus('aarch64-6.6-no-kallsyms.txt'));
    expect(r.others).toEqual([]);
    const { trace, modules, line, ...o } = r.first!;
    expect(line).toBe(0);
    const { modules: _m, ...expected } = fields({
      kind: 'oops',
      headline: 'Internal error: Oops: 0000000086000007 [#1] PREEMPT SMP',
      oops: { trap: null, errorCode: '0000000086000007', count: 1, flags: ['PREEMPT', 'SMP'] },
      pc: { ...loc(null, null, null, null, 'ffff80007a2cf464'), segment: null },
      lr: loc('call_timer_fn.isra.0', 0x24, 0x80),
      registers: { pstate: '20400009' },
      lastUnloaded: 'btnxpuart',
      tainted: taint('G           O', [12, 'O', 'out-of-tree module loaded']),
      cpu: 5,
      pid: 723,
      comm: 'memtester',
      hardware: 'NXP i.MX95 19X19 board (DT)',
      release: '6.6.23-lts-next-06207-g4aef2658ac28',
      build: '#1',
      panic: 'Oops: Fatal exception in interrupt',
    });
    expect(o).toEqual(expected);
    expect(modules).toHaveLength(25);
    expect(modules!.filter((m) => m.taint)).toEqual([
      { name: 'moal', taint: 'O' },
      { name: 'mlan', taint: 'O' },
    ]);
    expect(traceLines(trace)).toEqual([
      '0xffff80007a2cf464',
      '__run_timers+0x234/0x280',
      'run_timer_softirq+0x20/0x40',
      '__do_softirq+0x100/0x26c',
      '____do_softirq+0x10/0x1c',
      'call_on_irq_stack+0x24/0x4c',
      'do_softirq_own_stack+0x1c/0x2c',
      'irq_exit_rcu+0xc0/0xdc',
      'el0_interrupt+0x54/0xd8',
      '__el0_irq_handler_common+0x18/0x24',
      'el0t_64_irq_handler+0x10/0x1c',
      'el0t_64_irq+0x190/0x194',
    ]);
    expect(formatOops(r.first!)).toContain('call trace:\n  0xffff80007a2cf464\n  __run_timers+0x234/0x280\n');
  });

  const GPRS = (rows: string[]): Record<string, string> =>
    Object.fromEntries(rows.flatMap((row, i) => row.trim().split(/\s+/).map((v, k) => [`GPR${String(i * 4 + k).padStart(2, '0')}`, v])));

  it('ppc64le 5.8: instruction fetch at NIP 0x0, NIP/LR lines, GPR rows, (unreliable), faddr2line lines passed over', () => {
    const text = corpus('ppc64le-5.8-power9-nip0.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const gprRows = text.split('\n').flatMap((l) => /\] GPR\d\d: (.*)$/.exec(l)?.[1] ?? []);
    expect(gprRows).toHaveLength(8);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(0);
    expect(o).toEqual(
      fields({
        kind: 'null-pointer-dereference',
        headline: 'BUG: Unable to handle kernel instruction fetch (NULL pointer?)',
        faultAddress: '00000000',
        oops: { trap: 'Kernel access of bad area', errorCode: '11', count: 1, flags: ['LE', 'PAGE_SIZE=64K', 'MMU=Radix', 'SMP', 'NR_CPUS=256', 'NUMA', 'PowerNV'] },
        pc: { ...loc(null, null, null, null, '0000000000000000'), segment: null },
        lr: loc('__seccomp_filter', 0xec, 0x530, null, 'c00000000021f2cc'),
        registers: {
          NIP: '0000000000000000',
          LR: 'c00000000021f2cc',
          CTR: '0000000000000000',
          REGS: 'c000201cb52d79b0',
          TRAP: '0400',
          MSR: '9000000040009033',
          CR: '24222292',
          XER: '00000000',
          CFAR: 'c00000000021f2c8',
          IRQMASK: '0',
          ...GPRS(gprRows),
        },
        modules: [
          { name: 'dm_mirror', taint: null },
          { name: 'dm_region_hash', taint: null },
          { name: 'dm_log', taint: null },
          { name: 'dm_mod', taint: null },
        ],
        tainted: taint(''),
        cpu: 92,
        pid: 925,
        comm: '(md-udevd)',
        release: '5.8.0-rc5-next-20200716',
        build: '#3',
        panic: 'Fatal exception',
      }),
    );
    expect(o.registers['GPR01']).toBe('c000201cb52d7c40');
    expect(o.registers['GPR31']).toBe('000000007fff0000');
    expect(traceLines(trace)).toEqual([
      '? __seccomp_filter+0xec/0x530 <c00000000021f2cc>',
      'do_syscall_trace_enter+0xb8/0x470 <c000000000025af8>',
      'system_call_exception+0x138/0x180 <c00000000002c8f8>',
      'system_call_common+0xe8/0x214 <c00000000000c9e8>',
    ]);
    // NIP 0x0: the caller from the link register (the trace's first frame is "(unreliable)").
    expect(oopsHeadline(r.first!)).toBe('NULL pointer dereference at 00000000 in 0x0, called from __seccomp_filter+0xec ((md-udevd), pid 925, CPU 92), tainted: none');
  });

  it('ppc64le 5.8 soft lockup: NIP/LR with symbols, the "--- interrupt: 300 at" boundary kept in the trace', () => {
    const text = corpus('ppc64le-5.8-softlockup-interrupt.txt');
    const r = parseOops(text);
    expect(r.others).toEqual([]);
    const gprRows = text.split('\n').flatMap((l) => /\] GPR\d\d: (.*)$/.exec(l)?.[1] ?? []);
    const { trace, modules, line, ...o } = r.first!;
    expect(line).toBe(0);
    const { modules: _m, ...expected } = fields({
      kind: 'soft-lockup',
      headline: 'watchdog: BUG: soft lockup - CPU#99 stuck for 22s! [(spawn):2692]',
      pc: { ...loc('replay_soft_interrupts', 0x74, 0x3b0, null, 'c0000000000152b4'), segment: null },
      lr: loc('arch_local_irq_restore', 0x50, 0xd0, null, 'c000000000015640'),
      registers: {
        NIP: 'c0000000000152b4',
        LR: 'c000000000015640',
        CTR: '0000000000000000',
        REGS: 'c000201cbc3d7178',
        TRAP: '0900',
        MSR: '9000000000001033',
        CR: '28022482',
        XER: '20040000',
        CFAR: '0000000000000000',
        IRQMASK: '3',
        ...GPRS(gprRows),
      },
      tainted: taint('G             L', [14, 'L', 'soft lockup occurred']),
      cpu: 99,
      pid: 2692,
      comm: '(spawn)',
      release: '5.8.0-rc5-next-20200716',
      build: '#3',
    });
    expect(o).toEqual(expected);
    expect(modules!.map((m) => m.name)).toEqual(['kvm_hv', 'kvm', 'ip_tables', 'x_tables', 'sd_mod', 'bnx2x', 'tg3', 'ahci', 'mdio', 'libahci', 'libphy', 'firmware_class', 'libata', 'dm_mirror', 'dm_region_hash', 'dm_log', 'dm_mod']);
    expect(traceLines(trace)).toEqual([
      '? arch_local_irq_restore+0x50/0xd0 <c000000000015640>',
      'lock_is_held_type+0xf8/0x180 <c0000000009a0c68>',
      'mem_cgroup_from_task+0xa0/0x130 <c0000000003e8cf0>',
      'handle_mm_fault+0x140/0x1d20 <c000000000337950>',
      'do_page_fault+0x1dc/0xd90 <c00000000004d5ac>',
      'handle_page_fault+0x10/0x2c <c00000000000c028>',
      'RIP 300:futex_cleanup+0x3c0/0x740',
      'futex_exec_release+0x28/0x50 <c0000000001df2e8>',
      'exec_mm_release+0x24/0x50 <c0000000000c5e54>',
      'begin_new_exec+0x324/0xea0 <c000000000421e84>',
      'load_elf_binary+0x7fc/0x1110 <c0000000004d8f1c>',
      'exec_binprm+0x1c4/0x7d0 <c000000000420824>',
      'do_execveat_common+0x710/0x960 <c000000000421540>',
      'sys_execve+0x44/0x60 <c000000000422a44>',
      'system_call_exception+0xf8/0x180 <c00000000002c8b8>',
      'system_call_common+0xe8/0x214 <c00000000000c9e8>',
    ]);
    expect(formatOops(r.first!)).toContain('  -- exception at 300:futex_cleanup+0x3c0/0x740 --\n  futex_exec_release+0x28/0x50\n');
  });

  it('ppc64 6.7: NULL dereference on read, a module frame marked (unreliable), no NIP line in the excerpt', () => {
    const r = parseOops(corpus('ppc64-6.7-bnx2x-module-frame.txt'));
    expect(r.others).toEqual([]);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(6);
    expect(o).toEqual(
      fields({
        kind: 'null-pointer-dereference',
        headline: 'BUG: Kernel NULL pointer dereference on read at 0x00000000',
        faultAddress: '00000000',
        oops: { trap: 'Kernel access of bad area', errorCode: '11', count: 1, flags: [] },
      }),
    );
    expect(traceLines(trace)).toEqual([
      '? bnx2x_io_slot_reset+0x204/0x610 [bnx2x] <c00800000250658c>',
      'eeh_report_reset+0xb8/0xf0 <c0000000000518a8>',
      'eeh_pe_report+0x180/0x550 <c000000000052130>',
      'eeh_handle_normal_event+0x84c/0xa60 <c00000000005318c>',
      'eeh_event_handler+0xf4/0x170 <c000000000053a84>',
      'kthread+0x1c8/0x1d0 <c000000000194c58>',
      'ret_from_kernel_thread+0x5c/0x64 <c00000000000cf64>',
    ]);
    // No NIP: the headline names the first frame the unwinder vouched for.
    expect(oopsHeadline(r.first!)).toBe('NULL pointer dereference at 00000000 in eeh_report_reset+0xb8');
  });

  it('ppc64 5.19: kernel data access at an address, NIP and LR with symbols, the trace ends at Instruction dump', () => {
    const r = parseOops(corpus('ppc64-5.19-ima-data-access.txt'));
    expect(r.others).toEqual([]);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(1);
    expect(o).toEqual(
      fields({
        kind: 'paging-request',
        headline: 'BUG: Unable to handle kernel data access on read at 0xc000c01fff7f0000',
        faultAddress: 'c000c01fff7f0000',
        oops: { trap: 'Kernel access of bad area', errorCode: '11', count: 1, flags: [] },
        pc: { ...loc('ima_restore_measurement_list', 0x94, 0x6c0, null, 'c000000000837974'), segment: null },
        lr: loc('ima_load_kexec_buffer', 0xac, 0x160, null, 'c00000000083b55c'),
      }),
    );
    expect(traceLines(trace)).toEqual([
      'ima_load_kexec_buffer+0xac/0x160 <c00000000083b55c>',
      'ima_init+0x80/0x108 <c0000000020512c4>',
      'init_ima+0x4c/0x120 <c0000000020514dc>',
      'do_one_initcall+0x60/0x2c0 <c000000000012240>',
      'kernel_init_freeable+0x344/0x3ec <c000000002004ad0>',
      'kernel_init+0x34/0x1b0 <c0000000000128a4>',
      'ret_from_kernel_thread+0x5c/0x64 <c00000000000ce64>',
    ]);
    expect(oopsHeadline(r.first!)).toBe('bad paging request at c000c01fff7f0000 in ima_restore_measurement_list+0x94');
  });

  it('ppc64 (older wording): "Unable to handle kernel paging request for data at address 0x…"', () => {
    const r = parseOops(corpus('ppc64-4.x-drmem-paging-request.txt'));
    expect(r.others).toEqual([]);
    const { trace, line, ...o } = r.first!;
    expect(line).toBe(1);
    expect(o).toEqual(
      fields({
        kind: 'paging-request',
        headline: 'Unable to handle kernel paging request for data at address 0x00000010',
        faultAddress: '00000010',
        oops: { trap: 'Kernel access of bad area', errorCode: '11', count: 1, flags: [] },
        pc: { ...loc('dlpar_memory', 0x510, 0xb50, null, 'c0000000000f0a30'), segment: null },
        lr: loc('dlpar_memory', 0x4c8, 0xb50, null, 'c0000000000f09e8'),
      }),
    );
    expect(traceLines(trace)).toEqual([
      '? dlpar_memory+0x4c8/0xb50 <c0000000000f09e8>',
      'handle_dlpar_errorlog+0x60/0x140 <c0000000000e8390>',
      'dlpar_store+0x170/0x490 <c0000000000e85e0>',
      'kobj_attr_store+0x30/0x50 <c000000000cb0c90>',
      'sysfs_kf_write+0x68/0xa0 <c000000000591598>',
      'kernfs_fop_write+0x104/0x270 <c00000000058fec4>',
      'sys_write+0x128/0x380 <c0000000004a1078>',
      'system_call+0x5c/0x70 <c00000000000b388>',
    ]);
    expect(oopsHeadline(r.first!)).toBe('bad paging request at 00000010 in dlpar_memory+0x510');
  });

  it('RHEL taint strings: the dash field is passed over, set RHEL 6 bits keep their column', () => {
    expect(decodeTaint('P           --L')).toEqual([
      { bit: 0, letter: 'P', meaning: 'proprietary module loaded' },
      { bit: 14, letter: 'L', meaning: 'soft lockup occurred' },
    ]);
    expect(decodeTaint('GF          O')).toEqual([
      { bit: 1, letter: 'F', meaning: 'module force-loaded' },
      { bit: 12, letter: 'O', meaning: 'out-of-tree module loaded' },
    ]);
  });
});

describe('what a BUG other than "kernel BUG at" says it is (the headline\'s first words)', () => {
  it('names the BUG by its own words, up to the process, the function or a detail after ": "', () => {
    // Input vectors: first lines of BUG reports as mm/, kernel/sched/, KASAN, SLUB and the VFS print them.
    const cases: [string, string | null][] = [
      ['BUG: Bad page state in process swapper/34  pfn:1c5a29', 'Bad page state'],
      ['BUG: scheduling while atomic: swapper/0/0/0x00000100', 'scheduling while atomic'],
      ['BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283', 'sleeping function called from invalid context'],
      ['BUG: KASAN: slab-out-of-bounds in ext4_find_extent+0x8c4/0x960', 'KASAN: slab-out-of-bounds'],
      ['BUG: spinlock lockup suspected on CPU#0, swapper/0/0', 'spinlock lockup suspected on CPU#0, swapper/0/0'],
      ['BUG: Dentry 00000000a7c1d2e3{i=2,n=/}  still in use (1) [unmount of ext4 sda1]', 'Dentry 00000000a7c1d2e3{i=2,n=/}  still in use (1) [unmount of ext4 sda1]'],
      ['BUG kmalloc-64 (Not tainted): Redzone overwritten', 'slab kmalloc-64: Redzone overwritten'],
      ['kernel BUG at mm/slub.c:4064!', null],
    ];
    for (const [line, want] of cases) expect(bugWhat(line), line).toBe(want);
  });
});
