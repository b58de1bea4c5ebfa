// kdbg cache ls [--json] | kdbg cache path <release>: look into the cache without the network.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { NotFoundError, UsageError } from '../../core/errors.js';

interface CacheArgs {
  cacheDir?: string;
  json: boolean;
  release?: string;
  arch?: string;
  distro?: string;
}

async function open(argv: CacheArgs): Promise<import('../../cache/index.js').Cache> {
  const { openCache } = await import('../../cache/index.js');
  return openCache(argv.cacheDir, process.env);
}

/** The entry for a release as typed: the exact directory name first, then the parsed `uname -r`. */
async function findEntry(argv: CacheArgs, release: string): Promise<import('../../cache/index.js').ResolvedEntry | null> {
  const cache = await open(argv);
  const direct = await cache.readEntry(release);
  if (direct) return direct;
  const { parseRelease } = await import('../../release/index.js');
  let uname: string;
  try {
    uname = parseRelease(release, { ...(argv.arch !== undefined ? { arch: argv.arch } : {}), ...(argv.distro !== undefined ? { distro: argv.distro } : {}) }).uname;
  } catch (e) {
    if (e instanceof UsageError) return null;
    throw e;
  }
  return cache.readEntry(uname);
}

const ls: CommandModule<object, CacheArgs> = {
  command: 'ls',
  describe: 'List cached releases',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { writeJson, writeOut } = await import('../output.js');
    const cache = await open(argv);
    const entries = await cache.listEntries();
    if (argv.json) {
      writeJson(
        entries.map(({ dir, entry }) => ({
          release: entry.release,
          family: entry.family,
          dir,
          vmlinux: entry.vmlinux,
          source: entry.source,
          modules: entry.modules,
          buildId: entry.buildId,
          createdAt: entry.createdAt,
          packages: entry.packages.map((p) => ({ name: p.name, url: p.url, sha256: p.sha256, size: p.size })),
        })),
      );
      return;
    }
    for (const { entry } of entries) {
      const parts = [entry.release, entry.family, entry.source ? 'vmlinux+source' : 'vmlinux', entry.modules ? '+modules' : '', entry.buildId ?? '-', entry.createdAt];
      writeOut(parts.filter((p) => p !== '').join('\t'));
    }
  },
};

const path: CommandModule<object, CacheArgs> = {
  command: 'path <release>',
  describe: 'Print the cached vmlinux path of a release (exit 69 when not cached)',
  builder: (y: Argv) =>
    y
      .positional('release', { type: 'string', demandOption: true })
      .option('arch', { type: 'string' })
      .option('distro', { type: 'string' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { writeJson, writeOut } = await import('../output.js');
    const release = argv.release ?? '';
    const hit = await findEntry(argv, release);
    if (!hit) {
      const cache = await open(argv);
      throw new NotFoundError(`${release}: not in the cache ${cache.root}`, { details: { release, cache: cache.root }, hint: `kdbg fetch ${release} puts it there` });
    }
    if (argv.json) writeJson({ release: hit.entry.release, dir: hit.dir, vmlinux: hit.entry.vmlinux, source: hit.entry.source, modules: hit.entry.modules });
    else writeOut(hit.entry.vmlinux);
  },
};

export const cacheCommand: CommandModule<object, CacheArgs> = {
  command: 'cache <command>',
  describe: 'Inspect the cache (ls, path)',
  builder: (y: Argv) =>
    y
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .command(ls)
      .command(path)
      .demandCommand(1, 'kdbg cache: a subcommand is required (ls, path)') as unknown as Argv<CacheArgs>,
  handler: () => undefined,
};
