// Every kdbg command, in the order `kdbg --help` lists them. Each module keeps its heavy imports
// inside the handler (dynamic import) so `kdbg --help` and a warm-cache fetch start fast.
import type { CommandModule } from 'yargs';
import { fetchCommand } from './fetch.js';
import { identifyCommand } from './identify.js';
import { analyzeCommand } from './analyze.js';
import { unpackCommand } from './unpack.js';
import { cacheCommand } from './cache.js';
import { serveCommand } from './serve.js';
import { syncCommand } from './sync.js';
import { watchCommand } from './watch.js';
import { releasesCommand } from './releases.js';
import { logCommand } from './log.js';
import { doctorCommand } from './doctor.js';
import { reportsCommand } from './reports.js';

// yargs' CommandModule is generic over the parsed argv; the list only needs the erased form.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [fetchCommand, releasesCommand, identifyCommand, logCommand, analyzeCommand, unpackCommand, cacheCommand, serveCommand, syncCommand, watchCommand, reportsCommand, doctorCommand];
