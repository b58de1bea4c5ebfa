// deb extraction against real dpkg-deb packages: listings equal `dpkg-deb -c`, extracted bytes
// equal `dpkg-deb --fsys-tarfile X | tar -xO`, every data.tar compressor, symlinks resolved inside
// the archive, early stop, hostile and broken packages.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/core/byte-source.js';
import { InputFormatError, KdbgError, UnsafePathError } from '../../src/core/errors.js';
import { extractDeb, listDeb } from '../../src/extract/deb.js';
import { extractPackage, listPackage, type ArchiveMember } from '../../src/extract/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { chunked } from '../helpers/chunks.js';

const REL = '6.1.0-99-amd64';
const VMLINUX = `usr/lib/debug/boot/vmlinux-${REL}`;
const LINK = `usr/lib/debug/lib/modules/${REL}/vmlinux`;
const LINK2 = `usr/lib/debug/vmlinux-${REL}`;
const pkgs = requireFixture('deb', 'pkgs');
const bad = requireFixture('deb', 'bad');
const debs = readdirSync(pkgs).filter((f) => f.endsWith('.deb')).map((f) => join(pkgs, f));
const xzDeb = debs.find((f) => f.endsWith('.xz.deb'))!;
const noneDeb = debs.find((f) => f.endsWith('.none.deb'))!;

const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kdbg-deb-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) execFileSync('rm', ['-rf', d]);
});

/** `dpkg-deb -c` → members as kdbg reports them (root "./" left out, like kdbg). */
function dpkgList(file: string): Pick<ArchiveMember, 'path' | 'type' | 'size' | 'linkTarget'>[] {
  const out = execFileSync('dpkg-deb', ['-c', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^(\S)\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\.\/(.*?)(?: -> (.*))?$/.exec(l);
      if (!m) throw new Error(`unparsed dpkg-deb -c line ${l}`);
      const type = m[1] === 'd' ? 'dir' : m[1] === 'l' ? 'symlink' : m[1] === 'h' ? 'hardlink' : 'file';
      return { path: m[3]!.replace(/\/$/, ''), type, size: Number(m[2]), linkTarget: m[4] ?? null } as const;
    })
    .filter((m) => m.path !== '');
}

function dpkgSha(file: string, member: string): string {
  return execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO "./$1" | sha256sum', file, member], { encoding: 'utf8', maxBuffer: 64 << 20 }).split(' ')[0]!;
}

async function list(file: string, chunks?: AsyncIterable<Uint8Array>): Promise<ArchiveMember[]> {
  const out: ArchiveMember[] = [];
  for await (const m of listPackage(chunks ?? createReadStream(file, { highWaterMark: 1 << 16 }), file)) out.push(m);
  return out;
}

function countingStream(file: string, hwm: number): { chunks: AsyncIterable<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  return {
    chunks: (async function* () {
      for await (const c of createReadStream(file, { highWaterMark: hwm }) as AsyncIterable<Buffer>) {
        pulled += c.length;
        yield c;
      }
    })(),
    pulled: () => pulled,
  };
}

describe('list equals dpkg-deb -c, for every data.tar compressor', () => {
  for (const f of debs) {
    it(f.split('/').pop()!, async () => {
      const got = (await list(f)).map((m) => ({ path: m.path, type: m.type, size: m.size, linkTarget: m.linkTarget }));
      expect(got).toEqual(dpkgList(f));
      expect(got.length).toBeGreaterThan(300);
    });
  }
});

