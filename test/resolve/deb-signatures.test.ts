// Issue 16: a Debian/Ubuntu suite is read only when its InRelease (or Release + Release.gpg) is
// signed by a trusted key, and every index is checked against the signed SHA256. Each test serves
// a copy of the signed fixture archive (scripts/fixtures/20-deb-mirror.sh, signed by real gpg in
// sign.sh) on 127.0.0.1, altered the way a hostile or broken mirror would alter it, and re-signed
// by real gpg where the case needs a signature (test/helpers/deb-keys.ts).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SignatureError } from '../../src/core/errors.js';
import type { ProgressEvent } from '../../src/core/types.js';
import { undiciFetcher } from '../../src/download/http.js';
import { parseRelease, wantedPackages } from '../../src/release/index.js';
import { resolveDebPackages, type DebResolveOptions } from '../../src/resolve/deb.js';
import { forgetIndexMemo } from '../../src/resolve/index-cache.js';
import { gpgvTimings, type DebTrust } from '../../src/resolve/deb-trust.js';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { signRelease, trustKeys } from '../helpers/deb-keys.js';

const deb = requireFixture('deb');
const key = join(deb, 'debian', 'archive-key.asc');
const otherKey = requireFixture('keys', 'other.asc');
const servers: MirrorServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const t = [...gpgvTimings()].sort((a, b) => a - b);
  if (t.length > 0) console.log(`gpgv: ${t.length} calls, median ${t[t.length >> 1]!.toFixed(1)} ms, max ${t[t.length - 1]!.toFixed(1)} ms`);
});

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const P = 'linux-image-6.1.0-99-amd64-dbg';

/** A served copy of the fixture Debian archive; `alter` changes it first (path of the archive root). */
async function mirror(alter: (root: string) => void = () => undefined): Promise<{ url: string; root: string; server: MirrorServer }> {
  const d = mkdtempSync(join(tmpdir(), 'kdbg-sig-'));
  dirs.push(d);
  const root = join(d, 'debian');
  cpSync(join(deb, 'debian'), root, { recursive: true });
  alter(root);
  const server = await startMirrorServer(d);
  servers.push(server);
  return { url: `${server.url}/debian`, root, server };
}

async function resolve(url: string, trust: DebTrust, extra: Partial<DebResolveOptions> = {}) {
  forgetIndexMemo();
  const rel = parseRelease('6.1.0-99-amd64');
  return resolveDebPackages(rel, wantedPackages(rel, { source: false }), { mirrors: [url], repos: [], aptRoot: null, http: undiciFetcher, trust, suites: ['bookworm', 'bookworm-security'], ...extra });
}

async function refusal(p: Promise<unknown>): Promise<SignatureError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(SignatureError);
  const s = e as SignatureError;
  expect(s.exitCode).toBe(65);
  expect(s.message.split('\n')).toHaveLength(1);
  return s;
}

const suiteDir = (root: string, suite = 'bookworm-security'): string => join(root, 'dists', suite);
/** Rewrite a suite's Release (then sign it again with `by`, or leave it unsigned when `by` is null). */
function rewriteRelease(root: string, suite: string, edit: (text: string) => string, by: 'archive' | 'other' | null = 'archive'): void {
  const dir = suiteDir(root, suite);
  writeFileSync(join(dir, 'Release'), edit(readFileSync(join(dir, 'Release'), 'utf8')));
  rmSync(join(dir, 'InRelease'), { force: true });
  rmSync(join(dir, 'Release.gpg'), { force: true });
  if (by) signRelease(dir, by);
}

