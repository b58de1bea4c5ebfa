// The real elfutils `debuginfod` for interop tests. debuginfod 0.188 has no listen-address flag
// (it binds every interface), so tests only ever talk to it through 127.0.0.1; DEBUGINFOD_URLS
// is removed from its environment so it never federates to an upstream server (unless a test
// passes a loopback upstream in `extraEnv`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DebuginfodProcess {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function fetchMetrics(url: string): Promise<string | null> {
  try {
    const r = await fetch(`${url}/metrics`);
    return r.ok ? await r.text() : null;
  } catch {
    return null;
  }
}

/** One sample of a Prometheus metric by its full name with labels, NaN when absent. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}".]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * Start `debuginfod` with the given scanner flags (-F, -R, -U) over `paths`, and wait until
 * `ready(metricsText)` says the scan found what the test needs.
 */
export async function startDebuginfod(
  flags: string[],
  paths: string[],
  ready: (metrics: string) => boolean,
  timeoutMs = 30_000,
  /** Extra environment, e.g. DEBUGINFOD_URLS of a loopback upstream to federate to. */
  extraEnv: Record<string, string> = {},
): Promise<DebuginfodProcess> {
  const work = mkdtempSync(join(tmpdir(), 'kdbg-debuginfod-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUGINFOD_CACHE_PATH: join(work, 'client-cache') };
  delete env['DEBUGINFOD_URLS'];
  Object.assign(env, extraEnv);
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const p = spawn('debuginfod', ['-p', String(port), '-d', join(work, `db-${port}.sqlite`), '-t', '0', '-g', '0', '-c', '1', ...flags, ...paths], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let exited = false;
    p.once('exit', () => (exited = true));
    p.stderr?.resume();
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !exited) {
      const t = await fetchMetrics(url);
      if (t && ready(t)) {
        return {
          url,
          proc: p,
          stop: () =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null || p.signalCode !== null) return resolve();
              p.once('exit', () => resolve());
              p.kill('SIGTERM');
            }),
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exited) p.kill('SIGTERM');
  }
  throw new Error(`debuginfod did not come up with ${flags.join(' ')} (for -U, bsdtar from libarchive-tools is needed)`);
}

/**
 * Wait until kdbg serve's build-id index (built at start, in the background) holds at least `n`
 * ids, or `timeoutMs` passed; returns the last count read (NaN when /metrics never answered).
 */
export async function waitForIndexIds(url: string, n: number, timeoutMs = 300_000): Promise<number> {
  const t0 = Date.now();
  let ids = NaN;
  while (Date.now() - t0 < timeoutMs) {
    ids = metricValue((await fetchMetrics(url)) ?? '', 'kdbg_serve_index_ids');
    if (ids >= n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ids;
}
