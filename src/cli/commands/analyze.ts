// kdbg analyze <dump>: identify → fetch (or --vmlinux) → verify the match → one crash session →
// report (Markdown / JSON / HTML). Contract in docs/analyze.md.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface AnalyzeArgs {
  dump: string;
  vmlinux?: string;
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
  fetch: boolean;
  quiet: boolean;
}

export const analyzeCommand: CommandModule<object, AnalyzeArgs> = {
  command: 'analyze <dump>',
  describe: 'Run a first-pass crash analysis of a kernel dump and write a triage report',
  builder: (y: Argv): Argv<AnalyzeArgs> =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'the crash dump (vmcore)' })
      .option('vmlinux', { type: 'string', describe: 'use this vmlinux instead of fetching the debuginfo' })
      .option('output', { alias: 'o', type: 'string', describe: 'write report.md, report.json, report.html and crash-transcript.txt into this directory' })
      .option('format', { choices: ['md', 'json', 'html'] as const, default: 'md' as const, describe: 'format printed to stdout when -o is not given' })
      .option('cmd', { type: 'string', array: true, default: [] as string[], describe: 'extra crash command appended to the plan (repeatable)' })
      .option('crash', { type: 'string', describe: 'crash binary (default: KDBG_CRASH, then PATH)' })
      .option('timeout', { type: 'number', default: 600, describe: 'seconds the whole crash session may take' })
      .option('force', { type: 'boolean', default: false, describe: 'run even when the vmlinux does not match the dump' })
      .option('modules-dir', { type: 'string', describe: 'module debuginfo directory for crash `mod -S`' })
      .option('source-dir', { type: 'string', describe: 'kernel source tree for quoting the faulting line (default: the cache entry sources)' })
      .option('modules', { type: 'boolean', default: false, describe: "fetch the modules' debug files too and load them (mod -S)" })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'mirror base (as for kdbg fetch; repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'repository URL (as for kdbg fetch; repeatable)' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (as for kdbg fetch)' })
      .option('config', { type: 'string', describe: 'mirror configuration file (as for kdbg fetch)' })
      .option('offline', { type: 'boolean', default: false, describe: 'take the vmlinux from the cache only' })
      .option('fetch', { type: 'boolean', default: true, describe: '--no-fetch: stop after the first look and write its report from the dump alone (no vmlinux, no crash)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' }) as unknown as Argv<AnalyzeArgs>,
  handler: async (argv: ArgumentsCamelCase<AnalyzeArgs>): Promise<void> => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const { UsageError, AnalysisError, InputFormatError } = await import('../../core/errors.js');
    const { writeErr, writeOut } = await import('../output.js');
    const { identifyDump } = await import('../../identify/index.js');
    const { verifyVmlinux, upstreamVersion } = await import('../../verify/index.js');
    const { locateCrash, crashVersion } = await import('../../analyze/crash-binary.js');
    const { runCrashPlan, buildReport } = await import('../../analyze/index.js');
    const { renderMarkdown } = await import('../../analyze/report/markdown.js');
    const { renderHtml } = await import('../../analyze/report/html.js');

    const say = (m: string): void => {
      if (!argv.quiet) writeErr(`kdbg: ${m}`);
    };
    for (const c of argv.cmd) {
      if (/[\n\r]/.test(c)) throw new UsageError(`--cmd ${JSON.stringify(c)}: one crash command per --cmd, without newlines`);
      if (/^\s*(q|quit|exit)\s*$/.test(c)) throw new UsageError(`--cmd ${c}: would end the crash session; kdbg quits crash itself`);
    }
    if (!(argv.timeout > 0)) throw new UsageError(`--timeout ${argv.timeout}: must be a positive number of seconds`);
    const timings: Record<string, number> = {};
    const time = async <T>(k: string, f: () => Promise<T>): Promise<T> => {
      const t = Date.now();
      try {
        return await f();
      } finally {
        timings[k] = Date.now() - t;
      }
    };

    // 1. identify
    const id = await time('identifyMs', () => identifyDump(argv.dump));
    say(`${argv.dump}: ${id.format}, kernel ${id.release ?? 'unknown'}${id.buildId ? `, build-id ${id.buildId}` : ''} (${timings['identifyMs']} ms)`);

    // 1b. first look: the oops in the dump's own log, before anything is fetched (docs/analyze.md)
    if (!argv.quiet && id.format !== 'dmesg' && id.vmcoreinfo) {
      const { firstLook } = await import('../../klog/index.js');
      const t = Date.now();
      const look = await firstLook(argv.dump);
      if (look) for (const l of `first look: ${look.text}`.trimEnd().split('\n')) say(l);
      if (look) say(`(first look from the dump's log in ${Date.now() - t} ms${look.others ? `; ${look.others} later report${look.others === 1 ? '' : 's'} in the log` : ''})`);
    }

    // --no-fetch: the report from the dump alone (schema kdbg.firstlook/v1, docs/analyze.md)
    if (!argv.fetch) {
      const { buildFirstLookReport } = await import('../../klog/index.js');
      const { renderFirstLookMarkdown, renderFirstLookHtml } = await import('../../klog/report.js');
      const report = await buildFirstLookReport(argv.dump, id, timings['identifyMs'] ?? 0);
      const md = renderFirstLookMarkdown(report);
      const json = `${JSON.stringify(report, null, 2)}\n`;
      const html = renderFirstLookHtml(report);
      if (argv.output) {
        const dir = resolve(argv.output);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'report.md'), md);
        await writeFile(join(dir, 'report.json'), json);
        await writeFile(join(dir, 'report.html'), html);
        writeOut(report.firstLook?.headline ?? 'no oops or panic in the log');
      } else process.stdout.write(argv.format === 'json' ? json : argv.format === 'html' ? html : md);
      if (report.log.records === 0) throw new InputFormatError(`${argv.dump}: no kernel log read: ${report.log.problems.map((p) => p.message).join('; ') || 'the ring is empty'}`, { file: argv.dump, format: 'printk ring' });
      return;
    }

    // 2. vmlinux: given, or fetched
    let vmlinux = argv.vmlinux;
    let sourceDir = argv.sourceDir ?? null;
    let modulesDir = argv.modulesDir ?? null;
    if (vmlinux === undefined) {
      const { fetchRelease } = await import('../fetch-pipeline.js');
      const { createProgress } = await import('../progress.js');
      const progress = createProgress({ quiet: argv.quiet, label: id.release ?? argv.dump });
      try {
        const r = await time('fetchMs', () =>
          fetchRelease(argv.dump, {
            mirrors: argv.mirror,
            repos: argv.repo,
            ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
            ...(argv.config !== undefined ? { configFile: argv.config } : {}),
            offline: argv.offline,
            modules: argv.modules,
            env: process.env,
            onProgress: progress.listener,
          }),
        );
        vmlinux = r.vmlinux;
        sourceDir ??= r.source;
        modulesDir ??= r.modules;
      } finally {
        progress.done();
      }
    }

    // 3. verify
    const { result: verification, vmlinux: vmId } = await time('verifyMs', () => verifyVmlinux({ ...id, path: argv.dump }, vmlinux!, { force: argv.force }));
    for (const w of verification.warnings) say(`warning: ${w}`);
    say(`vmlinux ${vmlinux} matches (${verification.checks.filter((c) => c.status === 'match').map((c) => c.kind).join(', ') || 'unverified'}) (${timings['verifyMs']} ms)`);

    // 4. crash
    const located = await locateCrash({ flag: argv.crash, env: { KDBG_CRASH: process.env['KDBG_CRASH'], PATH: process.env['PATH'] } });
    const version = await crashVersion(located.path);
    const crash = { ...located, version };
    const kernelVersion = upstreamVersion(id.release ?? vmId.release ?? '', vmId.banner ?? id.banner, id.packageVersion);
    say(`running crash ${version ?? '(unknown version)'} (${crash.path}) …`);
    const header = [`kdbg analyze transcript`, `crash ${version ?? '?'} (${crash.path})`, `vmlinux ${vmlinux}`, `dump ${argv.dump}`];
    const outDir = argv.output === undefined ? null : resolve(argv.output);
    if (outDir) await mkdir(outDir, { recursive: true });
    let session;
    try {
      session = await time('crashMs', () =>
        runCrashPlan({ dump: argv.dump, vmlinux: vmlinux!, crash, timeoutMs: argv.timeout * 1000, extraCommands: argv.cmd, modulesDir, sourceDir, kernelVersion }, header),
      );
    } catch (e) {
      if (e instanceof AnalysisError && typeof e.details['transcript'] === 'string') {
        const file = outDir ? join(outDir, 'crash-transcript.txt') : join(tmpdir(), `kdbg-crash-transcript-${process.pid}.txt`);
        await writeFile(file, e.details['transcript']);
        delete e.details['transcript'];
        e.details['transcriptFile'] = file;
        e.message = `${e.message} (transcript: ${file})`;
      }
      throw e;
    }
    say(`crash session ${(session.durationMs / 1000).toFixed(1)} s`);

    // 5. report
    const t5 = Date.now();
    const report = await buildReport({
      dump: { path: argv.dump, format: id.format, release: id.release, buildId: id.buildId },
      vmlinux: { path: vmlinux!, release: vmId.release, buildId: vmId.buildId, banner: vmId.banner },
      verification,
      crash,
      session,
      kernelVersion,
      sourceDir,
      warnings: verification.warnings,
      timings,
    });
    timings['reportMs'] = Date.now() - t5;
    report.timings = { ...timings };
    for (const w of report.warnings) if (!verification.warnings.includes(w)) say(`warning: ${w}`);
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (outDir) {
      await writeFile(join(outDir, 'report.md'), renderMarkdown(report));
      await writeFile(join(outDir, 'report.json'), json);
      await writeFile(join(outDir, 'report.html'), renderHtml(report));
      await writeFile(join(outDir, 'crash-transcript.txt'), session.transcript);
      say(`wrote ${outDir}/{report.md,report.json,report.html,crash-transcript.txt}`);
      writeOut(report.summary.headline);
    } else if (argv.format === 'json') process.stdout.write(json);
    else if (argv.format === 'html') writeOut(renderHtml(report));
    else writeOut(renderMarkdown(report));
    say(`timings: ${Object.entries(timings).map(([k, v]) => `${k.replace(/Ms$/, '')} ${(v / 1000).toFixed(2)} s`).join(', ')}`);
  },
};
