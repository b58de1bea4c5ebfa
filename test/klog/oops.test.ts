// The oops parser on the logs of the real QEMU dumps (read by kdbg log) and on a corpus of oops
// texts quoted in public bug reports (test/fixtures/klog/oops-corpus/SOURCES.md says where each
// came from). Every field the parser fills is asserted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { recordsText } from '../../src/klog/format.js';
import { readDumpLog } from '../../src/klog/index.js';
import { decodeTaint, formatOops, oopsHeadline, parseOops, parseTrace } from '../../src/klog/oops.js';
import type { CodeLocation, Oops, TraceEntry } from '../../src/klog/oops.js';
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
