// Debian's snapshot archive, for -dbg packages that left every live mirror. Three questions to its
// machine-readable interface (design/mirrors.md §2.8, [S7]), each answer kept in the cache:
//   1. GET <base>mr/binary/<package>/                      → result[]: {name, binary_version, source, version}
//   2. GET <base>mr/binary/<package>/<binary_version>/binfiles?fileinfo=1
//                                                           → result[]: {architecture, hash};
//                                                             fileinfo{hash: [{archive_name, first_seen, path, name, size}]}
//   3. GET <base>archive/<archive_name>/<first_seen>/dists/<suite>/<component>/binary-<arch>/Packages.xz
//      the index of the archive as it was when the file appeared: its stanza gives the SHA256 and
//      Size the download is checked against, as on a live mirror. The suite is not in the answers:
//      it is derived from the archive and the release's codename, most likely first.
// The package is then read from <base>archive/<archive_name>/<first_seen><path>/<name> — with
// Range and partial fetch like any mirror. Before 3, the suite's InRelease of that time is verified
// (snapshot-trust.ts) and the index read whole is checked against its signed SHA256.

import { createHash } from 'node:crypto';
import { IntegrityError } from '../core/errors.js';
import { signatureError, type DebTrust } from './deb-trust.js';
import type { ReleaseDigest } from './deb-release.js';
import { snapshotSuiteDigests, type SnapshotTrust } from './snapshot-trust.js';
import type { KernelRelease, ResolvedPackage, WantedPackage } from '../core/types.js';
import { ArchiveMiss, type ArchiveClient } from './archive-http.js';
import { codenamesForRelease } from './deb.js';
import { debVersionCompare, parsePackagesStanzas } from './deb-index.js';
import { decompressIndex } from './decompress.js';

/** `/mr/binary/<package>/` */
export interface SnapshotBinaryVersions {
  binary?: string;
  result: { name: string; binary_version: string; source?: string; version?: string }[];
}

/** `/mr/binary/<package>/<version>/binfiles?fileinfo=1` */
export interface SnapshotBinfiles {
  binary?: string;
  binary_version?: string;
  result: { architecture: string; hash: string }[];
  fileinfo?: Record<string, SnapshotFileInfo[]>;
}

export interface SnapshotFileInfo {
  archive_name: string;
  first_seen: string;
  path: string;
  name: string;
  size: number;
}

/** What the index said about the file (kept in the cache under the index URL and file name). */
interface IndexVerdict {
  indexUrl: string;
  sha256: string | null;
  size: number | null;
}

/** Version lists grow (a rebuild of the same ABI); they are asked again after a day. */
const VERSIONS_MAX_AGE_MS = 24 * 3600 * 1000;
const INDEX_TIMEOUT_FACTOR = 10;
const FIELDS = new Set(['Package', 'Version', 'Architecture', 'Filename', 'Size', 'SHA256']);

const enc = (s: string): string => encodeURIComponent(s);

/** Suites whose index may list a file first seen in `archive`, most likely first. */
export function snapshotSuites(archive: string, codenames: string[]): string[] {
  const cs = codenames.length > 0 ? codenames : ['sid'];
  const out: string[] = [];
  for (const c of cs) {
    if (archive === 'debian-security') {
      // From bullseye on the security suite is <codename>-security; before, <codename>/updates.
      const modern = !['wheezy', 'jessie', 'stretch', 'buster'].includes(c);
      out.push(...(modern ? [`${c}-security`, `${c}/updates`] : [`${c}/updates`, `${c}-security`]));
    } else if (archive === 'debian-backports') out.push(`${c}-backports`);
    else if (c === 'sid') out.push('sid', 'experimental');
    // A stable kernel enters the pool with proposed-updates, before the point release lists it.
    else out.push(`${c}-proposed-updates`, c, `${c}-security`, `${c}-backports`);
  }
  return [...new Set(out)];
}

function archiveFirst(a: SnapshotFileInfo, b: SnapshotFileInfo): number {
  const rank = (x: SnapshotFileInfo): number => (x.archive_name === 'debian-security' ? 0 : x.archive_name === 'debian' ? 1 : 2);
  return rank(a) - rank(b) || a.first_seen.localeCompare(b.first_seen);
}

