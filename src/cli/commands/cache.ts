// kdbg cache ls [--json] | kdbg cache path <release>: look into the cache without the network.
// kdbg cache prune | verify | rm | du: cache policy (docs/batch-and-cache.md).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { IntegrityError, NotFoundError, UsageError } from '../../core/errors.js';

interface CacheArgs {
  cacheDir?: string;
  json: boolean;
  release?: string;
  arch?: string;
  distro?: string;
  maxSize?: string;
  maxAge?: string;
  dryRun?: boolean;
  releases?: string[];
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
          // sha256Verified/partial as in `fetch --json`; entries from before they existed were whole downloads.
          packages: entry.packages.map((p) => ({ name: p.name, url: p.url, sha256: p.sha256, size: p.size, sha256Verified: p.sha256Verified ?? true, partial: p.partial ?? null, origin: p.origin ?? 'mirror' })),
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

const prune: CommandModule<object, CacheArgs> = {
  command: 'prune',
  describe: 'Remove least recently used entries beyond --max-size / --max-age, and stale partial downloads, tmp/ leftovers and orphaned packages',
  builder: (y: Argv) =>
    y
      .option('max-size', { type: 'string', describe: 'shrink the whole cache to at most this size (e.g. 50G, 512M; K/M/G/T = 1024^n)' })
      .option('max-age', { type: 'string', describe: 'remove entries not used for this long (e.g. 30d, 12h, 2w)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'report what would be removed, remove nothing' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { pruneCache, parseSize, parseAge } = await import('../../cache/prune.js');
    const { writeJson, writeOut } = await import('../output.js');
    const { formatBytes } = await import('../progress.js');
    const maxSizeBytes = argv.maxSize === undefined ? undefined : parseSize(argv.maxSize);
    if (maxSizeBytes === null) throw new UsageError(`--max-size ${JSON.stringify(argv.maxSize)}: expected a size such as 50G, 512M or 1000000`);
    const maxAgeMs = argv.maxAge === undefined ? undefined : parseAge(argv.maxAge);
    if (maxAgeMs === null) throw new UsageError(`--max-age ${JSON.stringify(argv.maxAge)}: expected a duration such as 30d, 12h, 2w`);
    const cache = await open(argv);
    const report = await pruneCache(cache, { ...(maxSizeBytes !== undefined ? { maxSizeBytes } : {}), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}), dryRun: argv.dryRun ?? false });
    if (argv.json) {
      writeJson(report);
      return;
    }
    const verb = report.dryRun ? 'would remove' : 'removed';
    for (const r of report.removed) writeOut(`${verb}\t${r.kind}\t${r.name}\t${r.bytes}\t${r.reason}`);
    for (const k of report.skipped) writeOut(`skipped\tentry\t${k.release}\t${k.reason}`);
    writeOut(`${report.dryRun ? 'would free' : 'freed'} ${formatBytes(report.freedBytes)} (${report.freedBytes} bytes); cache ${formatBytes(report.afterBytes)} (${report.afterBytes} bytes)`);
  },
};

const verify: CommandModule<object, CacheArgs> = {
  command: 'verify',
  describe: "Re-hash every entry's vmlinux and every stored package against its recorded sha256; remove bad ones (exit 65 if any)",
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { verifyCache } = await import('../../cache/verify.js');
    const { writeJson, writeOut } = await import('../output.js');
    const cache = await open(argv);
    const report = await verifyCache(cache);
    if (argv.json) writeJson(report);
    else {
      for (const b of report.bad) writeOut(`BAD\t${b.kind}\t${b.name}\t${b.problem}\t${b.removed ? 'removed' : 'kept (in use; run verify again)'}`);
      writeOut(`verified ${report.entries} entries and ${report.packages} packages (${report.bytesHashed} bytes): ${report.bad.length} bad`);
    }
    if (report.bad.length > 0) {
      throw new IntegrityError(`cache: ${report.bad.length} bad item(s): ${report.bad.map((b) => `${b.kind} ${b.name} (${b.problem}${b.removed ? ', removed' : ''})`).join(', ')}`, {
        details: { bad: report.bad },
        hint: 'kdbg fetch re-creates removed entries',
      });
    }
  },
};

