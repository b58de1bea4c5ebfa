// The debug files of the modules a dump had loaded (crash's `mod`), and only those: found in the
// kernel's debug package by its md5sums list and fetched by bisection over its xz blocks
// (extract/partial-find.ts), then, for modules the kernel package lacks, in the module debug
// packages built for the same kernel ABI (resolve/deb-modules.ts). Each file lands in
// `<cache>/modules/<uname>/<name>.ko` (name with '_', as `mod` prints it), where `mod -S` finds
// it; a later dump of the same kernel reuses what is there.

import { createHash } from 'node:crypto';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cache } from '../../cache/index.js';
import { IntegrityError } from '../../core/errors.js';
import type { RandomAccess } from '../../core/byte-source.js';
import type { FetchResult } from '../../core/fetch-result.js';
import type { ResolvedPackage, RpmGpgcheck } from '../../core/types.js';
import { processEnv } from '../../core/env.js';
import { ignoreEvents } from '../events.js';
import type { FetchOptions } from './options.js';
import { headCheckFor } from './rpm-signature.js';

export interface ModuleDebugFile {
  name: string;
  path: string;
  /** The package it came from (file name), or null when it was already in the cache. */
  package: string | null;
  member: string | null;
  /** True when the fetch took it in the pass that wrote the vmlinux (FetchOptions.moduleNames). */
  samePass?: boolean;
}

export interface ModuleDebugResult {
  /** The directory to give `mod -S`, or null when no file is there. */
  dir: string | null;
  found: ModuleDebugFile[];
  missing: { name: string; reason: string }[];
  /** What was read from each package (bytes over the network or from the local store). */
  packages: {
    fileName: string;
    url: string;
    bytesRead: number;
    blocksDecoded: number | null;
    blocksTotal: number | null;
    /** A one-block payload decoded again, from the package kept in the store: how long it took. */
    wholeDecodeMs?: number;
  }[];
  ms: number;
}

