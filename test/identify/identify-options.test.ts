// identifyDump's two options for `kdbg log` (klog/open.ts): `utsname: false` leaves the kernel's
// utsname unread when VMCOREINFO names the release, `splitSiblings: false` leaves a split part
// unnumbered (no directory scan). Everything else is what a full identify finds, on the real dumps.
import { describe, expect, it } from 'vitest';
import { identifyDump } from '../../src/identify/index.js';
import type { DumpIdentification } from '../../src/identify/index.js';
import { requireFixture } from '../helpers/fixtures.js';

const quick = { utsname: false, splitSiblings: false } as const;

/** The fields where the two identifications differ. */
function differing(a: DumpIdentification, b: DumpIdentification): string[] {
  return Object.keys(a).filter((k) => JSON.stringify(a[k as keyof DumpIdentification]) !== JSON.stringify(b[k as keyof DumpIdentification]));
}

describe('identifyDump for the log (utsname: false, splitSiblings: false)', () => {
  it('an ELF and a flattened QEMU kdump: the same release, VMCOREINFO and arch; no utsname read, so no package version', async () => {
    for (const name of ['vmcore.elf', 'vmcore.qemu-kdump-zlib.flat']) {
      const path = requireFixture('vmcores', 'sysrq', name);
      const full = await identifyDump(path);
      const q = await identifyDump(path, quick);
      expect(full.packageVersion).not.toBeNull();
      expect(q.packageVersion).toBeNull();
      expect(differing(full, q).sort()).toEqual(['packageVersion', 'utsname']);
      expect(q.release).toBe(full.release);
    }
  });

  it('a split part: only the part number and count are left out', async () => {
    const path = requireFixture('vmcores', 'sysrq', 'vmcore.split-2');
    const full = await identifyDump(path);
    const q = await identifyDump(path, quick);
    expect(full.split).toMatchObject({ part: 2, parts: 3 });
    expect(q.split).toMatchObject({ part: null, parts: null, startPfn: full.split!.startPfn, endPfn: full.split!.endPfn });
    expect(differing(full, q)).toEqual(['split']);
  });

  it('a dump without VMCOREINFO: the same identification (its release comes from the banner scan, which the options leave alone)', async () => {
    const path = requireFixture('vmcores', 'sysrq-novmcoreinfo', 'vmcore.qemu.elf');
    const full = await identifyDump(path);
    const q = await identifyDump(path, quick);
    expect(q.release).toBe(full.release);
    expect(differing(full, q)).toEqual([]);
  });
});
