// Partial fetch over HTTP Range against real debs (dpkg-deb's tar, recompressed by `xz -T2
// --block-size` into a multi-block data.tar.xz as Debian's archive has), served by the loopback
// mirror server. Expected bytes come from `dpkg-deb --fsys-tarfile | tar -xO`.
import { execFileSync, execSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { IntegrityError } from '../../src/core/errors.js';
import { openRangeReader } from '../../src/download/range-reader.js';
import { FileRandomAccess, tryPartialExtract } from '../../src/extract/partial.js';
import { readXzIndex } from '../../src/formats/xz.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';

const REL = '6.1.0-99-amd64';
const VMLINUX = `usr/lib/debug/boot/vmlinux-${REL}`;
const LINK = `usr/lib/debug/lib/modules/${REL}/vmlinux`;
const LONG = `usr/lib/debug/lib/modules/${REL}/kernel/drivers/net/ethernet/some-vendor-with-a-long-name/sub-directory-that-is-long/driver-module-name.ko`;

let dir: string;
let server: MirrorServer;
const sha: Record<string, string> = {};

function sh(cmd: string, cwd: string): Buffer {
  return execSync(cmd, { cwd, maxBuffer: 256 << 20 });
}

/** A real deb; data.tar recompressed with the given xz arguments (null: as dpkg-deb made it). */
function buildDeb(name: string, compressor: 'xz' | 'gzip', xzArgs: string | null): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(join(root, 'DEBIAN', 'control'), `Package: linux-image-${REL}-dbg\nVersion: 6.1.999-1\nArchitecture: amd64\nMaintainer: kdbg tests <t@example.org>\nDescription: test\n`);
  const boot = join(root, 'usr/lib/debug/boot');
  mkdirSync(boot, { recursive: true });
  const text = Buffer.from(Array.from({ length: 6000 }, (_, i) => `ffffffff81${i.toString(16).padStart(6, '0')} T symbol_${i}\n`).join(''));
  writeFileSync(join(boot, `System.map-${REL}`), text);
  // ~700 KB: random (incompressible) and text parts, so blocks compress differently.
  writeFileSync(join(root, VMLINUX), Buffer.concat([Buffer.from('\x7fELF'), randomBytes(300_000), text, randomBytes(200_000), text]));
  mkdirSync(join(root, `usr/lib/debug/lib/modules/${REL}`), { recursive: true });
  symlinkSync(`../../../boot/vmlinux-${REL}`, join(root, LINK));
  mkdirSync(join(root, LONG, '..'), { recursive: true });
  writeFileSync(join(root, LONG), Buffer.concat([randomBytes(90_000), text]));
  mkdirSync(join(root, 'usr/share/doc/x'), { recursive: true });
  writeFileSync(join(root, 'usr/share/doc/x/changelog'), randomBytes(1_500_000)); // after the vmlinux: never fetched
  const out = join(dir, `${name}.deb`);
  if (xzArgs === null) {
    sh(`dpkg-deb --root-owner-group -Z${compressor} --build ${root} ${out}`, dir);
    return out;
  }
  const tmp = join(dir, `${name}-ar`);
  mkdirSync(tmp);
  sh(`dpkg-deb --root-owner-group -Znone --build ${root} plain.deb && ar x plain.deb && xz ${xzArgs} data.tar && ar rc ${out} debian-binary control.tar* data.tar.xz`, tmp);
  return out;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function listFiles(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdbg-partial-'));
  const www = join(dir, 'www');
  mkdirSync(www);
  for (const [name, comp, args] of [
    ['multi', 'xz', '-T2 --block-size=65536'],
    ['sha', 'xz', '-T2 --block-size=100000 --check=sha256'],
    ['single', 'xz', null],
    ['gz', 'gzip', null],
  ] as const) {
    const deb = buildDeb(name, comp, args);
    execFileSync('cp', [deb, join(www, `${name}.deb`)]);
  }
  const multi = join(www, 'multi.deb');
  for (const p of [VMLINUX, LONG]) sha[p] = sha256(sh(`dpkg-deb --fsys-tarfile ${multi} | tar -xO ./${p}`, dir));
  sha['sha.deb'] = sha256(sh(`dpkg-deb --fsys-tarfile ${join(www, 'sha.deb')} | tar -xO ./${VMLINUX}`, dir));
  // The corrupted copy: one byte flipped inside a compressed block that holds vmlinux data.
  const bytes = readFileSync(multi);
  const dataAt = bytes.indexOf('data.tar.xz') + 60;
  const size = Number(bytes.subarray(dataAt - 12, dataAt - 2).toString('latin1').trim());
  const idx = await readXzIndex(new BytesRandomAccess(bytes), dataAt, size);
  const victim = idx.blocks[3]!;
  bytes[dataAt + victim.offset + Math.floor(victim.totalSize / 2)]! ^= 0x55;
  writeFileSync(join(www, 'corrupt.deb'), bytes);
  // A SHA-256-checked deb whose block 2 decodes fine but whose stored check is wrong: only the
  // node:crypto verification of the decoded bytes can catch it.
  const shaBytes = readFileSync(join(www, 'sha.deb'));
  const shaAt = shaBytes.indexOf('data.tar.xz') + 60;
  const shaSize = Number(shaBytes.subarray(shaAt - 12, shaAt - 2).toString('latin1').trim());
  const shaIdx = await readXzIndex(new BytesRandomAccess(shaBytes), shaAt, shaSize);
  const shaVictim = shaIdx.blocks[2]!;
  shaBytes[shaAt + shaVictim.offset + shaVictim.totalSize - 1]! ^= 0x01;
  writeFileSync(join(www, 'corrupt-sha.deb'), shaBytes);
  server = await startMirrorServer(www);
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => server.setFault(null));

function sizeOf(name: string): number {
  return readFileSync(join(dir, 'www', name)).length;
}

async function partial(name: string, select: string, extra: { concurrency?: number; stopAfter?: number | null } = {}) {
  const dest = mkdtempSync(join(dir, 'out-'));
  const url = `${server.url}/${name}`;
  const ra = await openRangeReader(url, sizeOf(name));
  if (!ra) return { dest, result: null, ra: null };
  const result = await tryPartialExtract(ra, 'deb', {
    destDir: dest,
    label: url,
    select: (m) => m.path === select,
    ...(extra.stopAfter === null ? {} : { stopAfter: extra.stopAfter ?? 1 }),
    ...(extra.concurrency ? { concurrency: extra.concurrency } : {}),
  });
  return { dest, result, ra };
}

/** Requests the server has seen for the file (its fault hook's `n` counts from server start). */
function requestsFor(name: string): number {
  return server.requests.filter((r) => r.path === `/${name}`).length;
}

function bytesSentFor(name: string): number {
  return server.requests.filter((r) => r.path === `/${name}`).reduce((a, r) => a + r.bytesSent, 0);
}

describe('partial fetch of a multi-block deb over HTTP Range', () => {
  it('writes the vmlinux with the same sha256 as dpkg-deb | tar, reading only its blocks', async () => {
    const before = bytesSentFor('multi.deb');
    const { dest, result, ra } = await partial('multi.deb', VMLINUX);
    expect(result).not.toBeNull();
    const file = join(dest, VMLINUX);
    expect(sha256(readFileSync(file))).toBe(sha[VMLINUX]);
    expect(result!.written[0]!.sha256).toBe(sha[VMLINUX]);
    expect(result!.stoppedEarly).toBe(true);
    const p = result!.partial;
    expect(p.blocksTotal).toBeGreaterThan(10);
    expect(p.blocksDecoded).toBeLessThan(p.blocksTotal);
    expect(p.members[0]!.path).toBe(VMLINUX);
    expect(p.members[0]!.lastBlock).toBeLessThan(p.blocksTotal - 1);
    // Blocks after the vmlinux were never requested.
    const sent = bytesSentFor('multi.deb') - before;
    expect(sent).toBe(ra!.bytesReceived);
    expect(sent).toBeLessThan(sizeOf('multi.deb') * 0.8);
    expect(listFiles(dest)).toEqual([file]);
  });

  it('gives identical output with 1 and 4 decoders (sha-256 checked blocks too)', async () => {
    for (const c of [1, 4]) {
      const { dest, result } = await partial('multi.deb', VMLINUX, { concurrency: c });
      expect(sha256(readFileSync(join(dest, VMLINUX)))).toBe(sha[VMLINUX]);
      expect(result!.written[0]!.sha256).toBe(sha[VMLINUX]);
    }
    const { dest } = await partial('sha.deb', VMLINUX, { concurrency: 2 });
    expect(sha256(readFileSync(join(dest, VMLINUX)))).toBe(sha['sha.deb']);
  });

  it('resolves the Debian lib/modules/<rel>/vmlinux symlink inside the archive', async () => {
    const { dest, result } = await partial('multi.deb', LINK);
    expect(result).not.toBeNull();
    expect(sha256(readFileSync(join(dest, LINK)))).toBe(sha[VMLINUX]);
  });

  it('finds a member whose name needs a GNU long-name record', async () => {
    const { dest, result } = await partial('multi.deb', LONG);
    expect(result).not.toBeNull();
    expect(sha256(readFileSync(join(dest, LONG)))).toBe(sha[LONG]);
  });

  it('works the same on a local file (the kdbg unpack path), reading only the needed blocks', async () => {
    const ra = await FileRandomAccess.open(join(dir, 'www', 'multi.deb'));
    const dest = mkdtempSync(join(dir, 'out-'));
    try {
      const r = await tryPartialExtract(ra, 'deb', { destDir: dest, label: 'multi.deb', select: (m) => m.path === VMLINUX, stopAfter: 1 });
      expect(r!.written[0]!.sha256).toBe(sha[VMLINUX]);
      expect(sha256(readFileSync(join(dest, VMLINUX)))).toBe(sha[VMLINUX]);
      expect(r!.partial.compressedBytesRead).toBeLessThan(ra.size * 0.8);
    } finally {
      await ra.close();
    }
  });

  it('fails with IntegrityError when a SHA-256 block check does not match the decoded bytes, leaving no file', async () => {
    const dest = mkdtempSync(join(dir, 'out-'));
    const ra = await openRangeReader(`${server.url}/corrupt-sha.deb`, sizeOf('corrupt-sha.deb'));
    const err = await tryPartialExtract(ra!, 'deb', { destDir: dest, label: 'corrupt-sha.deb', select: (m) => m.path === VMLINUX, stopAfter: 1, concurrency: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/xz block 2 .*SHA-256/);
    expect(listFiles(dest)).toEqual([]);
  });

  it('fails with IntegrityError on a corrupted block and leaves no file behind', async () => {
    const dest = mkdtempSync(join(dir, 'out-'));
    const ra = await openRangeReader(`${server.url}/corrupt.deb`, sizeOf('corrupt.deb'));
    await expect(tryPartialExtract(ra!, 'deb', { destDir: dest, label: 'corrupt.deb', select: (m) => m.path === VMLINUX, stopAfter: 1 })).rejects.toThrow(IntegrityError);
    expect(listFiles(dest)).toEqual([]);
  });
});

describe('partial fetch fallbacks (null: stream the whole package instead)', () => {
  it('when the server ignores Range from the first request', async () => {
    server.setFault(() => ({ ignoreRange: true }));
    expect(await openRangeReader(`${server.url}/multi.deb`, sizeOf('multi.deb'))).toBeNull();
  });

  it('when the server stops honouring Range half-way, leaving nothing written', async () => {
    const n0 = requestsFor('multi.deb');
    server.setFault((path, n) => (path === '/multi.deb' && n > n0 + 3 ? { ignoreRange: true } : undefined));
    const { dest, result } = await partial('multi.deb', VMLINUX);
    expect(result).toBeNull();
    expect(listFiles(dest)).toEqual([]);
  });

  it('when the file changes on the server (ETag) during the partial fetch', async () => {
    const n0 = requestsFor('multi.deb');
    server.setFault((path, n) => (path === '/multi.deb' && n > n0 + 2 ? { etag: '"changed"' } : undefined));
    const { dest, result } = await partial('multi.deb', VMLINUX);
    expect(result).toBeNull();
    expect(listFiles(dest)).toEqual([]);
  });

  it('when data.tar.xz is a single block (dpkg-deb of a small package, el7-style single stream)', async () => {
    const { result } = await partial('single.deb', VMLINUX);
    expect(result).toBeNull();
  });

  it('when data.tar is not xz', async () => {
    const { result } = await partial('gz.deb', VMLINUX);
    expect(result).toBeNull();
  });

  it('when no early stop is asked for (a full walk gains nothing from ranges) or the package is an RPM', async () => {
    expect((await partial('multi.deb', VMLINUX, { stopAfter: null })).result).toBeNull();
    const ra = await openRangeReader(`${server.url}/multi.deb`, sizeOf('multi.deb'));
    expect(await tryPartialExtract(ra!, 'rpm', { destDir: dir, label: 'x', select: () => true, stopAfter: 1 })).toBeNull();
  });

  it('returns an empty-handed null when the member is not in the package', async () => {
    const { result, dest } = await partial('multi.deb', 'usr/lib/debug/boot/vmlinux-nope');
    expect(result).toBeNull();
    expect(listFiles(dest)).toEqual([]);
  });
});
