// The analyze stage: one crash session with a fixed command plan (plan.ts), parsers over each
// command's output, triage rules, and the report model the renderers (Markdown, JSON, HTML) share.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CrashBinary } from './crash-binary.js';
import { crashTooOld } from './crash-binary.js';
import { parseBt } from './parsers/bt.js';
import type { BtResult } from './parsers/bt.js';
import { parseDis } from './parsers/dis.js';
import type { DisResult } from './parsers/dis.js';
import { parseKmemInfo } from './parsers/kmem.js';
import type { KmemInfo } from './parsers/kmem.js';
import { parseLog } from './parsers/log.js';
import type { LogLine } from './parsers/log.js';
import { parseMod } from './parsers/mod.js';
import type { ModRow } from './parsers/mod.js';
import { parsePs } from './parsers/ps.js';
import type { PsResult } from './parsers/ps.js';
import { parseSym } from './parsers/sym.js';
import type { SymInfo } from './parsers/sym.js';
import { parseSys } from './parsers/sys.js';
import type { SysInfo } from './parsers/sys.js';
import { callChain, faultAndCaller } from './call-chain.js';
import type { ChainEntry } from './call-chain.js';
import { compareLogWithBt } from './log-vs-bt.js';
import type { LogBtComparison, LogTrace } from './log-vs-bt.js';
import { chainSignature } from './signature.js';
import type { CrashSignature } from './signature.js';
import type { SessionOutcome } from './plan.js';
import type { TranscriptSection } from './transcript.js';
import { outputOf } from './transcript.js';
import { triage } from './triage.js';
import type { Finding, Triage } from './triage.js';

export const REPORT_SCHEMA = 'kdbg.analyze/v1';

export { runCrashPlan, spawnCrash } from './plan.js';
export type { AnalyzeInput, SessionOutcome } from './plan.js';

export interface SourceQuote {
  file: string;
  path: string;
  line: number;
  first: number;
  lines: string[];
}

export interface ParsedOutputs {
  sys: SysInfo | null;
  bt: BtResult | null;
  btAll: BtResult | null;
  hung: BtResult | null;
  kmem: KmemInfo | null;
  ps: PsResult | null;
  dis: DisResult | null;
  sym: SymInfo | null;
  log: LogLine[];
  mod: ModRow[] | null;
}

/** Parse every known command's output out of transcript sections. Pure. */
export function parseSections(sections: readonly TranscriptSection[]): ParsedOutputs {
  const o = (c: string): string | null => outputOf(sections, c);
  const opt = <T>(text: string | null, f: (t: string) => T): T | null => (text === null ? null : f(text));
  return {
    sys: opt(o('sys'), parseSys),
    // `bt -l` since the call chain carries file:line; `bt` in transcripts recorded before.
    bt: opt(o('bt -l') ?? o('bt'), parseBt),
    btAll: opt(o('bt -a'), parseBt),
    hung: opt(o('foreach UN bt'), parseBt),
    kmem: opt(o('kmem -i'), parseKmemInfo),
    ps: opt(o('ps'), parsePs),
    dis: opt(o('dis -rl *'), parseDis),
    sym: opt(o('sym *'), parseSym),
    log: parseLog(o('log') ?? ''),
    // The last `mod`: after `mod -S` it names the object file crash loaded for each module.
    mod: opt(lastOutput(sections, 'mod'), parseMod),
  };
}

function lastOutput(sections: readonly TranscriptSection[], command: string): string | null {
  const s = sections.filter((x) => x.command === command).at(-1);
  return s ? s.output + s.stderr : null;
}

/**
 * Find a compiler-recorded source path ("debian/build/…/arch/x86/mm/fault.c",
 * "/usr/src/debug/kernel-3.10.0-1160.el7/linux-…/arch/x86/include/asm/rwsem.h") under a source
 * tree by trying ever shorter suffixes, directly and one directory level down.
 */
