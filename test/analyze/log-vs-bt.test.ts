// The log's call trace against crash's bt (analyze/log-vs-bt.ts): the alignment rules on input
// vectors shaped like the real traces (the end-to-end test in test/cli/analyze.test.ts checks them
// on the QEMU dumps against makedumpfile's text).
import { describe, expect, it } from 'vitest';
import type { ChainEntry } from '../../src/analyze/call-chain.js';
import { compareLogWithBt } from '../../src/analyze/log-vs-bt.js';
import type { LogTraceFrame } from '../../src/analyze/log-vs-bt.js';
import { logVsBtLines } from '../../src/analyze/report/markdown.js';

const f = (fn: string, o: Partial<LogTraceFrame> = {}): LogTraceFrame => ({ function: fn, offset: 0x10, module: null, reliable: true, exception: false, ...o });
let level = 0;
const c = (fn: string, o: Partial<ChainEntry> = {}): ChainEntry => ({ level: level++, kind: 'frame', function: fn, offset: null, address: null, module: null, file: null, line: null, stack: null, ...o });

describe('compareLogWithBt', () => {
  it('a sysrq-like trace: both sides agree, the panic paths and "?" guesses are not differences', () => {
    level = 0;
    const log = [f('dump_stack_lvl'), f('panic'), f('_printk', { reliable: false }), f('sysrq_handle_crash'), f('__handle_sysrq.cold'), f('vfs_write'), f('do_syscall_64')];
    const bt = [c('machine_kexec'), c('__crash_kexec'), c('panic'), c('sysrq_handle_crash'), c('__handle_sysrq'), c('vfs_write'), c('do_syscall_64')];
    const r = compareLogWithBt({ headline: 'h', frames: log }, bt);
    expect(r.rows.map((x) => x.status)).toEqual(['panic-path', 'panic-path', 'panic-path', 'both', 'log-unreliable', 'both', 'both', 'both', 'both']);
    // .cold on one side only still matches: the clone and the symbol are one function.
    expect(r.rows.find((x) => x.bt === '#4 __handle_sysrq')!.log).toBe('__handle_sysrq.cold+0x10');
    expect(r.matched).toBe(5);
    expect(r.logOnly).toEqual([]);
    expect(r.btOnly).toEqual([]);
    expect(r.verdict).toMatch(/^they agree: 5 frames/);
    // Every bt entry appears once, in order; every log frame appears once, in order.
    expect(r.rows.filter((x) => x.chainIndex !== null).map((x) => x.chainIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.rows.filter((x) => x.log !== null).length).toBe(log.length);
  });

  it('a frame the unwinder lost and one only bt has are named, with module and exception', () => {
    level = 0;
    const log = [f('read_value', { module: 'm', exception: true, offset: 5 }), f('write_value', { module: 'm' }), f('inlined_helper'), f('proc_reg_write')];
    const bt = [c('panic'), c('read_value', { kind: 'exception', level: null, offset: 5 }), c('write_value', { module: 'm' }), c('proc_reg_write'), c('extra_frame'), c('vfs_write')];
    const r = compareLogWithBt({ headline: 'h', frames: log }, bt);
    expect(r.matched).toBe(3);
    expect(r.logOnly).toEqual(['inlined_helper+0x10']);
    expect(r.btOnly).toEqual(['#4 extra_frame', '#5 vfs_write']);
    expect(r.rows[0]).toMatchObject({ status: 'panic-path', bt: '#0 panic' });
    expect(r.rows[1]).toMatchObject({ status: 'both', log: 'read_value+0x5 [m]', bt: '[exception RIP: read_value+5]' });
    expect(r.verdict).toBe('3 frames agree; 1 reliable log frame not in bt (inlined_helper+0x10); 2 bt frames not in the log (#4 extra_frame, #5 vfs_write)');
    const lines = logVsBtLines(r);
    expect(lines.find((l) => l.includes('inlined_helper'))!.startsWith('< ')).toBe(true);
    expect(lines.find((l) => l.includes('extra_frame'))!.startsWith('> ')).toBe(true);
  });

  it('a stale "? fn" just before the reliable frame of the same function leaves bt\'s frame to the reliable one', () => {
    // The shape of a fresh QEMU sysrq dump's trace (a fresh-clone CI run): "? ksys_write+0x6b/0xf0"
    // then "ksys_write+0x6b/0xf0". Matched greedily, the stale one took bt's ksys_write and the
    // reliable one was reported as a log frame bt lacks.
    level = 0;
    const log = [f('vfs_write'), f('do_syscall_64', { reliable: false }), f('ksys_write', { reliable: false }), f('ksys_write'), f('do_syscall_64'), f('exit_to_user_mode_prepare', { reliable: false }), f('entry_SYSCALL_64_after_hwframe')];
    const bt = [c('vfs_write'), c('ksys_write'), c('do_syscall_64'), c('entry_SYSCALL_64_after_hwframe')];
    const r = compareLogWithBt({ headline: 'h', frames: log }, bt);
    expect(r.logOnly).toEqual([]);
    expect(r.matched).toBe(4);
    expect(r.rows.map((x) => x.status)).toEqual(['both', 'log-unreliable', 'log-unreliable', 'both', 'both', 'log-unreliable', 'both']);
    expect(r.rows.find((x) => x.bt === '#1 ksys_write')!.log).toBe('ksys_write+0x10');
    // A "?" frame that is the only one of its function still matches.
    level = 0;
    const only = compareLogWithBt({ headline: 'h', frames: [f('a'), f('b', { reliable: false }), f('c')] }, [c('a'), c('b'), c('c')]);
    expect(only.matched).toBe(3);
  });

  it('no common frame says so, and empty sides are told apart', () => {
    level = 0;
    expect(compareLogWithBt({ headline: 'h', frames: [f('a'), f('b')] }, [c('x'), c('y')]).verdict).toMatch(/share no frame/);
    expect(compareLogWithBt({ headline: 'h', frames: [] }, [c('x')]).verdict).toMatch(/no call trace/);
    expect(compareLogWithBt({ headline: 'h', frames: [f('a')] }, []).verdict).toMatch(/no backtrace/);
  });

  it('three or more "?" guesses in a row fold into one line; two stay', () => {
    level = 0;
    const log = [f('a'), f('g1', { reliable: false }), f('g2', { reliable: false }), f('b'), f('g3', { reliable: false }), f('g4', { reliable: false }), f('g5', { reliable: false }), f('c')];
    const lines = logVsBtLines(compareLogWithBt({ headline: 'h', frames: log }, [c('a'), c('b'), c('c')]));
    expect(lines.filter((l) => /\? g[12]/.test(l)).length).toBe(2);
    expect(lines.some((l) => /g[345]/.test(l))).toBe(false);
    expect(lines).toContain('  (3 "?" frames: stale return addresses the kernel\'s unwinder found on the stack)');
  });
});
