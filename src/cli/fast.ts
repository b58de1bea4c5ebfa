// The entry of the bundled fast path: `kdbg log` and `kdbg identify` with plain flags, run from one
// file (dist/fast/kdbg-fast.cjs, built by scripts/build-fast.mjs) that bin/kdbg.js compiles with a
// V8 code cache. Loading the ~50 ES modules of these commands one by one cost 30-50 ms of a
// ~100 ms `kdbg log` beyond node's own start (docs/analyze.md, "Measured"); the bundle with its
// code cache loads in a few ms. Anything these parsers decline returns null, and bin/kdbg.js runs
// main() (yargs) instead, from the start, so messages and exit codes keep one source.

import { parseFastIdentifyArgs, runIdentify } from './commands/identify.js';
import { parseFastLogArgs, runLog } from './commands/log.js';
import { runInFrame } from './frame.js';
import { useDirectStdout } from './output.js';

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
