// A lone `-` on the command line: yargs hands it over as an empty string, which used to reach
// analyze and unpack as a path '' ("kdbg: : no such dump file"). Commands that read a dump from
// stdin take it; the others say in one line why they cannot, with exit 64.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireFixture, vmcoreKernel } from '../helpers/fixtures.js';
import { isolatedEnv, repoRoot } from './fetch-cli.js';

function run(args: string[], stdinFile: string | null): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'kdbg.js'), ...args], { cwd: repoRoot, env: isolatedEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The reader may stop early (it has what it needs): a closed pipe is not a failure here.
  child.stdin.on('error', () => undefined);
  if (stdinFile) createReadStream(stdinFile).pipe(child.stdin);
  else child.stdin.end();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a lone - argument', () => {
  it('identify - reads the dump from stdin', async () => {
    const r = await run(['identify', '--json', '-'], requireFixture('vmcores', 'sysrq', 'vmcore.kdump-zlib'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { release: string }).release).toBe(vmcoreKernel().release);
  });

  it.each([
    ['analyze', ['analyze', '-'], /^kdbg: analyze: the dump must be a file, not '-' \(stdin\)/],
    ['unpack', ['unpack', '-'], /^kdbg: unpack: '-' \(stdin\) is not supported/],
    ['unpack --list', ['unpack', '-', '--list'], /^kdbg: unpack: '-' \(stdin\) is not supported/],
  ])('%s - says why not, in one line, exit 64', async (_name, args, line) => {
    const r = await run(args, null);
    expect(r.code).toBe(64);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(line);
  });
});