export async function resolveSource(sourceDir: string, file: string): Promise<string | null> {
  const parts = file.split('/').filter((p) => p !== '' && p !== '.');
  let subdirs: string[] = [];
  try {
    subdirs = (await readdir(sourceDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return null;
  }
  for (let i = 0; i < parts.length; i++) {
    const suffix = parts.slice(i).join('/');
    for (const base of [sourceDir, ...subdirs.map((d) => join(sourceDir, d))]) {
      const p = join(base, suffix);
      try {
        if ((await stat(p)).isFile()) return p;
      } catch {
        // try the next candidate
      }
    }
  }
  return null;
}

export async function quoteSource(sourceDir: string, file: string, line: number, context = 5): Promise<SourceQuote | null> {
  const p = await resolveSource(sourceDir, file);
  if (!p) return null;
  const all = (await readFile(p, 'utf8')).split('\n');
  const first = Math.max(1, line - context);
  const last = Math.min(all.length, line + context);
  return { file, path: p, line, first, lines: all.slice(first - 1, last) };
}

export interface AnalysisReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  dump: { path: string; format: string | null; release: string | null; buildId: string | null };
  vmlinux: { path: string; release: string | null; buildId: string | null; banner: string | null };
  verification: unknown;
  /** `fix`: the command that gets a new enough crash on this host (as `kdbg doctor` prints it), when tooOld. */
  crash: { path: string; version: string | null; tooOld: string | null; durationMs: number; exitCode: number | null; fix?: string | null };
  summary: {
    panicClass: Triage['panicClass'];
    headline: string;
    panicMessage: string | null;
    faultAddress: string | null;
    bugAt: string | null;
    task: Triage['task'];
    location: Triage['location'];
    probableCause: string;
    /** Panic class + first meaningful frames, normalised (signature.ts, docs/analyze.md). */
    signature: CrashSignature;
  };
  findings: Finding[];
  /** The panicking task's frames with file:line (`bt -l`), the exception RIP first where there is one. */
  callChain: ChainEntry[];
  /** Indexes into callChain of the fault and of its caller. */
  faultIndex: number | null;
  callerIndex: number | null;
  /** The faulting line with context. */
  source: SourceQuote | null;
  /** The caller's line with context. */
  callerSource: SourceQuote | null;
  /** Why a snippet is missing (no sources fetched, file not in them), else null. */
  sourceNote: string | null;
  /** The dump's own logged call trace set beside `bt` (log-vs-bt.ts); null: no oops in the log. */
  logVsBt: LogBtComparison | null;
  system: {
    release: string | null;
    version: string | null;
    machine: string | null;
    cpus: number | null;
    memory: string | null;
    uptime: string | null;
    date: string | null;
    tasks: number | null;
    nodename: string | null;
  };
  backtrace: BtResult['tasks'][number] | null;
  allCpus: BtResult['tasks'];
  memory: KmemInfo | null;
  processes: { total: number; stateCounts: Record<string, number>; dState: { pid: number; comm: string }[] } | null;
  modules: ModRow[];
  /**
   * The modules' debug files: which crash loaded (`mod` after `mod -S`), and for each module
   * without one, why (out of tree, not in the debug packages, not fetched). Null: no module step.
   */
  moduleDebug: ModuleDebugReport | null;
  logTail: string[];
  commands: { command: string; lines: number; error: string | null }[];
  warnings: string[];
  timings: Record<string, number>;
}

export interface ModuleDebugReport {
  dir: string | null;
  loaded: { name: string; objectFile: string }[];
  missing: { name: string; reason: string }[];
  /** How long fetching the debug files took (ms), when kdbg fetched them. */
  fetchMs: number | null;
}

/** What the module step did, for the report (the fetch's own account; crash's `mod` completes it). */
export interface ModuleStepOutcome {
  dir: string | null;
  missing: { name: string; reason: string }[];
  fetchMs: number | null;
}

export function moduleDebugReport(rows: readonly ModRow[], step: ModuleStepOutcome): ModuleDebugReport {
  const loaded = rows.filter((r) => r.objectFile !== null).map((r) => ({ name: r.name, objectFile: r.objectFile! }));
  const missing = [...step.missing];
  for (const r of rows) {
    if (r.objectFile !== null || missing.some((m) => m.name === r.name)) continue;
    missing.push({ name: r.name, reason: step.dir ? `crash loaded no debug file for it from ${step.dir}` : 'no debug file' });
  }
  return { dir: step.dir, loaded, missing, fetchMs: step.fetchMs };
}

export interface BuildReportInput {
  /** The module step, when there was one (--modules-dir, or fetched for the dump's modules). */
  moduleStep?: ModuleStepOutcome | null;
  dump: AnalysisReport['dump'];
  vmlinux: AnalysisReport['vmlinux'];
  verification: unknown;
  crash: CrashBinary;
  session: SessionOutcome;
  kernelVersion: string | null;
  sourceDir?: string | null;
  /** The call trace of the oops in the dump's own log (the first look), to set beside bt. */
  logTrace?: LogTrace | null;
  warnings?: string[];
  timings?: Record<string, number>;
  now?: Date;
}

/** Turn the session's output into the report model (reads source files when sourceDir is set). */
export async function buildReport(input: BuildReportInput): Promise<AnalysisReport> {
  const p = parseSections(input.session.sections);
  const t = triage({ sys: p.sys, bt: p.bt, log: p.log, kmem: p.kmem, ps: p.ps, dis: p.dis, sym: p.sym, hung: p.hung });
  const warnings = [...(input.warnings ?? [])];
  const old = crashTooOld(input.crash.version, input.kernelVersion);
  if (old) warnings.push(old);
  const all = [input.session.startup, ...input.session.sections.map((s) => s.output + s.stderr)].join('\n');
  for (const w of input.session.startup.split('\n')) if (/^WARNING: .*(inconsistency|do not match|mismatch)/i.test(w)) warnings.push(`crash: ${w}`);
  const pidHash = all.split('\n').filter((l) => /not found in PID hash/.test(l));
  if (pidHash.length > 0) warnings.push(`crash could not gather every task (${pidHash.length} "not found in PID hash" messages${p.sys?.tasks != null && p.ps ? `; sys TASKS ${p.sys.tasks}, ps ${p.ps.rows.length}` : ''}): the process list is incomplete`);
  const chain = callChain(p.bt?.tasks[0] ?? null, t.location);
  const { fault, caller } = faultAndCaller(chain, t.location);
  const faultPlace = t.location?.file && t.location.line !== null ? { file: t.location.file, line: t.location.line } : fault !== null ? chain[fault]! : null;
  const callerPlace = caller !== null ? chain[caller]! : null;
  let source: SourceQuote | null = null;
  let callerSource: SourceQuote | null = null;
  let sourceNote: string | null = null;
  if (!input.sourceDir) {
    sourceNote = 'no kernel sources at hand (the fetch had none, or --vmlinux was given without --source-dir): the lines above are not quoted';
  } else {
    const missing: string[] = [];
    if (faultPlace?.file && faultPlace.line !== null) {
      source = await quoteSource(input.sourceDir, faultPlace.file, faultPlace.line);
      if (!source) {
        warnings.push(`source ${faultPlace.file} not found under ${input.sourceDir}`);
        missing.push(faultPlace.file);
      }
    }
    if (callerPlace?.file && callerPlace.line !== null) {
      callerSource = await quoteSource(input.sourceDir, callerPlace.file, callerPlace.line);
      if (!callerSource) missing.push(callerPlace.file);
    }
    if (missing.length) sourceNote = `not under ${input.sourceDir}: ${missing.join(', ')}`;
  }
  const commands = input.session.sections.map((s) => {
    const out = s.output + s.stderr;
    const verb = s.command.split(/\s+/, 1)[0] ?? '';
    const err = out.split('\n').find((l) => l.startsWith(`${verb}: `) || l.startsWith('crash: ') || /^symbol not found/.test(l)) ?? null;
    return { command: s.command, lines: out === '' ? 0 : out.split('\n').length - (out.endsWith('\n') ? 1 : 0), error: err };
  });
  return {
    schema: REPORT_SCHEMA,
    generatedAt: (input.now ?? new Date()).toISOString(),
    dump: input.dump,
    vmlinux: input.vmlinux,
    verification: input.verification,
    crash: { path: input.crash.path, version: input.crash.version, tooOld: old, durationMs: input.session.durationMs, exitCode: input.session.exitCode },
    summary: { panicClass: t.panicClass, headline: t.headline, panicMessage: t.panicMessage, faultAddress: t.faultAddress, bugAt: t.bugAt, task: t.task, location: t.location, probableCause: t.probableCause, signature: chainSignature(t.panicClass, chain, t.location) },
    findings: t.findings,
    callChain: chain,
    faultIndex: fault,
    callerIndex: caller,
    source,
    callerSource,
    sourceNote,
    logVsBt: input.logTrace ? compareLogWithBt(input.logTrace, chain) : null,
    system: {
      release: p.sys?.release ?? null,
      version: p.sys?.version ?? null,
      machine: p.sys?.machine ?? null,
      cpus: p.sys?.cpus ?? null,
      memory: p.sys?.memory ?? null,
      uptime: p.sys?.uptime ?? null,
      date: p.sys?.date ?? null,
      tasks: p.sys?.tasks ?? null,
      nodename: p.sys?.nodename ?? null,
    },
    backtrace: p.bt?.tasks[0] ?? null,
    allCpus: p.btAll?.tasks ?? [],
    memory: p.kmem,
    processes: p.ps ? { total: p.ps.rows.length, stateCounts: p.ps.stateCounts, dState: p.ps.rows.filter((r) => r.state === 'UN').map((r) => ({ pid: r.pid, comm: r.comm })) } : null,
    modules: p.mod ?? [],
    moduleDebug: input.moduleStep ? moduleDebugReport(p.mod ?? [], input.moduleStep) : null,
    logTail: p.log.slice(-60).map((l) => (l.time === null ? l.text : `[${l.time.toFixed(6).padStart(12)}] ${l.text}`)),
    commands,
    warnings,
    timings: input.timings ?? {},
  };
}
