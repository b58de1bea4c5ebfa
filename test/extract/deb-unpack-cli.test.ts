// `kdbg unpack` on .deb/.ddeb through the real CLI (dist/, built by npm test): the --list --json
// contract matches `dpkg-deb -c`, extraction matches `dpkg-deb --fsys-tarfile | tar -xO`, and a
// broken package is one line with exit 65.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireFixture } from '../helpers/fixtures.js';

const kdbg = join(import.meta.dirname, '..', '..', 'bin', 'kdbg.js');
const pkgs = requireFixture('deb', 'pkgs');
const zstdDeb = join(pkgs, readdirSync(pkgs).find((f) => f.endsWith('.zstd.deb'))!);
const ddeb = join(requireFixture('deb', 'ubuntu-ddebs'), 'pool/main/l/linux/linux-image-unsigned-5.15.0-991-generic-dbgsym_5.15.0-991.1001_amd64.ddeb');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [kdbg, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kdbg unpack on debs', () => {
  it('--list --json equals dpkg-deb -c (paths minus ./, root left out)', () => {
    for (const f of [zstdDeb, ddeb]) {
      const r = run(['unpack', f, '--list', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { path: string; size: number; type: string; linkTarget: string | null; mode: number }[];
      const want = execFileSync('dpkg-deb', ['-c', f], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => /\.\/(.*?)(?: -> .*)?$/.exec(l)![1]!.replace(/\/$/, ''))
        .filter((p) => p !== '');
      expect(got.map((m) => m.path)).toEqual(want);
      for (const m of got) expect(Object.keys(m).sort()).toEqual(['linkTarget', 'mode', 'path', 'size', 'type']);
    }
  });
  it('extracts a member byte-identical to dpkg-deb', () => {
    const dest = mkdtempSync(join(tmpdir(), 'kdbg-unpack-deb-'));
    const member = 'usr/lib/debug/boot/vmlinux-5.15.0-991-generic';
    const r = run(['unpack', ddeb, '-C', dest, member]);
    expect(r.status, r.stderr).toBe(0);
    const got = execFileSync('sha256sum', [join(dest, member)], { encoding: 'utf8' }).split(' ')[0];
    const want = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO "./$1" | sha256sum', ddeb, member], { encoding: 'utf8' }).split(' ')[0];
    expect(got).toBe(want);
  });
  it('literal members of a multi-block deb (partial path) and of a single-block one (streaming) match dpkg-deb', () => {
    // The .xz.deb's data.tar.xz is multi-block (xz -T2 --block-size): unpack decodes only the
    // blocks that hold the member; the .xz1.deb is one block and streams. Same bytes either way.
    const member = 'usr/lib/debug/boot/vmlinux-6.1.0-99-amd64';
    for (const suffix of ['.xz.deb', '.xz1.deb']) {
      const f = join(pkgs, readdirSync(pkgs).find((x) => x.endsWith(suffix))!);
      const dest = mkdtempSync(join(tmpdir(), 'kdbg-unpack-deb-'));
      const r = run(['unpack', f, '-C', dest, member, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const want = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO "./$1" | sha256sum', f, member], { encoding: 'utf8' }).split(' ')[0];
      expect(execFileSync('sha256sum', [join(dest, member)], { encoding: 'utf8' }).split(' ')[0]).toBe(want);
      expect(JSON.parse(r.stdout)).toEqual([{ path: member, size: Number(execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO "./$1" | wc -c', f, member], { encoding: 'utf8' }).trim()), sha256: want }]);
      expect(readdirSync(join(dest, 'usr/lib/debug/boot'))).toEqual(['vmlinux-6.1.0-99-amd64']); // no temporary left
    }
  });

  it('a truncated deb: one line, exit 65', () => {
    const f = join(requireFixture('deb', 'bad'), 'truncated-in-ar.deb');
    const r = run(['unpack', f, '--list']);
    expect(r.status).toBe(65);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^kdbg: .*truncated-in-ar\.deb: truncated/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