/** Read one index until the stanza of `filename`; null when the index does not list it. */
async function findInIndex(client: ArchiveClient, url: string, filename: string, name: string, signed: ReleaseDigest | null = null): Promise<IndexVerdict | null | 'absent'> {
  // An index of a whole suite is tens of MB uncompressed: as long as a primary index on RPM mirrors.
  const res = await client.get(url, {}, INDEX_TIMEOUT_FACTOR * client.timeoutMs);
  if (typeof res === 'number') return 'absent';
  // With a signed digest the index is read to its end and hashed: the stanza counts only then.
  const hash = createHash('sha256');
  let bytes = 0;
  const src = res.body;
  const body = async function* (): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      hash.update(c);
      bytes += c.length;
      yield c;
    }
  };
  let found: IndexVerdict | null = null;
  for await (const s of parsePackagesStanzas(decompressIndex(body(), url), { fields: FIELDS, label: url })) {
    if (found || s['Package'] !== name || (s['Filename'] ?? '').replace(/^\.\//, '') !== filename) continue;
    const size = s['Size'] !== undefined && /^\d+$/.test(s['Size']) ? Number(s['Size']) : null;
    const sha = s['SHA256'] !== undefined && /^[0-9a-fA-F]{64}$/.test(s['SHA256']) ? s['SHA256'].toLowerCase() : null;
    found = { indexUrl: url, sha256: sha, size };
    if (signed) continue;
    await res.body[Symbol.asyncIterator]().return?.();
    break;
  }
  if (signed) {
    const got = hash.digest('hex');
    if (got !== signed.sha256 || bytes !== signed.size) throw signatureError('index-mismatch', url, `does not match the signed InRelease: sha256 ${got}, ${bytes} bytes; signed ${signed.sha256}, ${signed.size} bytes`);
  }
  client.record(url, found ? 'found' : 'not in index');
  return found;
}

/**
 * The -dbg package of `rel` from the snapshot service at `base`, verified against the index of its
 * archive at the time it appeared; null when the service does not have it (attempts say where
 * kdbg looked). IntegrityError when the service and the index disagree on the file's size.
 */
export async function resolveFromSnapshot(
  rel: KernelRelease,
  w: WantedPackage,
  pin: string | null,
  base: string,
  client: ArchiveClient,
  trust: SnapshotTrust = { trust: { skip: false, keyrings: [], signedBy: new Map(), hostRoot: '/' } satisfies DebTrust, aptRoot: null },
): Promise<ResolvedPackage | null> {
  const versionsUrl = `${base}mr/binary/${enc(w.name)}/`;
  const matching = (v: SnapshotBinaryVersions | null): SnapshotBinaryVersions['result'] =>
    (v?.result ?? []).filter((r) => r.name === w.name && (pin === null || debVersionCompare(r.binary_version, pin) === 0));
  let versions = matching(await client.json<SnapshotBinaryVersions>(versionsUrl, VERSIONS_MAX_AGE_MS));
  // A cached list that lacks the pinned version may be older than the upload: ask once more.
  if (versions.length === 0 && pin !== null && client.lastFromCache) {
    versions = matching(await client.json<SnapshotBinaryVersions>(versionsUrl, VERSIONS_MAX_AGE_MS, true));
  }
  if (versions.length === 0) return null;
  versions.sort((a, b) => -debVersionCompare(a.binary_version, b.binary_version));
  const version = versions[0]!.binary_version;

  const binfilesUrl = `${base}mr/binary/${enc(w.name)}/${enc(version)}/binfiles?fileinfo=1`;
  const binfiles = await client.json<SnapshotBinfiles>(binfilesUrl, Infinity);
  const file = (binfiles?.result ?? []).find((r) => r.architecture === w.arch) ?? (binfiles?.result ?? []).find((r) => r.architecture === 'all');
  if (!file) return null;
  const infos = (binfiles?.fileinfo?.[file.hash] ?? []).filter((i) => i.name.endsWith('.deb') && i.path.startsWith('/')).sort(archiveFirst);
  const info = infos[0];
  if (!info) return null;

  const filename = `${info.path.replace(/^\/+/, '').replace(/\/+$/, '')}/${info.name}`;
  const component = /^pool\/([^/]+)\//.exec(filename)?.[1] ?? 'main';
  const root = `${base}archive/${enc(info.archive_name)}/${enc(info.first_seen)}/`;
  const verdictKey = `${root}#${filename}`;
  let verdict = await client.cached<IndexVerdict>(verdictKey);
  if (verdict === null) {
    const suites = snapshotSuites(info.archive_name, codenamesForRelease(rel));
    for (const suite of suites) {
      const dir = `${root}dists/${suite}/${component}/binary-${w.arch}/`;
      const digests = await snapshotSuiteDigests(client, root, suite, trust);
      if (digests === null) continue; // no InRelease of that suite then: its indexes are not read
      const signed = (f: string): ReleaseDigest | null => (digests === 'skip' ? null : (digests.get(`${component}/binary-${w.arch}/${f}`) ?? null));
      if (digests !== 'skip' && !signed('Packages.xz') && !signed('Packages.gz')) continue;
      let v: IndexVerdict | null | 'absent' = digests !== 'skip' && !signed('Packages.xz') ? 'absent' : await findInIndex(client, `${dir}Packages.xz`, filename, w.name, signed('Packages.xz'));
      if (v === 'absent' && (digests === 'skip' || signed('Packages.gz'))) v = await findInIndex(client, `${dir}Packages.gz`, filename, w.name, signed('Packages.gz'));
      if (v !== null && v !== 'absent') {
        verdict = v;
        break;
      }
    }
    if (verdict === null) throw new ArchiveMiss(`it has ${info.name}, but no index of ${info.archive_name} at ${info.first_seen} lists it (suites ${suites.join(', ')}), so its sha256 cannot be checked`);
    await client.keep(verdictKey, verdict);
  }
  if (verdict.size !== null && verdict.size !== info.size) {
    throw new IntegrityError(`${info.name}: the snapshot service says ${info.size} bytes, its index ${verdict.indexUrl} says ${verdict.size}; refusing the file`, {
      details: { file: info.name, serviceSize: info.size, indexSize: verdict.size, index: verdict.indexUrl },
    });
  }
  const url = `${root}${filename.split('/').map(enc).join('/')}`;
  return { ...w, evr: version, fileName: info.name, urls: [url], sha256: verdict.sha256, size: verdict.size ?? info.size, required: true, origin: 'snapshot' };
}
