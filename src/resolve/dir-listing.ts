// Plain HTTP directory listings (nginx autoindex, Apache mod_autoindex, mirror front-ends): the
// names of the subdirectories an index page links to. Used where a release does not name its
// tree (Anolis and OpenCloudOS minors) and the mirror must be asked which trees exist.

const MAX_LISTING = 1 << 20;

/** Subdirectory names (`8.8`, `Plus`) linked from an HTML listing, in page order, without duplicates. */
export function parseDirListing(html: string): string[] {
  const out = new Set<string>();
  const re = /<a\s[^>]*?href\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(html)) !== null) {
    const href = (m[2] ?? m[3] ?? m[4] ?? '').replace(/&amp;/g, '&');
    if (!href.endsWith('/') || href.includes('?') || href.includes('#') || /^[a-z]+:/i.test(href)) continue;
    const seg = href.slice(0, -1).split('/').pop() ?? '';
    let name: string;
    try {
      name = decodeURIComponent(seg);
    } catch {
      continue;
    }
    if (name === '' || name === '.' || name === '..') continue;
    out.add(name);
  }
  return [...out];
}

/** Read a listing body, at most 1 MiB (listings are small; a broken server is not). */
export async function readListing(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    n += c.length;
    if (n > MAX_LISTING) break;
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}
