// The frame every command runs in, on both paths into it (main() with yargs, and fast.ts, the
// bundled path of `kdbg log` and `kdbg identify`): SIGINT/SIGTERM handlers, EPIPE on stdout as a
// clean exit, and every error mapped to one line on stderr and a documented exit code. This is the
// only place that decides exit codes; main.ts re-exports reportError.

import { InternalError, isKdbgError } from '../core/errors.js';
import { installInterrupts, interruption } from './interrupt.js';
import { exitOnEpipe, stdoutIsDirect, writeErr } from './output.js';

/** Run `body` (which may set process.exitCode) in the frame; resolves to the exit code. */
export async function runInFrame(argv: readonly string[], body: () => Promise<void>): Promise<number> {
  let exitCode = 0;
  // serve and watch are daemons: SIGTERM is how systemd stops them, a clean stop, exit 0.
  const daemon = argv[0] === 'serve' || argv[0] === 'watch';
  const uninstall = installInterrupts(daemon ? `kdbg ${argv[0]}` : 'kdbg');
  // Touching process.stdout builds the stream; the fast path writes fd 1 without it (output.ts).
  if (!stdoutIsDirect()) exitOnEpipe();
  try {
    await body();
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
