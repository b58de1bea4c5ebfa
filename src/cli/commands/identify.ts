// kdbg identify <dump|->: name the kernel that wrote a crash dump (release, arch, build-id, …)
// from its headers and notes only. JSON schema: docs/identify.md.
import type { CommandModule } from 'yargs';
import { writeErr, writeJson, writeOut, setExitCode } from '../output.js';

interface IdentifyArgs {
  dump: string;
  json: boolean;
}

export const identifyCommand: CommandModule<object, IdentifyArgs> = {
  command: 'identify <dump>',
  describe: "Read a crash dump's kernel release, arch and build-id ('-' reads standard input)",
  builder: (y) =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: "vmcore (ELF, kdump-compressed, flattened, split part), vmcore-dmesg.txt, or '-'" })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (schema in docs/identify.md)' }),
  handler: (argv) => runIdentify(argv),
};

/** The command itself (shared by yargs and the fast path). */
export async function runIdentify(argv: IdentifyArgs): Promise<void> {
  const { identify } = await import('../../pipeline/identify.js');
  const { formatIdentity } = await import('../../identify/index.js');
  // yargs hands a lone '-' positional over as '' (an empty path names no file anyway).
  const dump = argv.dump === '' ? '-' : argv.dump;
  const id = await identify(dump);
  const distribution = await distributionOf(id.release, id.arch);
  if (argv.json) writeJson({ ...id, distribution });
  else {
    for (const l of formatIdentity(id)) writeOut(l);
    if (distribution) writeOut(`distribution: ${distribution.distro ?? distribution.family} (${distribution.reason})`);
  }
  if (id.release === null) {
    writeErr(`kdbg: ${dump}: no kernel release found (no VMCOREINFO, empty utsname, no banner in the scanned range)`);
    setExitCode(65);
  }
}

/**
 * `kdbg identify` without yargs. Loading yargs and rendering its help (which yargs does after a
 * handler has started) cost ~100 ms of CPU, about half of a whole identify process (docs/speed.md,
 * "identify per process"). Only the two forms yargs is sure to read the same way are answered:
 * one dump argument and an optional `--json` (not followed by `true`/`false`, which yargs would
 * take as its value). Anything else (--help, `--json=…`, `--no-json`, repeated or unknown flags,
 * an empty argument) returns false and main() runs yargs from the start, so messages and exit
 * codes keep one source. `KDBG_NO_FAST_PATH=1` turns it off (to compare both paths).
 */
export function parseFastIdentifyArgs(args: readonly string[]): IdentifyArgs | null {
  let json = false;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') {
      if (json) return null;
      const next = args[i + 1];
      if (next === 'true' || next === 'false') return null;
      json = true;
    } else if (arg === '-' || (arg !== '' && !arg.startsWith('-'))) positional.push(arg);
    else return null;
  }
  if (positional.length !== 1) return null;
  return { dump: positional[0]!, json };
}

/** Runs `kdbg identify …` and returns true, or false (nothing done) when yargs must read the arguments. */
export async function tryFastIdentify(args: readonly string[], env: Record<string, string | undefined> = process.env): Promise<boolean> {
  if (env['KDBG_NO_FAST_PATH'] === '1') return false;
  const a = parseFastIdentifyArgs(args);
  if (!a) return false;
  await runIdentify(a);
  return true;
}

/** Which distribution the dump's release names and why (`distribution` in --json), or null when the grammar does not know it. */
async function distributionOf(release: string | null, arch: string | null): Promise<{ distro: string | null; family: string; reason: string | null } | null> {
  if (release === null) return null;
  const { parseRelease } = await import('../../release/index.js');
  try {
    const rel = parseRelease(release, arch ? { arch } : {});
    return { distro: rel.distro ?? null, family: rel.family, reason: rel.reason ?? null };
  } catch {
    return null;
  }
}
