// Mirror lists (one URL per line, `#` comments: Amazon Linux mirror.list, Rocky/Alma mirrorlist)
// and metalinks (XML with <url> elements pointing at …/repodata/repomd.xml: CentOS Stream,
// Fedora) → repository base URLs, best first. dnf treats a mirrorlist whose content is a
// metalink as one; so does kdbg.

import { walkXml } from './xml.js';

const MAX_LIST_BYTES = 1 << 20;

function toBase(u: string): string | null {
  let url: URL;
  try {
    url = new URL(u.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  let s = url.href.replace(/repodata\/repomd\.xml$/, '');
  if (!s.endsWith('/')) s += '/';
  return s;
}

/** Bound a list body: lists are small, a 1 MiB cap keeps a broken server from feeding us forever. */
async function* capped(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of chunks) {
    n += c.length;
    if (n > MAX_LIST_BYTES) return;
    yield c;
  }
}

export async function parseMirrorList(chunks: AsyncIterable<Uint8Array>, label: string, kind: 'mirrorlist' | 'metalink'): Promise<string[]> {
  const parts: Uint8Array[] = [];
  for await (const c of capped(chunks)) parts.push(c);
  const body = Buffer.concat(parts);
  const text = body.toString('utf8');
  if (kind === 'metalink' || /^\s*(<\?xml|<metalink)/.test(text)) {
    const urls: { url: string; pref: number; order: number }[] = [];
    let inUrl = false;
    let cur = '';
    let pref = 0;
    await walkXml(once(body), label, 'metalink', {
      open(name, attrs) {
        if (name === 'url') {
          inUrl = true;
          cur = '';
          pref = Number(attrs['preference'] ?? attrs['priority'] ?? 0) || 0;
        }
      },
      close(name) {
        if (name === 'url' && inUrl) {
          urls.push({ url: cur, pref, order: urls.length });
          inUrl = false;
        }
      },
      text(t) {
        if (inUrl && cur.length < 4096) cur += t;
      },
    });
    // metalink 3 (dnf): higher preference first; keep document order among equals.
    urls.sort((a, b) => b.pref - a.pref || a.order - b.order);
    return dedupe(urls.map((u) => toBase(u.url)));
  }
  return dedupe(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map(toBase),
  );
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

function dedupe(list: (string | null)[]): string[] {
  return [...new Set(list.filter((x): x is string => x !== null))];
}
