// The CLI entry point: parse flags with yargs, dispatch to a command module, and map every error
// to one line on stderr and a documented exit code. This is the only place that decides exit codes.
// yargs and the command modules load only after the warm-cache fast path of `kdbg fetch` has
// declined (src/cli/fast-fetch.ts): loading yargs and its help rendering were ~100 ms of a
// ~190 ms warm fetch (docs/speed.md, "Warm fetch").

import type { Argv } from 'yargs';
import { InternalError, isKdbgError, UsageError } from '../core/errors.js';
import { installInterrupts, interruption } from './interrupt.js';
import { writeErr } from './output.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  // serve and watch are daemons: SIGTERM is how systemd stops them, a clean stop, exit 0.
  const daemon = argv[0] === 'serve' || argv[0] === 'watch';
  const uninstall = installInterrupts(daemon ? `kdbg ${argv[0]}` : 'kdbg');
  // `kdbg unpack --list | head`: the reader closing the pipe is its choice, not a kdbg error (no
  // stack trace from an unhandled EPIPE).
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  try {
    if (argv[0] === 'fetch') {
      const { tryWarmFetch } = await import('./fast-fetch.js');
      if (await tryWarmFetch(argv.slice(1))) return 0;
    }
    if (argv[0] === 'identify') {
      const { tryFastIdentify } = await import('./commands/identify.js');
      if (await tryFastIdentify(argv.slice(1))) return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    if (argv[0] === 'log') {
      const { tryFastLog } = await import('./commands/log.js');
      if (await tryFastLog(argv.slice(1))) return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    const [{ default: yargs }, { commands }] = await Promise.all([import('yargs'), import('./commands/index.js')]);
    let parser: Argv = yargs(argv)
      .scriptName('kdbg')
      .usage('$0 <command> [options]')
      .strict()
      .demandCommand(1, 'kdbg: a command is required (try kdbg --help)')
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version()
      .wrap(Math.min(110, process.stdout.columns ?? 100))
      .fail((msg, err) => {
        if (err) throw err;
        throw new UsageError(msg ?? 'invalid usage');
      });
    for (const c of commands) parser = parser.command(c);
    await parser.parseAsync();
    exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // Whatever the unwinding threw after a signal (an AbortError from undici, the interruption
    // itself) is the signal's doing: the line was printed when it arrived.
    exitCode = interruption() ? interruption()!.exitCode : reportError(e);
  } finally {
    uninstall();
  }
  const stopped = interruption();
  if (stopped && !(daemon && stopped.signalName === 'SIGTERM')) exitCode = stopped.exitCode;
  return exitCode;
}

/** The one catch-all: a KdbgError is one line (plus a hint); anything else is a bug. */
export function reportError(e: unknown): number {
  if (isKdbgError(e)) {
    writeErr(`kdbg: ${e.message}`);
    if (e.hint) writeErr(`hint: ${e.hint}`);
    if (process.env['KDBG_DEBUG'] && e.cause) writeErr(String((e.cause as Error).stack ?? e.cause));
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const internal = new InternalError(`internal error: ${err.message}`, { cause: err });
  writeErr(`kdbg: ${internal.message}`);
  writeErr('This is a bug in kdbg. Please report it with the command line and this trace:');
  writeErr(String(err.stack ?? err));
  return internal.exitCode;
}
