// kdbg analyze <dump>: identify → fetch (or --vmlinux) → verify the match → one crash session →
// report (Markdown / JSON / HTML). Contract in docs/analyze.md.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface AnalyzeArgs {
  dump: string;
  vmlinux?: string;
  image?: string;
  output?: string;
  format: 'md' | 'json' | 'html';
  cmd: string[];
  crash?: string;
  timeout: number;
  force: boolean;
  modulesDir?: string;
  sourceDir?: string;
  modules: boolean;
  mirror: string[];
  repo: string[];
  cacheDir?: string;
  config?: string;
  offline: boolean;
  /** false: --no-partial (as for kdbg fetch). */
  partial?: boolean;
  fetch: boolean;
  quiet: boolean;
  timings: boolean;
}

export const analyzeCommand: CommandModule<object, AnalyzeArgs> = {
  command: 'analyze <dump>',
  describe: 'Run a first-pass crash analysis of a kernel dump and write a triage report',
  builder: (y: Argv): Argv<AnalyzeArgs> =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'the crash dump (vmcore)' })
      .option('vmlinux', { type: 'string', describe: 'use this vmlinux instead of fetching the debuginfo' })
      .option('image', { type: 'string', describe: "with --vmlinux a debug-only file (SUSE's vmlinux-<uname>.debug): the stripped kernel image it belongs to" })
      .option('output', { alias: 'o', type: 'string', describe: 'write report.md, report.json, report.html and crash-transcript.txt into this directory' })
      .option('format', { choices: ['md', 'json', 'html'] as const, default: 'md' as const, describe: 'format printed to stdout when -o is not given' })
      .option('cmd', { type: 'string', array: true, default: [] as string[], describe: 'extra crash command appended to the plan (repeatable)' })
      .option('crash', { type: 'string', describe: 'crash binary (default: KDBG_CRASH, then PATH)' })
      .option('timeout', { type: 'number', default: 600, describe: 'seconds the whole crash session may take' })
      .option('force', { type: 'boolean', default: false, describe: 'run even when the vmlinux does not match the dump' })
      .option('modules-dir', { type: 'string', describe: 'module debuginfo directory for crash `mod -S`' })
      .option('source-dir', { type: 'string', describe: 'kernel source tree for quoting the faulting line (default: the cache entry sources)' })
      .option('modules', { type: 'boolean', default: true, describe: "load the debug files of the modules the dump had loaded, fetching only those (--no-modules: none)" })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'mirror base (as for kdbg fetch; repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'repository URL (as for kdbg fetch; repeatable)' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (as for kdbg fetch)' })
      .option('config', { type: 'string', describe: 'mirror configuration file (as for kdbg fetch)' })
      .option('offline', { type: 'boolean', default: false, describe: 'take the vmlinux from the cache only' })
      .option('partial', { type: 'boolean', describe: "--no-partial: download the vmlinux's package whole and check its sha256 against the signed index (as for kdbg fetch; config key partialFetch)" })
      .option('fetch', { type: 'boolean', default: true, describe: '--no-fetch: stop after the first look and write its report from the dump alone (no vmlinux, no crash)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' })
      .option('timings', { type: 'boolean', default: false, describe: "print the time of each phase on stderr, the fetch's phases included (docs/speed.md)" }) as unknown as Argv<AnalyzeArgs>,
  handler: async (argv: ArgumentsCamelCase<AnalyzeArgs>): Promise<void> => {
    const { resolve } = await import('node:path');
    const { UsageError } = await import('../../core/errors.js');
    const { writeOut, writeErr } = await import('../output.js');
    const { createProgress } = await import('../progress.js');
    const { analyze, analyzeDumpOnly } = await import('../../pipeline/analyze.js');

    // yargs hands a lone '-' positional over as ''. crash reads the dump at random offsets.
    if (argv.dump === '' || argv.dump === '-') throw new UsageError("analyze: the dump must be a file, not '-' (stdin): crash reads it at random offsets; save it first");
    for (const c of argv.cmd) {
      if (/[\n\r]/.test(c)) throw new UsageError(`--cmd ${JSON.stringify(c)}: one crash command per --cmd, without newlines`);
      if (/^\s*(q|quit|exit)\s*$/.test(c)) throw new UsageError(`--cmd ${c}: would end the crash session; kdbg quits crash itself`);
    }
    if (!(argv.timeout > 0)) throw new UsageError(`--timeout ${argv.timeout}: must be a positive number of seconds`);
    if (argv.image !== undefined && argv.vmlinux === undefined) throw new UsageError('--image goes with --vmlinux (a fetched SUSE entry brings its own image)');
    const outDir = argv.output === undefined ? null : resolve(argv.output);
    // The pipeline's info and warning events are the `kdbg: …` lines; --quiet drops them.
    const progress = createProgress({ quiet: argv.quiet, label: argv.dump });
    if (!argv.fetch) {
      let d;
      try {
        d = await analyzeDumpOnly({ dump: argv.dump, outDir, onEvent: progress.listener });
      } finally {
        progress.done();
      }
      if (outDir) writeOut(d.report.firstLook?.headline ?? 'no oops or panic in the log');
      else process.stdout.write(argv.format === 'json' ? d.json : argv.format === 'html' ? d.html : d.markdown);
      return;
    }
    let r;
    try {
      r = await analyze({
        dump: argv.dump,
        ...(argv.vmlinux !== undefined ? { vmlinux: argv.vmlinux } : {}),
        ...(argv.image !== undefined ? { image: argv.image } : {}),
        fetch: {
          signal: (await import('../interrupt.js')).interruptSignal(),
          mirrors: argv.mirror,
          repos: argv.repo,
          ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
          ...(argv.config !== undefined ? { configFile: argv.config } : {}),
          offline: argv.offline,
          ...(argv.partial !== undefined ? { partialFetch: argv.partial } : {}),
        },
        modules: argv.modules,
        ...(argv.crash !== undefined ? { crash: argv.crash } : {}),
        timeoutMs: argv.timeout * 1000,
        extraCommands: argv.cmd,
        force: argv.force,
        ...(argv.modulesDir !== undefined ? { modulesDir: argv.modulesDir } : {}),
        ...(argv.sourceDir !== undefined ? { sourceDir: argv.sourceDir } : {}),
        outDir,
        env: process.env,
        onEvent: progress.listener,
      });
    } finally {
      progress.done();
    }
    const { report, timings } = r;
    if (outDir) writeOut(report.summary.headline);
    else if (argv.format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (argv.format === 'html') writeOut((await import('../../analyze/report/html.js')).renderHtml(report));
    else writeOut((await import('../../analyze/report/markdown.js')).renderMarkdown(report));
    const steps = Object.entries(timings).filter(([k]) => !/^fetch./.test(k) || k === 'fetchMs');
    if (argv.timings) {
      // One line per phase; the fetch's own phases (fetch<Phase>Ms) under fetch.
      writeErr('kdbg: timings');
      const row = (name: string, v: number): void => writeErr(`kdbg:   ${name.padEnd(24)}${`${(v / 1000).toFixed(3)} s`.padStart(14)}`);
      for (const [k, v] of steps) {
        row(k.replace(/Ms$/, ''), v);
        if (k !== 'fetchMs') continue;
        for (const [f, w] of Object.entries(timings)) if (/^fetch./.test(f) && f !== 'fetchMs') row(`  ${f.slice(5, 6).toLowerCase()}${f.slice(6).replace(/Ms$/, '')}`, w);
      }
    } else if (!argv.quiet) writeErr(`kdbg: timings: ${steps.map(([k, v]) => `${k.replace(/Ms$/, '')} ${(v / 1000).toFixed(2)} s`).join(', ')}`);
  },
};
