// The host's gpgv as a child process, for resolve/deb-trust.ts and resolve/rpm-trust.ts (issue 16).
// Here because analyze/ is the stage that runs the host's tools (crash, gdb); resolve/ asks it to
// check a signature and gets the status lines back. `--status-fd 2`: the "[GNUPG:] " lines are
// parsed, the rest of stderr kept for messages.

import { spawn } from 'node:child_process';
import { UnavailableError } from '../core/errors.js';

export interface GpgvRun {
  code: number;
  /** The status lines without their "[GNUPG:] " prefix. */
  status: string[];
  stdout: Buffer;
  stderr: string;
}

export function runGpgv(args: string[]): Promise<GpgvRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpgv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new UnavailableError('gpgv not found: kdbg verifies Debian/Ubuntu archives with it (apt-get install gpgv), or --insecure-skip-signatures', { details: { tool: 'gpgv' } }));
      else reject(e);
    });
    child.on('close', (code) => {
      const lines = err.split('\n');
      resolve({ code: code ?? 2, status: lines.filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9)), stdout: Buffer.concat(out), stderr: lines.filter((l) => l !== '' && !l.startsWith('[GNUPG:] ')).join('; ') });
    });
  });
}