const rm: CommandModule<object, CacheArgs> = {
  command: 'rm <releases..>',
  describe: 'Remove release entries (and the stored packages no other entry uses); exit 69 if one was not cached',
  builder: (y: Argv) =>
    y
      .positional('releases', { type: 'string', array: true, demandOption: true })
      .option('arch', { type: 'string' })
      .option('distro', { type: 'string' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { removeRelease } = await import('../../cache/prune.js');
    const { writeJson, writeOut } = await import('../output.js');
    const { basename } = await import('node:path');
    const cache = await open(argv);
    const out: Array<{ release: string; removed: boolean; bytes: number; packages: number }> = [];
    const missing: string[] = [];
    for (const release of (argv.releases ?? []).map(String)) {
      const hit = await findEntry(argv, release);
      const res = await removeRelease(cache, hit ? basename(hit.dir) : release);
      if (!res) {
        missing.push(release);
        out.push({ release, removed: false, bytes: 0, packages: 0 });
        continue;
      }
      const bytes = res.removed.reduce((a, r) => a + r.bytes, 0);
      const packages = res.removed.filter((r) => r.kind === 'package').length;
      out.push({ release: res.release, removed: true, bytes, packages });
      if (!argv.json) writeOut(`removed\t${res.release}\t${bytes}\t${packages} package(s)`);
    }
    if (argv.json) writeJson(out);
    if (missing.length > 0) throw new NotFoundError(`${missing.join(', ')}: not in the cache ${cache.root}`, { details: { releases: missing, cache: cache.root } });
  },
};

const du: CommandModule<object, CacheArgs> = {
  command: 'du',
  describe: 'Disk usage: total, per entry, packages store, partial downloads, tmp',
  builder: (y: Argv) => y.option('json', { type: 'boolean', default: false }) as unknown as Argv<CacheArgs>,
  handler: async (argv: ArgumentsCamelCase<CacheArgs>) => {
    const { cacheUsage } = await import('../../cache/prune.js');
    const { writeJson, writeOut } = await import('../output.js');
    const { formatBytes } = await import('../progress.js');
    const u = await cacheUsage(await open(argv));
    if (argv.json) {
      writeJson(u);
      return;
    }
    const row = (n: number, what: string): void => writeOut(`${n}\t${formatBytes(n)}\t${what}`);
    for (const e of u.entries) row(e.bytes, `releases/${e.release} (last used ${e.lastUsed})`);
    row(u.releasesBytes, `releases (${u.entries.length} entries)`);
    row(u.packages.bytes, `packages (${u.packages.count}, ${u.packages.orphanCount} not used by any entry)`);
    row(u.partial.bytes, `partial (${u.partial.count} downloads)`);
    row(u.tmp.bytes, `tmp (${u.tmp.count})`);
    row(u.meta.bytes, `meta (${u.meta.index.count} repository indexes, ${u.meta.answers.files} archive answers)`);
    row(u.otherBytes, 'other');
    row(u.totalBytes, `total ${u.root}`);
  },
};

export const cacheCommand: CommandModule<object, CacheArgs> = {
  command: 'cache <command>',
  describe: 'Inspect and maintain the cache (ls, path, du, prune, verify, rm)',
  builder: (y: Argv) =>
    y
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .command(ls)
      .command(path)
      .command(du)
      .command(prune)
      .command(verify)
      .command(rm)
      .demandCommand(1, 'kdbg cache: a subcommand is required (ls, path, du, prune, verify, rm)') as unknown as Argv<CacheArgs>,
  handler: () => undefined,
};
