// kdbg watch DIR: follow a kdump crash directory; for each new complete dump identify → fetch
// (debuginfod first when the dump has a BUILD-ID and servers are configured) → (--analyze) analyze,
// and write the results into `<dump>.kdbg/` next to the dump or under --report-dir. See
// docs/hosts.md for the layouts, the state file, --json events and the systemd unit. The loop and
// the per-dump work are src/pipeline/watch/ (the same fetch and analyze `kdbg fetch` and
// `kdbg analyze` call); this module turns flags into their options and renders the events.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { WatchEvent } from '../../pipeline/watch/loop.js';

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
    const { runWatch } = await import('../../pipeline/watch/loop.js');
    const { makeDumpProcessor, watchAnalyzer } = await import('../../pipeline/watch/process.js');
    const { writeErr, writeJsonLine } = await import('../output.js');
    const { UsageError } = await import('../../core/errors.js');

    if (!(argv.settle >= 0) || !(argv.rescan > 0)) throw new UsageError('--settle must be >= 0 and --rescan > 0 (seconds)');
    const dir = resolve(argv.dir);
    const stateFile = resolve(argv.state ?? defaultStateFile(dir, process.env, homedir(), createHash));
    await fsp.mkdir(resolve(stateFile, '..'), { recursive: true, mode: 0o700 });
    if (!(argv.analyzeTimeout > 0)) throw new UsageError('--analyze-timeout must be a positive number of seconds');
    // A missing crash is a setup problem: refuse to start (exit 69) rather than fail every dump.
    const analyzer = argv.analyze ? await watchAnalyzer(argv.crash, argv.analyzeTimeout * 1000, process.env) : null;
    const log = argv.quiet ? (): void => undefined : (l: string): void => writeErr(l);

    const { relative } = await import('node:path');
    const processDump = makeDumpProcessor({
      fetch: {
        ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
        ...(argv.config !== undefined ? { configFile: argv.config } : {}),
        mirrors: argv.mirror,
        repos: argv.repo,
        offline: argv.offline,
        vmlinuxOnly: !argv.sources,
        modules: argv.modules,
      },
      debuginfod: argv.debuginfod,
      debuginfodUrls: argv.debuginfodUrl,
      ...(argv.reportDir !== undefined ? { reportDir: argv.reportDir } : {}),
      analyze: analyzer,
      env: process.env,
      onProgress: (item, e) => {
        if (e.kind === 'warning') log(`kdbg watch: ${relative(dir, item.path)}: warning: ${e.message}`);
        else if (e.kind === 'info' || e.kind === 'failover') log(`kdbg watch: ${relative(dir, item.path)}: ${e.kind === 'info' ? e.message : `failover ${e.from} → ${e.to}: ${e.reason}`}`);
      },
    });
    // SIGTERM stops the loop after the dump in hand (cli/interrupt.ts prints the line).
    const { interruptSignal } = await import('../interrupt.js');
    {
      await runWatch({
        dir,
        stateFile,
        processDump,
        settleMs: argv.settle * 1000,
        rescanMs: argv.rescan * 1000,
        signal: interruptSignal(),
        once: argv.once,
        onEvent: (e) => {
          const line = watchLogLine(e);
          if (line !== null) log(line);
          if (argv.json) writeJsonLine(e);
        },
        onDiagnostic: (e) => {
          if (e.kind === 'warning' || e.kind === 'info') log(`kdbg watch: ${e.message}`);
        },
      });
    }
  },
};

/** The stderr line of a watch event (none for `waiting`: the --json events say it). */
export function watchLogLine(e: WatchEvent): string | null {
  switch (e.event) {
    case 'started':
      return `kdbg watch: following ${e.dir} (state ${e.stateFile}, ${e.known} dumps already handled)`;
    case 'processing':
      return `kdbg watch: processing ${e.dump}`;
    case 'done':
      return `kdbg watch: done ${e.dump}${e.reports.length ? ` → ${e.reports.join(', ')}` : ''}`;
    case 'failed':
      return `kdbg watch: failed ${e.dump}: ${e.error.message} (recorded; not retried until the file changes)`;
    case 'stopped':
      return `kdbg watch: stopped (${e.processed} processed, ${e.failed} failed this run)`;
    case 'waiting':
      return null;
  }
}

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
