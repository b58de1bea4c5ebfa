// kdbg log <dump>: the crashed kernel's log buffer, read from the dump with VMCOREINFO alone (no
// vmlinux), printed as makedumpfile --dump-dmesg prints it. Contract in docs/analyze.md ("kdbg log").
// Exit codes: 0 the whole ring was read; 3 the log was printed but part of it was not readable
// (one line on stderr says what); 65 no log at all (no VMCOREINFO, unknown layout, ring not in the dump).
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface LogArgs {
  dump: string;
  json: boolean;
  tail?: number;
  level?: number;
  caller: boolean;
  oops: boolean;
}

/** The log was printed, but not all of it (pages excluded, torn records). */
export const EXIT_LOG_INCOMPLETE = 3;

export const logCommand: CommandModule<object, LogArgs> = {
  command: 'log <dump>',
  describe: "Print the kernel log from a crash dump's memory (no vmlinux needed)",
  builder: (y: Argv): Argv<LogArgs> =>
    y
      .positional('dump', { type: 'string', demandOption: true, describe: 'vmcore: ELF, kdump-compressed, flattened, or one part of a split set' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object: layout, records, problems (schema in docs/analyze.md)' })
      .option('tail', { type: 'number', describe: 'only the last N records' })
      .option('level', { type: 'number', describe: 'only records of this level or more severe (0 emerg … 7 debug)' })
      .option('caller', { type: 'boolean', default: false, describe: 'add the caller column (T<pid>/C<cpu>) as makedumpfile ≥ 1.7.5 does' })
      .option('oops', { type: 'boolean', default: false, describe: 'print the parsed oops/panic instead of the log' }) as unknown as Argv<LogArgs>,
  handler: (argv: ArgumentsCamelCase<LogArgs>): Promise<void> => runLog(argv),
};

/** The command itself (shared by yargs and the fast path). */
export async function runLog(argv: LogArgs): Promise<void> {
    const { UsageError, InputFormatError } = await import('../../core/errors.js');
    const { writeBytes, writeErr, writeJson, writeText, setExitCode } = await import('../output.js');
    const { readDumpLog } = await import('../../klog/index.js');
    const { formatRecordsBytes, recordJson, recordsText } = await import('../../klog/format.js');
    if (argv.tail !== undefined && (!Number.isInteger(argv.tail) || argv.tail < 0)) throw new UsageError(`--tail takes a count of records, not ${argv.tail}`);
    if (argv.level !== undefined && (!Number.isInteger(argv.level) || argv.level < 0 || argv.level > 7)) throw new UsageError(`--level takes 0 (emerg) to 7 (debug), not ${argv.level}`);
    const dump = argv.dump === '' ? '-' : argv.dump;
    const log = await readDumpLog(dump);
    let records = log.records;
    if (argv.level !== undefined) {
      if (log.levelSource === null && records.length > 0) throw new UsageError(`${dump}: this dump's ring does not tell the records' levels (layout ${log.layout}), so --level cannot filter`);
      records = records.filter((r) => r.level !== null && r.level <= argv.level!);
    }
    if (argv.tail !== undefined) records = records.slice(Math.max(0, records.length - argv.tail));
    if (argv.oops) {
      const { parseOops } = await import('../../klog/oops.js');
      const oops = parseOops(recordsText(log.records));
      if (argv.json) writeJson({ dump, release: log.release, layout: log.layout, oops: oops.first, others: oops.others, problems: log.problems });
      else {
        const { formatOops } = await import('../../klog/oops.js');
        writeText(oops.first ? formatOops(oops.first) : 'no oops, panic, BUG, WARNING, lockup, hung task, OOM kill or MCE in the log\n');
      }
    } else if (argv.json) {
      writeJson({ dump, files: log.files, release: log.release, layout: log.layout, levelSource: log.levelSource, records: records.map(recordJson), problems: log.problems });
    } else {
      // formatRecord's text as bytes, one write per 64 KiB: a few hundred records per syscall.
      formatRecordsBytes(records, { caller: argv.caller }, writeBytes);
    }
    if (log.records.length === 0) {
      throw new InputFormatError(`${dump}: no kernel log read: ${log.problems.map((p) => p.message).join('; ') || 'the ring is empty'}`, { file: dump, format: 'printk ring' });
    }
    const serious = log.problems.filter((p) => p.code !== 'gap');
    if (serious.length > 0) {
      writeErr(`kdbg: ${dump}: log incomplete: ${serious.map((p) => p.message).join('; ')}`);
      setExitCode(EXIT_LOG_INCOMPLETE);
    }
}

/**
 * `kdbg log` without yargs: loading yargs and its help costs about 100 ms, a third of a log read
 * (measured in docs/analyze.md). Plain flag sets are parsed here; anything else (--help, an unknown
 * or malformed flag) returns false so the caller falls back to yargs and its messages.
 */
export async function tryFastLog(args: readonly string[]): Promise<boolean> {
  const a = parseFastLogArgs(args);
  if (!a) return false;
  await runLog(a);
  return true;
}

/** The flag sets tryFastLog answers without yargs, parsed; null for anything else. */
export function parseFastLogArgs(args: readonly string[]): LogArgs | null {
  const a: LogArgs = { dump: '', json: false, caller: false, oops: false };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? (eq === -1 ? arg.slice(2) : arg.slice(2, eq)) : null;
    if (name === null || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (name === 'json' || name === 'caller' || name === 'oops') {
      if (eq !== -1) return null;
      a[name] = true;
    } else if (name === 'tail' || name === 'level') {
      const v = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (v === undefined || !/^\d+$/.test(v)) return null;
      a[name] = Number(v);
    } else return null;
  }
  if (positional.length !== 1) return null;
  a.dump = positional[0]!;
  return a;
}
