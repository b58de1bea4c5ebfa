// kdbg reports [DIR…]: the analysed dumps under watch report folders or `analyze -o` folders,
// grouped by crash signature (count, first and last seen), or as a flat list with --no-group.
// A report.json that cannot be read is one warning line on stderr and skipped. JSON contract:
// docs/hosts.md, "kdbg reports".
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { writeErr, writeJson, writeOut } from '../output.js';

interface ReportsArgs {
  dirs: string[];
  group: boolean;
  json: boolean;
  since: string | undefined;
}

const day = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '-');

/** Columns padded to their widest cell; the last column is left as is. */
function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd());
}

export const reportsCommand: CommandModule<object, ReportsArgs> = {
  command: 'reports [dirs..]',
  describe: 'List analysed dumps (report.json under the directories) grouped by crash signature',
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, default: [] as string[], describe: "watch report folders, `analyze -o` folders or report.json files (default: what this user's `kdbg watch` runs recorded in their state files, else the current directory)" })
      .option('group', { type: 'boolean', default: true, describe: 'group by signature with count and first/last seen (--no-group: one line per dump)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (schema kdbg.reports/v1, docs/hosts.md)' })
      .option('since', { type: 'string', describe: 'only dumps that crashed since DATE (2026-11-25, ISO 8601) or AGE ago (7d, 24h, 30m, 2w)' }),
  handler: async (argv) => {
    const { listReports, parseSince, watchStateFiles } = await import('../../pipeline/reports.js');
    const since = argv.since !== undefined ? parseSince(argv.since) : null;
    // No DIR: what the watches of this user wrote (their state files), else the current directory.
    const xdg = process.env['XDG_STATE_HOME'];
    const watchStates = argv.dirs.length ? [] : await watchStateFiles(join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'state'), 'kdbg'));
    const dirs = argv.dirs.length ? argv.dirs : watchStates.length ? [] : ['.'];
    const r = await listReports({ dirs, since, watchStates });
    for (const w of r.warnings) writeErr(`kdbg reports: warning: ${w}`);
    if (argv.json) {
      writeJson(r);
      return;
    }
    if (r.reports.length === 0) {
      writeOut(`no reports under ${[...dirs, ...watchStates].join(', ')}${since ? ` since ${r.since}` : ''}`);
      return;
    }
    const row = (i: number): string[] => {
      const x = r.reports[i]!;
      return [x.host ?? '-', day(x.crashTime), x.kernel ?? '-', x.signature?.id ?? '-', x.status, x.headline ?? '-'];
    };
    if (!argv.group) {
      for (const l of table([['HOST', 'CRASHED (UTC)', 'KERNEL', 'SIGNATURE', 'STATUS', 'HEADLINE'], ...r.reports.map((_, i) => row(i))])) writeOut(l);
      return;
    }
    writeOut(`${r.reports.length} dump${r.reports.length === 1 ? '' : 's'}, ${r.groups.length} signature${r.groups.length === 1 ? '' : 's'}${since ? ` since ${r.since}` : ''}`);
    for (const g of r.groups) {
      writeOut('');
      writeOut(`${g.count}×  ${g.id ?? '-'}  ${g.text}`);
      writeOut(`    first ${day(g.firstSeen)}  last ${day(g.lastSeen)}  hosts ${g.hosts.length ? g.hosts.join(', ') : '-'}  kernels ${g.kernels.length ? g.kernels.join(', ') : '-'}`);
      for (const l of table(g.reports.map((i) => row(i)).reverse().map((c) => [c[0]!, c[1]!, c[2]!, c[4]!, c[5]!]))) writeOut(`    ${l}`);
    }
  },
};
