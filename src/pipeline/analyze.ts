// `analyze`: a dump → identify → fetch (unless a vmlinux is given) → verify the match → one crash
// session → a triage report, written as report.md/.json/.html + crash-transcript.txt when an
// output directory is given. `kdbg analyze` renders the result; `kdbg watch --analyze` calls
// `analyzeFetched` for each dump it has already identified and fetched.

import { basename, join } from 'node:path';
import type { AnalysisReport, AnalyzeInput, ModuleStepOutcome } from '../analyze/index.js';
import type { ModRow } from '../analyze/parsers/mod.js';
import type { CrashBinary } from '../analyze/crash-binary.js';
import type { LogTrace } from '../analyze/log-vs-bt.js';
import { processEnv, type Env } from '../core/env.js';
import type { DumpIdentity, ProgressListener } from '../core/types.js';
import type { FirstLookReport } from '../klog/report.js';
import type { FirstLook } from '../klog/index.js';
import { ignoreEvents } from './events.js';
import type { FetchOptions } from './fetch/options.js';
import type { FetchResult, FetchTimings } from '../core/fetch-result.js';

import { moduleLoader } from './analyze-modules.js';

export type { AnalysisReport } from '../analyze/index.js';
export { moduleLoader } from './analyze-modules.js';

export interface LocatedCrash extends Pick<CrashBinary, 'path' | 'from'> {
  version: string | null;
}

/** The crash binary: `flag`, else KDBG_CRASH, else PATH (UnavailableError when none). */
export async function findCrash(flag: string | undefined, env: Env = processEnv()): Promise<LocatedCrash> {
  const { locateCrash, crashVersion } = await import('../analyze/crash-binary.js');
  const located = await locateCrash({ flag, env: { KDBG_CRASH: env['KDBG_CRASH'], PATH: env['PATH'] } });
  return { ...located, version: await crashVersion(located.path) };
}

export interface AnalyzeFetchedOptions {
  dump: string;
  identity: DumpIdentity & { packageVersion?: string | null };
  vmlinux: string;
  /** SUSE: the stripped image beside a debug-only `vmlinux` (the cache entry's `image`). */
  image?: string | null;
  sourceDir: string | null;
  modulesDir: string | null;
  /** Fetch the debug files of the modules crash's `mod` lists, inside the session (see analyze()). */
  loadModules?: ((rows: ModRow[]) => Promise<ModuleStepOutcome>) | null;
  /** The crash binary, or where to look for it (after the match is verified: a mismatch is reported first). */
  crash: LocatedCrash | Promise<LocatedCrash> | { flag?: string | undefined; env: Env };
  timeoutMs: number;
  extraCommands?: string[];
  /** Run even when the vmlinux does not match the dump. */
  force?: boolean;
  /** First lines of the transcript. */
  header: (crash: LocatedCrash) => string[];
  /** Write the four report files here; null: keep them in memory. */
  outDir: string | null;
  /**
   * When crash fails: where its transcript goes (`outDir`, else a temporary file) and whether the
   * error message names it (kdbg analyze) or not (kdbg watch records the error as it is).
   */
  transcriptInMessage?: boolean;
  /** Timings of earlier steps (identifyMs, fetchMs) to report with these. */
  timings?: Record<string, number>;
  /** The first look's call trace (pipeline/signature.ts oopsLogTrace), set beside bt in the report. */
  logTrace?: LogTrace | null;
  onEvent?: ProgressListener;
}

export interface AnalyzeResult {
  report: AnalysisReport;
  transcript: string;
  durationMs: number;
  /** The files written (empty without outDir). */
  files: string[];
  timings: Record<string, number>;
}

