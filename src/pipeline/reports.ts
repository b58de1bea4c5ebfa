// `kdbg reports`: the analysed dumps under some directories (watch report folders, `analyze -o`
// folders) as rows — host, crash time, kernel, signature, headline, status — and grouped by
// crash signature with a count and first/last seen. Reads report.json files of both schemas
// (kdbg.analyze/v1, kdbg.firstlook/v1); one that cannot be read or is not a kdbg report is a
// warning and skipped. JSON contract: docs/hosts.md, "kdbg reports".

import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { chainSignature } from '../analyze/signature.js';
import type { CrashSignature } from '../analyze/signature.js';
import type { AnalysisReport } from '../analyze/index.js';
import { InputNotFoundError, UsageError } from '../core/errors.js';
import type { Oops } from '../klog/oops-types.js';
import type { FirstLookReport } from '../klog/report.js';
import { oopsSignature } from './signature.js';

export const REPORTS_SCHEMA = 'kdbg.reports/v1';

export interface ReportRow {
  /** The report.json read. */
  file: string;
  /** kdbg.watch/1: a watch.json of `kdbg watch` without --analyze (a folder with no report.json). */
  schema: 'kdbg.analyze/v1' | 'kdbg.firstlook/v1' | 'kdbg.watch/1' | 'kdbg.watch-state/1';
  /** analyzed: crash's triage; first-look: the dump's own log only; no-oops: a first look whose log held no report. */
  /** failed: a dump `kdbg watch` recorded as failed in its state file (headline: the error). */
  status: 'analyzed' | 'first-look' | 'no-oops' | 'failed';
  dump: string | null;
  /** crash's NODENAME (analyze reports); null when unknown ("(none)", first looks). */
  host: string | null;
  /** ISO 8601. */
  crashTime: string | null;
  /** Where crashTime came from: crash's DATE, the dump header, the dump file's mtime, the report file's mtime. */
  timeSource: 'crash-date' | 'dump-header' | 'dump-mtime' | 'report-mtime' | 'watch-state';
  kernel: string | null;
  panicClass: string | null;
  headline: string | null;
  signature: Pick<CrashSignature, 'id' | 'text' | 'class'> | null;
  warnings: number;
}

export interface SignatureGroup {
  /** null: the reports without a signature (a first look whose log held no oops). */
  id: string | null;
  text: string;
  class: string | null;
  count: number;
  firstSeen: string | null;
  lastSeen: string | null;
  hosts: string[];
  kernels: string[];
  /** Indexes into `reports`, oldest first. */
  reports: number[];
}

export interface ReportsResult {
  schema: typeof REPORTS_SCHEMA;
  dirs: string[];
  /** The watch state files read (`kdbg reports` without DIR). */
  watchStates: string[];
  since: string | null;
  /** Newest first. */
  reports: ReportRow[];
  /** Most dumps first, then the most recently seen. */
  groups: SignatureGroup[];
  /** One line per skipped file: "<file>: <problem>". */
  warnings: string[];
}

/** "7d", "24h", "30m", "2w" before now, or a date Date.parse reads ("2026-11-25", ISO 8601). */
export function parseSince(s: string, now = new Date()): Date {
  const m = /^(\d+)\s*([smhdw])$/.exec(s.trim());
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return new Date(now.getTime() - Number(m[1]) * unit * 1000);
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--since ${s}: neither an age (7d, 24h, 30m, 2w) nor a date (2026-11-25, 2026-11-25T08:00:00Z)`);
  return new Date(t);
}

/** Every report.json under the directories, not following symlinked directories (no loops), at most `depth` levels down. */
async function findReportFiles(dir: string, depth: number, out: string[], warn: (w: string) => void): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    warn(`${dir}: not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    // A report.json that is a symlink is read through it (a dangling one is a warning when read).
    if ((e.isFile() || e.isSymbolicLink()) && e.name === 'report.json') out.push(p);
    // watch without --analyze leaves watch.json alone: its first look is the report.
    else if (e.isFile() && e.name === 'watch.json' && !entries.some((x) => x.name === 'report.json')) out.push(p);
    else if (e.isDirectory() && depth > 0 && e.name !== 'node_modules' && !e.name.startsWith('.')) await findReportFiles(p, depth - 1, out, warn);
  }
}

const mtimeOf = async (p: string | null): Promise<string | null> => (p === null ? null : fsp.stat(p).then((s) => s.mtime.toISOString(), () => null));

const isoOf = (s: string | null | undefined): string | null => {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
};

const sig = (s: CrashSignature | undefined | null): ReportRow['signature'] => (s ? { id: s.id, text: s.text, class: s.class } : null);

