#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm run build` (run by `prepare`).
import { main } from '../dist/cli/main.js';

let finished = false;
// Node exits with 0 when nothing is left to wait for, even if main() never returned: a promise
// that no event will ever settle (a stream whose end was missed) would look like success, with
// no output. That is a bug; say so and exit 70.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('kdbg: internal error: the work stopped, waiting for an event that will not come\nThis is a bug in kdbg. Please report it with the command line.\n');
  process.exitCode = 70;
});
main(process.argv.slice(2)).then((code) => {
  finished = true;
  process.exitCode = code;
});
