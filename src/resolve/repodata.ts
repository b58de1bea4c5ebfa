// yum/dnf repository metadata (design/mirrors.md §3): repodata/repomd.xml names the primary
// index (`<data type="primary"><location href=…>`); primary.xml lists each package's name, arch,
// version, checksum, size and location. Both are parsed as streams; primary is never held whole
// and reading stops once every wanted package has been seen.

import { InputFormatError } from '../core/errors.js';
import { walkXml } from './xml.js';

/** Cap on text collected for one element: real values are short; hostile input is not. */
const MAX_TEXT = 64 * 1024;

export interface RepomdInfo {
  /** href of the primary index, relative to the repository base. */
  primaryHref: string;
  /** The primary index's own checksum as repomd.xml gives it (names it in the cache), when given. */
  primaryChecksum?: { type: string; value: string };
}

/** Parse repomd.xml (small, but streamed like everything else). */
export async function parseRepomd(chunks: AsyncIterable<Uint8Array>, label: string): Promise<RepomdInfo> {
  let inPrimary = false;
  let primaryHref: string | null = null;
  let primaryZckOnly = false;
  let checksumType: string | null = null;
  let checksum = '';
  let inChecksum = false;
  await walkXml(chunks, label, 'repomd', {
    open(name, attrs) {
      // The first <checksum> of the primary <data> (not its <open-checksum>).
      if (name === 'checksum' && inPrimary && checksumType === null) {
        checksumType = attrs['type'] ?? '';
        inChecksum = true;
      }
      if (name === 'data') {
        inPrimary = attrs['type'] === 'primary';
        if (attrs['type'] === 'primary_zck') primaryZckOnly = true;
      } else if (name === 'location' && inPrimary && attrs['href']) primaryHref = (attrs['xml:base'] ?? '') + attrs['href'];
    },
    close(name) {
      if (name === 'data') inPrimary = false;
      if (name === 'checksum') inChecksum = false;
    },
    text(t) {
      if (inChecksum) checksum += t;
    },
  }, () => primaryHref !== null);
  if (primaryHref === null) {
    throw new InputFormatError(`${label}: no <data type="primary"> location${primaryZckOnly ? ' (only zchunk metadata, which kdbg does not read)' : ''}`, {
      file: label,
      format: 'repomd',
      expected: '<data type="primary"><location href="…"/>',
    });
  }
  const value = checksum.trim().toLowerCase();
  return checksumType !== null && value !== '' ? { primaryHref, primaryChecksum: { type: (checksumType as string).toLowerCase(), value } } : { primaryHref };
}

export interface PrimaryQuery {
  name: string;
  arch: string;
  /** `version-release` to match, or null for the newest of that name and arch. */
  evr: string | null;
  /** With evr null: only version-releases equal to this or extending it by `.N` (SUSE's build counter). */
  evrPrefix?: string;
}

export interface PrimaryPackage {
  name: string;
  arch: string;
  epoch: string;
  ver: string;
  rel: string;
  /** Checksum as the index gives it. */
  checksumType: string;
  checksum: string;
  /** `<size package=…>`, or null when absent. */
  size: number | null;
  /** `<location href>` (with `xml:base` when present), relative to the repository base or absolute. */
  href: string;
  base: string | null;
}

/**
 * Stream primary.xml and return, per query (by index), the matching package. With an exact evr the
 * walk stops as soon as every query has its match; queries without evr keep the newest seen
 * (`newer(a, b)` > 0 when a is newer), which needs the whole file.
 */
export async function findInPrimary(
  chunks: AsyncIterable<Uint8Array>,
  label: string,
  queries: PrimaryQuery[],
  newer: (a: PrimaryPackage, b: PrimaryPackage) => number,
): Promise<(PrimaryPackage | null)[]> {
  const found: (PrimaryPackage | null)[] = queries.map(() => null);
  const names = new Set(queries.map((q) => q.name));
  let depth = 0;
  let pkgDepth = -1;
  let field: string | null = null;
  let text = '';
  let cur: Partial<PrimaryPackage> & { name?: string } = {};
  const allExact = queries.every((q) => q.evr !== null);
  const done = (): boolean => allExact && found.every((f) => f !== null);

  const finish = (): void => {
    if (!cur.name || !names.has(cur.name) || cur.href === undefined || cur.arch === undefined) return;
    const p: PrimaryPackage = {
      name: cur.name,
      arch: cur.arch,
      epoch: cur.epoch ?? '0',
      ver: cur.ver ?? '',
      rel: cur.rel ?? '',
      checksumType: cur.checksumType ?? '',
      checksum: (cur.checksum ?? '').trim().toLowerCase(),
      size: cur.size ?? null,
      href: cur.href,
      base: cur.base ?? null,
    };
    queries.forEach((q, i) => {
      if (q.name !== p.name || q.arch !== p.arch) return;
      if (q.evr !== null) {
        if (`${p.ver}-${p.rel}` === q.evr && found[i] === null) found[i] = p;
      } else {
        const vr = `${p.ver}-${p.rel}`;
        if (q.evrPrefix !== undefined && vr !== q.evrPrefix && !vr.startsWith(`${q.evrPrefix}.`)) return;
        if (found[i] === null || newer(p, found[i]!) > 0) found[i] = p;
      }
    });
  };

  await walkXml(
    chunks,
    label,
    'primary',
    {
      open(name, attrs) {
        depth++;
        if (name === 'package') {
          pkgDepth = depth;
          cur = {};
          return;
        }
        if (pkgDepth < 0 || depth !== pkgDepth + 1) return;
        switch (name) {
          case 'name':
          case 'arch':
          case 'checksum':
            field = name;
            text = '';
            if (name === 'checksum') cur.checksumType = attrs['type'] ?? '';
            break;
          case 'version':
            cur.epoch = attrs['epoch'] ?? '0';
            cur.ver = attrs['ver'] ?? '';
            cur.rel = attrs['rel'] ?? '';
            break;
          case 'size': {
            const n = Number(attrs['package']);
            cur.size = Number.isSafeInteger(n) && n >= 0 ? n : null;
            break;
          }
          case 'location':
            cur.href = attrs['href'] ?? '';
            if (attrs['xml:base']) cur.base = attrs['xml:base'];
            break;
        }
      },
      close(name) {
        if (field !== null && name === field && depth === pkgDepth + 1) {
          if (field === 'name') cur.name = text.trim();
          else if (field === 'arch') cur.arch = text.trim();
          else cur.checksum = text;
          field = null;
        }
        if (name === 'package' && depth === pkgDepth) {
          finish();
          pkgDepth = -1;
        }
        depth--;
      },
      text(t) {
        if (field === null) return;
        if (text.length + t.length > MAX_TEXT) throw new InputFormatError(`${label}: <${field}> longer than ${MAX_TEXT} characters`, { file: label, format: 'primary' });
        text += t;
      },
    },
    done,
  );
  return found;
}
