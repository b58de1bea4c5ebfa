// kdbg fetch <release|dump-path>: print the absolute path of the verified vmlinux (or, with
// --json, one JSON object; see docs/fetch.md for the contract).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface FetchArgs {
  input: string;
  mirror: string[];
  repo: string[];
  arch?: string;
  distro?: string;
  cacheDir?: string;
  config?: string;
  offline: boolean;
  vmlinuxOnly: boolean;
  modules: boolean;
  keepPackages: boolean;
  json: boolean;
  quiet: boolean;
}

export const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch <input>',
  describe: 'Fetch the debug vmlinux (and sources) of a kernel release or of the kernel that wrote a dump; prints the vmlinux path',
  builder: (y: Argv): Argv<FetchArgs> =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'kernel release (uname -r, e.g. 3.10.0-327.el7) or a dump path (- for stdin)' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: "mirror base laid out like the family's public mirror (repeatable)" })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'directory URL holding the packages and/or repodata/ (repeatable)' })
      .option('arch', { type: 'string', describe: 'architecture when the release has none (default x86_64)' })
      .option('distro', { type: 'string', describe: 'distribution (centos, rhel, rocky, alma, oracle, fedora, amazon, debian, ubuntu)' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .option('config', { type: 'string', describe: 'mirror configuration file (default: KDBG_CONFIG, then the per-user and system files)' })
      .option('offline', { type: 'boolean', default: false, describe: 'answer from the cache only' })
      .option('vmlinux-only', { type: 'boolean', default: false, describe: 'skip the sources package' })
      .option('modules', { type: 'boolean', default: false, describe: "also extract the modules' debug files" })
      .option('keep-packages', { type: 'boolean', default: true, describe: 'keep downloaded packages in the cache (--no-keep-packages to drop them after extraction)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (see docs/fetch.md)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or warnings on stderr' }) as unknown as Argv<FetchArgs>,
  handler: async (argv: ArgumentsCamelCase<FetchArgs>): Promise<void> => {
    const { fetchRelease, fetchResultJson } = await import('../fetch-pipeline.js');
    const { createProgress } = await import('../progress.js');
    const { writeJson, writeOut } = await import('../output.js');
    const { debuginfodUrls } = await import('../debuginfod-route.js');
    const progress = createProgress({ quiet: argv.quiet, label: argv.input });
    let result;
    try {
      result = await fetchRelease(argv.input, {
        mirrors: argv.mirror,
        repos: argv.repo,
        ...(argv.arch !== undefined ? { arch: argv.arch } : {}),
        ...(argv.distro !== undefined ? { distro: argv.distro } : {}),
        ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
        ...(argv.config !== undefined ? { configFile: argv.config } : {}),
        offline: argv.offline,
        vmlinuxOnly: argv.vmlinuxOnly,
        modules: argv.modules,
        keepPackages: argv.keepPackages,
        env: process.env,
        // Used only for a dump with a BUILD-ID; --offline never asks a server.
        debuginfodUrls: argv.offline ? [] : await debuginfodUrls(process.env),
        onProgress: progress.listener,
      });
    } finally {
      progress.done();
    }
    if (argv.json) writeJson(fetchResultJson(result));
    else writeOut(result.vmlinux);
  },
};
