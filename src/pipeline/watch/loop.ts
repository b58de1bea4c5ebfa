// `kdbg watch DIR`: follow a kdump crash directory and hand each new, complete dump to a
// processor (identify → fetch → analyze → report; composed in ./process.ts), once.
//
// Layouts followed (one level of sub-directories under DIR, plus dumps directly in DIR):
//   RHEL/Fedora kdump:    <DIR>/<host>-<YYYY-MM-DD-hh:mm:ss>/vmcore   (+ vmcore-dmesg.txt; vmcore.flat over ssh)
//   Debian kdump-tools:   <DIR>/<YYYYMMDDhhmm>/dump.<stamp>[.gz|.bz2|.xz|.lz4|.zst] (+ dmesg.<stamp>)
//                         and vmcore.<stamp> when makedumpfile failed and it fell back to cp
// Completeness: both tools write `vmcore-incomplete` / `dump-incomplete[.ext]` and rename it when
// done, so a dump is ready when (a) no live `*-incomplete*` file is next to it and (b) its size
// and mtime have not changed for `settleMs` — or at once when this process saw an incomplete file
// of that directory disappear (the rename). (b) also covers dumps copied in by hand or by other
// tools. "Live" means written no earlier than the dump itself: when makedumpfile fails,
// kdump-tools leaves `dump-incomplete` behind, copies /proc/vmcore to `vmcore-incomplete` and
// renames that to `vmcore.<stamp>` — the stale `dump-incomplete` must not block that dump.
//
// fs.watch is only a hint (it misses events on NFS and some overlay/FUSE file systems): every
// event triggers a rescan, and a periodic rescan runs anyway. Processed and failed dumps are
// recorded in a state file (written atomically after each dump) keyed by their path relative to
// DIR plus size and mtime, so a restart reprocesses nothing and a dump that fails (unreadable,
// not a dump, no mirror) is logged once and not retried until the file changes.

import { watch as fsWatch, promises as fsp, type FSWatcher } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../../cache/fs-util.js';
import { isKdbgError } from '../../core/errors.js';
import type { ProgressEvent } from '../../core/types.js';

export interface WatchItem {
  /** Absolute path of the dump. */
  path: string;
  /** Path relative to the watched directory (the state key). */
  rel: string;
  /** The crash directory holding it (DIR itself for flat layouts). */
  crashDir: string;
  size: number;
  mtimeMs: number;
  /** The dmesg file kdump saved next to it, when present. */
  dmesg: string | null;
}

export interface ProcessedDump {
  /** Report files written for this dump. */
  reports: string[];
  /** A small JSON-able summary for the state file and --json events. */
  summary: Record<string, unknown>;
}

export type DumpProcessor = (item: WatchItem, signal: AbortSignal) => Promise<ProcessedDump>;

export interface StateRecord {
  status: 'done' | 'failed';
  size: number;
  mtimeMs: number;
  at: string;
  reports: string[];
  summary?: Record<string, unknown>;
  error?: { code: string; message: string; exitCode: number };
}

export interface WatchState {
  version: 1;
  dir: string;
  items: Record<string, StateRecord>;
}

export type WatchEvent =
  | { event: 'started'; dir: string; stateFile: string; known: number }
  | { event: 'waiting'; dump: string; reason: 'incomplete' | 'settling' }
  | { event: 'processing'; dump: string }
  | { event: 'done'; dump: string; reports: string[]; summary: Record<string, unknown> }
  | { event: 'failed'; dump: string; error: { code: string; message: string; exitCode: number } }
  | { event: 'stopped'; processed: number; failed: number };

export interface WatchOptions {
  dir: string;
  stateFile: string;
  processDump: DumpProcessor;
  /** A dump whose size and mtime are unchanged this long is complete. Default 10 s. */
  settleMs?: number;
  /** Periodic rescan interval. Default 30 s. */
  rescanMs?: number;
  /** Stop when this fires (SIGTERM): the current dump is aborted, state saved. */
  signal: AbortSignal;
  /** Process what is there (waiting for dumps still being written), then return. */
  once?: boolean;
  /** What happens to each dump (the --json events of `kdbg watch`; the CLI also logs them). */
  onEvent?: (e: WatchEvent) => void;
  /** The loop's own diagnostics beside those events (a directory it cannot read). */
  onDiagnostic?: (e: ProgressEvent) => void;
}

export interface WatchSummary {
  processed: number;
  failed: number;
  state: WatchState;
}

