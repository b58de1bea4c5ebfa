// identify keeps the split siblings it found beside the identification (siblingsFound), so that
// `kdbg log` opens the set without scanning the directory again; the log read that way is the
// log read with a fresh scan (klog/open.ts falls back to one when identify kept nothing).
import { describe, expect, it } from 'vitest';
import { identifyDump } from '../../src/identify/index.js';
import { siblingsFound } from '../../src/identify/split.js';
import { readDumpLog } from '../../src/klog/index.js';
import { openDumpForLog } from '../../src/klog/open.js';
import { requireFixture } from '../helpers/fixtures.js';

describe('split siblings found once', () => {
  it('identify keeps the parts it found, in pfn order; a dump that is not split has none', async () => {
    const part = requireFixture('vmcores', 'sysrq', 'vmcore.split-2');
    const id = await identifyDump(part);
    expect(id.split?.part).toBe(2);
    const kept = siblingsFound(id);
    expect(kept?.map((s) => s.path)).toEqual(['vmcore.split-1', 'vmcore.split-2', 'vmcore.split-3'].map((n) => requireFixture('vmcores', 'sysrq', n)));
    expect(kept!.every((s, i) => i === 0 || s.start === kept![i - 1]!.end)).toBe(true);
    expect(siblingsFound(await identifyDump(requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib')))).toBeUndefined();
  });

  it('the log opened from those siblings lists every part and equals the log of part 1', async () => {
    const parts = ['vmcore.split-1', 'vmcore.split-2', 'vmcore.split-3'].map((n) => requireFixture('vmcores', 'sysrq', n));
    const d = await openDumpForLog(parts[1]!);
    await d.close();
    expect(d.files).toEqual(parts);
    const a = await readDumpLog(parts[1]!);
    const b = await readDumpLog(parts[0]!);
    expect(a.records.length).toBeGreaterThan(100);
    expect(a.records).toEqual(b.records);
  });
});
