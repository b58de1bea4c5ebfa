// kdbg serve [--listen 127.0.0.1:8002] [--cache-dir D]: the cache over the debuginfod HTTP API
// (see docs/hosts.md). Runs until SIGTERM or SIGINT; SIGTERM closes the listener and exits 0.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface ServeArgs {
  listen: string;
  cacheDir?: string;
  json: boolean;
  verbose: boolean;
  reports?: string[];
  tokenFile?: string;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Serve the cache over the debuginfod HTTP API (gdb, drgn, debuginfod-find and other kdbg hosts fetch by build-id)',
  builder: (y: Argv): Argv<ServeArgs> =>
    y
      .option('listen', { type: 'string', default: '127.0.0.1:8002', describe: 'HOST:PORT to listen on ([::1]:8002 for IPv6; a bare port means loopback)' })
      .option('cache-dir', { type: 'string', describe: 'cache directory (default: KDBG_CACHE_DIR, ./cache in a checkout, else ~/.cache/kdbg)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON line with the listening URL once ready (see docs/hosts.md)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log every request on stderr' })
      .option('reports', { type: 'string', array: true, describe: 'also serve the report pages at / for the report.json files under DIR (watch report folders, `analyze -o` folders; repeatable; docs/hosts.md)' })
      .option('token-file', { type: 'string', describe: 'the report pages want this token (first line of the file; header "Authorization: Bearer …" or the cookie of the one-time login URL). Default: none on loopback, a fresh one on any other address' }) as unknown as Argv<ServeArgs>,
  handler: async (argv: ArgumentsCamelCase<ServeArgs>): Promise<void> => {
    // SIGTERM (systemd stop) ends the process with 0, even while it is still starting
    // (cli/interrupt.ts owns the signal handlers; main.ts decides the exit code).
    const { interruptSignal } = await import('../interrupt.js');
    const stop = interruptSignal();
    {
      const { startServe, parseListen, isLoopback } = await import('../../serve/server.js');
      const { cacheDirOf } = await import('../../pipeline/cache-dir.js');
      const { writeErr, writeJsonLine } = await import('../output.js');
      const { existsSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { InputNotFoundError } = await import('../../core/errors.js');
      const addr = parseListen(argv.listen);
      // The directory `kdbg fetch` with the same flags and environment publishes into.
      const cacheDir = cacheDirOf({ cacheDir: argv.cacheDir, env: process.env });
      if (!existsSync(join(cacheDir, 'releases'))) {
        throw new InputNotFoundError(`${cacheDir}: not a kdbg cache (no releases/ directory)`, {
          details: { cacheDir },
          hint: 'fetch something first (kdbg fetch <release>) or pass --cache-dir',
        });
      }
      if (stop.aborted) return;
      // The report pages: loopback is open to local users only; any other address gets a token.
      const { webFor } = await import('./serve-web.js');
      const web = await webFor({ reports: argv.reports ?? [], tokenFile: argv.tokenFile, loopback: isLoopback(addr.host), verbose: argv.verbose });
      const server = await startServe({ cacheDir, host: addr.host, port: addr.port, ...(argv.verbose ? { log: (l: string) => writeErr(l) } : {}), ...(web ? { web: web.handler } : {}) });
      if (!isLoopback(addr.host)) {
        writeErr(`kdbg serve: warning: listening on ${addr.host}, not loopback; the debuginfod API has no authentication${web ? ' (the report pages want a token)' : ''} (put an HTTPS reverse proxy in front)`);
      }
      const pages = web ? web.announce(server.url) : null;
      if (argv.json) writeJsonLine({ url: server.url, host: server.host, port: server.port, cacheDir, entries: server.reader.entryCount, ...(pages ? { reports: pages } : {}) });
      else writeErr(`kdbg serve: ${cacheDir} at ${server.url} (debuginfod API; DEBUGINFOD_URLS=${server.url})`);
      if (pages) writeErr(`kdbg serve: report pages at ${pages.login ?? pages.url}${pages.login ? ' (one-time login URL: it sets a cookie and works once)' : ''}`);
      if (!stop.aborted) await new Promise<void>((done) => stop.addEventListener('abort', () => done(), { once: true }));
      await server.close();
    }
  },
};
