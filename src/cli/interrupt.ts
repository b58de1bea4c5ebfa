// SIGINT and SIGTERM, the same for every command: the first one aborts the CLI's one AbortSignal
// (reason: InterruptedError), which every stage already honours, so the work unwinds through its
// own `finally` blocks: the locks are released, the staging tree is removed, a decoder thread is
// stopped between two decode calls. Exiting at once instead (process.exit in the handler) left
// the locks and staging behind, and killed node-liblzma's worker mid-call, which aborted the whole
// process with a native stack trace (design/faults-found.md, fault A).
//
// A second signal, or a cleanup that takes longer than FORCE_AFTER_MS, exits at once: the user
// asked twice, and a stuck cleanup must not keep a supervisor waiting.

import { InterruptedError } from '../core/errors.js';
import { writeErr } from './output.js';

/** How long the unwinding may take before the process exits without it. */
const FORCE_AFTER_MS = 10_000;

// Made on first use: an AbortController loads node's abort_controller and event_target modules,
// which `kdbg log` and `kdbg identify` never need.
let controller: AbortController | null = null;
let received: InterruptedError | null = null;

/** The signal every command passes to the pipeline. Aborted by the first SIGINT or SIGTERM. */
export function interruptSignal(): AbortSignal {
  return (controller ??= new AbortController()).signal;
}

/** The interruption, once one arrived. */
export function interruption(): InterruptedError | null {
  return received;
}

/**
 * Install the handlers for the duration of one command. `label` prefixes the one line printed
 * on the first signal (`kdbg`, `kdbg watch`). Returns the function that removes them.
 */
export function installInterrupts(label = 'kdbg'): () => void {
  const on = (name: 'SIGINT' | 'SIGTERM'): void => {
    if (received) {
      writeErr(`${label}: ${name} again, exiting without cleaning up`);
      process.exit(received.exitCode);
    }
    received = new InterruptedError(name);
    writeErr(`${label}: interrupted by ${name}, stopping`);
    (controller ??= new AbortController()).abort(received);
    setTimeout(() => {
      writeErr(`${label}: cleanup took over ${FORCE_AFTER_MS / 1000} s, exiting without it`);
      process.exit(received!.exitCode);
    }, FORCE_AFTER_MS).unref();
  };
  const onInt = (): void => on('SIGINT');
  const onTerm = (): void => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  };
}
