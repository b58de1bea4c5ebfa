// The crash session's command plan, in one running crash (see session.ts).
//
// Plan: [mod -S DIR] sys bt -l log | then, knowing bt and the log: sym/dis -l at the fault, bt -a,
// kmem -i, ps, foreach UN bt, mod, --cmd… — all in the same running crash (see session.ts). When
// the module files are fetched during the analysis: mod, then sys log bt -a kmem -i ps
// foreach UN bt while they download, then mod -S DIR, bt -l, sym/dis -l, mod, --cmd….

import { AnalysisError } from '../core/errors.js';
import type { CrashBinary } from './crash-binary.js';
import { parseBt } from './parsers/bt.js';
import { parseLog } from './parsers/log.js';
import { parseMod } from './parsers/mod.js';
import type { ModRow } from './parsers/mod.js';
import { CrashSession } from './session.js';
import type { TranscriptSection } from './transcript.js';
import { pickTarget } from './triage-rules.js';

export interface AnalyzeInput {
  dump: string;
  vmlinux: string;
  /** SUSE: the stripped image `vmlinux` (a debug-only file) belongs to; crash loads both. */
  image?: string | null;
  crash: CrashBinary;
  timeoutMs: number;
  /** --cmd, appended after the plan. */
  extraCommands?: string[];
  /** Module debuginfo directory for `mod -S`. */
  modulesDir?: string | null;
  /**
   * Given the modules the dump had loaded (`mod`, run first in the session), fetch their debug
   * files and say where they are; the plan then runs `mod -S <dir>` before `bt`.
   */
  loadModules?: ((rows: ModRow[]) => Promise<{ dir: string | null }>) | null;
  /** Kernel sources (cache entry `source`) for quoting the faulting line. */
  sourceDir?: string | null;
  /** Upstream kernel version ("6.1.192") for the crash-too-old rule. */
  kernelVersion?: string | null;
  env?: Record<string, string | undefined>;
  /** crash already started by spawnCrash (its loading overlapped the caller's checks); else spawned here. */
  session?: CrashSession | null;
}

export interface SessionOutcome {
  sections: TranscriptSection[];
  /** What crash printed while loading (its WARNING lines matter: "not found in PID hash", "inconsistency"). */
  startup: string;
  transcript: string;
  durationMs: number;
  /** crash's lifetime, spawn to exit. */
  processMs?: number;
  /** Of processMs, the time crash waited for kdbg with nothing to do (session.ts idleMs). */
  idleMs?: number;
  exitCode: number | null;
}

/** Start crash on the input's vmlinux and dump (it loads them while the caller goes on). */
export function spawnCrash(input: AnalyzeInput, header: string[]): CrashSession {
  return CrashSession.spawn({ crash: input.crash.path, vmlinux: input.vmlinux, ...(input.image ? { image: input.image } : {}), dump: input.dump, timeoutMs: input.timeoutMs, header, ...(input.env ? { env: input.env } : {}) });
}

/** The plan's commands that read nothing from module debug files, in the order they run. */
const MODULE_FREE = ['sys', 'log', 'bt -a', 'kmem -i', 'ps', 'foreach UN bt'] as const;

/** Run the command plan in one crash session. Throws AnalysisError with details.transcript on failure. */
export async function runCrashPlan(input: AnalyzeInput, header: string[]): Promise<SessionOutcome> {
  const t0 = input.session?.startedAt ?? Date.now();
  let session: CrashSession | null = null;
  try {
    session = input.session ?? spawnCrash(input, header);
    await session.ready();
    let modulesDir = input.modulesDir ?? null;
    // Outputs of commands already run, by command.
    const ran = new Map<string, string>();
    if (!modulesDir && input.loadModules) {
      // Which modules the dump had, from the same session, before anything that needs them.
      const [modText] = await session.runAll(['mod']);
      // While their files download, crash runs what needs no module debuginfo (bt without -l
      // names module frames from the symbol tables the dump holds), so crash does not sit idle
      // waiting for the module step.
      const loading = input.loadModules(parseMod(modText ?? ''));
      const [outs, step] = await Promise.all([session.runAll(MODULE_FREE), loading]);
      MODULE_FREE.forEach((c, i) => ran.set(c, outs[i] ?? ''));
      modulesDir = step.dir;
    }
    const first: string[] = [];
    if (modulesDir) first.push(`mod -S ${modulesDir}`);
    first.push(...['sys', 'bt -l', 'log'].filter((c) => !ran.has(c)));
    const outs = await session.runAll(first);
    const btText = outs[first.indexOf('bt -l')] ?? '';
    const logText = ran.get('log') ?? outs[first.indexOf('log')] ?? '';
    const target = pickTarget(parseBt(btText), parseLog(logText));
    const rest: string[] = [];
    if (target) {
      // crash's sym takes an address or a bare symbol name, not "fn+off".
      rest.push(`sym ${target.address ?? target.location.replace(/\+.*$/, '')}`);
      // A frame's return address is exact where "fn" alone would mean the function start.
      const where = target.location.includes('+') || target.address === null ? target.location : target.address;
      rest.push(`dis -rl ${where}`);
      rest.push(`dis -l ${where} 8`);
    }
    rest.push(...MODULE_FREE.filter((c) => c !== 'sys' && c !== 'log' && !ran.has(c)), 'mod', ...(input.extraCommands ?? []));
    await session.runAll(rest);
    const exit = await session.close();
    const startup = session.startup ? session.startup.output + session.startup.stderr : '';
    const processMs = (session.exitedAt ?? Date.now()) - session.startedAt;
    return { sections: session.sections, startup, transcript: session.transcript(), durationMs: Date.now() - t0, processMs, idleMs: session.idleMs, exitCode: exit.code };
  } catch (e) {
    if (session) {
      session.kill();
      if (e instanceof AnalysisError) {
        e.details['transcript'] = session.transcript();
        throw e;
      }
      throw new AnalysisError(`crash session failed: ${(e as Error).message}`, { cause: e, details: { transcript: session.transcript() } });
    }
    throw e;
  }
}
