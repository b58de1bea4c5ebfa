// kdbg fetch <release|dump-path>: print the absolute path of the verified vmlinux (or, with
// --json, one JSON object; see docs/fetch.md for the contract). Several inputs, or --from-file,
// make a batch: one line (or JSON line) per item as it completes (docs/batch-and-cache.md).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError } from '../../core/errors.js';
import type { FetchOptions } from '../../pipeline/fetch/options.js';

export interface FetchArgs {
  input?: string[];
  fromFile?: string;
  jobs: number;
  mirror: string[];
  repo: string[];
  arch?: string;
  distro?: string;
  pkgVersion?: string;
  cacheDir?: string;
  config?: string;
  archives: boolean;
  insecureSkipSignatures: boolean;
  offline: boolean;
  vmlinuxOnly: boolean;
  modules: boolean;
  module?: string[];
  /** undefined: the default (partial fetch when possible, else keep); see FetchOptions.keepPackages. */
  keepPackages?: boolean;
  /** false: --no-partial (every package whole, sha256-checked); true: --partial (over a config partialFetch: false); undefined: the config, else the default. */
  partial?: boolean;
  connections: number;
  json: boolean;
  quiet: boolean;
  timings: boolean;
}

export const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch [input..]',
  describe: 'Fetch the debug vmlinux (and sources) of a kernel release or of the kernel that wrote a dump; prints the vmlinux path',
  builder: (y: Argv): Argv<FetchArgs> =>
    y
      .positional('input', { type: 'string', array: true, describe: 'kernel release (uname -r, e.g. 3.10.0-327.el7) or a dump path (- for stdin); several make a batch' })
      .option('from-file', { type: 'string', describe: 'read more inputs from FILE (- = stdin), one per line, # comments' })
      .option('jobs', { alias: 'j', type: 'number', default: 2, describe: 'batch: items fetched at the same time' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: "mirror base laid out like the family's public mirror (repeatable)" })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'directory URL holding the packages and/or repodata/ (repeatable)' })
      .option('arch', { type: 'string', describe: 'architecture when the release has none (default x86_64)' })
      .option('distro', { type: 'string', describe: 'distribution (centos, rhel, rocky, alma, oracle, fedora, amazon, debian, ubuntu)' })
      .option('pkg-version', { type: 'string', describe: 'Debian/Ubuntu package version uname -r lacks (e.g. 6.1.192-2, 5.15.0-91.101); a dump supplies it from its banner' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .option('config', { type: 'string', describe: 'mirror configuration file (default: KDBG_CONFIG, then the per-user and system files)' })
      .option('archives', { type: 'boolean', default: true, describe: 'after the live mirrors, ask the historical archives (Debian snapshot, Launchpad); --no-archives: never' })
      .option('insecure-skip-signatures', { type: 'boolean', default: false, describe: "read Debian/Ubuntu archives without verifying their InRelease signature, and RPMs of gpgcheck=1 / repo_gpgcheck=1 repositories without their signatures (a warning says so on every run; config key insecureSkipSignatures)" })
      .option('offline', { type: 'boolean', default: false, describe: 'answer from the cache only' })
      .option('vmlinux-only', { type: 'boolean', default: false, describe: 'skip the sources package' })
      .option('modules', { type: 'boolean', default: false, describe: "also extract the modules' debug files" })
      .option('module', { type: 'string', array: true, describe: "also fetch this module's debug file only, as kdbg analyze does for a dump's modules (repeatable; into <cache>/modules/<uname>/)" })
      .option('connections', {
        type: 'number',
        default: 1,
        describe: 'download a package over N HTTP Range connections at once (spread over the mirrors that carry it), decoded in order; for mirrors that cap each connection below the decoder speed (1-16)',
      })
      .option('keep-packages', {
        type: 'boolean',
        describe:
          'download the packages whole, sha256-checked, and keep them in the cache. Default: fetch only the xz blocks holding the vmlinux when the package allows it (else download whole and keep); --no-keep-packages: never keep',
      })
      .option('partial', {
        type: 'boolean',
        describe:
          "--no-partial: never fetch only the vmlinux's xz blocks; download every package whole and check its sha256 against the signed index before publishing (dropped afterwards unless --keep-packages; config key partialFetch, which --partial overrides; docs/signatures.md)",
      })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (see docs/fetch.md)' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or warnings on stderr' })
      .option('timings', { type: 'boolean', default: false, describe: 'print the time of each phase on stderr (index read, resolve, first byte, download, verify, fsync, publish; docs/speed.md)' }) as unknown as Argv<FetchArgs>,
  handler: async (argv: ArgumentsCamelCase<FetchArgs>): Promise<void> => {
    const inputs = (argv.input ?? []).map(String);
    // yargs swallows a lone `-` (it parses it as an empty flag group): `--from-file -` arrives as
    // '' and a `-` positional (a dump on stdin) vanishes. Recover both from the raw arguments.
    const raw = process.argv.slice(2);
    const fromFile = argv.fromFile === '' ? '-' : argv.fromFile;
    if (raw.some((a, i) => a === '-' && raw[i - 1] !== '--from-file') && !inputs.includes('-')) inputs.unshift('-');
    if (fromFile !== undefined) {
      const { readInputFile } = await import('../input-list.js');
      inputs.push(...(await readInputFile(fromFile)));
    }
    if (argv.insecureSkipSignatures && !argv.quiet) {
      const { writeErr } = await import('../output.js');
      writeErr('kdbg: warning: signatures are not checked (--insecure-skip-signatures): an index or package changed on the way is accepted');
    }
    if (inputs.length === 0) throw new UsageError(fromFile !== undefined ? `${fromFile}: no inputs in the list` : 'kdbg fetch: a release, a dump path or --from-file is required');
    if (inputs.length > 1 || fromFile !== undefined) return fetchBatch(inputs, argv);
    const input = inputs[0]!;
    const { fetchRelease } = await import('../../pipeline/fetch/index.js');
    const { fetchResultJson } = await import('../../core/fetch-result.js');
    const { createProgress } = await import('../progress.js');
    const { writeJson, writeOut } = await import('../output.js');
    const progress = createProgress({ quiet: argv.quiet, label: input });
    let result;
    try {
      // --module NAME: an RPM read whole writes their debug files in the vmlinux's pass.
      const inPass = argv.module && argv.module.length > 0 ? { moduleNames: argv.module } : {};
      result = await fetchRelease(input, { ...(await fetchOptionsFrom(argv)), ...inPass, onProgress: progress.listener });
    } finally {
      progress.done();
    }
    if (argv.module && argv.module.length > 0) {
      // Only the named modules' debug files (pipeline/fetch/modules.ts), after the vmlinux.
      const { fetchModuleDebug } = await import('../../pipeline/fetch/modules.js');
      const again = createProgress({ quiet: argv.quiet, label: input });
      let m;
      try {
        m = await fetchModuleDebug(result, argv.module, { ...(await fetchOptionsFrom(argv)), onProgress: again.listener });
      } finally {
        again.done();
      }
      const { writeErr } = await import('../output.js');
      for (const x of m.missing) if (!argv.quiet) writeErr(`kdbg: module ${x.name}: no debug file (${x.reason})`);
      if (argv.json) writeJson({ ...fetchResultJson(result), moduleDebug: m });
      else writeOut(result.vmlinux);
      return;
    }
    if (argv.json) writeJson(fetchResultJson(result));
    else writeOut(result.vmlinux);
    if (argv.timings) await printTimings(result.timings, input);
  },
};

