// The keys the fixture archives are signed with (scripts/fixtures/sign.sh): each signed archive
// carries archive-key.asc, the public key of its own InRelease, and $KDBG_FIXTURES/keys/ holds the
// private GNUPGHOMEs tests sign their own variants with (real gpg, as the fixtures do).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DebTrust } from '../../src/resolve/deb-trust.js';
import { fixturePath } from './fixtures.js';

/** Verification on, trusting `keyFiles` (e.g. `<archive>/archive-key.asc`) as the config's `keyrings`. */
export function trustKeys(...keyFiles: string[]): DebTrust {
  return { skip: false, keyrings: keyFiles, signedBy: new Map(), hostRoot: '/' };
}

/** The private GNUPGHOME of a fixture key (`archive`, the one every fixture archive is signed with, or `other`). */
export function keyHome(name: 'archive' | 'other' = 'archive'): string {
  return fixturePath('keys', name);
}

/**
 * Run gpg with key `name`, in a private copy of its GNUPGHOME. Test files run in parallel: two of
 * them signing in the one shared home raced, one killing the gpg-agent the other was signing
 * with. The copy gets its own agent, stopped and removed when `fn` returns.
 */
export function withKeyHome<T>(name: 'archive' | 'other', fn: (home: string) => T): T {
  const home = mkdtempSync(join(tmpdir(), 'kdbg-gpghome-'));
  // The home's own agent sockets (S.*) are not copied: the copy starts its own agent.
  cpSync(keyHome(name), home, { recursive: true, filter: (src) => !basename(src).startsWith('S.') });
  try {
    return fn(home);
  } finally {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    rmSync(home, { recursive: true, force: true });
  }
}

/** Sign `dir/Release` as the fixtures do: InRelease (clearsigned) and Release.gpg (detached), by key `name`. */
export function signRelease(dir: string, name: 'archive' | 'other' = 'archive', which: { inRelease?: boolean; releaseGpg?: boolean } = {}): void {
  withKeyHome(name, (home) => {
    if (which.inRelease !== false) execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--clearsign', '-o', join(dir, 'InRelease'), join(dir, 'Release')]);
    if (which.releaseGpg !== false) execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--yes', '--armor', '--detach-sign', '-o', join(dir, 'Release.gpg'), join(dir, 'Release')]);
  });
}
