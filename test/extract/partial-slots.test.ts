// The partial path's reused buffers (issue 19, peak RSS): compressed xz blocks read into slots
// (RandomAccess.readInto over HTTP Range and over a file), BlockReader decoding into the buffer of
// the block it evicts, the blocks read to locate a member written first and their buffers made
// slots, the lanes borrowing pooled decoders. On the real Debian -dbg package of fixture 40
// (~860 MB, 24 MiB blocks), served on 127.0.0.1 with its body written in odd-sized pieces: the
// output must be what dpkg-deb | tar gives (the manifest's digest, computed by the fixture script
// with them), and a corrupt block must still fail with exit 65 and leave no file behind, in a
// destination directory and in the cache of a whole `kdbg fetch`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, writeFileSync, type Dirent } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRandomAccess } from '../../src/core/file-access.js';
import { IntegrityError } from '../../src/core/errors.js';
import { openRangeReader } from '../../src/download/range-reader.js';
import { tryPartialExtract } from '../../src/extract/partial.js';
import { extractNamedFromDeb } from '../../src/extract/partial-find.js';
import { startSnapshotService } from '../helpers/archive-services.js';
import { debianVmlinux, requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, runKdbg, tmpDir } from '../cli/fetch-cli.js';

const dbg = debianVmlinux();
const pkgs = requireFixture('debian-pkgs');
const deb = join(pkgs, dbg.deb);
let mirror: MirrorServer;

