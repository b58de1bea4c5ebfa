// Issue 16, item 2, for the built-in presets, through the built CLI: a package found through a
// preset is checked with the distribution's own signing keys that kdbg ships
// (src/resolve/keys/, preset-keys.ts). Here a 127.0.0.1 server lays the fixture's signed
// repository out as the Rocky vault does (vault/rocky/<major>.<minor>/BaseOS/<arch>/debug/tree/)
// and a config entry names it a copy of the `rocky-vault` preset. The packages are rpmbuild-built
// and signed by real `rpmsign --addsign` with the fixture key (scripts/fixtures/80-signed-rpms.sh),
// which is not Rocky's: refused (exit 65, one line, nothing published), so the preset's key list
// is enforced. Adding the fixture key to the preset with config `presetKeys` (what a site does for
// its own signing key) lets the same package through; unsigned packages stay refused.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cleanupTmp, isolatedEnv, refusedWith, runKdbg, tmpDir } from './fetch-cli.js';

interface SignedPkg {
  set: string;
  role: 'vmlinux' | 'source';
  uname: string;
  release: string;
  file: string;
  vmlinuxSha256: string | null;
}
const root = requireFixture('signed-rpms');
const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { key: string; packages: SignedPkg[] };
const el9 = manifest.packages.find((p) => p.set === 'el9' && p.role === 'vmlinux')!;
// The vault directory the release's dist tag names (el9_0 → 9.0), read from the fixture's release.
const vault = ((m) => (m ? `${m[1]}.${m[2]}` : ''))(/\.el(\d+)_(\d+)$/.exec(el9.release));

/** The primary key's fingerprint, by `gpg --show-keys` (a private, empty home). */
function fingerprintOf(file: string): string {
  const out = execFileSync('gpg', ['--batch', '--homedir', tmpDir('kdbg-presetkeys-gpg-'), '--show-keys', '--with-colons', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return /^fpr:+([0-9A-F]{40}):/m.exec(out)![1]!;
}

let server: MirrorServer;
beforeAll(async () => {
  expect(vault).not.toBe('');
  const d = tmpDir('kdbg-presetkeys-vault-');
  for (const repo of ['good', 'unsigned']) {
    const tree = join(d, repo, 'vault/rocky', vault, 'BaseOS/x86_64/debug/tree');
    mkdirSync(tree, { recursive: true });
    cpSync(join(root, repo), tree, { recursive: true });
  }
  server = await startMirrorServer(d);
});
afterAll(async () => {
  await server?.close();
  cleanupTmp();
});

/** A config whose one source is a copy of the rocky-vault preset on 127.0.0.1 (the preset's own URL template, another host). */
function config(repo: string, extra: Record<string, unknown> = {}): string {
  const f = join(tmpDir('kdbg-presetkeys-cfg-'), 'config.json');
  const url = `${server.url}/${repo}/vault/rocky/$vault/BaseOS/$basearch/debug/tree/`;
  writeFileSync(f, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, mirrors: { '*': [{ url, type: 'repo', preset: 'rocky-vault' }] }, ...extra }));
  return f;
}

async function fetch(cfg: string, extra: string[] = []) {
  const cache = tmpDir('kdbg-presetkeys-cache-');
  const r = await runKdbg(['fetch', el9.uname, '--cache-dir', cache, '--config', cfg, ...extra], isolatedEnv({ KDBG_ROOT: tmpDir('kdbg-presetkeys-root-'), KDBG_NO_DEBUGINFOD: '1' }));
  if (process.env['KDBG_TEST_DEBUG']) console.log(r.stderr);
  return { ...r, cache };
}

describe('kdbg fetch through a preset: the distribution keys the preset names', () => {
  it('a package signed by a key that is not the preset distribution key: refused, exit 65, one line, nothing published', async () => {
    const r = await fetch(config('good'), ['--quiet']);
    const line = refusedWith(r, /header signed by key [0-9A-F]+, which is not a gpgkey of .*mirrors\.\*\[0\] \(keys of preset rocky-vault\)/);
    expect(line).toContain(el9.file);
    // Rocky 9's shipped key was the one offered: kept in the cache as the text kdbg ships.
    const kept = join(r.cache, 'meta', 'gpgkeys', 'builtin', 'RPM-GPG-KEY-Rocky-9.asc');
    expect(existsSync(kept)).toBe(true);
    expect(readFileSync(kept, 'utf8')).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
  });

  it('the fixture key added to the preset with config presetKeys: the same package is verified and published', async () => {
    const r = await fetch(config('good', { presetKeys: { 'rocky-vault': [join(root, manifest.key)] } }), ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { vmlinux: string; packages: { url: string; headerSignedBy: string | null }[] };
    const p = j.packages.find((x) => x.url.endsWith(el9.file))!;
    // The signer is the fixture key, as the real gpg reads the key file.
    expect(p.headerSignedBy).toBe(fingerprintOf(join(root, manifest.key)));
    expect(createHash('sha256').update(readFileSync(j.vmlinux)).digest('hex')).toBe(el9.vmlinuxSha256);
    expect(r.stderr).toMatch(new RegExp(`${el9.file.replace(/\./g, '\\.')}: good header signature \\(\\w+\\) by ${p.headerSignedBy}`));
  });

  it('unsigned packages through the preset, even with the fixture key added: refused (no signature)', async () => {
    const r = await fetch(config('unsigned', { presetKeys: { 'rocky-vault': [join(root, manifest.key)] } }), ['--quiet']);
    refusedWith(r, /no signature: the package header is not signed, and gpgcheck=1 in .*\(keys of preset rocky-vault\)$/);
  });

  it('--insecure-skip-signatures: the package signed by another key is read unverified (warned)', async () => {
    const r = await fetch(config('good'), ['--insecure-skip-signatures', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { packages: { headerSignedBy: string | null }[] };
    expect(j.packages.every((p) => p.headerSignedBy === null || p.headerSignedBy === undefined)).toBe(true);
    expect(r.stderr).toMatch(/insecure-skip-signatures/);
  });

  it('a config entry naming an unknown preset: a config error naming the key', async () => {
    const f = join(tmpDir('kdbg-presetkeys-cfg-'), 'config.json');
    writeFileSync(f, JSON.stringify({ presets: false, hostRepos: false, aptRoot: null, presetKeys: { 'no-such-preset': ['/k'] } }));
    const r = await fetch(f);
    expect(r.code).toBe(78); // ConfigError
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '))).toEqual([expect.stringContaining(`${f}: presetKeys.no-such-preset: not a built-in preset`)]);
  });
});
