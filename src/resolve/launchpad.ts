// Ubuntu's debug packages that left the ddebs mirror, from Launchpad's publishing history (its
// web service, design/mirrors.md §2.7 and [S7-launchpad]). Two questions, each answer cached:
//   1. GET <base>ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name=<name>&exact_match=true[&version=<v>]
//      → {entries: [{self_link, binary_package_name, binary_package_version, distro_arch_series_link, pocket, status}],
//         next_collection_link?}   (pages followed, see publications())
//   2. GET <self_link>?ws.op=binaryFileUrls&include_meta=true
//      → [{url, size, sha1, sha256}]
// The names are tried in the order the release asks (the unsigned image's -dbgsym first; the
// signed one only when it is a real package over 10 MB, as on the ddebs mirror), and the file is
// verified by the sha256 Launchpad gives.

import type { ResolvedPackage, WantedPackage } from '../core/types.js';
import type { ArchiveClient } from './archive-http.js';
import { debVersionCompare } from './deb-index.js';
import { UBUNTU_SIGNED_DBGSYM_MIN_SIZE } from './deb.js';

export interface LaunchpadBinaryPublication {
  self_link: string;
  binary_package_name: string;
  binary_package_version: string;
  distro_arch_series_link?: string;
  pocket?: string;
  status?: string;
}

export interface LaunchpadCollection<T> {
  start?: number;
  total_size?: number;
  entries: T[];
  next_collection_link?: string;
}

export interface LaunchpadFileUrl {
  url: string;
  size?: number;
  sha1?: string;
  sha256?: string;
}

const PUBLICATIONS_MAX_AGE_MS = 24 * 3600 * 1000;
const enc = (s: string): string => encodeURIComponent(s);

/** Best first: the pinned or newest version, a release pocket over Proposed, published over superseded. */
function better(a: LaunchpadBinaryPublication, b: LaunchpadBinaryPublication): number {
  const v = -debVersionCompare(a.binary_package_version, b.binary_package_version);
  if (v !== 0) return v;
  const p = (x: LaunchpadBinaryPublication): number => (x.pocket === 'Proposed' ? 1 : 0);
  const s = (x: LaunchpadBinaryPublication): number => (x.status === 'Published' ? 0 : x.status === 'Superseded' ? 1 : 2);
  return p(a) - p(b) || s(a) - s(b);
}

/**
 * Launchpad pages its collections (75 entries by default). Unpinned, one ABI's -dbgsym has a
 * publication per series, arch, pocket and status change, and a long-lived kernel passes a page:
 * follow `next_collection_link`, each page cached like the first, up to MAX_PAGES, and only to
 * links under the same service root (a hostile answer cannot send kdbg elsewhere).
 */
const MAX_PAGES = 10;

async function publications(first: string, base: string, maxAgeMs: number, client: ArchiveClient): Promise<LaunchpadBinaryPublication[]> {
  const out: LaunchpadBinaryPublication[] = [];
  let url: string | null = first;
  for (let page = 0; url !== null && page < MAX_PAGES; page++) {
    const col: LaunchpadCollection<LaunchpadBinaryPublication> | null = await client.json<LaunchpadCollection<LaunchpadBinaryPublication>>(url, maxAgeMs);
    out.push(...(Array.isArray(col?.entries) ? col.entries : []));
    const next: unknown = col?.next_collection_link;
    url = typeof next === 'string' && next.startsWith(base) && next !== url ? next : null;
  }
  return out;
}

/** One of the wanted -dbgsym packages from Launchpad, or null when it has none of them. */
export async function resolveFromLaunchpad(wanted: WantedPackage[], pin: string | null, base: string, client: ArchiveClient): Promise<ResolvedPackage | null> {
  for (const w of wanted) {
    const q = `${base}ubuntu/+archive/primary?ws.op=getPublishedBinaries&binary_name=${enc(w.name)}&exact_match=true${pin !== null ? `&version=${enc(pin)}` : ''}`;
    const entries = await publications(q, base, pin !== null ? Infinity : PUBLICATIONS_MAX_AGE_MS, client);
    const pubs = entries.filter(
      (e) =>
        e.binary_package_name === w.name &&
        typeof e.self_link === 'string' &&
        (e.distro_arch_series_link === undefined || e.distro_arch_series_link.replace(/\/+$/, '').endsWith(`/${w.arch}`)) &&
        (pin === null || debVersionCompare(e.binary_package_version, pin) === 0) &&
        e.status !== 'Deleted',
    );
    if (pubs.length === 0) continue;
    pubs.sort(better);
    const pub = pubs[0]!;
    const filesUrl = `${pub.self_link}${pub.self_link.includes('?') ? '&' : '?'}ws.op=binaryFileUrls&include_meta=true`;
    const files = (await client.json<LaunchpadFileUrl[]>(filesUrl, Infinity)) ?? [];
    const file = files.find((f) => typeof f.url === 'string' && /\.d?deb$/.test(decodeURIComponent(f.url.split('/').pop() ?? '')));
    if (!file) continue;
    const size = typeof file.size === 'number' && Number.isSafeInteger(file.size) ? file.size : null;
    // The signed image's dbgsym of a signed kernel is a ~15 kB stub without the vmlinux.
    if (!w.name.startsWith('linux-image-unsigned-') && (size === null || size <= UBUNTU_SIGNED_DBGSYM_MIN_SIZE)) continue;
    const sha256 = typeof file.sha256 === 'string' && /^[0-9a-fA-F]{64}$/.test(file.sha256) ? file.sha256.toLowerCase() : null;
    const fileName = decodeURIComponent(file.url.split('/').pop()!);
    return { ...w, evr: pub.binary_package_version, fileName, urls: [file.url], sha256, size, required: true, origin: 'launchpad' };
  }
  return null;
}
