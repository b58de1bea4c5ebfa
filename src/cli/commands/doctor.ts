// kdbg doctor: is this host ready to analyse the dumps it will get? One line per check; each
// problem with the exact command that fixes it on this distribution. Contract in docs/analyze.md
// ("kdbg doctor"). Exit 0: no problem (warnings allowed); 3: at least one problem.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface DoctorArgs {
  json: boolean;
  cacheDir?: string;
  crash?: string;
  maxSize?: string;
  mirror: string[];
  repo: string[];
  config?: string;
  timeout: number;
}

/** Doctor found at least one problem. */
export const EXIT_DOCTOR_PROBLEMS = 3;

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check that this host is ready to analyse dumps: crash version per cached kernel, gdb/drgn, cache, disk, mirrors, certificates',
  builder: (y: Argv): Argv<DoctorArgs> =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object (schema kdbg.doctor/v1)' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (as for kdbg fetch)' })
      .option('crash', { type: 'string', describe: 'crash binary (default: KDBG_CRASH, then PATH)' })
      .option('max-size', { type: 'string', describe: 'the size the cache may grow to (20G, 500M): compared with the free disk' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'mirror base to check (as for kdbg fetch; repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'repository URL to check (repeatable)' })
      .option('config', { type: 'string', describe: 'mirror configuration file (as for kdbg fetch)' })
      .option('timeout', { type: 'number', default: 5, describe: 'seconds each mirror may take to answer a HEAD' }) as unknown as Argv<DoctorArgs>,
  handler: async (argv: ArgumentsCamelCase<DoctorArgs>): Promise<void> => {
    const { UsageError } = await import('../../core/errors.js');
    const { writeOut, writeJson, setExitCode } = await import('../output.js');
    const { parseSize } = await import('../../cache/units.js');
    const { doctor } = await import('../../pipeline/doctor.js');
    let maxSizeBytes: number | undefined;
    if (argv.maxSize !== undefined) {
      const n = parseSize(argv.maxSize);
      if (n === null) throw new UsageError(`--max-size ${argv.maxSize}: expected a size such as 20G or 500M`);
      maxSizeBytes = n;
    }
    if (!(argv.timeout > 0)) throw new UsageError(`--timeout ${argv.timeout}: must be a positive number of seconds`);
    const r = await doctor({
      ...(argv.cacheDir !== undefined ? { cacheDir: argv.cacheDir } : {}),
      ...(argv.crash !== undefined ? { crash: argv.crash } : {}),
      ...(maxSizeBytes !== undefined ? { maxSizeBytes } : {}),
      ...(argv.config !== undefined ? { configFile: argv.config } : {}),
      mirrors: argv.mirror,
      repos: argv.repo,
      timeoutMs: argv.timeout * 1000,
      env: process.env,
    });
    if (argv.json) writeJson(r);
    else {
      writeOut(`kdbg doctor: ${r.host.prettyName ?? r.host.id ?? 'unknown distribution'}, cache ${r.cacheDir}`);
      for (const c of r.checks) {
        writeOut(`${c.status === 'ok' ? 'ok     ' : c.status === 'warning' ? 'warning' : 'PROBLEM'}  ${c.id} ${c.subject}: ${c.message}`);
        if (c.fix) writeOut(`         fix: ${c.fix}`);
      }
      writeOut(`${r.problems} problem${r.problems === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`);
    }
    if (r.problems > 0) setExitCode(EXIT_DOCTOR_PROBLEMS);
  },
};
