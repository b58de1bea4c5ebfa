// What `watch` does with each new dump: identify → fetch (debuginfod first when the dump has a
// BUILD-ID and servers are configured) → optionally analyze, the same pipeline functions
// `kdbg fetch` and `kdbg analyze` call; the results go into `<dump>.kdbg/` next to the dump or
// under a report directory. See docs/hosts.md.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../cache/fs-util.js';
import type { Env } from '../../core/env.js';
import { fetchResultJson } from '../../core/fetch-result.js';
import type { ProgressEvent } from '../../core/types.js';
import { analyzeFetched, findCrash, moduleLoader, type LocatedCrash } from '../analyze.js';
import { fetchDebuginfodFirst } from '../fetch/debuginfod-first.js';
import type { FetchOptions } from '../fetch/options.js';
import { oopsLogTrace, oopsSignature } from '../signature.js';
import type { DumpProcessor, WatchItem } from './loop.js';

export interface DumpProcessorOptions {
  /** Fetch options for every dump (cache, mirrors, offline, sources, modules). */
  fetch: Omit<FetchOptions, 'onProgress' | 'signal'>;
  /** false: skip the debuginfod route; explicit servers come before DEBUGINFOD_URLS. */
  debuginfod: boolean;
  debuginfodUrls: readonly string[];
  /** Write results under this directory instead of next to each dump. */
  reportDir?: string;
  /** Also run the crash triage with this crash binary (see findCrash) and timeout. */
  analyze?: { crash: LocatedCrash; timeoutMs: number; /** Fetch and load the dump's modules' debug files (default true). */ modules?: boolean } | null;
  env: Env;
  /** Progress and diagnostics of one dump's fetch (the CLI logs warnings, info and failovers). */
  onProgress?: (item: WatchItem, e: ProgressEvent) => void;
}

/** Locate crash once, at start: a missing crash is a setup problem (exit 69), not a failed dump. */
export async function watchAnalyzer(flag: string | undefined, timeoutMs: number, env: Env): Promise<{ crash: LocatedCrash; timeoutMs: number }> {
  return { crash: await findCrash(flag, env), timeoutMs };
}

export function makeDumpProcessor(o: DumpProcessorOptions): DumpProcessor {
  return async (item, signal) => {
    const onProgress = (e: ProgressEvent): void => o.onProgress?.(item, e);
    const started = Date.now();
    const { identifyDump } = await import('../../identify/index.js');
    const identity = await identifyDump(item.path);
    // The first look: the oops in the dump's own log, before the fetch (docs/analyze.md).
    const { firstLook } = await import('../../klog/index.js');
    const look = identity.vmcoreinfo && identity.format !== 'dmesg' ? await firstLook(item.path) : null;
    if (look) onProgress({ kind: 'info', message: `first look: ${look.headline}` });
    // As kdbg analyze: the log's module list rides along an RPM read whole (fetch/same-pass.ts).
    const logModules = o.analyze && o.analyze.modules !== false ? (look?.oops.modules ?? []).map((m) => m.name) : [];
    const fetched = await fetchDebuginfodFirst(item.path, { ...o.fetch, ...(logModules.length > 0 ? { moduleNames: logModules } : {}), debuginfod: o.debuginfod, debuginfodUrls: o.debuginfodUrls, env: o.env, onProgress, signal });
    const via = fetched.via;
    const outDir = o.reportDir ? join(o.reportDir, `${item.rel}.kdbg`) : `${item.path}.kdbg`;
    await fsp.mkdir(outDir, { recursive: true, mode: 0o755 });
    let analysis: Record<string, unknown> | null = null;
    if (o.analyze) {
      signal.throwIfAborted();
      const { crash, timeoutMs } = o.analyze;
      const r = await analyzeFetched({
        dump: item.path,
        identity,
        vmlinux: fetched.vmlinux,
        image: fetched.image ?? null,
        sourceDir: fetched.source,
        modulesDir: fetched.modules,
        // As kdbg analyze: the debug files of the modules crash's `mod` lists (pipeline/fetch/modules.ts).
        loadModules: fetched.modules || o.analyze.modules === false ? null : moduleLoader(fetched, { ...o.fetch, env: o.env, signal }, onProgress),
        crash,
        timeoutMs,
        logTrace: look ? oopsLogTrace(look.oops, look.headline) : null,
        header: () => ['kdbg watch --analyze transcript', `crash ${crash.version ?? '?'} (${crash.path})`, `vmlinux ${fetched.vmlinux}`, `dump ${item.path}`],
        outDir,
      });
      analysis = { headline: r.report.summary.headline, panicClass: r.report.summary.panicClass, signature: r.report.summary.signature, crashSeconds: Math.round(r.durationMs / 100) / 10, outDir };
    }
    const summary = {
      release: identity.release,
      buildId: identity.buildId,
      vmlinux: fetched.vmlinux,
      via,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ...(analysis ? { headline: analysis['headline'], panicClass: analysis['panicClass'] } : {}),
    };
    const report = {
      kdbgWatch: 1,
      dump: item.path,
      dmesg: item.dmesg,
      processedAt: new Date().toISOString(),
      identity,
      firstLook: look ? { headline: look.headline, oops: look.oops, laterReports: look.others, signature: oopsSignature(look.oops) } : null,
      fetch: { ...fetchResultJson(fetched), via },
      analysis,
    };
    const reportFile = join(outDir, 'watch.json');
    await writeFileAtomic(reportFile, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n', 0o644);
    const reports = [reportFile];
    if (o.analyze) {
      for (const f of ['report.md', 'report.json', 'report.html', 'crash-transcript.txt']) {
        if (await fsp.stat(join(outDir, f)).then(() => true, () => false)) reports.push(join(outDir, f));
      }
    }
    return { reports, summary };
  };
}
