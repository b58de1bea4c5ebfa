// Where the fixture scripts put their (git-ignored, cached) output.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const fixturesRoot = process.env['KDBG_FIXTURES'] ?? join(homedir(), '.cache', 'kdbg-fixtures');

export function fixturePath(...parts: string[]): string {
  return join(fixturesRoot, ...parts);
}

/** Throws with the command to run when a fixture is missing (npm test builds them first). */
export function requireFixture(...parts: string[]): string {
  const p = fixturePath(...parts);
  if (!existsSync(p)) throw new Error(`fixture missing: ${p} (run: npm run fixtures)`);
  return p;
}

/** The first `n` bytes of a (possibly huge) file, without reading the rest. */
export function readHead(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return new Uint8Array(b.subarray(0, got));
  } finally {
    closeSync(fd);
  }
}
