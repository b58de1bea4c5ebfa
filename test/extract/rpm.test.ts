// kdbg's RPM extraction against rpmbuild-built fixtures (scripts/fixtures/10-rpm-mirror.sh).
// Expected values come from the real tools: `rpm -qlp`, `rpm -qp --qf`, `rpm2cpio | cpio`.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFormatError, IntegrityError, LimitError, TruncatedError, UnsafePathError } from '../../src/core/errors.js';
import { extractPackage, listPackage } from '../../src/extract/index.js';
import { anyOf, globSelector, modulesSelector, sourceSelector, vmlinuxSelector } from '../../src/extract/select.js';
import type { ArchiveMember } from '../../src/extract/types.js';
import { chunked } from '../helpers/chunks.js';
import { readRpmManifest, rpmFixtureRoot } from '../helpers/rpm-manifest.js';

const root = rpmFixtureRoot;
const manifest = readRpmManifest();
const good = manifest.packages.filter((p) => p.role === 'vmlinux' || p.role === 'source');
const el7 = good.find((p) => p.set === 'el7' && p.role === 'vmlinux')!;
const el7common = good.find((p) => p.set === 'el7' && p.role === 'source')!;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kdbg-rpm-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(tmp, 'x-'));

const sh = (cmd: string): string => execSync(cmd, { maxBuffer: 256 << 20, shell: '/bin/bash' }).toString();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function list(file: string, chunks?: AsyncIterable<Uint8Array>): Promise<ArchiveMember[]> {
  const out: ArchiveMember[] = [];
  for await (const m of listPackage(chunks ?? createReadStream(file, { highWaterMark: 1 << 20 }), file)) out.push(m);
  return out;
}

/** Deliver a file in chunks of the given sizes, cycling. */
/** A file stream that counts what was pulled and whether it was closed early. */
function countingStream(file: string): { chunks: AsyncIterable<Uint8Array>; pulled: () => number; returned: () => boolean } {
  let pulled = 0;
  let returned = false;
  const s = createReadStream(file, { highWaterMark: 64 * 1024 });
  const it = s[Symbol.asyncIterator]();
  return {
    chunks: {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const r = (await it.next()) as IteratorResult<Buffer>;
          if (!r.done) pulled += r.value.length;
          return r;
        },
        return: async () => {
          returned = true;
          s.destroy();
          return { done: true, value: undefined };
        },
      }),
    },
    pulled: () => pulled,
    returned: () => returned,
  };
}

