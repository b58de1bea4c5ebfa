// Named members of the real Debian -dbg package (fixture 40's .deb), found by bisection over its
// sorted data.tar.xz: the bytes must be the ones the package's own md5sums promise, and far fewer
// blocks must be decoded than a header walk would.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { comparePaths, debFileList, extractNamedFromDeb, parseMd5sums } from '../../src/extract/partial-find.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';

const run = promisify(execFile);

describe('named members of the real -dbg deb by bisection', () => {
  const deb = (): string => requireFixture('debian-pkgs', debianVmlinux().deb);

  it('reads the file list from control.tar md5sums, as dpkg-deb -I prints it', async () => {
    const ra = await FileRandomAccess.open(deb());
    try {
      const list = await debFileList(ra, deb());
      const ref = parseMd5sums((await run('dpkg-deb', ['-I', deb(), 'md5sums'], { maxBuffer: 64 << 20 })).stdout);
      expect(list).toEqual(ref);
      expect(list!.filter((p) => p.endsWith('.ko')).length).toBeGreaterThan(1000);
    } finally {
      await ra.close();
    }
  });

  it('extracts modules from the middle of the package with the package\'s md5s, decoding a few blocks', async () => {
    const md5s = new Map(
      (await run('dpkg-deb', ['-I', deb(), 'md5sums'], { maxBuffer: 64 << 20 })).stdout
        .split('\n')
        .map((l) => /^([0-9a-f]{32})\s+(.+)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[2]!, m[1]!] as const),
    );
    const kos = [...md5s.keys()].filter((p) => p.endsWith('.ko')).sort(comparePaths);
    // The dump's own modules, one from each end of the tree and one that does not exist.
    const want = [...kos.filter((p) => /\/(pvpanic-mmio|pvpanic|qemu_fw_cfg)\.ko$/.test(p)), kos[0]!, kos.at(-1)!];
    const missing = want[0]!.replace(/[^/]+$/, 'kdbg_no_such_module.ko');
    const dir = mkdtempSync(join(tmpdir(), 'kdbg-find-'));
    const ra = await FileRandomAccess.open(deb());
    try {
      const r = (await extractNamedFromDeb(ra, [...want, missing], { destDir: dir, label: deb() }))!;
      expect(r.notFound).toEqual([missing]);
      expect(r.written.map((w) => w.member.path).sort()).toEqual([...want].sort());
      for (const w of r.written) expect(createHash('md5').update(readFileSync(w.path)).digest('hex')).toBe(md5s.get(w.member.path));
      // A header walk to the last module decodes every block; bisection a few per path.
      expect(r.blocksDecoded).toBeLessThan(r.blocksTotal / 3);
      console.log(`bisection: ${want.length + 1} paths, ${r.probes} probes, ${r.blocksDecoded} of ${r.blocksTotal} blocks, ${r.compressedBytesRead} compressed bytes read`);
    } finally {
      await ra.close();
    }
  }, 300_000);
});
