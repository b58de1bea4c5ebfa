// Parsed lookups kept (issue 19, item 4): the six fields kdbg reads of every debug-package stanza
// (deb-scan.ts) of a Debian Packages index whose SHA256 the suite's Release names, as tab-separated
// rows beside the stored index (<cache>/meta/index/<sha256>.dbg-rows) and in memory for the rest of
// a batch. Decompressing and scanning a whole Packages.xz costs a second; reading the rows, a few
// milliseconds. Any predicate over debug-package names can be answered from them.
//
// Until session 6 every stanza was kept (`<sha256>.rows`): 10.8 MB of rows for bookworm's main
// index (190 of its 63,439 stanzas are debug packages: 34 kB). A warm lookup over three suites
// took 0.89-1.01 s of CPU and 139 MB RSS as a whole process with those, 0.72-0.74 s and 117 MB
// with these. The old files are no longer read (a new name, so an old one is never taken for the
// short list); `kdbg cache prune` drops them with their index.

import { readIndexSidecar, writeIndexSidecar } from '../cache/index-store.js';

/** Package, Version, Architecture, Filename, Size, SHA256 (empty when the stanza lacks it). */
export type Row = [string, string, string, string, string, string];

/**
 * In memory an index is kept as the sidecar's text, one line per stanza, and split into rows only
 * as it is scanned. Measured on a real-archive fetch (6 indexes, 9.4 MB compressed): peak RSS 377 MB
 * with every stanza kept as an array of six strings, 322 MB with the text, 299 MB when the parse
 * also collects joined lines instead of arrays.
 */
const memo = new Map<string, string>();
/** The sidecar's name: `<sha256>.dbg-rows`. */
const KIND = 'dbg-rows';
/** Indexes kept parsed in memory at once (a batch reads a few suites). */
const MEMO_MAX = 8;

export function rowOf(s: Record<string, string>): Row {
  const f = (k: string): string => (s[k] ?? '').replace(/[\t\n]/g, ' ');
  return [f('Package'), f('Version'), f('Architecture'), f('Filename'), f('Size'), f('SHA256')];
}

/** Rows as stanza-like records (the field names the resolver reads). */
export function stanzaOf(r: Row): Record<string, string> {
  const out: Record<string, string> = { Package: r[0], Version: r[1] };
  if (r[2]) out['Architecture'] = r[2];
  if (r[3]) out['Filename'] = r[3];
  if (r[4]) out['Size'] = r[4];
  if (r[5]) out['SHA256'] = r[5];
  return out;
}

/** The parsed rows of the index `sha256`: from memory, else the cache; null when neither has them. */
export async function readRows(root: string, sha256: string): Promise<Iterable<Row> | null> {
  const m = memo.get(sha256);
  if (m !== undefined) return linesOf(m);
  const text = await readIndexSidecar(root, sha256, KIND).catch(() => null);
  if (text === null || !wellFormed(text)) return null; // a foreign or damaged file: parse the index again
  remember(sha256, text);
  return linesOf(text);
}

/** Keep an index's rows, each already joined by tabs (rowOf(s).join('\t')). */
export async function writeRows(root: string, sha256: string, lines: string[]): Promise<void> {
  const text = lines.join('\n');
  remember(sha256, text);
  await writeIndexSidecar(root, sha256, KIND, text).catch(() => undefined);
}

/** Every line has exactly six fields (five tabs). */
function wellFormed(text: string): boolean {
  let tabs = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 10 : text.charCodeAt(i);
    if (c === 9) tabs++;
    else if (c === 10) {
      if (tabs !== 5 && !(text.length === 0 && tabs === 0)) return false;
      tabs = 0;
    }
  }
  return true;
}

function* linesOf(text: string): Generator<Row> {
  if (text === '') return;
  for (let at = 0; at <= text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    yield text.slice(at, end).split('\t') as Row;
    at = end + 1;
  }
}

function remember(sha256: string, text: string): void {
  if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value!);
  memo.set(sha256, text);
}

/** For tests: forget the in-memory rows (as a new process would). */
export function forgetRows(): void {
  memo.clear();
}