describe('kdbg RPM listing agrees with rpm', () => {
  for (const p of good) {
    it(`${p.file}: paths, sizes, modes and link targets as rpm -qp reports them`, async () => {
      const f = join(root, p.file);
      const members = await list(f);
      const rpmPaths = sh(`rpm -qlp ${f}`)
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\//, ''));
      expect(members.map((m) => m.path).sort()).toEqual(rpmPaths.sort());
      const qf = sh(`rpm -qp --qf '[%{FILENAMES}\\t%{FILESIZES}\\t%{FILEMODES}\\t%{FILELINKTOS}\\n]' ${f}`).trim().split('\n');
      const byPath = new Map(members.map((m) => [m.path, m]));
      for (const line of qf) {
        const [name, size, mode, linkto] = line.split('\t');
        const m = byPath.get(name!.replace(/^\//, ''))!;
        expect({ path: m.path, size: m.size, mode: m.mode }).toEqual({ path: name!.replace(/^\//, ''), size: Number(size), mode: Number(mode) });
        expect(m.linkTarget ?? '').toBe(linkto ?? '');
      }
    });
  }
});

describe('extracting vmlinux', () => {
  for (const p of good.filter((x) => x.role === 'vmlinux')) {
    it(`${p.file} (${p.compressor}): same bytes as rpm2cpio | cpio, stops after it`, async () => {
      const f = join(root, p.file);
      const dest = freshDir();
      const r = await extractPackage(createReadStream(f, { highWaterMark: 1 << 20 }), { destDir: dest, select: vmlinuxSelector(p.uname), stopAfter: 1, label: f });
      expect(r.kind).toBe('rpm');
      expect(r.compressor).toBe(p.compressor);
      expect(r.written.map((w) => w.member.path)).toEqual([p.vmlinux]);
      const want = sh(`rpm2cpio ${f} | cpio --quiet -i --to-stdout ./${p.vmlinux} | sha256sum`).slice(0, 64);
      expect(r.written[0]!.sha256).toBe(want);
      expect(sha(readFileSync(join(dest, p.vmlinux!)))).toBe(want);
      expect(want).toBe(p.vmlinuxSha256);
      // Only the vmlinux (and the directories leading to it) was written.
      expect(sh(`find ${dest} -type f | wc -l`).trim()).toBe('1');
    });
  }

  it('a selector for another uname writes nothing and walks to the end', async () => {
    const f = join(root, el7.file);
    const r = await extractPackage(createReadStream(f), { destDir: freshDir(), select: vmlinuxSelector('3.10.0-999.el7.x86_64'), stopAfter: 1, label: f });
    expect(r.written).toEqual([]);
    expect(r.stoppedEarly).toBe(false);
  });
});

describe('early stop', () => {
  it('stops reading the package once the wanted member is written', async () => {
    const f = join(root, el7.file);
    const size = statSync(f).size;
    const first = (await list(f)).find((m) => m.path.endsWith('.ko.debug'))!;
    const c = countingStream(f);
    const r = await extractPackage(c.chunks, { destDir: freshDir(), select: globSelector([first.path]), stopAfter: 1, label: f });
    expect(r.stoppedEarly).toBe(true);
    expect(r.written.map((w) => w.member.path)).toEqual([first.path]);
    expect(c.returned()).toBe(true);
    // The first module sits near the start; most of the vmlinux at the end was never read (the
    // decoder's read-ahead of about one 1 MiB output chunk is all that was pulled beyond it).
    expect(c.pulled()).toBeLessThan(size / 2);
  });

  it('vmlinux + modules: the walk still ends at the vmlinux when it is the last wanted member', async () => {
    const f = join(root, el7.file);
    const dest = freshDir();
    const r = await extractPackage(createReadStream(f), { destDir: dest, select: anyOf(vmlinuxSelector(el7.uname), modulesSelector()), label: f });
    const rpmMods = sh(`rpm -qlp ${f} | grep -c '\\.ko\\.debug$'`).trim();
    expect(r.written.filter((w) => w.member.path.endsWith('.ko.debug')).length).toBe(Number(rpmMods));
    expect(r.written.some((w) => w.member.path === el7.vmlinux)).toBe(true);
  });
});

describe('extracting the source tree', () => {
  it('writes usr/src/debug/** exactly like rpm2cpio | cpio -idm, hard links and symlinks included', async () => {
    const f = join(root, el7common.file);
    const dest = freshDir();
    const ref = freshDir();
    sh(`cd ${ref} && rpm2cpio ${f} | cpio --quiet -idm`);
    const r = await extractPackage(createReadStream(f), { destDir: dest, select: sourceSelector(), label: f });
    expect(r.stoppedEarly).toBe(false);
    const tree = (d: string): string => sh(`cd ${d} && find . -mindepth 1 \\( -type f -printf '%p %s %m f\\n' -o -type d -printf '%p d\\n' -o -type l -printf '%p -> %l\\n' \\) | sort`);
    expect(tree(dest)).toBe(tree(ref));
    expect(sh(`cd ${dest} && find . -type f -exec sha256sum {} + | sort`)).toBe(sh(`cd ${ref} && find . -type f -exec sha256sum {} + | sort`));
    const hl = sh(`find ${dest} -name 'kdbg-hardlink-*.h'`).trim().split('\n');
    expect(hl).toHaveLength(2);
    expect(statSync(hl[0]!).ino).toBe(statSync(hl[1]!).ino);
    const link = sh(`find ${dest} -name asm-x86`).trim();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../arch/x86/include/asm');
  });

  it('a selected hard link whose data carrier is not selected still gets the data', async () => {
    const f = join(root, el7common.file);
    const dest = freshDir();
    const r = await extractPackage(createReadStream(f), { destDir: dest, select: globSelector(['*/kdbg-hardlink-a.h']), label: f });
    expect(r.written).toHaveLength(1);
    expect(readFileSync(r.written[0]!.path, 'utf8')).toContain('KDBG_HARDLINK');
  });
});

describe('hostile chunk sizes', () => {
  for (const sizes of [[1], [2], [3], [5], [8], [13], [1, 7, 4096, 2, 13, 65536, 3]]) {
    it(`chunks of ${sizes.join(',')}: the source package lists and extracts identically`, async () => {
      const f = join(root, el7common.file);
      const bytes = readFileSync(f);
      const want = await list(f);
      expect(await list(f, chunked(bytes, sizes))).toEqual(want);
      const dest = freshDir();
      const r = await extractPackage(chunked(bytes, sizes), { destDir: dest, select: sourceSelector(), label: f });
      const ref = await extractPackage(createReadStream(f), { destDir: freshDir(), select: sourceSelector(), label: f });
      expect(r.written.map((w) => [w.member.path, w.sha256])).toEqual(ref.written.map((w) => [w.member.path, w.sha256]));
    });
  }
  it('mixed chunks over the big xz package give the right vmlinux', async () => {
    const f = join(root, el7.file);
    const r = await extractPackage(chunked(readFileSync(f), [1, 13, 8, 4093, 5, 65521, 2, 3]), { destDir: freshDir(), select: vmlinuxSelector(), stopAfter: 1, label: f });
    expect(r.written[0]!.sha256).toBe(el7.vmlinuxSha256);
  });
});

describe('damaged packages', () => {
  const bad = (suffix: string): string => join(root, manifest.packages.find((p) => p.file.endsWith(suffix))!.file);
  const vmPath = el7.vmlinux!;

  it('corrupted payload → InputFormatError naming the file; no vmlinux and no temp file left', async () => {
    const f = bad('-corrupt.rpm');
    const dest = freshDir();
    const err = await extractPackage(createReadStream(f), { destDir: dest, select: vmlinuxSelector(), stopAfter: 1, label: f }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputFormatError);
    expect((err as Error).message).toContain(f);
    expect(existsSync(join(dest, vmPath))).toBe(false);
    expect(sh(`find ${dest} -type f | wc -l`).trim()).toBe('0');
  });

  it('truncated payload → TruncatedError naming the file; nothing under the member name', async () => {
    const f = bad('-truncated.rpm');
    const dest = freshDir();
    const err = await extractPackage(createReadStream(f), { destDir: dest, select: vmlinuxSelector(), stopAfter: 1, label: f }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedError);
    expect((err as Error).message).toContain(f);
    expect(existsSync(join(dest, vmPath))).toBe(false);
    expect(sh(`find ${dest} -type f | wc -l`).trim()).toBe('0');
  });

  it('truncated inside the headers → TruncatedError', async () => {
    const f = bad('-truncated-header.rpm');
    const err = await list(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedError);
    // The signature header's data starts after the lead (96), its intro (16) and 16 bytes per index
    // entry: 224 for an unsigned package's 7 entries, more for a signed one's (the fixture is signed).
    const il = readFileSync(f).readUInt32BE(96 + 8);
    expect((err as Error).message).toMatch(new RegExp(`truncated-header\\.rpm: truncated package: signature header data .* at offset ${96 + 16 + il * 16}\\b`));
  });

  it('a damaged header magic and a non-package → InputFormatError', async () => {
    for (const [suffix, re] of [
      ['-bad-header-magic.rpm', /bad header magic/],
      ['not-a-package.rpm', /not an RPM or deb package/],
    ] as const) {
      const f = bad(suffix);
      const err = await list(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputFormatError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain(f);
    }
  });

  it('a flipped byte in an uncompressed payload → IntegrityError from the file digest; nothing published', async () => {
    const src = join(root, good.find((p) => p.set === 'variant-none' && p.role === 'vmlinux')!.file);
    const bytes = Buffer.from(readFileSync(src));
    // The vmlinux is the last member: flip a byte 100 kB before the end of the file.
    bytes[bytes.length - 100_000] = bytes[bytes.length - 100_000]! ^ 0xff;
    const f = join(tmp, 'tampered-none.rpm');
    writeFileSync(f, bytes);
    const dest = freshDir();
    const err = await extractPackage(createReadStream(f), { destDir: dest, select: vmlinuxSelector(), stopAfter: 1, label: f }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(f);
    expect(existsSync(join(dest, vmPath))).toBe(false);
    // Walking everything (no file selected) still notices: the payload digest.
    const err2 = await extractPackage(createReadStream(f), { destDir: freshDir(), select: () => false, label: f }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(IntegrityError);
    expect((err2 as Error).message).toMatch(/PAYLOADDIGEST/);
  });
});

describe('hostile archives', () => {
  const expected: Record<string, typeof InputFormatError> = {
    dotdot: UnsafePathError,
    absolute: UnsafePathError,
    device: UnsafePathError,
    'symlink-escape': UnsafePathError,
    'symlink-then-write': UnsafePathError,
    'huge-namesize': LimitError,
    'truncated-body': TruncatedError,
    'bad-magic': InputFormatError,
    stripped: InputFormatError,
  };
  for (const h of manifest.hostile) {
    it(`${h.name}: refused with ${expected[h.name]?.name}, nothing written outside the target`, async () => {
      const f = join(root, h.rpm);
      const outer = freshDir();
      const dest = join(outer, 'dest');
      const err = await extractPackage(createReadStream(f), { destDir: dest, select: () => true, label: f }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(expected[h.name]!);
      expect((err as Error).message).toContain(f);
      // Nothing escaped: the outer directory holds only dest/, and the absolute/through-link
      // targets do not exist.
      expect(readdirSync(outer)).toEqual(['dest']);
      expect(existsSync('/tmp/kdbg-evil-absolute')).toBe(false);
      expect(existsSync('/tmp/kdbg-evil-through-link')).toBe(false);
      expect(existsSync(join(dirname(outer), 'kdbg-evil-dotdot'))).toBe(false);
      expect(sh(`find ${dest} -name 'kdbg-*' -o -name escape -o -name '*.tmp'`).trim()).toBe('');
    });
  }
  it('listing a hostile archive shows the names as stored (listing writes nothing)', async () => {
    const members = await list(join(root, 'hostile/kdbg-hostile-absolute.rpm'));
    expect(members.map((m) => m.path)).toEqual(['usr/lib/debug/ok.txt', '/tmp/kdbg-evil-absolute']);
  });
});

describe('rpm >= 4.12 large-file package (LONGFILESIZES, stripped 07070X cpio)', () => {
  const f = join(root, manifest.largefile.file);
  it('rpm2cpio refuses it; kdbg lists it exactly as rpm -qp describes it', async () => {
    expect(() => execSync(`rpm2cpio ${f} > /dev/null`, { stdio: 'pipe', shell: '/bin/bash' })).toThrow();
    const members = await list(f);
    const qf = sh(`rpm -qp --qf '[%{FILENAMES}\\t%{LONGFILESIZES}\\t%{FILEMODES}\\t%{FILELINKTOS}\\n]' ${f}`).replace(/\n$/, '').split('\n');
    expect(members.map((m) => `${m.path}\t${m.size}\t${m.mode}\t${m.linkTarget ?? ''}`).sort()).toEqual(qf.map((l) => l.replace(/^\//, '')).sort());
    expect(members.find((m) => m.path === manifest.largefile.bigMember)!.size).toBe(manifest.largefile.bigSize);
  });
  it('extracts the small files around the 4 GiB one: hard links, symlink, data after the big file', async () => {
    const dest = freshDir();
    const r = await extractPackage(createReadStream(f), { destDir: dest, select: (m) => m.path !== manifest.largefile.bigMember, label: f });
    const d = join(dest, 'usr/lib/debug/kdbg-largefile');
    expect(readFileSync(join(d, 'a-small.txt'), 'utf8')).toBe('hello\n');
    expect(statSync(join(d, 'a-small.txt')).ino).toBe(statSync(join(d, 'b-hardlink.txt')).ino);
    expect(readlinkSync(join(d, 'c-symlink'))).toBe('a-small.txt');
    expect(readFileSync(join(d, 'zzz-after.txt'), 'utf8')).toBe('after\n');
    expect(existsSync(join(d, 'zz-big.bin'))).toBe(false);
    expect(r.compressor).toBe('zstd');
  });
});
