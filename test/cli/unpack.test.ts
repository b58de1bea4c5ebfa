// `kdbg unpack` as a user runs it (the built CLI in a child process): the --json contract against
// rpm's own view of each fixture, extraction against rpm2cpio | cpio, and exit codes.
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runKdbg } from './fetch-cli.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const root = rpmFixtureRoot;
const manifest = readRpmManifest();
const good = manifest.packages.filter((p) => p.role === 'vmlinux' || p.role === 'source');
const el7 = good.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const tmp = mkdtempSync(join(tmpdir(), 'kdbg-unpack-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sh = (cmd: string): string => execSync(cmd, { maxBuffer: 256 << 20, shell: '/bin/bash' }).toString();

if (!existsSync(join(repoRoot, 'dist', 'cli', 'commands', 'unpack.js'))) throw new Error('dist/ missing: run npm run build');

describe('kdbg unpack --list --json', () => {
  for (const p of good) {
    it(`${p.file}: the same files, sizes and modes as rpm -qp`, async () => {
      const f = join(root, p.file);
      const r = await runKdbg(['unpack', f, '--list', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const members = JSON.parse(r.stdout) as { path: string; size: number; mode: number; type: string; linkTarget: string | null }[];
      for (const m of members) expect(Object.keys(m)).toEqual(['path', 'size', 'mode', 'type', 'linkTarget']);
      const want = sh(`rpm -qp --qf '[%{FILENAMES}\\t%{FILESIZES}\\t%{FILEMODES}\\n]' ${f}`)
        .trim()
        .split('\n')
        .map((l) => {
          const [n, s, m] = l.split('\t');
          return `${n!.replace(/^\//, '')} ${s} ${m}`;
        })
        .sort();
      expect(members.map((m) => `${m.path} ${m.size} ${m.mode}`).sort()).toEqual(want);
      expect(members.every((m) => !m.path.startsWith('./') && !m.path.startsWith('/'))).toBe(true);
    });
  }

  it('GLOBs filter the listing; the text listing is one ls-like line per member', async () => {
    const f = join(root, el7.file);
    const r = await runKdbg(['unpack', f, '--list', '*/vmlinux', './usr/lib/debug/.build-id/*']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^l[rwx-]{9} +\d+ usr\/lib\/debug\/\.build-id\/[0-9a-f]{2}\/[0-9a-f]{38}\.debug -> \.\.\/\.\.\/lib\/modules\/3\.10\.0-327\.el7\.x86_64\/vmlinux$/);
    expect(lines[1]).toMatch(/^-rwxr-xr-x +\d+ usr\/lib\/debug\/lib\/modules\/3\.10\.0-327\.el7\.x86_64\/vmlinux$/);
  });
});

describe('kdbg unpack (extract)', () => {
  it('-C DIR GLOB --json writes only the match and reports its sha256 (same as rpm2cpio | cpio)', async () => {
    const f = join(root, el7.file);
    const dir = join(tmp, 'one');
    const r = await runKdbg(['unpack', f, '-C', dir, '*/vmlinux', '--json']);
    expect(r.code).toBe(0);
    const want = sh(`rpm2cpio ${f} | cpio --quiet -i --to-stdout ./${el7.vmlinux} | sha256sum`).slice(0, 64);
    const size = Number(sh(`rpm2cpio ${f} | cpio --quiet -i --to-stdout ./${el7.vmlinux} | wc -c`).trim());
    expect(JSON.parse(r.stdout)).toEqual([{ path: el7.vmlinux, size, sha256: want }]);
    expect(sh(`find ${dir} -type f`).trim()).toBe(join(dir, el7.vmlinux!));
  });

  it('without GLOBs extracts everything, like rpm2cpio | cpio -idm', async () => {
    const f = join(root, good.find((p) => p.set === 'el7' && p.role === 'source')!.file);
    const dir = join(tmp, 'all');
    const ref = join(tmp, 'all-ref');
    sh(`mkdir -p ${ref} && cd ${ref} && rpm2cpio ${f} | cpio --quiet -idm`);
    const r = await runKdbg(['unpack', f, '-C', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').length).toBe(Number(sh(`rpm -qlp ${f} | wc -l`).trim()));
    const listing = (d: string): string => sh(`cd ${d} && find . -mindepth 1 -printf '%p %y %m\\n' | sort && find . -type f -exec sha256sum {} + | sort`);
    expect(listing(dir)).toBe(listing(ref));
  });
});

describe('kdbg unpack on .deb (through the same dispatch)', () => {
  const debDir = join(root, '..', 'deb', 'pkgs');
  const debs = existsSync(debDir) ? readdirSync(debDir).filter((f) => f.endsWith('.deb')) : [];
  it.runIf(debs.length > 0)('--list --json names the same members as dpkg-deb --fsys-tarfile | tar -t', async () => {
    for (const d of debs.slice(0, 2)) {
      const f = join(debDir, d);
      const r = await runKdbg(['unpack', f, '--list', '--json']);
      expect(r.code, d).toBe(0);
      const got = (JSON.parse(r.stdout) as { path: string }[]).map((m) => m.path).sort();
      const want = sh(`dpkg-deb --fsys-tarfile ${f} | tar -t`)
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\.\//, '').replace(/\/$/, ''))
        .filter((l) => l !== '' && l !== '.')
        .sort();
      expect(got, d).toEqual(want);
    }
  });
});

describe('exit codes', () => {
  it('66 for a missing file, one line on stderr', async () => {
    const r = await runKdbg(['unpack', join(tmp, 'nope.rpm'), '--list']);
    expect(r.code).toBe(66);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nope\.rpm: cannot read package \(ENOENT\)/);
  });
  it('65 for bad input: not a package, corrupt, truncated, hostile — never a stack trace', async () => {
    const bad = ['bad/not-a-package.rpm', 'bad/kernel-debuginfo-3.10.0-327.el7.x86_64-corrupt.rpm', 'bad/kernel-debuginfo-3.10.0-327.el7.x86_64-truncated.rpm', 'hostile/kdbg-hostile-dotdot.rpm'];
    for (const b of bad) {
      const r = await runKdbg(['unpack', join(root, b), '-C', join(tmp, 'bad')]);
      expect(r.code, b).toBe(65);
      expect(r.stderr.trim().split('\n'), b).toHaveLength(1);
      expect(r.stderr, b).toContain(join(root, b));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
  it('64 for usage errors', async () => {
    expect((await runKdbg(['unpack'])).code).toBe(64);
    expect((await runKdbg(['unpack', join(root, el7.file), '--no-such-flag'])).code).toBe(64);
  });
});
