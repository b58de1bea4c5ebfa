// filelists.xml (createrepo_c's `<data type="filelists">`) read for one thing: which package holds
// which GNU build-id. An RPM debuginfo package lists `/usr/lib/debug/.build-id/xx/yyyy….debug`
// for its vmlinux and for every `.ko.debug`, and `/usr/lib/debug/lib/modules/<uname>/vmlinux`,
// which names the kernel release the package belongs to. A 100 MB filelists is read as a stream
// of decoded text with one tag scanner, not a full XML parser: the document is a flat list of
// <package>, <version> and <file> elements (the format's own field names below), and a general
// SAX parser spent most of its time on the hundreds of thousands of <file> entries we skip.

import { InputFormatError } from '../core/errors.js';

export interface FilelistsPackage {
  /** `<package name= arch=>` and `<version epoch= ver= rel=>`. */
  name: string;
  arch: string;
  epoch: string;
  ver: string;
  rel: string;
  /** The kernel release of `/usr/lib/debug/lib/modules/<uname>/vmlinux`, null when not listed. */
  uname: string | null;
  /** Lower-case hex build-ids of its `.build-id/xx/yyyy.debug` links, in file order. */
  buildIds: string[];
}

const BUILD_ID_PATH = /^\/usr\/lib\/debug\/\.build-id\/([0-9a-f]{2})\/([0-9a-f]{6,126})\.debug$/;
const VMLINUX_PATH = /^\/usr\/lib\/debug\/lib\/modules\/([^/]+)\/vmlinux$/;
/**
 * One element we care about: <package>/<version> by their attributes, a <file> only when its
 * </file> is in the text too (else it is carried to the next chunk whole), and </package>.
 */
const TAG = /<(package|version)\b([^>]*)>|<file\b[^>]*>([^<]*)<\/file>|<\/package>/g;
const ATTR = /([\w:-]+)="([^"]*)"/g;
/** An unterminated tag longer than this is not filelists (hostile or broken input). */
const MAX_CARRY = 1 << 20;

function attrsOf(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(ATTR)) out[m[1]!] = unescapeXml(m[2]!);
  return out;
}

function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/**
 * The packages of a decompressed filelists.xml stream that list at least one build-id link.
 * `label` names the file in errors (InputFormatError when it is not filelists at all).
 */
export async function* filelistsBuildIds(chunks: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<FilelistsPackage> {
  const dec = new TextDecoder('utf-8');
  let carry = '';
  let cur: FilelistsPackage | null = null;
  let sawRoot = false;
  const flush = (): FilelistsPackage | null => {
    const p = cur;
    cur = null;
    return p && p.buildIds.length > 0 ? p : null;
  };
  const scan = function* (text: string, final: boolean): Generator<FilelistsPackage> {
    if (!sawRoot) {
      if (/<filelists\b/.test(text)) sawRoot = true;
      else if (text.length > 4096 || final) throw new InputFormatError(`${label}: not a filelists.xml (no <filelists> element)`, { file: label, format: 'filelists' });
      else {
        carry = text;
        return;
      }
    }
    TAG.lastIndex = 0;
    let end = 0;
    for (let m = TAG.exec(text); m !== null; m = TAG.exec(text)) {
      end = TAG.lastIndex;
      const tag = m[1];
      if (m[3] !== undefined) {
        // Only the two kinds of path we want; the cheap prefix test keeps the regexes off the rest.
        const path = m[3];
        if (cur && path.startsWith('/usr/lib/debug/')) {
          const b = BUILD_ID_PATH.exec(path);
          if (b) cur.buildIds.push(b[1]! + b[2]!);
          else if (cur.uname === null) {
            const v = VMLINUX_PATH.exec(path);
            if (v) cur.uname = unescapeXml(v[1]!);
          }
        }
      } else if (tag === undefined) {
        const p = flush();
        if (p) yield p;
      } else if (tag === 'package') {
        const p = flush();
        if (p) yield p;
        const a = attrsOf(m[2]!);
        cur = { name: a['name'] ?? '', arch: a['arch'] ?? '', epoch: '0', ver: '', rel: '', uname: null, buildIds: [] };
      } else if (cur) {
        const a = attrsOf(m[2]!); // <version>
        cur.epoch = a['epoch'] ?? '0';
        cur.ver = a['ver'] ?? '';
        cur.rel = a['rel'] ?? '';
      }
    }
    // Everything after the last element read is carried: a filelists holds nothing but these
    // elements, so that is at most one unfinished element (and a little whitespace).
    carry = text.slice(end);
    if (carry.length > MAX_CARRY) throw new InputFormatError(`${label}: an element longer than ${MAX_CARRY} bytes; not a filelists.xml`, { file: label, format: 'filelists' });
  };
  for await (const c of chunks) yield* scan(carry + dec.decode(c, { stream: true }), false);
  yield* scan(carry + dec.decode(), true);
  const p = flush();
  if (p) yield p;
}

export interface RepomdFilelists {
  /** `<revision>`, or '' when repomd.xml has none. */
  revision: string;
  /** `<data type="filelists"><location href>` (with xml:base), relative to the repository base. */
  href: string;
  /** Its `<checksum type="sha256">`, or null. */
  sha256: string | null;
}

/** Where repomd.xml puts filelists.xml, and the revision that decides whether an index is stale. */
export function parseRepomdFilelists(text: string, label: string): RepomdFilelists {
  const revision = /<revision>\s*([^<]*?)\s*<\/revision>/.exec(text)?.[1] ?? '';
  for (const m of text.matchAll(/<data\b([^>]*)>([\s\S]*?)<\/data>/g)) {
    if (attrsOf(m[1]!)['type'] !== 'filelists') continue;
    const body = m[2]!;
    const loc = /<location\b([^>]*)\/?>/.exec(body);
    const a = loc ? attrsOf(loc[1]!) : {};
    if (!a['href']) break;
    const ck = /<checksum\b([^>]*)>\s*([0-9a-fA-F]+)\s*<\/checksum>/.exec(body);
    const sha256 = ck && attrsOf(ck[1]!)['type'] === 'sha256' ? ck[2]!.toLowerCase() : null;
    return { revision, href: (a['xml:base'] ?? '') + a['href'], sha256 };
  }
  throw new InputFormatError(`${label}: no <data type="filelists"> location`, { file: label, format: 'repomd', expected: '<data type="filelists"><location href="…"/>' });
}
