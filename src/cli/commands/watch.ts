// kdbg watch DIR: follow a kdump crash directory; for each new complete dump identify → fetch
// (debuginfod first when the dump has a BUILD-ID and servers are configured) → (--analyze) analyze,
// and write the results into `<dump>.kdbg/` next to the dump or under --report-dir. See
// docs/hosts.md for the layouts, the state file, --json events and the systemd unit.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { DumpProcessor } from '../watch-loop.js';

export interface WatchArgs {
  dir: string;
  analyze: boolean;
  crash?: string;
  analyzeTimeout: number;
  reportDir?: string;
  state?: string;
  settle: number;
  rescan: number;
  once: boolean;
  cacheDir?: string;
  mirror: string[];
  repo: string[];
  config?: string;
  offline: boolean;
  sources: boolean;
  modules: boolean;
  debuginfodUrl: string[];
  debuginfod: boolean;
  json: boolean;
  quiet: boolean;
}

export const watchCommand: CommandModule<object, WatchArgs> = {
  command: 'watch <dir>',
  describe: 'Follow a kdump crash directory (/var/crash): fetch the debuginfo (and analyze) each new dump once',
  builder: (y: Argv): Argv<WatchArgs> =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'crash directory (e.g. /var/crash)' })
      .option('analyze', { type: 'boolean', default: false, describe: 'also run the crash triage (as kdbg analyze) and write its reports' })
      .option('crash', { type: 'string', describe: 'crash binary for --analyze (default: KDBG_CRASH, then PATH)' })
      .option('analyze-timeout', { type: 'number', default: 600, describe: 'seconds one crash session may take (--analyze)' })
      .option('report-dir', { type: 'string', describe: 'write results under this directory instead of next to each dump' })
      .option('state', { type: 'string', describe: 'state file remembering handled dumps (default: ${XDG_STATE_HOME:-~/.local/state}/kdbg/watch-<dir>.json)' })
      .option('settle', { type: 'number', default: 10, describe: 'seconds a dump size must stay unchanged before it counts as complete' })
      .option('rescan', { type: 'number', default: 30, describe: 'seconds between periodic rescans (fs.watch is only a hint)' })
      .option('once', { type: 'boolean', default: false, describe: 'handle what is there now (waiting for dumps being written), then exit' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'mirror base (as for kdbg fetch; repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'repository URL (as for kdbg fetch; repeatable)' })
      .option('config', { type: 'string', describe: 'mirror configuration file' })
      .option('offline', { type: 'boolean', default: false, describe: 'answer from the cache only' })
      .option('sources', { type: 'boolean', default: false, describe: 'also fetch the kernel sources package' })
      .option('modules', { type: 'boolean', default: false, describe: "also extract the modules' debug files" })
      .option('debuginfod-url', { type: 'string', array: true, default: [] as string[], describe: 'debuginfod server to try first (repeatable; DEBUGINFOD_URLS is read too)' })
      .option('debuginfod', { type: 'boolean', default: true, describe: 'try debuginfod servers before packages (--no-debuginfod to skip)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line per event on stdout (see docs/hosts.md)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no log lines on stderr' }) as unknown as Argv<WatchArgs>,
  handler: async (argv: ArgumentsCamelCase<WatchArgs>): Promise<void> => {
    const { resolve } = await import('node:path');
    const { homedir } = await import('node:os');
    const { createHash } = await import('node:crypto');
    const { promises: fsp } = await import('node:fs');
    const { runWatch } = await import('../watch-loop.js');
    const { writeErr, writeJsonLine } = await import('../output.js');
    const { UsageError } = await import('../../core/errors.js');

    if (!(argv.settle >= 0) || !(argv.rescan > 0)) throw new UsageError('--settle must be >= 0 and --rescan > 0 (seconds)');
    const dir = resolve(argv.dir);
    const stateFile = resolve(argv.state ?? defaultStateFile(dir, process.env, homedir(), createHash));
    await fsp.mkdir(resolve(stateFile, '..'), { recursive: true, mode: 0o700 });
    if (!(argv.analyzeTimeout > 0)) throw new UsageError('--analyze-timeout must be a positive number of seconds');
    // A missing crash is a setup problem: refuse to start (exit 69) rather than fail every dump.
    const analyzer = argv.analyze ? await makeAnalyzer(argv) : null;
    const log = argv.quiet ? (): void => undefined : (l: string): void => writeErr(l);

    const processDump = makeProcessor(argv, dir, analyzer, log);
    const ac = new AbortController();
    const onTerm = (): void => {
      log('kdbg watch: SIGTERM, stopping');
      ac.abort(new Error('stopped by SIGTERM'));
    };
    process.once('SIGTERM', onTerm);
    try {
      await runWatch({
        dir,
        stateFile,
        processDump,
        settleMs: argv.settle * 1000,
        rescanMs: argv.rescan * 1000,
        signal: ac.signal,
        once: argv.once,
        log,
        ...(argv.json ? { onEvent: (e) => writeJsonLine(e) } : {}),
      });
    } finally {
      process.removeListener('SIGTERM', onTerm);
    }
  },
};

/** `${XDG_STATE_HOME:-~/.local/state}/kdbg/watch-<basename>-<hash of dir>.json` */
export function defaultStateFile(
  dir: string,
  env: Record<string, string | undefined>,
  home: string,
  createHash: typeof import('node:crypto').createHash,
): string {
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg && xdg.startsWith('/') ? xdg : `${home}/.local/state`;
  const name = dir.split('/').filter(Boolean).pop() ?? 'root';
  const h = createHash('sha256').update(dir).digest('hex').slice(0, 12);
  return `${base}/kdbg/watch-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${h}.json`;
}

type Analyzer = (dump: string, identity: import('../../core/types.js').DumpIdentity & { packageVersion?: string | null }, fetched: { vmlinux: string; source: string | null; modules: string | null }, outDir: string) => Promise<Record<string, unknown>>;

/**
 * `kdbg analyze -o DIR` for one dump, composed from the analyze stage's exported steps the way
 * src/cli/commands/analyze.ts composes them: verify the match (MismatchError, exit 67, records
 * the dump as failed) → one crash session → report.md/.json/.html + crash-transcript.txt.
 * TODO(lead): when the analyze command's handler body moves into an exported function, call that
 * here instead, so both commands share one implementation.
 */
async function makeAnalyzer(argv: ArgumentsCamelCase<WatchArgs>): Promise<Analyzer> {
  const { locateCrash, crashVersion } = await import('../../analyze/crash-binary.js');
  const located = await locateCrash({ flag: argv.crash, env: { KDBG_CRASH: process.env['KDBG_CRASH'], PATH: process.env['PATH'] } });
  const crash = { ...located, version: await crashVersion(located.path) };
  return async (dump, identity, fetched, outDir) => {
    const { join } = await import('node:path');
    const { writeFileAtomic } = await import('../../cache/fs-util.js');
    const { AnalysisError } = await import('../../core/errors.js');
    const { verifyVmlinux, upstreamVersion } = await import('../../verify/index.js');
    const { runCrashPlan, buildReport } = await import('../../analyze/index.js');
    const { renderMarkdown } = await import('../../analyze/report/markdown.js');
    const { renderHtml } = await import('../../analyze/report/html.js');
    const timings: Record<string, number> = {};
    let t = Date.now();
    const { result: verification, vmlinux: vmId } = await verifyVmlinux({ ...identity, path: dump }, fetched.vmlinux, { force: false });
    timings['verifyMs'] = Date.now() - t;
    const kernelVersion = upstreamVersion(identity.release ?? vmId.release ?? '', vmId.banner ?? identity.banner, identity.packageVersion ?? null);
    const header = ['kdbg watch --analyze transcript', `crash ${crash.version ?? '?'} (${crash.path})`, `vmlinux ${fetched.vmlinux}`, `dump ${dump}`];
    t = Date.now();
    let session;
    try {
      session = await runCrashPlan(
        { dump, vmlinux: fetched.vmlinux, crash, timeoutMs: argv.analyzeTimeout * 1000, extraCommands: [], modulesDir: fetched.modules, sourceDir: fetched.source, kernelVersion },
        header,
      );
    } catch (e) {
      if (e instanceof AnalysisError && typeof e.details['transcript'] === 'string') {
        const file = join(outDir, 'crash-transcript.txt');
        await writeFileAtomic(file, e.details['transcript']);
        delete e.details['transcript'];
        e.details['transcriptFile'] = file;
      }
      throw e;
    }
    timings['crashMs'] = Date.now() - t;
    const report = await buildReport({
      dump: { path: dump, format: identity.format, release: identity.release, buildId: identity.buildId },
      vmlinux: { path: fetched.vmlinux, release: vmId.release, buildId: vmId.buildId, banner: vmId.banner },
      verification,
      crash,
      session,
      kernelVersion,
      sourceDir: fetched.source,
      warnings: verification.warnings,
      timings,
    });
    await writeFileAtomic(join(outDir, 'report.md'), renderMarkdown(report));
    await writeFileAtomic(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFileAtomic(join(outDir, 'report.html'), renderHtml(report));
    await writeFileAtomic(join(outDir, 'crash-transcript.txt'), session.transcript);
    return { headline: report.summary.headline, panicClass: report.summary.panicClass, crashSeconds: Math.round(session.durationMs / 100) / 10, outDir };
  };
}

function makeProcessor(argv: ArgumentsCamelCase<WatchArgs>, dir: string, analyzer: Analyzer | null, log: (l: string) => void): DumpProcessor {
  return async (item, signal) => {
    const { join, relative } = await import('node:path');
    const { promises: fsp } = await import('node:fs');
    const { writeFileAtomic } = await import('../../cache/fs-util.js');
    const { identifyDump } = await import('../../identify/index.js');
    const { fetchResultJson } = await import('../fetch-pipeline.js');
    const { fetchDebuginfodFirst } = await import('../debuginfod-route.js');
    const onProgress = (e: import('../../core/types.js').ProgressEvent): void => {
      if (e.kind === 'warning') log(`kdbg watch: ${relative(dir, item.path)}: warning: ${e.message}`);
      else if (e.kind === 'info' || e.kind === 'failover') log(`kdbg watch: ${relative(dir, item.path)}: ${e.kind === 'info' ? e.message : `failover ${e.from} → ${e.to}: ${e.reason}`}`);
    };

    const started = Date.now();
    const identity = await identifyDump(item.path);
    // The first look: the oops in the dump's own log, before the fetch (docs/analyze.md).
    const { firstLook } = await import('../../klog/index.js');
    const look = identity.vmcoreinfo && identity.format !== 'dmesg' ? await firstLook(item.path) : null;
    if (look) log(`kdbg watch: ${relative(dir, item.path)}: first look: ${look.headline}`);
    const fetched = await fetchDebuginfodFirst(item.path, {
      ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
      ...(argv.config !== undefined ? { configFile: argv.config } : {}),
      mirrors: argv.mirror,
      repos: argv.repo,
      offline: argv.offline,
      vmlinuxOnly: !argv.sources,
      modules: argv.modules,
      debuginfod: argv.debuginfod,
      debuginfodUrls: argv.debuginfodUrl,
      env: process.env,
      onProgress,
      signal,
    });
    const via = fetched.via;
    const outDir = argv.reportDir ? join(argv.reportDir, `${item.rel}.kdbg`) : `${item.path}.kdbg`;
    await fsp.mkdir(outDir, { recursive: true, mode: 0o755 });
    let analysis: Record<string, unknown> | null = null;
    if (analyzer) {
      signal.throwIfAborted();
      analysis = await analyzer(item.path, identity, fetched, outDir);
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
      firstLook: look ? { headline: look.headline, oops: look.oops, laterReports: look.others } : null,
      fetch: { ...fetchResultJson(fetched), via },
      analysis,
    };
    const reportFile = join(outDir, 'watch.json');
    await writeFileAtomic(reportFile, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n', 0o644);
    const reports = [reportFile];
    if (analyzer) {
      for (const f of ['report.md', 'report.json', 'report.html', 'crash-transcript.txt']) {
        if (await fsp.stat(join(outDir, f)).then(() => true, () => false)) reports.push(join(outDir, f));
      }
    }
    return { reports, summary };
  };
}