/** verify → crash → report, for a dump whose vmlinux is at hand. */
export async function analyzeFetched(o: AnalyzeFetchedOptions): Promise<AnalyzeResult> {
  const emit = o.onEvent ?? ignoreEvents;
  const { writeFileAtomic } = await import('../cache/fs-util.js');
  const { AnalysisError } = await import('../core/errors.js');
  const { verifyVmlinux, upstreamVersion } = await import('../verify/index.js');
  const { runCrashPlan, buildReport, spawnCrash } = await import('../analyze/index.js');
  const timings: Record<string, number> = { ...o.timings };
  let t = Date.now();
  // crash starts loading the vmlinux and the dump (seconds) while the match is checked; a
  // mismatch kills it and is reported first, before a missing crash.
  const located = o.crash instanceof Promise ? o.crash : 'path' in o.crash ? Promise.resolve(o.crash) : findCrash(o.crash.flag, o.crash.env);
  const crashOf = (crash: LocatedCrash): AnalyzeInput => ({ dump: o.dump, vmlinux: o.vmlinux, image: o.image ?? null, crash, timeoutMs: o.timeoutMs, extraCommands: o.extraCommands ?? [], modulesDir: o.modulesDir });
  const started = located.then((crash) => spawnCrash(crashOf(crash), o.header(crash)));
  started.catch(() => undefined); // taken after the check
  let checked;
  try {
    checked = await verifyVmlinux({ ...o.identity, path: o.dump }, o.vmlinux, { force: o.force ?? false, image: o.image ?? null });
  } catch (e) {
    (await started.catch(() => null))?.kill();
    throw e;
  }
  const { result: verification, vmlinux: vmId } = checked;
  timings['verifyMs'] = Date.now() - t;
  for (const w of verification.warnings) emit({ kind: 'warning', code: 'KDBG_E_MISMATCH', message: w });
  emit({ kind: 'info', message: `vmlinux ${o.vmlinux} matches (${verification.checks.filter((c) => c.status === 'match').map((c) => c.kind).join(', ') || 'unverified'}) (${timings['verifyMs']} ms)` });
  const kernelVersion = upstreamVersion(o.identity.release ?? vmId.release ?? '', vmId.banner ?? o.identity.banner, o.identity.packageVersion ?? null);
  const crash = await located;
  const early = await started;
  emit({ kind: 'info', message: `running crash ${crash.version ?? '(unknown version)'} (${crash.path}) …` });
  if (o.outDir) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(o.outDir, { recursive: true }).catch((e: unknown) => {
      early.kill();
      throw e;
    });
  }
  t = early.startedAt;
  let session;
  let moduleStep: ModuleStepOutcome | null = o.modulesDir ? { dir: o.modulesDir, missing: [], fetchMs: null } : null;
  const load = o.loadModules;
  const loadModules = load
    ? async (rows: ModRow[]): Promise<{ dir: string | null }> => {
        moduleStep = await load(rows);
        if (moduleStep.fetchMs !== null) timings['modulesMs'] = moduleStep.fetchMs;
        return moduleStep;
      }
    : null;
  try {
    session = await runCrashPlan(
      { ...crashOf(crash), loadModules, sourceDir: o.sourceDir, kernelVersion, session: early },
      o.header(crash),
    );
  } catch (e) {
    if (e instanceof AnalysisError && typeof e.details['transcript'] === 'string') {
      const { tmpdir } = await import('node:os');
      const file = o.outDir ? join(o.outDir, 'crash-transcript.txt') : join(tmpdir(), `kdbg-crash-transcript-${process.pid}.txt`);
      await writeFileAtomic(file, e.details['transcript']);
      delete e.details['transcript'];
      e.details['transcriptFile'] = file;
      if (o.transcriptInMessage) e.message = `${e.message} (transcript: ${file})`;
    }
    throw e;
  }
  timings['crashMs'] = Date.now() - t;
  // crash's own time, apart from kdbg's: its lifetime, and the part of it spent waiting for kdbg.
  if (session.processMs !== undefined) timings['crashProcessMs'] = session.processMs;
  if (session.idleMs !== undefined) timings['crashIdleMs'] = session.idleMs;
  emit({ kind: 'info', message: `crash session ${(session.durationMs / 1000).toFixed(1)} s` });
  const t5 = Date.now();
  const report = await buildReport({
    dump: { path: o.dump, format: o.identity.format, release: o.identity.release, buildId: o.identity.buildId },
    vmlinux: { path: o.vmlinux, release: vmId.release, buildId: vmId.buildId, banner: vmId.banner },
    verification,
    crash,
    session,
    kernelVersion,
    sourceDir: o.sourceDir,
    moduleStep,
    logTrace: o.logTrace ?? null,
    warnings: verification.warnings,
    timings,
  });
  timings['reportMs'] = Date.now() - t5;
  if (report.crash.tooOld) {
    // The same advice as kdbg doctor: the command that gets a new enough crash on this host.
    const { minimumCrashFor } = await import('../analyze/crash-binary.js');
    const { crashFixCommand, hostDistro } = await import('./host-fixes.js');
    report.crash.fix = await crashFixCommand(await hostDistro(), minimumCrashFor(kernelVersion)?.crash ?? null);
  }
  report.timings = { ...timings };
  for (const w of report.warnings) if (!verification.warnings.includes(w)) emit({ kind: 'warning', code: 'KDBG_E_ANALYSIS', message: w });
  if (report.crash.fix) emit({ kind: 'warning', code: 'KDBG_E_ANALYSIS', message: `fix on this host: ${report.crash.fix} (then kdbg doctor checks it)` });
  const files: string[] = [];
  if (o.outDir) {
    const { renderMarkdown } = await import('../analyze/report/markdown.js');
    const { renderHtml } = await import('../analyze/report/html.js');
    const out: Array<[string, string]> = [
      ['report.md', renderMarkdown(report)],
      ['report.json', `${JSON.stringify(report, null, 2)}\n`],
      ['report.html', renderHtml(report)],
      ['crash-transcript.txt', session.transcript],
    ];
    for (const [name, text] of out) {
      await writeFileAtomic(join(o.outDir, name), text);
      files.push(join(o.outDir, name));
    }
    emit({ kind: 'info', message: `wrote ${o.outDir}/{report.md,report.json,report.html,crash-transcript.txt}` });
  }
  return { report, transcript: session.transcript, durationMs: session.durationMs, files, timings };
}

