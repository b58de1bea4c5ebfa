// cache/verify.ts as a library, on a cache populated by the real `kdbg fetch` against the
// fixture mirror on 127.0.0.1; expected digests from the fixture manifest (sha256sum).
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src/cache/index.js';
import { sha256OfFile, verifyCache } from '../../src/cache/verify.js';
import { loopbackOnlyConfig, runKdbg } from '../cli/fetch-cli.js';
import { startMirrorServer, type MirrorServer } from '../helpers/http-server.js';
import { readRpmManifest, rpmManifestPath } from '../helpers/rpm-manifest.js';

const manifestPath = rpmManifestPath;
const manifest = readRpmManifest();
const vm = (set: string) => manifest.packages.find((p) => p.set === set && p.role === 'vmlinux')!;
const el7 = vm('el7');
const el9 = vm('el9');

let server: MirrorServer;
let base: string;
beforeAll(async () => {
  server = await startMirrorServer(join(manifestPath, '..', manifest.mirrorBase));
  base = mkdtempSync(join(tmpdir(), 'kdbg-verify-base-'));
  const r = await runKdbg(['fetch', '3.10.0-327.el7', '5.14.0-284.11.1.el9_2', '--vmlinux-only', '--mirror', server.url, '--cache-dir', base, '--config', loopbackOnlyConfig(), '--quiet']);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => server.close());

const copy = (): string => {
  const c = join(mkdtempSync(join(tmpdir(), 'kdbg-verify-')), 'cache');
  cpSync(base, c, { recursive: true, verbatimSymlinks: true });
  return c;
};

describe('verifyCache', () => {
  it('hashes each vmlinux and package: the digests equal sha256sum of the fixture', async () => {
    const root = copy();
    expect((await sha256OfFile(join(root, 'releases', el7.uname, 'vmlinux'))).sha256).toBe(el7.vmlinuxSha256);
    const rep = await verifyCache(await openCache(root));
    expect(rep).toMatchObject({ entries: 2, packages: 2, bad: [], unverifiable: [] });
  });

  it('a truncated vmlinux, a missing vmlinux and a directory without entry.json are bad; a locked bad entry is reported, not removed', async () => {
    const root = copy();
    const cache = await openCache(root);
    truncateSync(join(root, 'releases', el7.uname, 'vmlinux'), 1000);
    rmSync(join(root, 'releases', el9.uname, 'vmlinux'));
    mkdirSync(join(root, 'releases', 'debris-from-a-crash'));
    // Someone is fetching el9 right now: its entry is theirs to replace.
    const lock = await cache.lockRelease(el9.uname);
    try {
      const rep = await verifyCache(cache);
      expect(rep.bad.map((b) => [b.name, b.problem, b.removed])).toEqual([
        [el7.uname, 'digest-mismatch', true],
        [el9.uname, 'missing-vmlinux', false],
        ['debris-from-a-crash', 'unreadable-entry', true],
      ]);
      expect(existsSync(join(root, 'releases', el7.uname))).toBe(false);
      expect(existsSync(join(root, 'releases', el9.uname))).toBe(true);
      expect(existsSync(join(root, 'releases', 'debris-from-a-crash'))).toBe(false);
    } finally {
      await lock.release();
    }
    // The packages were fine and are kept: a later fetch re-extracts without the network.
    expect(existsSync(cache.packagePath(el7.sha256))).toBe(true);
    const again = await verifyCache(cache);
    expect(again.bad.map((b) => [b.name, b.removed])).toEqual([[el9.uname, true]]);
  });
});
