// A split part's siblings: identify numbers the part from them (a scan of its directory); `kdbg
// log` identifies without the scan and opens the other parts only when the log reaches past the
// part it was given (klog/open.ts). The log read from any part is the same.
import { describe, expect, it } from 'vitest';
import { identifyDump } from '../../src/identify/index.js';
import { readDumpLog } from '../../src/klog/index.js';
import { openDumpForLog } from '../../src/klog/open.js';
import { requireFixture } from '../helpers/fixtures.js';

describe('split siblings found once', () => {
  it('identify numbers a part from its siblings; with splitSiblings: false it does not look', async () => {
    const part = requireFixture('vmcores', 'sysrq', 'vmcore.split-2');
    expect((await identifyDump(part)).split).toMatchObject({ part: 2, parts: 3 });
    expect((await identifyDump(part, { splitSiblings: false })).split).toMatchObject({ part: null, parts: null });
  });

  it('the log of part 2 opens the other parts when it reaches past its own pages, lists every part, and equals the log of part 1', async () => {
    const parts = ['vmcore.split-1', 'vmcore.split-2', 'vmcore.split-3'].map((n) => requireFixture('vmcores', 'sysrq', n));
    // Nothing read yet: the siblings are not looked for (no directory scan at open).
    const d = await openDumpForLog(parts[1]!);
    await d.close();
    expect(d.files).toEqual([parts[1]]);
    const a = await readDumpLog(parts[1]!);
    expect(a.files).toEqual(parts);
    const b = await readDumpLog(parts[0]!);
    expect(a.records.length).toBeGreaterThan(100);
    expect(a.records).toEqual(b.records);
  });

  it('the log of part 1, whose pages hold the whole ring, reads part 1 alone, as makedumpfile does', async () => {
    const parts = ['vmcore.split-1', 'vmcore.split-2', 'vmcore.split-3'].map((n) => requireFixture('vmcores', 'sysrq', n));
    const one = await readDumpLog(parts[0]!);
    expect(one.files).toEqual([parts[0]]);
    expect(one.problems).toEqual([]);
    // The same records as when every part is open (part 3 reaches into part 1).
    expect(one.records).toEqual((await readDumpLog(parts[2]!)).records);
  });
});
