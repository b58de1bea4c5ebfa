// The module step of an analysis: the debug files of the modules crash's `mod` names, fetched
// for the release the vmlinux came from (pipeline/fetch/modules.ts); those the dump's log named
// are fetched ahead, while crash loads.

import type { ModuleStepOutcome } from '../analyze/index.js';
import type { ModRow } from '../analyze/parsers/mod.js';
import type { FetchResult } from '../core/fetch-result.js';
import type { ProgressListener } from '../core/types.js';
import type { ModuleDebugResult } from './fetch/modules.js';
import type { FetchOptions } from './fetch/options.js';

/**
 * The module step as analyzeFetched takes it: given crash's `mod`, fetch those modules' debug
 * files for the release `r` was fetched for (pipeline/fetch/modules.ts). A failure is a warning:
 * the analysis goes on without them.
 */
export function moduleLoader(
  r: FetchResult,
  fetchOpts: FetchOptions,
  emit: ProgressListener,
  early: readonly string[] = [],
): ((rows: ModRow[]) => Promise<ModuleStepOutcome>) & { cancel(): void } {
  // The modules the log names ("Modules linked in:") are fetched at once, while crash loads the
  // vmlinux (seconds): crash's `mod` then finds them done instead of waiting for the step
  // (a module missing from the packages costs a look at the indexes on every run). An analysis
  // that ends before `mod` (a mismatch, crash failing) cancels it: nothing keeps the process.
  const stop = new AbortController();
  const signal = fetchOpts.signal ? AbortSignal.any([stop.signal, fetchOpts.signal]) : stop.signal;
  const fetchNames = async (names: readonly string[], opts: FetchOptions): Promise<ModuleDebugResult> => (await import('./fetch/modules.js')).fetchModuleDebug(r, names, opts);
  const ahead = early.length > 0 ? fetchNames(early, { ...fetchOpts, signal }) : null;
  ahead?.catch(() => undefined); // its error is taken below, when `mod` has named the modules
  const load = async (rows: ModRow[]): Promise<ModuleStepOutcome> => {
    const t0 = Date.now();
    const names = rows.map((x) => x.name);
    emit({ kind: 'info', message: `the dump had ${names.length} module${names.length === 1 ? '' : 's'} loaded${names.length ? `: ${names.join(' ')}` : ''}; fetching their debug files` });
    let m: ModuleDebugResult;
    let first: ModuleDebugResult | null = null;
    try {
      first = ahead ? await ahead : null;
      const { moduleKey } = await import('./fetch/modules.js');
      const done = new Set([...(first?.found ?? []), ...(first?.missing ?? [])].map((x) => x.name));
      const rest = names.filter((n) => !done.has(moduleKey(n)));
      const more = rest.length > 0 || !first ? await fetchNames(rest, fetchOpts) : null;
      const want = new Set(names.map(moduleKey));
      const found = [...(first?.found ?? []), ...(more?.found ?? [])].filter((x) => want.has(x.name));
      const missing = [...(first?.missing ?? []), ...(more?.missing ?? [])].filter((x) => want.has(x.name));
      m = { dir: found.length > 0 ? (more?.dir ?? first?.dir ?? null) : null, found, missing, packages: [...(first?.packages ?? []), ...(more?.packages ?? [])], ms: (first?.ms ?? 0) + (more?.ms ?? 0) };
    } catch (e) {
      // Without the modules' files the analysis still stands: their frames lack lines.
      emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `module debug files not fetched: ${(e as Error).message}` });
      return { dir: null, missing: names.map((n) => ({ name: n, reason: `fetching failed: ${(e as Error).message}` })), fetchMs: null };
    }
    for (const x of m.missing) emit({ kind: 'warning', code: 'KDBG_E_NOT_FOUND', message: `module ${x.name}: no debug file (${x.reason})` });
    // The fetch's own time (the ahead part included); crash's wait for it is timings.crashIdleMs.
    emit({ kind: 'info', message: `module debug files: ${m.found.length} of ${names.length} (${m.ms} ms${first ? `, ${Date.now() - t0} ms waited` : ''})` });
    return { dir: m.dir, missing: m.missing, fetchMs: m.ms };
  };
  return Object.assign(load, { cancel: () => stop.abort() });
}