/** Names kdump tools give a finished dump (never the `-incomplete` temporaries, dmesg or our reports). */
export function isDumpName(name: string): boolean {
  if (name.includes('-incomplete') || name.includes('.kdbg-report')) return false;
  if (/\.(txt|json|log|tmp|part)$/.test(name)) return false;
  return /^(vmcore|dump)(\.[A-Za-z0-9_.]+)?$/.test(name);
}

function isIncompleteName(name: string): boolean {
  return /^(vmcore|dump)-incomplete/.test(name);
}

export async function loadState(stateFile: string, dir: string): Promise<WatchState> {
  try {
    const j = JSON.parse(await fsp.readFile(stateFile, 'utf8')) as Partial<WatchState>;
    if (j.version === 1 && j.items && typeof j.items === 'object') return { version: 1, dir, items: j.items };
  } catch {
    // missing or unreadable: start fresh (an unreadable state file is replaced on the next save)
  }
  return { version: 1, dir, items: {} };
}

function errorRecord(e: unknown): { code: string; message: string; exitCode: number } {
  if (isKdbgError(e)) return { code: e.code, message: e.message, exitCode: e.exitCode };
  const err = e as NodeJS.ErrnoException;
  return { code: err?.code ? `E_${err.code}` : 'KDBG_E_INTERNAL', message: err?.message ?? String(e), exitCode: 70 };
}

/** A promise that a watcher event, a timer or the stop signal resolves. */
class Wakeup {
  private resolveFn: (() => void) | null = null;
  private pending = false;
  poke(): void {
    if (this.resolveFn) {
      const r = this.resolveFn;
      this.resolveFn = null;
      r();
    } else this.pending = true;
  }
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((res) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        this.resolveFn = null;
        res();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.resolveFn = done;
    });
  }
}

