// kdbg sync: prefetch every kernel the repositories carry that matches the filters (issue 20,
// item 3; docs/hosts.md "kdbg sync"). Progress on stderr, one JSON line per kernel with --json
// and a summary line last. Exit 0 when nothing failed, else the exit code of NotFoundError (69).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface SyncArgs {
  mirror: string[];
  repo: string[];
  config?: string;
  cacheDir?: string;
  family?: string;
  arch?: string;
  since?: string;
  newest?: number;
  maxSize?: string;
  json: boolean;
  quiet: boolean;
}

export const syncCommand: CommandModule<object, SyncArgs> = {
  command: 'sync',
  describe: "Prefetch every kernel the repositories carry (filtered) into the cache, as a debuginfod host's preparation",
  builder: (y: Argv): Argv<SyncArgs> =>
    y
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'mirror base, as for kdbg fetch (repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'repository URL, as for kdbg fetch (repeatable)' })
      .option('config', { type: 'string', describe: 'mirror configuration file, as for kdbg fetch' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default as for kdbg fetch)' })
      .option('family', { type: 'string', describe: 'only this family (rhel, fedora, oracle-uek, amazon, …)' })
      .option('arch', { type: 'string', describe: 'only this architecture (x86_64, aarch64)' })
      .option('since', { type: 'string', describe: 'only releases at least this one, e.g. 5.14.0-284.el9 (rpm version order)' })
      .option('newest', { type: 'number', describe: 'only the N newest releases (after the other filters)' })
      .option('max-size', { type: 'string', describe: 'keep the cache within SIZE (e.g. 50G): least recently used entries are pruned after each fetch' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON line per kernel, then a summary line (docs/hosts.md)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress on stderr' }) as unknown as Argv<SyncArgs>,
  handler: async (argv: ArgumentsCamelCase<SyncArgs>): Promise<void> => {
    const { UsageError, NotFoundError } = await import('../../core/errors.js');
    const { writeErr, writeJsonLine } = await import('../output.js');
    const { cacheDirOf } = await import('../../pipeline/cache-dir.js');
    const { syncKernels } = await import('../../pipeline/sync.js');
    const { interruptSignal } = await import('../interrupt.js');
    if (argv.newest !== undefined && (!Number.isInteger(argv.newest) || argv.newest < 1)) throw new UsageError(`--newest ${argv.newest}: expected a positive whole number`);
    let maxSizeBytes: number | undefined;
    if (argv.maxSize !== undefined) {
      const v = (await import('../../cache/units.js')).parseSize(argv.maxSize);
      if (v === null) throw new UsageError(`--max-size ${argv.maxSize}: expected a size such as 500M or 50G`);
      maxSizeBytes = v;
    }
    const cacheDir = cacheDirOf({ cacheDir: argv.cacheDir, env: process.env });
    const it = syncKernels({
      cacheDir,
      mirrors: argv.mirror,
      repos: argv.repo,
      ...(argv.config !== undefined ? { configFile: argv.config } : {}),
      env: process.env,
      ...(argv.family !== undefined ? { family: argv.family as never } : {}),
      ...(argv.arch !== undefined ? { arch: argv.arch } : {}),
      ...(argv.since !== undefined ? { since: argv.since } : {}),
      ...(argv.newest !== undefined ? { newest: argv.newest } : {}),
      ...(maxSizeBytes !== undefined ? { maxSizeBytes } : {}),
      signal: interruptSignal(),
      ...(argv.quiet ? {} : { onInfo: (m: string) => writeErr(`kdbg sync: ${m}`) }),
    });
    let n = 0;
    for (;;) {
      const r = await it.next();
      if (r.done) {
        const s = r.value;
        if (argv.json) writeJsonLine({ summary: s });
        if (!argv.quiet) writeErr(`kdbg sync: ${s.kernels} kernels: ${s.fetched} fetched, ${s.cached} already cached, ${s.failed} failed; ${s.bytes} bytes from mirrors${s.prunedBytes ? `, ${s.prunedBytes} bytes pruned` : ''}`);
        if (s.failed > 0) throw new NotFoundError(`kdbg sync: ${s.failed} of ${s.kernels} kernels failed`);
        return;
      }
      const i = r.value;
      n++;
      if (argv.json) writeJsonLine(i);
      if (!argv.quiet) writeErr(`kdbg sync: [${n}] ${i.release}: ${i.status}${i.status === 'fetched' ? ` (${i.bytes} bytes, ${(i.ms / 1000).toFixed(1)} s)` : ''}${i.error ? `: ${i.error}` : ''}`);
    }
  },
};