async function sha256File(f: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(f, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

/** Every file under `dir` (relative paths). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
}

/** A fault that corrupts the `nth` Range request of at least 1 MiB (a compressed xz block). */
function corruptNthBlock(nth: number): (path: string, n: number, req: IncomingMessage) => { corruptAt: number } | undefined {
  let seen = 0;
  return (_p, _n, req) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (!m || Number(m[2]) - Number(m[1]) < 1 << 20) return undefined;
    seen++;
    return seen === nth ? { corruptAt: 300_000 } : undefined;
  };
}

beforeAll(async () => {
  mirror = await startMirrorServer(pkgs);
});

afterAll(async () => {
  await mirror?.close();
  cleanupTmp();
});

describe('partial extraction with reused buffers, on the real -dbg deb', () => {
  it('writes the vmlinux as dpkg-deb | tar does, over Range with the body in odd pieces, with 3 lanes and with 1', async () => {
    for (const [chunkBytes, lanes] of [
      [4093, 3],
      [65_521, 1],
    ] as const) {
      mirror.setFault(() => ({ chunkBytes }));
      const dir = tmpDir('kdbg-slots-');
      const ra = (await openRangeReader(`${mirror.url}/${dbg.deb}`, dbg.debSize))!;
      expect(ra).not.toBeNull();
      const r = await tryPartialExtract(ra, 'deb', { destDir: dir, label: dbg.deb, select: (m) => m.path === dbg.member, stopAfter: 1, concurrency: lanes });
      expect(r).not.toBeNull();
      expect(r!.written.map((w) => w.sha256)).toEqual([dbg.vmlinuxSha256]);
      expect(await sha256File(join(dir, dbg.member))).toBe(dbg.vmlinuxSha256);
      expect(filesUnder(dir)).toEqual([dbg.member]);
      console.log(`[slots] ${chunkBytes}-byte pieces, ${lanes} lane(s): ${r!.partial.blocksDecoded} of ${r!.partial.blocksTotal} blocks, ${ra.bytesReceived} bytes in ${ra.requests} requests`);
    }
    mirror.setFault(null);
  }, 300_000);

  it('writes the same vmlinux from the local file (the kdbg unpack path)', async () => {
    const dir = tmpDir('kdbg-slots-');
    const ra = await FileRandomAccess.open(deb);
    try {
      const r = await tryPartialExtract(ra, 'deb', { destDir: dir, label: deb, select: (m) => m.path === dbg.member, stopAfter: 1 });
      expect(r!.written.map((w) => w.sha256)).toEqual([dbg.vmlinuxSha256]);
      expect(await sha256File(join(dir, dbg.member))).toBe(dbg.vmlinuxSha256);
    } finally {
      await ra.close();
    }
  }, 300_000);

  it('finds and writes module files by bisection over Range in odd pieces, with the package md5sums', async () => {
    const md5s = new Map(
      execFileSync('dpkg-deb', ['-I', deb, 'md5sums'], { encoding: 'utf8', maxBuffer: 64 << 20 })
        .split('\n')
        .map((l) => /^([0-9a-f]{32})\s+(.+)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[2]!, m[1]!] as const),
    );
    const want = [...md5s.keys()].filter((p) => /\/(pvpanic-mmio|pvpanic|qemu_fw_cfg)\.ko$/.test(p));
    expect(want).toHaveLength(3);
    mirror.setFault(() => ({ chunkBytes: 8191 }));
    const dir = tmpDir('kdbg-slots-');
    const ra = (await openRangeReader(`${mirror.url}/${dbg.deb}`, dbg.debSize))!;
    try {
      const r = (await extractNamedFromDeb(ra, want, { destDir: dir, label: dbg.deb }))!;
      expect(r.notFound).toEqual([]);
      expect(r.written.map((w) => w.member.path).sort()).toEqual([...want].sort());
      for (const w of r.written) {
        const h = createHash('md5');
        for await (const c of createReadStream(w.path) as AsyncIterable<Buffer>) h.update(c);
        expect(h.digest('hex'), w.member.path).toBe(md5s.get(w.member.path));
      }
      console.log(`[slots] modules: ${r.probes} probes, ${r.blocksDecoded} of ${r.blocksTotal} blocks, ${r.compressedBytesRead} compressed bytes`);
    } finally {
      mirror.setFault(null);
    }
  }, 300_000);

  it('a corrupt block of the vmlinux is IntegrityError (exit 65) and leaves no file', async () => {
    mirror.setFault(corruptNthBlock(6));
    const dir = tmpDir('kdbg-slots-');
    const ra = (await openRangeReader(`${mirror.url}/${dbg.deb}`, dbg.debSize))!;
    try {
      const e = await tryPartialExtract(ra, 'deb', { destDir: dir, label: dbg.deb, select: (m) => m.path === dbg.member, stopAfter: 1 }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(IntegrityError);
      expect((e as IntegrityError).exitCode).toBe(65);
      expect(String((e as Error).message)).toMatch(/xz block \d+/);
      expect(filesUnder(dir)).toEqual([]);
    } finally {
      mirror.setFault(null);
    }
  }, 300_000);

  it('kdbg fetch with a corrupt block exits 65 and publishes nothing in the cache', async () => {
    const d = tmpDir('kdbg-slots-fetch-');
    const config = join(d, 'config.json');
    writeFileSync(config, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, keyrings: [join(requireFixture('deb', 'debian'), 'archive-key.asc')] }));
    const snap = await startSnapshotService(join(d, 'snapshot'), [
      { deb, archive: 'debian-security', firstSeen: '20261126T120000Z', suite: 'bookworm-security', sha256: dbg.debSha256 },
    ]);
    try {
      snap.setFault(corruptNthBlock(6));
      const cache = join(d, 'cache');
      const r = await runKdbg(['fetch', dbg.release, '-q', '--config', config, '--cache-dir', cache], isolatedEnv({ KDBG_DEBIAN_SNAPSHOT_URL: `${snap.url}/`, KDBG_LAUNCHPAD_URL: 'http://127.0.0.1:9/' }));
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/xz block \d+/);
      expect(r.stderr.trim().split('\n').filter((l) => /xz block/.test(l))).toHaveLength(1);
      expect(existsSync(join(cache, 'releases', dbg.release))).toBe(false);
      expect(filesUnder(join(cache, 'releases'))).toEqual([]);
      expect(filesUnder(join(cache, 'tmp'))).toEqual([]);
      console.log(`[slots] corrupt block through kdbg fetch: exit ${r.code}: ${r.stderr.trim()}`);
    } finally {
      await snap.close();
    }
  }, 300_000);
});
