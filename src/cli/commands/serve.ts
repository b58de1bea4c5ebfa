// kdbg serve [--listen 127.0.0.1:8002] [--cache-dir D]: the cache over the debuginfod HTTP API
// (see docs/hosts.md). Runs until SIGTERM or SIGINT; SIGTERM closes the listener and exits 0.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface ServeArgs {
  listen: string;
  cacheDir?: string;
  json: boolean;
  verbose: boolean;
  fetch: boolean;
  mirror: string[];
  repo: string[];
  config?: string;
  upstream: string[];
  maxFetches: number;
  negativeTtl: number;
  missRate: number;
  allowRemote: boolean;
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
      .option('fetch', { type: 'boolean', default: false, describe: 'fetch on a miss: resolve an uncached build-id through the repositories\' build-id indexes, fetch its release, then answer; forward unresolvable ids to DEBUGINFOD_URLS / --upstream' })
      .option('mirror', { type: 'string', array: true, default: [] as string[], describe: 'with --fetch: mirror base, as for kdbg fetch (repeatable)' })
      .option('repo', { type: 'string', array: true, default: [] as string[], describe: 'with --fetch: repository URL, as for kdbg fetch (repeatable)' })
      .option('config', { type: 'string', describe: 'with --fetch: mirror configuration file, as for kdbg fetch' })
      .option('upstream', { type: 'string', array: true, default: [] as string[], describe: 'with --fetch: debuginfod server asked for ids kdbg cannot resolve (repeatable; DEBUGINFOD_URLS too)' })
      .option('max-fetches', { type: 'number', default: 2, describe: 'with --fetch: fetches running at once' })
      .option('negative-ttl', { type: 'number', default: 600, describe: 'with --fetch: seconds an unknown build-id is answered 404 without looking again' })
      .option('miss-rate', { type: 'number', default: 60, describe: 'misses per minute allowed per client address (0: no limit)' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'allow --listen on a non-loopback address (there is no authentication)' })
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
      const { UsageError } = await import('../../core/errors.js');
      const addr = parseListen(argv.listen);
      if (!isLoopback(addr.host) && !argv.allowRemote) {
        throw new UsageError(`--listen ${argv.listen}: not a loopback address; kdbg serve has no authentication, so pass --allow-remote to listen there (or put a proxy in front)`);
      }
      for (const [flag, v] of [['--max-fetches', argv.maxFetches], ['--negative-ttl', argv.negativeTtl], ['--miss-rate', argv.missRate]] as const) {
        if (!Number.isFinite(v) || v < 0 || (flag === '--max-fetches' && v < 1)) throw new UsageError(`${flag} ${v}: expected a ${flag === '--max-fetches' ? 'positive' : 'non-negative'} number`);
      }
      // The directory `kdbg fetch` with the same flags and environment publishes into.
      const cacheDir = cacheDirOf({ cacheDir: argv.cacheDir, env: process.env });
      // With --fetch the server fills the cache itself: an empty (new) cache is fine.
      if (argv.fetch) await (await import('../../cache/index.js')).openCache(cacheDir);
      if (!existsSync(join(cacheDir, 'releases'))) {
        throw new InputNotFoundError(`${cacheDir}: not a kdbg cache (no releases/ directory)`, {
          details: { cacheDir },
          hint: 'fetch something first (kdbg fetch <release>) or pass --cache-dir',
        });
      }
      if (stop.aborted) return;
      const log = (l: string): void => writeErr(l);
      const { serveMissOptions } = await import('../../serve/miss-setup.js');
      const miss = await serveMissOptions({
        cacheDir,
        fetch: argv.fetch,
        mirrors: argv.mirror,
        repos: argv.repo,
        ...(argv.config !== undefined ? { configFile: argv.config } : {}),
        upstream: argv.upstream,
        maxFetches: argv.maxFetches,
        negativeTtlMs: argv.negativeTtl * 1000,
        missRatePerMinute: argv.missRate,
        env: process.env,
        onInfo: log,
      });
      // The report pages: loopback is open to local users only; any other address gets a token.
      const { webFor } = await import('./serve-web.js');
      const web = await webFor({ reports: argv.reports ?? [], tokenFile: argv.tokenFile, loopback: isLoopback(addr.host), verbose: argv.verbose });
      const server = await startServe({ cacheDir, host: addr.host, port: addr.port, ...(argv.verbose ? { log } : {}), miss, ...(web ? { web: web.handler } : {}) });
      // The first index build runs behind the listener: hits are answered while it reads filelists.
      if (miss.indexes) void miss.indexes.refresh().then(() => log(`kdbg serve: build-id index: ${miss.indexes!.idCount} ids from ${miss.indexes!.repoStatus().filter((r) => r.problem === null).length} repositories`));
      if (!isLoopback(addr.host)) {
        writeErr(`kdbg serve: warning: listening on ${addr.host}, not loopback (--allow-remote); the debuginfod API has no authentication${web ? ' (the report pages want a token)' : ''} (put an HTTPS reverse proxy in front)`);
      }
      const pages = web ? web.announce(server.url) : null;
      if (argv.json) writeJsonLine({ url: server.url, host: server.host, port: server.port, cacheDir, entries: server.reader.entryCount, fetch: argv.fetch, upstream: miss.upstream, ...(pages ? { reports: pages } : {}) });
      else writeErr(`kdbg serve: ${cacheDir} at ${server.url} (debuginfod API; DEBUGINFOD_URLS=${server.url})`);
      if (pages) writeErr(`kdbg serve: report pages at ${pages.login ?? pages.url}${pages.login ? ' (one-time login URL: it sets a cookie and works once)' : ''}`);
      if (!stop.aborted) await new Promise<void>((done) => stop.addEventListener('abort', () => done(), { once: true }));
      await server.close();
    }
  },
};