/** One report.json as a row; throws a message on anything that is not a kdbg report. */
export async function readReportRow(file: string): Promise<ReportRow> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`not readable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`);
  }
  const schema = typeof j === 'object' && j !== null ? (j as { schema?: unknown }).schema : undefined;
  const reportMtime = async (): Promise<{ crashTime: string | null; timeSource: ReportRow['timeSource'] }> => ({ crashTime: await mtimeOf(file), timeSource: 'report-mtime' });
  try {
    if (schema === 'kdbg.analyze/v1') {
      const r = j as AnalysisReport;
      const s = r.summary;
      // Reports written before summary.signature existed: the same function over their call chain.
      const signature = s.signature ?? (Array.isArray(r.callChain) ? chainSignature(s.panicClass, r.callChain, s.location ?? null) : null);
      const date = isoOf(r.system?.date);
      const node = r.system?.nodename ?? null;
      return {
        file,
        schema,
        status: 'analyzed',
        dump: r.dump?.path ?? null,
        host: node && node !== '(none)' ? node : null,
        ...(date ? { crashTime: date, timeSource: 'crash-date' as const } : await reportMtime()),
        kernel: r.system?.release ?? r.dump?.release ?? null,
        panicClass: s.panicClass ?? null,
        headline: typeof s.headline === 'string' ? s.headline : null,
        signature: sig(signature),
        warnings: Array.isArray(r.warnings) ? r.warnings.length : 0,
      };
    }
    if (schema === 'kdbg.firstlook/v1') {
      const r = j as FirstLookReport;
      const f = r.firstLook;
      const signature = f ? (f.signature ?? oopsSignature(f.oops)) : null;
      const header = isoOf(r.dump?.crashTime);
      const dumpMtime = await mtimeOf(r.dump?.path ?? null);
      return {
        file,
        schema,
        status: f ? 'first-look' : 'no-oops',
        dump: r.dump?.path ?? null,
        host: null,
        ...(header ? { crashTime: header, timeSource: 'dump-header' as const } : dumpMtime ? { crashTime: dumpMtime, timeSource: 'dump-mtime' as const } : await reportMtime()),
        kernel: r.dump?.release ?? null,
        panicClass: signature?.class ?? null,
        headline: f?.headline ?? null,
        signature: sig(signature as CrashSignature | null),
        warnings: Array.isArray(r.log?.problems) ? r.log.problems.length : 0,
      };
    }
  } catch (e) {
    throw new Error(`a ${String(schema)} report with missing or malformed fields (${(e as Error).message})`);
  }
  if (typeof j === 'object' && j !== null && (j as { kdbgWatch?: unknown }).kdbgWatch === 1) return watchRow(file, j as WatchJson);
  throw new Error(`not a kdbg report (schema ${JSON.stringify(schema ?? null)}; reads kdbg.analyze/v1 and kdbg.firstlook/v1)`);
}

export function groupBySignature(rows: readonly ReportRow[]): SignatureGroup[] {
  const by = new Map<string, SignatureGroup>();
  const order = rows.map((r, i) => ({ r, i })).sort((a, b) => (a.r.crashTime ?? '').localeCompare(b.r.crashTime ?? ''));
  for (const { r, i } of order) {
    const key = r.signature?.id ?? '';
    let g = by.get(key);
    if (!g) {
      g = { id: r.signature?.id ?? null, text: r.signature?.text ?? '(no signature: no oops or panic in the log)', class: r.signature?.class ?? null, count: 0, firstSeen: null, lastSeen: null, hosts: [], kernels: [], reports: [] };
      by.set(key, g);
    }
    g.count++;
    g.reports.push(i);
    if (r.crashTime) {
      if (g.firstSeen === null || r.crashTime < g.firstSeen) g.firstSeen = r.crashTime;
      if (g.lastSeen === null || r.crashTime > g.lastSeen) g.lastSeen = r.crashTime;
    }
    if (r.host && !g.hosts.includes(r.host)) g.hosts.push(r.host);
    if (r.kernel && !g.kernels.includes(r.kernel)) g.kernels.push(r.kernel);
  }
  return [...by.values()].sort((a, b) => b.count - a.count || (b.lastSeen ?? '').localeCompare(a.lastSeen ?? ''));
}

/**
 * The reports under `dirs` (a report.json path is taken as is), newest first, with their groups.
 * A directory that does not exist is an InputNotFoundError (exit 66); a bad report a warning.
 */
