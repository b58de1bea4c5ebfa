// Parsed lookups kept (issue 19, item 4): the six fields kdbg reads of every stanza of a Debian
// Packages index whose SHA256 the suite's Release names, as tab-separated rows beside the stored
// index (<cache>/meta/index/<sha256>.rows) and in memory for the rest of a batch. Decompressing
// and parsing a whole Packages.xz costs seconds (23 MB of stanzas: ~1.8 s here); scanning rows
// for the wanted names costs a fraction. Any name predicate can be answered: every stanza is kept.

import { readIndexSidecar, writeIndexSidecar } from '../cache/index-store.js';

/** Package, Version, Architecture, Filename, Size, SHA256 (empty when the stanza lacks it). */
export type Row = [string, string, string, string, string, string];

const memo = new Map<string, Row[]>();
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
export async function readRows(root: string, sha256: string): Promise<Row[] | null> {
  const m = memo.get(sha256);
  if (m) return m;
  const text = await readIndexSidecar(root, sha256, 'rows').catch(() => null);
  if (text === null) return null;
  const rows = text === '' ? [] : text.split('\n').map((l) => l.split('\t') as Row);
  if (rows.some((r) => r.length !== 6)) return null; // a foreign or damaged file: parse the index again
  remember(sha256, rows);
  return rows;
}

export async function writeRows(root: string, sha256: string, rows: Row[]): Promise<void> {
  remember(sha256, rows);
  await writeIndexSidecar(root, sha256, 'rows', rows.map((r) => r.join('\t')).join('\n')).catch(() => undefined);
}

function remember(sha256: string, rows: Row[]): void {
  if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value!);
  memo.set(sha256, rows);
}

/** For tests: forget the in-memory rows (as a new process would). */
export function forgetRows(): void {
  memo.clear();
}
