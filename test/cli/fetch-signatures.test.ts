// Issue 16 through the built CLI: a Debian mirror that is not what the distribution signed is one
// line on stderr, exit 65, and nothing in the cache; --insecure-skip-signatures warns on every run.
// The mirrors are copies of the signed fixture archive (scripts/fixtures/20-deb-mirror.sh) served
// on 127.0.0.1, altered as a man in the middle would.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireFixture } from '../helpers/fixtures.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { cacheFiles, cleanupTmp, loopbackOnlyConfig, nothingPublished, runKdbg, tmpDir } from './fetch-cli.js';

const deb = requireFixture('deb');
const P = 'linux-image-6.1.0-99-amd64-dbg';
const pool = 'pool/main/l/linux';
const servers: MirrorServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  cleanupTmp();
});

async function mirror(alter: (root: string) => void): Promise<string> {
  const d = tmpDir('kdbg-sigcli-');
  const root = join(d, 'debian');
  cpSync(join(deb, 'debian'), root, { recursive: true });
  alter(root);
  const s = await startMirrorServer(d);
  servers.push(s);
  return `${s.url}/debian/`;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('kdbg fetch: refused Debian mirrors (exit 65, one line, nothing published)', () => {
  it('a man in the middle serving a consistent but unsigned Packages and package', async () => {
    const url = await mirror((root) => {
      for (const s of ['bookworm', 'bookworm-security', 'bookworm-updates']) for (const f of ['InRelease', 'Release', 'Release.gpg']) rmSync(join(root, 'dists', s, f));
      // The attacker's package (other bytes) under the real name, and a Packages that matches it.
      const evil = readFileSync(join(root, pool, `${P}_6.1.999-1_amd64.deb`));
      writeFileSync(join(root, pool, `${P}_6.1.999-2_amd64.deb`), evil);
      const dir = join(root, 'dists/bookworm-security/main/binary-amd64');
      const text = execFileSync('xz', ['-dc', join(dir, 'Packages.xz')]).toString('utf8').replace(/^Size: .*$/m, `Size: ${evil.length}`).replace(/^SHA256: .*$/m, `SHA256: ${sha(evil)}`);
      writeFileSync(join(dir, 'Packages.xz'), execFileSync('xz', ['-c'], { input: text }));
    });
    const cache = tmpDir('kdbg-sigcli-cache-');
    const r = await runKdbg(['fetch', '6.1.0-99-amd64', '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', cache, '-q']);
    expect(r.code, r.stderr).toBe(65);
    expect(r.stdout).toBe('');
    // One line (and the hint every kdbg error may carry on its own line).
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kdbg: .*Packages\.(xz|gz): no signature: .* publishes no InRelease or Release/);
    nothingPublished(cache);
    console.log(`[signatures] MITM unsigned mirror: exit ${r.code}: ${lines[0]}`);
  });

  it('an index that does not match the signed InRelease', async () => {
    const url = await mirror((root) => {
      const dir = join(root, 'dists/bookworm-security/main/binary-amd64');
      const text = execFileSync('xz', ['-dc', join(dir, 'Packages.xz')]).toString('utf8').replace('Version: 6.1.999-2', 'Version: 6.1.999-9');
      writeFileSync(join(dir, 'Packages.xz'), execFileSync('xz', ['-c'], { input: text }));
    });
    const cache = tmpDir('kdbg-sigcli-cache-');
    const r = await runKdbg(['fetch', '6.1.0-99-amd64', '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', cache, '--json', '-q']);
    expect(r.code, r.stderr).toBe(65);
    // One line (and the hint every kdbg error may carry on its own line).
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Packages\.xz: does not match the signed Release/);
    nothingPublished(cache);
    console.log(`[signatures] index not matching InRelease: exit ${r.code}: ${lines[0]}`);
  });

  it('a package that does not match the signed index (whole download, --keep-packages)', async () => {
    const url = await mirror((root) => {
      // Same size, other bytes: only the sha256 the signed index gives can tell.
      const f = join(root, pool, `${P}_6.1.999-2_amd64.deb`);
      const b = readFileSync(f);
      b.fill(0x41, b.length - 4096, b.length - 2048);
      writeFileSync(f, b);
    });
    const cache = tmpDir('kdbg-sigcli-cache-');
    const r = await runKdbg(['fetch', '6.1.0-99-amd64', '--keep-packages', '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', cache, '-q']);
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('hint: '))).toHaveLength(1);
    nothingPublished(cache);
    console.log(`[signatures] package not matching the index: exit ${r.code}: ${r.stderr.trim()}`);
  });

  it('--insecure-skip-signatures reads the unsigned mirror, and says so on every run', async () => {
    const url = await mirror((root) => {
      for (const s of ['bookworm', 'bookworm-security', 'bookworm-updates']) for (const f of ['InRelease', 'Release.gpg']) rmSync(join(root, 'dists', s, f));
    });
    const cache = tmpDir('kdbg-sigcli-cache-');
    for (let run = 0; run < 2; run++) {
      const r = await runKdbg(['fetch', '6.1.0-99-amd64', '--insecure-skip-signatures', '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', cache]);
      expect(r.code, r.stderr).toBe(0);
      // (the second run answers from the cache, and is warned all the same)
      expect(r.stderr).toMatch(/warning: signatures are not checked \(--insecure-skip-signatures\)/);
    }
    // Without the flag the same mirror is refused.
    const refused = await runKdbg(['fetch', '6.1.0-99-amd64', '--mirror', url, '--config', loopbackOnlyConfig(), '--cache-dir', tmpDir('kdbg-sigcli-cache-')]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/no signature: neither InRelease nor Release\.gpg/);
  });
  it('the config key insecureSkipSignatures warns too, on fetch and on releases', async () => {
    const url = await mirror((root) => {
      for (const s of ['bookworm', 'bookworm-security', 'bookworm-updates']) for (const f of ['InRelease', 'Release.gpg']) rmSync(join(root, 'dists', s, f));
    });
    const cfg = loopbackOnlyConfig();
    writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), insecureSkipSignatures: true }));
    const fetched = await runKdbg(['fetch', '6.1.0-99-amd64', '--mirror', url, '--config', cfg, '--cache-dir', tmpDir('kdbg-sigcli-cache-')]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stderr).toContain(`signatures are not checked (insecureSkipSignatures in ${cfg})`);
    const listed = await runKdbg(['releases', 'debian', '--mirror', url, '--suite', 'bookworm', '--suite', 'bookworm-security', '--config', cfg]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^6\.1\.0-99-amd64\t/m);
    expect(listed.stderr).toContain(`kdbg: warning: signatures are not checked (insecureSkipSignatures in ${cfg})`);
  });
});
