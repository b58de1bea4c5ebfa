// Run the built CLI as another user (uid), the way an unprivileged user on a RHEL host runs it:
// only root can read the entitlement keys, and tests run as root in CI.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, type CliResult } from './fetch-cli.js';

export function runKdbgAs(args: string[], env: NodeJS.ProcessEnv, uid?: number): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], {
    cwd: '/',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid !== undefined ? { uid, gid: uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
