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
  handler: async (argv) => {
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
  },
};

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