export interface AnalyzeOptions {
  dump: string;
  /** Use this vmlinux instead of fetching one. */
  vmlinux?: string;
  /** With `vmlinux` a debug-only file (SUSE): the stripped image crash loads beside it. */
  image?: string;
  /** How to fetch the vmlinux (mirrors, cache, offline, modules); the dump is the input. */
  fetch?: FetchOptions;
  /** crash binary flag (default KDBG_CRASH, then PATH). */
  crash?: string;
  timeoutMs: number;
  extraCommands?: string[];
  force?: boolean;
  modulesDir?: string;
  /**
   * Load the debug files of the modules the dump had loaded (default true): after fetching the
   * vmlinux, crash's `mod` names them and only their files are fetched (pipeline/fetch/modules.ts).
   * Off with a --vmlinux (nothing was fetched) or a modulesDir.
   */
  modules?: boolean;
  sourceDir?: string;
  outDir?: string | null;
  env?: Env;
  onEvent?: ProgressListener;
  /** Emit the first look (the oops from the dump's own log) before fetching; default true. */
  firstLook?: boolean;
}

/**
 * The first look: the dump's own kernel log, its first oops or panic as a headline and its call
 * trace, emitted as info events before anything is fetched (docs/analyze.md). Dumps without
 * VMCOREINFO and vmcore-dmesg.txt files have no ring to read here.
 */
async function emitFirstLook(dump: string, identity: DumpIdentity, emit: ProgressListener): Promise<{ look: FirstLook; logTrace: LogTrace } | null> {
  if (identity.format === 'dmesg' || !identity.vmcoreinfo) return null;
  const { firstLook } = await import('../klog/index.js');
  const t = Date.now();
  const look = await firstLook(dump);
  if (!look) return null;
  for (const l of `first look: ${look.text}`.trimEnd().split('\n')) emit({ kind: 'info', message: l });
  emit({ kind: 'info', message: `(first look from the dump's log in ${Date.now() - t} ms${look.others ? `; ${look.others} later report${look.others === 1 ? '' : 's'} in the log` : ''})` });
  const { oopsLogTrace } = await import('./signature.js');
  return { look, logTrace: oopsLogTrace(look.oops, look.headline) };
}

