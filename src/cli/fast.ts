// The entry of the bundled fast path: `kdbg log` and `kdbg identify` with plain flags, run from one
// file (dist/fast/kdbg-fast.cjs, built by scripts/build-fast.mjs) that bin/kdbg.js compiles with a
// V8 code cache. Loading the ~50 ES modules of these commands one by one cost 30-50 ms of a
// ~100 ms `kdbg log` beyond node's own start (docs/analyze.md, "Measured"); the bundle with its
// code cache loads in a few ms. Anything these parsers decline returns null, and bin/kdbg.js runs
// main() (yargs) instead, from the start, so messages and exit codes keep one source.

import { parseFastIdentifyArgs, runIdentify } from './commands/identify.js';
import { parseFastLogArgs, runLog } from './commands/log.js';
import { runInFrame } from './frame.js';
import { outputSettled, useDirectStdout } from './output.js';

/** The exit code of the command, or null when it is not one this path answers (nothing was done). */
export async function runFast(argv: readonly string[], env: Record<string, string | undefined> = process.env): Promise<number | null> {
  if (env['KDBG_NO_FAST_PATH'] === '1') return null;
  if (argv[0] === 'log') {
    const a = parseFastLogArgs(argv.slice(1));
    if (a) {
      useDirectStdout();
      return runInFrame(argv, () => runLog(a));
    }
  } else if (argv[0] === 'identify') {
    const a = parseFastIdentifyArgs(argv.slice(1));
    if (a) {
      useDirectStdout();
      return runInFrame(argv, () => runIdentify(a));
    }
  }
  return null;
}

/**
 * Whether bin/kdbg.js may end the process with process.exit() once runFast resolved: true when the
 * command's output has all been written (outputSettled). After `kdbg log` the natural exit (the
 * event loop's last turns, beforeExit, node's teardown of the heap) cost about 1.7 ms of a sysrq
 * ELF's 10.5 ms over `node -e 0` (median of 100 runs each), against a `makedumpfile --dump-dmesg`
 * of 3 ms (docs/analyze.md, "Measured"); process.exit() skips it. Nothing else is left to finish
 * on this path: files are read with the synchronous calls (fast-fs.ts), stdout with writeSync.
 * When a write met EAGAIN and the rest went to process.stdout, the natural exit stays.
 */
export function fastExitReady(): boolean {
  return outputSettled();
}
