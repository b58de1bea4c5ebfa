// Kernel memory out of real dumps: linux_banner and init_uts_ns at the addresses the guest
// kernel printed from /proc/kallsyms, read through every dump container, compared with what the
// kernel printed (makedumpfile --dump-dmesg) and with VMCOREINFO.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDumpMemory } from '../../src/identify/index.js';
import { parseUtsMemory } from '../../src/identify/memory.js';
import { fixturePath, requireFixture } from '../helpers/fixtures.js';

const manifest = JSON.parse(readFileSync(requireFixture('vmcores', 'manifest.json'), 'utf8')) as {
  kinds: Record<string, { kallsyms: Record<string, string> }>;
  dumps: { file: string; kind: string; format: string; expected: { release: string; banner: string; source: string } }[];
};
const norm = (b: string): string => b.replace(/ #\d* /, ' # ');

describe('openDumpMemory', () => {
  const files = manifest.dumps.filter((d) => d.expected.source === 'vmcoreinfo' && d.format !== 'dmesg' && !/split-[23]$/.test(d.file));
  for (const d of files) {
    it(`reads linux_banner and init_uts_ns from ${d.file}`, async () => {
      const ks = manifest.kinds[d.kind]!.kallsyms;
      const sym = (name: string): bigint => BigInt(`0x${ks[name]}`);
      expect(Object.keys(ks).sort()).toEqual(['init_uts_ns', 'linux_banner']);
      const mem = await openDumpMemory(join(fixturePath('vmcores'), d.file));
      try {
        // kallsyms prints runtime addresses: the KASLR offset is already in them.
        const off = 0n;
        const b = await mem.readKernel(sym('linux_banner') + off, 400);
        expect(b).not.toBeNull();
        const text = Buffer.from(b!).toString('latin1');
        const banner = text.slice(0, text.indexOf('\n'));
        expect(norm(banner)).toBe(norm(d.expected.banner));
        const u = await mem.readKernel(BigInt(`0x${mem.identity.vmcoreinfo!['SYMBOL(init_uts_ns)']}`), 8 + 6 * 65);
        expect(parseUtsMemory(u!)?.release).toBe(d.expected.release);
        expect(sym('init_uts_ns') + off).toBe(BigInt(`0x${mem.identity.vmcoreinfo!['SYMBOL(init_uts_ns)']}`));
      } finally {
        await mem.close();
      }
    });
  }
  it('refuses a dmesg file', async () => {
    await expect(openDumpMemory(fixturePath('vmcores', 'sysrq', 'vmcore-dmesg.txt'))).rejects.toThrow(/kernel log/);
  });
});
