// A `kdbg serve` CLI process for tests (dist/ must be built): started on 127.0.0.1:0 with --json,
// its URL read from the first JSON line, its stderr kept, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface KdbgServe {
  url: string;
  log(): string;
  stop(): Promise<number | null>;
}

const repo = join(import.meta.dirname, '..', '..');

/** The environment of a kdbg child: no proxies, no KDBG_* or DEBUGINFOD_URLS from the caller's shell. */
export function isolatedServeEnv(xdg: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: xdg };
  for (const k of Object.keys(e)) if (/^(https?|all|no)_proxy$/i.test(k) || k.startsWith('KDBG_') || k === 'DEBUGINFOD_URLS') delete e[k];
  return e;
}

export async function startKdbgServe(args: string[], env: NodeJS.ProcessEnv): Promise<KdbgServe> {
  if (!existsSync(join(repo, 'dist', 'cli', 'commands', 'serve.js'))) throw new Error('dist/ is not built (npm run build)');
  const child = spawn(process.execPath, [join(repo, 'bin', 'kdbg.js'), 'serve', '--listen', '127.0.0.1:0', '--json', '-v', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`kdbg serve exited ${code}: ${log}`)));
  });
  return {
    url,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