export async function runWatch(opts: WatchOptions): Promise<WatchSummary> {
  const dir = resolve(opts.dir);
  const settleMs = opts.settleMs ?? 10_000;
  const rescanMs = opts.rescanMs ?? 30_000;
  const diagnose = opts.onDiagnostic ?? ((): void => undefined);
  const emit = opts.onEvent ?? ((): void => undefined);
  const state = await loadState(opts.stateFile, dir);
  const wake = new Wakeup();
  const watchers = new Map<string, FSWatcher>();
  /** Last observed size/mtime per candidate and since when it has been unchanged. */
  const seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  /** The `-incomplete` files of each crash directory at the previous scan. */
  const lastIncomplete = new Map<string, Set<string>>();
  /** Crash directories where one of them disappeared (a rename) and no dump was handled since. */
  const renamedIn = new Set<string>();
  /** Waiting reasons already announced (log a waiting dump once, not every rescan). */
  const announced = new Map<string, string>();
  let processed = 0;
  let failed = 0;

  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) {
    const { InputNotFoundError } = await import('../../core/errors.js');
    throw new InputNotFoundError(`${dir}: not a directory (kdbg watch follows a kdump crash directory such as /var/crash)`, { details: { file: dir } });
  }

  const watchDir = (d: string): void => {
    if (watchers.has(d)) return;
    try {
      const w = fsWatch(d, { persistent: false }, () => wake.poke());
      w.on('error', () => {
        w.close();
        watchers.delete(d);
      });
      watchers.set(d, w);
    } catch {
      // Not watchable (permissions, inotify limits): the periodic rescan still finds dumps.
    }
  };

  const saveState = async (): Promise<void> => {
    await writeFileAtomic(opts.stateFile, JSON.stringify(state, null, 2) + '\n', 0o600);
  };

  /** One pass over DIR: the dumps ready now, and whether any candidate is still settling. */
  const scan = async (): Promise<{ ready: WatchItem[]; waiting: number; nextCheckMs: number }> => {
    const ready: WatchItem[] = [];
    let waiting = 0;
    let nextCheckMs = rescanMs;
    const now = Date.now();
    const dirs: string[] = [dir];
    let top: import('node:fs').Dirent[] = [];
    try {
      top = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      diagnose({ kind: 'warning', code: 'KDBG_E_INPUT_NOT_FOUND', message: `cannot read ${dir}: ${(e as Error).message}` });
    }
    for (const de of top) if (de.isDirectory() && !de.name.startsWith('.')) dirs.push(join(dir, de.name));
    for (const d of dirs) {
      watchDir(d);
      let names: string[];
      try {
        names = d === dir ? top.filter((x) => !x.isDirectory()).map((x) => x.name) : await fsp.readdir(d);
      } catch {
        continue;
      }
      const incompleteNow = new Map<string, number>();
      for (const n of names.filter(isIncompleteName)) {
        const ist = await fsp.lstat(join(d, n)).catch(() => null);
        if (ist) incompleteNow.set(n, ist.mtimeMs);
      }
      const before = lastIncomplete.get(d);
      if (before && [...before].some((n) => !incompleteNow.has(n))) renamedIn.add(d);
      lastIncomplete.set(d, new Set(incompleteNow.keys()));
      const dmesgName = names.find((n) => n === 'vmcore-dmesg.txt' || /^dmesg\.\d+/.test(n)) ?? null;
      for (const name of names) {
        if (!isDumpName(name)) continue;
        const path = join(d, name);
        const rel = relative(dir, path);
        let fst;
        try {
          fst = await fsp.lstat(path);
        } catch {
          continue;
        }
        if (!fst.isFile()) continue;
        const prev = state.items[rel];
        if (prev && prev.size === fst.size && prev.mtimeMs === fst.mtimeMs) continue;
        const item: WatchItem = { path, rel, crashDir: d, size: fst.size, mtimeMs: fst.mtimeMs, dmesg: dmesgName ? join(d, dmesgName) : null };
        // An incomplete file written no earlier than this dump is still being written (or a
        // newer dump is): wait. An older one is a leftover of a failed attempt.
        const incomplete = [...incompleteNow.values()].some((m) => m >= fst.mtimeMs);
        if (incomplete) {
          waiting++;
          if (announced.get(rel) !== 'incomplete') {
            announced.set(rel, 'incomplete');
            emit({ event: 'waiting', dump: path, reason: 'incomplete' });
          }
          continue;
        }
        // The rename from `-incomplete` happened while we watched: the dump is complete now.
        if (renamedIn.has(d)) {
          ready.push(item);
          continue;
        }
        const s = seen.get(rel);
        if (!s || s.size !== fst.size || s.mtimeMs !== fst.mtimeMs) {
          seen.set(rel, { size: fst.size, mtimeMs: fst.mtimeMs, since: now });
          waiting++;
          nextCheckMs = Math.min(nextCheckMs, settleMs);
          if (announced.get(rel) !== 'settling') {
            announced.set(rel, 'settling');
            emit({ event: 'waiting', dump: path, reason: 'settling' });
          }
          continue;
        }
        if (now - s.since >= settleMs) ready.push(item);
        else {
          waiting++;
          nextCheckMs = Math.min(nextCheckMs, settleMs - (now - s.since));
        }
      }
    }
    // Forget watchers of crash directories that were removed.
    for (const [d, w] of watchers) {
      if (d !== dir && !dirs.includes(d)) {
        w.close();
        watchers.delete(d);
      }
    }
    return { ready, waiting, nextCheckMs: Math.max(50, nextCheckMs) };
  };

  emit({ event: 'started', dir, stateFile: opts.stateFile, known: Object.keys(state.items).length });
  watchDir(dir);
  try {
    while (!opts.signal.aborted) {
      const { ready, waiting, nextCheckMs } = await scan();
      for (const item of ready) {
        if (opts.signal.aborted) break;
        emit({ event: 'processing', dump: item.path });
        try {
          const r = await opts.processDump(item, opts.signal);
          state.items[item.rel] = { status: 'done', size: item.size, mtimeMs: item.mtimeMs, at: new Date().toISOString(), reports: r.reports, summary: r.summary };
          processed++;
          emit({ event: 'done', dump: item.path, reports: r.reports, summary: r.summary });
        } catch (e) {
          // Stopped mid-dump: not recorded, so the next start processes it again.
          if (opts.signal.aborted) break;
          const err = errorRecord(e);
          state.items[item.rel] = { status: 'failed', size: item.size, mtimeMs: item.mtimeMs, at: new Date().toISOString(), reports: [], error: err };
          failed++;
          emit({ event: 'failed', dump: item.path, error: err });
        }
        announced.delete(item.rel);
        seen.delete(item.rel);
        renamedIn.delete(item.crashDir);
        await saveState();
      }
      if (opts.signal.aborted) break;
      if (opts.once && waiting === 0) break;
      await wake.wait(waiting > 0 ? nextCheckMs : rescanMs, opts.signal);
    }
  } finally {
    for (const w of watchers.values()) w.close();
    watchers.clear();
    await saveState();
  }
  emit({ event: 'stopped', processed, failed });
  return { processed, failed, state };
}
