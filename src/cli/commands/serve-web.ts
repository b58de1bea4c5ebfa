// `kdbg serve --reports DIR`: the report pages' options. Loopback is the default listen address
// and needs no token (only local users reach it); on any other address the pages always want a
// token — the one in --token-file, else a fresh random one — sent as "Authorization: Bearer
// <token>" or as the cookie that the one-time login URL printed at start sets.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UsageError } from '../../core/errors.js';
import type { WebHandler } from '../../serve/web/handler.js';

export interface WebSetup {
  handler: WebHandler;
  /** The page URL, and the one-time login URL when a token protects the pages (JSON line field `reports`). */
  announce(serverUrl: string): { url: string; login: string | null; dirs: string[] };
}

export async function webFor(o: { reports: readonly string[]; tokenFile: string | undefined; loopback: boolean; verbose: boolean }): Promise<WebSetup | null> {
  if (o.reports.length === 0) return null;
  const { existsSync } = await import('node:fs');
  const { InputNotFoundError } = await import('../../core/errors.js');
  for (const d of o.reports) if (!existsSync(d)) throw new InputNotFoundError(`${d}: no such file or directory (--reports)`);
  let token: string | null = null;
  if (o.tokenFile !== undefined) {
    const text = await readFile(o.tokenFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new InputNotFoundError(`${o.tokenFile}: cannot read the token file (${e.code ?? e.message})`);
    });
    token = text.split('\n')[0]!.trim();
    if (token.length < 16 || /\s/.test(token)) throw new UsageError(`${o.tokenFile}: the token must be one line of at least 16 characters without spaces`);
  }
  const { createWebHandler, newToken } = await import('../../serve/web/handler.js');
  if (token === null && !o.loopback) token = newToken();
  const { writeErr } = await import('../output.js');
  const handler = createWebHandler({ reportDirs: o.reports, token, ...(o.verbose ? { onTiming: (p: string, ms: number) => writeErr(`kdbg serve: page ${p} rendered in ${ms.toFixed(1)} ms`) } : {}) });
  return {
    handler,
    announce: (url) => {
      // A wildcard address is not one a browser can open: name this host instead.
      const base = url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, `http://${hostname()}`);
      return { url: `${base}/`, login: handler.loginCode ? `${base}/login?code=${handler.loginCode}` : null, dirs: [...o.reports] };
    },
  };
}
