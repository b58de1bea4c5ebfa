// kdbg unpack <package-file> [--list] [-C DIR] [GLOB…] [--json]: list or extract members of an
// RPM (or .deb) with kdbg's own parsers — the replacement for `rpm2cpio X | cpio -idm`. The --json
// shapes are a contract, documented in docs/unpack.md. The work is src/pipeline/unpack.ts.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { ArchiveMember } from '../../extract/types.js';

export interface UnpackArgs {
  package: string;
  globs: string[];
  list: boolean;
  directory: string;
  json: boolean;
}

export const unpackCommand: CommandModule<object, UnpackArgs> = {
  command: 'unpack <package> [globs..]',
  describe: 'List (--list) or extract the members of an RPM or deb package; GLOBs select members like cpio -i patterns',
  builder: (y: Argv): Argv<UnpackArgs> =>
    y
      .positional('package', { type: 'string', demandOption: true, describe: 'the .rpm or .deb file' })
      .positional('globs', { type: 'string', array: true, default: [] as string[], describe: 'member patterns (* ? [..]; * also matches /); none = every member' })
      .option('list', { alias: 't', type: 'boolean', default: false, describe: 'list members instead of extracting' })
      .option('directory', { alias: 'C', type: 'string', default: '.', describe: 'extract under this directory (created if missing)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON array (see docs/unpack.md)' })
      .example('$0 unpack kernel-debuginfo-3.10.0-327.el7.x86_64.rpm -C out "*/vmlinux"', 'extract the vmlinux only')
      .example('$0 unpack pkg.rpm --list --json', 'members as JSON: [{path,size,mode,type,linkTarget}]') as unknown as Argv<UnpackArgs>,
  handler: async (argv: ArgumentsCamelCase<UnpackArgs>): Promise<void> => {
    // yargs hands a lone '-' positional over as ''.
    if (argv.package === '' || argv.package === '-') {
      const { UsageError } = await import('../../core/errors.js');
      throw new UsageError("unpack: '-' (stdin) is not supported: pass the .rpm or .deb file (kdbg reads its index and members by offset)");
    }
    await runUnpack({ file: argv.package, globs: (argv.globs ?? []).map(String), list: argv.list, directory: argv.directory, json: argv.json });
  },
};

export interface UnpackRequest {
  file: string;
  globs: string[];
  list: boolean;
  directory: string;
  json: boolean;
}

/** `--list --json` element: the archive member as is (path minus a leading `./`). */
export interface ListedMember {
  path: string;
  size: number;
  mode: number;
  type: ArchiveMember['type'];
  linkTarget: string | null;
}

/** Extraction `--json` element: what was written, relative to -C DIR. */
export interface UnpackedMember {
  path: string;
  size: number;
  sha256: string | null;
}

export async function runUnpack(req: UnpackRequest): Promise<void> {
  const { relative, resolve, sep } = await import('node:path');
  const { writeJson, writeOut } = await import('../output.js');
  const { listMembers, unpack } = await import('../../pipeline/unpack.js');
  if (req.list) {
    const out: ListedMember[] = [];
    for await (const m of listMembers(req.file, req.globs)) {
      if (req.json) out.push({ path: m.path, size: m.size, mode: m.mode, type: m.type, linkTarget: m.linkTarget });
      else writeOut(lsLine(m));
    }
    if (req.json) writeJson(out);
    return;
  }
  const dest = resolve(req.directory);
  const result = await unpack(req.file, dest, req.globs);
  const rel = (p: string): string => relative(dest, p).split(sep).join('/');
  if (req.json) {
    writeJson(result.written.map((w): UnpackedMember => ({ path: rel(w.path), size: w.member.type === 'file' ? w.member.size : 0, sha256: w.sha256 })));
  } else {
    for (const w of result.written) writeOut(rel(w.path));
  }
}

/** `ls -l`-like line: mode string, size, path and link target. */
function lsLine(m: ArchiveMember): string {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p', socket: 's' }[m.type];
  let perm = '';
  for (let i = 8; i >= 0; i--) perm += m.mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return `${t}${perm} ${String(m.size).padStart(10)} ${m.path}${m.linkTarget ? ` -> ${m.linkTarget}` : ''}`;
}
