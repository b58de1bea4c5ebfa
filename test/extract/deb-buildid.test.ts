// The vmlinux's build-id out of the REAL Debian -dbg package (fixture 40's .deb, 858 MB) without
// reading it: the id must be the one readelf -n gave for the extracted file (fixture 40's
// manifest), from a couple of xz blocks. Also through fixture 20's multi-block package, and a
// single-block package is not this path's (null: the caller reads it whole).
import { describe, expect, it } from 'vitest';
import type { RandomAccess } from '../../src/core/byte-source.js';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { debMemberBuildId } from '../../src/extract/deb-buildid.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';

/** Count what is read, as a mirror would send it. */
function counting(ra: RandomAccess): { ra: RandomAccess; bytes: () => number; reads: () => number } {
  let bytes = 0;
  let reads = 0;
  return {
    ra: { label: ra.label, size: ra.size, readAt: async (o, n) => { reads++; const b = await ra.readAt(o, n); bytes += b.length; return b; } },
    bytes: () => bytes,
    reads: () => reads,
  };
}

describe('debMemberBuildId', () => {
  it('reads the real vmlinux\'s id from its ELF notes: 2 xz blocks, about 1 % of the package', async () => {
    const vm = debianVmlinux();
    const deb = requireFixture('debian-pkgs', vm.deb);
    const f = await FileRandomAccess.open(deb);
    try {
      const c = counting(f);
      const r = (await debMemberBuildId(c.ra, vm.member, deb))!;
      expect(r.buildId).toBe(vm.buildId);
      expect(r.member).toBe(vm.member);
      expect(r.probes).toBe(0);
      expect(r.blocksDecoded).toBeLessThanOrEqual(3);
      expect(c.bytes()).toBeLessThan(f.size! / 50);
      console.log(`real -dbg: ${r.blocksDecoded} of ${r.blocksTotal} blocks, ${c.reads()} reads, ${c.bytes()} of ${f.size} bytes (${((100 * c.bytes()) / f.size!).toFixed(2)} %)`);
    } finally {
      await f.close();
    }
  }, 120_000);

  it('fixture 20\'s multi-block package: the id readelf -n reads; a missing member is an error; a one-block package is not this path\'s', async () => {
    const multi = requireFixture('deb', 'pkgs', 'linux-image-6.1.0-99-amd64-dbg_6.1.999-2_amd64.xz.deb');
    const single = requireFixture('deb', 'pkgs', 'linux-image-6.1.0-99-amd64-dbg_6.1.999-2_amd64.xz1.deb');
    const member = execFileSync('dpkg-deb', ['-c', multi], { encoding: 'utf8' }).split('\n').map((l) => /\.\/(usr\/lib\/debug\/boot\/vmlinux-\S+)$/.exec(l)?.[1]).find((x) => x !== undefined)!;
    const out = execFileSync('sh', ['-c', 'd=$(mktemp -d) && dpkg-deb -x "$1" "$d" && readelf -nW "$d/$2"; rm -rf "$d"', 'sh', multi, member], { encoding: 'utf8' });
    const want = /Build ID:\s*([0-9a-f]+)/.exec(out)![1]!;
    const f = await FileRandomAccess.open(multi);
    try {
      expect((await debMemberBuildId(f, member, multi))!.buildId).toBe(want);
      await expect(debMemberBuildId(f, `${member}-nope`, multi)).rejects.toThrow(/no member/);
    } finally {
      await f.close();
    }
    const s = await FileRandomAccess.open(single);
    try {
      expect(await debMemberBuildId(s, member, single)).toBeNull();
    } finally {
      await s.close();
    }
  });
});