describe('extract equals dpkg-deb --fsys-tarfile | tar -xO', () => {
  for (const f of debs) {
    it(`${f.split('/').pop()!}: vmlinux and System.map`, async () => {
      const dest = freshDir();
      const want = new Set([VMLINUX, `usr/lib/debug/boot/System.map-${REL}`]);
      const r = await extractPackage(createReadStream(f), { destDir: dest, select: (m) => want.has(m.path), stopAfter: 2, label: f });
      expect(r.kind).toBe('deb');
      expect(r.compressor).toBe(f.match(/\.(\w+)\.deb$/)![1]!.replace('xz1', 'xz'));
      expect(r.written.map((w) => w.member.path).sort()).toEqual([...want].sort());
      for (const w of r.written) {
        expect(w.sha256, w.member.path).toBe(dpkgSha(f, w.member.path));
        expect(execFileSync('sha256sum', [w.path], { encoding: 'utf8' }).split(' ')[0]).toBe(w.sha256);
      }
      expect(r.stoppedEarly).toBe(true);
      // The file is a real ELF carrying the release's banner.
      const vm = readFileSync(join(dest, VMLINUX));
      expect(vm.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(vm.includes(Buffer.from(`Linux version ${REL}`))).toBe(true);
    });
  }

  it('a full extraction writes every file with dpkg-deb digests', async () => {
    const dest = freshDir();
    const r = await extractDeb(new ByteSource(createReadStream(xzDeb), xzDeb, 'package'), { destDir: dest, select: () => true, label: xzDeb });
    expect(r.stoppedEarly).toBe(false);
    const files = r.written.filter((w) => w.member.type === 'file');
    expect(files.length).toBe(dpkgList(xzDeb).filter((m) => m.type === 'file').length);
    const tarList = execFileSync('sh', ['-c', 'mkdir -p "$1" && dpkg-deb -x "$0" "$1" && cd "$1" && find . -type f -exec sha256sum {} + | sort -k2', xzDeb, join(dest, '..', `${dest.split('/').pop()}-ref`)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const ref = new Map(tarList.trim().split('\n').map((l) => [l.slice(66).replace(/^\.\//, ''), l.slice(0, 64)] as const));
    for (const w of files) expect(w.sha256, w.member.path).toBe(ref.get(w.member.path));
    expect(readlinkSync(join(dest, LINK))).toBe(`../../../boot/vmlinux-${REL}`);
    expect(readlinkSync(join(dest, LINK2))).toBe(`boot/vmlinux-${REL}`);
  });

  it('hostile chunk sizes give the same listing and bytes', async () => {
    const bytes = readFileSync(xzDeb);
    const want = await list(xzDeb);
    for (const sizes of [[1, 13, 8, 4093, 5, 2, 3], [5], [13], [8191]]) {
      expect(await list(xzDeb, chunked(bytes, sizes))).toEqual(want);
      const r = await extractPackage(chunked(bytes, sizes), { destDir: freshDir(), select: (m) => m.path === VMLINUX, stopAfter: 1, label: xzDeb });
      expect(r.written[0]!.sha256).toBe(dpkgSha(xzDeb, VMLINUX));
    }
  });
});

describe('early stop', () => {
  it('stops reading the package once the wanted member is written', async () => {
    const total = lstatSync(noneDeb).size;
    const c = countingStream(noneDeb, 16 * 1024);
    const r = await extractPackage(c.chunks, { destDir: freshDir(), select: (m) => m.path === VMLINUX, stopAfter: 1, label: noneDeb });
    expect(r.stoppedEarly).toBe(true);
    // vmlinux is early in the tar; a few hundred module files follow it.
    expect(c.pulled()).toBeLessThan(total);
    const entries: string[] = [];
    const c2 = countingStream(noneDeb, 16 * 1024);
    await extractPackage(c2.chunks, {
      destDir: freshDir(),
      select: (m) => {
        entries.push(m.path);
        return m.path === VMLINUX;
      },
      stopAfter: 1,
      label: noneDeb,
    });
    expect(entries.length).toBeLessThan(dpkgList(noneDeb).length);
    expect(entries.at(-1)).toBe(VMLINUX);
  });
});

describe('symlinks resolved inside the archive', () => {
  it('selecting the link and its target in one pass writes the file and recreates the link', async () => {
    const dest = freshDir();
    const r = await extractPackage(createReadStream(xzDeb), { destDir: dest, select: (m) => m.path === VMLINUX || m.path === LINK, label: xzDeb });
    expect(r.written.map((w) => w.member.path)).toEqual([VMLINUX, LINK]);
    expect(lstatSync(join(dest, LINK)).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dest, LINK)).equals(readFileSync(join(dest, VMLINUX)))).toBe(true);
  });

  it('selecting only the link (it comes after the file) re-reads the package and writes the target', async () => {
    const dest = freshDir();
    const r = await extractDeb(new ByteSource(createReadStream(xzDeb), xzDeb, 'package'), {
      destDir: dest,
      select: (m) => m.path === LINK,
      label: xzDeb,
      reopen: () => createReadStream(xzDeb),
    });
    const byPath = new Map(r.written.map((w) => [w.member.path, w]));
    expect(byPath.get(VMLINUX)?.sha256).toBe(dpkgSha(xzDeb, VMLINUX));
    expect(byPath.get(LINK)?.member.type).toBe('symlink');
    expect(readlinkSync(join(dest, LINK))).toBe(`../../../boot/vmlinux-${REL}`);
    expect(execFileSync('sha256sum', [join(dest, LINK)], { encoding: 'utf8' }).split(' ')[0]).toBe(dpkgSha(xzDeb, VMLINUX));
  });

  it('without a way to re-read, a link to an earlier unselected file is a clear error', async () => {
    const e = await extractPackage(createReadStream(xzDeb), { destDir: freshDir(), select: (m) => m.path === LINK2, label: xzDeb }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFormatError);
    expect((e as InputFormatError).message).toContain(`${LINK2} links to ${VMLINUX}, which comes earlier`);
    expect((e as InputFormatError).hint).toContain(VMLINUX);
  });
});

describe('hostile packages', () => {
  for (const [name, re] of [
    ['hostile-dotdot.deb', /climbs out of the archive with "\.\."/],
    ['hostile-absolute.deb', /has an absolute path/],
    ['hostile-device.deb', /char device\/special file/],
    ['hostile-escaping-symlink.deb', /leads out of the archive/],
    ['hostile-absolute-symlink.deb', /leads out of/],
  ] as const) {
    it(`${name} is refused with UnsafePathError and writes nothing outside destDir`, async () => {
      const dest = freshDir();
      const f = join(bad, name);
      const e = await extractPackage(createReadStream(f), { destDir: join(dest, 'out'), select: () => true, label: f }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnsafePathError);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message.startsWith(f)).toBe(true);
      expect(readdirSync(dest)).toEqual(existsSync(join(dest, 'out')) ? ['out'] : []);
      expect(existsSync(join(dest, 'etc'))).toBe(false);
    });
  }
  it('listing a package with a ".." member fails the same way', async () => {
    await expect(list(join(bad, 'hostile-dotdot.deb'))).rejects.toBeInstanceOf(UnsafePathError);
  });
});

describe('broken packages: one clear error, nothing under the good name', () => {
  for (const [name, re] of [
    ['truncated-half.deb', /truncated|corrupt/],
    ['truncated-in-ar.deb', /truncated/],
    ['corrupt-xz.deb', /corrupt/],
    ['not-a-deb.deb', /not an RPM or deb package/],
    ['format-3.0.deb', /unsupported deb format version "3\.0"/],
    ['no-data.deb', /no data\.tar member/],
  ] as const) {
    it(name, async () => {
      const dest = freshDir();
      const f = join(bad, name);
      const e = await extractPackage(createReadStream(f), { destDir: dest, select: () => true, label: f }).catch((x: unknown) => x);
      // Malformed input (65): InputFormatError/TruncatedError, or IntegrityError when an xz block's
      // own check fails in the parallel decoder.
      expect(e).toBeInstanceOf(KdbgError);
      expect((e as KdbgError).exitCode).toBe(65);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message.startsWith(f)).toBe(true);
      expect(existsSync(join(dest, VMLINUX))).toBe(false);
      const leftovers = execFileSync('find', [dest, '-name', '*.kdbg-tmp-*'], { encoding: 'utf8' });
      expect(leftovers).toBe('');
    });
  }
  it('truncated inside the vmlinux body: the selected file is never published', async () => {
    const f = join(bad, 'truncated-half.deb');
    const dest = freshDir();
    await expect(extractDeb(new ByteSource(createReadStream(f), f, 'package'), { destDir: dest, select: (m) => m.path === VMLINUX, stopAfter: 1, label: f })).rejects.toBeInstanceOf(KdbgError);
    expect(existsSync(join(dest, VMLINUX))).toBe(false);
  });
});

describe('listDeb directly', () => {
  it('yields the same as the dispatcher', async () => {
    const out: ArchiveMember[] = [];
    for await (const m of listDeb(new ByteSource(createReadStream(xzDeb), xzDeb, 'package'))) out.push(m);
    expect(out).toEqual(await list(xzDeb));
  });
});