/** `mod` prints names with '_'; files may use '-'. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/** The module a debug file is for: `…/pvpanic-mmio.ko` or `….ko.debug` → "pvpanic_mmio". */
export function moduleOfPath(p: string): string | null {
  const m = /^usr\/lib\/debug\/.*\/([^/]+)\.ko(?:\.debug)?$/.exec(p);
  return m ? moduleKey(m[1]!) : null;
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function openPackage(cache: Cache, pkg: { fileName: string; url: string; sha256: string; size: number }, opts: FetchOptions): Promise<RandomAccess | null> {
  const local = await cache.findPackage(pkg.sha256 || null, pkg.fileName);
  if (local) {
    const { FileRandomAccess } = await import('../../core/file-access.js');
    return FileRandomAccess.open(local.path, pkg.fileName);
  }
  const { openRangeReader } = await import('../../download/range-reader.js');
  return openRangeReader(pkg.url, pkg.size, opts.signal ? { signal: opts.signal } : {});
}

async function closeRa(ra: RandomAccess): Promise<void> {
  const c = (ra as { close?: () => Promise<void> | void }).close;
  if (typeof c === 'function') await c.call(ra);
}

/** Fetch the debug files of `names` for the release `fetched` published. */
export async function fetchModuleDebug(fetched: FetchResult, names: readonly string[], opts: FetchOptions = {}): Promise<ModuleDebugResult> {
  const t0 = Date.now();
  const emit = opts.onProgress ?? ignoreEvents;
  const { openCache } = await import('../../cache/index.js');
  const cache = await openCache(fetched.cacheDir);
  const uname = fetched.release.uname;
  const dir = join(cache.root, 'modules', uname);
  const found: ModuleDebugFile[] = [];
  const missing: ModuleDebugResult['missing'] = [];
  const packages: ModuleDebugResult['packages'] = [];
  const todo = new Set<string>();
  const inPass = new Map((fetched.modulesInPass?.taken ?? []).map((x) => [x.name, x]));
  const askedInPass = new Set(fetched.modulesInPass?.asked ?? []);
  const vmName = fetched.packages.find((p) => p.role === 'vmlinux')?.fileName ?? 'the kernel debug package';
  for (const n of new Set(names.map(moduleKey))) {
    const p = join(dir, `${n}.ko`);
    const x = inPass.get(n);
    if (await exists(p)) found.push(x && x.path === p ? { name: n, path: p, package: x.package, member: x.member, samePass: true } : { name: n, path: p, package: null, member: null });
    // The vmlinux's pass walked past every file the header lists that it asked for: not there.
    else if (askedInPass.has(n)) missing.push({ name: n, reason: `not in ${vmName} (read in the vmlinux's pass): built out of tree, or its debug package is not on the mirrors` });
    else todo.add(n);
  }
  const done = (): ModuleDebugResult => ({ dir: found.length > 0 ? dir : null, found, missing, packages, ms: Date.now() - t0 });
  if (todo.size === 0) return done();
  if (opts.offline) {
    for (const n of todo) missing.push({ name: n, reason: 'not in the cache, and --offline forbids the network' });
    return done();
  }
  await mkdir(dir, { recursive: true });
  const staging = await cache.makeStagingDir(`modules-${uname}`);
  // Move each written file to its place under the name `mod` uses.
  const adopt = async (written: { path: string; member: { path: string } }[], fileName: string): Promise<void> => {
    for (const w of written) {
      const n = moduleOfPath(w.member.path);
      if (n === null || !todo.has(n)) continue;
      const to = join(dir, `${n}.ko`);
      await rename(w.path, to);
      todo.delete(n);
      found.push({ name: n, path: to, package: fileName, member: w.member.path });
    }
  };
  try {
    const vm = fetched.packages.find((p) => p.role === 'vmlinux');
    let kernelPkgRead = false;
    if (vm && vm.fileName.endsWith('.deb')) {
      const ra = await openPackage(cache, vm, opts);
      if (ra) {
        try {
          const { debFileList, extractNamedFromDeb } = await import('../../extract/partial-find.js');
          const list = await debFileList(ra, vm.fileName);
          if (list) {
            kernelPkgRead = true;
            const paths = list.filter((p) => {
              const n = moduleOfPath(p);
              return n !== null && todo.has(n);
            });
            if (paths.length > 0) {
              const r = await extractNamedFromDeb(ra, paths, { destDir: join(staging, 'k'), label: vm.fileName, ...(opts.signal ? { signal: opts.signal } : {}) });
              if (r) {
                await adopt(r.written, vm.fileName);
                packages.push({ fileName: vm.fileName, url: vm.url, bytesRead: r.compressedBytesRead, blocksDecoded: r.blocksDecoded, blocksTotal: r.blocksTotal });
                emit({ kind: 'info', message: `${vm.fileName}: ${r.written.length} module debug file${r.written.length === 1 ? '' : 's'} from ${r.blocksDecoded} of ${r.blocksTotal} xz blocks (${r.compressedBytesRead} bytes read), each block checked by its xz check` });
              }
            }
          }
        } finally {
          await closeRa(ra);
        }
      }
    }
    let rpmNote: string | null = null;
    if (vm && vm.fileName.endsWith('.rpm') && todo.size > 0) rpmNote = await fromRpm(cache, vm, todo, join(staging, 'r'), adopt, packages, opts);
    const notInKernel = [...todo];
    let scanned: string[] = [];
    // Only where the kernel came from packages: a vmlinux from debuginfod names no archive to read.
    if (todo.size > 0 && vm && (fetched.release.family === 'debian' || fetched.release.family === 'ubuntu')) {
      const extra = await modulePackages(fetched, opts);
      scanned = extra.map((p) => p.name);
      for (const pkg of extra) {
        if (todo.size === 0) break;
        await fromSmallPackage(pkg, join(staging, pkg.fileName), todo, adopt, packages, opts);
      }
    }
    for (const n of todo) {
      const where = [(kernelPkgRead || rpmNote === '') && vm ? vm.name : null, ...scanned].filter((x) => x !== null);
      missing.push({
        name: n,
        reason: rpmNote ? rpmNote : notInKernel.includes(n) && where.length > 0 ? `not in ${where.join(', ')}: built out of tree, or its debug package is not on the mirrors` : vm ? `the debug files of ${vm.fileName} could not be listed` : 'no kernel debug package known for this release',
      });
    }
    return done();
  } finally {
    await cache.removeTree(staging);
  }
}

async function modulePackages(fetched: FetchResult, opts: FetchOptions): Promise<ResolvedPackage[]> {
  const resolve = await import('../../resolve/index.js');
  const { resolveDebModulePackages } = await import('../../resolve/deb-modules.js');
  const config = await resolve.loadMirrorConfig({ ...(opts.configFile !== undefined ? { configFile: opts.configFile } : {}), mirrors: opts.mirrors ?? [], repos: opts.repos ?? [], env: opts.env ?? processEnv(), ...(opts.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}) });
  const { undiciFetcher } = await import('../../download/http.js');
  const d = resolve.debOptions(fetched.release, { config, http: opts.http ?? undiciFetcher, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  return resolveDebModulePackages(fetched.release, fetched.release.arch, d);
}

/** A module debug package is small: read it whole, check its sha256, extract the wanted files. */
async function fromSmallPackage(
  pkg: ResolvedPackage,
  dest: string,
  todo: Set<string>,
  adopt: (w: { path: string; member: { path: string } }[], fileName: string) => Promise<void>,
  packages: ModuleDebugResult['packages'],
  opts: FetchOptions,
): Promise<void> {
  const url = pkg.urls[0];
  if (!url) return;
  const { openRangeReader } = await import('../../download/range-reader.js');
  const { readExactAt } = await import('../../core/byte-source.js');
  const ra = await openRangeReader(url, pkg.size, opts.signal ? { signal: opts.signal } : {});
  if (!ra || ra.size === null) return;
  const bytes = await readExactAt(ra, 0, ra.size, 'deb', pkg.fileName);
  await closeRa(ra);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (pkg.sha256 && sha !== pkg.sha256) throw new IntegrityError(`${url}: sha256 ${sha} differs from the index's ${pkg.sha256}`, { details: { url, expected: pkg.sha256, actual: sha } });
  const { extractPackage } = await import('../../extract/index.js');
  const r = await extractPackage(
    (async function* () {
      yield bytes;
    })(),
    { destDir: dest, label: pkg.fileName, select: (m) => m.type === 'file' && todo.has(moduleOfPath(m.path) ?? '') },
  );
  await adopt(r.written, pkg.fileName);
  packages.push({ fileName: pkg.fileName, url, bytesRead: bytes.length, blocksDecoded: null, blocksTotal: null });
}

/** The kernel-debuginfo package the vmlinux came from, as its entry records it. */
type RpmPackageRef = { fileName: string; url: string; sha256: string; size: number; gpgcheck?: RpmGpgcheck };

/**
 * An RPM kernel-debuginfo: a multi-block xz payload (RHEL 8+, Fedora) is read by its header's file
 * list and only the blocks of the named `*.ko.debug` files (extract/partial-rpm.ts). Returns ''
 * when the package was read, else why the modules could not be taken from it.
 */
async function fromRpm(
  cache: Cache,
  vm: RpmPackageRef,
  todo: Set<string>,
  dest: string,
  adopt: (w: { path: string; member: { path: string } }[], fileName: string) => Promise<void>,
  packages: ModuleDebugResult['packages'],
  opts: FetchOptions,
): Promise<string> {
  const ra = await openPackage(cache, vm, opts);
  // A package from a gpgcheck=1 repository: its header signature is checked again (issue 16).
  const check = opts.insecureSkipSignatures ? undefined : headCheckFor(vm, vm.url, opts.onProgress ?? ignoreEvents);
  if (!ra) return `${vm.fileName}: the mirror does not serve byte ranges; kdbg fetch --modules extracts every module`;
  try {
    const { tryPartialExtract } = await import('../../extract/partial.js');
    const r = await tryPartialExtract(ra, 'rpm', {
      destDir: dest,
      label: vm.fileName,
      select: (m) => m.type === 'file' && todo.has(moduleOfPath(m.path) ?? ''),
      stopAfter: todo.size,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(check ? { rpmHeadCheck: check } : {}),
    });
    // Null: none of them in the header's file list, or one xz block (el7's w2.xzdio), where every
    // module is behind the whole payload: decoded again from the kept package, if it was kept.
    if (!r) return (await wholeAgain(cache, vm, check, todo, dest, adopt, packages, opts)) ? '' : `not found by a partial read of ${vm.fileName}, and the package is not in the store (not in it, or its payload is one xz block that must be read whole: kdbg fetch --modules, then --modules-dir)`;
    await adopt(r.written, vm.fileName);
    packages.push({ fileName: vm.fileName, url: vm.url, bytesRead: r.partial.compressedBytesRead, blocksDecoded: r.partial.blocksDecoded, blocksTotal: r.partial.blocksTotal });
    return '';
  } finally {
    await closeRa(ra);
  }
}

/**
 * The second decode the vmlinux's pass (./same-pass.ts) exists to avoid, for modules nobody named
 * before it: a one-block payload read again from the package the whole download kept in the
 * store (no network), up to the last wanted member its header lists. Its time is measured and
 * said. False: the package was not kept (--no-keep-packages).
 */
async function wholeAgain(
  cache: Cache,
  vm: RpmPackageRef,
  check: ReturnType<typeof headCheckFor> | undefined,
  todo: Set<string>,
  dest: string,
  adopt: (w: { path: string; member: { path: string } }[], fileName: string) => Promise<void>,
  packages: ModuleDebugResult['packages'],
  opts: FetchOptions,
): Promise<boolean> {
  const local = await cache.findPackage(vm.sha256 || null, vm.fileName);
  if (!local) return false;
  const t0 = Date.now();
  const want = todo.size;
  const { createReadStream } = await import('node:fs');
  const { extractPackage } = await import('../../extract/index.js');
  let bytesRead = 0;
  const counted = (async function* () {
    for await (const c of createReadStream(local.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      bytesRead += c.length;
      yield c;
    }
  })();
  const r = await extractPackage(counted, {
    destDir: dest,
    label: vm.fileName,
    select: (m) => m.type === 'file' && todo.has(moduleOfPath(m.path) ?? ''),
    stopAfter: want,
    stopAtListed: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(check ? { rpmHeadCheck: check } : {}),
  });
  await adopt(r.written, vm.fileName);
  const ms = Date.now() - t0;
  packages.push({ fileName: vm.fileName, url: local.path, bytesRead, blocksDecoded: null, blocksTotal: null, wholeDecodeMs: ms });
  (opts.onProgress ?? ignoreEvents)({
    kind: 'info',
    message: `${vm.fileName}: its payload is one xz block; decoded again from the kept package for ${want} module${want === 1 ? '' : 's'} not named before the vmlinux's pass: ${r.written.length} found, ${bytesRead} bytes read, ${ms} ms`,
  });
  return true;
}