export async function listReports(o: { dirs: readonly string[]; since?: Date | null; depth?: number; watchStates?: readonly string[] }): Promise<ReportsResult> {
  const warnings: string[] = [];
  const files: string[] = [];
  const failed: ReportRow[] = [];
  for (const st of o.watchStates ?? []) {
    const w = await watchStateReports(st).catch((e: Error) => (warnings.push(`${st}: ${e.message}`), null));
    if (!w) continue;
    files.push(...w.files);
    failed.push(...w.failed);
  }
  for (const d of o.dirs) {
    const st = await fsp.stat(d).catch(() => null);
    if (!st) throw new InputNotFoundError(`${d}: no such file or directory`);
    if (st.isFile()) files.push(d);
    else await findReportFiles(d, o.depth ?? 8, files, (w) => warnings.push(w));
  }
  let rows: ReportRow[] = [...failed];
  for (const f of [...new Set(files.map((x) => resolve(x)))]) {
    try {
      rows.push(await readReportRow(f));
    } catch (e) {
      warnings.push(`${f}: ${(e as Error).message}`);
    }
  }
  if (o.since) {
    const since = o.since.toISOString();
    rows = rows.filter((r) => r.crashTime !== null && r.crashTime >= since);
  }
  rows.sort((a, b) => (b.crashTime ?? '').localeCompare(a.crashTime ?? '') || a.file.localeCompare(b.file));
  return { schema: REPORTS_SCHEMA, dirs: [...o.dirs], watchStates: [...(o.watchStates ?? [])], since: o.since ? o.since.toISOString() : null, reports: rows, groups: groupBySignature(rows), warnings };
}

/** The parts of watch.json (pipeline/watch/process.ts) a row needs. */
interface WatchJson {
  dump?: string;
  processedAt?: string;
  identity?: { release?: string | null; crashTime?: string | null };
  firstLook?: { headline: string; oops: Oops; signature?: CrashSignature } | null;
}

async function watchRow(file: string, w: WatchJson): Promise<ReportRow> {
  const f = w.firstLook ?? null;
  const signature = f ? (f.signature ?? oopsSignature(f.oops)) : null;
  const header = isoOf(w.identity?.crashTime);
  const dumpMtime = await mtimeOf(w.dump ?? null);
  return {
    file,
    schema: 'kdbg.watch/1',
    status: f ? 'first-look' : 'no-oops',
    dump: w.dump ?? null,
    host: null,
    ...(header ? { crashTime: header, timeSource: 'dump-header' as const } : dumpMtime ? { crashTime: dumpMtime, timeSource: 'dump-mtime' as const } : { crashTime: await mtimeOf(file), timeSource: 'report-mtime' as const }),
    kernel: w.identity?.release ?? null,
    panicClass: signature?.class ?? null,
    headline: f?.headline ?? null,
    signature: sig(signature),
    warnings: 0,
  };
}

/**
 * The watch state files under a state directory (`watch-*.json`, pipeline/watch/loop.ts): what
 * the configured watches wrote — each done dump's report.json (or its watch.json without
 * --analyze) — and their failed dumps as rows.
 */
export async function watchStateFiles(stateDir: string): Promise<string[]> {
  const names = await fsp.readdir(stateDir).catch(() => [] as string[]);
  return names.filter((n) => /^watch-.*\.json$/.test(n)).sort().map((n) => join(stateDir, n));
}

async function watchStateReports(stateFile: string): Promise<{ files: string[]; failed: ReportRow[] }> {
  let j: { version?: unknown; items?: Record<string, { status?: string; at?: string; reports?: unknown; error?: { message?: string } }> };
  try {
    j = JSON.parse(await fsp.readFile(stateFile, 'utf8')) as typeof j;
  } catch (e) {
    throw new Error(`not a readable watch state file (${(e as Error).message})`);
  }
  if (j.version !== 1 || typeof j.items !== 'object' || j.items === null) throw new Error('not a kdbg watch state file (version 1 with items)');
  const files: string[] = [];
  const failed: ReportRow[] = [];
  for (const [rel, it] of Object.entries(j.items)) {
    const reports = Array.isArray(it.reports) ? it.reports.filter((x): x is string => typeof x === 'string') : [];
    if (it.status === 'done') {
      const pick = reports.find((r) => r.endsWith('/report.json')) ?? reports.find((r) => r.endsWith('/watch.json'));
      if (pick) files.push(pick);
    } else if (it.status === 'failed') {
      failed.push({ file: stateFile, schema: 'kdbg.watch-state/1', status: 'failed', dump: rel, host: null, crashTime: isoOf(it.at), timeSource: 'watch-state', kernel: null, panicClass: null, headline: it.error?.message ?? 'failed', signature: null, warnings: 0 });
    }
  }
  return { files, failed };
}