/** --timings: one line per phase on stderr (even with --quiet: it was asked for). */
async function printTimings(t: import('../../core/fetch-result.js').FetchTimings | undefined, label: string): Promise<void> {
  if (!t) return;
  const { timingLines } = await import('../../pipeline/timings.js');
  const { writeErr } = await import('../output.js');
  for (const l of timingLines(t, label)) writeErr(l);
}

/** --connections, checked: an integer 1–16 (more only queue on the mirror's per-client limits). */
function connections(n: number | undefined): number {
  const v = n ?? 1;
  if (!Number.isInteger(v) || v < 1 || v > 16) throw new UsageError(`kdbg fetch: --connections must be an integer from 1 to 16, not ${String(n)}`);
  return v;
}

/** FetchOptions from the command line (shared by a single fetch and every item of a batch). */
async function fetchOptionsFrom(argv: ArgumentsCamelCase<FetchArgs>): Promise<FetchOptions> {
  const { debuginfodUrls } = await import('../../pipeline/fetch/debuginfod.js');
  const { interruptSignal } = await import('../interrupt.js');
  return {
    signal: interruptSignal(),
    mirrors: argv.mirror,
    repos: argv.repo,
    ...(argv.arch !== undefined ? { arch: argv.arch } : {}),
    ...(argv.distro !== undefined ? { distro: argv.distro } : {}),
    ...(argv.pkgVersion !== undefined ? { packageVersion: argv.pkgVersion } : {}),
    ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
    ...(argv.config !== undefined ? { configFile: argv.config } : {}),
    ...(argv.archives === false ? { archives: false } : {}),
    ...(argv.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}),
    offline: argv.offline,
    vmlinuxOnly: argv.vmlinuxOnly,
    modules: argv.modules,
    ...(argv.keepPackages !== undefined ? { keepPackages: argv.keepPackages } : {}),
    ...(argv.partial !== undefined ? { partialFetch: argv.partial } : {}),
    // A whole download of 4 MiB or more goes over several connections when asked (download/segmented.ts).
    ...(connections(argv.connections) > 1 ? { segmented: { connections: connections(argv.connections), minSize: 4 << 20 } } : {}),
    env: process.env,
    debuginfodUrls: argv.offline ? [] : await debuginfodUrls(process.env),
  };
}

