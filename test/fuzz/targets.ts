// The fuzz targets: every parser kdbg runs on bytes it did not make, each fed from a real
// artefact (a fixture package, a real QEMU dump's head, real repodata and Packages files, an ELF
// and an xz file made here by gcc and xz, a .deb made by dpkg-deb). Each target's `run` goes
// through the same entry point the CLI uses, so what is fuzzed is what a user's file meets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BytesRandomAccess } from '../../src/core/byte-source.js';
import { readElfBuildId, readElfTables } from '../../src/formats/elf-read.js';
import { parseVmcoreinfo } from '../../src/formats/vmcoreinfo.js';
import { readXzIndex } from '../../src/formats/xz-index.js';
import { decompressStream } from '../../src/extract/decompress.js';
import { identifyDump } from '../../src/identify/index.js';
import { decodeKdumpPage } from '../../src/identify/kdump-page.js';
import { DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZSTD } from '../../src/formats/kdump.js';
import { readDumpLog } from '../../src/klog/index.js';
import { listMembers } from '../../src/pipeline/unpack.js';
import { ByteSource } from '../../src/core/byte-source.js';
import { walkCpio } from '../../src/formats/cpio.js';
import { parseRelease } from '../../src/release/index.js';
import { parseDeb822Sources, parseSourcesList } from '../../src/resolve/apt-sources.js';
import { parsePackagesStanzas } from '../../src/resolve/deb-index.js';
import { findInPrimary, parseRepomd } from '../../src/resolve/repodata.js';
import { parseRepoFile } from '../../src/resolve/yum-repos.js';
import { fixturesRoot, requireFixture } from '../helpers/fixtures.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

export interface FuzzTarget {
  name: string;
  /** The real input every case mutates. */
  base: () => Uint8Array;
  /** Parse one mutated input. Must end, or throw a KdbgError. */
  run: (bytes: Uint8Array) => Promise<unknown>;
  /** Big inputs: patched in place in this file (point mutations), not copied per case; run gets the path. */
  inPlace?: string;
  /** Bytes where the mutations concentrate (headers). */
  hot?: number;
  /** A text format: mostly printable mutations. */
  text?: boolean;
}

// Files go to tmpfs when there is one: thousands of small writes per target.
const scratch = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'kdbg-fuzz-'));
let fileNo = 0;
const asFile = (bytes: Uint8Array, ext: string): string => {
  const p = join(scratch, `case-${fileNo++ % 4}${ext}`);
  writeFileSync(p, bytes);
  return p;
};
const drain = async (it: AsyncIterable<unknown>): Promise<number> => {
  let n = 0;
  for await (const _ of it) n++;
  return n;
};
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const head = (file: string, n: number): Uint8Array => {
  const b = readFileSync(file);
  return b.subarray(0, Math.min(n, b.length));
};

