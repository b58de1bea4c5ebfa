// kdbg releases <debian|ubuntu>: the kernel releases whose debug symbols the archives carry today,
// newest first; --latest prints the newest one alone, for `kdbg fetch "$(kdbg releases debian --latest)"`.
// Archives: --mirror/--repo and the config file's entries for the family, else (Debian) the host's
// apt sources, exactly as `kdbg fetch` reads them (src/pipeline/releases.ts). JSON schema: README,
// "--json contract".
import type { CommandModule } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { writeJson, writeOut } from '../output.js';

interface ReleasesArgs {
  distro: string;
  latest: boolean;
  json: boolean;
  arch: string | undefined;
  flavour: string | undefined;
  mirror: string[];
  repo: string[];
  suite: string[];
  config: string | undefined;
}

/** Node's process.arch → Debian's architecture name. */
const DEBIAN_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64' };

export const releasesCommand: CommandModule<object, ReleasesArgs> = {
  command: 'releases <distro>',
  describe: 'List the kernel releases whose debug symbols the archive carries today, newest first (debian, ubuntu)',
  builder: (y) =>
    y
      .positional('distro', { type: 'string', demandOption: true, choices: ['debian', 'ubuntu'], describe: 'which archive family to ask' })
      .option('latest', { type: 'boolean', default: false, describe: 'print only the newest release of the plain flavour (amd64, arm64, generic, …)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON (schema in the README)' })
      .option('arch', { type: 'string', describe: "Debian architecture of the indexes read (default: this machine's)" })
      .option('flavour', { type: 'string', describe: 'only this flavour, e.g. amd64, cloud-amd64, rt-amd64, generic' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'archive root holding dists/ and pool/ (repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'flat repository holding Packages[.xz|.gz] (repeatable)' })
      .option('suite', { type: 'string', array: true, default: [] as string[], describe: "suites to read on --mirror archives (default: the host's codename with its pockets)" })
      .option('config', { type: 'string', describe: 'mirror configuration file (default: KDBG_CONFIG, then the per-user and system files)' })
      .option('insecure-skip-signatures', { type: 'boolean', default: false, describe: 'read the archives without verifying their InRelease signature (warned on every run)' }),
  handler: async (argv) => {
    const family = argv.distro === 'ubuntu' ? 'ubuntu' : 'debian';
    const arch = argv.arch ?? DEBIAN_ARCH[process.arch];
    if (arch === undefined) throw new UsageError(`kdbg releases: no Debian architecture for ${process.arch}; pass --arch`);
    const { listReleases, latestRelease } = await import('../../pipeline/releases.js');
    const opts = {
      family,
      arch,
      mirrors: argv.mirror,
      repos: argv.repo,
      suites: argv.suite,
      ...(argv.flavour !== undefined ? { flavour: argv.flavour } : {}),
      ...(argv.config !== undefined ? { configFile: argv.config } : {}),
      env: process.env,
      ...(argv.insecureSkipSignatures ? { insecureSkipSignatures: true } : {}),
      onWarning: (message: string) => process.stderr.write(`kdbg: warning: ${message}\n`),
    } as const;
    if (argv.insecureSkipSignatures) process.stderr.write('kdbg: warning: signatures are not checked (--insecure-skip-signatures): an index or package changed on the way is accepted\n');
    if (argv.latest) {
      const r = await latestRelease(opts);
      if (argv.json) writeJson(r);
      else writeOut(r.release);
      return;
    }
    const releases = await listReleases(opts);
    if (argv.json) {
      writeJson({ distro: family, arch, releases });
      return;
    }
    for (const r of releases) writeOut(`${r.release}\t${r.packageVersion}\t${r.package}`);
  },
};