async function fetchBatch(inputs: string[], argv: ArgumentsCamelCase<FetchArgs>): Promise<void> {
  if (inputs.includes('-')) throw new UsageError('kdbg fetch: a dump on stdin (-) cannot be part of a batch; pass its path');
  const { fetchBatch: runFetchBatch, batchItemJson } = await import('../../pipeline/batch.js');
  const { fetchResultJson } = await import('../../core/fetch-result.js');
  const { createProgress } = await import('../progress.js');
  const { writeErr, writeJsonLine, writeOut, setExitCode } = await import('../output.js');
  const { worstExitCode } = await import('../../core/errors.js');
  const base = await fetchOptionsFrom(argv);
  const progress = createProgress({ quiet: argv.quiet, label: 'batch' });
  let items;
  try {
    items = await runFetchBatch(inputs, {
      ...base,
      jobs: argv.jobs,
      onProgress: progress.listener,
      onItem: (item) => {
        if (argv.json) writeJsonLine(batchItemJson(item, fetchResultJson));
        else writeOut(item.ok ? `${item.input}\t${item.result.vmlinux}` : `${item.input}\tERROR ${item.error.message}`);
        if (argv.timings && item.ok) void printTimings(item.result.timings, item.input);
      },
    });
  } finally {
    progress.done();
  }
  const failed = items.filter((i) => !i.ok);
  if (failed.length > 0) {
    writeErr(`kdbg: ${failed.length} of ${items.length} inputs failed:`);
    for (const f of failed) if (!f.ok) writeErr(`kdbg:   ${f.input}: ${f.error.message} (${f.error.code}, exit ${f.error.exitCode})`);
    setExitCode(worstExitCode(failed.map((f) => (f.ok ? 0 : f.error.exitCode))));
  }
}