/** Small real inputs made with the real tools, once per run. */
const made = ((): { elf: Uint8Array; xz: Uint8Array; debXz: Uint8Array; debZstd: Uint8Array; debNone: Uint8Array } => {
  const d = join(scratch, 'made');
  mkdirSync(join(d, 'pkg', 'DEBIAN'), { recursive: true });
  writeFileSync(join(d, 'p.c'), 'static int f(int x) { return x * 7; }\nint main(int c, char **v) { (void)v; return f(c); }\n');
  execFileSync('gcc', ['-g', '-O1', '-Wl,--build-id=sha1', '-o', join(d, 'p'), join(d, 'p.c')]);
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} of the kdbg fuzz base ${(i * 2654435761) >>> 0}`).join('\n');
  writeFileSync(join(d, 'x'), lines);
  execFileSync('xz', ['-k', '-T1', '--block-size=8192', '--check=crc64', join(d, 'x')]);
  mkdirSync(join(d, 'pkg', 'usr', 'lib', 'debug', 'boot'), { recursive: true });
  writeFileSync(join(d, 'pkg', 'DEBIAN', 'control'), 'Package: kdbg-fuzz-dbg\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: kdbg <kdbg@localhost>\nDescription: fuzz base\n');
  writeFileSync(join(d, 'pkg', 'usr', 'lib', 'debug', 'boot', 'vmlinux-1.0-fuzz'), readFileSync(join(d, 'p')));
  writeFileSync(join(d, 'pkg', 'usr', 'lib', 'debug', 'boot', 'notes.txt'), lines.slice(0, 4000));
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', join(d, 'pkg'), join(d, 'p-xz.deb')], { stdio: 'ignore' });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zzstd', '--build', join(d, 'pkg'), join(d, 'p-zstd.deb')], { stdio: 'ignore' });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', join(d, 'pkg'), join(d, 'p-none.deb')], { stdio: 'ignore' });
  return { elf: readFileSync(join(d, 'p')), xz: readFileSync(join(d, 'x.xz')), debXz: readFileSync(join(d, 'p-xz.deb')), debZstd: readFileSync(join(d, 'p-zstd.deb')), debNone: readFileSync(join(d, 'p-none.deb')) };
})();

const rpmManifest = readRpmManifest();
/** The cpio archive inside an uncompressed-payload RPM, as rpm2cpio (the real tool) gives it. */
const cpioOf = (rpm: string): Uint8Array => execFileSync('rpm2cpio', [rpm], { maxBuffer: 64 << 20 });
const rpmRoot = join(rpmManifestPath, '..');
const smallRpm = rpmManifest.packages.filter((p) => p.set === 'el7').sort((a, b) => a.size - b.size)[0]!;
// The -common package of each compressor variant (15–30 KB; the vmlinux one holds 8 MB).
const variantRpm = (set: string): Uint8Array => readFileSync(join(rpmRoot, rpmManifest.packages.find((p) => p.set === set && p.role === 'source')!.file));
const repodata = join(rpmRoot, rpmManifest.mirrorBase, '7', 'x86_64', 'repodata');
const repomdBytes = readFileSync(join(repodata, 'repomd.xml'));
const primaryHref = /href="repodata\/([^"]*-primary\.xml\.gz)"/.exec(repomdBytes.toString())![1]!;
const primaryXml = gunzipSync(readFileSync(join(repodata, primaryHref)));
const vmcore = (f: string): string => requireFixture('vmcores', 'sysrq', f);
/**
 * A real dump page (the last one makedumpfile stored uncompressed) compressed by the real library,
 * as makedumpfile -p / -z stores it: libsnappy, or libzstd at level 1.
 */
const compressedPage = (lib: 'snappy' | 'zstd'): Uint8Array => {
  const plain = readFileSync(vmcore('vmcore.kdump-snappy'));
  const page = plain.subarray(plain.length - 4096);
  const code = lib === 'snappy' ? 'import snappy,sys; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))' : 'import zstandard,sys; sys.stdout.buffer.write(zstandard.ZstdCompressor(level=1).compress(sys.stdin.buffer.read()))';
  return execFileSync('/usr/bin/python3', ['-c', code], { input: page });
};
const vmcoreinfoText = ((): Uint8Array => {
  // The real VMCOREINFO note of the sysrq dump, as its kernel wrote it (readelf's view is not
  // needed: the note's text is plain key=value lines between the first and last key).
  const b = head(vmcore('vmcore.elf'), 1 << 20);
  const s = Buffer.from(b).toString('latin1');
  const start = s.indexOf('OSRELEASE=');
  const end = s.indexOf('\0', start);
  return Buffer.from(s.slice(start, end), 'latin1');
})();
const debianPackages = ((): Uint8Array => {
  const p = join(fixturesRoot, 'deb', 'debian', 'dists', 'bookworm', 'main', 'binary-amd64', 'Packages.gz');
  return gunzipSync(readFileSync(p));
})();

export const TARGETS: FuzzTarget[] = [
  { name: 'rpm (lead, headers, xz payload, cpio newc)', base: () => readFileSync(join(rpmRoot, smallRpm.file)), run: (b) => drain(listMembers(asFile(b, '.rpm'))) },
  { name: 'deb (ar, control, tar via tar-stream, xz)', base: () => made.debXz, run: (b) => drain(listMembers(asFile(b, '.deb'))) },
  { name: 'rpm (uncompressed payload: cpio newc itself)', base: () => variantRpm('variant-none'), hot: 32 << 10, run: (b) => drain(listMembers(asFile(b, '.rpm'))) },
  {
    name: 'cpio newc (the archive alone)',
    base: () => cpioOf(join(rpmRoot, rpmManifest.packages.find((p) => p.set === 'variant-none' && p.role === 'source')!.file)),
    hot: 32 << 10,
    run: (b) => drain(walkCpio(new ByteSource(once(b), 'fuzz.cpio', 'cpio'))),
  },
  { name: 'rpm (bzip2 payload)', base: () => variantRpm('variant-bzip2'), run: (b) => drain(listMembers(asFile(b, '.rpm'))) },
  { name: 'rpm (legacy lzma payload)', base: () => variantRpm('variant-lzma'), run: (b) => drain(listMembers(asFile(b, '.rpm'))) },
  { name: 'deb (uncompressed data.tar: tar-stream itself)', base: () => made.debNone, hot: 64 << 10, run: (b) => drain(listMembers(asFile(b, '.deb'))) },
  { name: 'deb (zstd data.tar)', base: () => made.debZstd, run: (b) => drain(listMembers(asFile(b, '.deb'))) },
  { name: 'xz stream and index', base: () => made.xz, run: async (b) => [await readXzIndex(new BytesRandomAccess(b, 'fuzz.xz')), await drain(decompressStream('xz', once(b), 'fuzz.xz'))] },
  { name: 'ELF tables, notes and build-id', base: () => made.elf, run: async (b) => [await readElfTables(new BytesRandomAccess(b, 'fuzz.elf'), { sections: true }), await readElfBuildId(new BytesRandomAccess(b, 'fuzz.elf'))] },
  { name: 'ELF core dump (head of a real QEMU dump)', base: () => head(vmcore('vmcore.elf'), 256 << 10), run: (b) => identifyDump(asFile(b, '.elf')) },
  { name: 'kdump header, sub-header and bitmap', base: () => head(vmcore('vmcore.kdump-zlib'), 256 << 10), run: (b) => identifyDump(asFile(b, '.kdump')) },
  { name: 'flattened records', base: () => head(vmcore('vmcore.kdump-zlib.flat'), 256 << 10), run: (b) => identifyDump(asFile(b, '.flat')) },
  { name: 'kernel log ring (whole real kdump)', base: () => readFileSync(vmcore('vmcore.kdump-zlib')), inPlace: join(scratch, 'whole.kdump'), run: () => readDumpLog(join(scratch, 'whole.kdump')) },
  // decodeKdumpPage turns a page that does not decode into null (the reader says which pages it lacks).
  { name: 'snappy page (libsnappy, as makedumpfile -p)', base: () => compressedPage('snappy'), run: async (b) => decodeKdumpPage(DUMP_DH_COMPRESSED_SNAPPY, b, 4096) },
  { name: 'zstd page (libzstd level 1, as makedumpfile -z)', base: () => compressedPage('zstd'), run: async (b) => decodeKdumpPage(DUMP_DH_COMPRESSED_ZSTD, b, 4096) },
  { name: 'VMCOREINFO', text: true, base: () => vmcoreinfoText, run: async (b) => parseVmcoreinfo(b, 'fuzz') },
  { name: 'repomd.xml', text: true, base: () => repomdBytes, run: (b) => parseRepomd(once(b), 'repomd.xml') },
  {
    name: 'primary.xml', text: true,
    base: () => primaryXml,
    hot: 1 << 20,
    run: (b) => findInPrimary(once(b), 'primary.xml', [{ name: 'kernel-debuginfo', arch: 'x86_64', evr: null }], () => 0),
  },
  { name: 'Packages', text: true, base: () => debianPackages, hot: 1 << 20, run: (b) => drain(parsePackagesStanzas(once(b), { label: 'Packages' })) },
  { name: 'kernel release strings', text: true, base: () => Buffer.from('3.10.0-327.el7.x86_64'), run: async (b) => parseRelease(text(b)) },
  { name: 'apt sources (one-line and deb822)', text: true, base: () => Buffer.from('deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://127.0.0.1/debian bookworm main\n#c\n'), run: async (b) => [parseSourcesList(text(b), 'fuzz.list'), parseDeb822Sources(text(b).replace(/^deb /, 'Types: deb\nURIs: ').replace(/ bookworm /, '\nSuites: bookworm\nComponents: '), 'fuzz.sources')] },
  { name: 'yum repo files', text: true, base: () => Buffer.from('[base-debuginfo]\nname=CentOS-$releasever - Debuginfo\nbaseurl=http://127.0.0.1/$releasever/$basearch/\nenabled=0\n'), run: async (b) => parseRepoFile(text(b)) },
];
