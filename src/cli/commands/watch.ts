// kdbg watch DIR: follow a kdump crash directory; for each new complete dump identify → fetch
// (debuginfod first when the dump has a BUILD-ID and servers are configured) → (--analyze) analyze,
// and write the results into `<dump>.kdbg/` next to the dump or under --report-dir. See
// docs/hosts.md for the layouts, the state file, --json events and the systemd unit.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { DumpProcessor } from '../watch-loop.js';

export interface WatchArgs {
  dir: string;
  analyze: boolean;
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

/** The analyze entry point watch calls, once the analyze stage exports it. */
export interface AnalyzeEntry {
  (dumpPath: string, opts: { vmlinux: string; outDir: string; signal?: AbortSignal; onProgress?: (e: unknown) => void }): Promise<unknown>;
}

export const watchCommand: CommandModule<object, WatchArgs> = {
  command: 'watch <dir>',
  describe: 'Follow a kdump crash directory (/var/crash): fetch the debuginfo (and analyze) each new dump once',
  builder: (y: Argv): Argv<WatchArgs> =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'crash directory (e.g. /var/crash)' })
      .option('analyze', { type: 'boolean', default: false, describe: 'also run the crash triage (kdbg analyze) and write its reports' })
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
    const analyzer = argv.analyze ? await loadAnalyzer() : null;
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

/**
 * The analyze stage's entry point. TODO(lead): when src/analyze/ exports its pipeline function,
 * adapt the call in makeProcessor (expected: run crash on `dumpPath` with `vmlinux`, write
 * report.md/report.json/report.html/crash-transcript.txt into `outDir`, honour `signal`).
 */
async function loadAnalyzer(): Promise<AnalyzeEntry> {
  const { UnavailableError } = await import('../../core/errors.js');
  const spec = '../../analyze/index.js';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    throw new UnavailableError('kdbg watch --analyze: the analyze stage is not available in this build', { cause: e, hint: 'run kdbg watch without --analyze' });
  }
  const fn = mod['analyzeDump'];
  if (typeof fn !== 'function') throw new UnavailableError('kdbg watch --analyze: the analyze stage exports no analyzeDump()', { hint: 'run kdbg watch without --analyze' });
  return fn as AnalyzeEntry;
}

function makeProcessor(argv: ArgumentsCamelCase<WatchArgs>, dir: string, analyzer: AnalyzeEntry | null, log: (l: string) => void): DumpProcessor {
  return async (item, signal) => {
    const { join, relative } = await import('node:path');
    const { promises: fsp } = await import('node:fs');
    const { writeFileAtomic } = await import('../../cache/fs-util.js');
    const { identifyDump } = await import('../../identify/index.js');
    const { fetchRelease, fetchResultJson } = await import('../fetch-pipeline.js');
    const { debuginfodUrls, fetchViaDebuginfod } = await import('../debuginfod-route.js');
    const { IntegrityError } = await import('../../core/errors.js');
    const onProgress = (e: import('../../core/types.js').ProgressEvent): void => {
      if (e.kind === 'warning') log(`kdbg watch: ${relative(dir, item.path)}: warning: ${e.message}`);
      else if (e.kind === 'info' || e.kind === 'failover') log(`kdbg watch: ${relative(dir, item.path)}: ${e.kind === 'info' ? e.message : `failover ${e.from} → ${e.to}: ${e.reason}`}`);
    };

    const started = Date.now();
    const identity = await identifyDump(item.path);
    let via: 'cache' | 'debuginfod' | 'packages' = 'packages';
    const urls = argv.debuginfod && !argv.offline ? await debuginfodUrls(process.env, argv.debuginfodUrl) : [];
    if (identity.buildId && identity.release && urls.length > 0) {
      const { openCache } = await import('../../cache/index.js');
      const { parseRelease } = await import('../../release/index.js');
      const cache = await openCache(argv.cacheDir, process.env);
      const rel = parseRelease(identity.release, identity.arch ? { arch: identity.arch } : {});
      if (!(await cache.readEntry(rel.uname))) {
        try {
          const e = await fetchViaDebuginfod(cache, rel, identity, { urls, onProgress, signal });
          if (e) via = 'debuginfod';
        } catch (err) {
          // A server serving a wrong file published nothing; an unattended host still wants the
          // dump handled, so say so and take the package route.
          if (!(err instanceof IntegrityError)) throw err;
          log(`kdbg watch: ${relative(dir, item.path)}: warning: ${err.message}; trying the package route`);
        }
      }
    }
    const fetched = await fetchRelease(item.path, {
      ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
      ...(argv.config !== undefined ? { configFile: argv.config } : {}),
      mirrors: argv.mirror,
      repos: argv.repo,
      offline: argv.offline,
      vmlinuxOnly: !argv.sources,
      modules: argv.modules,
      env: process.env,
      onProgress,
      signal,
    });
    if (via === 'packages' && fetched.cached) via = 'cache';
    const outDir = argv.reportDir ? join(argv.reportDir, `${item.rel}.kdbg`) : `${item.path}.kdbg`;
    await fsp.mkdir(outDir, { recursive: true, mode: 0o755 });
    let analysis: unknown = null;
    if (analyzer) analysis = await analyzer(item.path, { vmlinux: fetched.vmlinux, outDir, signal });
    const summary = {
      release: identity.release,
      buildId: identity.buildId,
      vmlinux: fetched.vmlinux,
      via,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    const report = {
      kdbgWatch: 1,
      dump: item.path,
      dmesg: item.dmesg,
      processedAt: new Date().toISOString(),
      identity,
      fetch: { ...fetchResultJson(fetched), via },
      analysis: analyzer ? (analysis ?? { outDir }) : null,
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