export interface DumpOnlyResult {
  report: FirstLookReport;
  markdown: string;
  json: string;
  html: string;
  /** The files written (empty without outDir). */
  files: string[];
}

/**
 * `kdbg analyze --no-fetch`: identify and the first look only, a report from the dump alone (schema
 * kdbg.firstlook/v1). Throws InputFormatError when no log record could be read.
 */
export async function analyzeDumpOnly(o: { dump: string; outDir?: string | null; onEvent?: ProgressListener }): Promise<DumpOnlyResult> {
  const emit = o.onEvent ?? ignoreEvents;
  const { identifyDump } = await import('../identify/index.js');
  const { buildFirstLookReport } = await import('../klog/index.js');
  const { renderFirstLookMarkdown, renderFirstLookHtml } = await import('../klog/report.js');
  const { InputFormatError } = await import('../core/errors.js');
  const t = Date.now();
  const identity = await identifyDump(o.dump);
  const identifyMs = Date.now() - t;
  emit({ kind: 'info', message: `${o.dump}: ${identity.format}, kernel ${identity.release ?? 'unknown'}${identity.buildId ? `, build-id ${identity.buildId}` : ''} (${identifyMs} ms)` });
  await emitFirstLook(o.dump, identity, emit);
  const report = await buildFirstLookReport(o.dump, identity, identifyMs);
  if (report.firstLook) {
    const { oopsSignature } = await import('./signature.js');
    report.firstLook.signature = oopsSignature(report.firstLook.oops);
  }
  const out = { report, markdown: renderFirstLookMarkdown(report), json: `${JSON.stringify(report, null, 2)}\n`, html: renderFirstLookHtml(report), files: [] as string[] };
  if (o.outDir) {
    const { mkdir } = await import('node:fs/promises');
    const { writeFileAtomic } = await import('../cache/fs-util.js');
    await mkdir(o.outDir, { recursive: true });
    for (const [name, text] of [['report.md', out.markdown], ['report.json', out.json], ['report.html', out.html]] as const) {
      await writeFileAtomic(join(o.outDir, name), text);
      out.files.push(join(o.outDir, name));
    }
  }
  if (report.log.records === 0) {
    throw new InputFormatError(`${o.dump}: no kernel log read: ${report.log.problems.map((p) => p.message).join('; ') || 'the ring is empty'}`, { file: o.dump, format: 'printk ring' });
  }
  return out;
}

