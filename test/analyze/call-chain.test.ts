// `bt -l` parsed into frames with their file:line, and the call chain the report reads: a real
// recording of crash 8.0.6 on the oops dump (module frames without debuginfo have no line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callChain, faultAndCaller } from '../../src/analyze/call-chain.js';
import { parseBt } from '../../src/analyze/parsers/bt.js';
import { outputOf, splitTranscript } from '../../src/analyze/transcript.js';
import type { FaultLocation } from '../../src/analyze/triage-types.js';

const text = outputOf(splitTranscript(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'crash', '8.0.6', 'oops-bt-l.txt'), 'utf8')), 'bt -l')!;

describe('bt -l', () => {
  const bt = parseBt(text);
  const t = bt.tasks[0]!;

  it('gives each frame the source line crash printed under it, and none to module frames without debuginfo', () => {
    expect(t.frames.map((f) => f.function)).toEqual(['panic', 'page_fault_oops', 'exc_page_fault', 'asm_exc_page_fault', 'kdbg_oops_write', 'proc_reg_write', 'vfs_write', 'ksys_write', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    expect(t.frames[0]).toMatchObject({ file: 'debian/build/build_amd64_none_amd64/kernel/panic.c', line: 208 });
    expect(t.frames[3]).toMatchObject({ file: '/build/reproducible-path/linux-6.1.192/arch/x86/include/asm/idtentry.h', line: 608 });
    expect(t.frames[4]).toMatchObject({ function: 'kdbg_oops_write', module: 'kdbg_oops', file: null, line: null });
    // Register lines after the exception and at the end are registers, not source lines.
    expect(t.exceptions[0]!.registers['RIP']).toBe('ffffffffc0207005');
    expect(t.registers.at(-1)!['CS']).toBe('0033');
    expect(t.other).toEqual([]);
  });

  it('places the exception RIP before the frame it interrupted; its caller is that frame', () => {
    const loc: FaultLocation = { function: 'kdbg_oops_read_value', offset: 5, text: 'kdbg_oops_read_value+0x5/0x10', module: 'kdbg_oops', address: 'ffffffffc0207005', from: 'log', file: 'kdbg_oops.c', line: 17, instruction: null };
    const chain = callChain(t, loc);
    expect(chain.map((c) => c.kind)).toEqual(['frame', 'frame', 'frame', 'frame', 'exception', 'frame', 'frame', 'frame', 'frame', 'frame', 'frame']);
    expect(chain[4]).toMatchObject({ function: 'kdbg_oops_read_value', offset: 5, address: 'ffffffffc0207005', file: 'kdbg_oops.c', line: 17 });
    expect(faultAndCaller(chain, loc)).toEqual({ fault: 4, caller: 5 });
    expect(faultAndCaller(chain, null)).toEqual({ fault: null, caller: null });
  });

  it('reads plain bt (no lines) as before', () => {
    const plain = parseBt(text.split('\n').filter((l) => !/^\s+\S*[/.]\S*:\s+\d+$/.test(l)).join('\n'));
    expect(plain.tasks[0]!.frames.every((f) => f.file === null && f.line === null)).toBe(true);
    expect(plain.tasks[0]!.frames.length).toBe(t.frames.length);
  });
});
