// Local imitations of the historical archives on 127.0.0.1, answering in the services' documented
// shapes (design/mirrors.md §2.7–2.8): Debian's snapshot service (/mr/binary/<pkg>/,
// /mr/binary/<pkg>/<ver>/binfiles?fileinfo=1, /archive/<archive>/<timestamp>/…) and Launchpad's
// web service (getPublishedBinaries, binaryFileUrls with include_meta, librarian file URLs). The
// JSON answers are files written into a directory tree and the packages are symlinks to real
// packages, all served by test/helpers/http-server.ts (Range, faults, a request log).
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startMirrorServer, type MirrorServer } from './http-server.js';
import { signRelease } from './deb-keys.js';

export async function fileDigest(file: string, algo: 'sha1' | 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(c);
  return h.digest('hex');
}

export interface SnapshotPackage {
  /** A real .deb on disk. */
  deb: string;
  archive: string;
  firstSeen: string;
  suite: string;
  /** Known digest and size (skips hashing a large file); computed when absent. */
  sha256?: string;
  /** Write this SHA256 into the index instead of the real one (an index that does not match the file). */
  indexSha256?: string;
  /** Write this Size into the index instead of the real one (the index and the service disagree). */
  indexSize?: number;
  /** Who signs that suite's InRelease (as the archive did then): the fixture archive key (default), another key, or nobody. */
  signedBy?: 'archive' | 'other' | 'none';
}

/** The snapshot service's routes → files under root (`mr/…/index.json`, `mr/…/binfiles.json`). */
function snapshotRoute(path: string): string | null {
  const bin = /^\/mr\/binary\/([^/]+)\/$/.exec(path);
  if (bin) return `/mr/binary/${bin[1]}/index.json`;
  const files = /^\/mr\/binary\/([^/]+)\/([^/]+)\/binfiles$/.exec(path);
  if (files) return `/mr/binary/${files[1]}/${files[2]}/binfiles.json`;
  return null;
}

/**
 * A snapshot service holding `pkgs`: the version list and binfiles answers of each package, the
 * file under archive/<archive>/<first_seen>/pool/…, and that timestamp's Packages.xz for its suite
 * written from the package's own control fields (dpkg-deb -f) with Filename, Size and SHA256.
 */
export async function startSnapshotService(root: string, pkgs: SnapshotPackage[]): Promise<MirrorServer> {
  const byName = new Map<string, { binary_version: string; name: string; source: string; version: string }[]>();
  for (const p of pkgs) {
    const control = execSync(`dpkg-deb -f ${JSON.stringify(p.deb)}`, { encoding: 'utf8' });
    const field = (k: string): string => new RegExp(`^${k}: (.*)$`, 'm').exec(control)![1]!.trim();
    const name = field('Package');
    const version = field('Version');
    const arch = field('Architecture');
    const file = basename(p.deb);
    const pool = `pool/main/l/linux`;
    const size = statSync(p.deb).size;
    const sha1 = await fileDigest(p.deb, 'sha1');
    const sha256 = p.sha256 ?? (await fileDigest(p.deb, 'sha256'));
    const at = join(root, 'archive', p.archive, p.firstSeen);
    mkdirSync(join(at, pool), { recursive: true });
    symlinkSync(p.deb, join(at, pool, file));
    const index = join(at, 'dists', p.suite, 'main', `binary-${arch}`);
    mkdirSync(index, { recursive: true });
    writeFileSync(join(index, 'Packages'), `${control.trimEnd()}\nFilename: ${pool}/${file}\nSize: ${p.indexSize ?? size}\nSHA256: ${p.indexSha256 ?? sha256}\n\n`);
    execSync('xz -k -f Packages', { cwd: index });
    // The suite's Release of that time, signed (InRelease) as the archive signed it; snapshot serves it.
    const suiteDir = join(at, 'dists', p.suite);
    const rel = ['Packages', 'Packages.xz'].map((f) => {
      const b = readFileSync(join(index, f));
      return ` ${createHash('sha256').update(b).digest('hex')} ${b.length} main/binary-${arch}/${f}`;
    });
    writeFileSync(join(suiteDir, 'Release'), `Origin: Debian\nSuite: ${p.suite}\nDate: Sun, 01 Oct 2023 00:00:00 UTC\nValid-Until: Sun, 08 Oct 2023 00:00:00 UTC\nSHA256:\n${rel.join('\n')}\n`);
    if ((p.signedBy ?? 'archive') !== 'none') signRelease(suiteDir, p.signedBy === 'other' ? 'other' : 'archive', { releaseGpg: false });
    const list = byName.get(name) ?? [];
    list.push({ binary_version: version, name, source: 'linux', version });
    byName.set(name, list);
    const vdir = join(root, 'mr', 'binary', name, version);
    mkdirSync(vdir, { recursive: true });
    writeFileSync(
      join(vdir, 'binfiles.json'),
      JSON.stringify({
        _comment: 'foo',
        binary: name,
        binary_version: version,
        result: [{ architecture: arch, hash: sha1 }],
        fileinfo: { [sha1]: [{ archive_name: p.archive, first_seen: p.firstSeen, name: file, path: `/${pool}`, size }] },
      }),
    );
  }
  for (const [name, result] of byName) writeFileSync(join(root, 'mr', 'binary', name, 'index.json'), JSON.stringify({ _comment: 'foo', binary: name, result }));
  return startMirrorServer(root, { route: snapshotRoute });
}