/** A fetch's measured phases as `fetch<Phase>Ms` numbers (unmeasured ones, null, are left out). */
export function flatFetchTimings(t: FetchTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === 'number' && k !== 'totalMs') out[`fetch${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
  }
  return out;
}

/** identify → fetch → verify → crash → report: `kdbg analyze` as a function. */
export async function analyze(o: AnalyzeOptions): Promise<AnalyzeResult & { identity: DumpIdentity; vmlinux: string }> {
  const emit = o.onEvent ?? ignoreEvents;
  const env = o.env ?? processEnv();
  const timings: Record<string, number> = {};
  // `crash --version` runs while the dump is read and the vmlinux fetched (its error, if any, is
  // taken after the vmlinux check, as before).
  const crashLocated = findCrash(o.crash, env);
  crashLocated.catch(() => undefined);
  const { identifyDump } = await import('../identify/index.js');
  let t = Date.now();
  const identity = await identifyDump(o.dump);
  timings['identifyMs'] = Date.now() - t;
  emit({ kind: 'info', message: `${o.dump}: ${identity.format}, kernel ${identity.release ?? 'unknown'}${identity.buildId ? `, build-id ${identity.buildId}` : ''} (${timings['identifyMs']} ms)` });
  const first = o.firstLook !== false ? await emitFirstLook(o.dump, identity, emit) : null;
  const logTrace = first?.logTrace ?? null;
  let vmlinux = o.vmlinux;
  let sourceDir = o.sourceDir ?? null;
  let modulesDir = o.modulesDir ?? null;
  let loadModules: ReturnType<typeof moduleLoader> | null = null;
  let image: string | null = o.image ?? null;
  let inUse: { release(): Promise<void> } | null = null;
  if (vmlinux === undefined) {
    t = Date.now();
    try {
      // The log's "Modules linked in:" names the dump's modules before any vmlinux: an RPM read
      // whole (el7) writes their debug files in the same pass (fetch/same-pass.ts).
      const logModules = o.modules !== false && !o.modulesDir ? (first?.look.oops.modules ?? []).map((m) => m.name) : [];
      const r = await fetchInUse(o.dump, { env, onProgress: emit, ...o.fetch, ...(logModules.length > 0 ? { moduleNames: logModules } : {}) });
      inUse = r.hold;
      // The fetch's own phases, flattened beside fetchMs (`fetchResolveMs`, `fetchIndexReadMs`, …).
      if (r.timings) Object.assign(timings, flatFetchTimings(r.timings));
      vmlinux = r.vmlinux;
      image = r.image ?? null;
      sourceDir ??= r.source;
      modulesDir ??= r.modules;
      if (!modulesDir && o.modules !== false) loadModules = moduleLoader(r, { env, onProgress: emit, ...o.fetch }, emit, logModules);
    } finally {
      timings['fetchMs'] = Date.now() - t;
    }
  }
  try {
    return await analyzeWith(o, identity, vmlinux, sourceDir, modulesDir, timings, emit, env, image, loadModules, logTrace, crashLocated);
  } finally {
    // A module fetch started ahead and never asked for (the analysis stopped before `mod`).
    loadModules?.cancel();
    await inUse?.release();
  }
}

/**
 * Fetch, then hold the cache entry in use for the crash session (`kdbg cache prune` skips it).
 * An entry pruned between the fetch and the hold is fetched again, once.
 */
async function fetchInUse(dump: string, opts: FetchOptions): Promise<FetchResult & { hold: { release(): Promise<void> } }> {
  const { holdEntryInUse } = await import('../cache/in-use.js');
  const { existsSync } = await import('node:fs');
  // Loaded here, not with this module: the first look (and all of --no-fetch) comes before any
  // fetch and need not wait for the fetch stage's ~30 modules (docs/analyze.md, "Measured").
  const { fetchRelease } = await import('./fetch/index.js');
  for (let attempt = 0; ; attempt++) {
    const r = await fetchRelease(dump, opts);
    const hold = await holdEntryInUse({ locksDir: join(r.cacheDir, 'locks') }, basename(r.entryDir), `crash session on ${dump}`);
    if (existsSync(r.vmlinux) || attempt > 0) return { ...r, hold };
    await hold.release();
  }
}

async function analyzeWith(
  o: AnalyzeOptions,
  identity: DumpIdentity,
  vmlinux: string,
  sourceDir: string | null,
  modulesDir: string | null,
  timings: Record<string, number>,
  emit: ProgressListener,
  env: Env,
  image: string | null,
  loadModules: AnalyzeFetchedOptions['loadModules'] = null,
  logTrace: LogTrace | null = null,
  crashLocated: Promise<LocatedCrash> | null = null,
): Promise<AnalyzeResult & { identity: DumpIdentity; vmlinux: string }> {
  const fetched = vmlinux;
  const r = await analyzeFetched({
    dump: o.dump,
    identity,
    vmlinux,
    image,
    sourceDir,
    modulesDir,
    loadModules,
    logTrace,
    crash: crashLocated ?? { flag: o.crash, env },
    timeoutMs: o.timeoutMs,
    extraCommands: o.extraCommands ?? [],
    force: o.force ?? false,
    header: (crash) => [`kdbg analyze transcript`, `crash ${crash.version ?? '?'} (${crash.path})`, `vmlinux ${fetched}`, `dump ${o.dump}`],
    outDir: o.outDir ?? null,
    transcriptInMessage: true,
    timings,
    onEvent: emit,
  });
  return { ...r, identity, vmlinux };
}
