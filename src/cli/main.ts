// The CLI entry point: parse flags with yargs, dispatch to a command module, and map every error
// to one line on stderr and a documented exit code (frame.ts, shared with the bundled fast path of
// `kdbg log` and `kdbg identify`, fast.ts).
// yargs and the command modules load only after the warm-cache fast path of `kdbg fetch` has
// declined (src/cli/fast-fetch.ts): loading yargs and its help rendering were ~100 ms of a
// ~190 ms warm fetch (docs/speed.md, "Warm fetch").

import type { Argv } from 'yargs';
import { UsageError } from '../core/errors.js';
import { runInFrame } from './frame.js';

export async function main(argv: string[]): Promise<number> {
  return runInFrame(argv, async () => {
    if (argv[0] === 'fetch') {
      const { tryWarmFetch } = await import('./fast-fetch.js');
      if (await tryWarmFetch(argv.slice(1))) return;
    }
    if (argv[0] === 'identify') {
      const { tryFastIdentify } = await import('./commands/identify.js');
      if (await tryFastIdentify(argv.slice(1))) return;
    }
    if (argv[0] === 'log') {
      const { tryFastLog } = await import('./commands/log.js');
      if (await tryFastLog(argv.slice(1))) return;
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
  });
}

export { reportError } from './frame.js';