export interface LaunchpadDdeb {
  ddeb: string;
  series: string;
  pocket: string;
  status: string;
  /** Publication id in the self_link. */
  id: number;
}

/**
 * A Launchpad web service (root `<url>/devel/`) publishing `ddebs` in ubuntu's primary archive:
 * getPublishedBinaries by exact binary name answers from `lp/published/<name>.json`, a
 * publication's binaryFileUrls from `lp/files/<id>.json`, files from /librarian/<id>/<name>.
 */
export async function startLaunchpadService(root: string, ddebs: LaunchpadDdeb[], opts: { pageSize?: number; nextLinkBase?: string } = {}): Promise<MirrorServer> {
  const pageSize = opts.pageSize ?? 75;
  const server = await startMirrorServer(root, {
    route: (path, search) => {
      const q = new URLSearchParams(search);
      if (path === '/devel/ubuntu/+archive/primary' && q.get('ws.op') === 'getPublishedBinaries' && q.get('exact_match') === 'true') {
        // Launchpad answers a name it never published with an empty collection, not 404; pages
        // after the first are asked with ws.start (and ws.size), as its next_collection_link says.
        const f = `/lp/published/${q.get('binary_name')}.${Number(q.get('ws.start') ?? 0)}.json`;
        return existsSync(join(root, f)) ? f : '/lp/empty.json';
      }
      const pub = /^\/devel\/ubuntu\/\+archive\/primary\/\+binarypub\/(\d+)$/.exec(path);
      if (pub && q.get('ws.op') === 'binaryFileUrls' && q.get('include_meta') === 'true') return `/lp/files/${pub[1]}.json`;
      return null;
    },
  });
  const base = `${server.url}/devel/`;
  const byName = new Map<string, object[]>();
  for (const d of ddebs) {
    const control = execSync(`dpkg-deb -f ${JSON.stringify(d.ddeb)}`, { encoding: 'utf8' });
    const field = (k: string): string => new RegExp(`^${k}: (.*)$`, 'm').exec(control)![1]!.trim();
    const name = field('Package');
    const version = field('Version');
    const arch = field('Architecture');
    const file = basename(d.ddeb);
    const self = `${base}ubuntu/+archive/primary/+binarypub/${d.id}`;
    const list = byName.get(name) ?? [];
    list.push({
      self_link: self,
      resource_type_link: `${base}#binary_package_publishing_history`,
      display_name: `${name} ${version} in ${d.series} ${arch}`,
      binary_package_name: name,
      binary_package_version: version,
      distro_arch_series_link: `${base}ubuntu/${d.series}/${arch}`,
      build_link: `${base}ubuntu/+source/linux/${version}/+build/${d.id}`,
      component_name: 'main',
      section_name: 'devel',
      pocket: d.pocket,
      status: d.status,
      architecture_specific: true,
      archive_link: `${base}ubuntu/+archive/primary`,
    });
    byName.set(name, list);
    const lib = join(root, 'librarian', String(d.id));
    mkdirSync(lib, { recursive: true });
    symlinkSync(d.ddeb, join(lib, file));
    mkdirSync(join(root, 'lp', 'files'), { recursive: true });
    writeFileSync(
      join(root, 'lp', 'files', `${d.id}.json`),
      JSON.stringify([{ url: `${server.url}/librarian/${d.id}/${encodeURIComponent(file)}`, size: statSync(d.ddeb).size, sha1: await fileDigest(d.ddeb, 'sha1'), sha256: await fileDigest(d.ddeb, 'sha256') }]),
    );
  }
  mkdirSync(join(root, 'lp', 'published'), { recursive: true });
  for (const [name, entries] of byName) {
    for (let start = 0; start === 0 || start < entries.length; start += pageSize) {
      const next = start + pageSize < entries.length ? `${opts.nextLinkBase ?? base}ubuntu/+archive/primary?binary_name=${encodeURIComponent(name)}&exact_match=true&ws.op=getPublishedBinaries&ws.size=${pageSize}&memo=${start + pageSize}&ws.start=${start + pageSize}` : undefined;
      const page = { start, total_size: entries.length, entries: entries.slice(start, start + pageSize), resource_type_link: `${base}#binary_package_publishing_history-page-resource`, ...(next ? { next_collection_link: next } : {}) };
      writeFileSync(join(root, 'lp', 'published', `${name}.${start}.json`), JSON.stringify(page));
    }
  }
  writeFileSync(join(root, 'lp', 'empty.json'), JSON.stringify({ start: 0, total_size: 0, entries: [] }));
  return server;
}