describe('Debian: what the distribution signed is the only thing trusted', () => {
  it('the signed fixture archive verifies (InRelease, gpgv) and the package comes from it', async () => {
    const m = await mirror();
    const events: ProgressEvent[] = [];
    const [r] = await resolve(m.url, trustKeys(key), { onProgress: (e) => events.push(e) });
    expect(r!.evr).toBe('6.1.999-2');
    expect(events.some((e) => e.kind === 'info' && /InRelease: good signature by [0-9A-F]{40}/.test(e.message))).toBe(true);
  });

  it('Release + Release.gpg (no InRelease), as older archives publish, verifies too', async () => {
    const m = await mirror((root) => {
      for (const s of ['bookworm', 'bookworm-security']) rmSync(join(suiteDir(root, s), 'InRelease'));
    });
    const [r] = await resolve(m.url, trustKeys(key));
    expect(r!.evr).toBe('6.1.999-2');
    const paths = m.server.requests.map((q) => `${q.path} ${q.status}`);
    expect(paths).toContain('/debian/dists/bookworm-security/InRelease 404');
    expect(paths).toContain('/debian/dists/bookworm-security/Release.gpg 200');
  });

  it('no signature: Release published without InRelease or Release.gpg → refused, exit 65', async () => {
    const m = await mirror((root) => {
      rmSync(join(suiteDir(root), 'InRelease'));
      rmSync(join(suiteDir(root), 'Release.gpg'));
    });
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('no-signature');
    expect(e.message).toMatch(/bookworm-security\/Release: no signature/);
  });

  it('man in the middle: a consistent but unsigned Packages and package (no Release at all) → refused, the index is never read', async () => {
    const m = await mirror((root) => {
      // The attacker's own package under the real name, and a Packages that matches it.
      const dir = suiteDir(root);
      for (const f of ['InRelease', 'Release', 'Release.gpg']) rmSync(join(dir, f));
      const evil = join(root, 'pool/main/l/linux', `${P}_6.1.999-9_amd64.deb`);
      cpSync(join(root, 'pool/main/l/linux', `${P}_6.1.999-1_amd64.deb`), evil);
      const b = readFileSync(evil);
      const stanza = `Package: ${P}\nVersion: 6.1.999-9\nArchitecture: amd64\nFilename: pool/main/l/linux/${P}_6.1.999-9_amd64.deb\nSize: ${b.length}\nSHA256: ${sha(b)}\n\n`;
      writeFileSync(join(dir, 'main/binary-amd64/Packages.xz'), execFileSync('xz', ['-c'], { input: stanza }));
    });
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('no-signature');
    expect(e.message).toMatch(/unsigned repository/);
    expect(m.server.requests.some((q) => q.path.endsWith('6.1.999-9_amd64.deb'))).toBe(false);
  });

  it('bad signature: InRelease text altered after signing (a new SHA256 line) → refused', async () => {
    const m = await mirror((root) => {
      const f = join(suiteDir(root), 'InRelease');
      const t = readFileSync(f, 'utf8');
      writeFileSync(f, t.replace(/^ ([0-9a-f]{64})/m, ` ${'0'.repeat(64)}`));
    });
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('bad-signature');
  });

  it('unknown key: a good signature by a key nobody trusts → refused', async () => {
    const m = await mirror((root) => rewriteRelease(root, 'bookworm-security', (t) => t, 'other'));
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('unknown-key');
    expect(e.message).toMatch(/not in the trusted keyrings/);
    // …and with that other key trusted, the same archive is accepted: the key decides, not the text.
    const [r] = await resolve(m.url, trustKeys(key, otherKey));
    expect(r!.evr).toBe('6.1.999-2');
  });

  it('signed-by fingerprints: a signature by another trusted key → refused', async () => {
    const m = await mirror((root) => rewriteRelease(root, 'bookworm-security', (t) => t, 'other'));
    const fpr = /[0-9A-F]{40}/.exec(execFileSync('gpg', ['--show-keys', '--with-colons', key], { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:'))!)![0];
    const trust: DebTrust = { ...trustKeys(key, otherKey), signedBy: new Map([[`${m.url}/`, fpr]]) };
    const e = await refusal(resolve(m.url, trust));
    expect(e.details['reason']).toBe('unknown-key');
    expect(e.message).toContain(fpr);
  });

  it('expired Valid-Until (a replayed old InRelease) → refused', async () => {
    const m = await mirror((root) => rewriteRelease(root, 'bookworm-security', (t) => t.replace(/^SHA256:/m, 'Valid-Until: Sat, 01 Jan 2022 00:00:00 UTC\nSHA256:')));
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('expired');
    expect(e.message).toMatch(/Valid-Until Sat, 01 Jan 2022 00:00:00 UTC has passed/);
  });

  it('a Date in the future → refused (not valid yet)', async () => {
    const future = new Date(Date.now() + 3 * 86400_000).toUTCString();
    const m = await mirror((root) => rewriteRelease(root, 'bookworm-security', (t) => t.replace(/^Date: .*$/m, `Date: ${future}`)));
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('not-yet-valid');
  });

  it('an index that does not match the signed checksums (InRelease genuine, Packages.xz replaced) → refused', async () => {
    const m = await mirror((root) => {
      const dir = join(suiteDir(root), 'main/binary-amd64');
      const text = execFileSync('xz', ['-dc', join(dir, 'Packages.xz')]).toString('utf8').replace('Version: 6.1.999-2', 'Version: 6.1.999-9');
      writeFileSync(join(dir, 'Packages.xz'), execFileSync('xz', ['-c'], { input: text }));
    });
    const e = await refusal(resolve(m.url, trustKeys(key)));
    expect(e.details['reason']).toBe('index-mismatch');
    expect(e.message).toMatch(/Packages\.xz: does not match the signed Release/);
  });

  it('the same tampered index with a cache: refused, and nothing is stored under the signed digest', async () => {
    const m = await mirror((root) => {
      const dir = join(suiteDir(root), 'main/binary-amd64');
      const text = execFileSync('xz', ['-dc', join(dir, 'Packages.xz')]).toString('utf8').replace('Version: 6.1.999-2', 'Version: 6.1.999-9');
      writeFileSync(join(dir, 'Packages.xz'), execFileSync('xz', ['-c'], { input: text }));
    });
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-sig-cache-'));
    dirs.push(cache);
    await refusal(resolve(m.url, trustKeys(key), { cacheRoot: cache }));
    const signed = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.xz$/m.exec(readFileSync(join(m.root, 'dists/bookworm-security/InRelease'), 'utf8'))![1]!;
    expect(() => readFileSync(join(cache, 'meta', 'index', signed))).toThrow();
    expect(() => readFileSync(join(cache, 'meta', 'index', `${signed}.dbg-rows`))).toThrow();
  });

  it('a cached InRelease (answered 304) is verified again: one altered in the cache is refused', async () => {
    const m = await mirror();
    const cache = mkdtempSync(join(tmpdir(), 'kdbg-sig-cache-'));
    dirs.push(cache);
    expect((await resolve(m.url, trustKeys(key), { cacheRoot: cache }))[0]!.evr).toBe('6.1.999-2');
    // Someone with write access to the cache changes the stored InRelease (a digest line).
    const url = `${m.url}/dists/bookworm-security/InRelease`;
    const file = join(cache, 'meta', 'index-validators', `${sha(url)}.json`);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { value: { body: string } };
    const text = Buffer.from(stored.value.body, 'base64').toString('utf8');
    stored.value.body = Buffer.from(text.replace(/^ ([0-9a-f]{64})/m, ` ${'1'.repeat(64)}`)).toString('base64');
    writeFileSync(file, JSON.stringify(stored));
    const before = m.server.requests.length;
    const e = await refusal(resolve(m.url, trustKeys(key), { cacheRoot: cache }));
    expect(e.details['reason']).toBe('bad-signature');
    expect(m.server.requests.slice(before).some((q) => q.path === '/debian/dists/bookworm-security/InRelease' && q.status === 304)).toBe(true);
  });

  it('--insecure-skip-signatures reads an unsigned suite, with a warning', async () => {
    const m = await mirror((root) => {
      rmSync(join(suiteDir(root), 'InRelease'));
      rmSync(join(suiteDir(root), 'Release.gpg'));
    });
    const events: ProgressEvent[] = [];
    const [r] = await resolve(m.url, { ...trustKeys(), skip: true }, { onProgress: (e) => events.push(e) });
    expect(r!.evr).toBe('6.1.999-2');
    // (one warning per process: an earlier test file in this worker may have printed it already)
    expect(events.filter((e) => e.kind === 'warning' && e.code === 'KDBG_E_SIGNATURE').length).toBeLessThanOrEqual(1);
  });

  it('[trusted=yes] in the host apt source: read unsigned, as apt does, with a warning naming the archive', async () => {
    const m = await mirror((root) => {
      for (const s of ['bookworm', 'bookworm-security']) for (const f of ['InRelease', 'Release.gpg']) rmSync(join(suiteDir(root, s), f));
    });
    const apt = mkdtempSync(join(tmpdir(), 'kdbg-sig-apt-'));
    dirs.push(apt);
    writeFileSync(join(apt, 'sources.list'), `deb [trusted=yes] ${m.url} bookworm-security main\n`);
    const events: ProgressEvent[] = [];
    const [r] = await resolve(m.url, trustKeys(), { mirrors: [], aptRoot: apt, onProgress: (e) => events.push(e) });
    expect(r!.evr).toBe('6.1.999-2');
    expect(events.some((e) => e.kind === 'warning' && e.message.includes(`${m.url}/: read without a signature check ([trusted=yes]`))).toBe(true);
  });
});
